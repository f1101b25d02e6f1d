"""course/ is generated from solutions/: it must be up to date, answer-free and output-free."""

import ast
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import COURSE, REPO, SOLUTIONS, nbgrader_meta, notebooks, read_notebook, source
from notebook_cells import graded_function_names

from autograder.examples import build_reference, catalogues, check_catalogue, write_references
from autograder.release import release

SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOURCE_NOTEBOOKS = notebooks(SOLUTIONS)


def _blocks(pattern, path):
    return [block for cell in read_notebook(path)["cells"] for block in pattern.findall(source(cell))]


def _files(folder):
    """Files under folder, without what Jupyter leaves behind (.ipynb_checkpoints, __pycache__)."""
    return sorted(
        p.relative_to(folder) for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)
    )


def test_there_is_a_source_notebook_for_every_release():
    assert SOURCE_NOTEBOOKS, "no notebooks in solutions/"
    assert notebooks(COURSE) == SOURCE_NOTEBOOKS


def test_course_is_up_to_date_with_solutions(tmp_path):
    """Fails when a source notebook changed without `make release`."""
    release(into=tmp_path)
    generated, committed = _files(tmp_path), _files(COURSE)
    assert generated == committed, "course/ holds other files than the release would: run `make release`"
    for relative in generated:
        assert json.loads((tmp_path / relative).read_text()) == json.loads((COURSE / relative).read_text()), (
            f"course/{relative} is out of date with solutions/: run `make release`"
        )


@pytest.mark.parametrize("relative", SOURCE_NOTEBOOKS, ids=str)
def test_release_holds_no_solution_and_no_hidden_test(relative):
    released = (COURSE / relative).read_text()
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
    public = "\n".join(
        HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", source(cell))) for cell in read_notebook(SOLUTIONS / relative)["cells"]
    )
    for block in _blocks(SOLUTION_BLOCK, SOLUTIONS / relative) + _blocks(HIDDEN_BLOCK, SOLUTIONS / relative):
        for line in block.splitlines():
            line = line.strip()
            if len(line) > 12 and not line.startswith("#") and line not in public:
                assert json.dumps(line)[1:-1] not in released, f"course/{relative} leaks: {line}"


