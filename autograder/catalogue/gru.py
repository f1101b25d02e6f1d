"""04_gru: worked examples and common mistakes of the GRU exercises."""

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

NOTEBOOK = "04_gru/04_gru.ipynb"


def _step_inputs(rng, N=2, D=3, H=4):
    # H is small and the weights moderate, so no gate saturates and every mistake shows
    return dict(
        x=rng.normal(size=(N, D)),
        prev_h=rng.normal(size=(N, H)),
        Wx=rng.normal(scale=0.5, size=(D, 3 * H)),
        Wh=rng.normal(scale=0.5, size=(H, 3 * H)),
        b=rng.normal(scale=0.5, size=3 * H),
    )


def _sequence_inputs(rng, N=2, T=3, D=3, H=4):
    return dict(
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(size=(N, H)),
        Wx=rng.normal(scale=0.5, size=(D, 3 * H)),
        Wh=rng.normal(scale=0.5, size=(H, 3 * H)),
        b=rng.normal(scale=0.5, size=3 * H),
    )


def _candidate_inputs(rng):
    inputs = _step_inputs(rng)
    inputs["r"] = rng.uniform(0.1, 0.9, size=inputs["prev_h"].shape)
    return inputs


def _hidden_state_inputs(rng, N=2, H=4):
    return dict(z=rng.uniform(0.1, 0.9, size=(N, H)), n=rng.uniform(-1, 1, size=(N, H)), prev_h=rng.normal(size=(N, H)))


def _reset_after_inputs(rng):
    inputs = _step_inputs(rng)
    b = inputs.pop("b")
    return {**inputs, "bx": b, "bh": rng.normal(scale=0.5, size=b.shape)}


def _gates(ns, **inputs):
    r, z = ns["gru_gates"](**inputs)
    return {"r": r, "z": z}


def _candidate(ns, **inputs):
    return {"n": ns["gru_candidate"](**inputs)}


def _hidden_state(ns, **inputs):
    return {"next_h": ns["gru_hidden_state"](**inputs)}


def _step_forward(ns, **inputs):
    return {"next_h": ns["gru_step_forward"](**inputs)[0]}


def _step_backward(ns, dnext_h, **inputs):
    _, cache = ns["gru_step_forward"](**inputs)
    return dict(zip(["dx", "dprev_h", "dWx", "dWh", "db"], ns["gru_step_backward"](dnext_h, cache)))


def _forward(ns, **inputs):
    return {"h": ns["gru_forward"](**inputs)[0]}


def _backward(ns, dh, **inputs):
    _, cache = ns["gru_forward"](**inputs)
    return dict(zip(["dx", "dh0", "dWx", "dWh", "db"], ns["gru_backward"](dh, cache)))


def _reset_after(ns, **inputs):
    return {"next_h": ns["gru_step_forward_reset_after"](**inputs)}


def _count(ns, D, H):
    count = ns["count_parameters"]
    return {cell: np.array(count(cell, int(D), int(H))) for cell in ("rnn", "lstm", "gru")}


def _update_pinned(z):
    def inputs(rng, N=2, H=4):
        return dict(z=np.full((N, H), z), n=rng.uniform(-1, 1, size=(N, H)), prev_h=rng.normal(size=(N, H)))
    return inputs


def _hidden_state_positional(ns, z, n, prev_h):
    return {"next_h": ns["gru_hidden_state"](z, n, prev_h)}


