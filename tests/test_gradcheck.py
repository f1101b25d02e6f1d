"""Tests for rnnlab.gradcheck: relative error, finite differences and check_gradients."""

import numpy as np
import pytest

from rnnlab.gradcheck import check_gradients, eval_numerical_gradient, numerical_gradient, rel_error


def affine_forward(x, w, b):
    """out = x @ w + b for x (N, D), w (D, M), b (M,)."""
    out = x @ w + b  # (N, M)
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_db_not_summed(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout


def affine_backward_dw_doubled(dout, cache):
    x, w = cache
    return dout @ w.T, 2 * (x.T @ dout), dout.sum(axis=0)


def affine_backward_dw_transposed(dout, cache):
    x, w = cache
    return dout @ w.T, (x.T @ dout).T, dout.sum(axis=0)


def two_output_forward(x, w):
    """Two outputs of x: a linear map (N, M) and tanh(x) (N, D)."""
    linear = x @ w  # (N, M)
    squashed = np.tanh(x)  # (N, D)
    return linear, squashed, (x, w, squashed)


def two_output_backward(dlinear, dsquashed, cache):
    x, w, squashed = cache
    dx = dlinear @ w.T + dsquashed * (1 - squashed**2)
    return dx, x.T @ dlinear


def two_output_backward_ignores_second(dlinear, dsquashed, cache):
    x, w, _ = cache
    return dlinear @ w.T, x.T @ dlinear


@pytest.fixture
def affine_inputs():
    # Not seed 0: check_gradients draws its upstream gradient with seed 0, and dout == x
    # would make x.T @ dout symmetric, hiding a transposed dw.
    rng = np.random.default_rng(10)
    return {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}


# rel_error -------------------------------------------------------------------


def test_rel_error_basic_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(-1.0, 1.0) == pytest.approx(1.0)
    assert rel_error(0.0, 0.0) == 0.0


def test_rel_error_is_symmetric_and_takes_the_largest():
    a = np.array([1.0, 2.0, 10.0])
    b = np.array([1.0, 2.2, 10.0])
    assert rel_error(a, b) == pytest.approx(0.2 / 4.2)
    assert rel_error(a, b) == rel_error(b, a)
    assert isinstance(rel_error(a, b), float)


def test_rel_error_floor_keeps_tiny_values_from_blowing_up():
    assert rel_error(1e-10, 0.0) == pytest.approx(1e-10 / 1e-8)


# Finite differences ------------------------------------------------------------


def test_numerical_gradient_of_sum_of_cubes():
    rng = np.random.default_rng(1)
    # |x| >= 0.5 keeps the h**2 truncation error small next to 3 x**2.
    x = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))
    grad = eval_numerical_gradient(lambda v: np.sum(v**3), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert rel_error(grad, 3 * x**2) < 1e-8


def test_numerical_gradient_of_quadratic_form():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 5))
    x = rng.standard_normal(5)
    grad = eval_numerical_gradient(lambda v: v @ A @ v, x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8


def test_numerical_gradient_restores_x():
    x = np.random.default_rng(3).standard_normal((2, 3))
    before = x.copy()
    eval_numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_uses_centred_differences():
    # For f = v**2 a centred difference is exact up to rounding even with a big step;
    # a one-sided difference would be off by h.
    x = np.array([1.0, -2.0])
    grad = eval_numerical_gradient(lambda v: np.sum(v**2), x, h=0.1)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-12)


def test_numerical_gradient_of_a_forward_pass_against_upstream_gradients():
    """The finite differences a backward pass is compared with (also by the grader's re-checks): for an affine
    layer, d(sum(out * dout))/dx = dout @ w.T, for every output of the forward pass before its cache."""
    rng = np.random.default_rng(4)
    inputs = dict(x=rng.standard_normal((4, 3)), w=rng.standard_normal((3, 5)), b=rng.standard_normal(5))
    before = {name: value.copy() for name, value in inputs.items()}
    dout = rng.standard_normal((4, 5))
    assert rel_error(numerical_gradient(affine_forward, inputs, "x", [dout]), dout @ inputs["w"].T) < 1e-8
    assert rel_error(numerical_gradient(affine_forward, inputs, "b", [dout]), dout.sum(axis=0)) < 1e-8
    for name, value in inputs.items():
        np.testing.assert_array_equal(value, before[name])  # the inputs are left as they were


# check_gradients -------------------------------------------------------------


