"""Notebook 06's graph cells and search tools against independent oracles: the tanh RNN, GRU and
LSTM graphs against the course's own reference cells (01, 03, 04) and torch.nn, the graph's
backward pass against finite differences and torch autograd, and the search operators'
promises (valid children, untouched parents, reproducible runs) on many random cells."""

import functools

import numpy as np
import pytest
import torch
from conftest import SOLUTIONS, read_notebook, source
from notebook_cells import run_cells

from autograder.catalogue import Mutant
from autograder.examples import solution_namespace
from rnnlab.gradcheck import compare_gradients, gradient_errors


NOTEBOOK = SOLUTIONS / "06_cell_search" / "06_cell_search.ipynb"


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


def test_a_cell_without_c_carries_c_unchanged_and_a_leaf_output_runs_but_is_not_a_valid_cell():
    cell = {"nodes": [("tanh", (0, 1))], "h": 1, "c": None}  # h' = h: the node is unused
    x, h0 = np.ones((2, 3, 2)), np.arange(6.0).reshape(2, 3)
    h, _ = ns()["cell_forward"](cell, ns()["init_cell_params"](cell, 2, 3, np.random.default_rng(0)), x, h0)
    np.testing.assert_array_equal(h[:, -1], h0)
    assert "not a node" in ns()["cell_errors"](cell)[0]


def test_a_cell_without_a_node_is_invalid():
    """A removal used to leave {"nodes": [], "h": 1}, which cell_errors accepted and the next mutate crashed on."""
    for cell in ({"nodes": [], "h": 1, "c": None}, {"nodes": [], "h": 0, "c": None}):
        assert ns()["cell_errors"](cell), cell
    assert ns()["cell_errors"](ns()["simplify"]({"nodes": [("tanh", (0, 1))], "h": 1, "c": None}))


ONE_AND_TWO_NODE_PARENTS = [{"nodes": [("tanh", (0, 1))], "h": 3, "c": None}, {"nodes": [("relu", (1,))], "h": 3, "c": None},
                            {"nodes": [("linear", (0,))], "h": 3, "c": None},
                            {"nodes": [("sigmoid", (0, 1)), ("mul", (1, 3))], "h": 4, "c": None},
                            {"nodes": [("tanh", (0, 1)), ("squash", (3,))], "h": 4, "c": None},
                            {"nodes": [("tanh", (0, 1)), ("add", (1, 3))], "h": 4, "c": None}]


def test_mutate_on_one_and_two_node_parents_always_gives_a_valid_new_cell():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        for parent in ONE_AND_TWO_NODE_PARENTS:
            for _ in range(25):
                child = ns()["mutate"](parent, rng)
                assert ns()["cell_errors"](child) == [], (parent, child)
                assert ns()["cell_key"](child) != ns()["cell_key"](parent)


def test_next_generation_chained_over_many_generations_only_makes_valid_cells():
    def made_up(cell):
        return 1.0 / (1 + sum(op == "mul" for op, _ in cell["nodes"])) + 0.01 * len(cell["nodes"])

    for seed in range(10):
        rng = np.random.default_rng(seed)
        population = [ns()["random_cell"](rng, int(rng.integers(1, 3))) for _ in range(8)]
        for _ in range(15):
            population = ns()["next_generation"](population, [made_up(cell) for cell in population], rng)
            assert all(ns()["cell_errors"](cell) == [] for cell in population)


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


def test_memory_paths_sees_no_additive_path_where_h_cancels_out():
    """h' = h + (1 - (h + n3)) = 1 - n3: a sum that h reaches, but h' does not depend on h that way."""
    def additive(cell):
        return any(line.startswith("an additive path") for line in ns()["memory_paths"](cell))

    cancels = {"nodes": [("tanh", (0, 1)), ("add", (1, 3)), ("one_minus", (4,)), ("add", (1, 5))], "h": 6, "c": None}
    assert not additive(cancels), ns()["memory_paths"](cancels)
    flipped = {"nodes": [("tanh", (0, 1)), ("add", (1, 3)), ("one_minus", (4,)), ("add", (3, 5))], "h": 6, "c": None}
    assert additive(flipped)  # 1 - (h + n3) + n3 = 1 - h: h' still changes with h, with no weight on the way
    assert additive({"nodes": [("tanh", (0, 1)), ("add", (1, 3))], "h": 4, "c": None})
    assert additive({"nodes": [("tanh", (0, 1)), ("add", (1, 3)), ("mul", (1, 4)), ("add", (1, 5))], "h": 6, "c": None})


