"""Tests for rnnlab.gradient_flow, the numbers behind the vanishing-gradient explorer: per-step
Jacobians and norms through time against finite differences of the network, and against closed
forms (a linear RNN with scaled orthogonal weights, an LSTM with zero weights, Pascanu's bound);
its table of cell kinds against the cells' equations, and as the one home of what the explorer
knows about each cell."""

import ast
import functools
from pathlib import Path

import numpy as np
import pytest

from rnnlab import gradient_flow
from rnnlab.gradient_flow import CELL_KINDS, CELLS, DEFAULTS, INITS, MAX_NORM_POINTS, StepJacobians

RNNLAB = Path(gradient_flow.__file__).parent


def settings(**changes):
    return {**DEFAULTS, **changes}


def logistic(x):
    return 1 / (1 + np.exp(-x))


# The math against an independent oracle: finite differences of the network -------------------


def final_state(cell, Wh, bias, drive, state):
    """Run the network from `state` (h, or h and c stacked for the LSTM) over `drive`; return the last state."""
    H = Wh.shape[0]
    run = gradient_flow.run(cell, Wh, bias, drive, state[:H], state[H:] if cell == "lstm" else None)
    return np.concatenate([run["h"][-1], run["c"][-1]]) if cell == "lstm" else run["h"][-1]


def numerical_jacobian(f, x, h=1e-5):
    """Centred finite differences, float64: column j is (f(x + h e_j) - f(x - h e_j)) / 2h."""
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.stack(columns, axis=1)


def small_network(cell):
    # A gain that keeps every cell's norms between about 1e-3 and 1e3 over 10 steps, where
    # finite differences are accurate (the sigmoid cell shrinks by gamma = 1/4 per step).
    return settings(cell=cell, hidden_size=4, T=10, gain=3.5 if cell == "sigmoid" else 1.3,
                    gain_by="singular value", input_scale=0.8, gate_bias=0.5, seed=8)


def start_state(run, cell, t):
    return np.concatenate([run["h_prev"][t], run["c_prev"][t]]) if cell == "lstm" else run["h_prev"][t]


@pytest.mark.parametrize("cell", CELLS)
def test_step_jacobians_match_finite_differences_of_one_step(cell):
    """J_t[i, j] = d s_t[i] / d s_{t-1}[j], entry by entry (a transposed or elementwise J fails here)."""
    config = small_network(cell)
    Wh, bias, drive = gradient_flow.network(**config)
    run = gradient_flow.run(cell, Wh, bias, drive)
    jacobians = gradient_flow.step_jacobians(cell, Wh, run).dense()
    for t in range(config["T"]):
        numeric = numerical_jacobian(lambda s: final_state(cell, Wh, bias, drive[t:t + 1], s), start_state(run, cell, t))
        np.testing.assert_allclose(jacobians[t], numeric, rtol=1e-6, atol=1e-9, err_msg=f"{cell}, step {t + 1}")


