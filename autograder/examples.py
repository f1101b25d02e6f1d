"""Worked examples and known mistakes: the numbers the test cells compare against.

Each graded notebook has a catalogue, ``autograder/catalogue/<name>.py``, listing
its worked examples (inputs and how to call the functions) and, per function,
the common mistakes as small edits of the reference solution. From it,
``python -m autograder.examples`` (run by ``make release``) writes
``solutions/<assignment>/reference.json``: the inputs, the outputs of the
reference solution, and the outputs each mistake produces, with its name and hint.
nbgrader copies that file into the release; test cells read it with
``rnnlab.testing.load_examples``. The mutants themselves never leave this folder.
"""

import ast
import contextlib
import importlib
import json
import pkgutil
from pathlib import Path

import numpy as np

from autograder import course
from rnnlab.earlier import call_as_tested
from rnnlab.testing import SAME_ATOL, SAME_RTOL, close


def catalogues():
    """Every catalogue in autograder/catalogue/, by module name."""
    package = importlib.import_module("autograder.catalogue")
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"autograder.catalogue.{info.name}")
        found[info.name] = module.CATALOGUE
    return found


def _cells(notebook):
    return json.loads(Path(notebook).read_text())["cells"]


def _text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _imports(code):
    """The import statements of a cell, without its other statements (plots, data, demos)."""
    tree = ast.parse(code)
    tree.body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return tree


def apply_mistake(code, mistake):
    """Return the solution cell ``code`` with ``mistake`` made; fail loudly if it no longer applies."""
    found = code.count(mistake.old)
    if found != mistake.count:
        raise ValueError(
            f"mistake {mistake.name!r} expects {mistake.count} occurrence(s) of {mistake.old!r} "
            f"in {mistake.function}, found {found}: update the catalogue"
        )
    return code.replace(mistake.old, mistake.new)


def solution_namespace(notebook, mistake=None):
    """
    Run the solution cells and the read-only (locked) code cells of a source notebook,
    after the imports of the other cells, and return the namespace
    holding its functions, optionally with one mistake made.
    """
    namespace = {"__name__": "__notebook__"}
    with contextlib.chdir(Path(notebook).parent):  # as the kernel runs: rnnlab.earlier reads ../<assignment>/
        _run_solution_cells(notebook, mistake, namespace)
    return namespace


def _run_solution_cells(notebook, mistake, namespace):
    for cell in _cells(notebook):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        code = _text(cell)
        if cell["cell_type"] != "code" or meta.get("grade"):
            continue
        if mistake is not None and meta.get("grade_id") == mistake.function:
            code = apply_mistake(code, mistake)
        if meta.get("solution") or meta.get("locked"):  # exercises, and read-only helpers they call
            exec(compile(code, f"<{meta['grade_id']}>", "exec"), namespace)
        else:
            exec(compile(_imports(code), "<notebook cell>", "exec"), namespace)


def _tolist(value):
    return np.asarray(value, dtype=np.float64).tolist()


def _same(a, b):
    """Two outputs (of the reference and a mutant) are the same to within rounding (rnnlab.testing.SAME_RTOL)."""
    return close(a, b, rtol=SAME_RTOL, atol=SAME_ATOL)


def _sequences(inputs, expected):
    """The outputs that are sequences, (N, T, ...) like a sequence input of the example: their failure messages
    say which time steps differ (rnnlab.testing.check_outputs)."""
    steps = {np.shape(value)[:2] for value in inputs.values() if np.ndim(value) == 3}
    return [name for name, value in expected.items() if np.ndim(value) == 3 and np.shape(value)[:2] in steps]


def _usual_call(function, inputs):
    """The course's calling convention: forward(**inputs) -> (out, ..., cache); backward(dout, ..., cache)."""
    if function.endswith("_backward"):
        douts = [name for name in inputs if name.startswith("d")]
        cache = {"cache": function.replace("_backward", "_forward"), "inputs": [n for n in inputs if n not in douts]}
        return {"args": [*({"input": name} for name in douts), cache]}
    return {"kwargs": {name: {"input": name} for name in inputs}}


