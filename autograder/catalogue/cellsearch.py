"""06_cell_search: worked examples and common mistakes of the search exercises, and the re-checks of the searches."""

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

NOTEBOOK = "06_cell_search/06_cell_search.ipynb"

# the notebook's cells, as value numbers (0 x, 1 h, 2 c, node k = 3 + k); see its section 1
RNN = {"nodes": [("tanh", (0, 1))], "h": 3, "c": None}
FULL = {"nodes": [("sigmoid", (0, 1)), ("sigmoid", (0, 1, 3)), ("mul", (1, 3)), ("tanh", (0, 1, 3, 4, 5)),
                  ("one_minus", (4,)), ("mul", (6, 7)), ("mul", (1, 4)), ("add", (8, 9))], "h": 10, "c": None}
# two cells to cross: a has a gate on a candidate, b a product of two learned nodes under a tanh
CROSS_A = {"nodes": [("sigmoid", (0, 1)), ("tanh", (0, 1)), ("mul", (3, 4)), ("add", (1, 5))], "h": 6, "c": None}
CROSS_B = {"nodes": [("relu", (0,)), ("linear", (1, 3)), ("mul", (3, 4)), ("squash", (5,))], "h": 6, "c": None}
# a parent with every kind of node, for mutations
TWO_NODES = {"nodes": [("sigmoid", (0, 1)), ("mul", (1, 3))], "h": 4, "c": None}  # small parents: removal's corner
MUTANT_PARENT = {"nodes": [("sigmoid", (0, 1)), ("tanh", (0, 1)), ("one_minus", (3,)), ("mul", (1, 3)),
                           ("mul", (4, 5)), ("add", (6, 7))], "h": 8, "c": None}


def _array(ns, cell):
    return ns["cell_to_array"](cell)


# op_backward ---------------------------------------------------------------------------------------------------

def _op_inputs(rng, N=2, H=3):
    return dict(a=rng.normal(size=(N, H)), b=rng.normal(size=(N, H)), c=rng.normal(size=(N, H)),
                dout=rng.normal(size=(N, H)))


def _op_backward(ns, a, b, c, dout):
    """Each op's number of gradients (first: a mul written for two inputs shows there), then the gradients; mul and
    add with three inputs."""
    counts, gradients = {}, {}
    for op in ns["OPS"]:
        args = [a] if op in ns["LEARNED"] + ns["UNARY"] else [a, b, c]
        dargs = ns["op_backward"](op, dout, args, ns["op_forward"](op, args))
        counts[f"{op}_count"] = np.array(float(len(dargs)))
        gradients.update({f"{op}_d{k}": np.asarray(g, dtype=np.float64) for k, g in enumerate(dargs)})
    return {**counts, **gradients}


def _graph_inputs(rng):
    """A cell with every kind of op, its weights and a short sequence: for the gradients of the whole walk."""
    return dict(seed=np.array(float(rng.integers(2**31))), x=rng.normal(size=(2, 3, 2)), h0=rng.normal(size=(2, 3)),
                dh=rng.normal(size=(2, 3, 3)))


EVERY_OP = {"nodes": [("relu", (0, 1)), ("linear", (0, 3)), ("one_minus", (4,)), ("squash", (3,)),
                      ("mul", (1, 5, 6)), ("sigmoid", (1, 4)), ("add", (7, 8)), ("tanh", (0, 9))], "h": 10, "c": None}


def _graph_gradients(ns, seed, x, h0, dh):
    outputs = {}
    for name, cell in [("gru", ns["GRU_CELL"]), ("every_op", EVERY_OP)]:
        params = ns["init_cell_params"](cell, 2, 3, np.random.default_rng(int(seed)))
        _, cache = ns["cell_forward"](cell, params, x, h0)
        dx, dh0, grads = ns["cell_backward"](dh, cache)
        outputs.update({f"{name}_dx": dx, f"{name}_dh0": dh0, **{f"{name}_d{k}": v for k, v in sorted(grads.items())}})
    return outputs


# pruning ---------------------------------------------------------------------------------------------------------

def _made_up_loss(ns):
    connections = ns["connections"]

    def loss(cell, params):
        return 1.0 / (1.0 + sum(abs(params[f"W{j}_{i}"]).sum() for j, i in connections(cell)))
    return loss


