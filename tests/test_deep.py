"""Notebook 07's reference solutions against independent oracles (float64): the stacked bidirectional encoder
against torch.nn.LSTM on a packed padded batch, the embedding against torch.nn.Embedding, the loss against
torch.nn.CrossEntropyLoss, truncated BPTT against torch with .detach() at the cuts; finite differences for every
backward pass; and padding that changes nothing.

The functions are loaded from the solution notebook itself (as tests/test_oracles.py does), so what is graded and
what is tested here cannot drift apart.
"""

import functools

import numpy as np
import pytest
import torch
from conftest import SOLUTIONS
from torch_oracle import to_numpy as _np
from torch_oracle import torch_leaf as _t
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from autograder.examples import solution_namespace
from rnnlab.gradcheck import check_gradients

TOL = dict(rtol=1e-10, atol=1e-10)
torch.set_num_threads(1)


@functools.cache
def ns():
    return solution_namespace(SOLUTIONS / "07_deep_bidirectional" / "07_deep_bidirectional.ipynb")




def _check(name, ours, theirs):
    np.testing.assert_allclose(ours, theirs, **TOL, err_msg=name)


def _torch_lstm(D, H, layers, bidirectional, seed):
    torch.manual_seed(seed)
    module = torch.nn.LSTM(D, H, num_layers=layers, bidirectional=bidirectional, batch_first=True).double()
    with torch.no_grad():  # a wider range than PyTorch's default init, so saturation is exercised too
        for parameter in module.parameters():
            parameter.uniform_(-0.8, 0.8)
    return module


def _suffix(layer, direction):
    return f"_l{layer}{'_reverse' if direction else ''}"


def _params_from(module, layers, directions):
    """The course's params (Wx = weight_ih.T, Wh = weight_hh.T, b = bias_ih + bias_hh) of a torch.nn.LSTM."""
    params = []
    for layer in range(layers):
        params.append([])
        for direction in range(directions):
            s = _suffix(layer, direction)
            params[-1].append({"Wx": _np(getattr(module, f"weight_ih{s}")).T.copy(),
                               "Wh": _np(getattr(module, f"weight_hh{s}")).T.copy(),
                               "b": _np(getattr(module, f"bias_ih{s}") + getattr(module, f"bias_hh{s}"))})
    return params


def _torch_encoder(module, x, lengths, dh, dh_n, dc_n):
    """torch.nn.LSTM on the packed batch: padded outputs (as pad_packed_sequence gives them), h_n, c_n, and the
    gradients of sum(out * dh) + sum(h_n * dh_n) + sum(c_n * dc_n)."""
    xt = _t(x)
    packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out_packed, (h_n, c_n) = module(packed)
    out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
    module.zero_grad()
    ((out * torch.tensor(dh)).sum() + (h_n * torch.tensor(dh_n)).sum() + (c_n * torch.tensor(dc_n)).sum()).backward()
    return out, h_n, c_n, xt.grad


CASES = [dict(N=4, T=6, D=3, H=5, layers=2, directions=2, lengths=[6, 2, 1, 4]),
         dict(N=3, T=5, D=4, H=3, layers=2, directions=2, lengths=[5, 5, 5]),
         dict(N=5, T=4, D=2, H=4, layers=1, directions=2, lengths=[1, 4, 3, 2, 4]),
         dict(N=3, T=5, D=3, H=2, layers=3, directions=1, lengths=[2, 5, 3]),
         dict(N=2, T=7, D=3, H=3, layers=1, directions=1, lengths=[7, 3])]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "L{layers}dir{directions}N{N}T{T}".format(**c))
