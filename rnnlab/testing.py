"""Checks that test cells call, written to fail well.

A failing check raises :class:`CheckFailed` (an ``AssertionError``) whose message
says which value is wrong, what was expected, what came, where the largest
difference is, and -- when the wrong value matches the output of a known mistake --
the name of that mistake and a hint for fixing it::

    check_close("next_h", next_h, expected_next_h, mistakes=[
        Mistake("forgot the bias", "add b inside the tanh", output=next_h_without_bias),
    ])

A failed check shows only its message, not a traceback (see
:meth:`CheckFailed._render_traceback_`), and the test cells of a notebook carry the
``raises-exception`` tag, so *Run All* goes on past a failing test and shows every failure.

The checks remember which worked examples and gradient checks failed in this kernel, so that
a gradient check can say "fix lstm_gates first" when the forward pass is what is wrong, and a
picture that uses an unfinished or broken function says so in one line (:func:`demo`).

Test cells store the numbers they compare against (the expected output and the
outputs of the known mistakes); nothing here knows how to compute an answer.
"""

import inspect
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from rnnlab.gradcheck import DEFAULT_THRESHOLD, WrongReturn, compare_gradients, gradient_errors, gradient_table

# The course's tolerances, each named once (COURSE_SPEC; gradients: rnnlab.gradcheck's DEFAULT_THRESHOLD, DEFAULT_H).
# A test cell against the outputs stored next to its notebook, computed by the same code path: float64 rounding only.
RTOL, ATOL = 1e-7, 1e-10
# Against outputs computed in another run (another machine or BLAS, another summation order, fresh inputs): an earlier
# notebook's function on its stored worked example (rnnlab.earlier), the grader's re-checks (autograder.verify).
RECOMPUTED_RTOL, RECOMPUTED_ATOL = 1e-6, 1e-9
# Two outputs of the same computation, the reference's and a mutant's, count as the same: rounding only, far tighter
# than a test cell, so that a mistake that changes an output at all is recorded (autograder.examples).
SAME_RTOL, SAME_ATOL = 1e-9, 1e-12


def _label(word):
    """How a message of the course's checks starts in a notebook: a bold red word (the feedback pages keep such
    messages whole, autograder.feedback.HideHiddenTests)."""
    return f"\x1b[1;31m{word}:\x1b[0m"


FAILED, NOT_YET, TO_DO = _label("Test failed"), _label("Not yet"), _label("To do")
LABELS = (FAILED, NOT_YET, TO_DO)


class CheckFailed(AssertionError):
    """A test check failed; the message is written for the learner."""

    def _render_traceback_(self):
        # IPython shows these lines instead of a traceback (and nbgrader's feedback shows what IPython
        # showed): the learner needs what was expected and what came, not the frames of rnnlab.
        first, *rest = str(self).split("\n")
        return [f"{FAILED} {first}", *rest]


class EarlierWorkError(CheckFailed):
    """
    A function from an earlier notebook (rnnlab.earlier) that cannot be used yet: ``label`` names it
    ("notebook 03's lstm_forward"), ``reason`` says why ("is not written yet"), ``advice`` what to do.
    """

    def __init__(self, label, reason, advice):
        super().__init__(f"{label} {reason}: {advice}")
        self.label, self.reason, self.advice = label, reason, advice

    def __reduce__(self):
        return type(self), (self.label, self.reason, self.advice)

    def _render_traceback_(self):
        return [f"{NOT_YET} {self}"]


# Function name -> did its latest worked example / gradient check pass, in this kernel (since forget_results).
_passed = {}


def forget_results():
    """Forget which worked examples and gradient checks passed or failed in this kernel: a notebook run starts
    afresh. :func:`load_examples`, in each notebook's first cells, calls it unless told not to."""
    _passed.clear()


def _record(function, passed):
    _passed[function] = passed


def failing(*functions):
    """The names among ``functions`` whose latest worked example or gradient check failed in this kernel."""
    return [name for name in functions if _passed.get(name) is False]


@dataclass(frozen=True)
class Mistake:
    """
    A known wrong answer: its name, a hint for fixing it, and the output that the
    mistaken code gives on the test's inputs.
    """

    name: str
    hint: str
    output: object


def _fail(message):
    __tracebackhide__ = True
    raise CheckFailed(message)


def _describe(value):
    if value is None:
        return "None (did the function return its result?)"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"{type(value).__name__} {value!r}"