def _made_up_training(cell, params):
    return {name: 1.5 * value for name, value in params.items()}


def _pruning_inputs(rng):
    return dict(cell=_plain_array(FULL), weights=rng.uniform(0.1, 2.0, size=10))


def _weights(ns, cell, weights):
    return {f"W{j}_{i}": np.full((1, 1), w) for (j, i), w in zip(ns["connections"](cell), weights)}


def _removal_costs(ns, cell, weights):
    cell = ns["cell_from_array"](cell)
    return {"costs": np.asarray(ns["removal_costs"](cell, _weights(ns, cell, weights), _made_up_loss(ns)), dtype=np.float64)}


def _prune(ns, cell, weights):
    start = ns["cell_from_array"](cell)
    history = ns["prune"](start, _weights(ns, start, weights), _made_up_loss(ns), _made_up_training, rounds=3)
    return {"parameters": np.array([entry["parameters"] for entry in history], dtype=np.float64),
            "losses": np.array([entry["loss"] for entry in history], dtype=np.float64),
            "final": _array(ns, history[-1]["cell"])}


# growing ---------------------------------------------------------------------------------------------------------

def _made_up_fit(cell):
    gates = sum(op == "mul" for op, _ in cell["nodes"])
    adds = sum(op == "add" for op, _ in cell["nodes"])
    return 1.0 / (1.0 + 2 * gates + 0.5 * adds) + 0.15 * len(cell["nodes"])


def _grow_inputs(rng):
    return dict(cell=_plain_array(RNN), min_gain=np.array(float(rng.choice([0.05, 0.1]))))


def _grow(ns, cell, min_gain):
    history = ns["grow"](ns["cell_from_array"](cell), _made_up_fit, ns["expansions"], max_steps=4, min_gain=float(min_gain))
    return {"losses": np.array([loss for _, loss in history], dtype=np.float64), "final": _array(ns, history[-1][0])}


# the genetic algorithm -------------------------------------------------------------------------------------------

def _tournament_inputs(rng, P=8, M=6, k=3):
    return dict(fitness=rng.random(P), contenders=rng.integers(0, P, size=(M, k)).astype(np.float64))


def _tournament(ns, fitness, contenders):
    return {"winners": np.asarray(ns["tournament"](fitness, contenders.astype(int)), dtype=np.float64)}


def _crossover_inputs(rng):
    points = [(i, j) for i in range(3, 7) for j in range(3, 7)]
    chosen = rng.choice(len(points), size=6, replace=False)
    return dict(a=_plain_array(CROSS_A), b=_plain_array(CROSS_B), points=np.array([points[k] for k in chosen], dtype=np.float64))


def _crossover(ns, a, b, points):
    a, b = ns["cell_from_array"](a), ns["cell_from_array"](b)
    before = np.concatenate([_array(ns, a), _array(ns, b)], axis=None)
    children = [ns["crossover"](a, b, int(i), int(j)) for i, j in points]
    return {**{f"child_{k}": _array(ns, child) for k, child in enumerate(children)},
            "parents": np.concatenate([_array(ns, a), _array(ns, b)], axis=None) - before}


def _mutate_inputs(rng):
    return dict(cell=_plain_array(MUTANT_PARENT), two_nodes=_plain_array(TWO_NODES), one_node=_plain_array(RNN),
                seed=np.array(float(rng.integers(2**31))))


def _reads_a_later_value(cell):
    return any(i >= j for j, (_, inputs) in enumerate(cell["nodes"], start=3) for i in inputs)


def _mutate(ns, cell, two_nodes, one_node, seed):
    """As the test cell: 200 children of a six-node parent, 100 each of a two-node and a one-node parent. The flags
    that name a mistake come first, each the very symptom of one (a node reading a later value, a one-node parent
    left without a node); validity itself is checked by sentence in the cell (check_valid), here as a flag."""
    rng = np.random.default_rng(int(seed))
    parents = [ns["cell_from_array"](array) for array in (cell, two_nodes, one_node)]
    before = [_array(ns, parent) for parent in parents]
    children = {k: [ns["mutate"](parent, rng) for _ in range(200 if k == 0 else 100)] for k, parent in enumerate(parents)}
    everyone = [child for k in children for child in children[k]]
    sizes = {len(child["nodes"]) for child in children[0]}
    key = ns["cell_key"]
    return {"parent_unchanged": np.array(float(all(np.array_equal(_array(ns, p), b) for p, b in zip(parents, before)))),
            "reads_a_later_value": np.array(float(any(_reads_a_later_value(child) for child in everyone))),
            "one_node_left_empty": np.array(float(any(child["h"] < 3 for child in children[2]))),
            "all_valid": np.array(float(all(not ns["cell_errors"](child) for child in everyone))),
            "all_differ": np.array(float(all(key(child) != key(parents[k]) for k in children for child in children[k]))),
            "grow_and_shrink": np.array(float(min(sizes) < len(parents[0]["nodes"]) < max(sizes)))}


