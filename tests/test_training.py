"""Notebook 05's reference solutions and model code against PyTorch (float64): the losses with
autograd, Adam step by step, the training loop with clip_grad_norm_, sampling, and whole models
built from the course's cells against torch.nn.LSTM / GRU + Linear + CrossEntropyLoss."""

import functools

import numpy as np
import pytest
import torch
from conftest import SOLUTIONS
from torch_oracle import to_numpy as _np
from torch_oracle import torch_leaf as _t

from autograder.examples import solution_namespace

TOL = dict(rtol=1e-10, atol=1e-12)


@functools.cache
def ns():
    return solution_namespace(SOLUTIONS / "05_training" / "05_training.ipynb")




@pytest.mark.parametrize(("N", "T", "H", "V"), [(3, 5, 4, 6), (1, 1, 2, 3), (4, 2, 7, 1)])
def test_temporal_affine_equals_torch_autograd(N, T, H, V):
    rng = np.random.default_rng(N * T)
    x, W, b, dout = rng.normal(size=(N, T, H)), rng.normal(size=(H, V)), rng.normal(size=V), rng.normal(size=(N, T, V))
    out, cache = ns()["temporal_affine_forward"](x, W, b)
    dx, dW, db = ns()["temporal_affine_backward"](dout, cache)
    tx, tW, tb = _t(x), _t(W), _t(b)
    tout = tx @ tW + tb
    tout.backward(torch.tensor(dout))
    for name, ours, theirs in [("out", out, tout), ("dx", dx, tx.grad), ("dW", dW, tW.grad), ("db", db, tb.grad)]:
        np.testing.assert_allclose(ours, _np(theirs), **TOL, err_msg=name)


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_temporal_softmax_loss_equals_torch_cross_entropy_with_ignore_index(scale):
    rng = np.random.default_rng(int(scale))
    N, T, V = 4, 6, 9
    x, y = scale * rng.normal(size=(N, T, V)), rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) < 0.7
    mask[0] = False  # an example that is all padding
    with np.errstate(over="raise", invalid="raise"):
        loss, dx = ns()["temporal_softmax_loss"](x, y, mask)
    tx = _t(x)
    targets = torch.tensor(np.where(mask, y, -100))  # torch leaves out ignore_index targets
    tloss = torch.nn.CrossEntropyLoss(reduction="sum", ignore_index=-100)(tx.reshape(N * T, V), targets.reshape(-1)) / N
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
    np.testing.assert_allclose(dx, _np(tx.grad), rtol=1e-9, atol=1e-12)


def test_temporal_softmax_loss_at_random_is_log_V_per_real_step():
    mask = np.ones((5, 7), dtype=bool)
    mask[:, 3:] = False
    loss, _ = ns()["temporal_softmax_loss"](np.zeros((5, 7, 10)), np.zeros((5, 7), dtype=int), mask)
    np.testing.assert_allclose(loss, 3 * np.log(10), rtol=1e-12)


def test_mse_loss_equals_torch_mse_loss():
    rng = np.random.default_rng(3)
    pred, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss, dpred = ns()["mse_loss"](pred, y)
    tpred = _t(pred)
    tloss = torch.nn.MSELoss()(tpred, torch.tensor(y))
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), **TOL)
    np.testing.assert_allclose(dpred, _np(tpred.grad), **TOL)


@pytest.mark.parametrize(("lr", "betas", "eps"), [(1e-3, (0.9, 0.999), 1e-8), (0.05, (0.5, 0.9), 1e-4)])
def test_adam_update_equals_torch_optim_adam_step_by_step(lr, betas, eps):
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 4))
    gradients = [rng.normal(scale=10.0 ** rng.integers(-3, 3), size=(3, 4)) for _ in range(25)]
    parameter = torch.tensor(w.copy(), requires_grad=True)
    optimizer = torch.optim.Adam([parameter], lr=lr, betas=betas, eps=eps)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        before = (w.copy(), m.copy(), v.copy())
        w, m, v = ns()["adam_update"](w, g, m, v, t, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps)
        parameter.grad = torch.tensor(g)
        optimizer.step()
        np.testing.assert_allclose(w, _np(parameter), rtol=1e-10, atol=1e-10, err_msg=f"step {t}")
        state = optimizer.state[parameter]
        np.testing.assert_allclose(m, _np(state["exp_avg"]), rtol=1e-12, err_msg=f"m at step {t}")
        np.testing.assert_allclose(v, _np(state["exp_avg_sq"]), rtol=1e-12, err_msg=f"v at step {t}")
        assert w is not before[0] and m is not before[1]  # new arrays


