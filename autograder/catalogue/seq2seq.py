"""08_seq2seq: worked examples and common mistakes of attention, the decoder, the encoder–decoder's loss, greedy
decoding, accuracy and beam search, and the re-checks of its gradient and outcome cells."""

import functools

import numpy as np

from autograder.catalogue import Catalogue, Example, Mutant
from autograder.recheck import Probe

NOTEBOOK = "08_seq2seq/08_seq2seq.ipynb"

# Small sizes, all different, so that a mistake mixing up the decoder's state (Hd), the encoder's states (E) and
# the vocabularies fails loudly: embeddings D = 3, encoder H = 2 per direction (E = 4), decoder Hd = 4 (the
# notebook's model has Hd = 2H too), V_out = 6 (pad 0, start 1, end 2 and three characters), V_in = 9.
D, H, V_IN, V_OUT = 3, 2, 9, 6
E = HD = 2 * H
DECODER = ("E_tgt", "Wx_dec", "Wh_dec", "b_dec", "Wk", "W_out", "b_out")
ENCODER = ("E_src", "Wx_fwd", "Wh_fwd", "b_fwd", "Wx_bwd", "Wh_bwd", "b_bwd")
LENGTHS = np.array([5, 2, 4])  # T_in = 5: one full row, two padded


def _as_ints(array):
    return np.asarray(array).astype(int)


def _decoder_params(rng, E_=E, Hd=HD, V=V_OUT, D_=D):
    return {"E_tgt": rng.normal(size=(V, D_)), "Wx_dec": rng.normal(scale=0.5, size=(D_, 4 * Hd)),
            "Wh_dec": rng.normal(scale=0.5, size=(Hd, 4 * Hd)), "b_dec": rng.normal(scale=0.5, size=4 * Hd),
            "Wk": rng.normal(size=(E_, Hd)), "W_out": rng.normal(size=(Hd + E_, V)), "b_out": rng.normal(size=V)}


def _encoder_params(rng):
    params = {"E_src": rng.normal(size=(V_IN, D))}
    for direction in ("fwd", "bwd"):
        params[f"Wx_{direction}"] = rng.normal(scale=0.5, size=(D, 4 * H))
        params[f"Wh_{direction}"] = rng.normal(scale=0.5, size=(H, 4 * H))
        params[f"b_{direction}"] = rng.normal(scale=0.5, size=4 * H)
    return params


def _source_batch(rng):
    x = rng.integers(3, V_IN, size=(3, 5))
    x[np.arange(5) >= LENGTHS[:, None]] = 0  # padded with <pad> = 0
    return x, LENGTHS.copy()


# attention ----------------------------------------------------------------------------------------------------------

def _softmax_inputs(rng):
    # scores at padded steps are large, so that forgetting the mask changes the weights a lot
    padded = np.arange(5)[None, None, :] >= LENGTHS[:, None, None]  # (3, 1, 5)
    return {"scores": rng.normal(size=(3, 2, 5)) + 3.0 * padded, "lengths": LENGTHS.copy()}


def _stable_inputs(rng):
    """Scores between 695 and 715: np.exp overflows above 709.8, so an unshifted softmax gives NaN where a row's
    largest score overflows and 0 beside it, and right weights in rows where none does."""
    scores = 695.0 + 20.0 * rng.uniform(size=(3, 2, 5))
    padded = np.arange(5)[None, None, :] >= LENGTHS[:, None, None]
    return {"scores": scores + 3000.0 * padded, "lengths": LENGTHS.copy()}


def _masked_softmax(ns, scores, lengths):
    with np.errstate(all="ignore"):  # an unshifted softmax overflows on the large scores: its NaNs are its mistake
        return {"weights": ns["masked_softmax"](scores, _as_ints(lengths))}


def _attention_inputs(rng, Hd=3, E_=4):
    return {"s": rng.normal(size=(3, 2, Hd)), "enc": rng.normal(size=(3, 5, E_)), "lengths": LENGTHS.copy(),
            "Wk": rng.normal(size=(E_, Hd))}