def test_encoder_equals_torch_lstm_on_a_packed_padded_batch(case):
    N, T, D, H, layers, directions = (case[k] for k in ("N", "T", "D", "H", "layers", "directions"))
    lengths = np.array(case["lengths"])
    rng = np.random.default_rng(N * 10 + T)
    module = _torch_lstm(D, H, layers, directions == 2, seed=T)
    x = rng.normal(size=(N, T, D))
    dh = rng.normal(size=(N, T, directions * H))
    dh_n, dc_n = rng.normal(size=(2, layers * directions, N, H))
    out, h_n_t, c_n_t, dx_t = _torch_encoder(module, x, lengths, dh, dh_n, dc_n)
    params = _params_from(module, layers, directions)
    h, h_n, c_n, cache = ns()["encoder_forward"](x, lengths, params)
    _check("h", h, _np(out))
    _check("h_n", h_n, _np(h_n_t))
    _check("c_n", c_n, _np(c_n_t))
    dx, dparams = ns()["encoder_backward"](dh, dh_n, dc_n, cache)
    _check("dx", dx, _np(dx_t))
    for layer in range(layers):
        for direction in range(directions):
            s = _suffix(layer, direction)
            grads = dparams[layer][direction]
            _check(f"dWx{s}", grads["Wx"], _np(getattr(module, f"weight_ih{s}").grad).T)
            _check(f"dWh{s}", grads["Wh"], _np(getattr(module, f"weight_hh{s}").grad).T)
            _check(f"db{s}", grads["b"], _np(getattr(module, f"bias_ih{s}").grad))
            _check(f"db{s} (bias_hh)", grads["b"], _np(getattr(module, f"bias_hh{s}").grad))


def test_one_padded_layer_equals_torch_with_initial_states():
    """lstm_padded_forward / backward with h0, c0 against torch.nn.LSTM on a packed batch, gradients of h0 and c0 too."""
    N, T, D, H = 4, 5, 3, 4
    lengths = np.array([5, 1, 3, 2])
    rng = np.random.default_rng(7)
    module = _torch_lstm(D, H, 1, False, seed=7)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dh, dh_n, dc_n = rng.normal(size=(N, T, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    xt, h0t, c0t = _t(x), _t(h0[None]), _t(c0[None])
    packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out_packed, (h_n_t, c_n_t) = module(packed, (h0t, c0t))
    out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)
    ((out * torch.tensor(dh)).sum() + (h_n_t[0] * torch.tensor(dh_n)).sum()
     + (c_n_t[0] * torch.tensor(dc_n)).sum()).backward()
    (weights,) = _params_from(module, 1, 1)[0]
    h, h_n, c_n, cache = ns()["lstm_padded_forward"](x, lengths, h0, c0, weights["Wx"], weights["Wh"], weights["b"])
    _check("h", h, _np(out))
    _check("h_n", h_n, _np(h_n_t[0]))
    _check("c_n", c_n, _np(c_n_t[0]))
    dx, dh0, dc0, dWx, dWh, db = ns()["lstm_padded_backward"](dh, dh_n, dc_n, cache)
    for name, ours, theirs in [("dx", dx, xt.grad), ("dh0", dh0, h0t.grad[0]), ("dc0", dc0, c0t.grad[0]),
                               ("dWx", dWx, module.weight_ih_l0.grad.T), ("dWh", dWh, module.weight_hh_l0.grad.T),
                               ("db", db, module.bias_ih_l0.grad)]:
        _check(name, ours, _np(theirs))


def test_padding_changes_nothing():
    """The same batch padded with 3 more (junk) steps: the same outputs at the real steps, zeros after, the same
    h_n, c_n and gradients (dx zero at every padded step)."""
    rng = np.random.default_rng(11)
    N, T, D, H = 3, 4, 2, 3
    lengths = np.array([4, 1, 3])
    module = _torch_lstm(D, H, 2, True, seed=11)
    params = _params_from(module, 2, 2)
    x = rng.normal(size=(N, T, D))
    more = np.concatenate([x, rng.normal(size=(N, 3, D))], axis=1)
    dh, dh_n, dc_n = rng.normal(size=(N, T, 2 * H)), rng.normal(size=(4, N, H)), rng.normal(size=(4, N, H))
    dh_more = np.concatenate([dh, rng.normal(size=(N, 3, 2 * H))], axis=1)  # gradients on padded outputs count for nothing
    h, h_n, c_n, cache = ns()["encoder_forward"](x, lengths, params)
    h_more, h_n_more, c_n_more, cache_more = ns()["encoder_forward"](more, lengths, params)
    np.testing.assert_array_equal(h_more[:, T:], 0.0)
    _check("h", h_more[:, :T], h)
    _check("h_n", h_n_more, h_n)
    _check("c_n", c_n_more, c_n)
    dx, dparams = ns()["encoder_backward"](dh, dh_n, dc_n, cache)
    dx_more, dparams_more = ns()["encoder_backward"](dh_more, dh_n, dc_n, cache_more)
    mask = np.arange(T + 3) < lengths[:, None]
    np.testing.assert_array_equal(dx_more[~mask], 0.0)
    _check("dx", dx_more[:, :T], dx)
    for layer in range(2):
        for direction in range(2):
            for name in ("Wx", "Wh", "b"):
                _check(f"d{name}", dparams_more[layer][direction][name], dparams[layer][direction][name])


def test_reverse_within_length_keeps_padding_at_the_end():
    x = np.arange(12).reshape(3, 4)
    got = ns()["reverse_within_length"](x, np.array([4, 2, 1]))
    np.testing.assert_array_equal(got, [[3, 2, 1, 0], [5, 4, 6, 7], [8, 9, 10, 11]])


def test_embedding_equals_torch_embedding_with_repeated_ids():
    rng = np.random.default_rng(3)
    V, E = 6, 4
    ids = np.array([[1, 1, 5, 1], [0, 5, 5, 2], [1, 2, 3, 1]])  # 1 five times, 5 three times, 4 never
    W, dout = rng.normal(size=(V, E)), rng.normal(size=(3, 4, E))
    embedding = torch.nn.Embedding(V, E).double()
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(W))
    out_t = embedding(torch.tensor(ids))
    (out_t * torch.tensor(dout)).sum().backward()
    out, cache = ns()["embedding_forward"](ids, W)
    _check("out", out, _np(out_t))
    _check("dW", ns()["embedding_backward"](dout, cache), _np(embedding.weight.grad))


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_softmax_cross_entropy_equals_torch(scale):
    rng = np.random.default_rng(int(scale))
    scores, y = scale * rng.normal(size=(7, 5)), rng.integers(0, 5, size=7)
    with np.errstate(over="raise", invalid="raise"):
        loss, dscores = ns()["softmax_cross_entropy"](scores, y)
    scores_t = _t(scores)
    loss_t = torch.nn.CrossEntropyLoss()(scores_t, torch.tensor(y))
    loss_t.backward()
    np.testing.assert_allclose(loss, loss_t.item(), rtol=1e-10)
    np.testing.assert_allclose(dscores, _np(scores_t.grad), rtol=1e-9, atol=1e-12)
    assert ns()["accuracy"](scores, y) == float(np.mean(_np(scores_t).argmax(axis=1) == y))


