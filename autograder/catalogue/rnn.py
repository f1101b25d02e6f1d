"""01_rnn: worked examples and common mistakes of the tanh RNN exercises."""

from autograder.catalogue import Catalogue, Example, Mutant


def _step_inputs(rng, N=2, D=3, H=4):
    return dict(
        x=rng.normal(size=(N, D)),
        prev_h=rng.normal(size=(N, H)),
        Wx=rng.normal(scale=0.5, size=(D, H)),
        Wh=rng.normal(scale=0.5, size=(H, H)),
        b=rng.normal(scale=0.5, size=H),
    )


def _sequence_inputs(rng, N=2, T=3, D=3, H=4):
    return dict(
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(size=(N, H)),
        Wx=rng.normal(scale=0.5, size=(D, H)),
        Wh=rng.normal(scale=0.5, size=(H, H)),
        b=rng.normal(scale=0.5, size=H),
    )


def _step_backward(ns, dnext_h, **inputs):
    _, cache = ns["rnn_step_forward"](**inputs)
    return dict(zip(["dx", "dprev_h", "dWx", "dWh", "db"], ns["rnn_step_backward"](dnext_h, cache)))


def _backward(ns, dh, **inputs):
    _, cache = ns["rnn_forward"](**inputs)
    return dict(zip(["dx", "dh0", "dWx", "dWh", "db"], ns["rnn_backward"](dh, cache)))


def _affine_backward(ns, dout, **inputs):
    _, cache = ns["affine_forward"](**inputs)
    return dict(zip(["dx", "dW", "db"], ns["affine_backward"](dout, cache)))


def _affine_inputs(rng, N=3, H=4):
    # W is square so that a transposed W still runs and can be recognised
    return dict(x=rng.normal(size=(N, H)), W=rng.normal(size=(H, H)), b=rng.normal(size=H))


