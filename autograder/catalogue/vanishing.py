"""02_vanishing_gradients: worked examples and common mistakes of the gradient-flow exercises."""

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

NOTEBOOK = "02_vanishing_gradients/02_vanishing_gradients.ipynb"


def _tanh_rnn(rng, N, T, H, gain, input_scale, D=4):
    """
    Hidden states of a tanh RNN with orthogonal Wh scaled to largest singular value ``gain``.
    Computed here, on the instructor's side: the notebook receives the states as numbers and
    never shows an RNN forward pass (that is notebook 01's exercise).
    """
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    Wh = gain * Q  # (H, H), every singular value equals gain
    Wx = rng.normal(scale=input_scale / np.sqrt(D), size=(D, H))
    b = rng.normal(scale=0.1 * input_scale, size=H)
    x = rng.normal(size=(N, T, D))
    h = np.zeros((N, T, H))
    prev_h = np.zeros((N, H))
    for t in range(T):
        prev_h = np.tanh(x[:, t] @ Wx + prev_h @ Wh + b)
        h[:, t] = prev_h
    return h, Wh


def _jacobian_inputs(rng, N=2, H=4):
    # |next_h| <= 0.9 keeps every slope 1 - next_h**2 away from 0 and 1, where mistakes would look alike
    return dict(next_h=rng.uniform(-0.9, 0.9, size=(N, H)), Wh=rng.normal(scale=0.5, size=(H, H)))


def _norms_inputs(rng, N=2, T=5, H=4):
    h, Wh = _tanh_rnn(rng, N, T, H, gain=1.2, input_scale=1.0)
    return dict(dh_T=rng.normal(size=(N, H)), h=h, Wh=Wh)


def _demo_inputs(gain, input_scale, T=50, H=16):
    def make(rng):
        h, Wh = _tanh_rnn(rng, 1, T, H, gain=gain, input_scale=input_scale)
        dh_T = rng.normal(size=(1, H))
        return dict(dh_T=dh_T / np.linalg.norm(dh_T), h=h, Wh=Wh)  # ||dh_T|| = 1: the curves start together

    return make


def _clip_inputs(max_norm):
    def make(rng):
        return dict(dWx=rng.normal(size=(3, 4)), dWh=rng.normal(size=(4, 4)), db=rng.normal(size=4),
                    max_norm=np.array(max_norm))

    return make


def _jacobian(ns, next_h, Wh):
    return {"J": ns["rnn_step_jacobian"](next_h, Wh)}


def _norms(ns, dh_T, h, Wh):
    return {"norms": ns["gradient_norms_through_time"](dh_T, (h, Wh))}


def _no_outputs(ns, **inputs):
    return {}


def _clip(ns, max_norm, **grads):
    clipped, total_norm = ns["clip_gradients"](grads, float(max_norm))
    # the inputs after the call come last: they only differ when the gradients were changed in place
    return {"total_norm": total_norm, **{f"clipped_{name}": clipped[name] for name in grads},
            **{f"{name}_after_the_call": grads[name] for name in grads}}


# how _clip calls it, for rnnlab.earlier
GRADS = ("dWx", "dWh", "db")
CLIP_CALL = {"args": [{"dict": {name: name for name in GRADS}}, {"input": "max_norm", "as": "float"}],
             "outputs": [["returned", 1], *(["returned", 0, name] for name in GRADS),
                         *(["argument", 0, name] for name in GRADS)]}


def _horizon(ns, b_f):
    return {"steps": ns["forget_gate_horizon"](b_f)}


