"""Notebook 06's graph cells and search tools against independent oracles: the tanh RNN, GRU and
LSTM graphs against the course's own reference cells (01, 03, 04) and torch.nn, the graph's
backward pass against finite differences and torch autograd, and the search operators'
promises (valid children, untouched parents, reproducible runs) on many random cells."""

import functools

import numpy as np
import pytest
import torch
from conftest import SOLUTIONS

from autograder.examples import solution_namespace
from rnnlab.gradcheck import compare_gradients, gradient_errors


@functools.cache
def ns():
    return solution_namespace(SOLUTIONS / "06_cell_search" / "06_cell_search.ipynb")


@functools.cache
def reference(assignment):
    return solution_namespace(SOLUTIONS / assignment / f"{assignment}.ipynb")


def _packed(rng, D, H, k):
    return rng.normal(size=(D, k * H)), rng.normal(size=(H, k * H)), rng.normal(size=k * H)


@pytest.mark.parametrize(("N", "T", "D", "H"), [(3, 6, 4, 5), (1, 1, 2, 3), (2, 9, 1, 7)])
def test_the_designed_graphs_equal_the_course_cells(N, T, D, H):
    """The graph versions of 01's tanh RNN, 03's LSTM and 04's GRU give the same states, to 1e-12."""
    rng = np.random.default_rng(N * T + D)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _packed(rng, D, H, 1)
    ours, _ = ns()["cell_forward"](ns()["RNN_CELL"], {"W3_0": Wx, "W3_1": Wh, "b3": b}, x, h0)
    np.testing.assert_allclose(ours, reference("01_rnn")["rnn_forward"](x, h0, Wx, Wh, b)[0], rtol=1e-12, atol=1e-12)
    for name, assignment, forward, k in [("LSTM", "03_lstm", "lstm_forward", 4), ("GRU", "04_gru", "gru_forward", 3)]:
        Wx, Wh, b = _packed(rng, D, H, k)
        ours, _ = ns()["cell_forward"](ns()["CELLS"][name], ns()["graph_params"](name, Wx, Wh, b), x, h0)
        theirs, _ = reference(assignment)[forward](x, h0, Wx, Wh, b)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=name)



def test_the_lstm_graph_equals_torch_autograd():
    """Forward states and every gradient of the LSTM graph against torch.nn.LSTM (float64)."""
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 5, 3, 4
    x, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, H))
    Wx, Wh, b = _packed(rng, D, H, 4)
    params = ns()["graph_params"]("LSTM", Wx, Wh, b)
    h, cache = ns()["cell_forward"](ns()["LSTM_CELL"], params, x, np.zeros((N, H)))
    dx, _, grads = ns()["cell_backward"](dh, cache)
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(Wx.T))
        lstm.weight_hh_l0.copy_(torch.tensor(Wh.T))
        lstm.bias_ih_l0.copy_(torch.tensor(b))
        lstm.bias_hh_l0.zero_()
    tx = torch.tensor(x, requires_grad=True)
    th, _ = lstm(tx)
    th.backward(torch.tensor(dh))
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    dWx = np.concatenate([grads[f"W{3 + k}_0"] for k in range(4)], axis=1)
    dWh = np.concatenate([grads[f"W{3 + k}_1"] for k in range(4)], axis=1)
    np.testing.assert_allclose(dWx, lstm.weight_ih_l0.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dWh, lstm.weight_hh_l0.grad.numpy().T, rtol=1e-10, atol=1e-12)


def _random_cells(count, seed, max_nodes=6):
    rng = np.random.default_rng(seed)
    return [ns()["random_cell"](rng, int(rng.integers(1, max_nodes + 1))) for _ in range(count)]


@pytest.mark.parametrize("which", ["RNN_CELL", "GRU_CELL", "LSTM_CELL", "FULL_CELL", "random"])
def test_graph_gradients_equal_finite_differences(which):
    cells = _random_cells(6, 11) if which == "random" else [ns()[which]]
    rng = np.random.default_rng(5)
    for cell in cells:
        params = ns()["init_cell_params"](cell, 2, 3, rng)
        names = list(params)

        def forward(x, h0, **weights):
            return ns()["cell_forward"](cell, weights, x, h0)

        def backward(dh, cache):
            dx, dh0, grads = ns()["cell_backward"](dh, cache)
            return (dx, dh0, *(grads[name] for name in names))

        pairs = compare_gradients(forward, backward, {"x": rng.normal(size=(2, 4, 2)), "h0": rng.normal(size=(2, 3)),
                                                      **params})
        errors = gradient_errors(pairs)
        assert max(errors.values()) < 1e-7, (cell, errors)


def test_a_cell_without_c_carries_c_unchanged_and_h_output_may_be_a_leaf():
    cell = {"nodes": [("tanh", (0, 1))], "h": 1, "c": None}  # h' = h: the node is unused
    x, h0 = np.ones((2, 3, 2)), np.arange(6.0).reshape(2, 3)
    h, _ = ns()["cell_forward"](cell, ns()["init_cell_params"](cell, 2, 3, np.random.default_rng(0)), x, h0)
    np.testing.assert_array_equal(h[:, -1], h0)