def test_check_gradients_accepts_correct_affine_backward(affine_inputs):
    errors = check_gradients(affine_forward, affine_backward, affine_inputs, verbose=False)
    assert list(errors) == ["x", "w", "b"]
    assert all(error < 1e-7 for error in errors.values())


def test_check_gradients_flags_db_not_summed_over_batch(affine_inputs):
    errors = check_gradients(affine_forward, affine_backward_db_not_summed, affine_inputs, verbose=False)
    assert errors["b"] == float("inf")
    assert errors["x"] < 1e-7 and errors["w"] < 1e-7


@pytest.mark.parametrize("backward", [affine_backward_dw_doubled, affine_backward_dw_transposed])
def test_check_gradients_flags_wrong_dw(affine_inputs, backward):
    errors = check_gradients(affine_forward, backward, affine_inputs, verbose=False)
    assert errors["w"] > 1e-2
    assert errors["x"] < 1e-7 and errors["b"] < 1e-7


def test_check_gradients_with_two_outputs():
    rng = np.random.default_rng(7)
    inputs = {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 2))}
    errors = check_gradients(two_output_forward, two_output_backward, inputs, verbose=False)
    assert errors["x"] < 1e-7 and errors["w"] < 1e-7


def test_check_gradients_uses_every_output():
    rng = np.random.default_rng(7)
    inputs = {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 2))}
    errors = check_gradients(two_output_forward, two_output_backward_ignores_second, inputs, verbose=False)
    assert errors["x"] > 1e-2
    assert errors["w"] < 1e-7


def test_check_gradients_prints_table_with_gradient_names(affine_inputs, capsys):
    check_gradients(affine_forward, affine_backward_db_not_summed, affine_inputs)
    table = capsys.readouterr().out
    for name in ["dx", "dw", "db"]:
        assert name in table
    assert "rel. error" in table
    assert "WRONG SHAPE" in table
    lines = table.splitlines()
    assert len(lines) == 5  # header, rule, one row per input
    assert lines[2].startswith("dx") and lines[2].endswith("ok")


def test_check_gradients_table_marks_large_error(affine_inputs, capsys):
    check_gradients(affine_forward, affine_backward_dw_doubled, affine_inputs)
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["dw"].endswith("CHECK")
    assert rows["db"].endswith("ok")


def test_check_gradients_quiet_when_not_verbose(affine_inputs, capsys):
    check_gradients(affine_forward, affine_backward, affine_inputs, verbose=False)
    assert capsys.readouterr().out == ""


def test_check_gradients_does_not_change_inputs(affine_inputs):
    before = {name: value.copy() for name, value in affine_inputs.items()}
    check_gradients(affine_forward, affine_backward, affine_inputs, verbose=False)
    for name, value in affine_inputs.items():
        np.testing.assert_array_equal(value, before[name])


def test_check_gradients_rejects_wrong_number_of_gradients(affine_inputs):
    def backward_without_db(dout, cache):
        return affine_backward(dout, cache)[:2]

    with pytest.raises(ValueError, match=r"backward_without_db should return 3 gradients, \(dx, dw, db\), but it "
                                         r"returned 2"):
        check_gradients(affine_forward, backward_without_db, affine_inputs, verbose=False)


def test_check_gradients_accepts_single_gradient_not_in_tuple():
    def square_forward(x):
        return x**2, x

    def square_backward(dout, x):
        return 2 * x * dout

    x = np.random.default_rng(8).standard_normal((2, 3))
    errors = check_gradients(square_forward, square_backward, {"x": x}, verbose=False)
    assert errors["x"] < 1e-7


def test_check_gradients_rejects_forward_without_cache(affine_inputs):
    def forward_without_cache(x, w, b):
        return x @ w + b

    with pytest.raises(TypeError, match=r"forward_without_cache should return its output\(s\) and a cache, "
                                        r"\(out, ..., cache\), but it returned one value"):
        check_gradients(forward_without_cache, affine_backward, affine_inputs, verbose=False)


def test_gradient_error_is_not_inflated_by_an_entry_near_zero():
    from rnnlab.gradcheck import gradient_error

    analytic = np.array([1.0, 2.0, 1e-7])
    numeric = np.array([1.0, 2.0, 1.2e-7])  # finite differences cannot resolve the tiny entry better
    assert rel_error(analytic, numeric) > 0.05
    assert gradient_error(analytic, numeric) < 1e-8
    assert gradient_error(analytic, 1.01 * analytic) > 1e-3
