"""Checks that test cells call, written to fail well.

A failing check raises :class:`CheckFailed` (an ``AssertionError``) whose message
says which value is wrong, what was expected, what came, where the largest
difference is, and -- when the wrong value matches the output of a known mistake --
the name of that mistake and a hint for fixing it::

    check_close("next_h", next_h, expected_next_h, mistakes=[
        Mistake("forgot the bias", "add b inside the tanh", output=next_h_without_bias),
    ])

Test cells store the numbers they compare against (the expected output and the
outputs of the known mistakes); nothing here knows how to compute an answer.
"""

from dataclasses import dataclass

import numpy as np

RTOL = 1e-7
ATOL = 1e-10


class CheckFailed(AssertionError):
    """A test check failed; the message is written for the learner."""


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
        message = f"{name} has the wrong shape: expected {expected_shape}, got {array.shape}."
        if sorted(array.shape) == sorted(expected_shape) and array.shape != expected_shape:
            message += " The sizes are right but in another order: is an array transposed?"
        if hint:
            message += f"\nHint: {hint}"
        _fail(message)


def _close(actual, expected, rtol, atol):
    return actual.shape == expected.shape and bool(np.all(np.abs(actual - expected) <= atol + rtol * np.abs(expected)))


def match_mistake(actual, mistakes, rtol=RTOL, atol=ATOL):
    """Return the first :class:`Mistake` whose output equals ``actual``, or None."""
    try:
        array = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    for mistake in mistakes:
        wrong = np.asarray(mistake.output, dtype=np.float64)
        if _close(array, wrong, rtol, atol):
            return mistake
    return None


def _mistake_message(mistake):
    return f"\nThis is what a known mistake gives: {mistake.name}.\nHint: {mistake.hint}"


def check_close(name, actual, expected, rtol=RTOL, atol=ATOL, hint=None, mistakes=()):
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
    """
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    array = _as_array(name, actual)
    if _close(array, expected, rtol, atol):
        return
    known = match_mistake(array, mistakes, rtol, atol)
    if array.shape != expected.shape:
        message = f"{name} has the wrong shape: expected {expected.shape}, got {array.shape}."
        if sorted(array.shape) == sorted(expected.shape):
            message += " The sizes are right but in another order: is an array transposed?"
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
    for name, value in outputs.items():
        check_close(name, value, example.expected[name], mistakes=example.mistakes.get(name, ()), hint=example.revisit or None)


def check_gradients_match(forward, backward, inputs, threshold=1e-7, seed=1):
    """
    Fail unless every gradient of ``backward`` agrees with centred finite differences
    of ``forward`` (relative error below ``threshold``), naming the ones that do not.

    Inputs are as for :func:`rnnlab.gradcheck.check_gradients`; the table of relative
    errors is printed either way.
    """
    __tracebackhide__ = True
    from rnnlab.gradcheck import check_gradients

    errors = check_gradients(forward, backward, inputs, seed=seed, threshold=threshold)
    wrong = {name: error for name, error in errors.items() if not error < threshold}
    if wrong:
        listed = ", ".join(f"d{name} ({error:.1e})" for name, error in wrong.items())
        _fail(
            f"The gradient check fails for {listed}: relative errors should be below {threshold:.0e}.\n"
            "Your backward pass does not compute the derivative of your forward pass for these inputs. "
            "Check each one with the chain rule, one operation of the forward pass at a time."
        )


@dataclass(frozen=True)
class WorkedExample:
    """Inputs of a worked example, the expected outputs, the known mistakes per output, and the idea to revisit."""

    name: str
    inputs: dict
    expected: dict
    mistakes: dict
    revisit: str = ""


def load_examples(path="reference.json"):
    """
    Read the worked examples stored next to a notebook.

    Returns:
    - examples: Dict of example name -> :class:`WorkedExample`, with arrays as float64
      NumPy arrays (copies: changing them does not change the stored numbers)
    """
    import json

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
        )
    return examples