@pytest.mark.parametrize("relative", SOURCE_NOTEBOOKS, ids=str)
def test_every_solution_cell_is_a_stub_in_the_release(relative):
    cells = read_notebook(COURSE / relative)["cells"]
    stubs = [source(c) for c in cells if nbgrader_meta(c).get("solution") and c["cell_type"] == "code"]
    assert stubs, "a graded notebook needs at least one exercise"
    for stub in stubs:
        assert re.search(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(\)", stub), stub


def test_rnnlab_defines_no_exercise_function():
    names = graded_function_names()
    assert names
    for module in (REPO / "rnnlab").glob("*.py"):
        defined = {n.name for n in ast.walk(ast.parse(module.read_text())) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not defined & names, f"rnnlab/{module.name} hands out exercise functions: {sorted(defined & names)}"


@pytest.mark.parametrize("folder", [SOLUTIONS, COURSE], ids=["solutions", "course"])
def test_committed_notebooks_have_no_outputs(folder):
    for relative in notebooks(folder):
        for cell in read_notebook(folder / relative)["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{folder.name}/{relative} has outputs"


@pytest.mark.parametrize("relative", SOURCE_NOTEBOOKS, ids=str)
def test_graded_cells_follow_the_course_style(relative):
    cells = read_notebook(SOLUTIONS / relative)["cells"]
    for cell in cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        grade_id = meta["grade_id"]
        assert re.fullmatch(r"[a-z0-9_]+", grade_id) and not re.fullmatch(r"cell-[0-9a-f]+", grade_id), grade_id
        text = source(cell)
        if meta.get("grade") and cell["cell_type"] == "code":
            assert 1 <= meta["points"] <= 3, f"{grade_id}: test cells are worth 1-3 points"
            assert text.startswith('"""'), f"{grade_id}: a test cell starts with a one-line docstring"
        if meta.get("solution") and cell["cell_type"] == "code":
            before = text.split("### BEGIN SOLUTION")[0]
            assert '"""' in before and "Inputs:" in before and "Returns" in before, (
                f"{grade_id}: the docstring (Inputs:, Returns) sits outside the solution markers"
            )


@pytest.mark.parametrize("relative", SOURCE_NOTEBOOKS, ids=str)
def test_run_all_goes_past_every_failure(relative):
    """Every test cell carries the raises-exception tag (JupyterLab's Run All and nbclient go on past it), and every
    other cell that calls a graded function runs it inside ``with demo(...)``, naming the functions it uses."""
    cells = read_notebook(SOLUTIONS / relative)["cells"]
    graded = {node.name for cell in cells if nbgrader_meta(cell).get("solution") and cell["cell_type"] == "code"
              for node in ast.parse(source(cell)).body if isinstance(node, ast.FunctionDef)}
    def calls(tree):
        return {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}

    # the notebook's other functions (helpers, model code) and the graded ones they reach, directly or not
    helpers = {node.name: calls(node) for cell in cells if cell["cell_type"] == "code"
               and not nbgrader_meta(cell).get("solution") for node in ast.parse(source(cell)).body
               if isinstance(node, ast.FunctionDef)}

    def reached(names, seen=()):
        found = names & graded
        for name in names & set(helpers) - set(seen):
            found |= reached(helpers[name], {*seen, name})
        return found

    for cell in cells:
        meta, text = nbgrader_meta(cell), source(cell)
        if cell["cell_type"] != "code" or meta.get("solution"):
            continue
        if meta.get("grade"):
            assert "raises-exception" in cell["metadata"].get("tags", []), f"{meta['grade_id']}: tag it raises-exception"
            continue
        # what the cell runs: its statements outside function definitions (a definition runs nothing)
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                continue
            called = reached(calls(node))
            if not called:
                continue
            head = node.items[0].context_expr if isinstance(node, ast.With) else None
            assert isinstance(head, ast.Call) and getattr(head.func, "id", "") == "demo", (
                f"{ast.unparse(node)[:60]!r} calls {sorted(called)}: run it inside `with demo(...)`")
            named = {arg.value for arg in head.args if isinstance(arg, ast.Constant)}
            assert called <= named, f"{ast.unparse(node)[:60]!r}: demo(...) should name {sorted(called - named)}"


def _numbers(value):
    """Whether a value of reference.json is numbers (a number or nested lists of them, compared to within rounding)."""
    if isinstance(value, list):
        return all(_numbers(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _assert_same_reference(stored, computed, where="", rounding_growth=1.0):
    """Same structure, names and hints; numbers equal to within rounding across BLAS builds (times its growth)."""
    if isinstance(computed, dict):
        assert isinstance(stored, dict) and stored.keys() == computed.keys(), f"{where}: keys differ"
        for key in computed:
            _assert_same_reference(stored[key], computed[key], f"{where}.{key}", rounding_growth)
    elif isinstance(computed, list) and computed and isinstance(computed[0], dict):
        assert len(stored) == len(computed), f"{where}: {len(stored)} entries stored, {len(computed)} computed"
        for i, (a, b) in enumerate(zip(stored, computed)):
            _assert_same_reference(a, b, f"{where}[{i}]", rounding_growth)
    elif not _numbers(computed):  # words: hints, names, how a function is called
        assert stored == computed, f"{where}: {stored!r} != {computed!r}"
    else:
        assert np.allclose(stored, computed, rtol=1e-12 * rounding_growth, atol=1e-14 * rounding_growth,
                           equal_nan=True), (
            f"{where}: numbers differ")


@pytest.mark.parametrize("name", sorted(name for name, catalogue in catalogues().items() if catalogue.examples))
def test_worked_examples_are_up_to_date_with_the_solutions(name):
    """Fails when a solution or the catalogue changed without `make release`."""
    catalogue = catalogues()[name]
    path = SOLUTIONS / Path(catalogue.notebook).parent / "reference.json"
    stored, computed = json.loads(path.read_text()), build_reference(catalogue)
    assert stored.keys() == computed.keys(), f"{path.name}: the worked examples differ"
    for example in catalogue.examples:
        _assert_same_reference(stored[example.name], computed[example.name], f"{path.name}.{example.name}",
                               example.rounding_growth)


@pytest.mark.parametrize("name", sorted(catalogues()))
def test_every_known_mistake_changes_its_example_and_can_be_told_apart(name):
    assert check_catalogue(catalogues()[name]) == []


def test_worked_examples_come_from_the_course_being_released(tmp_path):
    """`python -m autograder --course-dir DIR release` computes DIR's worked examples from DIR's solutions/."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(SOLUTIONS / "01_rnn", course / "solutions" / "01_rnn")
    path = course / "solutions" / "01_rnn" / "01_rnn.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "rnn_step_forward":  # this course's step adds 1
            cell["source"] = source(cell) + (
                "\n\n_first = rnn_step_forward\n\n\ndef rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                "    next_h, cache = _first(x, prev_h, Wx, Wh, b)\n    return next_h + 1.0, cache\n")
    path.write_text(json.dumps(nb))
    written = write_references(course)
    assert written == [course / "solutions" / "01_rnn" / "reference.json"]  # only the notebooks it has
    ours = json.loads(written[0].read_text())["rnn_step_forward"]["expected"]["next_h"]
    repository = json.loads((SOLUTIONS / "01_rnn" / "reference.json").read_text())["rnn_step_forward"]["expected"]["next_h"]
    np.testing.assert_allclose(np.array(ours), np.array(repository) + 1.0)