def test_train_equals_torch_clip_grad_norm_and_adam():
    """The whole loop: loss, global-norm clipping, one Adam step per array, the losses recorded before each update."""
    rng = np.random.default_rng(5)
    A = rng.normal(size=(6, 4))
    batches = [rng.normal(loc=2.0, size=6) for _ in range(15)]

    def loss_and_grads(params, batch):
        residual = A @ params["w"] + params["c"] - batch  # (6,)
        return 0.5 * residual @ residual, {"w": A.T @ residual, "c": residual.sum(keepdims=True)}

    params = {"w": rng.normal(size=4), "c": np.zeros(1)}
    start = {name: value.copy() for name, value in params.items()}
    losses = ns()["train"](params, loss_and_grads, batches, lr=0.05, max_norm=2.0)

    tw, tc = torch.tensor(start["w"], requires_grad=True), torch.tensor(start["c"], requires_grad=True)
    optimizer = torch.optim.Adam([tw, tc], lr=0.05)
    expected = []
    for batch in batches:
        optimizer.zero_grad()
        residual = torch.tensor(A) @ tw + tc - torch.tensor(batch)
        loss = 0.5 * residual @ residual
        loss.backward()
        torch.nn.utils.clip_grad_norm_([tw, tc], 2.0)
        optimizer.step()
        expected.append(loss.item())
    # clip_grad_norm_ divides by total_norm + 1e-6; the course's clipping divides by total_norm
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    np.testing.assert_allclose(params["w"], _np(tw), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(params["c"], _np(tc), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("temperature", [0.1, 0.7, 1.0, 3.0])
def test_sample_from_logits_is_torch_searchsorted_of_the_softmax_cdf(temperature):
    rng = np.random.default_rng(6)
    logits, u = 5 * rng.normal(size=(500, 7)), rng.random(500)
    ids = ns()["sample_from_logits"](logits, temperature, u)
    cdf = torch.cumsum(torch.softmax(torch.tensor(logits) / temperature, dim=1), dim=1)
    expected = torch.searchsorted(cdf, torch.tensor(u)[:, None], right=True)[:, 0].clamp(max=6).numpy()
    np.testing.assert_array_equal(ids, expected)


def test_sample_from_logits_draws_with_the_softmax_frequencies():
    rng = np.random.default_rng(7)
    logits = np.repeat(rng.normal(size=(1, 5)), 100_000, axis=0)
    ids = ns()["sample_from_logits"](logits, 1.5, rng.random(100_000))
    probs = _np(torch.softmax(torch.tensor(logits[0]) / 1.5, dim=0))
    np.testing.assert_allclose(np.bincount(ids, minlength=5) / 100_000, probs, atol=0.005)


def _torch_cell(kind, D, H, params):
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](D, H, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(params["Wx"].T))
        module.weight_hh_l0.copy_(torch.tensor(params["Wh"].T))
        module.bias_ih_l0.copy_(torch.tensor(params["b"]))
        module.bias_hh_l0.zero_()
    return module


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_the_character_model_equals_torch_rnn_linear_and_cross_entropy(kind):
    """05's language model, built from 01/03's cells and 05's functions, against torch.nn.{RNN, LSTM} + Linear."""
    namespace = ns()
    V, H = 8, 5
    rng = np.random.default_rng(8)
    params = namespace["init_params"](kind, V, H, V, seed=3)
    params["b"] = rng.normal(size=params["b"].shape)
    params["c"] = rng.normal(size=V)
    x, y = rng.integers(0, V, size=(4, 6)), rng.integers(0, V, size=(4, 6))
    mask = rng.random((4, 6)) < 0.8
    loss, grads = namespace["language_model_loss"](kind, V)(params, (x, y, mask))

    cell = _torch_cell(kind, V, H, params)
    W, c = _t(params["W"]), _t(params["c"])
    h, _ = cell(torch.nn.functional.one_hot(torch.tensor(x), V).double())
    scores = h @ W + c
    targets = torch.tensor(np.where(mask, y, -100))
    tloss = torch.nn.CrossEntropyLoss(reduction="sum", ignore_index=-100)(scores.reshape(-1, V), targets.reshape(-1)) / 4
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
    for name, theirs in [("Wx", cell.weight_ih_l0.grad.T), ("Wh", cell.weight_hh_l0.grad.T), ("b", cell.bias_ih_l0.grad),
                         ("W", W.grad), ("c", c.grad)]:
        np.testing.assert_allclose(grads[name], _np(theirs), rtol=1e-9, atol=1e-12, err_msg=name)


def test_the_regression_model_equals_torch_lstm_linear_and_mse():
    namespace = ns()
    rng = np.random.default_rng(9)
    params = namespace["init_params"]("lstm", 2, 4, 1, seed=4)
    x, y = rng.normal(size=(5, 7, 2)), rng.normal(size=(5, 1))
    loss, grads = namespace["regression_loss"]("lstm")(params, (x, y))
    cell = _torch_cell("lstm", 2, 4, params)
    W, c = _t(params["W"]), _t(params["c"])
    h, _ = cell(torch.tensor(x))
    tloss = torch.nn.MSELoss()(h[:, -1] @ W + c, torch.tensor(y))
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-10)
    np.testing.assert_allclose(namespace["predict"]("lstm", params, x), _np(h[:, -1] @ W + c), rtol=1e-10)
    for name, theirs in [("Wx", cell.weight_ih_l0.grad.T), ("Wh", cell.weight_hh_l0.grad.T), ("b", cell.bias_ih_l0.grad),
                         ("W", W.grad), ("c", c.grad)]:
        np.testing.assert_allclose(grads[name], _np(theirs), rtol=1e-9, atol=1e-12, err_msg=name)


