"""Every known mistake, made on purpose in a copy of the reference solution (a mutant),
fails its own test cell with its own name and hint, and fails no cell that does not
depend on the broken function.

The notebook's cells, hidden tests included, run in this process, as nbgrader runs them
when grading, except those tagged ``experiment`` (see tests/notebook_cells.py).
"""

import numpy as np
import pytest
from conftest import SOLUTIONS
from notebook_cells import run_cells, run_notebook

from autograder import recheck
from autograder.examples import catalogues

CASES = [(name, mistake) for name, catalogue in sorted(catalogues().items()) for mistake in catalogue.mistakes]


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
    own = {cell: error for cell, error in failing.items() if recheck.function_of(cell, functions) == mistake.function}
    assert own, f"no test cell of {mistake.function} fails"
    first = next(iter(own.values()))
    assert mistake.name in first and mistake.hint in first, f"the first failing cell says: {first}"
    allowed = {f for f in functions if mistake.function in catalogue.uses(f)}
    wrongly = {cell for cell in failing if recheck.function_of(cell, functions) not in allowed}
    assert not wrongly, f"cells that do not use {mistake.function} fail too: {sorted(wrongly)}"


FORWARD_CASES = [(name, mistake) for name, mistake in CASES if not mistake.function.endswith("_backward")]


@pytest.mark.parametrize(("name", "mistake"), FORWARD_CASES, ids=[f"{m.function}: {m.name}" for _, m in FORWARD_CASES])
def test_gradient_checks_blame_a_broken_forward_pass_not_the_backward(name, mistake):
    """A mistake in a forward function can fail the gradient checks that run through it (they differentiate the
    learner's own forward pass); their message then says to fix that function first, not the backward pass."""
    catalogue = catalogues()[name]
    results = run_cells(SOLUTIONS / catalogue.notebook, mistake)
    for cell, error in results.items():
        if error and "The gradient check fails" in error:
            assert f"Fix {mistake.function}" in error or f", {mistake.function}" in error or (
                f" and {mistake.function} first" in error), f"{cell}: {error}"
            assert "chain rule" not in error, f"{cell}: {error}"


@pytest.mark.parametrize(("name", "mistake"), CASES, ids=[f"{m.function}: {m.name}" for _, m in CASES])
def test_the_graders_recheck_takes_no_point_that_a_mistake_earns(name, mistake):
    """autograder.recheck re-checks passed cells on fresh inputs: it must agree with every cell a mutant passes,
    and catch the mutant in at least one of its own function's cells."""
    catalogue = catalogues()[name]
    notebook = SOLUTIONS / catalogue.notebook
    results, namespace = run_notebook(notebook, mistake)
    _, reference = run_notebook(notebook)
    rng = np.random.default_rng(0)
    tasks = recheck.plan(catalogue, list(results), reference, rng)
    every = [task for cell in tasks.values() for task in cell]
    with np.errstate(all="ignore"):  # e.g. the overflow of an unstable sigmoid: its cell fails for that already
        arrays, errors = recheck.answer(namespace, every)
    verdicts = {cell: [recheck.judge(task, arrays, errors, reference) for task in cell_tasks]
                for cell, cell_tasks in tasks.items()}
    withheld = {cell: reasons for cell, reasons in verdicts.items() if results[cell] is None and any(reasons)}
    assert not withheld, f"the re-check takes points that the test cells give: {withheld}"
    functions = set(catalogue.depends) | {m.function for m in catalogue.mistakes}
    caught = [cell for cell, reasons in verdicts.items()
              if recheck.function_of(cell, functions) == mistake.function and any(reasons)]
    assert caught, f"no re-check of {mistake.function} notices the mistake"


@pytest.mark.parametrize("name", sorted(catalogues()))
def test_every_test_cell_is_rechecked_and_the_reference_passes(name, reference_results):
    catalogue = catalogues()[name]
    results, namespace = run_notebook(SOLUTIONS / catalogue.notebook)
    rng = np.random.default_rng(1)
    tasks = recheck.plan(catalogue, list(results), namespace, rng)
    assert all(tasks.values()), f"test cells without a re-check: {[cell for cell, t in tasks.items() if not t]}"
    every = [task for cell in tasks.values() for task in cell]
    arrays, errors = recheck.answer(namespace, every)
    assert [recheck.judge(task, arrays, errors, namespace) for task in every] == [""] * len(every)


@pytest.mark.parametrize("name", sorted(catalogues()))
def test_the_rechecks_reach_a_kernel_that_cannot_import_the_grader(name, tmp_path):
    """The grader ships its re-checks into the learner's kernel, where autograder/ is not mounted."""
    import subprocess
    import sys

    catalogue = catalogues()[name]
    results, namespace = run_notebook(SOLUTIONS / catalogue.notebook)
    rng = np.random.default_rng(2)
    cells = [*results, *(cell for cell in catalogue.probes if cell not in results)]  # with 05's experiment checks
    every = [task for cell in recheck.plan(catalogue, cells, namespace, rng).values() for task in cell]
    recheck.write_tasks(tmp_path / "tasks.pkl", every, np.arange(3.0))
    loaded = subprocess.run([sys.executable, "-c", (
        "import pickle, sys\n"
        "sys.modules['autograder'] = None  # as in the sandbox: not importable\n"
        f"answer, tasks, canary = pickle.load(open({str(tmp_path / 'tasks.pkl')!r}, 'rb'))\n"
        "print(len(tasks), callable(answer))")], capture_output=True, text=True)
    assert loaded.stdout.split() == [str(len(every)), "True"], loaded.stderr
