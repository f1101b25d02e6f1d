"""rnnlab.earlier: a later notebook uses the functions of the learner's own earlier notebooks, and a learner
who has not finished one gets one line naming the function to finish, never a traceback."""

import json
import shutil

import numpy as np
import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook, source

from autograder.examples import apply_mistake, catalogues, solution_namespace
from rnnlab.earlier import load
from rnnlab.testing import EarlierWorkError, demo

NAMES = {"01_rnn": ["rnn_forward", "rnn_backward", "affine_forward", "affine_backward"],
         "02_vanishing_gradients": ["clip_gradients"], "03_lstm": ["lstm_forward", "lstm_backward"],
         "04_gru": ["gru_forward", "gru_backward"]}


def _message(function):
    with pytest.raises(EarlierWorkError) as raised:
        function()
    return str(raised.value)


def _copy(assignment, tmp_path, change=None):
    """A learner's folder holding ``assignment`` (the reference solution, optionally changed) and its worked examples."""
    folder = tmp_path / assignment
    folder.mkdir(parents=True)
    shutil.copy(SOLUTIONS / assignment / "reference.json", folder)
    nb = read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")
    if change:
        change(nb)
    (folder / f"{assignment}.ipynb").write_text(json.dumps(nb))
    return tmp_path


@pytest.mark.parametrize("assignment", sorted(NAMES))
def test_finished_notebooks_give_their_own_functions(assignment):
    functions = load(assignment, *NAMES[assignment], folder=SOLUTIONS)
    reference = solution_namespace(SOLUTIONS / assignment / f"{assignment}.ipynb")
    rng = np.random.default_rng(0)
    if assignment == "03_lstm":
        x, h0 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5))
        Wx, Wh, b = rng.normal(size=(4, 20)), rng.normal(size=(5, 20)), rng.normal(size=20)
        np.testing.assert_array_equal(functions.lstm_forward(x, h0, Wx, Wh, b)[0],
                                      reference["lstm_forward"](x, h0, Wx, Wh, b)[0])
    for name in NAMES[assignment]:
        function = getattr(functions, name)
        assert function.__name__ == name and function.__code__.co_filename == f"<notebook {assignment}>"


@pytest.mark.parametrize("assignment", sorted(NAMES))
def test_the_release_says_which_function_to_finish(assignment):
    functions = load(assignment, *NAMES[assignment], folder=COURSE)
    number = assignment[:2]
    for name in NAMES[assignment]:
        message = _message(getattr(functions, name))
        assert message == (f"notebook {number}'s {name} is not written and saved yet: finish it in {assignment}.ipynb and "
                           "save that notebook (this one reads the saved file); its tests there show what to fix")


def test_a_missing_notebook_is_named(tmp_path):
    message = _message(load("03_lstm", "lstm_forward", folder=tmp_path).lstm_forward)
    assert message == (f"notebook 03's lstm_forward is in {tmp_path}/03_lstm/03_lstm.ipynb, but that file is not there: "
                       "put notebook 03 back next to this one")


def test_a_corrupt_notebook_is_reported(tmp_path):
    (tmp_path / "03_lstm").mkdir()
    (tmp_path / "03_lstm" / "03_lstm.ipynb").write_text('{"cells": [')
    message = _message(load("03_lstm", "lstm_forward", folder=tmp_path).lstm_forward)
    assert "cannot be read" in message and "JSONDecodeError" in message


def test_a_catalogued_mistake_is_caught_by_the_earlier_worked_example(tmp_path):
    catalogue = next(c for c in catalogues().values() if c.notebook.startswith("03_lstm"))
    mistake = next(m for m in catalogue.mistakes if m.function == "lstm_backward")

    def make(nb):
        for cell in nb["cells"]:
            if nbgrader_meta(cell).get("grade_id") == "lstm_backward":
                cell["source"] = apply_mistake(source(cell), mistake)

    functions = load("03_lstm", "lstm_forward", "lstm_backward", folder=_copy("03_lstm", tmp_path, make))
    assert functions.lstm_forward.__name__ == "lstm_forward"  # the forward pass is fine and is used
    message = _message(functions.lstm_backward)
    assert message.startswith("notebook 03's lstm_backward does not match its worked example yet (d")


def test_a_syntax_error_loses_only_its_own_cell(tmp_path):
    def make(nb):
        for cell in nb["cells"]:
            if nbgrader_meta(cell).get("grade_id") == "lstm_backward":
                cell["source"] = "def lstm_backward(dh, cache):\n    return (\n"

    functions = load("03_lstm", "lstm_forward", "lstm_backward", folder=_copy("03_lstm", tmp_path, make))
    assert functions.lstm_forward.__name__ == "lstm_forward"
    message = _message(functions.lstm_backward)
    assert "lstm_backward is not defined in 03_lstm.ipynb" in message and "has a syntax error" in message


def test_an_error_is_named(tmp_path):
    def make(nb):
        for cell in nb["cells"]:
            if nbgrader_meta(cell).get("grade_id") == "lstm_forward":
                cell["source"] = "def lstm_forward(x, h0, Wx, Wh, b):\n    return undefined_name\n"

    message = _message(load("03_lstm", "lstm_forward", folder=_copy("03_lstm", tmp_path, make)).lstm_forward)
    assert "lstm_forward raised NameError: name 'undefined_name' is not defined" in message


