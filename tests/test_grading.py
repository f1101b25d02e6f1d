"""`python -m autograder grade`: nbgrader's pipeline run in parallel, sandboxed kernels.

A small class of real submissions of 00_setup, honest and hostile, graded twice:
by plain `nbgrader autograde` and by our grader, each into its own gradebook.
"""

import json
import shutil

import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook
from nbgrader.api import Gradebook

from autograder import grade as grading
from autograder import sandbox
from autograder.release import run_nbgrader

ASSIGNMENT = "00_setup"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
pytestmark = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap is not installed (.ci/run installs it)")


def _solved_with(code_before_one_hot):
    """The reference solution with extra code run in the one_hot cell, before its definition."""
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "one_hot":
            cell["source"] = code_before_one_hot + "\n" + "".join(cell["source"])
    return json.dumps(nb)


def _without_cell(grade_id):
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    nb["cells"] = [cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") != grade_id]
    return json.dumps(nb)


def _release_with_tests_replaced(code):
    nb = read_notebook(COURSE / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade") and cell["cell_type"] == "code":
            cell["source"] = code
    return json.dumps(nb)


PROBE = """
import os, socket
facts = {"uid": os.getuid(), "repo": os.path.exists(%r)}
try:
    socket.create_connection(("127.0.0.1", 1), timeout=1)
except OSError as error:
    facts["network"] = type(error).__name__
print("FACTS", facts)
""" % str(SOLUTIONS)

HONEST = {
    "alice": lambda: (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text(),
    "bob": lambda: (COURSE / ASSIGNMENT / NOTEBOOK).read_text(),
}
HOSTILE = {
    "exits": lambda: _solved_with("import os\nos._exit(1)"),
    "loops": lambda: _solved_with("while True:\n    pass"),
    "syntax": lambda: _solved_with("def broken(:"),
    "memory": lambda: _solved_with("hog = bytearray(50 * 1024**3)"),
    "forks": lambda: _solved_with("import os\nfor _ in range(10000):\n    if os.fork() == 0:\n        import time; time.sleep(30); os._exit(0)"),
    "probe": lambda: _solved_with(PROBE),
    "loud": lambda: _solved_with("print('x' * 100_000_000)"),
    "deleted": lambda: _without_cell("one_hot_values"),
    "edited": lambda: _release_with_tests_replaced("pass"),
    "json": lambda: "{not a notebook",
    "empty": lambda: "",
}


def _course(root, students):
    db = f"sqlite:///{root / 'gradebook.db'}"
    options = [f"--CourseDirectory.root={root}", f"--CourseDirectory.source_directory={SOLUTIONS}",
               f"--CourseDirectory.db_url={db}"]
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", *options)
    for student, text in students.items():
        folder = root / "autograder" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(text())
    return db, options


def _scores(db, students):
    with Gradebook(db) as gradebook:
        return {s: {g.name: g.score for g in gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades}
                for s in students}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grader")
    students = {**HONEST, **HOSTILE}
    db, _ = _course(root, students)
    config = grading.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db,
                                    "CourseDirectory.source_directory": str(SOLUTIONS)})
    results = {r.student: r for r in grading.grade([ASSIGNMENT], workers=2, timeout=10, config=config, progress=None)}
    return root, db, results


def test_honest_scores_equal_plain_nbgrader(graded, tmp_path):
    _, db, _ = graded
    plain_db, options = _course(tmp_path, HONEST)
    run_nbgrader("autograde", ASSIGNMENT, "--force", *options)
    assert _scores(db, HONEST) == _scores(plain_db, HONEST)
    assert sum(_scores(db, ["alice"])["alice"].values()) == 5


@pytest.mark.parametrize(("student", "problem"), [("exits", "kernel died"), ("loops", "timeout"), ("memory", ""),
                                                  ("syntax", ""), ("forks", "")])
def test_a_broken_submission_keeps_the_points_before_it_and_nothing_after(graded, student, problem):
    _, db, results = graded
    scores = _scores(db, [student])[student]
    assert results[student].problem.startswith(problem)
    # mean_baseline_mse comes before the broken cell and is right; one_hot's cells never get points
    assert scores["mean_baseline_mse_example"] == 1 and scores["mean_baseline_mse_adding"] == 1
    assert scores["one_hot_shape"] == 0 and scores["one_hot_values"] == 0


@pytest.mark.parametrize("student", ["json", "empty"])
def test_an_unreadable_file_is_reported_and_the_batch_goes_on(graded, student):
    _, _, results = graded
    assert results[student].problem and results[student].score == 0
    assert results["alice"].score == 5


def test_the_kernel_runs_unprivileged_without_network_or_course_files(graded):
    root, _, _ = graded
    nb = read_notebook(root / "autograder" / "autograded" / "probe" / ASSIGNMENT / NOTEBOOK)
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    facts = eval(printed.split("FACTS ", 1)[1].splitlines()[0])  # noqa: S307 - our own probe's dict
    assert facts["uid"] >= sandbox.FIRST_UID and facts["repo"] is False
    assert facts["network"] in ("ConnectionRefusedError", "OSError")


def test_summary_names_the_problems(graded):
    _, _, results = graded
    table = grading.summary(list(results.values()))
    assert "kernel died: exits/00_setup" in table and "timeout: loops/00_setup" in table
    assert shutil.which("bwrap")


def test_command_line_lists_the_instructor_commands():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True, check=True)
    assert all(command in result.stdout for command in ("release", "grade", "feedback"))