def _generation_inputs(rng, P=6):
    return dict(cells=rng.integers(0, 10**6, size=P).astype(np.float64), fitness=rng.random(P))


def _next_generation(ns, cells, fitness):
    population = [ns["random_cell"](np.random.default_rng(int(seed)), 4) for seed in cells]
    before = [_array(ns, cell) for cell in population]
    first = _valid(ns, ns["next_generation"](population, fitness, np.random.default_rng(5)))
    again = ns["next_generation"](population, fitness, np.random.default_rng(5))
    key = ns["cell_key"]
    return {"size_kept": np.array(float(len(first) == len(population))),
            "best_first": np.array(float(key(first[0]) == key(population[int(np.argmin(fitness))]))),
            "parents_unchanged": np.array(float(all(np.array_equal(_array(ns, c), b) for c, b in zip(population, before)))),
            "reproducible": np.array(float(len(first) == len(again) and all(key(p) == key(q) for p, q in zip(first, again))))}


def _valid(ns, cells):
    """Validity is no flag (a flag would match every mistake that makes some invalid cell): an invalid cell stops the
    run, as check_valid stops the test cell with the cell and its sentence; a re-check then reports the error."""
    for cell in cells:
        problems = ns["cell_errors"](cell)
        if problems:
            raise ValueError(f"an invalid cell: {problems[0]}")
    return cells


def _breeding_loss(cell):
    """The chained test's made-up loss: lower with more products, a little higher with every node."""
    return 1.0 / (1 + sum(op == "mul" for op, _ in cell["nodes"])) + 0.01 * len(cell["nodes"])


def _chain_inputs(rng):
    return dict(seeds=rng.integers(0, 2**31, size=12).astype(np.float64))


def _chain(ns, seeds):
    """As the test cell: populations of 8 small cells bred for 6 generations from each seed, twice, with a made-up
    loss. An invalid child stops the chain there (the cell fails on it, with its cell_errors sentence)."""
    key = ns["cell_key"]
    size_kept = best_kept = parents_unchanged = reproducible = True
    for seed in seeds:
        runs = []
        for _ in range(2):
            rng = np.random.default_rng(int(seed))
            population, generations = [ns["random_cell"](rng, int(rng.integers(1, 4))) for _ in range(8)], []
            for _ in range(6):
                scores = np.array([_breeding_loss(cell) for cell in population])
                before = [_array(ns, cell) for cell in population]
                children = ns["next_generation"](population, scores, rng)
                if any(ns["cell_errors"](child) for child in children):
                    break  # the cell stops here, showing the child; a mutate or crossover that rarely breaks a cell
                    # would break one on some seeds and not others, so this re-check asks no more than the cell did
                size_kept &= len(children) == len(population)
                best_kept &= key(children[0]) == key(population[int(np.argmin(scores))])
                parents_unchanged &= all(np.array_equal(_array(ns, c), b) for c, b in zip(population, before))
                population = children
                generations.append([key(cell) for cell in population])
            runs.append(generations)
        reproducible &= runs[0] == runs[1]
    return {"size_kept": np.array(float(size_kept)), "best_kept": np.array(float(best_kept)),
            "parents_unchanged": np.array(float(parents_unchanged)), "reproducible": np.array(float(reproducible))}