CATALOGUE = Catalogue(
    notebook="01_rnn/01_rnn.ipynb",
    depends={
        "rnn_step_backward": ["rnn_step_forward"],
        "rnn_forward": ["rnn_step_forward"],
        "rnn_backward": ["rnn_forward", "rnn_step_backward"],
        "affine_backward": ["affine_forward"],
    },
    examples=[
        Example("rnn_step_forward", "rnn_step_forward", _step_inputs,
                lambda ns, **a: {"next_h": ns["rnn_step_forward"](**a)[0]},
                revisit="Revisit section 2, one step forward: next_h = tanh(x @ Wx + prev_h @ Wh + b)."),
        Example("rnn_step_backward", "rnn_step_backward",
                lambda rng: {**_step_inputs(rng), "dnext_h": rng.normal(size=(2, 4))}, _step_backward, seed=1,
                revisit="Revisit section 3, one step backward: first da = dnext_h * (1 - next_h**2), then one matrix product per gradient; each gradient has the shape of its input."),
        Example("rnn_forward", "rnn_forward", _sequence_inputs,
                lambda ns, **a: {"h": ns["rnn_forward"](**a)[0]}, seed=2,
                revisit="Revisit section 4, a whole sequence: start from h0, feed each x[:, t] with the previous state, keep every new state in h[:, t]."),
        Example("rnn_backward", "rnn_backward",
                lambda rng: {**_sequence_inputs(rng), "dh": rng.normal(size=(2, 3, 4))}, _backward, seed=3,
                revisit="Revisit section 5, backpropagation through time: walk t from T - 1 down to 0, add dprev_h from step t + 1 to dh[:, t], sum the weight gradients."),
        Example("affine_forward", "affine_forward", _affine_inputs,
                lambda ns, **a: {"out": ns["affine_forward"](**a)[0]}, seed=4,
                revisit="Revisit section 6: out = x @ W + b."),
        Example("affine_backward", "affine_backward",
                lambda rng: {**_affine_inputs(rng), "dout": rng.normal(size=(3, 4))}, _affine_backward, seed=5,
                revisit="Revisit section 6: dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch."),
    ],
    mistakes=[
        # rnn_step_forward
        Mutant("rnn_step_forward", "forgot the bias b",
                "Add the bias inside the tanh: tanh(x Wx + prev_h Wh + b).", " + b)", ")"),
        Mutant("rnn_step_forward", "forgot the tanh",
                "The new state is squashed: apply np.tanh to x Wx + prev_h Wh + b.", "np.tanh(", "("),
        Mutant("rnn_step_forward", "sigmoid instead of tanh",
                "The RNN state uses tanh, whose values lie in (-1, 1), not the sigmoid, whose values lie in (0, 1).",
                "np.tanh(", "(lambda a: 1 / (1 + np.exp(-a)))("),
        Mutant("rnn_step_forward", "Wh transposed",
                "Row-vector convention: multiply prev_h @ Wh, with Wh of shape (H, H) as given; don't transpose it.",
                "prev_h @ Wh", "prev_h @ Wh.T"),
        Mutant("rnn_step_forward", "forgot the previous state",
                "The new state depends on the old one: include prev_h @ Wh.", " + prev_h @ Wh", ""),
        # rnn_step_backward
        Mutant("rnn_step_backward", "tanh' written as 1 - h instead of 1 - h**2",
                "The derivative of tanh(a) is 1 - tanh(a)**2 = 1 - next_h**2.", "1 - next_h ** 2", "1 - next_h"),
        Mutant("rnn_step_backward", "forgot the derivative of tanh",
                "Multiply dnext_h by tanh's derivative, 1 - next_h**2, before the matrix products.",
                "dnext_h * (1 - next_h ** 2)", "dnext_h"),
        Mutant("rnn_step_backward", "Wh not transposed in dprev_h",
                "prev_h was multiplied by Wh on the right, so its gradient is da @ Wh.T.", "da @ Wh.T", "da @ Wh"),
        Mutant("rnn_step_backward", "db averaged instead of summed over the batch",
                "The bias is shared by every example of the batch: sum da over axis 0, don't average it.",
                "da.sum(axis=0)", "da.mean(axis=0)"),
        Mutant("rnn_step_backward", "dWh computed from x instead of prev_h",
                "Each weight's gradient uses its own input: dWx = x.T @ da, dWh = prev_h.T @ da.",
                "dWh = prev_h.T @ da", "dWh = x.T @ da"),
        # rnn_forward
        Mutant("rnn_forward", "the state is not carried forward",
                "At step t, pass the state from step t - 1 to rnn_step_forward, not h0 every time.",
                "rnn_step_forward(x[:, t, :], h_t,", "rnn_step_forward(x[:, t, :], h0,"),
        Mutant("rnn_forward", "time read backwards",
                "Step t reads x[:, t, :]: go through time from t = 0 to T - 1.", "x[:, t, :]", "x[:, T - 1 - t, :]"),
        Mutant("rnn_forward", "states stored one step late",
                "h[:, t] is the state after reading x[:, t]: store it after the step, not before.",
                "        h_t, step_cache = rnn_step_forward(x[:, t, :], h_t, Wx, Wh, b)\n        h[:, t, :] = h_t\n",
                "        h[:, t, :] = h_t\n        h_t, step_cache = rnn_step_forward(x[:, t, :], h_t, Wx, Wh, b)\n"),
        # rnn_backward
        Mutant("rnn_backward", "dWh not summed over time",
                "The same weights are used at every step: add up dWx, dWh and db over all time steps.",
                "dWh += dWh_t", "dWh = dWh_t"),
        Mutant("rnn_backward", "forgot the gradient from later steps",
                "h_t also feeds h_{t+1}: the gradient at step t is dh[:, t] plus the dprev_h coming back from step t + 1.",
                "dh[:, t, :] + dprev_h", "dh[:, t, :]"),
        Mutant("rnn_backward", "went forward in time",
                "Backpropagation through time starts at the last step: loop over reversed(range(T)).",
                "reversed(range(T))", "range(T)"),
        # affine_forward
        Mutant("affine_forward", "forgot the bias b", "Add the bias: out = x @ W + b.", "x @ W + b", "x @ W"),
        Mutant("affine_forward", "W transposed", "Row-vector convention: out = x @ W, with W of shape (H, V).",
                "x @ W + b", "x @ W.T + b"),
        Mutant("affine_forward", "bias added before the product", "The bias comes after the product: x @ W + b.",
                "x @ W + b", "(x + b) @ W"),
        # affine_backward
        Mutant("affine_backward", "db averaged instead of summed over the batch",
                "Sum dout over the batch axis: db = dout.sum(axis=0).", "dout.sum(axis=0)", "dout.mean(axis=0)"),
        Mutant("affine_backward", "W not transposed in dx", "out = x @ W, so dx = dout @ W.T.",
                "dout @ W.T", "dout @ W"),
        Mutant("affine_backward", "dW transposed", "dW has the shape of W: dW = x.T @ dout.",
                "x.T @ dout", "dout.T @ x"),
    ],
)
