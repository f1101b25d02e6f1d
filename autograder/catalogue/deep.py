"""07_deep_bidirectional: worked examples and common mistakes of embeddings, padded batches, stacked and
bidirectional LSTMs, pooling and the sequence classifier's loss, and the re-checks of its property cells."""

import functools

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

NOTEBOOK = "07_deep_bidirectional/07_deep_bidirectional.ipynb"

# D != H != 2H, so that a mistake mixing up inputs and states (or their weights) fails loudly
D, H = 3, 2
LENGTHS = np.array([4, 2, 1, 3])  # T = 4: one full row, two short ones, one of a single step


def _lstm_weights(rng, D_in):
    # scale 0.5 keeps the gates away from 0 and 1, where several mistakes would look alike
    return dict(Wx=rng.normal(scale=0.5, size=(D_in, 4 * H)), Wh=rng.normal(scale=0.5, size=(H, 4 * H)),
                b=rng.normal(scale=0.5, size=4 * H))


def _as_ints(array):
    return np.asarray(array).astype(int)


# how 08 calls these through rnnlab.earlier (the worked examples store ids and lengths as floats, params flat)
_IDS = {"input": "ids", "as": "ints"}
_ENCODER_ARGS = [{"input": "x"}, {"input": "lengths", "as": "ints"},
                 {"layers": {"names": ["Wx", "Wh", "b"], "layers": 2, "directions": 2}}]
EMBEDDING_CALL = {"args": [_IDS, {"input": "W"}]}
EMBEDDING_BACKWARD_CALL = {"args": [{"input": "dout"}, {"cache": "embedding_forward", "args": [_IDS, {"input": "W"}]}]}
ENCODER_CALL = {"args": _ENCODER_ARGS}
ENCODER_BACKWARD_CALL = {
    "args": [{"input": "dh"}, {"input": "dh_n"}, {"input": "dc_n"}, {"cache": "encoder_forward", "args": _ENCODER_ARGS}],
    "outputs": [["returned", 0]] + [["returned", 1, layer, direction, name] for layer in range(2)
                                    for direction in range(2) for name in ("Wx", "Wh", "b")]}


# embeddings ---------------------------------------------------------------------------------------------------------

def _embedding_inputs(rng, N=2, T=4, V=5, E=3):
    return dict(ids=rng.integers(0, V, size=(N, T)), W=rng.normal(size=(V, E)))


def _embedding_backward_inputs(rng):
    ids = np.array([[1, 3, 1, 0], [3, 1, 4, 1]])  # 1 four times, 3 twice, 2 never
    return dict(ids=ids, W=rng.normal(size=(5, 3)), dout=rng.normal(size=(2, 4, 3)))


def _embedding_forward(ns, ids, W):
    return {"out": ns["embedding_forward"](_as_ints(ids), W)[0]}


def _embedding_backward(ns, ids, W, dout):
    _, cache = ns["embedding_forward"](_as_ints(ids), W)
    return {"dW": ns["embedding_backward"](dout, cache)}


def _table_inputs(rng):
    return {"W": rng.normal(size=(4, 3))}  # the table of embedding_of_table (V = 4)


# padded batches -----------------------------------------------------------------------------------------------------