def test_tests_demos_and_other_statements_are_not_run(tmp_path):
    marker = tmp_path / "ran"

    def make(nb):
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and nbgrader_meta(cell).get("grade"):
                cell["source"] = f"open({str(marker)!r}, 'w')\n" + source(cell)  # a test cell
            elif cell["cell_type"] == "code" and not nbgrader_meta(cell):
                cell["source"] = f"open({str(marker)!r}, 'w')\n" + source(cell)  # a demo / picture cell
        nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                            "source": f"def helper():\n    return 1\nopen({str(marker)!r}, 'w')\n"})

    functions = load("01_rnn", "rnn_forward", folder=_copy("01_rnn", tmp_path / "course", make))
    assert functions.rnn_forward.__name__ == "rnn_forward"
    assert not marker.exists()


def test_a_demo_that_needs_an_unfinished_function_prints_one_line(capsys):
    lstm = load("03_lstm", "lstm_forward", folder=COURSE)
    with demo("train"):
        lstm.lstm_forward(np.zeros((1, 2, 3)), np.zeros((1, 4)), np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(16))
    out = capsys.readouterr().out.strip()
    assert out == ("This cell needs notebook 03's lstm_forward, which is not written and saved yet: finish it in "
                   "03_lstm.ipynb and save that notebook (this one reads the saved file); its tests there show what to fix")


def test_a_test_cell_shows_the_message_without_a_traceback():
    error = EarlierWorkError("notebook 03's lstm_forward", "is not written yet", "finish it in 03_lstm.ipynb first")
    assert error._render_traceback_() == ["\x1b[1;31mNot yet:\x1b[0m notebook 03's lstm_forward is not written yet: "
                                          "finish it in 03_lstm.ipynb first"]


def test_magics_in_an_earlier_notebook_are_skipped_not_fatal(tmp_path):
    def make(nb):
        first = next(cell for cell in nb["cells"] if cell["cell_type"] == "code")
        first["source"] = "%matplotlib inline\n!echo hello\n" + source(first)  # the imports cell, with magics

    functions = load("01_rnn", "rnn_forward", folder=_copy("01_rnn", tmp_path, make))
    assert functions.rnn_forward.__name__ == "rnn_forward"


def test_an_earlier_notebook_that_loads_its_own_earlier_functions_works(tmp_path):
    """06 loads 05's train, which clips with 02's clip_gradients: 05's own load(...) lines run too."""
    functions = load("05_training", "train", "mse_loss", folder=SOLUTIONS)
    assert functions.train.__code__.co_filename == "<notebook 05_training>"
    params = {"w": np.array([3.0, -4.0])}
    losses = functions.train(params, lambda p, batch: (0.5 * np.sum(p["w"] ** 2), {"w": p["w"]}), range(5),
                             lr=0.1, max_norm=1.0)
    assert losses.shape == (5,) and np.all(np.abs(params["w"]) < [3.0, 4.0])


def test_a_missing_notebook_two_steps_back_is_named(tmp_path):
    """Without 02, 05's train cannot clip: 06 is told so, in one line."""
    for assignment in ("01_rnn", "03_lstm", "04_gru", "05_training"):
        _copy(assignment, tmp_path)
    message = _message(load("05_training", "train", folder=tmp_path).train)
    assert message.startswith("notebook 05's train cannot run yet (notebook 02's clip_gradients is in ")
    assert "finish it in 05_training.ipynb and save that notebook" in message


def _exercise_names():
    return {example.function for catalogue in catalogues().values() for example in catalogue.examples}


def test_loading_an_earlier_function_needs_no_code_of_its_own():
    """rnnlab.earlier calls every function as reference.json says its test cell did: no name of an exercise, nor
    the _forward / _backward convention, appears in its code (docstrings aside)."""
    import ast
    import inspect

    import rnnlab.earlier

    tree = ast.parse(inspect.getsource(rnnlab.earlier))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef)) and ast.get_docstring(node) is not None}
    words = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]
    words += [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]
    words += [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)]
    words += [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    names = _exercise_names() | {"_forward", "_backward"}
    assert not [(word, name) for word in words for name in names if name in word]


def test_every_function_a_notebook_loads_says_how_its_test_cell_called_it():
    """A later notebook checks each earlier function on its worked example, called as reference.json says."""
    import re

    loaded = set()
    for path in SOLUTIONS.glob("*/*.ipynb"):
        for cell in read_notebook(path)["cells"]:
            for assignment, names in re.findall(r'load\("(\d\d_\w+)", ((?:"\w+"(?:, )?)+)\)', source(cell)):
                loaded |= {(assignment, name) for name in re.findall(r'"(\w+)"', names)}
    assert ("02_vanishing_gradients", "clip_gradients") in loaded and ("05_training", "train") in loaded
    for assignment, name in sorted(loaded):
        stored = json.loads((SOLUTIONS / assignment / "reference.json").read_text())
        assert "call" in stored.get(name, {}), f"{assignment}'s reference.json: {name} has no call"
