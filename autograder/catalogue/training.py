"""05_training: worked examples and common mistakes of the training exercises, and the re-checks of the experiments."""

import functools

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe
from rnnlab.testing import least_squares

NOTEBOOK = "05_training/05_training.ipynb"


def _affine_inputs(rng, N=2, T=3, H=4, V=5):
    return dict(x=rng.normal(size=(N, T, H)), W=rng.normal(size=(H, V)), b=rng.normal(size=V))


def _affine_forward(ns, **inputs):
    return {"out": ns["temporal_affine_forward"](**inputs)[0]}


def _affine_backward(ns, dout, **inputs):
    _, cache = ns["temporal_affine_forward"](**inputs)
    return dict(zip(["dx", "dW", "db"], ns["temporal_affine_backward"](dout, cache)))


def _softmax_inputs(scale):
    def inputs(rng, N=3, T=4, V=5):
        mask = np.ones((N, T))
        mask[0, 2:] = 0.0  # a padded batch: the first example is 2 steps long, the second 3
        mask[1, 3:] = 0.0
        return dict(x=scale * rng.normal(size=(N, T, V)), y=rng.integers(0, V, size=(N, T)).astype(np.float64),
                    mask=mask)
    return inputs


def _softmax(ns, x, y, mask):
    with np.errstate(all="ignore"):  # an unshifted softmax overflows on the large scores: its NaNs are its mistake
        loss, dx = ns["temporal_softmax_loss"](x, y.astype(int), mask.astype(bool))
    return {"loss": np.array(loss), "dx": dx}


def _softmax_stable(ns, x, y, mask):
    """dx first: with scores near 1000 an unshifted softmax makes the loss NaN, which says nothing about the mistake,
    while its dx (-1 at the right class, 0 elsewhere, where np.exp overflowed) identifies it."""
    outputs = _softmax(ns, x, y, mask)
    return {"dx": outputs["dx"], "loss": outputs["loss"]}


def _mse(ns, **inputs):
    loss, dpred = ns["mse_loss"](**inputs)
    return {"loss": np.array(loss), "dpred": dpred}


def _adam_inputs(rng, shape=(3, 4)):
    return dict(w=rng.normal(size=shape), dw=rng.normal(size=shape), m=0.1 * rng.normal(size=shape),
                v=rng.uniform(0.01, 0.5, size=shape), t=np.array(3.0), lr=np.array(0.01))


def _adam(ns, w, dw, m, v, t, lr):
    with np.errstate(invalid="ignore"):  # m and v swapped takes the square root of a negative m
        next_w, next_m, next_v = ns["adam_update"](w, dw, m, v, int(t), lr=float(lr))
    return {"next_w": next_w, "next_m": next_m, "next_v": next_v}


def _train_inputs(rng):
    # far targets, so that the first gradients are clipped; then near ones, so that clipping stops
    targets = np.concatenate([rng.normal(loc=3.0, size=(3, 5)), rng.normal(scale=0.3, size=(3, 5))])
    return dict(w0=rng.normal(size=3), u0=rng.normal(size=2), targets=targets, lr=np.array(0.1), max_norm=np.array(1.0))


def _train(ns, w0, u0, targets, lr, max_norm):
    params = {"w": w0.copy(), "u": u0.copy()}
    with np.errstate(invalid="ignore", divide="ignore"):  # NaNs (t = 0, a broken adam_update) are the mistake
        losses = ns["train"](params, least_squares, list(targets), lr=float(lr), max_norm=float(max_norm))
        return {"losses": np.asarray(losses, dtype=np.float64), "w": params["w"], "u": params["u"]}


# how _train calls it, for rnnlab.earlier
TRAIN_CALL = {"args": [{"dict": {"w": "w0", "u": "u0"}}, {"helper": "least_squares"}, {"input": "targets", "as": "list"}],
              "kwargs": {"lr": {"input": "lr", "as": "float"}, "max_norm": {"input": "max_norm", "as": "float"}},
              "outputs": [["returned"], ["argument", 0, "w"], ["argument", 0, "u"]]}


def _sample_inputs(rng, N=8, V=5):
    return dict(logits=rng.normal(scale=2.0, size=(N, V)), u=rng.random(N))