def _call_entry(example, reference, inputs, expected):
    """
    How the test cell calls ``example.function``, for reference.json, once it is shown to give the expected outputs
    (rnnlab.earlier.call_as_tested on the reference solution); None when the usual convention does not (that
    function cannot be checked from a later notebook).
    """
    call = example.call or _usual_call(example.function, inputs)
    try:
        with np.errstate(all="ignore"):
            outputs = call_as_tested(reference[example.function], reference, call, inputs)
        same = len(outputs) >= len(expected) and all(np.shape(got) == np.shape(want) and _same(got, want)
                                                     for got, want in zip(outputs, expected.values()))
    except Exception:  # noqa: BLE001 - the usual convention does not fit this function
        same = False
    if not same and example.call:
        raise ValueError(f"{example.name}: the catalogue's call does not give the example's outputs: update it")
    return call if same else None


def build_reference(catalogue, root=None):
    """Compute the worked examples of one catalogue from the course at ``root`` (its solutions/): inputs,
    expected outputs, mistakes' outputs."""
    notebook = Path(root or course.root()) / "solutions" / catalogue.notebook
    reference = solution_namespace(notebook)
    mutants = {mistake: solution_namespace(notebook, mistake) for mistake in catalogue.mistakes}
    stored = {}
    for example in catalogue.examples:
        inputs = example.inputs(np.random.default_rng(example.seed))
        expected = example.run(reference, **{k: v.copy() for k, v in inputs.items()})
        mistakes = {name: [] for name in expected}
        uses = catalogue.uses(example.function)
        for mistake, namespace in mutants.items():
            if mistake.function not in uses:
                continue
            try:
                wrong = example.run(namespace, **{k: v.copy() for k, v in inputs.items()})
            except Exception:  # the mistake crashes here: the learner sees that error instead
                continue
            hint = mistake.hint if mistake.function == example.function else f"(in {mistake.function}) {mistake.hint}"
            for output, value in wrong.items():
                if np.shape(value) != np.shape(expected[output]) or not _same(value, expected[output]):
                    mistakes[output].append({"name": mistake.name, "hint": hint, "output": _tolist(value)})
                    break  # recognise a mistake on the first output it changes, where the learner looks first
        stored[example.name] = {
            "inputs": {k: _tolist(v) for k, v in inputs.items()},
            "expected": {k: _tolist(v) for k, v in expected.items()},
            "mistakes": mistakes,
            "revisit": example.revisit,
            "sequences": _sequences(inputs, expected),
        }
        call = _call_entry(example, reference, inputs, expected)
        if call is not None:
            stored[example.name]["call"] = call
    return stored


def check_catalogue(catalogue):
    """Every mistake must change its own function's worked example and be told apart from the others."""
    reference = build_reference(catalogue)
    problems = []
    for mistake in catalogue.mistakes:
        own = [e.name for e in catalogue.examples if e.function == mistake.function]
        seen = [m for name in own for ms in reference[name]["mistakes"].values() for m in ms if m["name"] == mistake.name]
        if own and not seen:
            problems.append(f"{mistake.function}: {mistake.name!r} gives the right answer on its worked example")
    for name, entry in reference.items():
        for output, mistakes in entry["mistakes"].items():
            for i, first in enumerate(mistakes):
                for second in mistakes[i + 1:]:
                    if _same(first["output"], second["output"]):
                        problems.append(f"{name}.{output}: {first['name']!r} and {second['name']!r} look the same")
    return problems


def write_references(root=None, only=None):
    """Write solutions/<assignment>/reference.json for every catalogue whose notebook the course at ``root`` has
    (of the assignments in ``only``, if given), computed from that course's own solutions."""
    root = Path(root or course.root())
    written = []
    for catalogue in catalogues().values():
        if only and Path(catalogue.notebook).parent.name not in only:
            continue
        if not catalogue.examples or not (Path(root) / "solutions" / catalogue.notebook).exists():
            continue  # the notebook's test cells hold their own numbers, or this course has no such notebook
        path = Path(root) / "solutions" / Path(catalogue.notebook).parent / "reference.json"
        path.write_text(json.dumps(build_reference(catalogue, root), indent=1) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_references():
        print(f"wrote {path.relative_to(course.root())}")