def _attention_forward(ns, s, enc, lengths, Wk):
    context, weights, _ = ns["attention_forward"](s, enc, _as_ints(lengths), Wk)
    return {"weights": weights, "context": context}


def _attention_backward_inputs(rng):
    return {**_attention_inputs(rng), "dcontext": rng.normal(size=(3, 2, 4))}


def _attention_backward(ns, dcontext, s, enc, lengths, Wk):
    *_, cache = ns["attention_forward"](s, enc, _as_ints(lengths), Wk)
    return dict(zip(["ds", "denc", "dWk"], ns["attention_backward"](dcontext, cache)))


def _attention_of_inputs(rng):
    return {"s": rng.normal(size=(3, 2, 3)), "enc": rng.normal(size=(3, 4, 5)), "Wk": rng.normal(size=(5, 3))}


# the decoder --------------------------------------------------------------------------------------------------------

def _decoder_inputs(rng):
    y_in = rng.integers(3, V_OUT, size=(3, 4))
    y_in[:, 0] = 1  # <s>
    return {"y_in": y_in, "h0": rng.normal(size=(3, HD)), "c0": rng.normal(size=(3, HD)),
            "enc": rng.normal(size=(3, 5, E)) * (np.arange(5)[None, :, None] < LENGTHS[:, None, None]),
            "lengths": LENGTHS.copy(), **_decoder_params(rng)}


def _split(inputs):
    params = {name: inputs[name] for name in DECODER}
    rest = {name: value for name, value in inputs.items() if name not in DECODER}
    rest.update(y_in=_as_ints(rest["y_in"]), lengths=_as_ints(rest["lengths"]))
    return rest, params


def _decoder_forward(ns, **inputs):
    rest, params = _split(inputs)
    scores, weights, _ = ns["decoder_forward"](**rest, params=params)
    plain, _, _ = ns["decoder_forward"](**rest, params=params, attention=False)
    return {"scores": scores, "weights": weights, "scores_without_attention": plain}


def _decoder_backward_inputs(rng):
    return {**_decoder_inputs(rng), "dscores": rng.normal(size=(3, 4, V_OUT))}


def _decoder_backward(ns, dscores, **inputs):
    rest, params = _split(inputs)
    *_, cache = ns["decoder_forward"](**rest, params=params)
    dh0, dc0, denc, grads = ns["decoder_backward"](dscores, cache)
    return {"dh0": dh0, "dc0": dc0, "denc": denc, **{"d" + name: grads[name] for name in DECODER}}


def _decoder_of_inputs(rng):
    N, T_in, Hd, E_, V, D_ = 2, 4, 2, 3, 5, 2
    return {"h0": rng.normal(size=(N, Hd)), "c0": rng.normal(size=(N, Hd)), "enc": rng.normal(size=(N, T_in, E_)),
            **{name: 0.5 * value for name, value in _decoder_params(rng, E_, Hd, V, D_).items()}}


def _step_inputs(rng):
    inputs = _decoder_inputs(rng)
    inputs.pop("y_in")
    h, c = inputs.pop("h0"), inputs.pop("c0")
    return {"prev_ids": rng.integers(1, V_OUT, size=3), "h": h, "c": c, **inputs}


def _decoder_step(ns, prev_ids, h, c, enc, lengths, **params):
    log_probs, next_h, next_c, weights = ns["decoder_step"](_as_ints(prev_ids), h, c, enc, _as_ints(lengths), params)
    return {"log_probs": log_probs, "next_h": next_h, "next_c": next_c, "weights": weights}


# the whole model ----------------------------------------------------------------------------------------------------

def _model_inputs(rng):
    x, lengths = _source_batch(rng)
    y_out = rng.integers(3, V_OUT, size=(3, 4))
    y_out[:, -1] = 2  # </s>
    y_in = np.concatenate([np.ones((3, 1), dtype=int), y_out[:, :-1]], axis=1)
    y_mask = np.ones((3, 4))
    y_mask[1, 3:] = 0.0  # one target row padded by a step, so that a loss over every step is caught
    return {"x": x, "x_lengths": lengths, "y_in": y_in, "y_out": y_out, "y_mask": y_mask, **_encoder_params(rng),
            **_decoder_params(rng)}