@pytest.mark.parametrize("input_scale, gate_bias", [(1.0, 1.0), (12.0, 20.0), (12.0, -20.0), (40.0, 0.0)])
def test_lstm_slopes_are_the_complex_step_of_its_equations_to_rounding_even_in_saturated_units(input_scale, gate_bias):
    """The LSTM's unit-by-unit derivatives (closed form) are a complex step through its equations (numpy's complex
    exp and tanh, accurate in both tails), relatively, also where gates saturate: sigma (1 - sigma) or 1 - tanh**2
    from the rounded gates would be 0 or wrong there."""
    config = settings(cell="lstm", hidden_size=16, T=40, gain=1.5, input_scale=input_scale, gate_bias=gate_bias, seed=3)
    Wh, bias, drive = gradient_flow.network(**config)
    run = gradient_flow.run("lstm", Wh, bias, drive)
    by_block, by_c = gradient_flow._lstm_slopes(run, run["recurrent"])
    H, step = 16, 1e-20

    def state(a, c_prev):  # (h_t, c_t) side by side
        i, f, o = (1 / (1 + np.exp(-a[:, b * H:(b + 1) * H])) for b in (0, 1, 3))
        c = f * c_prev + i * np.tanh(a[:, 2 * H:3 * H])
        c = run["c"] + 1j * np.imag(c)  # the run's c_t (where it cancels, rounded in another order), moved as c moved
        return np.concatenate([o * np.tanh(c), c], axis=1)

    a = (run["inputs"] + run["recurrent"]).astype(complex)
    for block in range(4):
        moved = a.copy()
        moved[:, block * H:(block + 1) * H] += 1j * step
        np.testing.assert_allclose(by_block[block], np.imag(state(moved, run["c_prev"])) / step, rtol=1e-13, atol=0,
                                   err_msg=f"gate block {block}")
    expected = np.imag(state(a, run["c_prev"] + 1j * step)) / step
    np.testing.assert_allclose(by_c, np.stack([expected[:, :H], expected[:, H:]], axis=1), rtol=1e-13, atol=0)
    if input_scale > 1:  # the tails were reached: a gate slope far below what 1 - sigma can resolve
        assert np.min(np.abs(by_block[1, :, H:][by_block[1, :, H:] != 0])) < 1e-17


@pytest.mark.parametrize("cell", CELLS)
def test_norms_match_finite_differences_of_the_network(cell):
    """||ds_T / ds_{T-k}||_2 for every k, against the spectral norm of the finite-difference Jacobian."""
    config = small_network(cell)
    Wh, bias, drive = gradient_flow.network(**config)
    run = gradient_flow.run(cell, Wh, bias, drive)
    data = gradient_flow.compute(config)
    T = config["T"]
    np.testing.assert_array_equal(data["k"], np.arange(T + 1))
    assert data["norms"][0] == 1.0  # k = 0: ds_T / ds_T is the identity
    for k in range(1, T + 1):
        numeric = numerical_jacobian(lambda s: final_state(cell, Wh, bias, drive[T - k:], s), start_state(run, cell, T - k))
        np.testing.assert_allclose(data["norms"][k], np.linalg.norm(numeric, 2), rtol=1e-6, err_msg=f"{cell}, k = {k}")
    assert data["norms"].max() > 10 * data["norms"][data["norms"] > 0].min(), "the check needs norms that change with k"


def test_lstm_cell_path_is_the_product_of_the_forget_gates_the_sequence_met():
    """The curve "cell state alone" is the highway c_T <- ... <- c_{T-k} only: ||diag(f_T) ... diag(f_{T-k+1})||_2,
    never above 1, while the whole (h, c) gradient of the same network grows (forget bias 5; the c -> c block of
    the full product, which once carried this label, grows with it)."""
    config = settings(cell="lstm", hidden_size=16, T=120, gain=0.5, gate_bias=5.0, seed=3)
    Wh, bias, drive = gradient_flow.network(**config)
    forget_gates = gradient_flow.run("lstm", Wh, bias, drive)["f"]  # (T, H)
    data = gradient_flow.compute(config)
    T = config["T"]
    expected = [np.linalg.norm(np.diag(np.prod(forget_gates[T - k:], axis=0)), 2) for k in data["k"]]
    np.testing.assert_allclose(data["cell_path_norms"], expected, rtol=1e-10)
    assert np.all(np.diff(data["cell_path_norms"]) <= 0) and data["cell_path_norms"][0] == 1.0
    assert data["norms"][-1] > 1 > data["cell_path_norms"][-1]


