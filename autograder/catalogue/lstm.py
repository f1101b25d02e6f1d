"""03_lstm: worked examples and common mistakes of the LSTM exercises."""

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

# D != H everywhere, so that a mistake mixing up x and prev_h (or their weights) fails loudly
N, T, D, H = 2, 3, 3, 4


def _weights(rng):
    # scale 0.5 keeps the gates away from 0 and 1, where several mistakes would look alike
    return dict(
        Wx=rng.normal(scale=0.5, size=(D, 4 * H)),
        Wh=rng.normal(scale=0.5, size=(H, 4 * H)),
        b=rng.normal(scale=0.5, size=4 * H),
    )


def _step_inputs(rng):
    return dict(x=rng.normal(size=(N, D)), prev_h=rng.normal(size=(N, H)), prev_c=rng.normal(size=(N, H)),
                **_weights(rng))


def _gates_inputs(rng):
    return dict(x=rng.normal(size=(N, D)), prev_h=rng.normal(size=(N, H)), **_weights(rng))


def _sequence_inputs(rng):
    return dict(x=rng.normal(size=(N, T, D)), h0=rng.normal(size=(N, H)), **_weights(rng))


def _cell_inputs(rng):
    return dict(f=rng.uniform(size=(N, H)), i=rng.uniform(size=(N, H)), g=rng.uniform(-1, 1, size=(N, H)),
                prev_c=rng.normal(size=(N, H)))


def _hidden_inputs(rng):
    return dict(o=rng.uniform(size=(N, H)), next_c=rng.normal(scale=1.5, size=(N, H)))


def _gates(ns, **inputs):
    return dict(zip("ifgo", ns["lstm_gates"](**inputs)))


def _step_forward(ns, **inputs):
    next_h, next_c, _ = ns["lstm_step_forward"](**inputs)
    return {"next_h": next_h, "next_c": next_c}


def _step_backward(ns, dnext_h, dnext_c, **inputs):
    _, _, cache = ns["lstm_step_forward"](**inputs)
    names = ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"]
    return dict(zip(names, ns["lstm_step_backward"](dnext_h, dnext_c, cache)))


def _backward(ns, dh, **inputs):
    _, cache = ns["lstm_forward"](**inputs)
    return dict(zip(["dx", "dh0", "dWx", "dWh", "db"], ns["lstm_backward"](dh, cache)))


def _pinned(gates, values):
    """Inputs of a state update with its gates pinned to constants, e.g. f = 1, i = 0."""
    def inputs(rng):
        pinned = {gate: np.full((N, H), value) for gate, value in zip(gates, values)}
        return {**pinned, "g": rng.uniform(-1, 1, size=(N, H)), "prev_c": rng.normal(size=(N, H)),
                "next_c": 3 * rng.normal(size=(N, H))}
    return inputs


def _cell_state_pinned(ns, f, i, g, prev_c, next_c):
    return {"next_c": ns["lstm_cell_state"](f, i, g, prev_c)}


def _hidden_state_pinned(ns, o, g, prev_c, next_c):
    return {"next_h": ns["lstm_hidden_state"](o, next_c)}


def _large_inputs(rng):
    return {"x": rng.choice([-1.0, 1.0], size=(N, H)) * rng.uniform(50, 1000, size=(N, H))}


