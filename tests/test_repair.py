"""autograder.repair: the nbgrader metadata of a submission put back from the gradebook before grading.

The gradebook is nbgrader's own, made by ``generate_assignment`` from solutions/. A submission is the
reference solution (a learner's right answers) with one change of the kind learners and their editors
make. What the repaired notebook must hold is read from solutions/ and course/, never from the
gradebook the repair reads.
"""

import copy
import hashlib
import json
import logging
import shutil
import warnings

import nbformat
import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook, source
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment, NbGraderException

from autograder import course
from autograder.repair import pristine_metadata, repair, stage

SETUP = "00_setup"  # test cells and solution cells
WRITTEN = "02_vanishing_gradients"  # and a written answer: a graded markdown cell
ASSIGNMENTS = (SETUP, WRITTEN)
WRITTEN_ANSWER = "explorer_written_answer"


def _notebook(folder, assignment):
    return folder / assignment / f"{assignment}.ipynb"


def _config(root, db_url, assignment, **overrides):
    """The course's nbgrader configuration for a course in ``root`` with its own gradebook, using solutions/."""
    return course.load_config(**{
        "CourseDirectory.root": str(root), "CourseDirectory.source_directory": str(SOLUTIONS),
        "CourseDirectory.db_url": db_url, "CourseDirectory.release_directory": str(root / "release"),
        "CourseDirectory.assignment_id": assignment, "BaseConverter.force": True, **overrides})


def _quiet():
    log = logging.getLogger("tests.test_repair.nbgrader")
    log.setLevel(logging.CRITICAL)  # nbgrader warns about every changed cell; the tests look at the result
    return log


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course folder whose gradebook holds 00_setup and 02 as nbgrader's generate_assignment records them."""
    root = tmp_path_factory.mktemp("course")
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    for assignment in ASSIGNMENTS:
        config = _config(root, db_url, assignment)
        GenerateAssignment(coursedir=course.coursedir(config), config=config, log=_quiet()).start()
    return root, db_url


@pytest.fixture(scope="module")
def pristine(released):
    _, db_url = released
    with Gradebook(db_url) as gradebook:
        return {assignment: pristine_metadata(gradebook, assignment, assignment) for assignment in ASSIGNMENTS}


def _graded(nb):
    """(grade_id, cell type, grade, solution, locked, task, points) of every cell with nbgrader metadata, in order."""
    rows = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta:
            points = float(meta["points"]) if "points" in meta else None  # a cell that is not graded has none
            rows.append((meta.get("grade_id"), cell["cell_type"], bool(meta.get("grade")), bool(meta.get("solution")),
                         bool(meta.get("locked")), bool(meta.get("task")), points))
    return rows


def _grade_ids(nb):
    return [grade_id for grade_id, *_ in _graded(nb)]


def _solved(assignment):
    return read_notebook(_notebook(SOLUTIONS, assignment))