def _seq2seq_loss(ns, x, x_lengths, y_in, y_out, y_mask, **params):
    batch = (_as_ints(x), _as_ints(x_lengths), _as_ints(y_in), _as_ints(y_out), np.asarray(y_mask) > 0)
    loss, grads = ns["seq2seq_loss"](params, batch)
    return {"loss": np.array(loss), **{"d" + name: grads[name] for name in ENCODER + DECODER}}


def _greedy_inputs(rng):
    inputs = _model_inputs(rng)
    # <pad> and <s> unlikely, </s> about as likely as a character: rows end at different steps
    inputs["b_out"] = np.array([-4.0, -4.0, 0.5, 0.0, 0.0, 0.0]) + 0.5 * inputs["b_out"]
    inputs["W_out"] = 2.0 * inputs["W_out"]  # the state and the context matter
    return {name: inputs[name] for name in ("x", "x_lengths", *ENCODER, *DECODER)}


MODELS = 4  # the greedy re-check decodes with several random models: one model's rows often all end alike


def _many_rows_inputs(rng, N=32):
    """Like the worked example, with 32 rows of random lengths and 4 random models (their arrays named
    <name>_<model>): rows that end early, late and never."""
    x = rng.integers(3, V_IN, size=(N, 5))
    lengths = rng.integers(1, 6, size=N)
    x[np.arange(5) >= lengths[:, None]] = 0
    inputs = {"x": x, "x_lengths": lengths}
    for model in range(MODELS):
        params = {**_encoder_params(rng), **_decoder_params(rng)}
        params["b_out"] = np.array([-4.0, -4.0, 1.5, 0.0, 0.0, 0.0]) + 0.5 * params["b_out"]
        params["W_out"] = 2.0 * params["W_out"]
        inputs.update({f"{name}_{model}": value for name, value in params.items()})
    return inputs


def _greedy_models(ns, x, x_lengths, **arrays):
    outputs = {}
    for model in range(MODELS):
        params = {name: arrays[f"{name}_{model}"] for name in ENCODER + DECODER}
        outputs.update({f"{name}_{model}": value for name, value in _greedy(ns, x, x_lengths, 8, **params).items()})
    return outputs


def _written_weights(ids, weights):
    """The attention weights of the steps up to each row's </s> (2), zeros after it: what a row does after its end
    is free (the notebook's test cell compares these)."""
    if weights is None or np.shape(weights)[:2] != np.shape(ids):
        return weights
    ended = np.cumsum(np.asarray(ids) == 2, axis=1) - (np.asarray(ids) == 2)  # 1 after a row's first </s>
    return np.where(ended[:, :, None] > 0, 0.0, weights)


def _greedy(ns, x, x_lengths, max_len=6, **params):
    """What the test cell compares (max_len 6): ids, log_prob, and the weights up to each row's </s>."""
    ids, log_prob, weights = ns["greedy_decode"](params, _as_ints(x), _as_ints(x_lengths), max_len=max_len)
    return {"ids": np.asarray(ids, dtype=np.float64), "log_prob": log_prob, "weights": _written_weights(ids, weights)}


def _tiny_model_inputs(rng):
    """Fresh parameters of the shapes of the notebook's tiny_model (embed 2, hidden 2, the dates' vocabularies), at
    its scales."""
    from rnnlab.data import date_vocabularies

    source, target = (len(vocab) for vocab in date_vocabularies())
    shapes = {"E_src": (source, 2), "Wx_fwd": (2, 8), "Wh_fwd": (2, 8), "b_fwd": (8,), "Wx_bwd": (2, 8),
              "Wh_bwd": (2, 8), "b_bwd": (8,), "E_tgt": (target, 2), "Wx_dec": (2, 16), "Wh_dec": (4, 16),
              "b_dec": (16,), "Wk": (4, 4), "W_out": (8, target), "b_out": (target,)}
    return {name: rng.normal(scale=1.5 if name in ("E_src", "E_tgt", "Wk") else 1.0, size=shape)
            for name, shape in shapes.items()}