def test_cell_errors_names_cycles_dangling_inputs_and_arity():
    errors = ns()["cell_errors"]
    assert errors(ns()["GRU_CELL"]) == [] and errors(ns()["LSTM_CELL"]) == []
    assert "cycle" in errors({"nodes": [("tanh", (0, 3))], "h": 3, "c": None})[0]
    assert "cycle or a dangling input" in errors({"nodes": [("tanh", (0, 7))], "h": 3, "c": None})[0]
    assert "at least two" in errors({"nodes": [("mul", (1,))], "h": 3, "c": None})[0]
    assert "reads x" in errors({"nodes": [("mul", (0, 1))], "h": 3, "c": None})[0]
    assert "does not have" in errors({"nodes": [("tanh", (0, 1))], "h": 9, "c": None})[0]


def test_cell_to_array_round_trips_and_simplify_keeps_what_a_cell_computes():
    rng = np.random.default_rng(2)
    for cell in _random_cells(50, 3) + [ns()["GRU_CELL"], ns()["LSTM_CELL"]]:
        assert ns()["cell_from_array"](ns()["cell_to_array"](cell)) == cell
    # a cell with an unused node computes the same after simplify
    cell = {"nodes": [("sigmoid", (0, 1)), ("tanh", (0, 1)), ("mul", (1, 4))], "h": 5, "c": None}
    small = ns()["simplify"](cell)
    assert len(small["nodes"]) == 2
    params = ns()["init_cell_params"](cell, 2, 3, rng)
    renamed = {"W3_0": params["W4_0"], "W3_1": params["W4_1"], "b3": params["b4"]}
    x, h0 = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3))
    np.testing.assert_allclose(ns()["cell_forward"](cell, params, x, h0)[0], ns()["cell_forward"](small, renamed, x, h0)[0])


def test_mutations_and_crossovers_of_many_random_cells_are_valid_and_leave_their_parents():
    rng = np.random.default_rng(7)
    cells = _random_cells(80, 8)
    for a, b in zip(cells, cells[1:]):
        before = (ns()["cell_to_array"](a).copy(), ns()["cell_to_array"](b).copy())
        child = ns()["mutate"](a, rng)
        assert ns()["cell_errors"](child) == [] and ns()["cell_key"](child) != ns()["cell_key"](a), (a, child)
        for i in range(3, 3 + len(a["nodes"])):
            for j in range(3, 3 + len(b["nodes"])):
                child = ns()["crossover"](a, b, i, j)
                assert ns()["cell_errors"](child) == [], (a, b, i, j, child)
                assert child["h"] >= 3
        np.testing.assert_array_equal(ns()["cell_to_array"](a), before[0])
        np.testing.assert_array_equal(ns()["cell_to_array"](b), before[1])


def test_every_expansion_is_valid_new_and_one_addition_away():
    for cell in [ns()["RNN_CELL"], ns()["GRU_CELL"], *_random_cells(20, 10)]:
        options = ns()["expansions"](cell)
        keys = [ns()["cell_key"](option) for option in options]
        assert len(set(keys)) == len(keys) and ns()["cell_key"](cell) not in keys
        for option in options:
            assert ns()["cell_errors"](option) == []
            assert 1 <= len(option["nodes"]) - len(ns()["simplify"](cell)["nodes"]) <= 2


def test_the_gru_is_two_additions_from_nowhere_but_the_lstm_needs_c():
    """expansions reach a gated, additive cell: the tanh RNN with a kept state and a gate on it."""
    kept = [o for o in ns()["expansions"](ns()["RNN_CELL"]) if ("add", (1, 3)) in o["nodes"]]
    assert kept, "keep the state on the output: h' = h + tanh(x, h)"
    gated = [o for o in ns()["expansions"](kept[0]) if any(op == "mul" for op, _ in o["nodes"])]
    assert any("gate" in line for o in gated for line in ns()["memory_paths"](o))


def test_genetic_search_is_reproducible_and_keeps_the_best_cell():
    """With a made-up fitness (no training), two runs from one seed agree, and the best loss never gets worse."""
    def made_up(cell):
        return 1.0 / (1 + sum(op == "mul" for op, _ in cell["nodes"])) + 0.01 * len(cell["nodes"])

    first = ns()["genetic_search"](made_up, np.random.default_rng(3), population_size=8, generations=5)
    second = ns()["genetic_search"](made_up, np.random.default_rng(3), population_size=8, generations=5)
    assert first[0] == second[0] and list(first[1]) == list(second[1])
    seen = first[1]
    assert all(ns()["cell_errors"](cell) == [] for cell, _ in seen.values())
    assert min(loss for _, loss in seen.values()) < made_up(ns()["RNN_CELL"])


def test_pruning_tools_count_and_remove_what_they_say():
    full = ns()["FULL_CELL"]
    connections = ns()["connections"](full)
    assert len(connections) == 10
    params = ns()["init_cell_params"](full, 2, 8, np.random.default_rng(0))
    assert ns()["count_parameters"](full, 2, 8) == sum(v.size for v in params.values())
    cell, smaller = ns()["without_connection"](full, params, 6, 4)
    assert (6, 4) not in ns()["connections"](cell) and "W6_4" not in smaller and "W6_4" in params
    assert ns()["count_parameters"](cell, 2, 8) == ns()["count_parameters"](full, 2, 8) - 64


def test_memory_paths_names_the_gates_and_additive_paths_of_the_designed_cells():
    paths = ns()["memory_paths"]
    assert paths(ns()["RNN_CELL"]) == ["no gate and no additive path"]
    gru = " ".join(paths(ns()["GRU_CELL"]))
    assert "gate" in gru and "additive path" in gru