def test_init_params_sets_the_lstm_forget_gate_bias_only():
    params = ns()["init_params"]("lstm", 3, 4, 2, forget_bias=1.0)
    np.testing.assert_array_equal(params["b"], np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    assert not ns()["init_params"]("gru", 3, 4, 2)["b"].any()


def test_the_outcome_rechecks_judge_predictions_not_the_kernels_word():
    """05's re-checks judge a trained model's predictions on inputs the grader draws: a model that knows nothing fails,
    one that does the task passes, and the targets are computed outside the kernel."""
    from autograder.catalogue import training

    rng = np.random.default_rng(10)
    x = training._adding_inputs(rng)["x"]
    truth = (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)
    assert training._adding_judge({"x": x}, {"lstm": truth, "gru": truth + 0.01}) == ""
    assert "lstm" in training._adding_judge({"x": x}, {"lstm": np.ones_like(truth), "gru": truth})  # guessing the mean
    assert "wrong shape" in training._adding_judge({"x": x}, {"lstm": truth[:, 0], "gru": truth})

    inputs = training._names_inputs(rng)
    _, vocab, bigram = training._names_split()
    ids = inputs["x"].astype(int)
    as_bigram = np.log(bigram[ids])  # (N, T, V): the bigram's own log-probabilities do not beat the bigram
    assert "not below the bigram" in training._names_judge(inputs, {"lstm": as_bigram, "gru": as_bigram})
    assert "add up to 1" in training._names_judge(inputs, {"lstm": np.zeros_like(as_bigram), "gru": as_bigram})

    inputs = training._forecast_inputs(rng)
    persistence = inputs["x"][:, -1]
    assert "not below persistence" in training._forecast_judge(inputs, {"lstm": persistence, "gru": persistence})
    _, y_check = training._forecast_windows()
    right = y_check[inputs["rows"].astype(int)]
    assert training._forecast_judge(inputs, {"lstm": right, "gru": right}) == ""



def test_train_counting_from_0_is_told_where_it_went_nan_and_why_not_m_and_v_swapped():
    """t = 0 makes NaN from the second step on, as adam_update with m and v swapped does: NaNs in the same places
    identify neither, so train's test says at which step the losses went non-finite and what usually causes it."""
    from notebook_cells import run_cells

    from autograder.catalogue.training import CATALOGUE

    by_name = {mistake.name: mistake for mistake in CATALOGUE.mistakes}
    told = run_cells(SOLUTIONS / CATALOGUE.notebook, by_name["t starts at 0"])["train_example"]
    assert "The loss of step 2" in told and "t starts at 0" in told and "1 - beta1**0 = 0" in told, told
    assert "m and v swapped" not in told and "known mistake" not in told, told
    swapped = run_cells(SOLUTIONS / CATALOGUE.notebook, by_name["m and v swapped"])["train_example"]
    assert "Fix adam_update first" in swapped and "t starts at 0" not in swapped, swapped


def test_the_hint_for_adam_without_bias_correction_says_what_a_learner_sees():
    """Without the correction v stays too small for hundreds of steps: every step is larger than Adam's, about 6 times
    at t = 10 and 3 times at t = 100 (05's memory runs even train faster so). The hint says that, not 'too small'."""
    from autograder.catalogue.training import CATALOGUE
    from autograder.examples import solution_namespace

    mistake = next(m for m in CATALOGUE.mistakes if m.name == "Adam without bias correction")
    assert "6 times at t = 10, 3 times at t = 100" in mistake.hint and "too small or" not in mistake.hint
    wrong = solution_namespace(SOLUTIONS / CATALOGUE.notebook, mistake)["adam_update"]
    right = ns()["adam_update"]
    g = np.array([0.3, -2.0, 5.0])  # the same gradient at every step: Adam's step is then exactly lr
    states = {"right": (np.zeros(3), np.zeros(3), np.zeros(3)), "wrong": (np.zeros(3), np.zeros(3), np.zeros(3))}
    ratios = {}
    for t in range(1, 1001):
        steps = {}
        for name, update in [("right", right), ("wrong", wrong)]:
            w, m, v = states[name]
            states[name] = update(w, g, m, v, t, lr=1e-3, eps=0.0)
            steps[name] = np.abs(states[name][0] - w)
        ratios[t] = float(np.mean(steps["wrong"] / steps["right"]))
    assert min(ratios.values()) > 1
    assert 6 < ratios[10] < 7 and 3 < ratios[100] < 3.5


def test_at_T_10_the_tanh_rnn_learns_but_several_times_worse_than_the_gated_cells():
    """05's text: at T = 10 all three are far below guessing the mean (0.167), the tanh RNN's error several times
    the LSTM's and the GRU's (about 0.01 against 0.001), on the notebook's seed and two others."""
    from rnnlab.data import adding_problem

    namespace = ns()
    for seed in (0, 1, 2):
        errors = {}
        for cell in ("rnn", "lstm", "gru"):
            params = namespace["init_params"](cell, 2, 12, 1, seed=seed)
            batches = [adding_problem(32, 10, seed=1000 * seed + step) for step in range(1000)]
            namespace["train"](params, namespace["regression_loss"](cell), batches, lr=5e-3, max_norm=1.0)
            x_val, y_val = adding_problem(1000, 10, seed=10**6 + 10)
            errors[cell] = namespace["mse_loss"](namespace["predict"](cell, params, x_val), y_val)[0]
        assert errors["rnn"] < 0.167 / 10, errors
        assert errors["rnn"] > 2.5 * max(errors["lstm"], errors["gru"]), errors