def test_pooling_equals_torch_autograd():
    rng = np.random.default_rng(5)
    h, lengths, dpooled = rng.normal(size=(4, 5, 3)), np.array([5, 1, 3, 2]), rng.normal(size=(4, 3))
    mask = torch.tensor(np.arange(5) < lengths[:, None], dtype=torch.float64)
    h_t = _t(h)
    pooled_t = (h_t * mask[:, :, None]).sum(dim=1) / torch.tensor(lengths, dtype=torch.float64)[:, None]
    (pooled_t * torch.tensor(dpooled)).sum().backward()
    pooled, cache = ns()["mean_pool_forward"](h, lengths)
    _check("pooled", pooled, _np(pooled_t))
    _check("dh", ns()["mean_pool_backward"](dpooled, cache), _np(h_t.grad))
    _check("last", ns()["last_state"](h, lengths), h[np.arange(4), lengths - 1])


def _finite_differences(forward, backward, inputs):
    errors = check_gradients(forward, backward, inputs, verbose=False, seed=3)
    assert max(errors.values()) < 1e-7, errors


def test_every_backward_pass_agrees_with_finite_differences():
    rng = np.random.default_rng(9)
    functions = ns()
    ids = np.array([[0, 2, 2, 1], [1, 1, 3, 0]])
    _finite_differences(lambda W: functions["embedding_forward"](ids, W), functions["embedding_backward"],
                        {"W": rng.normal(size=(4, 3))})
    lengths = np.array([4, 1, 2])

    def padded(x, h0, c0, Wx, Wh, b):
        return functions["lstm_padded_forward"](x, lengths, h0, c0, Wx, Wh, b)

    _finite_differences(padded, functions["lstm_padded_backward"],
                        dict(x=rng.normal(size=(3, 4, 2)), h0=rng.normal(size=(3, 3)), c0=rng.normal(size=(3, 3)),
                             Wx=rng.normal(size=(2, 12)), Wh=rng.normal(size=(3, 12)), b=rng.normal(size=12)))
    shapes = {f"{name}_{layer}_{direction}": shape for layer, inputs in enumerate([2, 4]) for direction in range(2)
              for name, shape in [("Wx", (inputs, 8)), ("Wh", (2, 8)), ("b", (8,))]}  # D = 2, H = 2, 2H = 4

    def encoder(x, **weights):
        params = [[{k: weights[f"{k}_{layer}_{direction}"] for k in ("Wx", "Wh", "b")} for direction in range(2)]
                  for layer in range(2)]
        return functions["encoder_forward"](x, np.array([3, 1, 2]), params)

    def encoder_backward(dh, dh_n, dc_n, cache):
        dx, dparams = functions["encoder_backward"](dh, dh_n, dc_n, cache)
        return (dx, *(dparams[layer][direction][k] for layer in range(2) for direction in range(2)
                      for k in ("Wx", "Wh", "b")))

    _finite_differences(encoder, encoder_backward,
                        {"x": rng.normal(size=(3, 3, 2)), **{n: rng.normal(scale=0.7, size=s) for n, s in shapes.items()}})
    pool_lengths = np.array([2, 4, 1])
    _finite_differences(lambda h: functions["mean_pool_forward"](h, pool_lengths), functions["mean_pool_backward"],
                        {"h": rng.normal(size=(3, 4, 2))})


