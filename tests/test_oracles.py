"""The reference solutions against independent oracles: PyTorch (forward and autograd
backward, float64) and centred finite differences.

The functions are loaded from the solution notebooks themselves, so what is graded and
what is tested here cannot drift apart.
"""

import functools

import numpy as np
import pytest
import torch
from conftest import SOLUTIONS
from torch_oracle import to_numpy as _np
from torch_oracle import torch_leaf as _t

from autograder.examples import solution_namespace
from rnnlab.gradcheck import check_gradients

TOL = dict(rtol=1e-10, atol=1e-10)
SIZES = [dict(N=3, T=5, D=4, H=6), dict(N=1, T=1, D=2, H=3), dict(N=2, T=7, D=5, H=5)]


@functools.cache
def notebook(name):
    return solution_namespace(SOLUTIONS / name / f"{name}.ipynb")




def _torch_module(kind, D, H, seed):
    torch.manual_seed(seed)
    module = {"rnn": lambda: torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True),
              "lstm": lambda: torch.nn.LSTM(D, H, batch_first=True),
              "gru": lambda: torch.nn.GRU(D, H, batch_first=True)}[kind]()
    module = module.double()
    with torch.no_grad():  # a wider range than PyTorch's default init, so saturation is exercised too
        for parameter in module.parameters():
            parameter.uniform_(-0.8, 0.8)
    return module


def _packed(module, suffix="_l0"):
    weight_ih, weight_hh = getattr(module, f"weight_ih{suffix}"), getattr(module, f"weight_hh{suffix}")
    bias_ih, bias_hh = getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")
    return _np(weight_ih).T.copy(), _np(weight_hh).T.copy(), _np(bias_ih + bias_hh)


def _check(name, ours, theirs):
    np.testing.assert_allclose(ours, theirs, **TOL, err_msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: "N{N}T{T}D{D}H{H}".format(**s))
