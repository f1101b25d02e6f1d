"""Tests for rnnlab.testing: checks that pass on right answers and fail with useful messages."""

import numpy as np
import pytest

from rnnlab.testing import CheckFailed, Mistake, check_close, check_shape, match_mistake


@pytest.fixture
def expected():
    return np.random.default_rng(0).standard_normal((2, 3))


def failure_message(*args, **kwargs):
    """Run check_close and return the message it fails with."""
    with pytest.raises(CheckFailed) as info:
        check_close(*args, **kwargs)
    return str(info.value)


# Passing ---------------------------------------------------------------------


def test_check_close_passes_on_equal_arrays(expected):
    assert check_close("next_h", expected.copy(), expected) is None


def test_check_close_passes_within_tolerance(expected):
    check_close("next_h", expected * (1 + 1e-9), expected)
    check_close("next_h", expected + 0.05, expected, rtol=0, atol=0.06)


def test_check_close_tolerance_is_relative_to_expected():
    check_close("loss", 10.9, 10.0, rtol=0.1, atol=0)
    with pytest.raises(CheckFailed):
        check_close("loss", 11.1, 10.0, rtol=0.1, atol=0)


def test_check_close_accepts_lists_and_integer_arrays():
    check_close("counts", [1, 2, 3], np.array([1.0, 2.0, 3.0]))
    check_close("counts", np.array([1, 2, 3]), [1.0, 2.0, 3.0])


def test_check_close_float32_within_tolerance_passes(expected):
    check_close("next_h", expected.astype(np.float32), expected, rtol=1e-6, atol=1e-7)


def test_check_close_float32_still_catches_real_errors(expected):
    actual = expected.astype(np.float32)
    actual[0, 0] += 1e-3
    with pytest.raises(CheckFailed):
        check_close("next_h", actual, expected, rtol=1e-6, atol=1e-7)


def test_check_close_scalars():
    check_close("loss", 1.25, 1.25)
    check_close("loss", np.float32(0.5), 0.5)
    check_close("loss", np.float64(2.0), np.array(2.0))


# Failing with a good message ---------------------------------------------------


def test_check_failed_is_an_assertion_error(expected):
    assert issubclass(CheckFailed, AssertionError)
    with pytest.raises(AssertionError):
        check_close("next_h", expected + 1, expected)


def test_failure_message_names_value_difference_and_index():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[0, 0] = 0.1
    actual[1, 2] = 0.5
    message = failure_message("next_h", actual, expected)
    assert "next_h" in message
    assert "2 of 6 value(s)" in message
    assert "Largest difference 0.5 at index (1, 2)" in message
    assert "expected 0, got 0.5" in message


def test_failure_message_for_scalar_has_no_index():
    message = failure_message("loss", 1.5, 1.0)
    assert "loss" in message
    assert "expected 1, got 1.5" in message
    assert "Largest difference 0.5" in message
    assert "index" not in message


def test_wrong_shape_message(expected):
    message = failure_message("next_h", np.zeros((2, 4)), expected)
    assert "next_h has the wrong shape: expected (2, 3), got (2, 4)" in message
    assert "transposed" not in message


def test_transposed_shape_message_mentions_transposed(expected):
    message = failure_message("next_h", expected.T, expected)
    assert "wrong shape" in message
    assert "transposed" in message


def test_nan_message_gives_first_index(expected):
    actual = expected.copy()
    actual[1, 1] = np.nan
    actual[1, 2] = np.inf
    message = failure_message("next_h", actual, expected)
    assert "next_h contains 2 NaN or infinite value(s), first at index (1, 1)" in message
    assert "overflow" in message


def test_none_message_asks_about_return(expected):
    message = failure_message("next_h", None, expected)
    assert "next_h" in message
    assert "None" in message and "return" in message


def test_non_numeric_value_is_described():
    message = failure_message("next_h", "tanh", [1.0])
    assert "should be a NumPy array of numbers" in message and "'tanh'" in message
    message = failure_message("pair", (np.zeros(2), np.zeros(3)), np.zeros(2))
    assert "tuple of 2 items" in message


def test_bool_is_not_accepted_as_a_number():
    message = failure_message("flag", True, 1.0)
    assert "should be a NumPy array of numbers" in message


# Known mistakes and hints ------------------------------------------------------