def _as_array(name, value):
    """Return value as a float64 array, or fail with a message saying what came instead."""
    __tracebackhide__ = True
    if isinstance(value, (np.ndarray, np.number, int, float)) and not isinstance(value, bool):
        array = np.asarray(value)
        if array.dtype.kind in "iuf":
            return array.astype(np.float64)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            return array
    _fail(f"{name} should be a NumPy array of numbers, but it is {_describe(value)}.")


def check_returns(function, names, *args, **kwargs):
    """
    Call ``function(*args, **kwargs)`` and fail unless it returns a tuple of ``len(names)`` values, so that a test
    never unpacks the rows of an array as if they were the outputs. Introduced in 01, used in every notebook::

        next_h, cache = check_returns(rnn_step_forward, "next_h, cache", x, prev_h, Wx, Wh, b)

    Inputs:
    - function: The learner's function
    - names: The names of what it returns, in order, as one string ("next_h, cache") or a sequence
    - args, kwargs: What to call it with

    Returns the tuple the function returned.
    """
    __tracebackhide__ = True
    names = [name.strip() for name in names.split(",")] if isinstance(names, str) else list(names)
    result = function(*args, **kwargs)
    if isinstance(result, tuple) and len(result) == len(names):
        return result
    listed = f"({', '.join(names)})"
    if isinstance(result, tuple):
        got = f"{len(result)} values"
    elif result is None:
        got = "None: is there a return statement at the end?"
    else:
        got = f"only one value, {_describe(result)}"
    _fail(f"{function.__name__} should return {len(names)} values, {listed}, but it returned {got}. "
          f"End it with: return {', '.join(names)}")


def _wrong_shape(name, shape, expected_shape):
    """The message for a value of the wrong shape, saying so when only the order of the sizes is wrong."""
    message = f"{name} has the wrong shape: expected {tuple(expected_shape)}, got {tuple(shape)}."
    if sorted(shape) == sorted(expected_shape):
        message += " The sizes are right but in another order: is an array transposed?"
    return message


def check_shape(name, actual, expected_shape, hint=None):
    """
    Fail unless ``actual`` is an array of shape ``expected_shape``.

    Inputs:
    - name: What the value is called in the exercise, e.g. "next_h"
    - actual: The learner's value
    - expected_shape: Tuple of ints
    - hint: Optional sentence on what to check
    """
    __tracebackhide__ = True
    array = _as_array(name, actual)
    expected_shape = tuple(expected_shape)
    if array.shape != expected_shape:
        message = _wrong_shape(name, array.shape, expected_shape)
        if hint:
            message += f"\nHint: {hint}"
        _fail(message)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    """
    True when ``actual`` has the shape of ``expected`` and ``|actual - expected| <= atol + rtol * |expected|``
    everywhere (equal infinities count as close, NaN never does): the one closeness rule of the course's checks.
    """
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all((actual == expected) | (np.abs(actual - expected) <= atol + rtol * np.abs(expected))))


def match_mistake(actual, mistakes, rtol=RTOL, atol=ATOL, expected=None):
    """
    Return the first :class:`Mistake` whose output equals ``actual``, or None.

    A mistake can give NaN or inf (an overflow): it matches when the same values are non-finite in the same
    places and the finite ones agree. Given the right answer ``expected``, a mistake is named only when its
    *finite* values already tell it apart from the right answer: many different mistakes give NaN at the
    same steps, so NaNs in the same places identify none of them.
    """
    try:
        array = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    for mistake in mistakes:
        wrong = np.asarray(mistake.output, dtype=np.float64)
        finite = np.isfinite(wrong)
        if not (array.shape == wrong.shape and np.array_equal(np.isfinite(array), finite)
                and np.array_equal(array[~finite], wrong[~finite], equal_nan=True)
                and close(array[finite], wrong[finite], rtol, atol)):
            continue
        if expected is not None and not finite.all():
            right = np.asarray(expected, dtype=np.float64)
            if right.shape != wrong.shape or close(wrong[finite], right[finite], rtol, atol):
                continue  # only the NaNs differ from the right answer: they do not say which mistake this is
        return mistake
    return None


KNOWN_MISTAKE = "This is what a known mistake gives: "  # the instructor's report counts mistakes by it


def _mistake_message(mistake):
    return f"\n{KNOWN_MISTAKE}{mistake.name}.\nHint: {mistake.hint}"