def test_sequence_forward_and_backward_equal_torch(kind, size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.default_rng(N * 100 + T)
    module = _torch_module(kind, D, H, seed=T)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    xt, h0t = _t(x), _t(h0[None])
    if kind == "rnn":
        out, _ = module(xt, h0t)
        ns, forward, backward = notebook("01_rnn"), "rnn_forward", "rnn_backward"
    else:
        out, _ = module(xt, (h0t, torch.zeros(1, N, H, dtype=torch.float64)))  # c0 = 0, as in the course
        ns, forward, backward = notebook("03_lstm"), "lstm_forward", "lstm_backward"
    (out * torch.tensor(dh)).sum().backward()
    Wx, Wh, b = _packed(module)
    h, cache = ns[forward](x, h0, Wx, Wh, b)
    _check("h", h, _np(out))
    dx, dh0, dWx, dWh, db = ns[backward](dh, cache)
    _check("dx", dx, _np(xt.grad))
    _check("dh0", dh0, _np(h0t.grad[0]))
    _check("dWx", dWx, _np(module.weight_ih_l0.grad).T)
    _check("dWh", dWh, _np(module.weight_hh_l0.grad).T)
    _check("db", db, _np(module.bias_ih_l0.grad))


def test_lstm_step_equals_torch_lstm_cell():
    rng = np.random.default_rng(5)
    N, D, H = 4, 3, 5
    cell = _torch_module("lstm", D, H, seed=5)
    torch_cell = torch.nn.LSTMCell(D, H).double()
    torch_cell.load_state_dict({k[:-3]: v for k, v in cell.state_dict().items()})
    x, h, c = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dnext_h, dnext_c = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    xt, ht, ct = _t(x), _t(h), _t(c)
    next_ht, next_ct = torch_cell(xt, (ht, ct))
    ((next_ht * torch.tensor(dnext_h)).sum() + (next_ct * torch.tensor(dnext_c)).sum()).backward()
    ns = notebook("03_lstm")
    Wx, Wh, b = _packed(torch_cell, suffix="")
    next_h, next_c, cache = ns["lstm_step_forward"](x, h, c, Wx, Wh, b)
    _check("next_h", next_h, _np(next_ht))
    _check("next_c", next_c, _np(next_ct))
    dx, dprev_h, dprev_c, dWx, dWh, db = ns["lstm_step_backward"](dnext_h, dnext_c, cache)
    for name, ours, theirs in [("dx", dx, xt.grad), ("dprev_h", dprev_h, ht.grad), ("dprev_c", dprev_c, ct.grad)]:
        _check(name, ours, _np(theirs))
    _check("dWx", dWx, _np(torch_cell.weight_ih.grad).T)
    _check("dWh", dWh, _np(torch_cell.weight_hh.grad).T)
    _check("db", db, _np(torch_cell.bias_ih.grad))


def test_lstm_gates_are_in_torch_order():
    """i, f, g, o: PyTorch's order, so the packed weights load into torch.nn.LSTM unchanged."""
    rng = np.random.default_rng(6)
    N, D, H = 2, 3, 4
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    pre = torch.tensor(x @ Wx + h @ Wh + b)
    expected = [torch.sigmoid(pre[:, :H]), torch.sigmoid(pre[:, H:2 * H]), torch.tanh(pre[:, 2 * H:3 * H]),
                torch.sigmoid(pre[:, 3 * H:])]
    for name, ours, theirs in zip("ifgo", notebook("03_lstm")["lstm_gates"](x, h, Wx, Wh, b), expected):
        _check(name, ours, theirs.numpy())


def test_sigmoid_is_stable_for_large_inputs():
    sigmoid = notebook("03_lstm")["sigmoid"]
    x = np.array([-1e3, -50.0, -1.0, 0.0, 1.0, 50.0, 1e3])
    with np.errstate(all="raise"):
        values = sigmoid(x)
    _check("sigmoid", values, torch.sigmoid(torch.tensor(x)).numpy())


def _gru_reset_before_torch(x, h0, Wx, Wh, b):
    """The reset-before GRU of Cho et al. (2014), written with PyTorch operations for autograd."""
    H = h0.shape[1]
    h, states = h0, []
    for t in range(x.shape[1]):
        gates = torch.sigmoid(x[:, t] @ Wx[:, :2 * H] + h @ Wh[:, :2 * H] + b[:2 * H])
        r, z = gates[:, :H], gates[:, H:]
        n = torch.tanh(x[:, t] @ Wx[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + b[2 * H:])
        h = (1 - z) * n + z * h
        states.append(h)
    return torch.stack(states, dim=1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "N{N}T{T}D{D}H{H}".format(**s))
def test_gru_sequence_equals_torch_autograd_of_the_same_equations(size):
    N, T, D, H = size["N"], size["T"], size["D"], size["H"]
    rng = np.random.default_rng(T)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    Wx, Wh, b = rng.uniform(-0.8, 0.8, (D, 3 * H)), rng.uniform(-0.8, 0.8, (H, 3 * H)), rng.uniform(-0.8, 0.8, 3 * H)
    tensors = [_t(a) for a in (x, h0, Wx, Wh, b)]
    out = _gru_reset_before_torch(*tensors)
    (out * torch.tensor(dh)).sum().backward()
    ns = notebook("04_gru")
    h, cache = ns["gru_forward"](x, h0, Wx, Wh, b)
    _check("h", h, _np(out))
    for name, ours, tensor in zip(["dx", "dh0", "dWx", "dWh", "db"], ns["gru_backward"](dh, cache), tensors):
        _check(name, ours, _np(tensor.grad))


def test_gru_reset_after_equals_torch_gru_cell_and_reset_before_does_not():
    rng = np.random.default_rng(8)
    N, D, H = 4, 3, 5
    torch.manual_seed(8)
    cell = torch.nn.GRUCell(D, H).double()
    with torch.no_grad():
        for parameter in cell.parameters():
            parameter.uniform_(-0.8, 0.8)
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    expected = _np(cell(torch.tensor(x), torch.tensor(h)))
    ns = notebook("04_gru")
    Wx, Wh = _np(cell.weight_ih).T.copy(), _np(cell.weight_hh).T.copy()
    bx, bh = _np(cell.bias_ih), _np(cell.bias_hh)
    _check("next_h (reset after)", ns["gru_step_forward_reset_after"](x, h, Wx, Wh, bx, bh), expected)
    before, _ = ns["gru_step_forward"](x, h, Wx, Wh, bx + bh)
    assert not np.allclose(before, expected), "the reset-before cell should differ from torch.nn.GRUCell"


def test_gru_is_smaller_than_lstm():
    count = notebook("04_gru")["count_parameters"]
    D, H = 10, 20
    torch_counts = {kind: sum(p.numel() for p in _torch_module(kind, D, H, 0).parameters()) for kind in ("rnn", "lstm", "gru")}
    for kind, total in torch_counts.items():  # torch keeps two bias vectors, the course one
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        assert count(kind, D, H) == total - gates * H
    assert count("gru", D, H) < count("lstm", D, H)
    with pytest.raises(ValueError):
        count("transformer", D, H)


def _inputs(rng, shapes):
    return {name: 0.5 * rng.normal(size=shape) for name, shape in shapes.items()}


FINITE_DIFFERENCES = [
    ("01_rnn", "rnn_step_forward", "rnn_step_backward", dict(x=(3, 4), prev_h=(3, 5), Wx=(4, 5), Wh=(5, 5), b=(5,))),
    ("01_rnn", "rnn_forward", "rnn_backward", dict(x=(2, 6, 3), h0=(2, 4), Wx=(3, 4), Wh=(4, 4), b=(4,))),
    ("01_rnn", "affine_forward", "affine_backward", dict(x=(3, 4), W=(4, 2), b=(2,))),
    ("03_lstm", "lstm_step_forward", "lstm_step_backward",
     dict(x=(3, 4), prev_h=(3, 5), prev_c=(3, 5), Wx=(4, 20), Wh=(5, 20), b=(20,))),
    ("03_lstm", "lstm_forward", "lstm_backward", dict(x=(2, 6, 3), h0=(2, 4), Wx=(3, 16), Wh=(4, 16), b=(16,))),
    ("04_gru", "gru_step_forward", "gru_step_backward", dict(x=(3, 4), prev_h=(3, 5), Wx=(4, 15), Wh=(5, 15), b=(15,))),
    ("04_gru", "gru_forward", "gru_backward", dict(x=(2, 6, 3), h0=(2, 4), Wx=(3, 12), Wh=(4, 12), b=(12,))),
]


@pytest.mark.parametrize(("name", "forward", "backward", "shapes"), FINITE_DIFFERENCES, ids=[f[2] for f in FINITE_DIFFERENCES])
def test_backward_passes_agree_with_finite_differences(name, forward, backward, shapes):
    ns = notebook(name)
    errors = check_gradients(ns[forward], ns[backward], _inputs(np.random.default_rng(0), shapes), verbose=False, seed=3)
    assert max(errors.values()) < 1e-7, errors


# 02_vanishing_gradients ------------------------------------------------------------------


def test_rnn_step_jacobian_equals_torch_autograd_and_finite_differences():
    N, D, H = 3, 4, 5
    rng = np.random.default_rng(20)
    x, prev_h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _inputs(rng, dict(Wx=(D, H), Wh=(H, H), b=(H,))).values()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    J = notebook("02_vanishing_gradients")["rnn_step_jacobian"](next_h, Wh)
    for n in range(N):
        def step(state, n=n):
            return torch.tanh(torch.tensor(x[n]) @ torch.tensor(Wx) + state @ torch.tensor(Wh) + torch.tensor(b))

        _check(f"J[{n}] vs torch", J[n], _np(torch.autograd.functional.jacobian(step, torch.tensor(prev_h[n]))))
    numeric = np.zeros((N, H, H))
    for j in range(H):
        nudge = np.zeros(H)
        nudge[j] = 1e-5
        numeric[:, :, j] = (np.tanh(x @ Wx + (prev_h + nudge) @ Wh + b) - np.tanh(x @ Wx + (prev_h - nudge) @ Wh + b)) / 2e-5
    np.testing.assert_allclose(J, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(("T", "gain"), [(1, 1.0), (6, 0.8), (20, 2.5)])
def test_gradient_norms_through_time_equal_torch_autograd(T, gain):
    """The norm of every h_t.grad of an unrolled torch.nn.RNNCell, when the loss sees only the last state."""
    N, D, H = 3, 4, 5
    rng = np.random.default_rng(T)
    torch.manual_seed(T)
    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_hh.copy_(gain * torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))[0])
    x, dh_T = torch.tensor(rng.normal(size=(N, T, D))), rng.normal(size=(N, H))
    state, states = torch.zeros(N, H, dtype=torch.float64), []
    for t in range(T):
        state = cell(x[:, t], state)
        state.retain_grad()
        states.append(state)
    (states[-1] * torch.tensor(dh_T)).sum().backward()
    h = np.stack([_np(s) for s in states], axis=1)  # (N, T, H)
    norms = notebook("02_vanishing_gradients")["gradient_norms_through_time"](dh_T, (h, _np(cell.weight_hh).T.copy()))
    _check("norms", norms, np.array([np.linalg.norm(_np(s.grad)) for s in states]))


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_gradients_equals_torch_clip_grad_norm(max_norm):
    rng = np.random.default_rng(7)
    grads = {"dWx": rng.normal(size=(3, 4)), "dWh": rng.normal(size=(4, 4)), "db": rng.normal(size=4)}
    originals = {name: g.copy() for name, g in grads.items()}
    parameters = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for parameter, g in zip(parameters, grads.values()):
        parameter.grad = torch.tensor(g)
    total_torch = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    clipped, total_norm = notebook("02_vanishing_gradients")["clip_gradients"](grads, max_norm)
    _check("total_norm", total_norm, total_torch.item())
    for parameter, name in zip(parameters, grads):
        # torch divides by total_norm + 1e-6, so its clipped gradients differ by about 1e-6 / total_norm
        np.testing.assert_allclose(clipped[name], _np(parameter.grad), rtol=1e-6, atol=0, err_msg=name)
        np.testing.assert_array_equal(grads[name], originals[name], err_msg=f"{name} was changed in place")


def test_forget_gate_horizon_closed_form():
    horizon = notebook("02_vanishing_gradients")["forget_gate_horizon"]
    _check("b_f = 0", horizon(0.0), 1 / np.log(2))
    b_f = np.linspace(-4.0, 12.0, 17)
    _check("-1 / logsigmoid", horizon(b_f), _np(-1 / torch.nn.functional.logsigmoid(torch.tensor(b_f))))
    np.testing.assert_allclose(horizon(np.array([1.0, 5.0])), [3.19, 148.9], rtol=1e-3)
