"""Numerical gradient checking, as in CS231n.

A backward pass is right when its gradients agree with centred finite differences,

    df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2 h),    h = 1e-5,

to a relative error (see :func:`gradient_error`) below 1e-7 in float64. ``check_gradients`` runs the
whole comparison for a ``forward`` / ``backward`` pair and prints a table.
"""

from typing import NamedTuple

import numpy as np

DEFAULT_H = 1e-5
DEFAULT_THRESHOLD = 1e-7


def rel_error(x, y):
    """Largest relative error between two arrays: max |x - y| / max(1e-8, |x| + |y|)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def gradient_error(analytic, numeric):
    """
    How far an analytic gradient is from a numerical one, relative to the gradient's size:
    max |analytic - numeric| / max(|analytic| + |numeric|).

    Unlike :func:`rel_error`, an entry that happens to be almost zero does not inflate the
    error (finite differences cannot resolve it better than about 1e-11 in absolute terms).
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    scale = np.max(np.abs(analytic) + np.abs(numeric), initial=0.0)
    return float(np.max(np.abs(analytic - numeric), initial=0.0) / max(1e-8, scale))


def eval_numerical_gradient(f, x, h=DEFAULT_H):
    """
    Centred finite-difference gradient of a scalar function.

    Inputs:
    - f: Function of one array argument that returns a number
    - x: Array at which to evaluate the gradient; it is changed in place and restored
    - h: Step size

    Returns:
    - grad: Array of the shape of x, grad[i] ~ df/dx[i]
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old_value = x[ix]
        x[ix] = old_value + h
        f_plus = float(f(x))
        x[ix] = old_value - h
        f_minus = float(f(x))
        x[ix] = old_value
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


class WrongReturn(TypeError, ValueError):
    """A forward or backward pass returned other values than the check needs (``function`` names which one)."""

    def __init__(self, function, message):
        super().__init__(f"{getattr(function, '__name__', 'the function')} {message}")
        self.function = function


def _split_outputs(result, forward=None):
    """Split ``forward(...)``'s result ``(out1, ..., cache)`` into outputs and cache."""
    if not isinstance(result, tuple) or len(result) < 2:
        got = "None" if result is None else (f"{len(result)} value" if isinstance(result, tuple) else "one value")
        raise WrongReturn(forward, f"should return its output(s) and a cache, (out, ..., cache), but it returned {got}")
    return list(result[:-1]), result[-1]


class GradientPair(NamedTuple):
    """One input's gradient from a backward pass, next to finite differences of the forward pass."""

    analytic: object  # what backward returned for d<name>, as it came
    numeric: object  # the finite-difference gradient, or None when ``analytic`` has the wrong shape
    shape: tuple  # the input's shape, which d<name> should have


def compare_gradients(forward, backward, inputs, seed=0, h=DEFAULT_H):
    """
    The gradients of a backward pass next to finite differences of its forward pass, input by input.

    The scalar being differentiated is sum_k sum(out_k * dout_k) for random upstream
    gradients dout_k, one per output of ``forward``.

    Inputs:
    - forward: Function called as forward(**inputs), returning (out, cache) or
      (out1, out2, ..., cache)
    - backward: Function called as backward(dout, cache) or backward(dout1, dout2, ..., cache),
      returning the gradients in the order of ``inputs``
    - inputs: Dict of name -> float64 array, in the order of forward's arguments
    - seed: Seed for the random upstream gradients
    - h: Finite-difference step

    Returns:
    - pairs: Dict of name -> :class:`GradientPair` (backward's d<name> and finite differences)
    """
    inputs = {name: np.array(value, dtype=np.float64) for name, value in inputs.items()}
    outputs, cache = _split_outputs(forward(**inputs), forward)
    rng = np.random.default_rng(seed)
    douts = [rng.standard_normal(np.shape(out)) for out in outputs]
    grads = backward(*douts, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(inputs):
        raise WrongReturn(backward, f"should return {len(inputs)} gradients, "
                                    f"({', '.join('d' + name for name in inputs)}), but it returned {len(grads)}")

    pairs = {}
    for (name, value), grad in zip(inputs.items(), grads):
        numeric = None if np.shape(grad) != value.shape else numerical_gradient(forward, inputs, name, douts, h=h)
        pairs[name] = GradientPair(grad, numeric, value.shape)
    return pairs


def numerical_gradient(forward, inputs, name, douts, h=DEFAULT_H):
    """
    Centred finite differences (:func:`eval_numerical_gradient`) of sum_k sum(out_k * dout_k) with respect to
    ``inputs[name]``, where out_k are the outputs of ``forward(**inputs)`` before its cache: what a backward pass
    given the upstream gradients ``douts`` should return as d<name>. Also the grader's re-checks use it
    (autograder.verify).
    """

    def scalar(value):
        outs, _ = _split_outputs(forward(**{**inputs, name: value}), forward)
        return sum(np.sum(out * dout) for out, dout in zip(outs, douts))

    return eval_numerical_gradient(scalar, np.array(inputs[name], dtype=np.float64), h=h)


def gradient_errors(pairs):
    """:func:`gradient_error` of each pair of :func:`compare_gradients`; inf for a gradient of the wrong shape."""
    return {name: float("inf") if pair.numeric is None else gradient_error(pair.analytic, pair.numeric)
            for name, pair in pairs.items()}


def gradient_table(pairs, threshold=DEFAULT_THRESHOLD):
    """The table ``check_gradients`` prints: one row per gradient, its shape, relative error and verdict."""
    rows = []
    for (name, pair), error in zip(pairs.items(), gradient_errors(pairs).values()):
        if pair.numeric is None:
            rows.append((f"d{name}", str(pair.shape), f"shape {np.shape(pair.analytic)}", "WRONG SHAPE"))
        else:
            rows.append((f"d{name}", str(pair.shape), f"{error:.2e}", "ok" if error < threshold else "CHECK"))
    return _table(("gradient", "shape", "rel. error", f"< {threshold:.0e}?"), rows)


def check_gradients(forward, backward, inputs, seed=0, h=DEFAULT_H, threshold=DEFAULT_THRESHOLD, verbose=True):
    """
    Compare a backward pass with finite differences, input by input, and print a table.

    Inputs are as for :func:`compare_gradients`, and:
    - threshold: Relative error above which a gradient is reported as wrong
    - verbose: Print the table

    Returns:
    - errors: Dict of name -> :func:`gradient_error` (analytic vs numerical) of d<name>
    """
    pairs = compare_gradients(forward, backward, inputs, seed=seed, h=h)
    if verbose:
        print(gradient_table(pairs, threshold))
    return gradient_errors(pairs)


def _table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