def _sizes(rng):
    return {"D": np.array(rng.integers(1, 50)), "H": np.array(rng.integers(1, 50))}


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    # 04 uses the learner's own sigmoid from 03 (rnnlab.earlier): the grader gives the kernel their 03 notebook
    earlier=("03_lstm",),
    # which functions each reference solution calls (its tests also call the forward pass whose cache they use)
    depends={
        "gru_step_forward": ["gru_gates", "gru_candidate", "gru_hidden_state"],
        "gru_step_backward": ["gru_step_forward"],
        "gru_forward": ["gru_hidden_state"],
        "gru_backward": ["gru_forward"],
        "gru_step_forward_reset_after": ["gru_gates", "gru_hidden_state"],
    },
    examples=[
        Example("gru_gates", "gru_gates", _step_inputs, _gates, seed=0,
                revisit="Revisit section 2: r = sigmoid(x Wx_r + prev_h Wh_r + b_r) and z likewise, "
                        "with r in columns 0:H and z in columns H:2H of Wx, Wh and b."),
        Example("gru_candidate", "gru_candidate", _candidate_inputs, _candidate, seed=1,
                revisit="Revisit section 3: n = tanh(x Wx_n + (r * prev_h) Wh_n + b_n), with the n block in "
                        "columns 2H:3H."),
        Example("gru_hidden_state", "gru_hidden_state", _hidden_state_inputs, _hidden_state, seed=2,
                revisit="Revisit section 4: next_h = (1 - z) * n + z * prev_h."),
        Example("gru_step_forward", "gru_step_forward", _step_inputs, _step_forward, seed=3,
                revisit="Revisit section 5: gates first, then the candidate with r, then the new state with z."),
        Example("gru_step_backward", "gru_step_backward",
                lambda rng: {**_step_inputs(rng), "dnext_h": rng.normal(size=(2, 4))}, _step_backward, seed=4,
                revisit="Revisit section 6: walk the four equations backwards; dprev_h collects three paths "
                        "(through z * prev_h, through the candidate, through the gates)."),
        Example("gru_forward", "gru_forward", _sequence_inputs, _forward, seed=5,
                revisit="Revisit section 7: x @ Wx + b for all steps, then a loop over t for the recurrent part, "
                        "carrying the state from step to step and keeping it in h[:, t]."),
        Example("gru_backward", "gru_backward",
                lambda rng: {**_sequence_inputs(rng), "dh": rng.normal(size=(2, 3, 4))}, _backward, seed=6,
                revisit="Revisit section 8: walk t from T - 1 down to 0 with dh[:, t] + dprev_h, keep da of every "
                        "step, then sum the weight gradients over examples and steps."),
        Example("gru_step_forward_reset_after", "gru_step_forward_reset_after", _reset_after_inputs, _reset_after,
                seed=7,
                revisit="Revisit section 9: gates with bx + bh, then n = tanh(x Wx_n + bx_n + r * (prev_h Wh_n + bh_n))."),
        Example("count_parameters", "count_parameters", lambda rng: {"D": np.array(3), "H": np.array(5)}, _count,
                revisit="Revisit section 10: each block has D * H + H * H + H parameters; the RNN has 1 block, "
                        "the GRU 3, the LSTM 4."),
    ],
    mistakes=[
        # gru_gates
        Mutant("gru_gates", "r and z swapped",
                "The packed order is r, z, n: r is columns 0:H, z is columns H:2H.",
                "r, z = gates[:, :H], gates[:, H:]", "z, r = gates[:, :H], gates[:, H:]"),
        Mutant("gru_gates", "forgot the bias b",
                "Add the bias of the gates inside the sigmoid: b[:2 * H], the r and z blocks of b.",
                " + b[:2 * H])", ")"),
        Mutant("gru_gates", "tanh instead of sigmoid",
                "Gates are fractions between 0 and 1: use the sigmoid, not tanh (whose values lie in (-1, 1)).",
                "gates = sigmoid(", "gates = np.tanh("),
        Mutant("gru_gates", "forgot the previous state",
                "The gates read the input and the previous state: include prev_h @ Wh for the r and z columns.",
                " + prev_h @ Wh[:, :2 * H]", ""),
        # gru_candidate
        Mutant("gru_candidate", "reset gate applied after the product",
                "This notebook's GRU resets before the product: multiply r * prev_h first, then by Wh_n "
                "(the reset-after variant comes in section 9).",
                "(r * prev_h) @ Wh[:, 2 * H:]", "r * (prev_h @ Wh[:, 2 * H:])"),
        Mutant("gru_candidate", "forgot the reset gate",
                "The candidate sees the past through the reset gate: use (r * prev_h) @ Wh_n, not prev_h @ Wh_n.",
                "(r * prev_h) @", "prev_h @"),
        Mutant("gru_candidate", "sigmoid instead of tanh",
                "The candidate is a proposed state in (-1, 1): use np.tanh, not the sigmoid.",
                "n = np.tanh(", "n = sigmoid("),
        Mutant("gru_candidate", "forgot the bias b_n",
                "Add the candidate's bias inside the tanh: b[2 * H:], the n block of b.", " + b[2 * H:])", ")"),
        Mutant("gru_candidate", "Wh_n transposed",
                "Row-vector convention: (r * prev_h) @ Wh[:, 2 * H:] as it is, without transposing the block.",
                "@ Wh[:, 2 * H:]", "@ Wh[:, 2 * H:].T"),
        # gru_hidden_state
        Mutant("gru_hidden_state", "z and 1 - z swapped",
                "z is the fraction of the old state kept: next_h = (1 - z) * n + z * prev_h, so z = 1 keeps prev_h.",
                "(1 - z) * n + z * prev_h", "z * n + (1 - z) * prev_h"),
        Mutant("gru_hidden_state", "the candidate is not scaled by 1 - z",
                "The new state interpolates: the candidate gets the weight 1 - z, the old state the weight z.",
                "(1 - z) * n", "n"),
        Mutant("gru_hidden_state", "the previous state is not scaled by z",
                "The new state interpolates: the old state gets the weight z, the candidate the weight 1 - z.",
                "z * prev_h", "prev_h"),
        # gru_step_forward
        Mutant("gru_step_forward", "update gate passed to the candidate",
                "The candidate uses the reset gate r; the update gate z only mixes n and prev_h.",
                "gru_candidate(x, prev_h, r,", "gru_candidate(x, prev_h, z,"),
        Mutant("gru_step_forward", "reset gate used to mix the new state",
                "The update gate z mixes the candidate and the old state: gru_hidden_state(z, n, prev_h).",
                "gru_hidden_state(z, n, prev_h)", "gru_hidden_state(r, n, prev_h)"),
        Mutant("gru_step_forward", "returned the candidate",
                "The step returns the new state next_h, the mix of n and prev_h, not the candidate n itself.",
                "return next_h, cache", "return n, cache"),
        # gru_step_backward
        Mutant("gru_step_backward", "tanh' written as 1 - n instead of 1 - n**2",
                "The derivative of tanh(a) is 1 - tanh(a)**2 = 1 - n**2.", "(1 - n ** 2)", "(1 - n)"),
        Mutant("gru_step_backward", "dz with the wrong sign",
                "next_h = n + z * (prev_h - n), so the gradient of z is dnext_h * (prev_h - n).",
                "(prev_h - n)", "(n - prev_h)"),
        Mutant("gru_step_backward", "tanh' used for the sigmoid of z",
                "z is a sigmoid: its derivative is z * (1 - z), not 1 - z**2.", "dz * z * (1 - z)", "dz * (1 - z ** 2)"),
        Mutant("gru_step_backward", "reused one gradient for r and prev_h",
                "The candidate sees the product s = r * prev_h: by the product rule dr = ds * prev_h and the share "
                "of prev_h is ds * r, not ds for both.",
                "ds * prev_h * r * (1 - r)", "ds * r * (1 - r)"),
        Mutant("gru_step_backward", "forgot the gradient through z * prev_h",
                "next_h = (1 - z) * n + z * prev_h uses prev_h directly too: add dnext_h * z to dprev_h.",
                "dnext_h * z + ", ""),
        Mutant("gru_step_backward", "forgot the gradient through the candidate in dprev_h",
                "prev_h also reaches the candidate as r * prev_h: add ds * r to dprev_h.", " + ds * r", ""),
        Mutant("gru_step_backward", "dWh_n computed from prev_h instead of r * prev_h",
                "The n block of Wh multiplies r * prev_h, so its gradient is (r * prev_h).T @ da_n.",
                "(r * prev_h).T @ da_n", "prev_h.T @ da_n"),
        # gru_forward
        Mutant("gru_forward", "forgot the bias b",
                "The input projection includes the bias: x @ Wx + b.", "x @ Wx + b", "x @ Wx"),
        Mutant("gru_forward", "the state is not carried forward",
                "Each step starts from the state of the step before: update h_t, then store it in h[:, t].",
                "h_t = gru_hidden_state(z[:, t], n[:, t], h_t)\n        h[:, t] = h_t",
                "h[:, t] = gru_hidden_state(z[:, t], n[:, t], h_t)"),
        Mutant("gru_forward", "time read backwards",
                "Step t reads x[:, t]: go through time from t = 0 to T - 1.", "x_proj[:, t,", "x_proj[:, T - 1 - t,",
                count=2),
        Mutant("gru_forward", "reset gate applied after the product",
                "This notebook's GRU resets before the product: (r * h_t) @ Wh_n, not r * (h_t @ Wh_n).",
                "(r[:, t] * h_t) @ Wh[:, 2 * H:]", "r[:, t] * (h_t @ Wh[:, 2 * H:])"),
        # gru_backward
        Mutant("gru_backward", "forgot the gradient from later steps",
                "h_t also feeds h_{t+1}: the gradient at step t is dh[:, t] plus the dprev_h coming back from step t + 1.",
                "dh[:, t] + dprev_h", "dh[:, t]"),
        Mutant("gru_backward", "went forward in time",
                "Backpropagation through time starts at the last step: loop over reversed(range(T)).",
                "reversed(range(T))", "range(T)"),
        Mutant("gru_backward", "used the state after step t instead of before it",
                "Step t started from h_{t-1}: h0 for t = 0, then h[:, t - 1]; h[:, t] is its result.",
                "np.concatenate([h0[:, None, :], h[:, :-1, :]], axis=1)", "h"),
        Mutant("gru_backward", "forgot the gradient through z * prev_h",
                "next_h = (1 - z) * n + z * prev_h uses prev_h directly too: add dnext_h * z to dprev_h.",
                "dnext_h * z_t + ", ""),
        Mutant("gru_backward", "db not summed over time",
                "The bias is used at every step for every example: sum da over the batch and the time axis.",
                "da.sum(axis=(0, 1))", "da.sum(axis=0)"),
        # gru_step_forward_reset_after
        Mutant("gru_step_forward_reset_after", "b_x,n and b_h,n both outside r",
                "In the reset-after GRU the recurrent bias is reset too: r * (prev_h Wh_n + bh_n); only bx_n stays outside.",
                "bx[2 * H:] + r * (prev_h @ Wh[:, 2 * H:] + bh[2 * H:])", "bx[2 * H:] + bh[2 * H:] + r * (prev_h @ Wh[:, 2 * H:])"),
        Mutant("gru_step_forward_reset_after", "still resetting before the product",
                "Reset after means r multiplies the product: r * (prev_h @ Wh_n + bh_n), not (r * prev_h) @ Wh_n.",
                "r * (prev_h @ Wh[:, 2 * H:] + bh[2 * H:])", "(r * prev_h) @ Wh[:, 2 * H:] + bh[2 * H:]"),
        Mutant("gru_step_forward_reset_after", "gates without the recurrent bias bh",
                "The gates r and z use both biases: call gru_gates with bx + bh.",
                "gru_gates(x, prev_h, Wx, Wh, bx + bh)", "gru_gates(x, prev_h, Wx, Wh, bx)"),
        # count_parameters
        Mutant("count_parameters", "forgot the bias",
                "Every block has a bias of H numbers besides its weights: D * H + H * H + H per block.",
                " + H * H + H)", " + H * H)"),
        Mutant("count_parameters", "counted Wh as D x H",
                "The recurrent weight of a block maps the state to the state: it is H x H.",
                "D * H + H * H", "D * H + D * H"),
        Mutant("count_parameters", "counted two bias vectors per block",
                "This course's packed convention has one bias per block (b of shape (kH,)); PyTorch's "
                "bias_ih + bias_hh are two.", " + H * H + H)", " + H * H + 2 * H)"),
        Mutant("count_parameters", "forgot the number of blocks",
                "Multiply by the number of blocks: 1 for the RNN, 3 for the GRU (r, z, n), 4 for the LSTM (i, f, g, o).",
                "return k * (", "return ("),
        Mutant("count_parameters", "GRU and LSTM block counts swapped",
                "The GRU has 3 blocks (r, z, n), the LSTM 4 (i, f, g, o).",
                '"lstm": 4, "gru": 3', '"lstm": 3, "gru": 4'),
    ],
    # property cells: the same pinned gate as the cell, fresh numbers (autograder.recheck)
    probes={
        "gru_hidden_state_update_gate": [
            Probe("values", "gru_hidden_state with z = 1", _update_pinned(1.0), _hidden_state_positional),
            Probe("values", "gru_hidden_state with z = 0", _update_pinned(0.0), _hidden_state_positional),
        ],
        "count_parameters_example": [Probe("values", "count_parameters for other sizes", _sizes, _count)],
    },
)
