"""Notebook 08's reference solutions against independent oracles (float64): attention against
torch.nn.functional.scaled_dot_product_attention with a padding mask and its autograd gradients; the decoder and the
whole encoder–decoder's loss and gradients against the same model built from torch.nn.LSTM (a packed bidirectional
encoder), torch.nn.Embedding and torch.nn.functional.cross_entropy; beam search against an exhaustive search on a
tiny vocabulary, and width 1 against greedy decoding; finite differences for every backward pass.

The functions are loaded from the solution notebook itself (as tests/test_deep.py does), so what is graded and what
is tested here cannot drift apart.
"""

import functools
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import SOLUTIONS
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch_oracle import to_numpy as _np
from torch_oracle import torch_leaf as _t

from autograder.examples import solution_namespace
from rnnlab.gradcheck import check_gradients

TOL = dict(rtol=1e-10, atol=1e-10)
torch.set_num_threads(1)
DECODER = ("E_tgt", "Wx_dec", "Wh_dec", "b_dec", "Wk", "W_out", "b_out")
ENCODER = ("E_src", "Wx_fwd", "Wh_fwd", "b_fwd", "Wx_bwd", "Wh_bwd", "b_bwd")


@functools.cache
def ns():
    return solution_namespace(SOLUTIONS / "08_seq2seq" / "08_seq2seq.ipynb")


def _check(name, ours, theirs):
    np.testing.assert_allclose(ours, theirs, **TOL, err_msg=name)


def _lengths_mask(lengths, T):
    return torch.tensor(np.arange(T)[None, :] < lengths[:, None])  # (N, T) bool, True at real steps


# attention ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_equals_torch_scaled_dot_product_attention_with_a_padding_mask(seed):
    rng = np.random.default_rng(seed)
    N, T_out, T_in, Hd, E = 4, 3, 6, 5, 7
    lengths = np.array([6, 1, 3, 5])
    s, enc, Wk = rng.normal(size=(N, T_out, Hd)), rng.normal(size=(N, T_in, E)), rng.normal(size=(E, Hd))
    context, weights, cache = ns()["attention_forward"](s, enc, lengths, Wk)
    dcontext = rng.normal(size=context.shape)
    ds, denc, dWk = ns()["attention_backward"](dcontext, cache)

    ts, tenc, tWk = _t(s), _t(enc), _t(Wk)
    mask = _lengths_mask(lengths, T_in)[:, None, :].expand(N, T_out, T_in)
    tcontext = F.scaled_dot_product_attention(ts, tenc @ tWk, tenc, attn_mask=mask)
    (tcontext * torch.tensor(dcontext)).sum().backward()
    _check("context", context, _np(tcontext))
    _check("ds", ds, ts.grad.numpy())
    _check("denc", denc, tenc.grad.numpy())
    _check("dWk", dWk, tWk.grad.numpy())
    # the weights, as the softmax of torch's masked scores: exactly 0 at padding, rows summing to 1
    scores = (ts @ (tenc @ tWk).transpose(1, 2)) / np.sqrt(Hd)
    _check("weights", weights, _np(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)))
    assert np.all(weights[np.broadcast_to(~mask.numpy(), weights.shape)] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-14)


def test_masked_softmax_is_finite_for_huge_scores_and_ignores_padded_scores():
    rng = np.random.default_rng(3)
    lengths = np.array([4, 2])
    scores = 1000 * rng.normal(size=(2, 3, 4))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is what exp(-big) should do
        weights = ns()["masked_softmax"](scores, lengths)
    changed = scores.copy()
    changed[1, :, 2:] = rng.normal(size=(3, 2)) * 1e6  # whatever sits at padding
    np.testing.assert_array_equal(ns()["masked_softmax"](changed, lengths), weights)
    expected = _np(torch.softmax(torch.tensor(scores).masked_fill(~_lengths_mask(lengths, 4)[:, None, :], float("-inf")), -1))
    _check("weights", weights, expected)