def _plain_array(cell):
    """cell_to_array of the notebook, for the catalogue's own cells (same encoding: op code, 0/1 inputs, outputs)."""
    ops = ("tanh", "sigmoid", "relu", "linear", "mul", "add", "one_minus", "squash")
    count = 3 + len(cell["nodes"])
    rows = np.zeros((len(cell["nodes"]) + 1, 1 + count))
    for k, (op, inputs) in enumerate(cell["nodes"]):
        rows[k, 0] = ops.index(op)
        rows[k, 1 + np.array(inputs, dtype=int)] = 1.0
    rows[-1, :2] = cell["h"], -1 if cell.get("c") is None else cell["c"]
    return rows


# re-checks of the searches: the learner's trained cells on sequences the grader draws, judged here -----------------

def _recall_inputs(rng, N=400, T=10):
    from rnnlab.data import recall_task

    x, _ = recall_task(N, T, seed=int(rng.integers(2**31)))
    return {"x": x}  # the targets stay here: they are read off x when judging


def _recall_targets(x):
    marks = x[:, :, 1] > 0.5
    last = x.shape[1] - 1 - np.argmax(marks[:, ::-1], axis=1)  # the last marked step
    return x[np.arange(len(x)), last, 0][:, None]


def _pruned_predictions(ns, x):
    runs = ns["pruned"][0]
    smallest, _, _ = ns["smallest_as_good"](ns["pruned"])  # the notebook's locked helper, as its test cell uses
    return {"full": ns["predict"](runs[0]["cell"], runs[0]["params"], x),
            "pruned": ns["predict"](runs[smallest]["cell"], runs[smallest]["params"], x),
            "sizes": np.array([runs[0]["parameters"], runs[smallest]["parameters"]], dtype=np.float64)}


