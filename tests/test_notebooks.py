"""Every notebook runs top to bottom: released with only the exercises' stubs failing, and Run All on a release
reaches the last cell (as JupyterLab's Run All does: it stops at an error in a cell without the ``raises-exception``
tag, and so does nbclient). Solved, each runs once, in the class plain nbgrader grades (test_nbgrader_roundtrip.py)."""

import re

import nbformat
import numpy as np
import pytest
from conftest import COURSE, SOLUTIONS, notebooks
from nbclient import NotebookClient
from notebook_cells import DEMO_MESSAGE, errors, printed

def _execute(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("relative", notebooks(COURSE), ids=str)
def test_release_runs_to_the_last_cell_and_fails_only_where_the_learner_has_work_to_do(relative):
    """Before any exercise is solved, Run All reaches the end; the only errors are test cells' NotImplementedError
    (from the stubs), and every picture that needs an exercise says in one line which one to finish."""
    nb = _execute(COURSE / relative)  # raises CellExecutionError at the first untagged cell that fails
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code[-1].get("execution_count"), "Run All did not reach the last code cell"
    for cell, error in errors(nb):
        assert "raises-exception" in cell.metadata.get("tags", [])
        if "experiment" in cell.metadata.get("tags", []):  # 05: the check of a training run that could not run
            assert error.ename in ("AssertionError", "CheckFailed") and "did not finish: run it and read what it printed" in error.evalue
            assert len(error.traceback) == 1, error.traceback  # a sentence, not a traceback
            continue
        if error.ename == "EarlierWorkError":  # 06: a test that runs an earlier notebook's function (a stub here too)
            assert "is not written and saved yet: finish it in" in error.evalue, error.evalue
            continue
        assert error.ename == "NotImplementedError", f"{cell.source[:80]!r} fails with {error.ename}: {error.evalue}"
        # one line naming the function to write, not a traceback through rnnlab's frames
        assert len(error.traceback) == 1 and re.search(r"\w+ is not written yet: replace the two lines", error.traceback[0]), (
            error.traceback)
    for cell in code:
        if "with demo(" in cell.source:
            said = DEMO_MESSAGE.findall(printed(cell))
            assert len(said) <= 1 and all(first == "This cell needs" for first, _, _ in said), printed(cell)
            # a function of this notebook, or (05) one of an earlier notebook, which is a stub in the release too
            assert not said or re.search(r"^This cell needs (\w+, which is not written yet: finish it above, then run "
                                         r"this cell again\.|notebook \d\d's \w+, which is not written and saved yet: finish "
                                         r"it in \w+\.ipynb and save that notebook \(this one reads the saved file\); its "
                                         r"tests there show what to fix)$", printed(cell), re.M)

def test_a_failed_check_shows_its_message_and_no_frame_of_rnnlab(tmp_path):
    """In a kernel, a failing check's output is the learner-facing text alone: no traceback through rnnlab/."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy as np\nfrom rnnlab.testing import Mistake, check_close\n"
        "check_close('next_h', np.array([1.0, 2.0]), np.array([1.0, 3.0]),\n"
        "            mistakes=[Mistake('forgot the bias', 'add b inside the tanh', np.array([1.0, 2.0]))])",
        metadata={"tags": ["raises-exception"]})])
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (cell, error), = errors(nb)
    shown = "\n".join(error.traceback)
    assert error.ename == "CheckFailed"
    assert "rnnlab/" not in shown and "Traceback" not in shown and "site-packages" not in shown
    assert "next_h is not right yet" in shown and "forgot the bias" in shown and "Hint: add b inside the tanh" in shown
    assert len(error.traceback) <= 5


def test_01_the_state_after_a_pulse_fades_over_several_steps_without_flipping_sign():
    """01 §4 says the response to a change lingers and fades: true of the picture's own numbers (a random W_h with a
    dominant eigenvalue of -1.26 drew a period-2 checkerboard that looked like a learner's bug)."""
    from notebook_cells import run_notebook

    _, namespace = run_notebook(SOLUTIONS / "01_rnn" / "01_rnn.ipynb")
    sizes, states = namespace["sizes"], namespace["after_pulse"][0]
    assert (sizes[:2] == 0).all() and (sizes[2:] > 0).all()
    assert (sizes[3:] < sizes[2:-1]).all(), "the state's size fades after the pulse"
    assert sizes[8] > 0.1 * sizes[2], "and not at once: it lingers for several steps"
    assert all(states[t] @ states[t + 1] > 0 for t in range(2, len(states) - 1)), "no sign flips from step to step"
    eigenvalues = np.linalg.eigvalsh(namespace["Wh_memory"])
    assert eigenvalues.min() >= -1e-12 and abs(eigenvalues.max() - 0.9) < 1e-12  # what the text says of W_h