def test_attention_backward_agrees_with_finite_differences():
    rng = np.random.default_rng(4)
    lengths = np.array([4, 2, 1])

    def forward(s, enc, Wk):
        context, _, cache = ns()["attention_forward"](s, enc, lengths, Wk)
        return context, cache

    errors = check_gradients(forward, ns()["attention_backward"],
                             {"s": rng.normal(size=(3, 2, 3)), "enc": rng.normal(size=(3, 4, 5)),
                              "Wk": rng.normal(size=(5, 3))}, verbose=False)
    assert max(errors.values()) < 1e-8, errors


# the decoder and the whole model, against torch.nn ------------------------------------------------------------------

def _torch_lstm(params, suffix, bidirectional_with=None):
    """A torch.nn.LSTM with the course's weights (weight_ih = Wx.T, weight_hh = Wh.T, bias_ih = b, bias_hh = 0)."""
    D, H4 = params[f"Wx_{suffix}"].shape
    module = torch.nn.LSTM(D, H4 // 4, batch_first=True, bidirectional=bidirectional_with is not None).double()
    pairs = [("", suffix)] + ([("_reverse", bidirectional_with)] if bidirectional_with else [])
    with torch.no_grad():
        for tail, name in pairs:
            getattr(module, f"weight_ih_l0{tail}").copy_(torch.tensor(params[f"Wx_{name}"].T))
            getattr(module, f"weight_hh_l0{tail}").copy_(torch.tensor(params[f"Wh_{name}"].T))
            getattr(module, f"bias_ih_l0{tail}").copy_(torch.tensor(params[f"b_{name}"]))
            getattr(module, f"bias_hh_l0{tail}").zero_()
    return module, pairs


def _lstm_grads(module, pairs):
    grads = {}
    for tail, name in pairs:
        grads[f"Wx_{name}"] = getattr(module, f"weight_ih_l0{tail}").grad.numpy().T
        grads[f"Wh_{name}"] = getattr(module, f"weight_hh_l0{tail}").grad.numpy().T
        grads[f"b_{name}"] = getattr(module, f"bias_ih_l0{tail}").grad.numpy()
    return grads


def _torch_decoder(params, y_in, h0, c0, enc, lengths, attention=True):
    """The decoder with torch.nn: embedding, LSTM, scaled dot-product attention with a padding mask, readout."""
    decoder, pairs = _torch_lstm(params, "dec")
    leaves = {name: _t(params[name]) for name in ("E_tgt", "Wk", "W_out", "b_out")}
    embedded = F.embedding(torch.tensor(y_in), leaves["E_tgt"])
    s, _ = decoder(embedded, (h0[None], c0[None]))
    if attention:
        mask = _lengths_mask(lengths, enc.shape[1])[:, None, :].expand(len(y_in), y_in.shape[1], enc.shape[1])
        context = F.scaled_dot_product_attention(s, enc @ leaves["Wk"], enc, attn_mask=mask)
    else:
        context = torch.zeros(s.shape[:2] + (enc.shape[2],), dtype=torch.float64)
    scores = torch.cat([s, context], dim=2) @ leaves["W_out"] + leaves["b_out"]
    return scores, leaves, decoder, pairs


@pytest.mark.parametrize("attention", [True, False])
def test_decoder_forward_and_backward_equal_torch_autograd(attention):
    rng = np.random.default_rng(5)
    N, T_out, T_in, Hd, E, V, D = 3, 4, 5, 4, 6, 7, 3
    lengths = np.array([5, 2, 3])
    params = {"E_tgt": rng.normal(size=(V, D)), "Wx_dec": rng.normal(scale=0.5, size=(D, 4 * Hd)),
              "Wh_dec": rng.normal(scale=0.5, size=(Hd, 4 * Hd)), "b_dec": rng.normal(scale=0.5, size=4 * Hd),
              "Wk": rng.normal(size=(E, Hd)), "W_out": rng.normal(size=(Hd + E, V)), "b_out": rng.normal(size=V)}
    y_in = rng.integers(0, V, size=(N, T_out))
    h0, c0, enc = rng.normal(size=(N, Hd)), rng.normal(size=(N, Hd)), rng.normal(size=(N, T_in, E))
    scores, weights, cache = ns()["decoder_forward"](y_in, h0, c0, enc, lengths, params, attention)
    dscores = rng.normal(size=scores.shape)
    dh0, dc0, denc, grads = ns()["decoder_backward"](dscores, cache)

    th0, tc0, tenc = _t(h0), _t(c0), _t(enc)
    tscores, leaves, decoder, pairs = _torch_decoder(params, y_in, th0, tc0, tenc, lengths, attention)
    (tscores * torch.tensor(dscores)).sum().backward()
    _check("scores", scores, _np(tscores))
    _check("dh0", dh0, th0.grad.numpy())
    _check("dc0", dc0, tc0.grad.numpy())
    _check("denc", denc, tenc.grad.numpy() if attention else np.zeros_like(enc))
    expected = {**{name: leaf.grad.numpy() if leaf.grad is not None else np.zeros_like(leaf.detach().numpy())
                   for name, leaf in leaves.items()}, **_lstm_grads(decoder, pairs)}
    for name in DECODER:
        _check(f"d{name}", grads[name], expected[name])
    assert (weights is None) == (not attention)


def _model_and_batch(seed, embed=4, hidden=3):
    """A trained-size-independent random model of the notebook's init_seq2seq and a padded batch of real dates."""
    namespace = ns()
    rng = np.random.default_rng(seed)
    params = {name: value + rng.normal(scale=0.3, size=value.shape)
              for name, value in namespace["init_seq2seq"](embed, hidden, seed).items()}
    pairs = namespace["date_pairs"](5, seed=seed, split="train")
    batch = namespace["encode_dates"](pairs, namespace["source_vocab"], namespace["target_vocab"])
    batch["y_mask"][1, 7:] = False  # a target shorter than the others, so that the mask matters
    return params, (batch["x"], batch["x_lengths"], batch["y_in"], batch["y_out"], batch["y_mask"])


@pytest.mark.parametrize("attention", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_whole_loss_and_its_gradients_equal_torch_autograd(seed, attention):
    params, batch = _model_and_batch(seed)
    x, x_lengths, y_in, y_out, y_mask = batch
    loss, grads = ns()["seq2seq_loss"](params, batch, attention)

    encoder, encoder_pairs = _torch_lstm(params, "fwd", bidirectional_with="bwd")
    E_src = _t(params["E_src"])
    packed = pack_padded_sequence(F.embedding(torch.tensor(x), E_src), torch.tensor(x_lengths), batch_first=True,
                                  enforce_sorted=False)
    out, (h_n, c_n) = encoder(packed)
    enc, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    h0, c0 = torch.cat([h_n[0], h_n[1]], dim=1), torch.cat([c_n[0], c_n[1]], dim=1)
    scores, leaves, decoder, decoder_pairs = _torch_decoder(params, y_in, h0, c0, enc, x_lengths, attention)
    V = scores.shape[2]
    each = F.cross_entropy(scores.reshape(-1, V), torch.tensor(y_out).reshape(-1), reduction="none")
    tloss = (each * torch.tensor(y_mask.reshape(-1), dtype=torch.float64)).sum() / len(x)
    tloss.backward()

    _check("loss", loss, tloss.item())
    expected = {"E_src": E_src.grad.numpy(), **_lstm_grads(encoder, encoder_pairs), **_lstm_grads(decoder, decoder_pairs),
                **{name: leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape)
                   for name, leaf in leaves.items()}}
    assert set(grads) == set(ENCODER + DECODER)
    for name in ENCODER + DECODER:
        _check(f"d{name}", grads[name], expected[name])


def test_decoder_step_under_teacher_forcing_is_decoder_forward():
    params, (x, x_lengths, y_in, y_out, y_mask) = _model_and_batch(2)
    namespace = ns()
    enc, h, c, _ = namespace["encode_source"](params, x, x_lengths)
    scores, weights, _ = namespace["decoder_forward"](y_in, h, c, enc, x_lengths, params)
    log_softmax = _np(torch.log_softmax(torch.tensor(scores), dim=2))
    for t in range(y_in.shape[1]):
        log_probs, h, c, step_weights = namespace["decoder_step"](y_in[:, t], h, c, enc, x_lengths, params)
        _check(f"log_probs at step {t}", log_probs, log_softmax[:, t])
        _check(f"weights at step {t}", step_weights, weights[:, t])


# decoding -------------------------------------------------------------------------------------------------------------

def _toy(seed, V=4):
    rng = np.random.default_rng(seed)
    return ns()["toy_step"](rng.normal(scale=2, size=(V, V)), rng.normal(scale=2, size=(4, 3, V)))


def _exhaustive(step, start_id, end_id, V, max_len):
    """Every sequence (ending at end_id, or max_len long) with its log-probability, best first."""
    others = [token for token in range(V) if token != end_id]
    sequences = [list(prefix) + [end_id] for length in range(max_len) for prefix in itertools.product(others, repeat=length)]
    sequences += [list(prefix) for prefix in itertools.product(others, repeat=max_len)]

    def score(sequence):
        total, prev, state = 0.0, np.array([start_id]), (np.zeros((1, 2), dtype=int),)
        for token in sequence:
            log_probs, state = step(prev, state)
            total += log_probs[0, token]
            prev = np.array([token])
        return total

    return sorted(((sequence, score(sequence)) for sequence in sequences), key=lambda pair: -pair[1])


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_finds_the_exhaustive_best_and_width_one_is_greedy(seed):
    step, V, max_len = _toy(seed), 4, 4
    exhaustive = _exhaustive(step, 0, 1, V, max_len)
    beam_search = ns()["beam_search"]
    widest = beam_search(step, (np.zeros((1, 2), dtype=int),), 0, 1, len(exhaustive), max_len)
    # every sequence once, in the exhaustive order (the toy language's state, the step and the sum, keeps them apart)
    assert [ids for ids, _ in widest] == [ids for ids, _ in exhaustive]
    np.testing.assert_allclose([p for _, p in widest], [p for _, p in exhaustive], rtol=1e-12)
    # width 1 is greedy: the argmax at every step, until end_id or max_len
    greedy, total, prev, state = [], 0.0, np.array([0]), (np.zeros((1, 2), dtype=int),)
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        token = int(log_probs[0].argmax())
        greedy.append(token)
        total += log_probs[0, token]
        prev = np.array([token])
        if token == 1:
            break
    ((ids, log_prob),) = beam_search(step, (np.zeros((1, 2), dtype=int),), 0, 1, 1, max_len)
    assert ids == greedy
    assert log_prob == pytest.approx(total, rel=1e-12)
    # every width returns log-probabilities best first, each the true log-probability of its sequence
    scores = dict((tuple(ids), p) for ids, p in exhaustive)
    for k in (2, 3, 5):
        found = beam_search(step, (np.zeros((1, 2), dtype=int),), 0, 1, k, max_len)
        assert len(found) <= k and [p for _, p in found] == sorted((p for _, p in found), reverse=True)
        for ids, p in found:
            assert p == pytest.approx(scores[tuple(ids)], rel=1e-12)


def test_beam_of_width_one_translates_as_greedy_decode_does():
    params, (x, x_lengths, *_) = _model_and_batch(3)
    namespace = ns()
    ids, log_prob, _ = namespace["greedy_decode"](params, x, x_lengths, 11, True)
    beam_ids, beam_log_prob = namespace["beam_decode"](params, x, x_lengths, 1, True)
    np.testing.assert_array_equal(beam_ids, ids)
    np.testing.assert_allclose(beam_log_prob, log_prob, rtol=1e-12)