CATALOGUE = Catalogue(
    notebook="03_lstm/03_lstm.ipynb",
    # function -> the functions its reference solution (or its test cells) call
    depends={
        "lstm_gates": ["sigmoid"],
        "lstm_step_forward": ["lstm_gates", "lstm_cell_state", "lstm_hidden_state"],
        "lstm_step_backward": ["lstm_step_forward"],
        "lstm_forward": ["sigmoid", "lstm_cell_state", "lstm_hidden_state"],
        "lstm_backward": ["lstm_forward"],
    },
    examples=[
        Example("sigmoid", "sigmoid", lambda rng: {"x": rng.normal(scale=4, size=(3, 4))},
                lambda ns, x: {"out": ns["sigmoid"](x)}, seed=30,
                revisit="Revisit section 1: sigmoid(x) = 1 / (1 + exp(-x)); with z = exp(-|x|) it is "
                        "1 / (1 + z) where x >= 0 and z / (1 + z) where x < 0."),
        Example("lstm_gates", "lstm_gates", _gates_inputs, _gates, seed=31,
                revisit="Revisit section 2: a = x @ Wx + prev_h @ Wh + b, cut into four blocks of H columns in the "
                        "order i, f, g, o; sigmoid for i, f, o and tanh for g."),
        Example("lstm_cell_state", "lstm_cell_state", _cell_inputs,
                lambda ns, **a: {"next_c": ns["lstm_cell_state"](**a)}, seed=32,
                revisit="Revisit section 3: next_c = f * prev_c + i * g, elementwise."),
        Example("lstm_hidden_state", "lstm_hidden_state", _hidden_inputs,
                lambda ns, **a: {"next_h": ns["lstm_hidden_state"](**a)}, seed=33,
                revisit="Revisit section 4: next_h = o * tanh(next_c), elementwise."),
        Example("lstm_step_forward", "lstm_step_forward", _step_inputs, _step_forward, seed=34,
                revisit="Revisit section 5: the gates from lstm_gates, then next_c from lstm_cell_state, "
                        "then next_h from lstm_hidden_state; return (next_h, next_c, cache)."),
        Example("lstm_step_backward", "lstm_step_backward",
                lambda rng: {**_step_inputs(rng), "dnext_h": rng.normal(size=(N, H)), "dnext_c": rng.normal(size=(N, H))},
                _step_backward, seed=35,
                revisit="Revisit section 6: dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2), then the four "
                        "blocks of da in the order i, f, g, o, then one matrix product per gradient."),
        Example("lstm_forward", "lstm_forward", _sequence_inputs,
                lambda ns, **a: {"h": ns["lstm_forward"](**a)[0]}, seed=36,
                revisit="Revisit section 7: start from h0 and c0 = 0; at step t, a = (x @ Wx + b)[:, t] + h_(t-1) @ Wh, "
                        "split into i, f, g, o, then the cell and the hidden state; keep every h_t in h[:, t]."),
        Example("lstm_backward", "lstm_backward",
                lambda rng: {**_sequence_inputs(rng), "dh": rng.normal(size=(N, T, H))}, _backward, seed=37,
                revisit="Revisit section 8: walk t from T - 1 down to 0, add dprev_h to dh[:, t] and dprev_c to the "
                        "cell's gradient, store da[:, t], and sum the weight gradients over every step."),
    ],
    mistakes=[
        # sigmoid
        Mutant("sigmoid", "sigmoid(-x) instead of sigmoid(x)",
                "For x >= 0 the valve is more than half open: there sigmoid(x) = 1 / (1 + z), and z / (1 + z) "
                "where x < 0, with z = exp(-|x|).",
                "np.where(x >= 0, 1 / (1 + z), z / (1 + z))", "np.where(x >= 0, z / (1 + z), 1 / (1 + z))"),
        Mutant("sigmoid", "forgot the absolute value in exp(-|x|)",
                "Use z = np.exp(-np.abs(x)) for both branches: for x < 0, z / (1 + z) equals sigmoid(x) only when "
                "z = exp(x), and exp(-x) overflows for x = -1000.",
                "np.exp(-np.abs(x))", "np.exp(-x)"),
        Mutant("sigmoid", "tanh used as the valve",
                "A gate lies between 0 (closed) and 1 (open); tanh lies between -1 and 1. "
                "Compute sigmoid(x) = 1 / (1 + exp(-x)) instead.",
                "np.where(x >= 0, 1 / (1 + z), z / (1 + z))", "np.tanh(x)"),
        # lstm_gates
        Mutant("lstm_gates", "forgot the bias b",
                "Add the bias before splitting: a = x @ Wx + prev_h @ Wh + b.", " + b  # (N, 4H)", "  # (N, 4H)"),
        Mutant("lstm_gates", "forgot prev_h @ Wh",
                "The gates look at the previous hidden state too: a = x @ Wx + prev_h @ Wh + b.", " + prev_h @ Wh", ""),
        Mutant("lstm_gates", "input and forget gates swapped",
                "The packed order is PyTorch's i, f, g, o: the first H columns of a belong to the input gate, "
                "the next H to the forget gate.",
                "a_i, a_f, a_g, a_o = a[", "a_f, a_i, a_g, a_o = a["),
        Mutant("lstm_gates", "gate order i, f, o, g instead of PyTorch's i, f, g, o",
                "The third block of H columns is the candidate g (tanh), the last one the output gate o (sigmoid): "
                "that is PyTorch's order, which lets its weights load unchanged.",
                "a_i, a_f, a_g, a_o = a[", "a_i, a_f, a_o, a_g = a["),
        Mutant("lstm_gates", "sigmoid instead of tanh for g",
                "The candidate g is content, which can be negative: g = tanh(a_g), in (-1, 1). "
                "Only the gates i, f, o are valves with a sigmoid.",
                "g = np.tanh(a_g)", "g = sigmoid(a_g)"),
        # lstm_cell_state
        Mutant("lstm_cell_state", "next_c ignores prev_c",
                "The cell is edited, not recomputed: keep part of the old cell, next_c = f * prev_c + i * g.",
                "f * prev_c + i * g", "i * g"),
        Mutant("lstm_cell_state", "forgot the forget gate",
                "The forget gate decides how much of the old cell to keep: next_c = f * prev_c + i * g.",
                "f * prev_c + i * g", "prev_c + i * g"),
        Mutant("lstm_cell_state", "forgot the input gate",
                "The input gate decides how much of the candidate to write: next_c = f * prev_c + i * g.",
                "f * prev_c + i * g", "f * prev_c + g"),
        Mutant("lstm_cell_state", "squashed the cell state with tanh",
                "The cell is not squashed, so that it can count and accumulate: next_c = f * prev_c + i * g. "
                "The tanh comes later, in next_h = o * tanh(next_c).",
                "f * prev_c + i * g", "np.tanh(f * prev_c + i * g)"),
        # lstm_hidden_state
        Mutant("lstm_hidden_state", "forgot o in next_h",
                "The output gate decides how much of the cell to show: next_h = o * tanh(next_c).",
                "o * np.tanh(next_c)", "np.tanh(next_c)"),
        Mutant("lstm_hidden_state", "forgot the tanh of next_c",
                "The cell can grow beyond (-1, 1); squash it before showing it: next_h = o * tanh(next_c).",
                "o * np.tanh(next_c)", "o * next_c"),
        Mutant("lstm_hidden_state", "sigmoid instead of tanh of next_c",
                "The cell is squashed with tanh, which keeps its sign: next_h = o * tanh(next_c).",
                "o * np.tanh(next_c)", "o * sigmoid(next_c)"),
        Mutant("lstm_hidden_state", "tanh taken after the output gate",
                "Squash the cell first, then open the valve: next_h = o * tanh(next_c), not tanh(o * next_c).",
                "o * np.tanh(next_c)", "np.tanh(o * next_c)"),
        # lstm_step_forward
        Mutant("lstm_step_forward", "gates unpacked in the wrong order",
                "lstm_gates returns (i, f, g, o): unpack them in that order.",
                "i, f, g, o = lstm_gates", "i, f, o, g = lstm_gates"),
        Mutant("lstm_step_forward", "cell updated from prev_h instead of prev_c",
                "The highway carries the cell state: next_c = lstm_cell_state(f, i, g, prev_c), with the previous "
                "cell, not the previous hidden state.",
                "lstm_cell_state(f, i, g, prev_c)", "lstm_cell_state(f, i, g, prev_h)"),
        Mutant("lstm_step_forward", "next_h computed from prev_c",
                "The hidden state shows the new cell: next_h = lstm_hidden_state(o, next_c).",
                "lstm_hidden_state(o, next_c)", "lstm_hidden_state(o, prev_c)"),
        Mutant("lstm_step_forward", "next_h and next_c returned in the wrong order",
                "Return (next_h, next_c, cache), hidden state first.",
                "return next_h, next_c, cache", "return next_c, next_h, cache"),
        # lstm_step_backward
        Mutant("lstm_step_backward", "forgot the path from next_h into next_c",
                "next_c also reaches the loss through next_h = o * tanh(next_c): "
                "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2).",
                "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_c"),
        Mutant("lstm_step_backward", "forgot dnext_c, the gradient arriving along the cell state",
                "dnext_c is the gradient from later steps along the highway: "
                "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2).",
                "dc = dnext_c + ", "dc = "),
        Mutant("lstm_step_backward", "tanh' of the cell written as 1 - tanh(c) instead of 1 - tanh(c)**2",
                "The derivative of tanh(c) is 1 - tanh(c)**2.", "(1 - tanh_c ** 2)", "(1 - tanh_c)"),
        Mutant("lstm_step_backward", "tanh' written as 1 - g instead of 1 - g**2",
                "g = tanh(a_g), so its derivative is 1 - g**2.", "(1 - g ** 2)", "(1 - g)"),
        Mutant("lstm_step_backward", "sigmoid' written as 1 - o**2 instead of o * (1 - o)",
                "1 - s**2 is the derivative of tanh; for a sigmoid gate s the derivative is s * (1 - s).",
                "o * (1 - o)", "(1 - o ** 2)"),
        Mutant("lstm_step_backward", "forget gate's gradient computed with next_c instead of prev_c",
                "f multiplies prev_c in next_c = f * prev_c + i * g, so df = dc * prev_c.",
                "dc * prev_c * f", "dc * next_c * f"),
        Mutant("lstm_step_backward", "dprev_c not multiplied by f",
                "The old cell enters as f * prev_c, so dprev_c = dc * f: the forget gate scales the gradient "
                "along the highway too.",
                "dprev_c = dc * f", "dprev_c = dc"),
        # lstm_forward
        Mutant("lstm_forward", "c0 not zero (c0 = h0)",
                "The cell starts empty: c0 = np.zeros_like(h0). Only the hidden state starts from h0.",
                "h_t, c_t = h0, np.zeros_like(h0)", "h_t, c_t = h0, h0"),
        Mutant("lstm_forward", "forgot the bias b",
                "Add the bias to the input part of every step: x @ Wx + b.", "x @ Wx + b  #", "x @ Wx  #"),
        Mutant("lstm_forward", "gate order i, f, o, g instead of PyTorch's i, f, g, o",
                "Split the pre-activations in PyTorch's order i, f, g, o, as in lstm_gates: the third block is the "
                "candidate g (tanh), the last the output gate o.",
                "a_i, a_f, a_g, a_o = a[", "a_i, a_f, a_o, a_g = a["),
        Mutant("lstm_forward", "the hidden state is not carried forward",
                "At step t, the gates read the hidden state of step t - 1, not h0 every time.",
                "+ h_t @ Wh", "+ h0 @ Wh"),
        # lstm_backward
        Mutant("lstm_backward", "dWh not summed over time",
                "The same Wh is used at every step: dWh sums prev_h.T @ da over all steps, "
                "e.g. one product of the (N * T, H) previous states with the (N * T, 4H) da.",
                "prev_hs.reshape(N * T, H).T @ da.reshape(N * T, 4 * H)", "prev_hs[:, 0].T @ da[:, 0]"),
        Mutant("lstm_backward", "dWh computed with h_t instead of h_(t-1)",
                "Step t multiplies Wh by the state it started from, h_(t-1) (h0 for the first step), "
                "so dWh sums h_(t-1).T @ da_t.",
                "dWh = prev_hs.reshape", "dWh = np.stack(hs, axis=1).reshape"),
        Mutant("lstm_backward", "forgot the cell-state gradient from later steps",
                "c_t also feeds c_(t+1): the cell's gradient at step t is dprev_c from step t + 1 plus "
                "dh_t * o * (1 - tanh(c_t)**2).",
                "dc_t = dprev_c + ", "dc_t = "),
        Mutant("lstm_backward", "forgot the hidden-state gradient from later steps",
                "h_t also feeds step t + 1: the gradient at step t is dh[:, t] plus the dprev_h coming back from "
                "step t + 1.",
                "dh[:, t] + dprev_h", "dh[:, t]"),
        Mutant("lstm_backward", "went forward in time",
                "Backpropagation through time starts at the last step: loop over reversed(range(T)).",
                "reversed(range(T))", "range(T)"),
        Mutant("lstm_backward", "tanh' of the cell written as 1 - tanh(c) instead of 1 - tanh(c)**2",
                "The derivative of tanh(c) is 1 - tanh(c)**2.", "(1 - tanh_c ** 2)", "(1 - tanh_c)"),
        Mutant("lstm_backward", "forget gate's gradient computed with c_t instead of c_(t-1)",
                "f multiplies the previous cell in c_t = f * c_(t-1) + i * g, so df = dc * c_(t-1), "
                "with c0 = 0 for the first step.",
                "dc_t * prev_c * f", "dc_t * cs[t] * f"),
        Mutant("lstm_backward", "cs[t - 1] at t = 0 (it wraps to the last step)",
                "At t = 0 the previous cell is c0 = 0, but cs[t - 1] is cs[-1], the cell of the *last* step: Python "
                "counts negative indices from the end. Take np.zeros((N, H)) as the previous cell when t = 0.",
                "cs[t - 1] if t > 0 else np.zeros((N, H))", "cs[t - 1]"),
    ],
    # property cells: the same pinned gates or large inputs as the cell, fresh numbers (autograder.recheck)
    probes={
        "sigmoid_large_inputs": [Probe("values", "sigmoid on inputs between 50 and 1000 in size", _large_inputs,
                                       lambda ns, x: {"out": ns["sigmoid"](x)})],
        "lstm_cell_state_keeps_and_erases": [
            Probe("values", "lstm_cell_state with f = 1, i = 0", _pinned("fi", (1.0, 0.0)), _cell_state_pinned),
            Probe("values", "lstm_cell_state with f = 0, i = 1", _pinned("fi", (0.0, 1.0)), _cell_state_pinned),
        ],
        "lstm_hidden_state_gate": [
            Probe("values", "lstm_hidden_state with o = 0", _pinned("o", (0.0,)), _hidden_state_pinned),
            Probe("values", "lstm_hidden_state with o = 1", _pinned("o", (1.0,)), _hidden_state_pinned),
        ],
    },
)