def test_matching_mistake_name_and_hint_are_shown(expected):
    without_bias = expected - 0.3
    mistakes = [
        Mistake("used sigmoid", "the hidden state uses tanh", output=1 / (1 + np.exp(-expected))),
        Mistake("forgot the bias", "add b inside the tanh", output=without_bias),
    ]
    message = failure_message("next_h", without_bias.copy(), expected, hint="look at the formula", mistakes=mistakes)
    assert "known mistake gives: forgot the bias" in message
    assert "add b inside the tanh" in message
    assert "used sigmoid" not in message and "the hidden state uses tanh" not in message
    assert "look at the formula" not in message


def test_non_matching_mistake_is_not_shown(expected):
    mistakes = [Mistake("forgot the bias", "add b inside the tanh", output=expected - 0.3)]
    message = failure_message("next_h", expected + 1.0, expected, mistakes=mistakes)
    assert "forgot the bias" not in message
    assert "add b inside the tanh" not in message
    assert "known mistake" not in message


def test_hint_shown_when_no_mistake_matches(expected):
    mistakes = [Mistake("forgot the bias", "add b inside the tanh", output=expected - 0.3)]
    message = failure_message("next_h", expected + 1.0, expected, hint="look at the formula", mistakes=mistakes)
    assert "Hint: look at the formula" in message


def test_mistake_with_wrong_shape_is_recognised(expected):
    mistakes = [Mistake("transposed Wx", "x has shape (N, D): use x @ Wx", output=expected.T.copy())]
    message = failure_message("next_h", expected.T.copy(), expected, mistakes=mistakes)
    assert "transposed" in message
    assert "transposed Wx" in message and "use x @ Wx" in message


def test_match_mistake_returns_first_match_or_none(expected):
    first = Mistake("first", "hint 1", output=expected + 1)
    second = Mistake("second", "hint 2", output=expected + 1)
    other = Mistake("other", "hint 3", output=expected + 2)
    assert match_mistake(expected + 1, [other, first, second]) is first
    assert match_mistake(expected, [other, first]) is None
    assert match_mistake("not a number", [first]) is None


# check_shape -----------------------------------------------------------------


def test_check_shape_passes_on_right_shape():
    assert check_shape("next_h", np.zeros((4, 5)), (4, 5)) is None
    check_shape("loss", 1.0, ())
    check_shape("h", [[1.0, 2.0]], [1, 2])


def test_check_shape_fails_on_wrong_shape():
    with pytest.raises(CheckFailed, match=r"next_h has the wrong shape: expected \(4, 5\), got \(4, 6\)\.$"):
        check_shape("next_h", np.zeros((4, 6)), (4, 5))


def test_check_shape_mentions_transposed_and_hint():
    with pytest.raises(CheckFailed) as info:
        check_shape("next_h", np.zeros((5, 4)), (4, 5), hint="batch comes first")
    message = str(info.value)
    assert "transposed" in message
    assert "Hint: batch comes first" in message


def test_check_shape_none_asks_about_return():
    with pytest.raises(CheckFailed, match="return"):
        check_shape("next_h", None, (4, 5))


# Worked examples and gradient checks -------------------------------------------

import json  # noqa: E402

from rnnlab.testing import check_gradients_match, check_outputs, forget_results, load_examples  # noqa: E402


def _affine(x, w, b):
    return x @ w + b, (x, w)


def _affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


@pytest.fixture
def stored_examples(tmp_path):
    path = tmp_path / "reference.json"
    path.write_text(json.dumps({"step": {
        "inputs": {"x": [[1.0, 2.0]]},
        "expected": {"out": [[3.0, 4.0]], "grad": [1.0]},
        "mistakes": {"out": [{"name": "forgot the bias", "hint": "Add b.", "output": [[2.0, 3.0]]}], "grad": []},
        "revisit": "Revisit section 2.",
    }}))
    return load_examples(path)


def test_load_examples_gives_float_arrays(stored_examples):
    example = stored_examples["step"]
    assert example.inputs["x"].dtype == np.float64 and example.inputs["x"].shape == (1, 2)
    assert example.mistakes["out"][0].name == "forgot the bias"
    assert example.revisit == "Revisit section 2."


def test_check_outputs_names_a_known_mistake(stored_examples):
    with pytest.raises(CheckFailed, match="forgot the bias") as info:
        check_outputs(stored_examples["step"], out=np.array([[2.0, 3.0]]), grad=np.array([1.0]))
    assert "Revisit" not in str(info.value)


def test_check_outputs_points_to_the_idea_to_revisit_for_an_unknown_mistake(stored_examples):
    with pytest.raises(CheckFailed, match="Revisit section 2") as info:
        check_outputs(stored_examples["step"], out=np.array([[3.0, 4.0]]), grad=np.array([7.0]))
    assert str(info.value).startswith("grad")