def _pruned_judge(inputs, outputs, slack=0.01, fraction=0.6):
    y = _recall_targets(inputs["x"])
    if any(outputs.get(name) is None or outputs[name].shape != y.shape for name in ("full", "pruned")):
        return "your pruned cells give no predictions of the right shape"
    full, pruned = (float(np.mean((outputs[name] - y) ** 2)) for name in ("full", "pruned"))
    sizes = outputs.get("sizes")
    if sizes is None or sizes.shape != (2,) or not sizes[1] <= fraction * sizes[0]:
        return f"your pruned cell keeps more than {fraction:.0%} of the full cell's parameters"
    if not pruned <= full + slack:
        return f"on new sequences your pruned cell's MSE is {pruned:.3f}, the full cell's {full:.3f}"
    return ""


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    # the learner's own earlier notebooks, given to this notebook's kernel when grading (rnnlab.earlier); 05's
    # train reads 02's clip_gradients and 05 itself loads 01-04
    earlier=("01_rnn", "02_vanishing_gradients", "03_lstm", "04_gru", "05_training"),
    depends={
        "prune": ["removal_costs"],
        "next_generation": ["tournament", "crossover", "mutate"],
        "op_backward_gradcheck": ["op_backward"],
    },
    examples=[
        Example("op_backward", "op_backward", _op_inputs, _op_backward, seed=0,
                revisit="Revisit section 2: tanh and squash give dout * (1 - out**2), sigmoid dout * out * (1 - out), "
                        "relu dout where a > 0, linear dout, one_minus -dout, add dout to every input, and mul to "
                        "each input dout times the product of the others."),
        Example("removal_costs", "removal_costs", _pruning_inputs, _removal_costs, seed=1,
                revisit="Revisit section 4: for each (j, i) in connections(cell), evaluate the cell without it "
                        "(without_connection) and subtract the loss of the cell as it is."),
        Example("prune", "prune", _pruning_inputs, _prune, seed=2,
                revisit="Revisit section 4: each round, compute removal_costs, remove the connection with the "
                        "smallest cost, retrain, and record the cell with its parameters and loss."),
        Example("grow", "grow", _grow_inputs, _grow, seed=3,
                revisit="Revisit section 5: fit every expansion of the current cell, keep the lowest, and stop "
                        "when it is not below (1 - min_gain) times the current cell's loss."),
        Example("tournament", "tournament", _tournament_inputs, _tournament, seed=4,
                revisit="Revisit section 6: in each row of contenders, the population index whose fitness is lowest."),
        Example("crossover", "crossover", _crossover_inputs, _crossover, seed=5,
                revisit="Revisit section 6: a's nodes before i, then b's ancestors of j renumbered from i, then a's "
                        "later nodes with every value after i moved up by len(graft) - 1 and i itself read as the "
                        "graft's last node."),
        Example("mutate", "mutate", _mutate_inputs, _mutate, seed=6,
                revisit="Revisit section 6: copy the node list, make one change of one of the four kinds, draw again "
                        "when nothing can change, and return the simplified child."),
        Example("next_generation", "next_generation", _generation_inputs, _next_generation, seed=7,
                revisit="Revisit section 6: the elite first, then children of tournament winners, crossed and "
                        "mutated, every draw from rng, until the population is full again."),
        Example("next_generation_chained", "next_generation", _chain_inputs, _chain, seed=8,
                revisit="Revisit section 6: every generation keeps its size and its best cell first, leaves the "
                        "cells it was given unchanged, and draws only from rng."),
    ],
    mistakes=[
        # op_backward
        Mutant("op_backward", "tanh's gradient without 1 - out**2",
                "d tanh(a) / da = 1 - tanh(a)**2 = 1 - out**2 (notebook 01): multiply dout by it.",
                "return [dout * (1 - out ** 2)]", "return [dout]"),
        Mutant("op_backward", "sigmoid's gradient missing a factor",
                "d sigmoid(a) / da = sigmoid(a) (1 - sigmoid(a)) = out * (1 - out) (notebook 03): both factors.",
                "return [dout * out * (1 - out)]", "return [dout * (1 - out)]"),
        Mutant("op_backward", "relu's gradient not cut where a < 0",
                "relu(a) is flat where a < 0, so no gradient passes there: dout * (a > 0).",
                "return [dout * (args[0] > 0)]", "return [dout]"),
        Mutant("op_backward", "one_minus's gradient without the minus",
                "d(1 - v) / dv = -1: return -dout (notebook 04's 1 - z).", "return [-dout]", "return [dout]"),
        Mutant("op_backward", "mul's gradient uses the input itself",
                "d(v1 * v2) / dv1 = v2: each input's gradient is dout times the product of the OTHER inputs, "
                "as in 03's d(f * c) / dc = f.", "if j != k]", "if j == k]"),
        Mutant("op_backward", "mul's gradient written for two inputs only",
                "A product can have more than two inputs (the EVERY_OP graph has v1 * v2 * v3): return one gradient "
                "per input, dout times the product of all the OTHER inputs, e.g. with np.prod over a list.",
                "return [dout * np.prod([a for j, a in enumerate(args) if j != k], axis=0) for k in range(len(args))]",
                "return [dout * args[1], dout * args[0]]"),
        Mutant("op_backward", "add's gradient only to its first input",
                "A sum passes dout unchanged to every one of its inputs.",
                "return [dout for _ in args]", "return [dout] + [np.zeros_like(dout) for _ in args[1:]]"),
        # removal_costs
        Mutant("removal_costs", "the loss without the connection, not its increase",
                "The cost is what the removal costs: the loss without the connection MINUS the loss with every "
                "connection (evaluate(cell, params)).", ") - base for j, i", ") for j, i"),
        Mutant("removal_costs", "ranked by the size of the weights, not by the loss",
                "A connection's cost is what the loss loses without it (evaluate the cell without it, minus the loss "
                "with it), not the size of its weight: a small weight can matter, a large one can be redundant.",
                "evaluate(*without_connection(cell, params, j, i)) - base", "np.abs(params[f\"W{j}_{i}\"]).sum()"),
        # prune
        Mutant("prune", "removed the costliest connection",
                "Remove the connection with the SMALLEST cost (np.argmin): it is the one the cell misses least.",
                "connections(cell)[int(np.argmin(costs))]", "connections(cell)[int(np.argmax(costs))]"),
        Mutant("prune", "not retrained after removing",
                "After each removal call retrain(cell, params) and go on with the weights it returns: the other "
                "connections can make up for the one removed.", "        params = retrain(cell, params)\n", ""),
        # grow
        Mutant("grow", "kept the worst expansion",
                "Keep the expansion with the LOWEST loss (np.argmin): the loss is what growing minimises.",
                "best = int(np.argmin(losses))", "best = int(np.argmax(losses))"),
        Mutant("grow", "no stopping rule",
                "Stop as soon as the best expansion's loss is not below (1 - min_gain) times the current loss: "
                "an addition that does not help only makes the cell bigger.",
                "        if not losses[best] < (1 - min_gain) * current_loss:\n            break\n", ""),
        Mutant("grow", "compared with the first cell instead of the current one",
                "Compare the best expansion with the loss of the cell you have now (history[-1]), not the one "
                "you started from.", "current_loss = history[-1][1]", "current_loss = history[0][1]"),
        # tournament
        Mutant("tournament", "the highest loss wins",
                "Fitness here is a loss: the contender with the LOWEST value wins (np.argmin).",
                "np.argmin(fitness[contenders], axis=1)", "np.argmax(fitness[contenders], axis=1)"),
        Mutant("tournament", "the winner's place in the tournament, not its index",
                "np.argmin gives the winner's position within its row of contenders; return the population index "
                "at that position: contenders[row, position].",
                "return contenders[np.arange(len(contenders)), np.argmin(fitness[contenders], axis=1)]",
                "return np.argmin(fitness[contenders], axis=1)"),
        # crossover
        Mutant("crossover", "a's later values not moved up (a dangling input)",
                "The graft takes len(graft) places where node i had one: every value of a after i moves up by "
                "len(graft) - 1, or the nodes after the graft read the wrong values, or values that are not there.",
                "v + shift if v > i", "v if v > i"),
        Mutant("crossover", "grafted nodes keep b's numbers (a cycle)",
                "A grafted node must read the copies of its inputs in the child (b's number -> i + its place in "
                "the graft), not their numbers in b, which can come after it in the child: a cycle.",
                "tuple(in_child[v] for v in b[\"nodes\"][old - 3][1])", "tuple(b[\"nodes\"][old - 3][1])"),
        Mutant("crossover", "what read node i reads the graft's first node",
                "Whatever read node i must read the copy of b's node j, the LAST node of the graft (i + len(graft) - 1).",
                "else i + shift", "else i"),
        # mutate
        Mutant("mutate", "the parent changed",
                "Copy the list of nodes (list(cell[\"nodes\"])) before changing one: the parent is still in the "
                "population, and a mutation must not change it.",
                "nodes = list(cell[\"nodes\"])  # a copy: the parent stays as it was", "nodes = cell[\"nodes\"]"),
        Mutant("mutate", "rewired to a later value (a cycle)",
                "A node may only read values that come before it: rewire node j to one of range(j), not to any value.",
                "choices = [v for v in range(j) if", "choices = [v for v in range(3 + len(cell[\"nodes\"])) if"),
        Mutant("mutate", "a child that computes the same as its parent",
                "Every mutation must change the cell: draw a new op from the OTHERS of its kind "
                "([o for o in family if o != op]), rewire to a value the node does not read yet, and draw again "
                "when a draw changes nothing.", "[o for o in family if o != op]", "list(family)"),
        Mutant("mutate", "removal not checked: a one-node cell left without a node",
                "A cell needs at least one node, and h' must be one of them: bypass on a one-node cell leaves h' "
                "reading the leaf h, and on other cells can leave a sum with one input. Check the child with "
                "cell_errors and draw again when it is not valid.",
                "            if cell_errors(child):\n                continue  # the node was needed",
                "            if False:\n                continue  # the node was needed"),
        # next_generation
        Mutant("next_generation", "no elitism",
                "Put the elite, the cells with the lowest fitness, into the next generation first and unchanged: "
                "without them the best cell found so far can be lost.",
                "children = [population[k] for k in np.argsort(fitness, kind=\"stable\")[:elite]]", "children = []"),
        Mutant("next_generation", "one child too many",
                "The next generation has as many cells as this one: fill it while len(children) < len(population).",
                "while len(children) < len(population):", "while len(children) <= len(population):"),
        Mutant("next_generation", "drew from np.random instead of rng",
                "Draw every random choice from rng (rng.integers, rng.random): then the same seed gives the same "
                "generation and a search can be repeated.",
                "rng.integers(0, len(population), size=(1, tournament_size))",
                "np.random.randint(0, len(population), size=(1, tournament_size))"),
    ],
    probes={
        "op_backward_gradcheck": [Probe("values", "the gradients of two graphs, through your op_backward",
                                        _graph_inputs, _graph_gradients)],
        "pruned_as_good_as_full": [Probe("outcome", "your pruned and full cells on new sequences", _recall_inputs,
                                         _pruned_predictions, check=_pruned_judge)],
    },
)
