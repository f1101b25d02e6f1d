"""autograder.reference: root never runs the course's solutions; their owner's process answers the re-checks.

The grading service is root's (the sandbox needs it) and a course's solutions/ notebooks are the instructor's
code. Here a course folder belongs to `nobody`, its 01_rnn solution records who runs it, and root grades: the
answers come from nobody's process, are those of the solution run here, and root never ran a line of it.
"""

import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import SOLUTIONS, nbgrader_meta

from autograder import execute, recheck
from autograder.examples import catalogues, solution_namespace
from autograder.reference import InProcess, OwnerProcess

RNN = SOLUTIONS / "01_rnn" / "01_rnn.ipynb"
RECORD = 'import os\nwith open("ran_as", "a") as record:\n    record.write(f"{os.geteuid()}\\n")\n'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root's grading runs the solutions in another process")


@pytest.fixture
def nobodys_course(monkeypatch):
    """A course folder of nobody's holding 01_rnn's solution, whose first solution cell records its user."""
    owner = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-course-"))  # pytest's tmp_path is root's only
    notebook = folder / "solutions" / "01_rnn" / RNN.name
    notebook.parent.mkdir(parents=True)
    nb = nbformat.read(RNN, as_version=4)
    first = next(cell for cell in nb.cells if nbgrader_meta(cell).get("solution"))
    first.source = RECORD + first.source
    nbformat.write(nb, notebook)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o755)
    monkeypatch.setenv("RNNLAB_COURSE_DIR", str(folder))
    execute.reference.cache_clear()
    yield notebook, owner
    execute.reference.cache_clear()
    shutil.rmtree(folder, ignore_errors=True)


def _verdicts(catalogue, learner, reference, grade_ids, seed):
    tasks = recheck.plan(catalogue, grade_ids, reference, np.random.default_rng(seed))
    flat = [task for cell in tasks.values() for task in cell]
    arrays, errors = recheck.answer(learner, flat)
    return [recheck.judge(task, arrays, errors, reference) for task in flat], flat


def test_root_grading_asks_the_owners_process_and_gets_the_answers_of_the_solution(nobodys_course):
    notebook, owner = nobodys_course
    catalogue, reference = execute.reference(str(notebook))
    try:
        assert isinstance(reference, OwnerProcess)
        assert (notebook.parent / "ran_as").read_text().split() == [str(owner.pw_uid)]  # never 0
        here = solution_namespace(RNN)
        grade_ids = [nbgrader_meta(cell)["grade_id"] for cell in nbformat.read(RNN, as_version=4).cells
                     if nbgrader_meta(cell).get("grade") and cell.cell_type == "code"]
        mistake = catalogue.mistakes[0]
        for learner in (here, solution_namespace(RNN, mistake)):
            theirs, tasks = _verdicts(catalogue, learner, reference, grade_ids, seed=5)
            ours, _ = _verdicts(catalogue, learner, InProcess(here, catalogue), grade_ids, seed=5)
            assert theirs == ours
        assert any(reason for reason in theirs), f"{mistake.name} fails no re-check"
        assert any(task.probe.kind == "gradients" for task in tasks)  # the finite differences were asked too
        task = next(task for task in tasks if task.probe.kind == "values")
        for name, value in reference.run(task).items():
            np.testing.assert_array_equal(value, InProcess(here).run(task)[name])
        assert (notebook.parent / "ran_as").read_text().split() == [str(owner.pw_uid)]  # one process for all
    finally:
        reference.close()


def test_a_reference_that_fails_or_stops_is_reported_by_name(nobodys_course):
    notebook, owner = nobodys_course
    reference = OwnerProcess(notebook, owner.pw_uid, owner.pw_gid)
    try:
        with pytest.raises(RuntimeError, match=rf"uid {owner.pw_uid}\): KeyError"):
            reference.outputs("no_such_forward", {"x": np.zeros(3)})
        os.killpg(reference.process.pid, signal.SIGKILL)  # the solution's process with bubblewrap: no answer can come
        with pytest.raises(RuntimeError, match="did not answer"):
            reference.outputs("rnn_step_forward", {"x": np.zeros(3)})
    finally:
        reference.close()


def test_the_owners_process_ends_with_the_grading_process(nobodys_course):
    """Its questions come on a pipe: when the grading process is gone, the pipe ends and so does the process."""
    notebook, owner = nobodys_course
    reference = OwnerProcess(notebook, owner.pw_uid, owner.pw_gid)
    reference.process.stdin.close()
    assert reference.process.wait(timeout=30) == 0
    reference.close()


def test_catalogues_name_the_notebook_the_test_course_copies():
    assert catalogues()["rnn"].notebook == "01_rnn/" + RNN.name