@pytest.mark.parametrize("name", ["GRU", "LSTM"])
def test_no_arrow_of_the_designed_cells_passes_through_another_node(name):
    """The notebook's picture of the three cells: every arrow stays out of the boxes of the nodes it does not join."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1, 2, 2.4]})
    for ax, (cell_name, cell) in zip(axes, ns()["CELLS"].items()):
        ns()["draw_cell"](cell, ax, cell_name)
    plt.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = axes[list(ns()["CELLS"]).index(name)]
    nodes = [(tuple(t.get_position()), t.get_bbox_patch().get_window_extent(renderer)) for t in ax.texts
             if getattr(t, "arrow_patch", None) is None and t.get_bbox_patch() is not None]
    crossing = []
    for arrow in [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]:
        path = arrow.arrow_patch.get_transform().transform_path(arrow.arrow_patch.get_path())
        corners = np.concatenate(path.to_polygons(closed_only=False))
        points = np.concatenate([np.linspace(a, b, 30) for a, b in zip(corners[:-1], corners[1:])])
        crossing += [(arrow.xyann, arrow.xy, where) for where, box in nodes if where not in (tuple(arrow.xy), tuple(arrow.xyann))
                     and np.any((box.x0 < points[:, 0]) & (points[:, 0] < box.x1) & (box.y0 < points[:, 1]) & (points[:, 1] < box.y1))]
    plt.close(fig)
    assert not crossing, f"arrows (from, to) through the node at: {crossing}"


def test_op_backwards_worked_example_gives_mul_three_inputs():
    import json

    expected = json.loads((SOLUTIONS / "06_cell_search" / "reference.json").read_text())["op_backward"]["expected"]
    assert expected["mul_count"] == 3 and "mul_d2" in expected and "add_d2" in expected


def _mutated(function, old, new):
    return Mutant(function, "not catalogued", "", old, new)


INVALID_MUTATES = {  # mistakes that make invalid children other than a cycle
    "an op of another kind": ("family = next(f for f in (LEARNED, COMBINE, UNARY) if op in f)", "family = OPS"),
    "x fed to mul": ("(op in LEARNED or v != 0)", "True"),
    "a duplicate input": ("v != 2 and v not in inputs and", "v != 2 and"),
}


@pytest.mark.parametrize("mistake", sorted(INVALID_MUTATES))
def test_an_invalid_child_is_shown_with_its_sentence_not_named_a_cycle(mistake):
    """mutate's and next_generation's cells used to say "rewired to a later value (a cycle)" for any invalid child."""
    results = run_cells(NOTEBOOK, _mutated("mutate", *INVALID_MUTATES[mistake]))
    for cell in ("mutate_example", "next_generation_example", "next_generation_chained"):
        error = results[cell]
        if cell == "mutate_example" or error:
            assert error and "made an invalid cell: node n" in error and "the cell: {" in error, (cell, error)
            assert "cycle" not in error and "This is what a known mistake gives" not in error, (cell, error)


CORRECT_DRAW_ORDERS = {
    "mutate: the node before the kind": ("mutate", """        kind = rng.choice(["op", "rewire", "add", "remove"])
        j = int(rng.integers(3, 3 + len(cell["nodes"])))""", """        j = int(rng.integers(3, 3 + len(cell["nodes"])))
        kind = ["op", "rewire", "add", "remove"][int(rng.integers(4))]"""),
    "next_generation: i before the second parent": ("next_generation", """            other = pick()
            i = int(rng.integers(3, 3 + len(parent["nodes"])))""", """            i = int(rng.integers(3, 3 + len(parent["nodes"])))
            other = pick()"""),
}


@pytest.mark.parametrize("order", sorted(CORRECT_DRAW_ORDERS))
def test_the_graded_cells_pass_with_another_correct_order_of_random_draws(order):
    """The text leaves the order of random draws free: another correct order passes every test cell."""
    results = run_cells(NOTEBOOK, _mutated(*CORRECT_DRAW_ORDERS[order]))
    assert not {cell: error for cell, error in results.items() if error}


def test_the_experiment_checks_fail_with_a_sentence_not_a_bare_assert():
    import ast

    for cell in read_notebook(NOTEBOOK)["cells"]:
        if cell["cell_type"] == "code" and "experiment" in cell["metadata"].get("tags", []):
            assert not any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source(cell)))), source(cell)[:80]