def _where_in_time(excess, time_axis):
    """A sentence on which time steps hold the differences, for an output with time along ``time_axis``."""
    other = tuple(axis for axis in range(excess.ndim) if axis != time_axis)
    wrong = np.flatnonzero(np.any(excess > 0, axis=other))
    T = excess.shape[time_axis]
    if T < 2 or len(wrong) == 0:
        return ""
    if len(wrong) == T:
        return f"\nEvery time step differs (t = 0 to {T - 1})."
    if list(wrong) == [0]:
        return (f"\nOnly the first time step, t = 0, differs (t = 1 to {T - 1} are right): look at what step 0 starts "
                "from (h0, and c0 = 0 for an LSTM) or what it gets instead, e.g. index t - 1 at t = 0 is the last step.")
    if list(wrong) == [T - 1]:
        return (f"\nOnly the last time step, t = {T - 1}, differs (t = 0 to {T - 2} are right): look at the end of "
                "your loop over time (where it stops, or what the backward pass starts from).")
    steps = ", ".join(str(int(t)) for t in wrong[:6]) + (", ..." if len(wrong) > 6 else "")
    right = sorted(set(range(T)) - set(int(t) for t in wrong))
    return (f"\n{len(wrong)} of {T} time steps differ (t = {steps}); t = "
            f"{', '.join(str(t) for t in right[:6])}{', ...' if len(right) > 6 else ''} "
            f"{'is' if len(right) == 1 else 'are'} right.")


def check_close(name, actual, expected, rtol=RTOL, atol=ATOL, hint=None, mistakes=(), time_axis=None):
    """
    Fail unless ``actual`` equals ``expected`` within ``|actual - expected| <= atol + rtol * |expected|``
    everywhere, with a message naming the largest difference and any known mistake it matches.

    Inputs:
    - name: What the value is called in the exercise, e.g. "next_h"
    - actual: The learner's value (array or number)
    - expected: The stored reference value
    - rtol, atol: Tolerances, the course's forward-pass defaults
    - hint: Optional sentence shown when no known mistake matches
    - mistakes: Sequence of :class:`Mistake` to recognise
    - time_axis: For a sequence output, e.g. h of shape (N, T, H), the axis of time (1): the message then says
      which time steps differ
    """
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    array = _as_array(name, actual)
    if close(array, expected, rtol, atol):
        return
    known = match_mistake(array, mistakes, rtol, atol, expected=expected)
    if array.shape != expected.shape:
        message = _wrong_shape(name, array.shape, expected.shape)
    elif not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        message = (
            f"{name} contains {len(bad)} NaN or infinite value(s), first at index {tuple(int(i) for i in bad[0])}. "
            "Look for an overflow (np.exp of a large number) or a division by zero."
        )
    else:
        difference = np.abs(array - expected)
        excess = difference - (atol + rtol * np.abs(expected))
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        where = f" at index {tuple(int(i) for i in worst)}" if array.ndim else ""
        wrong = int(np.count_nonzero(excess > 0))
        message = (
            f"{name} is not right yet: {wrong} of {array.size} value(s) differ from the expected ones.\n"
            f"Largest difference {difference[worst]:.3g}{where}: expected {expected[worst]:.8g}, got {array[worst]:.8g}."
        )
        if time_axis is not None and array.ndim > time_axis:
            message += _where_in_time(excess, time_axis)
    if known is not None:
        message += _mistake_message(known)
    elif hint:
        message += f"\nHint: {hint}"
    _fail(message)


def check_outputs(example, **outputs):
    """
    Check several named outputs against a worked example, in the order given, each
    with the known mistakes stored for it.

    Inputs:
    - example: A :class:`WorkedExample`
    - outputs: name=value for each output to check, e.g. next_h=next_h
    """
    __tracebackhide__ = True
    _record(example.name, False)
    for name, value in outputs.items():
        check_close(name, value, example.expected[name], mistakes=example.mistakes.get(name, ()),
                    hint=example.revisit or None, time_axis=1 if name in example.sequences else None)
    _record(example.name, True)


def _functions_called_by(function):
    """The functions of ``function``'s own module (the notebook) that it calls, directly or through each other."""
    found, todo = [], [function]
    while todo:
        current = todo.pop()
        codes, names = [getattr(current, "__code__", None)], set()
        while codes:
            code = codes.pop()
            if code is not None:
                names.update(code.co_names)
                codes += [const for const in code.co_consts if inspect.iscode(const)]  # lambdas, comprehensions
        for name in sorted(names):
            called = current.__globals__.get(name)
            if inspect.isfunction(called) and called.__module__ == function.__module__ and called not in found:
                found.append(called)
                todo.append(called)
    return [called.__name__ for called in found if called is not function]