def test_truncated_bptt_equals_torch_with_detach_at_the_cuts():
    """Chunk by chunk: the same losses, the same gradients and the same parameters after each plain gradient step as
    torch.nn.Embedding + LSTM + Linear + CrossEntropyLoss, with the state detached at every cut."""
    rng = np.random.default_rng(13)
    N, L, k, V, E, H, lr = 3, 11, 4, 7, 3, 5, 0.3
    params = {"E": rng.normal(size=(V, E)), "Wx": rng.normal(scale=0.5, size=(E, 4 * H)),
              "Wh": rng.normal(scale=0.5, size=(H, 4 * H)), "b": rng.normal(scale=0.5, size=4 * H),
              "W": rng.normal(size=(H, V)), "c": rng.normal(size=V)}
    ids, targets = rng.integers(0, V, size=(N, L)), rng.integers(0, V, size=(N, L))
    embedding, lstm, readout = torch.nn.Embedding(V, E).double(), torch.nn.LSTM(E, H, batch_first=True).double(), (
        torch.nn.Linear(H, V).double())
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(params["E"]))
        lstm.weight_ih_l0.copy_(torch.tensor(params["Wx"].T))
        lstm.weight_hh_l0.copy_(torch.tensor(params["Wh"].T))
        lstm.bias_ih_l0.copy_(torch.tensor(params["b"]))
        lstm.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor(params["W"].T))
        readout.bias.copy_(torch.tensor(params["c"]))
    lstm.bias_hh_l0.requires_grad_(False)  # b = bias_ih + bias_hh: one of them learns, as the course's b does
    torch_params = {"E": (embedding.weight, False), "Wx": (lstm.weight_ih_l0, True), "Wh": (lstm.weight_hh_l0, True),
                    "b": (lstm.bias_ih_l0, False), "W": (readout.weight, True), "c": (readout.bias, False)}
    state = (torch.zeros(1, N, H, dtype=torch.float64), torch.zeros(1, N, H, dtype=torch.float64))
    torch_losses, torch_grads = [], []
    for start in range(0, L, k):
        out, state = lstm(embedding(torch.tensor(ids[:, start:start + k])), state)
        scores = readout(out)
        loss = torch.nn.CrossEntropyLoss()(scores.reshape(-1, V), torch.tensor(targets[:, start:start + k]).reshape(-1))
        for tensor, _ in torch_params.values():
            tensor.grad = None
        loss.backward()
        state = (state[0].detach(), state[1].detach())  # the cut
        torch_losses.append(loss.item())
        torch_grads.append({name: _np(tensor.grad).T if transposed else _np(tensor.grad).copy()
                            for name, (tensor, transposed) in torch_params.items()})
        with torch.no_grad():
            for tensor, _ in torch_params.values():
                tensor -= lr * tensor.grad
    ours = []

    def gradient_step(params, grads):
        ours.append({name: grad.copy() for name, grad in grads.items()})
        for name in params:
            params[name] = params[name] - lr * grads[name]

    losses = ns()["truncated_bptt"](params, ids, targets, k, gradient_step)
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-10)
    assert len(ours) == len(torch_grads) == 3  # chunks of 4, 4 and 3
    for chunk, (mine, theirs) in enumerate(zip(ours, torch_grads)):
        for name in params:
            _check(f"d{name} of chunk {chunk}", mine[name], theirs[name])
    for name, (tensor, transposed) in torch_params.items():
        _check(name, params[name], _np(tensor).T if transposed else _np(tensor))