def _cell(nb, grade_id):
    return next(cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") == grade_id)


def _released_source(assignment, grade_id):
    """A graded cell as the gradebook must hold it: a test cell with its hidden tests, a solution cell as a stub."""
    folder = SOLUTIONS if not nbgrader_meta(_cell(_solved(assignment), grade_id)).get("solution") else COURSE
    return source(_cell(read_notebook(_notebook(folder, assignment)), grade_id))


def test_pristine_metadata_is_the_assignment_as_released(pristine):
    for assignment in ASSIGNMENTS:
        solved = _solved(assignment)
        cells = pristine[assignment]
        released = [(grade_id, cell_type, meta["grade"], meta["solution"], meta["locked"], meta["task"],
                     float(meta["points"]) if "points" in meta else None)
                    for grade_id, (cell_type, meta, _) in cells.items()]
        assert released == _graded(solved)
        for grade_id, (_, meta, text) in cells.items():
            assert meta["grade_id"] == grade_id
            assert text == _released_source(assignment, grade_id), grade_id


@pytest.mark.parametrize("folder", [SOLUTIONS, COURSE], ids=["solved", "released"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_unchanged_notebook_is_left_as_it_is(pristine, folder, assignment):
    nb = read_notebook(_notebook(folder, assignment))
    submitted = copy.deepcopy(nb)
    assert repair(nb, pristine[assignment]) == []
    assert nb == submitted


def _set(cell_id, **changes):
    """An edit: ``changes`` made to the nbgrader metadata of cell ``cell_id``."""
    def edit(nb):
        nbgrader_meta(_cell(nb, cell_id)).update(changes)
    return edit


def _retype(grade_id, cell_type):
    """An edit: cell ``grade_id`` made a ``cell_type`` cell, as JupyterLab's cell type menu does."""
    def edit(nb):
        cell = _cell(nb, grade_id)
        cell["cell_type"] = cell_type
        if cell_type == "code":
            cell.update(outputs=[], execution_count=None)
        else:
            del cell["outputs"], cell["execution_count"]
    return edit


# (assignment, cell, what a learner or their editor changed, what the note must name)
CHANGES = {
    "test cell made ungraded": (SETUP, "one_hot_values", _set("one_hot_values", grade=False), "grade"),
    "test cell given more points": (SETUP, "one_hot_shape", _set("one_hot_shape", points=100), "points"),
    "solution cell given points": (SETUP, "mean_baseline_mse", _set("mean_baseline_mse", grade=True, points=100),
                                   "grade"),
    "test cell unlocked": (SETUP, "one_hot_shape", _set("one_hot_shape", locked=False), "locked"),
    "solution cell no longer one": (SETUP, "one_hot", _set("one_hot", solution=False), "solution"),
    "test cell made a task": (SETUP, "one_hot_values", _set("one_hot_values", task=True), "task"),
    "test cell made markdown": (SETUP, "one_hot_shape", _retype("one_hot_shape", "markdown"), "cell type"),
    "written answer made code": (WRITTEN, WRITTEN_ANSWER, _retype(WRITTEN_ANSWER, "code"), "cell type"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changed_metadata_is_restored_and_every_source_kept(pristine, change):
    assignment, grade_id, edit, named = CHANGES[change]
    nb = _solved(assignment)
    edit(nb)
    sources = [source(cell) for cell in nb["cells"]]
    notes = repair(nb, pristine[assignment])
    assert _graded(nb) == _graded(_solved(assignment))
    assert [source(cell) for cell in nb["cells"]] == sources  # the learner's answers stay; locked ones are nbgrader's
    assert len(notes) == 1 and f"{grade_id!r}" in notes[0] and named in notes[0], notes
    nbformat.validate(nbformat.from_dict(nb))  # a cell whose type came back has that type's fields, and no others


def test_a_cell_of_a_grade_id_the_assignment_lacks_is_ordinary_and_the_released_cell_comes_back(pristine):
    nb = _solved(SETUP)
    renamed = _cell(nb, "one_hot_values")
    nbgrader_meta(renamed)["grade_id"] = "one_hot_values_mine"
    renamed["source"] = "pass  # passed, promise"
    notes = repair(nb, pristine[SETUP])
    assert _graded(nb) == _graded(_solved(SETUP))
    assert "nbgrader" not in renamed["metadata"] and renamed in nb["cells"]  # kept, as the learner's own cell
    assert source(_cell(nb, "one_hot_values")) == _released_source(SETUP, "one_hot_values")
    assert any("'one_hot_values_mine' is not one of" in note for note in notes)
    assert any("'one_hot_values' was missing" in note for note in notes)


def test_a_copied_graded_cell_is_graded_once(pristine):
    nb = _solved(SETUP)
    original = _cell(nb, "one_hot")
    copied = copy.deepcopy(original)
    copied["source"] = "def one_hot(ids, V):\n    return 0\n"
    copied["id"] = "my-copy"
    nb["cells"].append(copied)
    notes = repair(nb, pristine[SETUP])
    assert _graded(nb) == _graded(_solved(SETUP))
    assert nbgrader_meta(original)["grade_id"] == "one_hot" and "nbgrader" not in copied["metadata"]
    assert copied in nb["cells"] and len(notes) == 1


@pytest.mark.parametrize("deleted", [("one_hot_values",), ("mean_baseline_mse_example",), ("one_hot",),
                                     ("one_hot", "one_hot_shape", "one_hot_values"), ("mean_baseline_mse",)],
                         ids="+".join)
def test_deleted_graded_cells_are_put_back_as_released_after_the_graded_cell_before_them(pristine, deleted):
    nb = _solved(SETUP)
    nb["cells"] = [cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") not in deleted]
    kept = copy.deepcopy(nb["cells"])
    notes = repair(nb, pristine[SETUP])
    assert _graded(nb) == _graded(_solved(SETUP))
    assert [cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") not in deleted] == kept
    order = _grade_ids(_solved(SETUP))
    for grade_id in deleted:
        cell = _cell(nb, grade_id)
        assert source(cell) == _released_source(SETUP, grade_id)
        assert cell["outputs"] == [] and cell["execution_count"] is None
        index = nb["cells"].index(cell)
        earlier = order[:order.index(grade_id)]
        # right after the graded cell before it in the release (the top of the notebook when there is none)
        assert index == (nb["cells"].index(_cell(nb, earlier[-1])) + 1 if earlier else 0)
    assert sorted(notes) == sorted(f"cell {grade_id!r} was missing: put back as released" for grade_id in deleted)


def test_a_put_back_cell_has_an_id_of_its_own_as_nbformat_4_5_requires(pristine):
    nb = _solved(SETUP)
    nb["cells"] = [cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") != "one_hot_values"]
    nb["cells"][0]["id"] = "one_hot_values"  # the learner's own cell took the name
    repair(nb, pristine[SETUP])
    ids = [cell["id"] for cell in nb["cells"]]
    assert len(set(ids)) == len(ids) and "one_hot_values-1" in ids
    nbformat.validate(nbformat.from_dict(nb))


def test_another_assignments_notebook_is_graded_as_this_assignments_release(pristine):
    nb = _solved("01_rnn")
    notes = repair(nb, pristine[SETUP])
    assert "another assignment's?" in notes[0]
    assert _graded(nb) == _graded(_solved(SETUP))
    for grade_id in pristine[SETUP]:
        assert source(_cell(nb, grade_id)) == _released_source(SETUP, grade_id)  # 01's answers earn nothing here


def _files(folder):
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


UNREADABLE = {"carol": b"{not a notebook", "dave": b"[1, 2]", "erin": b"\xff\xfe not UTF-8", "frank": b"",
              # JSON, but not a notebook's shape: repair must not stop on them either
              "gina": b'{"cells": [1]}', "hugo": b'{"cells": "abc"}', "ida": b'{"cells": null, "metadata": []}'}


def test_stage_repairs_a_copy_and_leaves_the_submissions_alone(released, tmp_path):
    _, db_url = released
    submitted, staged = tmp_path / "submitted", tmp_path / "staged"
    notebook = f"{SETUP}.ipynb"
    solved = _notebook(SOLUTIONS, SETUP).read_bytes()
    tampered = _solved(SETUP)
    _set("one_hot_values", grade=False)(tampered)
    for student, content in {"alice": solved, "bob": json.dumps(tampered).encode(), **UNREADABLE}.items():
        (submitted / student / SETUP).mkdir(parents=True)
        (submitted / student / SETUP / notebook).write_bytes(content)
    (submitted / "alice" / SETUP / "my_notes.txt").write_text("the learner's own file")
    (staged / "alice" / SETUP).mkdir(parents=True)
    (staged / "alice" / SETUP / "left_from_last_time.ipynb").write_text("{}")  # an earlier run's staged copy
    before = _files(submitted)
    with Gradebook(db_url) as gradebook:
        notes = stage(submitted, staged, gradebook, SETUP,
                      [(student, SETUP) for student in ("alice", "bob", *UNREADABLE)])
    assert _files(submitted) == before
    staged_files = _files(staged)
    assert set(staged_files) == set(before)  # every file of every learner, nothing else
    assert notes == {("alice", SETUP): [], ("bob", SETUP): ["cell 'one_hot_values' had its grade changed: restored"]}
    for student in ("alice", *UNREADABLE):  # nothing to repair, or nothing nbgrader could read: copied as it is
        assert staged_files[f"{student}/{SETUP}/{notebook}"] == before[f"{student}/{SETUP}/{notebook}"], student
    assert _graded(read_notebook(staged / "bob" / SETUP / notebook)) == _graded(_solved(SETUP))


# Submissions plain nbgrader will not grade (each is left out of autograded/), and two it grades with a cell missing
REFUSED = {
    "ungraded": CHANGES["test cell made ungraded"][2],
    "renamed": _set("one_hot_values", grade_id="one_hot_values_mine"),
    "points": CHANGES["solution cell given points"][2],
}
DELETED = {"deleted_test": "one_hot_values", "deleted_solution": "one_hot"}


def _prepare(root, db_url, submitted):
    """nbgrader autograde's sanitising steps, without running anything, as the grader's prepare step runs them."""
    config = _config(root, db_url, SETUP, **{"Autograde.autograde_preprocessors": [],
                                             "CourseDirectory.submitted_directory": str(submitted),
                                             "CourseDirectory.autograded_directory": str(root / "autograded")})
    with warnings.catch_warnings():
        # nbgrader's --force re-creates submission records; SQLAlchemy notes the old ones it drops
        warnings.filterwarnings("ignore", message=".*not in session.*")
        warnings.simplefilter("error", nbformat.validator.MissingIDFieldWarning)  # put-back cells have their ids
        try:
            Autograde(coursedir=course.coursedir(config), config=config, log=_quiet()).start()
        except NbGraderException:
            pass  # raised at the end when some submission failed: the others are in autograded/


def test_nbgrader_grades_what_repair_stages(released):
    root, db_url = released
    notebook = f"{SETUP}.ipynb"
    submitted, staged = root / "submitted", root / "staged"
    shutil.rmtree(submitted, ignore_errors=True)
    submissions = {"other": _solved("01_rnn")}
    for student, edit in REFUSED.items():
        submissions[student] = _solved(SETUP)
        edit(submissions[student])
    for student, grade_id in DELETED.items():
        nb = _solved(SETUP)
        nb["cells"].remove(_cell(nb, grade_id))
        submissions[student] = nb
    for student, nb in submissions.items():
        for name in (student, f"{student}-unrepaired"):
            (submitted / name / SETUP).mkdir(parents=True)
            (submitted / name / SETUP / notebook).write_text(json.dumps(nb))
    with Gradebook(db_url) as gradebook:
        stage(submitted, staged, gradebook, SETUP, [(student, SETUP) for student in submissions])
    for student in submissions:
        shutil.copytree(submitted / f"{student}-unrepaired", staged / f"{student}-unrepaired", dirs_exist_ok=True)
    _prepare(root, db_url, staged)
    autograded = root / "autograded"
    solved = _solved(SETUP)
    for student in submissions:
        path = autograded / student / SETUP / notebook
        assert path.exists(), f"nbgrader did not take {student}'s repaired notebook"
        nb = read_notebook(path)
        assert _graded(nb) == _graded(solved), student
        for grade_id in _grade_ids(solved):
            kept = student != "other" and DELETED.get(student) != grade_id
            if nbgrader_meta(_cell(solved, grade_id)).get("solution") and kept:
                expected = source(_cell(solved, grade_id))  # the learner's answer
            else:
                expected = _released_source(SETUP, grade_id)
            assert source(_cell(nb, grade_id)) == expected, f"{student}: {grade_id}"
    # the reason the repair exists: without it nbgrader leaves these notebooks ungraded
    for student in ("other", *REFUSED):
        assert not (autograded / f"{student}-unrepaired" / SETUP / notebook).exists(), student