def test_lstm_cell_path_with_a_constant_forget_gate_is_f_to_the_k():
    """Forget gate held at sigmoid(b_f) (its weights and inputs zero) while every other path is live: the cell
    path is exactly sigmoid(b_f)**k, and the whole network's gradient is not."""
    config = settings(cell="lstm", hidden_size=8, T=60, gain=1.5, input_scale=1.0, gate_bias=2.0, seed=1)
    Wh, bias, drive = gradient_flow.network(**config)
    H = config["hidden_size"]
    Wh, drive = Wh.copy(), drive.copy()
    Wh[:, H:2 * H] = 0.0  # the forget gate's block (order i, f, g, o)
    drive[:, H:2 * H] = 0.0
    run = gradient_flow.run("lstm", Wh, bias, drive)
    forget = logistic(2.0)
    np.testing.assert_array_equal(run["f"], forget)
    steps = np.arange(config["T"] + 1)
    np.testing.assert_allclose(gradient_flow.log_cell_path_norms(run["f"], steps), steps * np.log(forget), rtol=1e-12)
    log_norms = gradient_flow.log_norms_through_time(gradient_flow.step_jacobians("lstm", Wh, run), steps)
    assert np.max(np.abs(log_norms - steps * np.log(forget))) > 1.0  # the other paths count in the whole gradient


def test_norms_are_spectral_norms_of_matrix_products_not_eigenvalues():
    """A linear RNN whose W has both eigenvalues 0.5 still stretches a vector by sigma_max(W) > 3 in one step."""
    W = np.array([[0.5, 3.0], [0.0, 0.5]])
    T = 6
    jacobians = StepJacobians(np.broadcast_to(W.T, (T, 2, 2)), None)  # row-vector convention: J = W^T
    log_norms = gradient_flow.log_norms_through_time(jacobians, np.arange(T + 1))
    expected = [np.linalg.norm(np.linalg.matrix_power(W.T, k), 2) for k in range(T + 1)]
    np.testing.assert_allclose(np.exp(log_norms), expected, rtol=1e-12)
    assert np.exp(log_norms[1]) > 3 and np.max(np.abs(np.linalg.eigvals(W))) == 0.5


def test_norms_survive_products_beyond_the_range_of_float64():
    """1e-400 and 1e+400 are not float64 numbers; their logs are, and the products are rescaled exactly."""
    T = 400
    for rate in (0.1, 10.0):
        jacobians = StepJacobians(np.broadcast_to(rate * np.eye(3), (T, 3, 3)), None)
        log_norms = gradient_flow.log_norms_through_time(jacobians, np.array([0, 200, 400]))
        np.testing.assert_allclose(log_norms, np.array([0, 200, 400]) * np.log(rate), rtol=1e-12)


# The explorer's shortcuts give the numbers of the plain computation ----------------------------


def gated_jacobians(dtype=None, cell="lstm", **changes):
    """The Jacobians of a gated cell at the explorer's default size for them, H = 64, T = 200."""
    config = settings(cell=cell, hidden_size=64, T=200, **changes)
    Wh, bias, drive = gradient_flow.network(**config)
    return gradient_flow.step_jacobians(cell, Wh, gradient_flow.run(cell, Wh, bias, drive), dtype=dtype)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("gain, gate_bias, seed", [(0.5, 1.0, 0), (0.5, 5.0, 1), (0.0, -5.0, 2), (1.0, 10.0, 3),
                                                   (3.0, 1.0, 4), (6.0, -5.0, 5)])