def _and(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def check_gradients_match(forward, backward, inputs, threshold=DEFAULT_THRESHOLD, seed=1):
    """
    Fail unless every gradient of ``backward`` agrees with centred finite differences
    of ``forward`` (relative error below ``threshold``), naming the ones that do not.

    When it fails, the message says why as far as it can tell: the forward pass (or a function
    it calls) already fails its worked example, a gradient is all zeros, or has the wrong shape.

    Inputs are as for :func:`rnnlab.gradcheck.compare_gradients`; the table of relative
    errors is printed either way.
    """
    __tracebackhide__ = True
    _record(backward.__name__, False)
    try:
        pairs = compare_gradients(forward, backward, inputs, seed=seed)
    except NotImplementedError:
        del _passed[backward.__name__]  # not written yet is not wrong: a picture that uses it says so itself
        raise
    except WrongReturn as error:
        _fail(f"{error} (the gradient check calls {forward.__name__} and {backward.__name__}).")
    print(gradient_table(pairs, threshold))
    errors = gradient_errors(pairs)
    wrong = {name: error for name, error in errors.items() if not error < threshold}
    if not wrong:
        _record(backward.__name__, True)
        return
    listed = ", ".join(f"d{name} ({error:.1e})" for name, error in wrong.items())
    message = f"The gradient check fails for {listed}: relative errors should be below {threshold:.0e}."
    broken_forward = failing(*_functions_called_by(forward), forward.__name__)
    shapes = [name for name in wrong if pairs[name].numeric is None]
    zeros = [name for name in wrong if name not in shapes and not np.any(pairs[name].analytic)]
    if broken_forward:
        message += (
            f"\nFix {_and(broken_forward)} first: "
            f"{'its worked example fails' if len(broken_forward) == 1 else 'their worked examples fail'} above. "
            f"This check compares {backward.__name__} with finite differences of your {forward.__name__}")
        # a function that computes gradients itself (a loss with its gradients, a backward pass a wrapper calls) may
        # be where the mistake is: only a failing pure forward pass leaves the backward pass possibly right
        computes_gradients = [name for name in broken_forward if "backward" in name or "loss" in name]
        message += (f", which uses {'it' if len(broken_forward) == 1 else 'them'}." if computes_gradients else
                    ", so it cannot pass while the forward pass is wrong; your backward pass may be right.")
    for name in shapes:
        message += (f"\nd{name} has shape {np.shape(pairs[name].analytic)}, but {name} has shape "
                    f"{pairs[name].shape}: each gradient has the shape of its input.")
    if zeros:
        largest = max(float(np.max(np.abs(pairs[name].numeric), initial=0.0)) for name in zeros)
        message += (
            f"\n{_and([f'd{name}' for name in zeros])} {'is' if len(zeros) == 1 else 'are'} all zeros, but the "
            f"loss does change with {_and(zeros)} (finite differences reach {largest:.2g}): does "
            f"{backward.__name__} return an array it filled with zeros and never added to?"
        )
    if not (broken_forward or shapes or zeros):
        message += (
            "\nYour backward pass does not compute the derivative of your forward pass for these inputs. "
            "Check each one with the chain rule, one operation of the forward pass at a time."
        )
    _fail(message)


@contextmanager
def demo(*uses):
    """
    Run a picture or printout that uses the learner's functions ``uses`` (their names). When one
    of them is not written yet, raises an error, or gives numbers the picture cannot draw, print
    one line saying which function to finish instead of a traceback or a broken plot; when one
    failed its test above, say so before the picture. Introduced in 01, used in every notebook::

        with demo("rnn_forward"):
            states, _ = rnn_forward(...)
            plotting.plot_heatmap(states[0])
            plt.show()
    """
    import matplotlib.pyplot as plt

    uses = list(uses)
    broken = failing(*uses)
    if broken:
        print(f"Note: {_and(broken)} failed {'its test' if len(broken) == 1 else 'their tests'} above, so what follows "
              "shows what your code does now, not what the text describes.")
    try:
        with warnings.catch_warnings():
            # a broken function's numbers (all zeros on a log scale, an overflow) stop the picture here
            warnings.simplefilter("error")
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.simplefilter("default", category)
            yield
    except Exception as error:  # noqa: BLE001 - any failure becomes one line for the learner
        plt.close("all")
        print(_demo_failure(error, uses))


def _notebook_functions(error):
    """The names of the notebook's own functions (cells run in __main__) that ``error`` passed through, outermost first."""
    names = []
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_globals.get("__name__") == "__main__" and frame.f_code.co_name in frame.f_globals:
            names.append(frame.f_code.co_name)
        traceback = traceback.tb_next
    return names


def _demo_failure(error, uses):
    """One line on why a demo stopped: the learner's function that raised, or the one it uses."""
    notebook = _notebook_functions(error)
    entered = next((i for i, name in enumerate(notebook) if name in uses), None)
    if isinstance(error, NotImplementedError) and notebook:
        raised_in = notebook[-1]  # the stub itself, perhaps called by the function the cell uses
    else:
        raised_in = notebook[-1] if entered is not None else None
    if isinstance(error, NotImplementedError):
        name = raised_in or _and(uses)
        return f"This cell needs {name}, which is not written yet: finish it above, then run this cell again."
    if isinstance(error, EarlierWorkError):
        return f"This cell needs {error.label}, which {error.reason}: {error.advice}"
    what = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
    if raised_in:
        return f"This cell stopped because your {raised_in} raised {what}. Fix it (its tests above help), then run this cell again."
    return (f"This cell could not use what {_and(uses)} gave ({what}). Check {'it' if len(uses) == 1 else 'them'} "
            "against the tests above, then run this cell again.")


def not_written_message(error):
    """
    One line for a learner's ``raise NotImplementedError()`` that was reached: which of the notebook's functions is
    not written yet (the innermost one that raised), and what to do.
    """
    names = _notebook_functions(error)
    if not names:
        return "This cell needs code that is not written yet: replace raise NotImplementedError() with your code."
    return (f"{names[-1]} is not written yet: replace the two lines '# YOUR CODE HERE' and "
            f"'raise NotImplementedError()' in its cell with your code, run that cell, then this one.")


def _show_not_written(shell, etype, value, tb, tb_offset=None):
    # IPython's handler for NotImplementedError: one line instead of a traceback through rnnlab's frames
    stb = [f"{TO_DO} {not_written_message(value)}"]
    shell._showtraceback(etype, value, stb)  # the error output nbgrader grades (ename stays NotImplementedError)
    return stb


def _install_not_written_handler():
    """In a Jupyter kernel, show an unwritten exercise as one line (see :func:`not_written_message`)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and not shell.custom_exceptions:
        shell.set_custom_exc((NotImplementedError,), _show_not_written)


_install_not_written_handler()


@dataclass(frozen=True)
class WorkedExample:
    """Inputs of a worked example, the expected outputs, the known mistakes per output, the idea to revisit, and
    which outputs are sequences with time along axis 1 (N, T, ...)."""

    name: str
    inputs: dict
    expected: dict
    mistakes: dict
    revisit: str = ""
    sequences: tuple = ()


def load_examples(path="reference.json", forget=True):
    """
    Read the worked examples stored next to a notebook.

    Inputs:
    - path: The notebook's reference.json
    - forget: Also :func:`forget_results` of the checks run before in this kernel (the default: a notebook loads
      its examples at the top, so running it again from there starts afresh); False keeps them

    Returns:
    - examples: Dict of example name -> :class:`WorkedExample`, with arrays as float64
      NumPy arrays (copies: changing them does not change the stored numbers)
    """
    import json

    if forget:
        forget_results()
    with open(path) as handle:
        stored = json.load(handle)
    examples = {}
    for name, entry in stored.items():
        examples[name] = WorkedExample(
            name=name,
            inputs={key: np.array(value, dtype=np.float64) for key, value in entry["inputs"].items()},
            expected={key: np.array(value, dtype=np.float64) for key, value in entry["expected"].items()},
            mistakes={
                key: [Mistake(m["name"], m["hint"], np.array(m["output"], dtype=np.float64)) for m in mistakes]
                for key, mistakes in entry["mistakes"].items()
            },
            revisit=entry.get("revisit", ""),
            sequences=tuple(entry.get("sequences", ())),
        )
    return examples


def least_squares(params, batch):
    """
    The model of 05's worked example of ``train``: loss 0.5 |w - batch[:3]|^2 + 0.5 |u - batch[3:]|^2 and its
    gradients, for parameters ``{"w": (3,), "u": (2,)}`` and a batch of 5 numbers (two arrays, as a model has).
    Introduced in 05's test of ``train``.

    Returns a tuple of:
    - loss: A number
    - grads: Dict with the names of ``params``, each gradient of the shape of its parameter
    """
    dw, du = params["w"] - batch[:3], params["u"] - batch[3:]
    return 0.5 * np.sum(dw ** 2) + 0.5 * np.sum(du ** 2), {"w": dw, "u": du}
