"""Every known mistake, made on purpose in a copy of the reference solution (a mutant),
fails its own test cell with its own name and hint, and fails no cell that does not
depend on the broken function.

The notebook's cells, hidden tests included, run in this process (not in a kernel), in
order, as nbgrader runs them when grading; a failing cell does not stop the next.
"""

import contextlib
import os
import warnings

import matplotlib
import pytest
from conftest import SOLUTIONS, nbgrader_meta, read_notebook, source

from autograder.examples import apply_mistake, catalogues

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CASES = [(name, mistake) for name, catalogue in sorted(catalogues().items()) for mistake in catalogue.mistakes]


def run_cells(notebook, mistake=None):
    """Run every code cell of a source notebook; return {grade_id: error message or None} for test cells."""
    namespace = {"__name__": "__main__"}
    results = {}
    with contextlib.chdir(notebook.parent), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "FigureCanvasAgg is non-interactive" from plt.show()
        for cell in read_notebook(notebook)["cells"]:
            if cell["cell_type"] != "code":
                continue
            meta = nbgrader_meta(cell)
            code = source(cell)
            if mistake is not None and meta.get("grade_id") == mistake.function:
                code = apply_mistake(code, mistake)
            try:
                with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                    exec(compile(code, f"<{meta.get('grade_id', 'cell')}>", "exec"), namespace)
                error = None
            except Exception as exc:  # noqa: BLE001 - a failing cell is what we look for
                error = f"{type(exc).__name__}: {exc}"
            if meta.get("grade"):
                results[meta["grade_id"]] = error
            plt.close("all")
    return results


def _function_of(grade_id, functions):
    """The graded function a test cell belongs to: the longest function name its grade_id starts with."""
    return max((f for f in functions if grade_id.startswith(f)), key=len)


@pytest.fixture(scope="module")
def reference_results():
    return {name: run_cells(SOLUTIONS / catalogue.notebook) for name, catalogue in catalogues().items()}


@pytest.mark.parametrize("name", sorted(catalogues()))
def test_reference_solution_passes_every_test_cell(name, reference_results):
    failing = {cell: error for cell, error in reference_results[name].items() if error}
    assert not failing


@pytest.mark.parametrize(("name", "mistake"), CASES, ids=[f"{m.function}: {m.name}" for _, m in CASES])
def test_mistake_fails_its_own_test_with_its_own_hint(name, mistake, reference_results):
    catalogue = catalogues()[name]
    results = run_cells(SOLUTIONS / catalogue.notebook, mistake)
    functions = set(catalogue.depends) | {m.function for m in catalogue.mistakes}
    failing = {cell: error for cell, error in results.items() if error}
    own = {cell: error for cell, error in failing.items() if _function_of(cell, functions) == mistake.function}
    assert own, f"no test cell of {mistake.function} fails"
    first = next(iter(own.values()))
    assert mistake.name in first and mistake.hint in first, f"the first failing cell says: {first}"
    allowed = {f for f in functions if mistake.function in catalogue.uses(f)}
    wrongly = {cell for cell in failing if _function_of(cell, functions) not in allowed}
    assert not wrongly, f"cells that do not use {mistake.function} fail too: {sorted(wrongly)}"