def _fresh_lengths(rng, N, T):
    """Lengths between 1 and T with at least one full row and one short one."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0], lengths[-1] = T, rng.integers(1, T)
    return lengths


def _reverse_inputs(rng):
    return dict(x=rng.normal(size=(3, 4, 2)), lengths=np.array([4, 2, 1]))


def _reverse(ns, x, lengths):
    return {"x_reversed": ns["reverse_within_length"](x, _as_ints(lengths))}


def _padded_inputs(rng, N=4, T=4):
    return dict(x=rng.normal(size=(N, T, D)), lengths=LENGTHS.copy(), h0=rng.normal(size=(N, H)),
                c0=rng.normal(size=(N, H)), **_lstm_weights(rng, D))


def _padded_forward(ns, x, lengths, **rest):
    h, h_n, c_n, _ = ns["lstm_padded_forward"](x, _as_ints(lengths), **rest)
    return {"h": h, "h_n": h_n, "c_n": c_n}


def _padded_backward_inputs(rng):
    inputs = _padded_inputs(rng)
    N, T, _ = inputs["x"].shape
    # upstream gradients at padded steps too: the outputs there are constant zeros, so these must not count
    return {**inputs, "dh": rng.normal(size=(N, T, H)), "dh_n": rng.normal(size=(N, H)), "dc_n": rng.normal(size=(N, H))}


def _padded_backward(ns, dh, dh_n, dc_n, x, lengths, **rest):
    *_, cache = ns["lstm_padded_forward"](x, _as_ints(lengths), **rest)
    names = ["dx", "dh0", "dc0", "dWx", "dWh", "db"]
    return dict(zip(names, ns["lstm_padded_backward"](dh, dh_n, dc_n, cache)))


def _padded_fresh_inputs(rng):
    N, T = 5, 6
    return dict(x=rng.normal(size=(N, T, D)), lengths=_fresh_lengths(rng, N, T), h0=rng.normal(size=(N, H)),
                c0=rng.normal(size=(N, H)), extra=rng.normal(size=(N, 3, D)), **_lstm_weights(rng, D))


def _padded_padding(ns, x, lengths, extra, **rest):
    """What lstm_padded_forward_padding compares: the outputs with 3 more padded steps minus those without."""
    lengths = _as_ints(lengths)
    h, h_n, c_n, _ = ns["lstm_padded_forward"](x, lengths, **rest)
    h_more, h_n_more, c_n_more, _ = ns["lstm_padded_forward"](np.concatenate([x, extra], axis=1), lengths, **rest)
    T = x.shape[1]
    return {"h_change": h_more[:, :T] - h, "h_at_extra_padding": h_more[:, T:], "h_n_change": h_n_more - h_n,
            "c_n_change": c_n_more - c_n}


def _lstm_padded_of_inputs(rng):
    N, T = 3, 4  # the rows of GRADCHECK_LENGTHS
    return dict(x=rng.normal(size=(N, T, 2)), h0=rng.normal(size=(N, 3)), c0=rng.normal(size=(N, 3)),
                Wx=rng.normal(scale=0.5, size=(2, 12)), Wh=rng.normal(scale=0.5, size=(3, 12)),
                b=rng.normal(scale=0.5, size=12))


# stacked and bidirectional ------------------------------------------------------------------------------------------

def _encoder_weights(rng, D_in=D, layers=2, directions=2):
    weights = {}
    for layer in range(layers):
        for direction in range(directions):
            for name, value in _lstm_weights(rng, D_in if layer == 0 else directions * H).items():
                weights[f"{name}_{layer}_{direction}"] = value
    return weights


def _params(weights, layers=2, directions=2):
    return [[{name: weights[f"{name}_{layer}_{direction}"] for name in ("Wx", "Wh", "b")}
             for direction in range(directions)] for layer in range(layers)]


def _encoder_inputs(rng, N=4, T=4):
    lengths = LENGTHS.copy() if (N, T) == (4, 4) else _fresh_lengths(rng, N, T)
    return dict(x=rng.normal(size=(N, T, D)), lengths=lengths, **_encoder_weights(rng))


def _encoder_forward(ns, x, lengths, **weights):
    h, h_n, c_n, _ = ns["encoder_forward"](x, _as_ints(lengths), _params(weights))
    return {"h": h, "h_n": h_n, "c_n": c_n}


def _encoder_backward_inputs(rng):
    inputs = _encoder_inputs(rng)
    N, T, _ = inputs["x"].shape
    return {**inputs, "dh": rng.normal(size=(N, T, 2 * H)), "dh_n": rng.normal(size=(4, N, H)),
            "dc_n": rng.normal(size=(4, N, H))}


def _encoder_backward(ns, dh, dh_n, dc_n, x, lengths, **weights):
    *_, cache = ns["encoder_forward"](x, _as_ints(lengths), _params(weights))
    dx, dparams = ns["encoder_backward"](dh, dh_n, dc_n, cache)
    grads = {"dx": dx}
    for layer in range(2):
        for direction in range(2):
            for name in ("Wx", "Wh", "b"):
                grads[f"d{name}_{layer}_{direction}"] = dparams[layer][direction][name]
    return grads


def _encoder_fresh_inputs(rng):
    return {**_encoder_inputs(rng, N=5, T=5), "extra": rng.normal(size=(5, 2, D))}


def _encoder_padding(ns, x, lengths, extra, **weights):
    """What encoder_forward_padding compares: the outputs with 2 more padded steps minus those without."""
    lengths, params = _as_ints(lengths), _params(weights)
    h, h_n, c_n, _ = ns["encoder_forward"](x, lengths, params)
    h_more, h_n_more, c_n_more, _ = ns["encoder_forward"](np.concatenate([x, extra], axis=1), lengths, params)
    T = x.shape[1]
    return {"h_change": h_more[:, :T] - h, "h_at_extra_padding": h_more[:, T:], "h_n_change": h_n_more - h_n,
            "c_n_change": c_n_more - c_n}


def _encoder_of_inputs(rng):
    # the batch of ENCODER_GRADCHECK_LENGTHS: N = 2, T = 3, D = 2, H = 2
    weights = {}
    for layer, D_in in enumerate([2, 4]):
        for direction in range(2):
            weights[f"Wx_{layer}_{direction}"] = rng.normal(scale=0.5, size=(D_in, 8))
            weights[f"Wh_{layer}_{direction}"] = rng.normal(scale=0.5, size=(2, 8))
            weights[f"b_{layer}_{direction}"] = rng.normal(scale=0.5, size=8)
    return {"x": rng.normal(size=(2, 3, 2)), **weights}


# pooling and the loss -----------------------------------------------------------------------------------------------

def _states_inputs(rng, N=4, T=4):
    # states at padded steps are not zero here, so that a pooling that reads them is caught
    lengths = np.array([3, 1, 4, 2]) if (N, T) == (4, 4) else _fresh_lengths(rng, N, T)
    return dict(h=rng.normal(size=(N, T, 3)), lengths=lengths)


def _last_state(ns, h, lengths):
    return {"last": ns["last_state"](h, _as_ints(lengths))}


def _mean_pool(ns, h, lengths):
    return {"pooled": ns["mean_pool_forward"](h, _as_ints(lengths))[0]}


def _mean_pool_backward(ns, h, lengths, dpooled):
    _, cache = ns["mean_pool_forward"](h, _as_ints(lengths))
    return {"dh": ns["mean_pool_backward"](dpooled, cache)}


def _scores_inputs(scale):
    def inputs(rng, N=5, C=4):
        return dict(scores=scale * rng.normal(size=(N, C)), y=rng.integers(0, C, size=N))
    return inputs


def _softmax(ns, scores, y):
    with np.errstate(all="ignore"):  # an unshifted softmax overflows on the large scores: its NaNs are its mistake
        loss, dscores = ns["softmax_cross_entropy"](scores, _as_ints(y))
    return {"loss": np.array(loss), "dscores": dscores}


def _softmax_stable(ns, scores, y):
    """dscores first: with scores near 1000 an unshifted softmax makes the loss NaN, which says nothing about the
    mistake, while its dscores identify it."""
    outputs = _softmax(ns, scores, y)
    return {"dscores": outputs["dscores"], "loss": outputs["loss"]}


# truncated BPTT -------------------------------------------------------------------------------------------------------

LANGUAGE_MODEL = ("E", "Wx", "Wh", "b", "W", "c")


def _tbptt_inputs(rng, N=2, L=7, V=5, E=3, hidden=2):
    return dict(E=rng.normal(size=(V, E)), Wx=rng.normal(scale=0.5, size=(E, 4 * hidden)),
                Wh=rng.normal(scale=0.5, size=(hidden, 4 * hidden)), b=rng.normal(scale=0.5, size=4 * hidden),
                W=rng.normal(size=(hidden, V)), c=rng.normal(size=V), ids=rng.integers(0, V, size=(N, L)),
                targets=rng.integers(0, V, size=(N, L)), k=np.array(3.0), lr=np.array(0.5))


def _tbptt(ns, ids, targets, k, lr, **weights):
    params = {name: weights[name].copy() for name in LANGUAGE_MODEL}

    def gradient_step(params, grads):
        for name in params:
            params[name] = params[name] - float(lr) * grads[name]

    losses = ns["truncated_bptt"](params, _as_ints(ids), _as_ints(targets), int(k), gradient_step)
    return {"losses": np.asarray(losses, dtype=np.float64), **params}


def _tbptt_carried(ns, ids, targets, k, lr, **weights):
    """What truncated_bptt_carries_state compares: with no update, the chunks' losses weighted by their lengths
    minus the loss of the whole streams."""
    ids, targets = _as_ints(ids), _as_ints(targets)
    params = {name: weights[name] for name in LANGUAGE_MODEL}
    losses = np.asarray(ns["truncated_bptt"](params, ids, targets, 3, lambda params, grads: None), dtype=np.float64)
    L = ids.shape[1]
    chunk_lengths = np.diff([*range(0, L, 3), L])
    if losses.shape != chunk_lengths.shape:
        return {"losses": losses}
    return {"weighted_mean_minus_whole": np.array(np.sum(losses * chunk_lengths) / L
                                                  - ns["stream_loss"](params, ids, targets))}


# the re-check of the names experiment: the learner's trained classifiers on the held-out names, judged here --------

@functools.cache
def _held_out_names():
    """The notebook's held-out names (section 6: the split of seed 0) as a padded batch, and their lists."""
    from rnnlab.data import Vocabulary, load_names

    female, male = load_names("female"), load_names("male")
    only_male = [name for name in male if name not in set(female)]
    only_female = [name for name in female if name not in set(male)][:len(only_male)]
    names, labels = only_female + only_male, np.array([0] * len(only_female) + [1] * len(only_male))
    order = np.random.default_rng(0).permutation(len(names))
    held_out = order[:len(order) // 4]
    vocab = Vocabulary(load_names("first"))
    lengths = np.array([len(names[i]) for i in held_out])
    ids = np.zeros((len(held_out), lengths.max()), dtype=int)
    for n, i in enumerate(held_out):
        ids[n, :lengths[n]] = vocab.encode(names[i])
    return ids, lengths, labels[held_out]


def _names_inputs(rng):
    ids, lengths, _ = _held_out_names()  # the labels stay here
    return {"ids": ids.astype(np.float64), "lengths": lengths.astype(np.float64)}


def _names_scores(ns, ids, lengths):
    ids, lengths = _as_ints(ids), _as_ints(lengths)
    return {f"seed_{seed}": ns["classifier_scores"](ns["runs"][(1, 2, "mean"), seed]["params"], ids, lengths, "mean")
            for seed in (0, 1, 2)}


def _names_judge(inputs, outputs):
    _, _, labels = _held_out_names()
    for seed in (0, 1, 2):
        scores = outputs.get(f"seed_{seed}")
        if scores is None or scores.shape != (len(labels), 2):
            return f"your seed-{seed} bidirectional classifier's scores are missing or have the wrong shape"
        held_out_accuracy = float(np.mean(scores.argmax(axis=1) == labels))
        if not held_out_accuracy > 0.8:
            return (f"your seed-{seed} bidirectional classifier gets {held_out_accuracy:.3f} of the held-out names "
                    "right, not above 0.8")
    return ""


def _accuracy(ns, scores, y):
    return {"acc": np.array(ns["accuracy"](scores, _as_ints(y)))}


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    # the learner's own earlier notebooks, given to this notebook's kernel when grading (rnnlab.earlier): 03's LSTM
    # step, and for training 05's train and adam_update, whose train clips with 02's clip_gradients
    earlier=("02_vanishing_gradients", "03_lstm", "05_training"),
    depends={
        "embedding_backward": ["embedding_forward"],
        "lstm_padded_backward": ["lstm_padded_forward"],
        "encoder_forward": ["lstm_padded_forward", "reverse_within_length"],
        "encoder_backward": ["encoder_forward", "lstm_padded_backward"],
        "mean_pool_backward": ["mean_pool_forward"],
        # through the notebook's chunk_loss_and_grads
        "truncated_bptt": ["embedding_forward", "embedding_backward", "lstm_padded_forward", "lstm_padded_backward",
                           "softmax_cross_entropy"],
    },
    examples=[
        Example("embedding_forward", "embedding_forward", _embedding_inputs, _embedding_forward, seed=70, call=EMBEDDING_CALL,
                revisit="Revisit section 1: out[n, t] is row ids[n, t] of W; W[ids] does it for the whole batch."),
        Example("embedding_backward", "embedding_backward", _embedding_backward_inputs, _embedding_backward, seed=71,
                call=EMBEDDING_BACKWARD_CALL,
                revisit="Revisit section 1: dW starts at zeros (V, D); every position (n, t) adds dout[n, t] to row "
                        "ids[n, t], and np.add.at(dW, ids, dout) adds them all, repeated ids included."),
        Example("reverse_within_length", "reverse_within_length", _reverse_inputs, _reverse, seed=72,
                revisit="Revisit section 2: x_reversed[n, t] = x[n, lengths[n] - 1 - t] for t < lengths[n], and "
                        "x[n, t] at padded steps."),
        Example("lstm_padded_forward", "lstm_padded_forward", _padded_inputs, _padded_forward, seed=73,
                revisit="Revisit section 3: at every step run lstm_step_forward for all rows, then keep its results "
                        "only where t < lengths: there h[:, t] is the step's new hidden state and the state moves on; at padded steps "
                        "h[:, t] = 0 and the state stays."),
        Example("lstm_padded_backward", "lstm_padded_backward", _padded_backward_inputs, _padded_backward, seed=74,
                revisit="Revisit section 3: start the carried gradients at dh_n and dc_n, walk t from T - 1 down to "
                        "0, give lstm_step_backward dh[:, t] plus the carried gradient at real steps and zeros at "
                        "padded ones, and let the carried gradient pass padded steps unchanged."),
        Example("encoder_forward", "encoder_forward", _encoder_inputs, _encoder_forward, seed=75, call=ENCODER_CALL,
                revisit="Revisit section 4: per layer, the forward direction reads the layer's input, the backward "
                        "one reverse_within_length of it, and its outputs are reversed back; join [forward, backward] "
                        "for the next layer, and stack h_n layer by layer, forward first."),
        Example("encoder_backward", "encoder_backward", _encoder_backward_inputs, _encoder_backward, seed=76,
                call=ENCODER_BACKWARD_CALL,
                revisit="Revisit section 4: from the top layer down, split dh into [forward, backward], reverse the "
                        "backward part before its lstm_padded_backward and its dx after, add the two directions' dx, "
                        "and give dh_n[k], dc_n[k] to the direction of h_n[k]."),
        Example("last_state", "last_state", _states_inputs, _last_state, seed=77,
                revisit="Revisit section 5: last[n] = h[n, lengths[n] - 1], the state at row n's own last step."),
        Example("mean_pool_forward", "mean_pool_forward", _states_inputs, _mean_pool, seed=78,
                revisit="Revisit section 5: sum h[n, t] over the real steps t < lengths[n] only, divide by lengths[n]."),
        Example("mean_pool_backward", "mean_pool_backward",
                lambda rng: {**_states_inputs(rng), "dpooled": rng.normal(size=(4, 3))}, _mean_pool_backward, seed=79,
                revisit="Revisit section 5: every real step of row n gets dpooled[n] / lengths[n]; padded steps get 0."),
        Example("softmax_cross_entropy", "softmax_cross_entropy", _scores_inputs(1.0), _softmax, seed=80,
                revisit="Revisit section 5: loss = mean over rows of -log softmax(scores)[y]; "
                        "dscores = (softmax(scores) - onehot(y)) / N."),
        Example("softmax_cross_entropy_stable", "softmax_cross_entropy", _scores_inputs(1000.0), _softmax_stable,
                seed=81, revisit="Revisit section 5: subtract each row's maximum before np.exp, then the loss is "
                                 "finite for any scores."),
        Example("accuracy", "accuracy", lambda rng: _scores_inputs(1.0)(rng, N=8, C=3), _accuracy, seed=82,
                revisit="Revisit section 5: the mean over rows of (scores.argmax(axis=1) == y)."),
        Example("truncated_bptt", "truncated_bptt", _tbptt_inputs, _tbptt, seed=83,
                revisit="Revisit section 7: start from zero states; for start = 0, k, 2k, ... call "
                        "chunk_loss_and_grads on ids[:, start:start + k] from the state the last chunk ended in, "
                        "then update(params, grads), and keep each chunk's loss."),
    ],
    mistakes=[
        # embedding_backward
        Mutant("embedding_backward", "repeated ids overwrite each other (dW[ids] += dout)",
                "dW[ids] += dout computes every row's new value first and then writes them, so when a token occurs "
                "twice the last write wins and the other gradients are lost. np.add.at(dW, ids, dout) adds them all.",
                "np.add.at(dW, ids, dout)", "dW[ids] += dout"),
        # reverse_within_length
        Mutant("reverse_within_length", "reversed the whole padded array (x[:, ::-1])",
                "x[:, ::-1] moves a short row's padding to its start. Reverse each row within its own length: "
                "x_reversed[n, t] = x[n, lengths[n] - 1 - t] for t < lengths[n]; padded steps stay at the end.",
                "return x[np.arange(N)[:, None], source]", "return x[:, ::-1]"),
        # lstm_padded_forward
        Mutant("lstm_padded_forward", "padded steps not skipped: the state moves on over padding",
                "At a padded step keep the row's state as it was, np.where(valid, new, old) for the hidden and for "
                "the cell state. Then h_n and c_n are the states at each row's own last step.",
                "h_t = np.where(valid, next_h, h_t)  # and carry the state unchanged\n"
                "        c_t = np.where(valid, next_c, c_t)", "h_t, c_t = next_h, next_c"),
        Mutant("lstm_padded_forward", "padded steps output the state instead of zeros",
                "A padded step outputs zeros, as pad_packed_sequence gives them: h[:, t] = np.where(valid, new, 0), where new "
                "is the step's new hidden state.",
                "h[:, t] = np.where(valid, next_h, 0.0)", "h[:, t] = next_h"),
        Mutant("lstm_padded_forward", "h_n taken at the last padded step (h[:, -1])",
                "h[:, -1] is a padded step for every row shorter than T. h_n is each row's state at its own last step: "
                "the state you carried to the end of the loop.",
                "return h, h_t, c_t, cache", "return h, h[:, -1], c_t, cache"),
        # lstm_padded_backward
        Mutant("lstm_padded_backward", "dh_n and dc_n ignored",
                "h_n and c_n reach the loss too: the carried gradients start at dh_n and dc_n, not at zeros.",
                "dh_next, dc_next = dh_n, dc_n", "dh_next, dc_next = np.zeros_like(dh_n), np.zeros_like(dc_n)"),
        Mutant("lstm_padded_backward", "the carried gradient stops at padded steps",
                "A padded step carried the state unchanged, so the carried gradient passes it unchanged: "
                "dh_next = np.where(valid, dprev_h, dh_next), and the same for the cell state's. Otherwise dh_n of a short "
                "row never reaches its real steps.",
                "dh_next = np.where(valid, dprev_h, dh_next)  # past a padded step the gradient passes unchanged\n"
                "        dc_next = np.where(valid, dprev_c, dc_next)", "dh_next, dc_next = dprev_h, dprev_c"),
        Mutant("lstm_padded_backward", "gradients at padded steps not dropped",
                "The outputs at padded steps are constant zeros and the step changed nothing, so it gets no gradient: "
                "give lstm_step_backward np.where(valid, dh[:, t] + dh_next, 0).",
                "np.where(valid, dh[:, t] + dh_next, 0.0)", "dh[:, t] + dh_next"),
        Mutant("lstm_padded_backward", "dWh not summed over the steps",
                "The same Wh is used at every step: add every step's gradient of Wh into dWh (+=), as for dWx and db.",
                "dWh += dWh_t", "dWh = dWh_t"),
        # encoder_forward
        Mutant("encoder_forward", "the backward direction's states not reversed back",
                "The backward direction's h[:, t] belongs to the t-th word it read, counted from the end: reverse it "
                "within length again before joining, so that step t of both directions is word t.",
                "h = reverse_within_length(h, lengths)  # back in reading order", "h = h  # back in reading order"),
        Mutant("encoder_forward", "the backward direction's h_n taken at the last padded step",
                "The backward direction ends at each row's first word: its h_n is the state it carried to the end of "
                "its own loop (what lstm_padded_forward returns), not its output at step T - 1.",
                "h_n.append(h_last)", "h_n.append(h[:, -1] if direction == 1 else h_last)"),
        Mutant("encoder_forward", "directions joined [backward, forward]",
                "torch.nn.LSTM puts the forward direction first: np.concatenate([forward, backward], axis=2).",
                "np.concatenate(outputs, axis=2)", "np.concatenate(outputs[::-1], axis=2)"),
        # encoder_backward
        Mutant("encoder_backward", "the two directions' gradients not added into dx",
                "Both directions read the same layer input, so its gradient is the sum of theirs: "
                "add each direction's dx to it, rather than keep the last direction's alone.",
                "dinput = dinput + dx_direction", "dinput = dx_direction"),
        Mutant("encoder_backward", "the backward direction's upstream gradient not reversed",
                "The backward direction's outputs were reversed back before joining, so reverse its part of dh "
                "(within length) before its lstm_padded_backward.",
                "dh_direction = reverse_within_length(dh_direction, lengths)", "dh_direction = dh_direction"),
        Mutant("encoder_backward", "the backward direction's input gradient not reversed back",
                "The backward direction read the input reversed: reverse its dx (within length) before adding it to "
                "the forward direction's.",
                "dx_direction = reverse_within_length(dx_direction, lengths)", "dx_direction = dx_direction"),
        # last_state
        Mutant("last_state", "the last padded step (h[:, -1])",
                "h[:, -1] is a padded step for every row shorter than T. Take h[n, lengths[n] - 1]: "
                "h[np.arange(N), lengths - 1].",
                "return h[np.arange(len(h)), lengths - 1]", "return h[:, -1]"),
        # mean_pool_forward
        Mutant("mean_pool_forward", "divided by T instead of the row's length",
                "Padded steps are not part of the sequence: divide the sum of the real steps by lengths[n].",
                "/ lengths[:, None]  # (N, H)", "/ h.shape[1]  # (N, H)"),
        Mutant("mean_pool_forward", "padded steps summed too",
                "Sum the real steps only: multiply h by the mask t < lengths[n] before summing over time.",
                "(h * mask[:, :, None]).sum(axis=1)", "h.sum(axis=1)"),
        # mean_pool_backward
        Mutant("mean_pool_backward", "gradient sent to padded steps",
                "Padded steps did not enter the mean, so their gradient is 0: multiply by the mask.",
                "mask[:, :, None] * (dpooled", "np.ones_like(mask)[:, :, None] * (dpooled"),
        Mutant("mean_pool_backward", "gradient not divided by the length",
                "Each real step counts 1 / lengths[n] in the mean, so its gradient is dpooled[n] / lengths[n].",
                "(dpooled / lengths[:, None])", "dpooled"),
        # softmax_cross_entropy
        # truncated_bptt
        Mutant("truncated_bptt", "the state reset at every chunk",
                "Only the gradient is cut, not the forward pass: each chunk starts from the h and c the previous chunk "
                "returned, so that the model reads the streams as one text.",
                "targets[:, start:start + k], h, c)", "targets[:, start:start + k], np.zeros_like(h), np.zeros_like(c))"),
        Mutant("truncated_bptt", "the last, shorter chunk left out",
                "range(0, L, k) gives every chunk's start, the last chunk's too, even when it is shorter than k.",
                "range(0, L, k)", "range(0, L - k + 1, k)"),
        Mutant("softmax_cross_entropy", "softmax not shifted",
                "Subtract each row's maximum before np.exp: softmax stays the same and np.exp(1000) no longer overflows.",
                "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"),
        Mutant("softmax_cross_entropy", "forgot the -1 at the right class",
                "The gradient of -log softmax(scores)[y] with respect to the scores is softmax(scores) - onehot(y): "
                "subtract 1 at the right class.",
                "    dscores[np.arange(N), y] -= 1\n", ""),
        Mutant("softmax_cross_entropy", "gradient not divided by N",
                "The loss is a mean over the N rows, so each row's gradient is divided by N too.",
                "return loss, dscores / N", "return loss, dscores"),
        Mutant("softmax_cross_entropy", "loss summed over the batch instead of averaged",
                "The loss is the mean over the rows (torch.nn.CrossEntropyLoss's default): divide the sum by N.",
                "].mean()", "].sum()"),
    ],
    # re-checks of the property and gradient cells, on fresh inputs (autograder.recheck)
    probes={
        "embedding_backward_gradcheck": [Probe("gradients", "embedding_backward against finite differences of "
                                               "embedding_forward, on a new table", _table_inputs,
                                               forward="embedding_of_table", backward="embedding_backward")],
        "lstm_padded_forward_padding": [Probe("values", "lstm_padded_forward on a new batch with 3 more padded steps",
                                              _padded_fresh_inputs, _padded_padding, function="lstm_padded_forward")],
        "lstm_padded_backward_gradcheck": [Probe("gradients", "lstm_padded_backward against finite differences of "
                                                 "lstm_padded_forward, on new inputs", _lstm_padded_of_inputs,
                                                 forward="lstm_padded_of", backward="lstm_padded_backward")],
        "encoder_forward_padding": [Probe("values", "encoder_forward on a new batch with 2 more padded steps",
                                          _encoder_fresh_inputs, _encoder_padding, function="encoder_forward")],
        "encoder_backward_gradcheck": [Probe("gradients", "encoder_backward against finite differences of "
                                             "encoder_forward, on new inputs", _encoder_of_inputs,
                                             forward="encoder_of", backward="encoder_backward_flat")],
        "truncated_bptt_carries_state": [Probe("values", "truncated_bptt with no update, on new streams",
                                               _tbptt_inputs, _tbptt_carried, function="truncated_bptt")],
        "names_both_directions_beat_the_bag": [Probe("outcome", "your trained bidirectional classifiers on the "
                                                     "held-out names", _names_inputs, _names_scores,
                                                     check=_names_judge)],
        "softmax_cross_entropy_stable": [Probe("values", "softmax_cross_entropy with scores near 1000",
                                               _scores_inputs(1000.0), _softmax, function="softmax_cross_entropy")],
    },
)