def test_float32_products_of_wide_gated_cells_show_what_float64_shows(cell, gain, gate_bias, seed):
    """Gated cells wider than SINGLE_PRECISION_WIDER_THAN (both at H = 64) make their Jacobians and run their product
    in float32: the curve agrees with float64 far within what the picture can show (relative 1e-4; it is at most
    about 3e-5), zero norms stay zero, and the summary's readout of the last norm (log10, one decimal) is the same."""
    jacobians = gated_jacobians(cell=cell, gain=gain, gate_bias=gate_bias, seed=seed)
    assert jacobians.by_h.dtype == np.float32
    steps = gradient_flow.sampled_steps(200, jacobians.by_h.shape[1])
    exact = gradient_flow.log_norms_through_time(
        gated_jacobians(np.float64, cell=cell, gain=gain, gate_bias=gate_bias, seed=seed), steps, dtype=np.float64)
    shown = gradient_flow.compute(settings(cell=cell, hidden_size=64, T=200, gain=gain, gate_bias=gate_bias,
                                           seed=seed))["log_norms"]  # what the explorer shows
    np.testing.assert_array_equal(shown, gradient_flow.log_norms_through_time(jacobians, steps))
    np.testing.assert_array_equal(np.isfinite(shown), np.isfinite(exact))
    finite = np.isfinite(exact)
    np.testing.assert_allclose(np.exp(shown[finite] - exact[finite]), 1.0, rtol=1e-4)
    assert f"{shown[-1] / np.log(10):.1f}" == f"{exact[-1] / np.log(10):.1f}"


def test_largest_eigenvalues_are_those_of_all_eigenvalues_or_computed_as_those():
    """_largest_eigenvalues (the norms of wide states) proves its Krylov estimate to LANCZOS_TOLERANCE, and hands
    the matrices it cannot prove (close largest eigenvalues) to np.linalg.eigvalsh: every answer is the largest."""
    jacobians = gated_jacobians(np.float64, gain=0.5, gate_bias=1.0)
    rng = np.random.default_rng(0)
    dense = jacobians.dense()
    products = [functools.reduce(np.matmul, dense[-k:]) for k in (1, 2, 7, 30)]
    rotation = np.linalg.qr(rng.standard_normal((128, 128)))[0]
    close = rotation @ np.diag(np.r_[1.0, 1 - 1e-9, rng.random(126) * 0.99]) @ rotation.T  # not provable by Krylov
    matrices = np.stack([p @ p.T for p in products] + [np.eye(128), np.zeros((128, 128)), close])
    expected = np.linalg.eigvalsh(matrices)[:, -1]
    largest = gradient_flow._largest_eigenvalues(matrices)
    np.testing.assert_allclose(largest, expected, rtol=gradient_flow.LANCZOS_TOLERANCE, atol=1e-300)
    assert largest[-1] == expected[-1]  # the one that went to eigvalsh (and the zero matrix)


@pytest.mark.parametrize("cell, hidden_size, T, gain, gate_bias",
                         [(cell, 6, 30, 1.4, 1.0) for cell in CELLS] + [("lstm", 64, 200, 3.0, 5.0),
                                                                        ("lstm", 40, 120, 0.7, -2.0),
                                                                        ("gru", 64, 200, 3.0, 5.0),
                                                                        ("gru", 40, 120, 0.7, -2.0)])
def test_run_gives_each_step_what_the_step_function_gives(cell, hidden_size, T, gain, gate_bias):
    """run keeps only the states in its loop and evaluates every step's gates afterwards, in one batch: they are
    those of _step evaluated step by step (the LSTM's and the GRU's loops, written out with buffers, to the last bit too)."""
    config = settings(cell=cell, hidden_size=hidden_size, T=T, gain=gain, input_scale=1.5, gate_bias=gate_bias, seed=4)
    Wh, bias, drive = gradient_flow.network(**config)
    run = gradient_flow.run(cell, Wh, bias, drive)
    h, c = np.zeros(hidden_size), np.zeros(hidden_size)
    with np.errstate(over="ignore"):
        for t in range(T):
            h_prev = h
            h, c, pre, gates = gradient_flow._step(cell, drive[t] + bias, h, h @ Wh, Wh, c)
            np.testing.assert_array_equal(run["h_prev"][t], h_prev)
            np.testing.assert_array_equal(run["h"][t], h)
            np.testing.assert_allclose(run["pre"][t], pre, rtol=1e-13, atol=1e-15)
            for name, gate in gates.items():
                np.testing.assert_allclose(run[name][t], gate, rtol=1e-13, atol=1e-15, err_msg=f"{cell} {name} {t}")
            if cell == "lstm":
                np.testing.assert_array_equal(run["c"][t], c)
            if cell in ("lstm", "gru"):  # their loops keep the gates
                np.testing.assert_array_equal(run["pre"][t], pre)
                for name, gate in gates.items():
                    np.testing.assert_array_equal(run[name][t], gate, err_msg=f"{cell} {name} {t}")


