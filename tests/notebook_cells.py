"""Running and reading the cells of the source notebooks, for the test modules that need it
(a test module never imports another: what several of them share lives here or in conftest).

``run_cells`` runs a notebook's code cells, hidden tests included, in this process (not in a
kernel), in order, as nbgrader runs them when grading; a failing cell does not stop the next.
Cells tagged ``experiment`` (05's training runs and the checks of their outcomes) are left out:
they use every function at once and take seconds each, so they run once per notebook
(the class plain nbgrader grades, the grading tests), never once per mutant.
"""

import ast
import base64
import contextlib
import functools
import os
import re
import warnings

import matplotlib
from conftest import OUTPUT, SOLUTIONS, nbgrader_meta, notebooks, read_notebook, source

from autograder.examples import apply_mistake

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def run_cells(notebook, mistake=None):
    """Run every code cell of a source notebook; return {grade_id: error message or None} for test cells."""
    return run_notebook(notebook, mistake)[0]


@functools.cache
def run_notebook(notebook, mistake=None):
    """Run every code cell of a source notebook; return the test cells' results and the final namespace."""
    namespace = {"__name__": "__main__"}
    results = {}
    with contextlib.chdir(notebook.parent), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "FigureCanvasAgg is non-interactive" from plt.show()
        for cell in read_notebook(notebook)["cells"]:
            if cell["cell_type"] != "code" or "experiment" in cell["metadata"].get("tags", []):
                continue  # training runs and their outcome checks: run once, in the nbgrader class and the grading tests
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
    return results, namespace


def graded_function_names():
    """The functions and classes the solution cells of every source notebook define: the exercises' answers."""
    names = set()
    for relative in notebooks(SOLUTIONS):
        for cell in read_notebook(SOLUTIONS / relative)["cells"]:
            if nbgrader_meta(cell).get("solution") and cell["cell_type"] == "code":
                tree = ast.parse(source(cell))
                names |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return names


# Reading executed notebooks (nbformat objects) -------------------------------------------------------------------

# what rnnlab.testing.demo prints when a picture cannot use the learner's functions
DEMO_MESSAGE = re.compile(r"^(This cell (needs|stopped|could not)|Note: .* failed (its test|their tests) above)", re.M)


def errors(nb):
    """(cell, output) of every error an executed notebook shows."""
    return [(cell, output) for cell in nb.cells for output in cell.get("outputs", []) if output.output_type == "error"]


def printed(cell):
    """What an executed cell printed."""
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream")


def save_pictures(nb, stem):
    """Every figure of an executed notebook, for people to look at: tests/output/<notebook>-<cell id>-<n>.png
    (06's winning cell, 05's training curves, ...)."""
    OUTPUT.mkdir(exist_ok=True)
    for cell in nb.cells:
        pictures = [output.data["image/png"] for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
        for n, picture in enumerate(pictures):
            (OUTPUT / f"{stem}-{cell.get('id', 'cell')}-{n}.png").write_bytes(base64.b64decode(picture))