def test_check_outputs_passes_on_the_expected_values(stored_examples):
    check_outputs(stored_examples["step"], out=np.array([[3.0, 4.0]]), grad=np.array([1.0]))


def test_check_gradients_match_accepts_a_right_backward_pass(capsys):
    rng = np.random.default_rng(4)
    check_gradients_match(_affine, _affine_backward, dict(x=rng.normal(size=(3, 4)), w=rng.normal(size=(4, 2)),
                                                          b=rng.normal(size=2)))
    assert "dw" in capsys.readouterr().out


def test_check_gradients_match_names_the_wrong_gradient():
    def backward(dout, cache):
        dx, dw, db = _affine_backward(dout, cache)
        return dx, 2 * dw, db

    rng = np.random.default_rng(4)
    with pytest.raises(CheckFailed, match=r"dw \(") as info:
        check_gradients_match(_affine, backward, dict(x=rng.normal(size=(3, 4)), w=rng.normal(size=(4, 2)),
                                                      b=rng.normal(size=2)))
    assert "dx (" not in str(info.value) and "db (" not in str(info.value)


# What a learner sees: the message alone, gradient checks that reason, demos that say what to finish ---------

from rnnlab.testing import WorkedExample, demo, failing  # noqa: E402


def test_a_failed_check_renders_as_its_message_alone():
    """IPython (and so nbgrader's feedback) shows _render_traceback_'s lines instead of a traceback."""
    with pytest.raises(CheckFailed) as info:
        check_close("next_h", np.array([1.0, 2.0]), np.array([1.0, 3.0]), hint="Add b.")
    lines = info.value._render_traceback_()
    assert lines[0].endswith("next_h is not right yet: 1 of 2 value(s) differ from the expected ones.")
    assert "Test failed:" in lines[0] and lines[-1] == "Hint: Add b."
    assert "\n".join(lines).count("\n") == str(info.value).count("\n")


def _notebook(code):
    """Run code as a notebook cell runs it (module __main__); return its namespace."""
    namespace = {"__name__": "__main__"}
    exec(compile(code, "<cell>", "exec"), namespace)
    return namespace


LEARNER = '''
import numpy as np

def scale(x, w):
    return x * w

def layer_forward(x, w):
    return scale(x, w).sum(axis=1), (x, w)

def layer_backward(dout, cache):
    x, w = cache
    return dout[:, None] * w, (dout[:, None] * x).sum(axis=0)
'''


def test_gradient_check_blames_a_forward_pass_that_fails_its_example(stored_examples):
    ns = _notebook(LEARNER + "\ndef scale(x, w):\n    return x * w ** 2\n")  # wrong forward, unchanged backward
    with pytest.raises(CheckFailed):  # the worked example of scale fails first, as in the notebook
        check_outputs(WorkedExample("scale", inputs={}, expected={"out": np.ones(2)}, mistakes={}), out=np.zeros(2))
    assert failing("scale", "layer_forward") == ["scale"]
    rng = np.random.default_rng(0)
    with pytest.raises(CheckFailed) as info:
        check_gradients_match(ns["layer_forward"], ns["layer_backward"], dict(x=rng.normal(size=(3, 2)), w=rng.normal(size=2)))
    message = str(info.value)
    assert "Fix scale first: its worked example fails above" in message and "layer_forward" in message
    assert "chain rule" not in message


def test_gradient_check_without_a_failing_forward_blames_the_backward(stored_examples):
    ns = _notebook(LEARNER + "\ndef layer_backward(dout, cache):\n    x, w = cache\n    return dout[:, None] * w, 2 * (dout[:, None] * x).sum(axis=0)\n")
    rng = np.random.default_rng(0)
    with pytest.raises(CheckFailed) as info:
        check_gradients_match(ns["layer_forward"], ns["layer_backward"], dict(x=rng.normal(size=(3, 2)), w=rng.normal(size=2)))
    assert "Fix" not in str(info.value) and "chain rule" in str(info.value) and "dw (" in str(info.value)
    assert failing("layer_backward") == ["layer_backward"]