@pytest.mark.parametrize("cell", CELLS)
def test_a_shorter_t_cut_from_a_longer_sequence_gives_what_computing_it_gives(cell, monkeypatch):
    """compute keeps the longest sequence of a setting and cuts shorter T from it: the numbers are those of a fresh
    computation; any other setting, or a longer T, computes anew."""
    config = settings(cell=cell, hidden_size=8, T=70, gain=1.2, gate_bias=2.0, seed=9)
    gradient_flow._SEQUENCES.clear()
    gradient_flow.compute(config)
    runs = []
    real_run = gradient_flow.run
    monkeypatch.setattr(gradient_flow, "run", lambda *args: runs.append(args) or real_run(*args))
    cut = gradient_flow.compute({**config, "T": 45})
    assert runs == []
    gradient_flow._SEQUENCES.clear()
    fresh = gradient_flow.compute({**config, "T": 45})
    assert len(runs) == 1
    for name, value in fresh.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(cut[name], value, rtol=1e-12, atol=1e-300, err_msg=name)
        elif name != "settings":
            assert cut[name] == value, name
    np.testing.assert_array_equal(cut["states"], fresh["states"])
    for change in [{"gain": 1.3}, {"seed": 10}, {"input_scale": 0.5}, {"T": 80}]:
        gradient_flow.compute({**config, "T": 45, **change})
    assert len(runs) == 5  # each computed anew
    gradient_flow.compute({**config, "T": 75})
    assert len(runs) == 5  # cut from T = 80


def test_cells_share_the_blocks_they_have_in_common_whatever_was_drawn_first():
    """The recurrent blocks are cached one by one (a GRU after an LSTM draws nothing new): the weights do not depend on
    which cell asked first, and the tanh RNN's W is the GRU's W_n and the LSTM's W_g."""
    def weights():
        return {cell: gradient_flow._unit_gain_weights(cell, 10, "orthogonal", "spectral radius", 7) for cell in CELLS}

    gradient_flow._unit_block.cache_clear()
    gradient_flow._unit_gain_blocks.cache_clear()
    lstm_first = {cell: gradient_flow._unit_gain_weights(cell, 10, "orthogonal", "spectral radius", 7)
                  for cell in reversed(CELLS)}
    gradient_flow._unit_block.cache_clear()
    gradient_flow._unit_gain_blocks.cache_clear()
    for cell, (Wh, eigenvalues, sigma_max) in weights().items():
        np.testing.assert_array_equal(Wh, lstm_first[cell][0])
        np.testing.assert_array_equal(eigenvalues, lstm_first[cell][1])
        assert sigma_max == lstm_first[cell][2]
        kind = CELL_KINDS[cell]
        candidate = Wh[:, kind.candidate_block * 10:(kind.candidate_block + 1) * 10]
        np.testing.assert_array_equal(candidate, lstm_first["tanh"][0])
        np.testing.assert_allclose(np.sort_complex(eigenvalues), np.sort_complex(np.linalg.eigvals(candidate)))
    lstm, gru = lstm_first["lstm"][0], lstm_first["gru"][0]
    np.testing.assert_array_equal(lstm[:, :30], gru)  # i, f, g of the LSTM are drawn as r, z, n of the GRU