def test_deleted_or_edited_test_cells_are_restored_from_the_gradebook(graded):
    _, db, _ = graded
    scores = _scores(db, ["deleted", "edited"])
    assert scores["deleted"] == {"mean_baseline_mse_example": 1, "mean_baseline_mse_adding": 1, "one_hot_shape": 1,
                                 "one_hot_values": 0}
    assert sum(scores["edited"].values()) == 0


def test_huge_output_is_cut_and_graded(graded):
    root, db, _ = graded
    assert sum(_scores(db, ["loud"])["loud"].values()) == 5
    assert (root / "autograder" / "autograded" / "loud" / ASSIGNMENT / NOTEBOOK).stat().st_size < 2_000_000


def test_export_has_a_row_per_learner_and_a_column_per_notebook_and_cell(graded, tmp_path):
    import csv

    from autograder.export import export_csv

    _, db, results = graded
    assert export_csv(tmp_path / "grades.csv", db) == len(results)
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows["alice"]["00_setup"]) == 5 and float(rows["alice"]["total"]) == 5
    assert float(rows["deleted"]["00_setup:one_hot_values"]) == 0
    assert float(rows["deleted"]["00_setup:one_hot_shape"]) == 1


def test_collect_takes_nbgrader_folders_and_lms_flat_files_from_a_zip(tmp_path):
    import zipfile

    from autograder.collect import collect

    root = tmp_path / "course"
    root.mkdir()
    db, _ = _course(root, {})
    archive = tmp_path / "download.zip"
    good = (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"carol/{ASSIGNMENT}/{NOTEBOOK}", good)
        handle.writestr(f"dan.smith_{NOTEBOOK}", good)
        handle.writestr(f"erin_{NOTEBOOK}", "{broken")
        handle.writestr("notes.txt", "hello")
        handle.writestr(f"bad name!_{NOTEBOOK}", good)
        handle.writestr("frank_other_assignment.ipynb", good)
    config = grading.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db})
    collected, problems = collect(archive, grading._coursedir(config), db, {ASSIGNMENT: ASSIGNMENT})
    assert sorted(collected) == [f"{s}/{ASSIGNMENT}/{NOTEBOOK}" for s in ("carol", "dan.smith", "erin")]
    assert any("erin" in p and "not a readable notebook" in p for p in problems)
    assert sum("skipped" in p for p in problems) == 3
    with Gradebook(db) as gradebook:
        assert {s.id for s in gradebook.students} == {"carol", "dan.smith", "erin"}