def _sample(ns, logits, u):
    return {f"ids_at_{name}": np.asarray(ns["sample_from_logits"](logits, tau, u), dtype=np.float64)
            for name, tau in [("0_5", 0.5), ("1", 1.0), ("2", 2.0)]}


# re-checks of the experiments: the learner's trained models on inputs the grader draws, judged here ---------------

def _adding_inputs(rng, N=400, T=50):
    from rnnlab.data import adding_problem

    x, _ = adding_problem(N, T, seed=int(rng.integers(2**31)))
    return {"x": x}  # the targets stay here: they are computed from x when judging


def _adding_predictions(ns, x):
    return {cell: ns["predict"](cell, ns["adding"][cell][50]["params"], x) for cell in ("lstm", "gru")}


def _adding_judge(inputs, outputs, bound=0.05):
    x = inputs["x"]
    y = (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True)  # the sum of the two marked numbers
    return _each_mse_below(outputs, y, bound, "your trained {cell}'s predictions on new sequences",
                           "your trained {cell} gives an MSE of {mse:.3f} on new sequences at T = 50, not below {bound}")


def _each_mse_below(outputs, y, bound, what, too_high):
    """"" when the LSTM's and the GRU's predictions have y's shape and an MSE below ``bound``, else why not."""
    for cell in ("lstm", "gru"):
        pred = outputs.get(cell)
        if pred is None or pred.shape != y.shape:
            return f"{what.format(cell=cell)} are missing or have the wrong shape"
        mse = float(np.mean((pred - y) ** 2))
        if not mse < bound:
            return too_high.format(cell=cell, mse=mse, bound=bound)
    return ""


@functools.cache
def _names_split():
    """The notebook's split of the census names (seed 0), its vocabulary and the bigram table of the training names."""
    from rnnlab.data import Vocabulary, load_names

    names = load_names("first")
    order = np.random.default_rng(0).permutation(len(names))
    held_out, training = [names[i] for i in order[:1000]], [names[i] for i in order[1000:]]
    vocab = Vocabulary(names)
    x, y, mask = vocab.batch(training)
    bigram = np.ones((len(vocab), len(vocab)))
    np.add.at(bigram, (x[mask], y[mask]), 1)
    return held_out, vocab, bigram / bigram.sum(axis=1, keepdims=True)


def _names_inputs(rng, count=300):
    held_out, vocab, _ = _names_split()
    x, _, _ = vocab.batch([held_out[i] for i in rng.choice(len(held_out), count, replace=False)])
    return {"x": x.astype(np.float64)}


def _names_log_probs(ns, x):
    x = x.astype(int)
    return {cell: ns["log_probs"](cell, ns["names_models"][cell]["params"], x, ns["V"]) for cell in ("lstm", "gru")}


def _names_judge(inputs, outputs):
    _, vocab, bigram = _names_split()
    x = inputs["x"].astype(int)
    lengths = (x != vocab.pad_id).sum(axis=1)  # <s> and the characters
    y = np.full_like(x, vocab.pad_id)
    y[:, :-1] = x[:, 1:]
    y[np.arange(len(x)), lengths - 1] = vocab.end_id
    mask = np.arange(x.shape[1])[None, :] < lengths[:, None]
    baseline = float(np.exp(-np.log(bigram[x[mask], y[mask]]).mean()))
    for cell in ("lstm", "gru"):
        logp = outputs.get(cell)
        if logp is None or logp.shape != (*x.shape, len(vocab)):
            return f"your {cell} character model's log-probabilities are missing or have the wrong shape"
        with np.errstate(all="ignore"):
            total = np.log(np.exp(logp[mask]).sum(axis=1))
        if not np.all(np.abs(total) < 1e-6):
            return f"your {cell} character model's probabilities do not add up to 1"
        perplexity = float(np.exp(-np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0][mask].mean()))
        if not perplexity < baseline:
            return (f"your {cell} character model's perplexity on held-out names is {perplexity:.2f}, "
                    f"not below the bigram's {baseline:.2f}")
    return ""


@functools.cache
def _forecast_windows():
    from rnnlab.data import make_windows, seattle_temperature, train_val_split

    _, temperature = seattle_temperature("daily")
    x, y = make_windows(temperature, 14)
    return train_val_split(x, y, val_fraction=0.25)[2:]


def _forecast_inputs(rng, count=200):
    x_check, _ = _forecast_windows()
    rows = np.sort(rng.choice(len(x_check), count, replace=False))
    return {"rows": rows.astype(np.float64), "x": x_check[rows]}