# accuracy and beam search -------------------------------------------------------------------------------------------

def _accuracy_inputs(rng):
    y_out = rng.integers(3, 13, size=(6, 5))
    y_out[:, -1] = 2
    y_mask = np.ones((6, 5))
    y_mask[4, 3:] = 0.0  # a shorter target: its padded steps do not count, whatever was written there
    y_out[4, 3:] = 0
    ids = y_out.copy()
    ids[1, 2] += 1  # one wrong character
    ids[2, :3] = 3  # three wrong (or right by chance)
    ids[3, 4] = 5  # no </s> at the end
    ids[4, 3:] = 7  # written past the end of a padded target: not counted
    return {"ids": ids, "y_out": y_out, "y_mask": y_mask}


def _accuracy(ns, ids, y_out, y_mask):
    arrays = (_as_ints(ids), _as_ints(y_out), np.asarray(y_mask) > 0)
    return {"exact": np.array(ns["exact_match"](*arrays)), "chars": np.array(ns["char_accuracy"](*arrays))}


def _beam_inputs(rng):
    return {"table": rng.normal(scale=2.0, size=(5, 5)), "mix": rng.normal(scale=2.0, size=(4, 3, 5))}


def _beams(ns, table, mix, widths, max_len, keep, label=""):
    """The best ``keep(k)`` sequences that beam_search of each width in ``widths`` returns in the toy language of
    (table, mix) (ids padded with -1, log-probabilities padded with 0), named ids<label>_k<k>, log_probs<label>_k<k>."""
    step = ns["toy_step"](table, mix)
    outputs = {}
    for k in widths:
        rows = keep(k)
        found = list(ns["beam_search"](step, (np.zeros((1, 2), dtype=int),), 0, 1, k, max_len))[:rows]
        ids = np.full((rows, max_len), -1.0)
        for row, (sequence, _) in enumerate(found):
            ids[row, :len(sequence)] = sequence[:max_len]
        outputs[f"ids{label}_k{k}"] = ids
        outputs[f"log_probs{label}_k{k}"] = np.array([log_prob for _, log_prob in found] + [0.0] * (rows - len(found)))
    return outputs


def _beam(ns, table, mix):
    """What the test cell compares: the best 3 sequences of widths 1, 2 and 3, up to 4 ids long."""
    return _beams(ns, table, mix, (1, 2, 3), 4, keep=lambda k: 3)


LANGUAGES = 6  # the beam re-check searches several toy languages: in one, a mistake can happen not to show


def _wide_beam_inputs(rng):
    tables = rng.normal(scale=2.0, size=(LANGUAGES, 8, 8))
    tables[:, :, 1] += 1.0  # the end id likely enough that hypotheses end at different steps
    return {"tables": tables, "mixes": rng.normal(scale=4.0, size=(LANGUAGES, 8, 3, 8))}  # and the state matters


def _wide_beams(ns, tables, mixes):
    """Every sequence each width returns, in each language."""
    outputs = {}
    for language, (table, mix) in enumerate(zip(tables, mixes)):
        outputs.update(_beams(ns, table, mix, (3, 5, 8), 8, keep=lambda k: k, label=f"_{language}"))
    return outputs


# the re-check of the training outcome: the learner's trained model on other test dates, judged here ----------------

@functools.cache
def _other_test_dates():
    from rnnlab.data import date_pairs, date_vocabularies, encode_dates

    source, target = date_vocabularies()
    return encode_dates(date_pairs(500, seed=8, split="test"), source, target)


def _dates_inputs(rng):
    dates = _other_test_dates()
    return {"x": dates["x"].astype(np.float64), "x_lengths": dates["x_lengths"].astype(np.float64)}


