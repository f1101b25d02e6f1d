"""
A small class autograded by the real nbgrader pipeline (generate, autograde, feedback, export) on every assignment,
in a temporary course folder with its own SQLite gradebook (the instructor's files under autograder/ are never
touched). It is made once per test session (conftest's ``nbgrader_class``), for test_nbgrader_roundtrip alone: it
checks the grades, pages and CSV, and reads alice's autograded notebooks, so that every solved notebook runs once
(05-08 train for minutes). Only that file uses it, so that a parallel run makes it on one worker, not on each.
"""

import json
import shutil

from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook, source
from nbgrader.api import Gradebook

from autograder.course import assignments, run_nbgrader
from autograder.examples import apply_mistake, catalogues

ASSIGNMENTS = assignments()
CATALOGUES = {c.notebook.split("/")[0]: c for c in catalogues().values()}


def _leaf_mistake(catalogue):
    """A mistake in a function no other function uses, the last in the catalogue (05: not one its training runs
    use): only its own cells should lose points."""
    used = {dependency for dependencies in catalogue.depends.values() for dependency in dependencies}
    return [m for m in catalogue.mistakes if m.function not in used][-1]


def _write(nb, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb))


def _with_cell(path, grade_id, change):
    nb = read_notebook(path)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            cell["source"] = change(source(cell))
    return nb


def _submissions(submitted):
    """alice: the reference; bob: the untouched release; carol: one known mistake; dave (00_setup): passes public tests only."""
    students = {"alice": {}, "bob": {}, "carol": {}}
    for assignment in ASSIGNMENTS:
        notebook = f"{assignment}.ipynb"
        solved = SOLUTIONS / assignment / notebook
        _write(read_notebook(solved), submitted / "alice" / assignment / notebook)
        shutil.copytree(COURSE / assignment, submitted / "bob" / assignment, dirs_exist_ok=True)
        if assignment in CATALOGUES:
            mistake = _leaf_mistake(CATALOGUES[assignment])
            nb = _with_cell(solved, mistake.function, lambda code: apply_mistake(code, mistake))
            students["carol"][assignment] = mistake
        else:  # 00_setup: RMSE instead of MSE
            nb = _with_cell(solved, "mean_baseline_mse", lambda _: (
                "def mean_baseline_mse(y):\n    return float(np.sqrt(np.mean((y - np.mean(y)) ** 2)))\n"))
        _write(nb, submitted / "carol" / assignment / notebook)
    # dave: one_hot that only works for 2-D ids: the public tests pass, a hidden test does not
    nb = _with_cell(SOLUTIONS / "00_setup" / "00_setup.ipynb", "one_hot", lambda _: (
        "def one_hot(ids, V):\n    N, T = ids.shape\n    return np.eye(V)[ids.reshape(-1)].reshape(N, T, V)\n"))
    _write(nb, submitted / "dave" / "00_setup" / "00_setup.ipynb")
    return students


def grade_class(root):
    """
    A small class in the course folder ``root`` (a new, empty folder), autograded by plain nbgrader, with feedback
    and an exported CSV: alice submits every solved notebook, bob every untouched release, carol each notebook with
    one catalogued mistake, dave 00_setup with a mistake only the hidden tests see.

    Returns a tuple of:
    - root: The course folder (autograded notebooks in autograder/autograded/<student>/<assignment>/)
    - scores: {(student, assignment): {grade_id: score}}
    - max_scores: {assignment: the most the autograder can give}
    - students: {"carol": {assignment: her Mistake}, ...}
    - written: {(student, assignment): {grade_id: (auto_score, needs_manual_grade)}} of the written answers
    """
    db = f"sqlite:///{root / 'gradebook.db'}"
    options = [f"--CourseDirectory.root={root}", f"--CourseDirectory.source_directory={SOLUTIONS}",
               f"--CourseDirectory.db_url={db}"]
    for assignment in ASSIGNMENTS:
        run_nbgrader("generate_assignment", assignment, "--force", *options)
    students = _submissions(root / "autograder" / "submitted")
    for assignment in ASSIGNMENTS:
        run_nbgrader("autograde", assignment, "--force", *options)
        run_nbgrader("generate_feedback", assignment, "--force", *options)
    run_nbgrader("export", f"--to={root / 'grades.csv'}", *options)
    scores, written = {}, {}
    with Gradebook(db) as gradebook:
        for assignment in ASSIGNMENTS:
            for student in ("alice", "bob", "carol", "dave"):
                try:
                    nb = gradebook.find_submission_notebook(assignment, assignment, student)
                except Exception:  # dave only submitted 00_setup
                    continue
                scores[student, assignment] = {grade.name: grade.score for grade in nb.grades}
                written[student, assignment] = {grade.name: (grade.auto_score, grade.needs_manual_grade)
                                                for grade in nb.grades if grade.cell.cell_type == "markdown"}
        # the most the autograder can give: written answers (manually graded cells) wait for a person
        max_scores = {a: gradebook.find_assignment(a).max_code_score for a in ASSIGNMENTS}
    return root, scores, max_scores, students, written