# Closed forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
@pytest.mark.parametrize("rho", [0.9, 1.0, 1.1])
def test_linear_rnn_with_scaled_orthogonal_weights_has_norms_rho_to_the_k(init, rho):
    data = gradient_flow.compute(settings(cell="linear", init=init, gain=rho, hidden_size=16, T=60, seed=5))
    np.testing.assert_allclose(data["norms"], rho ** data["k"], rtol=1e-12)
    np.testing.assert_allclose(data["envelope"], rho ** data["k"], rtol=1e-12)  # the bound is exact here


@pytest.mark.parametrize("forget_bias", [-1.0, 1.0, 5.0])
def test_lstm_with_zero_weights_keeps_sigmoid_of_the_forget_bias_per_step(forget_bias):
    """Zero weights and inputs: c_t = sigmoid(b_f) c_{t-1}, and h_t = 0.5 tanh(c_t) reads it."""
    data = gradient_flow.compute(settings(cell="lstm", gain=0.0, input_scale=0.0, gate_bias=forget_bias,
                                          hidden_size=8, T=50))
    forget = logistic(forget_bias)
    k = data["k"]
    np.testing.assert_allclose(data["cell_path_norms"], forget ** k, rtol=1e-12)
    np.testing.assert_allclose(data["envelope"], forget ** k, rtol=1e-12)
    # The whole (h, c) state: dh_T / dc_{T-k} = 0.5 * forget**k beside dc_T / dc_{T-k} = forget**k.
    np.testing.assert_allclose(data["norms"][1:], forget ** k[1:] * np.sqrt(1.25), rtol=1e-12)
    assert data["horizon"] == pytest.approx(-1 / np.log(forget))


def test_gru_with_its_update_gate_pinned_to_one_keeps_the_gradient():
    data = gradient_flow.compute(settings(cell="gru", gate_bias=50.0, gain=1.5, input_scale=2.0, hidden_size=16, T=80))
    assert np.all(data["gates"] == 1.0)  # sigmoid(50 + O(10)) is 1 in float64
    np.testing.assert_allclose(data["norms"], 1.0, rtol=1e-12)  # the complex-step derivative rounds last digits