def _flat_states(orthogonal):
    """States of 0 (every tanh slope 1) and Wh = c I or an orthogonal Wh: the norms have a closed form."""
    def make(rng):
        N, T, H = (int(n) for n in rng.integers(1, 7, size=3))
        Wh = np.linalg.qr(rng.normal(size=(H, H)))[0] if orthogonal else rng.uniform(0.3, 1.5) * np.eye(H)
        return dict(dh_T=rng.normal(size=(N, H)), h=np.zeros((N, T, H)), Wh=Wh)
    return make


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    depends={"gradient_norms_through_time": ["rnn_step_jacobian"]},
    examples=[
        Example("rnn_step_jacobian", "rnn_step_jacobian", _jacobian_inputs, _jacobian, seed=0,
                revisit="Revisit section 1: J[n, i, j] = (1 - next_h[n, i]**2) * Wh[j, i], that is "
                        "J[n] = diag(1 - next_h[n]**2) @ Wh.T for every example n."),
        Example("gradient_norms_through_time", "gradient_norms_through_time", _norms_inputs, _norms, seed=1,
                revisit="Revisit section 2: start from dh_T at t = T - 1, store its norm, then step back with "
                        "dh = dh @ J (one Jacobian per example, J from rnn_step_jacobian(h[:, t], Wh)) and store "
                        "the norm over the whole batch at every t."),
        # inputs only: the states of three tanh RNNs, for the pictures of section 2 (nothing is checked on them)
        Example("demo_vanishing", "gradient_norms_through_time", _demo_inputs(gain=0.9, input_scale=1.0), _no_outputs,
                seed=2),
        # its gradient grows by about 4e5 over the 50 steps, and so does rounding in its states
        Example("demo_exploding", "gradient_norms_through_time", _demo_inputs(gain=3.0, input_scale=0.1), _no_outputs,
                seed=3, rounding_growth=1e6),
        Example("demo_saturated", "gradient_norms_through_time", _demo_inputs(gain=1.5, input_scale=1.0), _no_outputs,
                seed=4),
        Example("clip_gradients", "clip_gradients", _clip_inputs(max_norm=1.0), _clip, seed=5, call=CLIP_CALL,
                revisit="Revisit section 3: total_norm = sqrt of the sum of all squared entries of all arrays; "
                        "every array is multiplied by the same min(1, max_norm / total_norm), into new arrays."),
        Example("clip_gradients_below_max_norm", "clip_gradients", _clip_inputs(max_norm=10.0), _clip, seed=5,
                call=CLIP_CALL,
                revisit="Revisit section 3: when total_norm <= max_norm nothing changes: the scale is "
                        "min(1, max_norm / total_norm) = 1."),
        Example("forget_gate_horizon", "forget_gate_horizon",
                lambda rng: {"b_f": np.array([[0.5, 2.0, 3.0], [4.0, 5.0, 7.0]])}, _horizon, seed=6,
                revisit="Revisit section 4: the forget gate is f = sigmoid(b_f) = 1 / (1 + exp(-b_f)), and the "
                        "horizon is -1 / ln(f), with the natural logarithm np.log."),
    ],
    mistakes=[
        # rnn_step_jacobian
        Mutant("rnn_step_jacobian", "Jacobian transposed (Wh instead of Wh.T)",
                "next_h[i] depends on prev_h[j] through Wh[j, i] (prev_h @ Wh), so J[n, i, j] = slope[n, i] * Wh[j, i]: "
                "J[n] is built from Wh.T.",
                "* Wh.T", "* Wh"),
        Mutant("rnn_step_jacobian", "forgot the tanh slope 1 - next_h**2",
                "The step goes through a tanh: scale row i of Wh.T by its slope 1 - next_h[n, i]**2.",
                "1 - next_h ** 2", "np.ones_like(next_h)"),
        Mutant("rnn_step_jacobian", "used next_h instead of 1 - next_h**2",
                "The slope of the tanh is tanh'(a) = 1 - tanh(a)**2 = 1 - next_h**2, not next_h itself.",
                "1 - next_h ** 2", "next_h"),
        Mutant("rnn_step_jacobian", "tanh slope written as 1 - next_h instead of 1 - next_h**2",
                "The derivative of tanh(a) is 1 - tanh(a)**2 = 1 - next_h**2: the square matters.",
                "1 - next_h ** 2", "1 - next_h"),
        Mutant("rnn_step_jacobian", "slope applied to the columns instead of the rows",
                "The slope belongs to the output unit i (the row of J): slope[:, :, None] * Wh.T, "
                "not slope[:, None, :] * Wh.T.",
                "slope[:, :, None]", "slope[:, None, :]"),
        # gradient_norms_through_time
        Mutant("gradient_norms_through_time", "off by one in time: the Jacobian of the wrong step",
                "Going from h[:, t] back to h[:, t - 1] crosses the step that made h[:, t], whose slope is "
                "1 - h[:, t]**2: use rnn_step_jacobian(h[:, t], Wh).",
                "rnn_step_jacobian(h[:, t], Wh)", "rnn_step_jacobian(h[:, t - 1], Wh)"),
        Mutant("gradient_norms_through_time", "Jacobian multiplied on the wrong side",
                "A gradient is a row vector: one step back is dh[n] @ J[n], a sum over the first index of J "
                "(np.einsum('ni,nij->nj', dh, J)), not J[n] @ dh[n].",
                'np.einsum("ni,nij->nj", dh_t, J)', 'np.einsum("nj,nij->ni", dh_t, J)'),
        Mutant("gradient_norms_through_time", "elementwise product with the diagonal of J instead of a matrix product",
                "Every unit of h[:, t - 1] reaches every unit of h[:, t] through Wh: one step back is the "
                "vector-matrix product dh[n] @ J[n] (np.einsum('ni,nij->nj', dh, J)), not an elementwise product.",
                'np.einsum("ni,nij->nj", dh_t, J)', 'dh_t * np.einsum("nii->ni", J)'),
        Mutant("gradient_norms_through_time", "gradient not carried back (dh_T used at every step)",
                "The gradient at step t - 1 is the gradient at step t times J: carry the running gradient "
                "from step to step instead of starting again from dh_T.",
                'np.einsum("ni,nij->nj", dh_t, J)', 'np.einsum("ni,nij->nj", dh_T, J)'),
        Mutant("gradient_norms_through_time", "norms stored in reverse order",
                "norms[t] belongs to h[:, t]: the last entry, norms[T - 1], is the norm of dh_T itself, "
                "and the norms k steps back come before it.",
                "return norms", "return norms[::-1]"),
        Mutant("gradient_norms_through_time", "mean of the examples' norms instead of the norm over the batch",
                "Take one norm over the whole (N, H) gradient, sqrt of the sum of all its squared entries "
                "(np.linalg.norm(dh)), not the mean of one norm per example.",
                "np.linalg.norm(dh_t)", "np.linalg.norm(dh_t, axis=1).mean()"),
        Mutant("gradient_norms_through_time", "squared norm (forgot the square root)",
                "The norm is the square root of the sum of squares: np.linalg.norm(dh), not np.sum(dh**2).",
                "np.linalg.norm(dh_t)", "np.sum(dh_t ** 2)"),
        # clip_gradients
        Mutant("clip_gradients", "forgot the square root in the total norm",
                "total_norm is a length: the square root of the sum of all squared entries.",
                "np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))", "sum(np.sum(g ** 2) for g in grads.values())"),
        Mutant("clip_gradients", "total norm as the sum of the arrays' norms",
                "Treat all the arrays as one long vector: total_norm = sqrt(sum of the squared norms of the arrays), "
                "not the sum of their norms.",
                "np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))", "sum(np.linalg.norm(g) for g in grads.values())"),
        Mutant("clip_gradients", "clipped each array on its own instead of all together",
                "Global-norm clipping scales every array by the same factor, min(1, max_norm / total_norm), "
                "so the direction of the whole update is kept.",
                "g * scale", "g * min(1.0, max_norm / np.linalg.norm(g))"),
        Mutant("clip_gradients", "clipped each value (np.clip) instead of rescaling",
                "Clip the norm, not the values: np.clip changes the direction of the gradient; multiply every "
                "array by min(1, max_norm / total_norm) instead.",
                "g * scale", "np.clip(g, -max_norm, max_norm)"),
        Mutant("clip_gradients", "scaled up when the norm is already below max_norm",
                "Clipping only shrinks: the factor is min(1, max_norm / total_norm), so gradients with "
                "total_norm <= max_norm are returned unchanged.",
                "min(1.0, max_norm / total_norm)", "max_norm / total_norm"),
        Mutant("clip_gradients", "modified the gradients in place",
                "Leave grads and its arrays as they were: build new arrays (g * scale) in a new dict; "
                "g *= scale writes into the caller's arrays.",
                "    clipped = {name: g * scale for name, g in grads.items()}  # new arrays: grads is left as it was\n",
                "    for g in grads.values():\n        g *= scale\n    clipped = grads\n"),
        Mutant("clip_gradients", "returned the norm after clipping instead of before",
                "Return total_norm as it was before clipping: it tells you how large the gradient really was "
                "(torch.nn.utils.clip_grad_norm_ returns it too).",
                "return clipped, total_norm", "return clipped, min(total_norm, max_norm)"),
        # forget_gate_horizon
        Mutant("forget_gate_horizon", "log10 instead of the natural logarithm",
                "The horizon uses the natural logarithm: -1 / np.log(f), not np.log10.", "np.log(", "np.log10("),
        Mutant("forget_gate_horizon", "used b_f instead of sigmoid(b_f)",
                "The gate is the sigmoid of the bias, f = 1 / (1 + exp(-b_f)): take the logarithm of f, not of b_f.",
                "np.log(forget_gate)", "np.log(b_f)"),
        Mutant("forget_gate_horizon", "used 1 - sigmoid(b_f), the fraction forgotten",
                "sigmoid(b_f) is the fraction of the cell kept at each step, and the horizon is -1 / ln of it; "
                "1 - sigmoid(b_f) is the fraction erased.",
                "forget_gate = 1 / (1 + np.exp(-b_f))", "forget_gate = 1 - 1 / (1 + np.exp(-b_f))"),
        Mutant("forget_gate_horizon", "forgot the minus sign",
                "ln(f) is negative for a gate between 0 and 1, so the horizon -1 / ln(f) needs the minus sign "
                "to be a positive number of steps.",
                "-1 / np.log(", "1 / np.log("),
    ],
    # property cells: the same kind of inputs as the cell, fresh numbers (autograder.recheck)
    probes={
        "gradient_norms_through_time_linear": [
            Probe("values", "gradient_norms_through_time with h = 0 and Wh = c I", _flat_states(False), _norms),
            Probe("values", "gradient_norms_through_time with h = 0 and an orthogonal Wh", _flat_states(True), _norms),
        ],
        "clip_gradients_returns": [Probe("shapes", "clip_gradients on new gradients", _clip_inputs(1.0), _clip)],
    },
)
