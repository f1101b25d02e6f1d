"""Every notebook runs top to bottom: solved without an error, released with only the exercises' stubs failing."""

import nbformat
import pytest
from conftest import COURSE, SOLUTIONS, notebooks
from nbclient import NotebookClient


def _execute(path, allow_errors):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("relative", notebooks(SOLUTIONS), ids=str)
def test_solution_notebook_runs_top_to_bottom(relative):
    _execute(SOLUTIONS / relative, allow_errors=False)


@pytest.mark.parametrize("relative", notebooks(COURSE), ids=str)
def test_release_fails_only_where_the_learner_has_work_to_do(relative):
    """Before any exercise is solved, the only error is NotImplementedError (from the stubs, wherever they are called)."""
    nb = _execute(COURSE / relative, allow_errors=True)
    for cell in nb.cells:
        for error in (o for o in cell.get("outputs", []) if o.output_type == "error"):
            assert error.ename == "NotImplementedError", f"{cell.source[:80]!r} fails with {error.ename}: {error.evalue}"