@pytest.mark.parametrize("cell", ["linear", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("gain_by", ["spectral radius", "singular value"])
def test_plain_cells_stay_below_the_pascanu_bound(cell, gain_by):
    """||dh_T / dh_{T-k}|| <= (gamma sigma_max(W))**k; with the spectral radius instead it would fail."""
    for gain, seed in [(0.8, 0), (1.5, 1), (3.0, 2)]:
        data = gradient_flow.compute(settings(cell=cell, gain=gain, gain_by=gain_by, seed=seed, T=80))
        assert np.all(data["log_norms"] <= data["log_envelope"] + 1e-9), (cell, gain)
        gamma = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}[cell]  # sup phi'
        np.testing.assert_allclose(data["envelope"], (gamma * data["sigma_max"]) ** data["k"], rtol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("init", INITS)
def test_gain_is_the_spectral_radius_or_the_largest_singular_value_of_every_block(cell, init):
    H = 12
    for gain_by, measure in [("spectral radius", lambda m: np.max(np.abs(np.linalg.eigvals(m)))),
                             ("singular value", lambda m: np.linalg.norm(m, 2))]:
        Wh, _, _ = gradient_flow.network(**settings(cell=cell, init=init, gain=1.7, gain_by=gain_by, hidden_size=H))
        for block in range(CELL_KINDS[cell].blocks):
            assert measure(Wh[:, block * H:(block + 1) * H]) == pytest.approx(1.7, rel=1e-10), (gain_by, block)


def test_sampled_steps_keep_both_ends_and_every_step_of_short_sequences():
    np.testing.assert_array_equal(gradient_flow.sampled_steps(30, 64), np.arange(31))
    for state_size, most in [(64, MAX_NORM_POINTS), (128, MAX_NORM_POINTS // 3 + 1)]:
        steps = gradient_flow.sampled_steps(200, state_size)
        assert steps[0] == 0 and steps[-1] == 200 and len(steps) == most and np.all(np.diff(steps) > 0)



# The table of cell kinds: true of the equations, and the only place that knows the cells --------


@pytest.mark.parametrize("cell", CELLS)
def test_each_cell_kind_states_what_its_equations_do(cell):
    """gamma is sup phi' (by finite differences), h stays in the stated range, the weights have the stated blocks,
    the memory gate is the block gate_bias sets and the gate compute reports, and only a cell state adds a path."""
    kind = CELL_KINDS[cell]
    a = np.linspace(-6, 6, 12001)
    slope = (kind.activation(a + 1e-6) - kind.activation(a - 1e-6)) / 2e-6
    assert np.max(slope) == pytest.approx(kind.gamma, rel=1e-6)
    config = settings(cell=cell, hidden_size=6, T=40, gain=2.5, input_scale=2.0, gate_bias=3.0, seed=2)
    Wh, bias, drive = gradient_flow.network(**config)
    assert Wh.shape == (6, 6 * kind.blocks) and drive.shape == (40, 6 * kind.blocks)
    data = gradient_flow.compute(config)
    if kind.state_range is not None:
        low, high = kind.state_range
        assert low <= data["states"].min() and data["states"].max() <= high
    else:
        assert np.max(np.abs(data["states"])) > 1  # unbounded: a range would cut it off
    run = gradient_flow.run(cell, Wh, bias, drive)
    if kind.memory_gate is None:
        assert not np.any(bias) and data["gates"] is None
    else:
        block = kind.memory_gate.block
        np.testing.assert_array_equal(np.flatnonzero(bias), np.arange(block * 6, (block + 1) * 6))
        np.testing.assert_array_equal(data["gates"], run[kind.memory_gate.symbol])
    assert (data["cell_path_norms"] is not None) == kind.cell_state == ("c" in run)
    candidate = Wh[:, kind.candidate_block * 6:(kind.candidate_block + 1) * 6]
    np.testing.assert_allclose(np.sort_complex(data["eigenvalues"]), np.sort_complex(np.linalg.eigvals(candidate)))


def _cell_name_constants(tree):
    """The string literals in a module's syntax tree that are a cell's name, but for a preset's "cell": value."""
    presets = {id(value) for node in ast.walk(tree) if isinstance(node, ast.Dict)
               for key, value in zip(node.keys, node.values) if isinstance(key, ast.Constant) and key.value == "cell"}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in CELLS and id(node) not in presets]


def _dicts_keyed_by_cells(tree):
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Dict)
            and any(isinstance(key, ast.Constant) and key.value in CELLS for key in node.keys)]


@pytest.mark.parametrize("module", sorted(path.stem for path in RNNLAB.glob("*.py")))
def test_cell_kinds_is_the_only_table_of_cells(module):
    """What the explorer knows about each cell lives in CELL_KINDS: no other dict keyed by cell names in rnnlab,
    and the pictures and controls never test for a cell by name (they read its row)."""
    tree = ast.parse((RNNLAB / f"{module}.py").read_text())
    assert len(_dicts_keyed_by_cells(tree)) == (1 if module == "gradient_flow" else 0), _dicts_keyed_by_cells(tree)
    if module in ("gradient_pictures", "widgets"):
        assert not _cell_name_constants(tree)


def test_the_check_for_tables_of_cells_finds_them():
    """The two checks above catch the forms the explorer's per-cell facts once had."""
    old = ast.parse('GAMMA = {"linear": 1.0, "sigmoid": 0.25}\nx = {"lstm": "b_f"}.get(cell)\n'
                    'if cell in ("gru", "lstm"): pass\nPRESETS = {"a": {"cell": "tanh", "T": 10}}')
    assert _dicts_keyed_by_cells(old) == [1, 2]
    assert sorted(_cell_name_constants(old)) == ["gru", "linear", "lstm", "lstm", "sigmoid"]