def test_gradient_check_says_when_a_gradient_is_all_zeros_or_misshapen(stored_examples):
    ns = _notebook(LEARNER + "\ndef layer_backward(dout, cache):\n    x, w = cache\n    return np.zeros_like(x), np.zeros((2, 1))\n")
    rng = np.random.default_rng(0)
    with pytest.raises(CheckFailed) as info:
        check_gradients_match(ns["layer_forward"], ns["layer_backward"], dict(x=rng.normal(size=(3, 2)), w=rng.normal(size=2)))
    message = str(info.value)
    assert "dx is all zeros, but the loss does change with x" in message
    assert "dw has shape (2, 1), but w has shape (2,)" in message and "chain rule" not in message


def test_load_examples_forgets_earlier_failures(tmp_path, stored_examples):
    with pytest.raises(CheckFailed):
        check_outputs(stored_examples["step"], out=np.zeros((1, 2)), grad=np.array([1.0]))
    assert failing("step") == ["step"]
    check_outputs(stored_examples["step"], out=np.array([[3.0, 4.0]]), grad=np.array([1.0]))
    assert failing("step") == []
    with pytest.raises(CheckFailed):
        check_outputs(stored_examples["step"], out=np.zeros((1, 2)), grad=np.array([1.0]))
    (tmp_path / "again.json").write_text("{}")
    load_examples(tmp_path / "again.json")
    assert failing("step") == []


def test_load_examples_can_keep_earlier_failures_and_forget_results_forgets_them(tmp_path, stored_examples):
    with pytest.raises(CheckFailed):
        check_outputs(stored_examples["step"], out=np.zeros((1, 2)), grad=np.array([1.0]))
    (tmp_path / "again.json").write_text("{}")
    load_examples(tmp_path / "again.json", forget=False)
    assert failing("step") == ["step"]
    forget_results()
    assert failing("step") == []


def test_check_shape_and_check_close_say_a_wrong_shape_in_the_same_words():
    expected = np.zeros((3, 2))
    messages = []
    for check in (lambda: check_shape("h", np.zeros((2, 3)), (3, 2)), lambda: check_close("h", np.zeros((2, 3)), expected)):
        with pytest.raises(CheckFailed) as info:
            check()
        messages.append(str(info.value))
    assert messages[0] == messages[1] == ("h has the wrong shape: expected (3, 2), got (2, 3). The sizes are right but "
                                          "in another order: is an array transposed?")


def test_an_unwritten_function_is_not_a_failing_one():
    ns = _notebook(LEARNER + "\ndef layer_backward(dout, cache):\n    raise NotImplementedError()\n")
    with pytest.raises(NotImplementedError):
        check_gradients_match(ns["layer_forward"], ns["layer_backward"], dict(x=np.ones((2, 2)), w=np.ones(2)))
    assert failing("layer_backward") == []


DEMO = '''
from rnnlab.testing import demo

def unfinished(x):
    raise NotImplementedError()

def uses_unfinished(x):
    return unfinished(x) + 1

def broken(x):
    return np.ones(3) @ np.ones(2)

with demo("uses_unfinished"):
    print(uses_unfinished(1))
with demo("broken"):
    broken(1)
with demo("scale"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.semilogy([0.0, 0.0], [0.0, 0.0])
    fig.canvas.draw()
with demo("scale"):
    print("picture of", scale(np.ones(2), 2.0))
'''


def test_demo_says_in_one_line_which_function_to_finish(capsys):
    import matplotlib

    matplotlib.use("Agg")
    _notebook(LEARNER + DEMO)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "This cell needs unfinished, which is not written yet: finish it above, then run this cell again."
    assert lines[1].startswith("This cell stopped because your broken raised ValueError: matmul")
    assert lines[2].startswith("This cell could not use what scale gave (UserWarning: Data has no positive values")
    assert lines[3:] == ["picture of [2. 2.]"]  # a demo whose functions work prints only its own output


def test_demo_warns_before_using_a_function_that_failed_its_test(capsys, stored_examples):
    with pytest.raises(CheckFailed):
        check_outputs(stored_examples["step"], out=np.zeros((1, 2)), grad=np.array([1.0]))
    with demo("step", "other"):
        print("drawn anyway")
    assert capsys.readouterr().out.splitlines() == [
        "Note: step failed its test above, so what follows shows what your code does now, not what the text describes.",
        "drawn anyway"]


# What came back, where in time, NaNs, unwritten functions ----------------------------------------------

from rnnlab.testing import check_returns, not_written_message  # noqa: E402


def _step(x):
    return np.tanh(x), (x,)


def test_check_returns_gives_back_the_tuple():
    out, cache = check_returns(_step, "next_h, cache", np.zeros((2, 3)))
    assert out.shape == (2, 3) and len(cache) == 1