def _forecast_predictions(ns, rows, x):
    centre, spread = ns["centre"], ns["spread"]
    return {cell: ns["predict"](cell, ns["forecast_models"][cell], (x - centre) / spread) * spread + centre
            for cell in ("lstm", "gru")}


def _forecast_judge(inputs, outputs):
    x_check, y_check = _forecast_windows()
    rows = inputs["rows"].astype(int)
    x, y = x_check[rows], y_check[rows]
    persistence = float(np.mean((x[:, -1] - y) ** 2))
    return _each_mse_below(outputs, y, persistence, "your {cell} forecasts",
                           "your {cell} forecast's MSE on validation days is {mse:.2f}, not below persistence's {bound:.2f}")


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    # the learner's own earlier notebooks, given to this notebook's kernel when grading (rnnlab.earlier)
    earlier=("01_rnn", "02_vanishing_gradients", "03_lstm", "04_gru"),
    depends={
        "temporal_affine_backward": ["temporal_affine_forward"],
        "train": ["adam_update"],
    },
    examples=[
        Example("temporal_affine_forward", "temporal_affine_forward", _affine_inputs, _affine_forward, seed=0,
                revisit="Revisit section 1: out[n, t] = x[n, t] @ W + b for every example and step; reshape x to "
                        "(N*T, H), multiply, reshape back to (N, T, V)."),
        Example("temporal_affine_backward", "temporal_affine_backward",
                lambda rng: {**_affine_inputs(rng), "dout": rng.normal(size=(2, 3, 5))}, _affine_backward, seed=1,
                revisit="Revisit section 1: dx = dout @ W.T at every step; dW and db sum the contributions of all "
                        "N*T vectors."),
        Example("temporal_softmax_loss", "temporal_softmax_loss", _softmax_inputs(1.0), _softmax, seed=2,
                call={"args": [{"input": "x"}, {"input": "y", "as": "ints"}, {"input": "mask", "as": "bools"}]},
                revisit="Revisit section 2: the loss sums -log softmax(x)[y] over the steps where mask is True and "
                        "divides by N; dx = mask * (softmax(x) - onehot(y)) / N."),
        Example("temporal_softmax_loss_stable", "temporal_softmax_loss", _softmax_inputs(1000.0), _softmax_stable,
                seed=3,
                revisit="Revisit section 2: subtract each row's maximum before np.exp, then the loss is finite "
                        "for any scores."),
        Example("mse_loss", "mse_loss", lambda rng: dict(pred=rng.normal(size=(4, 2)), y=rng.normal(size=(4, 2))),
                _mse, seed=4,
                revisit="Revisit section 2: loss = mean((pred - y)**2) over all entries, dpred = 2 (pred - y) / M."),
        Example("adam_update", "adam_update", _adam_inputs, _adam, seed=5,
                revisit="Revisit section 3: update m and v, correct both by 1 - beta**t, then step by "
                        "lr * m_hat / (sqrt(v_hat) + eps)."),
        Example("train", "train", _train_inputs, _train, seed=6, call=TRAIN_CALL,
                revisit="Revisit section 4: for each batch, loss and gradients, clip_gradients, one adam_update per "
                        "array with t = 1, 2, ... and m, v kept from step to step; record the loss."),
        Example("sample_from_logits", "sample_from_logits", _sample_inputs, _sample, seed=7,
                revisit="Revisit section 5: p = softmax(logits / temperature); the id is the first k whose "
                        "cumulative probability is above u."),
    ],
    mistakes=[
        # temporal_affine_forward
        Mutant("temporal_affine_forward", "forgot the bias b",
                "Add the bias to every step's scores: out = x @ W + b.", ".reshape(N, T, -1) + b", ".reshape(N, T, -1)"),
        Mutant("temporal_affine_forward", "batch and time mixed up in the reshape",
                "x.reshape(N * T, H) keeps the examples' steps together; reshaping the result back to (N, T, V) "
                "then puts each score vector where its step was. Do not swap the axes before reshaping.",
                "x.reshape(N * T, H) @ W", "x.transpose(1, 0, 2).reshape(N * T, H) @ W"),
        # temporal_affine_backward
        Mutant("temporal_affine_backward", "db averaged instead of summed",
                "The same b is added at every step of every example: its gradient is the sum of dout over N and T.",
                "dout_flat.sum(axis=0)", "dout_flat.mean(axis=0)"),
        Mutant("temporal_affine_backward", "dW from the last step only",
                "W is used at every step: dW sums x[:, t].T @ dout[:, t] over all t (one product after reshaping).",
                "x.reshape(N * T, H).T @ dout_flat", "x[:, -1].T @ dout[:, -1]"),
        Mutant("temporal_affine_backward", "dW transposed",
                "dW has the shape of W, (H, V): x.T @ dout after reshaping, not dout.T @ x.",
                "x.reshape(N * T, H).T @ dout_flat", "dout_flat.T @ x.reshape(N * T, H)"),
        # temporal_softmax_loss
        Mutant("temporal_softmax_loss", "padding counted in the loss",
                "Multiply the log-probabilities by mask before summing: padded steps are not part of any name.",
                "np.sum(mask * picked)", "np.sum(picked)"),
        Mutant("temporal_softmax_loss", "loss not averaged over N",
                "Divide the summed loss by the batch size N, as the gradient is.", "-np.sum(mask * picked) / N",
                "-np.sum(mask * picked)"),
        Mutant("temporal_softmax_loss", "averaged over the real steps instead of N",
                "This course's loss sums over time and averages over the batch (CS231n): divide by N, not by "
                "the number of real steps.", "-np.sum(mask * picked) / N", "-np.sum(mask * picked) / mask.sum()"),
        Mutant("temporal_softmax_loss", "gradient not masked",
                "Padded steps do not reach the loss, so their gradient is 0: multiply dx by mask.",
                "dx *= mask[:, :, None] / N", "dx /= N"),
        Mutant("temporal_softmax_loss", "forgot the -1 at the right class",
                "d(-log softmax(s)[y]) / ds = softmax(s) - onehot(y): subtract 1 at the right class.",
                "np.take_along_axis(dx, y[:, :, None], axis=2) - 1", "np.take_along_axis(dx, y[:, :, None], axis=2)"),
        Mutant("temporal_softmax_loss", "softmax not shifted",
                "Subtract each row's maximum before np.exp: softmax stays the same and np.exp(1000) no longer overflows.",
                "shifted = x - x.max(axis=2, keepdims=True)", "shifted = x"),
        # mse_loss
        Mutant("mse_loss", "summed instead of averaged",
                "The MSE is the mean over all entries: np.mean((pred - y) ** 2).", "np.mean(diff ** 2)", "np.sum(diff ** 2)"),
        Mutant("mse_loss", "gradient without the factor 2",
                "d(pred - y)**2 / dpred = 2 (pred - y): keep the 2.", "2 * diff / diff.size", "diff / diff.size"),
        Mutant("mse_loss", "gradient not divided by the number of entries",
                "The loss is a mean over M entries, so each entry's gradient is 2 (pred - y) / M.",
                "2 * diff / diff.size", "2 * diff"),
        Mutant("mse_loss", "gradient with the wrong sign",
                "The loss grows when pred moves away from y: dpred = 2 (pred - y) / M, not 2 (y - pred) / M.",
                "dpred = 2 * diff", "dpred = -2 * diff"),
        # adam_update
        Mutant("adam_update", "Adam without bias correction",
                "Divide m by 1 - beta1**t and v by 1 - beta2**t. Both start at zero, and v, which forgets slowly, "
                "stays too small for hundreds of steps: without the correction the steps are several times larger "
                "than Adam's (about 6 times at t = 10, 3 times at t = 100). Training may still go well, even "
                "faster, but it is not Adam.",
                "m_hat = next_m / (1 - beta1 ** t)  # bias correction: m and v started at zero\n"
                "    v_hat = next_v / (1 - beta2 ** t)", "m_hat = next_m\n    v_hat = next_v"),
        Mutant("adam_update", "m and v swapped",
                "m, the mean of the gradients, gives the direction (numerator); v, the mean of their squares, "
                "the size (under the square root).", "lr * m_hat / (np.sqrt(v_hat) + eps)",
                "lr * v_hat / (np.sqrt(m_hat) + eps)"),
        Mutant("adam_update", "v fed with the gradient instead of its square",
                "v is the running mean of the squared gradient: (1 - beta2) * dw ** 2.",
                "(1 - beta2) * dw ** 2", "(1 - beta2) * dw"),
        Mutant("adam_update", "forgot the square root of v",
                "Divide by sqrt(v_hat) + eps: v has the units of a squared gradient.",
                "(np.sqrt(v_hat) + eps)", "(v_hat + eps)"),
        Mutant("adam_update", "stepped up the gradient",
                "Adam descends: w - lr * m_hat / (sqrt(v_hat) + eps).", "next_w = w - lr", "next_w = w + lr"),
        # train
        Mutant("train", "Adam's m and v reset at every step",
                "Create m and v (zeros) once, before the loop, and keep them from step to step: they are "
                "Adam's memory of earlier gradients.",
                "    losses = []\n    for t, batch in enumerate(batches, start=1):\n",
                "    losses = []\n    for t, batch in enumerate(batches, start=1):\n"
                "        m = {name: np.zeros_like(value) for name, value in params.items()}\n"
                "        v = {name: np.zeros_like(value) for name, value in params.items()}\n"),
        Mutant("train", "t starts at 0",
                "t counts the steps 1, 2, 3, ...: at t = 0 the bias correction divides by 1 - beta1**0 = 0, and the "
                "first update turns every parameter into NaN. Start counting at 1.",
                "enumerate(batches, start=1)", "enumerate(batches)"),
        Mutant("train", "step count t not advanced",
                "t counts the steps, 1, 2, 3, ...: the bias correction 1 - beta**t depends on it.",
                "m[name], v[name], t, lr=lr)", "m[name], v[name], 1, lr=lr)"),
        Mutant("train", "gradients not clipped",
                "Clip the gradients with clip_gradients(grads, max_norm) before the Adam step.",
                "        grads, _ = clip_gradients(grads, max_norm)\n", ""),
        Mutant("train", "clipped per array instead of globally",
                "Clip all the gradients together, by their global norm (notebook 02): one call of "
                "clip_gradients(grads, max_norm) with the whole dict.",
                "grads, _ = clip_gradients(grads, max_norm)",
                "grads = {name: clip_gradients({name: g}, max_norm)[0][name] for name, g in grads.items()}"),
        Mutant("train", "gradients accumulated over steps",
                "Each step uses the gradients of its own batch only: do not add them to those of earlier steps.",
                "        loss, grads = loss_and_grads(params, batch)\n",
                "        loss, new_grads = loss_and_grads(params, batch)\n"
                "        total = {k: total[k] + g for k, g in new_grads.items()} if t > 1 else new_grads\n"
                "        grads = total\n"),
        # sample_from_logits
        Mutant("sample_from_logits", "multiplied by the temperature",
                "Divide the logits by the temperature: a low temperature must sharpen the distribution.",
                "scaled = logits / temperature", "scaled = logits * temperature"),
        Mutant("sample_from_logits", "temperature ignored",
                "Divide the logits by the temperature before the softmax.",
                "scaled = logits / temperature", "scaled = logits"),
        Mutant("sample_from_logits", "took the most likely class",
                "Sample, do not take the argmax: the first k whose cumulative probability is above u.",
                "return np.minimum((cdf <= u[:, None]).sum(axis=1), logits.shape[1] - 1)",
                "return logits.argmax(axis=1)"),
        Mutant("sample_from_logits", "off by one in the inverse CDF",
                "The id is the number of cumulative probabilities at or below u, which is the index of the first "
                "one above u; do not subtract 1.",
                "(cdf <= u[:, None]).sum(axis=1)", "(cdf <= u[:, None]).sum(axis=1) - 1"),
    ],
    probes={
        "temporal_softmax_loss_stable": [Probe("values", "temporal_softmax_loss with scores near 1000",
                                               _softmax_inputs(1000.0), _softmax)],
        "adding_problem_remembered": [Probe("outcome", "your trained LSTM and GRU on new sequences of the adding "
                                            "problem", _adding_inputs, _adding_predictions, check=_adding_judge)],
        "names_beat_the_bigram": [Probe("outcome", "your character models on held-out names", _names_inputs,
                                        _names_log_probs, check=_names_judge)],
        "forecast_beats_persistence": [Probe("outcome", "your forecasts of validation days", _forecast_inputs,
                                             _forecast_predictions, check=_forecast_judge)],
    },
)
