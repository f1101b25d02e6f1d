"""The real nbgrader pipeline on every assignment: generate, validate, autograde, feedback, export.

Runs in a temporary course directory with its own SQLite gradebook, so the
instructor's files under autograder/ are never touched.
"""

import csv
import json
import shutil

import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, notebooks, read_notebook

from autograder.release import run_nbgrader
from nbgrader.api import Gradebook

ASSIGNMENT = "00_setup"


def _replace_function(path, name, new_body, out):
    """Copy the solved notebook at path to out, with function `name`'s solution cell replaced."""
    nb = read_notebook(path)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == name:
            cell["source"] = new_body
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class of four learners for 00_setup, autograded by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    db = root / "gradebook.db"
    options = [
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.source_directory={SOLUTIONS}",
        f"--CourseDirectory.db_url=sqlite:///{db}",
    ]
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", *options)
    submitted = root / "autograder" / "submitted"
    notebook = f"{ASSIGNMENT}.ipynb"
    solved = SOLUTIONS / ASSIGNMENT / notebook
    # alice: the reference solution; bob: the untouched release
    (submitted / "alice" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(solved, submitted / "alice" / ASSIGNMENT / notebook)
    (submitted / "bob" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(COURSE / ASSIGNMENT / notebook, submitted / "bob" / ASSIGNMENT / notebook)
    # carol: one wrong function (RMSE instead of MSE), everything else right
    _replace_function(solved, "mean_baseline_mse", (
        "def mean_baseline_mse(y):\n    return float(np.sqrt(np.mean((y - np.mean(y)) ** 2)))\n"
    ), submitted / "carol" / ASSIGNMENT / notebook)
    # dave: one_hot that only works for 2-D ids: the public tests pass, a hidden test does not
    _replace_function(solved, "one_hot", (
        "def one_hot(ids, V):\n    N, T = ids.shape\n    return np.eye(V)[ids.reshape(-1)].reshape(N, T, V)\n"
    ), submitted / "dave" / ASSIGNMENT / notebook)
    run_nbgrader("autograde", ASSIGNMENT, "--force", *options)
    run_nbgrader("generate_feedback", ASSIGNMENT, "--force", *options)
    run_nbgrader("export", f"--to={root / 'grades.csv'}", *options)
    with Gradebook(f"sqlite:///{db}") as gradebook:
        scores = {
            student: {
                grade.name: grade.score
                for grade in gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades
            }
            for student in ("alice", "bob", "carol", "dave")
        }
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    return root, scores, max_score


def test_reference_solution_gets_full_marks(graded):
    _, scores, max_score = graded
    assert max_score >= 4
    assert sum(scores["alice"].values()) == max_score


def test_untouched_release_gets_zero(graded):
    _, scores, _ = graded
    assert sum(scores["bob"].values()) == 0


def test_one_wrong_function_loses_only_its_own_points(graded):
    _, scores, _ = graded
    lost = {cell for cell, score in scores["carol"].items() if score != scores["alice"][cell]}
    assert lost == {"mean_baseline_mse_example", "mean_baseline_mse_adding"}
    assert all(scores["carol"][cell] == 0 for cell in lost)


def test_hidden_tests_run_at_grading(graded):
    """dave's one_hot passes the public tests in the release but not the hidden ones."""
    _, scores, _ = graded
    lost = {cell for cell, score in scores["dave"].items() if score != scores["alice"][cell]}
    assert lost == {"one_hot_shape"}


def test_feedback_shows_the_named_mistake(graded):
    root, _, _ = graded
    feedback = root / "autograder" / "feedback"
    for student in ("alice", "bob", "carol", "dave"):
        assert (feedback / student / ASSIGNMENT / f"{ASSIGNMENT}.html").exists()
    carol = (feedback / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "square root taken (that is the RMSE)" in carol
    assert "Return the mean of the squared errors, without np.sqrt." in carol


def test_export_has_a_row_per_learner(graded):
    root, scores, max_score = graded
    with open(root / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert float(rows["alice"]["score"]) == max_score
    assert float(rows["carol"]["score"]) == max_score - 2


@pytest.mark.parametrize("relative", notebooks(SOLUTIONS), ids=str)
def test_validate_accepts_solutions_and_rejects_releases(relative):
    solved = run_nbgrader("validate", str(SOLUTIONS / relative))
    assert "Success! Your notebook passes all the tests." in solved.stdout
    released = run_nbgrader("validate", str(COURSE / relative))
    assert "VALIDATION FAILED" in released.stdout and "NotImplementedError" in released.stdout