@pytest.mark.parametrize(("returned", "said"), [
    (lambda x: np.tanh(x), "only one value, array of shape (2, 4)"),
    (lambda x: None, "None: is there a return statement"),
    (lambda x: (x, x, x), "3 values"),
])
def test_check_returns_says_what_came_instead_of_the_pair(returned, said):
    def rnn_step_forward(x):
        return returned(x)

    with pytest.raises(CheckFailed) as info:
        check_returns(rnn_step_forward, "next_h, cache", np.zeros((2, 4)))
    message = str(info.value)
    assert message.startswith("rnn_step_forward should return 2 values, (next_h, cache), but it returned")
    assert said in message and "return next_h, cache" in message
    assert "wrong shape" not in message  # the row of an array is never taken for next_h


def _sequence(T=5):
    return np.random.default_rng(0).normal(size=(2, T, 3))


@pytest.mark.parametrize(("steps", "said"), [
    ([0], "Only the first time step, t = 0, differs (t = 1 to 4 are right)"),
    ([4], "Only the last time step, t = 4, differs (t = 0 to 3 are right)"),
    ([0, 1, 2, 3, 4], "Every time step differs (t = 0 to 4)"),
    ([2, 3], "2 of 5 time steps differ (t = 2, 3); t = 0, 1, 4 are right"),
])
def test_a_sequence_output_says_which_time_steps_differ(steps, said):
    expected = _sequence()
    actual = expected.copy()
    actual[1, steps, 2] += 0.5
    message = failure_message("h", actual, expected, time_axis=1)
    assert said in message
    assert "time step" not in failure_message("h", actual, expected)  # only for outputs known to be sequences


def test_check_outputs_places_differences_in_time_for_the_sequences_it_stores(tmp_path):
    expected = _sequence()
    stored = {"f": {"inputs": {"x": expected.tolist()}, "expected": {"h": expected.tolist()}, "mistakes": {"h": []},
                    "sequences": ["h"]}}
    (tmp_path / "reference.json").write_text(json.dumps(stored))
    example = load_examples(tmp_path / "reference.json")["f"]
    wrong = expected.copy()
    wrong[:, 0] = 0.0
    with pytest.raises(CheckFailed, match="Only the first time step, t = 0, differs"):
        check_outputs(example, h=wrong)


def test_nans_in_the_same_places_do_not_name_a_mistake(expected):
    """Two different mistakes that both overflow at step 2 give NaN there: the NaNs alone identify neither."""
    losses = np.array([1.0, 0.5, np.nan, np.nan])
    swapped = Mistake("m and v swapped", "swap them back", output=losses.copy())
    right = np.array([1.0, 0.5, 0.3, 0.2])
    assert match_mistake(losses, [swapped], expected=right) is None
    message = failure_message("losses", losses, right, mistakes=[swapped])
    assert "m and v swapped" not in message and "NaN" in message
    # finite values that differ from the right answer do identify it, NaNs or not
    overflow = Mistake("no max-shift", "subtract the max", output=np.array([1.0, 0.7, np.nan, np.nan]))
    assert match_mistake(np.array([1.0, 0.7, np.nan, np.nan]), [overflow], expected=right) is overflow


def test_an_unwritten_function_is_named_in_one_line():
    namespace = {"__name__": "__main__"}
    exec("def lstm_gates():\n    raise NotImplementedError()\n"
         "def lstm_step_forward():\n    return lstm_gates()\n", namespace)
    with pytest.raises(NotImplementedError) as info:
        namespace["lstm_step_forward"]()
    assert not_written_message(info.value).startswith("lstm_gates is not written yet: replace the two lines")


def test_a_gradient_check_says_in_one_line_which_function_returned_what():
    def rnn_step_forward(x):
        return np.tanh(x)  # forgot the cache

    def rnn_step_backward(dnext_h, cache):
        return dnext_h

    with pytest.raises(CheckFailed, match=r"^rnn_step_forward should return its output\(s\) and a cache, "
                                          r"\(out, ..., cache\), but it returned one value"):
        check_gradients_match(rnn_step_forward, rnn_step_backward, {"x": np.zeros((2, 3))})

    def affine_forward(x, W):
        return x @ W, (x, W)

    def affine_backward(dout, cache):
        return dout @ cache[1].T  # forgot dW

    with pytest.raises(CheckFailed, match=r"affine_backward should return 2 gradients, \(dx, dW\), but it returned 1"):
        check_gradients_match(affine_forward, affine_backward, {"x": np.ones((2, 3)), "W": np.ones((3, 2))})