def _dates_translated(ns, x, x_lengths):
    ids, _, _ = ns["greedy_decode"](ns["models"][True][0], _as_ints(x), _as_ints(x_lengths), 11, True)
    return {"ids": np.asarray(ids, dtype=np.float64)}


def _dates_judge(inputs, outputs):
    dates = _other_test_dates()
    ids = outputs.get("ids")
    if ids is None or ids.shape != dates["y_out"].shape:
        return "your model's translations of other test dates are missing or have the wrong shape"
    exact = float(np.mean(np.all((ids == dates["y_out"]) | ~dates["y_mask"], axis=1)))
    if not exact >= 0.95:
        return f"your model with attention writes {exact:.3f} of 500 other test dates exactly right, not 0.95 or more"
    return ""


CATALOGUE = Catalogue(
    notebook=NOTEBOOK,
    # the learner's own earlier notebooks: 03's LSTM step, 05's loss and train (which clips with 02's
    # clip_gradients), 07's embeddings, padded LSTM and encoder (built on 03's step)
    earlier=("02_vanishing_gradients", "03_lstm", "05_training", "07_deep_bidirectional"),
    depends={
        "attention_forward": ["masked_softmax"],
        "attention_backward": ["attention_forward"],
        "decoder_forward": ["attention_forward"],
        "decoder_backward": ["decoder_forward", "attention_backward"],
        "seq2seq_loss": ["decoder_forward", "decoder_backward"],
        "decoder_step": ["attention_forward", "decoder_forward"],  # its hidden test compares it with decoder_forward
        "greedy_decode": ["decoder_step"],
    },
    examples=[
        Example("masked_softmax", "masked_softmax", _softmax_inputs, _masked_softmax, seed=800,
                revisit="Revisit section 1: scores at padded input steps (j >= lengths[n]) become -inf, then a "
                        "softmax over the last axis, shifted by each row's largest score."),
        Example("masked_softmax_stable", "masked_softmax", _stable_inputs, _masked_softmax, seed=801,
                revisit="Revisit section 1: subtract each row's largest real score before np.exp; then no score "
                        "overflows, however large."),
        Example("attention_forward", "attention_forward", _attention_inputs, _attention_forward, seed=802,
                revisit="Revisit section 1: keys = enc @ Wk, scores = s @ keys.transpose(0, 2, 1) / sqrt(Hd), "
                        "weights = masked_softmax(scores, lengths), context = weights @ enc."),
        Example("attention_backward", "attention_backward", _attention_backward_inputs, _attention_backward, seed=803,
                revisit="Revisit section 1: dweights = dcontext @ enc^T; dscores = weights * (dweights - "
                        "sum(weights * dweights)) / sqrt(Hd); ds = dscores @ keys; enc gets weights^T @ dcontext plus "
                        "(dscores^T @ s) @ Wk^T."),
        Example("decoder_forward", "decoder_forward", _decoder_inputs, _decoder_forward, seed=804,
                revisit="Revisit section 2: embed y_in, run lstm_padded_forward from h0, c0 (every row full length), "
                        "attend with its states, and read out [s, context] @ W_out + b_out."),
        Example("decoder_backward", "decoder_backward", _decoder_backward_inputs, _decoder_backward, seed=805,
                revisit="Revisit section 2: split the readout's gradient into ds and dcontext, add attention_"
                        "backward's ds to it, then lstm_padded_backward with zero gradients on the final states, "
                        "then embedding_backward."),
        Example("seq2seq_loss", "seq2seq_loss", _model_inputs, _seq2seq_loss, seed=806,
                revisit="Revisit section 2: encode_source, decoder_forward, temporal_softmax_loss, decoder_backward, "
                        "then encoder_backward with denc and dh_n = [dh0[:, :H], dh0[:, H:]] (forward first), and "
                        "embedding_backward for E_src."),
        Example("decoder_step", "decoder_step", _step_inputs, _decoder_step, seed=807,
                revisit="Revisit section 3: embed prev_ids (a row of E_tgt each), lstm_step_forward, attention "
                        "with next_h[:, None], read out [next_h, context], then the log-softmax of the scores."),
        Example("greedy_decode", "greedy_decode", _greedy_inputs, _greedy, seed=824,
                revisit="Revisit section 3: from encode_source's h0, c0 and <s>, each step feeds back the argmax "
                        "of its log_probs; a row that wrote </s> writes PAD after it and its log_prob stops growing."),
        Example("exact_match", "exact_match", _accuracy_inputs, _accuracy, seed=809,
                revisit="Revisit section 3: compare ids with y_out only where y_mask is True: exact_match is the "
                        "fraction of rows right at all of those steps, char_accuracy the fraction of those steps right."),
        Example("beam_search", "beam_search", _beam_inputs, _beam, seed=816,
                revisit="Revisit section 5: totals = each hypothesis's total + log_probs (B, V); keep the best "
                        "k - len(finished) of all of them; one that ends with end_id (or reaches max_len) is finished; "
                        "reorder every state array by the kept rows; return the finished, best first."),
    ],
    mistakes=[
        # masked_softmax
        Mutant("masked_softmax", "softmax over the decoder steps (axis 1) instead of the input steps",
               "Each decoder step spreads its attention over the input steps, the last axis: max and sum over "
               "axis=-1, so that weights[n, t].sum() == 1.",
               "exps / exps.sum(axis=-1, keepdims=True)", "exps / exps.sum(axis=1, keepdims=True)"),
        Mutant("masked_softmax", "padding not masked",
               "Padded input steps are not characters: set their scores to -inf before the softmax "
               "(np.where(valid, scores, -np.inf)) so that their weight is exactly 0.",
               "masked = np.where(valid, scores, -np.inf)", "masked = scores"),
        Mutant("masked_softmax", "softmax not shifted",
               "Subtract each row's largest real score before np.exp: the weights stay the same and np.exp(1000) no "
               "longer overflows.",
               "shifted = masked - masked.max(axis=-1, keepdims=True)", "shifted = masked"),
        # attention_forward
        Mutant("attention_forward", "scores not scaled by 1 / sqrt(Hd)",
               "Scaled dot-product attention divides the scores by sqrt(Hd), the decoder state's size "
               "(s.shape[-1]).",
               "scale = 1.0 / np.sqrt(s.shape[-1])", "scale = 1.0"),
        Mutant("attention_forward", "scaled by 1 / sqrt(E), the encoder's size",
               "The scale is 1 / sqrt(Hd), the size of the dot products' vectors: s.shape[-1], not enc.shape[-1].",
               "scale = 1.0 / np.sqrt(s.shape[-1])", "scale = 1.0 / np.sqrt(enc.shape[-1])"),
        # attention_backward
        Mutant("attention_backward", "softmax backward without the row sum",
               "Every weight of a row depends on every score of the row: dscores = weights * (dweights - "
               "sum over the row of weights * dweights), not weights * dweights.",
               "dweights - np.sum(weights * dweights, axis=-1, keepdims=True)", "dweights"),
        Mutant("attention_backward", "denc only through the context, not through the keys",
               "enc is used twice, as values and through keys = enc @ Wk: add dkeys @ Wk.T to denc.",
               "denc = denc + dkeys @ Wk.T", "denc = denc"),
        Mutant("attention_backward", "the scale forgotten in the backward pass",
               "The scores were multiplied by 1 / sqrt(Hd), so their gradient is too, before ds and dkeys.",
               "dscores = dscores * scale", "dscores = dscores"),
        # decoder_forward
        Mutant("decoder_forward", "the readout ignores the context",
               "With attention the readout reads [s, context]: concatenate the context to the states along the last "
               "axis before multiplying by W_out.",
               "joined = np.concatenate([s, context], axis=2)",
               "joined = np.concatenate([s, np.zeros_like(context)], axis=2)"),
        Mutant("decoder_forward", "the decoder starts from zeros, not from the encoder's final states",
               "Give lstm_padded_forward h0 and c0: without attention they are all the decoder knows of the input.",
               "s, _, _, lstm_cache = lstm_padded_forward(x, np.full(N, T_out), h0, c0,",
               "s, _, _, lstm_cache = lstm_padded_forward(x, np.full(N, T_out), 0 * h0, 0 * c0,"),
        # decoder_backward
        Mutant("decoder_backward", "attention's ds not added",
               "s is used twice, by the readout and as attention's query: ds is the readout's part plus "
               "attention_backward's ds.",
               "ds = ds + ds_attention", "ds = ds"),
        Mutant("decoder_backward", "the context's gradient read from the wrong columns",
               "The readout's input is [s, context]: its first Hd columns belong to s, the rest to the context.",
               "ds, dcontext = djoined[:, :, :Hd], djoined[:, :, Hd:]",
               "dcontext, ds = djoined[:, :, :-Hd], djoined[:, :, -Hd:]"),
        # seq2seq_loss
        Mutant("seq2seq_loss", "dh0 given to the encoder directions in the wrong order",
               "h0 = [forward, backward]: its first H columns are the forward direction's final state, dh_n[0].",
               "dh_n = np.stack([dh0[:, :H], dh0[:, H:]])", "dh_n = np.stack([dh0[:, H:], dh0[:, :H]])"),
        Mutant("seq2seq_loss", "the encoder's states get no gradient from attention",
               "Attention read every encoder state: give encoder_backward denc, not zeros.",
               "encoder_backward(denc, dh_n", "encoder_backward(np.zeros_like(denc), dh_n"),
        # decoder_step
        Mutant("decoder_step", "scores returned, not log-probabilities",
               "decoder_step returns the log-softmax of the scores: scores minus the log of the sum of their "
               "exponentials (shifted by the row's maximum), so that a sequence's log-probability is a sum.",
               "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))", "log_probs = scores"),
        Mutant("decoder_step", "attention reads the previous state, not the new one",
               "As in decoder_forward, the step's new state next_h is the query: attention_forward(next_h[:, None], ...).",
               "attention_forward(next_h[:, None], enc", "attention_forward(h[:, None], enc"),
        # greedy_decode
        Mutant("greedy_decode", "the previous character not fed back",
               "Each step reads the character the step before wrote: prev = the argmax of its log_probs.",
               "prev = log_probs.argmax(axis=1)  # (N,)\n        ids[:, t] = np.where(finished, PAD, prev)",
               "ids[:, t] = np.where(finished, PAD, log_probs.argmax(axis=1))"),
        Mutant("greedy_decode", "characters after </s> kept",
               "A row that wrote </s> is finished: write PAD after it (np.where(finished, PAD, ...)).",
               "ids[:, t] = np.where(finished, PAD, prev)", "ids[:, t] = prev"),
        Mutant("greedy_decode", "log-probabilities added after </s>",
               "A finished row's log-probability stops at its </s>: add 0 for it afterwards.",
               "log_prob += np.where(finished, 0.0, log_probs[np.arange(N), prev])",
               "log_prob += log_probs[np.arange(N), prev]"),
        # exact_match, char_accuracy
        Mutant("exact_match", "padded target steps counted",
               "Steps where y_mask is False are padding: whatever was written there does not count.",
               "np.all((ids == y_out) | ~y_mask, axis=1)", "np.all(ids == y_out, axis=1)"),
        Mutant("exact_match", "exact match measured per character",
               "exact_match is per row: a row counts only if all its characters are right (np.all over axis 1).",
               "return float(np.mean(np.all((ids == y_out) | ~y_mask, axis=1)))",
               "return float(np.sum((ids == y_out) & y_mask) / np.sum(y_mask))"),
        Mutant("exact_match", "char_accuracy divided by every step, padding included",
               "Divide by the number of steps y_mask marks, np.sum(y_mask), not by ids.size.",
               "return float(np.sum((ids == y_out) & y_mask) / np.sum(y_mask))",
               "return float(np.sum((ids == y_out) & y_mask) / ids.size)"),
        # beam_search
        Mutant("beam_search", "the k best of each hypothesis kept, not the k best overall",
               "Keep the best extensions of all hypotheses together: sort the whole (B, V) array of totals "
               "(np.argsort(-totals, axis=None)), not each row on its own.",
               "best = np.argsort(-totals, axis=None, kind=\"stable\")[:width]",
               "best = np.ravel(np.argsort(-totals, axis=1, kind=\"stable\")[:, :width] + "
               "totals.shape[1] * np.arange(len(totals))[:, None])[:width]"),
        Mutant("beam_search", "finished hypotheses stay in the beam",
               "A hypothesis that wrote end_id is finished: set it aside and keep one fewer alive; extending it "
               "past its end gives sequences that are not translations.",
               "if token == end_id or t == max_len - 1:", "if t == max_len - 1:"),
        Mutant("beam_search", "the state not reordered",
               "The kept hypotheses come from different rows of the beam: reorder every array of the state by them, "
               "array[rows], so that each hypothesis keeps its own state.",
               "state = tuple(array[rows] for array in next_state)", "state = tuple(array[:len(rows)] for array in next_state)"),
        Mutant("beam_search", "finished hypotheses returned in the order they finished",
               "Return the finished hypotheses best first: sorted by their total log-probability, highest first "
               "(sorted(finished, key=lambda pair: -pair[1])).",
               "return sorted(finished, key=lambda pair: -pair[1])", "return finished"),
        Mutant("beam_search", "k kept alive after some finished",
               "A finished hypothesis leaves the beam: keep k - len(finished) alive, so that k are kept in all.",
               "width = k - len(finished)", "width = k"),
        Mutant("beam_search", "ranked by the last log-probability, not the total",
               "A hypothesis's score is the sum of its ids' log-probabilities: add the parent's total to log_probs.",
               "totals = np.array([total for _, total in alive])[:, None] + log_probs", "totals = log_probs + 0.0"),
    ],
    probes={
        "attention_backward_gradcheck": [Probe("gradients", "attention_backward against finite differences of "
                                               "attention_forward, on new inputs", _attention_of_inputs,
                                               forward="attention_of", backward="attention_backward")],
        "decoder_backward_gradcheck": [Probe("gradients", "decoder_backward against finite differences of "
                                             "decoder_forward, on new inputs", _decoder_of_inputs,
                                             forward="decoder_of", backward="decoder_backward_flat")],
        # as the cell, at its threshold: through two LSTMs, attention and a softmax, finite differences of the loss
        # are good to about 1e-10, and fresh draws have gradients near 1e-4 (relative errors up to 7e-7 over 30 draws
        # of a correct seq2seq_loss; its catalogued mistakes are off by 5e-3 or more)
        "seq2seq_loss_gradcheck": [Probe("gradients", "seq2seq_loss's gradients against finite differences of its loss, "
                                         "on a new tiny model", _tiny_model_inputs, forward="loss_of",
                                         backward="loss_backward", threshold=1e-5)],
        "masked_softmax_stable": [Probe("values", "masked_softmax with scores near 700", _stable_inputs,
                                        _masked_softmax, function="masked_softmax")],
        "greedy_decode_example": [Probe("values", "greedy_decode of 4 new random models on 32 rows", _many_rows_inputs,
                                        _greedy_models, function="greedy_decode")],
        # wider beams over more ids and steps than the worked example, so that every catalogued mistake shows
        "beam_search_example": [Probe("values", "beam_search of widths 3, 5 and 8, up to 8 ids long, in 6 new toy languages of 8 ids",
                                      _wide_beam_inputs, _wide_beams, function="beam_search")],
        "attention_reaches_95": [Probe("outcome", "your trained model with attention on 500 other test dates",
                                       _dates_inputs, _dates_translated, check=_dates_judge)],
    },
)
