"""The similarity report on a class of 01_rnn whose answers are known: five learners who wrote every function their
own way (loops or vectorised, ``@``, ``.dot``, ``np.dot``, ``matmul`` or ``einsum``, tuples, lists or dicts for the
caches, helpers or none), and finn, who copied ana's notebook, renamed her variables, moved her helper to another
cell, put the statements and functions of a cell in another order and wrote comments of his own. In a second
class every learner writes the four short functions the common way (``COMMON``): there only the weighting keeps
the honest pairs low.

Each notebook is the release with its solution cells filled in, as a learner hands it in; the answers are checked
against the course's solution first, so that the honest ones are correct and differ for real.
"""

import os
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from conftest import COURSE, SOLUTIONS
from nbgrader.coursedir import CourseDirectory

from autograder import similarity

STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
FUNCTIONS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "affine_forward",
             "affine_backward"]

# Each learner: {grade_id: (code before the function, its body, code after it)}. The release's def line and
# docstring stay where they are, as in a notebook the learner filled in.
ANA = {
    "rnn_step_forward": ("", """\
    # affine part first, then squash
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    next_h = np.tanh(a)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache""", ""),
    "rnn_step_backward": ("""\
def tanh_derivative_from_output(h):
    # d tanh(a) / da written with tanh(a) itself
    return 1 - h * h

""", """\
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = tanh_derivative_from_output(next_h) * dnext_h
    dx = dtanh.dot(Wx.T)
    dprev_h = dtanh.dot(Wh.T)
    dWx = x.T.dot(dtanh)
    dWh = prev_h.T.dot(dtanh)
    db = np.sum(dtanh, axis=0)
    return dx, dprev_h, dWx, dWh, db""", ""),
    "rnn_forward": ("", """\
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = []
    prev_h = h0
    for t in range(T):
        prev_h, c = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(c)
    return h, caches""", ""),
    "rnn_backward": ("", """\
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dprev = np.zeros((N, H))
    # walk back through time, the hidden gradient flows into the step before
    for t in range(T - 1, -1, -1):
        dx_t, dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev
    return dx, dh0, dWx, dWh, db""", ""),
    "affine_forward": ("", """\
    out = x.dot(W) + b
    cache = (x, W, b)
    return out, cache""", ""),
    "affine_backward": ("", """\
    x, W, b = cache
    dx = dout.dot(W.T)
    dW = x.T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dW, db""", ""),
}

BEN = {
    "rnn_step_forward": ("", """\
    z = np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", prev_h, Wh) + b[None, :]
    out = np.tanh(z)
    return out, {"x": x, "h": prev_h, "Wx": Wx, "Wh": Wh, "out": out}""", ""),
    "rnn_step_backward": ("", """\
    dz = dnext_h * (1.0 - np.square(cache["out"]))
    dx = np.einsum("nh,dh->nd", dz, cache["Wx"])
    dprev_h = np.einsum("nh,kh->nk", dz, cache["Wh"])
    dWx = np.einsum("nd,nh->dh", cache["x"], dz)
    dWh = np.einsum("nk,nh->kh", cache["h"], dz)
    return dx, dprev_h, dWx, dWh, dz.sum(0)""", ""),
    "rnn_forward": ("", """\
    steps = x.shape[1]
    states, memo = [], []
    state = h0
    t = 0
    while t < steps:
        state, m = rnn_step_forward(x[:, t], state, Wx, Wh, b)
        states.append(state)
        memo.append(m)
        t += 1
    return np.stack(states, axis=1), memo""", ""),
    "rnn_backward": ("", """\
    grads_x = []
    carry = np.zeros_like(dh[:, 0])
    dWx = np.zeros_like(cache[0]["Wx"])
    dWh = np.zeros_like(cache[0]["Wh"])
    db = np.zeros(dh.shape[2])
    for step_cache, upstream in zip(reversed(cache), np.moveaxis(dh, 1, 0)[::-1]):
        gx, carry, gWx, gWh, gb = rnn_step_backward(upstream + carry, step_cache)
        grads_x.insert(0, gx)
        dWx, dWh, db = dWx + gWx, dWh + gWh, db + gb
    return np.stack(grads_x, axis=1), carry, dWx, dWh, db""", ""),
    "affine_forward": ("", """\
    return np.einsum("nh,hv->nv", x, W) + b, {"x": x, "W": W}""", ""),
    "affine_backward": ("", """\
    dx = np.einsum("nv,hv->nh", dout, cache["W"])
    dW = np.einsum("nh,nv->hv", cache["x"], dout)
    return dx, dW, dout.sum(0)""", ""),
}

CHEN = {
    "rnn_step_forward": ("""\
def linear(inputs, weights):
    \"\"\"inputs times weights, the matrix product\"\"\"
    return np.matmul(inputs, weights)


""", """\
    hidden = np.tanh(linear(x, Wx) + linear(prev_h, Wh) + b)
    return hidden, {"inputs": x, "previous": prev_h, "weights": (Wx, Wh), "hidden": hidden}""", ""),
    "rnn_step_backward": ("""\
def tanh_backward(upstream, tanh_output):
    return upstream * (1 - tanh_output ** 2)


""", """\
    Wx, Wh = cache["weights"]
    grad = tanh_backward(dnext_h, cache["hidden"])
    return (linear(grad, Wx.T), linear(grad, Wh.T), linear(cache["inputs"].T, grad),
            linear(cache["previous"].T, grad), grad.sum(axis=0))""", ""),
    "rnn_forward": ("", """\
    hidden, caches = h0, []
    outputs = []
    for x_t in np.swapaxes(x, 0, 1):
        hidden, step = rnn_step_forward(x_t, hidden, Wx, Wh, b)
        outputs.append(hidden)
        caches.append(step)
    return np.swapaxes(np.array(outputs), 0, 1), caches""", ""),
    "rnn_backward": ("", """\
    T = len(cache)
    running = 0
    totals = [0, 0, 0]
    grads_inputs = [None] * T
    for t in reversed(range(T)):
        grads = rnn_step_backward(dh[:, t] + running, cache[t])
        grads_inputs[t], running = grads[0], grads[1]
        totals = [total + g for total, g in zip(totals, grads[2:])]
    dWx, dWh, db = totals
    return np.stack(grads_inputs, 1), running, dWx, dWh, db""", ""),
    "affine_forward": ("", """\
    return linear(x, W) + b, (x, W)""", ""),
    "affine_backward": ("", """\
    x, W = cache
    return linear(dout, W.T), linear(x.T, dout), dout.sum(axis=0)""", ""),
}

DARA = {
    "rnn_step_forward": ("", """\
    stacked = np.concatenate([x, prev_h], axis=1)  # [x | h]
    weights = np.vstack([Wx, Wh])  # [Wx ; Wh]
    next_h = np.tanh(stacked @ weights + b)
    return next_h, (stacked, weights, next_h, x.shape[1])""", ""),
    "rnn_step_backward": ("", """\
    stacked, weights, next_h, D = cache
    delta = dnext_h * (1 - next_h ** 2)
    dstacked = delta @ weights.T
    dweights = stacked.T @ delta
    return dstacked[:, :D], dstacked[:, D:], dweights[:D], dweights[D:], delta.sum(axis=0)""", ""),
    "rnn_forward": ("", """\
    N, T, _ = x.shape
    projected = x @ Wx + b  # every step's input at once
    hs = np.empty((N, T, Wh.shape[0]))
    h = h0
    for t in range(T):
        h = np.tanh(projected[:, t] + h @ Wh)
        hs[:, t] = h
    return hs, (x, h0, Wx, Wh, hs)""", ""),
    "rnn_backward": ("", """\
    x, h0, Wx, Wh, hs = cache
    previous = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1)
    deltas = np.zeros_like(hs)
    g = np.zeros_like(h0)
    for t in reversed(range(hs.shape[1])):
        g = (dh[:, t] + g) * (1 - hs[:, t] ** 2)
        deltas[:, t] = g
        g = g @ Wh.T
    dx = deltas @ Wx.T
    dWx = np.tensordot(x, deltas, axes=([0, 1], [0, 1]))
    dWh = np.tensordot(previous, deltas, axes=([0, 1], [0, 1]))
    return dx, g, dWx, dWh, deltas.sum(axis=(0, 1))""", ""),
    "affine_forward": ("", """\
    return x @ W + b, (x, W)""", ""),
    "affine_backward": ("", """\
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)""", ""),
}

EMIL = {
    "rnn_step_forward": ("", """\
    pre_activation = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    return np.tanh(pre_activation), [x, prev_h, Wx, Wh, pre_activation]""", ""),
    "rnn_step_backward": ("", """\
    inp, h_before, w_in, w_rec, pre_activation = cache
    local = dnext_h / np.cosh(pre_activation) ** 2  # tanh' = sech^2
    d_inp = np.dot(local, w_in.T)
    d_h_before = np.dot(local, w_rec.T)
    d_w_in = np.dot(inp.T, local)
    d_w_rec = np.dot(h_before.T, local)
    d_bias = local.sum(axis=0)
    return d_inp, d_h_before, d_w_in, d_w_rec, d_bias""", ""),
    "rnn_forward": ("", """\
    time_major = x.transpose(1, 0, 2)
    history = np.zeros((time_major.shape[0],) + h0.shape)
    steps = []
    h = h0
    for t, x_t in enumerate(time_major):
        h, step_cache = rnn_step_forward(x_t, h, Wx, Wh, b)
        history[t] = h
        steps.append(step_cache)
    return history.transpose(1, 0, 2), steps""", ""),
    "rnn_backward": ("", """\
    upstream = dh.transpose(1, 0, 2)
    d_inputs = [None] * len(cache)
    d_w_in = d_w_rec = d_bias = 0
    d_h = np.zeros(upstream.shape[1:])
    for t in range(len(cache) - 1, -1, -1):
        d_inputs[t], d_h, g_in, g_rec, g_b = rnn_step_backward(upstream[t] + d_h, cache[t])
        d_w_in = d_w_in + g_in
        d_w_rec = d_w_rec + g_rec
        d_bias = d_bias + g_b
    return np.array(d_inputs).transpose(1, 0, 2), d_h, d_w_in, d_w_rec, d_bias""", ""),
    "affine_forward": ("", """\
    scores = np.dot(x, W) + b
    return scores, (x, W)""", ""),
    "affine_backward": ("", """\
    x, W = cache
    dx = np.dot(dout, W.T)
    dW = np.dot(x.T, dout)
    db = dout.sum(axis=0)
    return dx, dW, db""", ""),
}

# ana's notebook, copied: names changed, her helper moved to the first cell (after the function), statements and
# the order of independent lines changed, comments of his own
FINN = {
    "rnn_step_forward": ("", """\
    # hidden = tanh(input part + recurrent part + bias)
    pre = inp.dot(W_in) + h_last.dot(W_rec) + bias
    h_new = np.tanh(pre)
    memory = (inp, h_last, W_in, W_rec, h_new)
    return h_new, memory""", """

def slope_of_tanh(out):
    return 1 - out * out"""),
    "rnn_step_backward": ("", """\
    inp, h_last, W_in, W_rec, h_new = memory
    g = slope_of_tanh(h_new) * grad_next
    dW_in = inp.T.dot(g)
    dW_rec = h_last.T.dot(g)
    d_inp = g.dot(W_in.T)
    d_h_last = g.dot(W_rec.T)
    d_bias = np.sum(g, axis=0)
    return d_inp, d_h_last, dW_in, dW_rec, d_bias""", ""),
    "rnn_forward": ("", """\
    batch, steps, dim = inp.shape
    hidden = h_first.shape[1]
    states = np.zeros((batch, steps, hidden))
    memories = []
    h_last = h_first
    for i in range(steps):
        h_last, m = rnn_step_forward(inp[:, i, :], h_last, W_in, W_rec, bias)
        states[:, i, :] = h_last
        memories.append(m)
    return states, memories""", ""),
    "rnn_backward": ("", """\
    batch, steps, hidden = grads.shape
    dim = memories[0][0].shape[1]
    d_inp = np.zeros((batch, steps, dim))
    dW_rec = np.zeros((hidden, hidden))
    dW_in = np.zeros((dim, hidden))
    d_bias = np.zeros(hidden)
    d_back = np.zeros((batch, hidden))
    # backprop through time
    for i in range(steps - 1, -1, -1):
        d_inp_i, d_back, dW_in_i, dW_rec_i, d_bias_i = rnn_step_backward(grads[:, i, :] + d_back, memories[i])
        d_inp[:, i, :] = d_inp_i
        dW_in += dW_in_i
        d_bias += d_bias_i
        dW_rec += dW_rec_i
    d_first = d_back
    return d_inp, d_first, dW_in, dW_rec, d_bias""", ""),
    "affine_forward": ("", """\
    scores = inp.dot(weights) + bias
    memory = (inp, weights, bias)
    return scores, memory""", ""),
    "affine_backward": ("", """\
    inp, weights, bias = memory
    d_weights = inp.T.dot(d_scores)
    d_inp = d_scores.dot(weights.T)
    d_bias = np.sum(d_scores, axis=0)
    return d_inp, d_weights, d_bias""", ""),
}
# finn renamed the arguments too: his def lines are his own
FINN_SIGNATURES = {
    "rnn_step_forward": "def rnn_step_forward(inp, h_last, W_in, W_rec, bias):",
    "rnn_step_backward": "def rnn_step_backward(grad_next, memory):",
    "rnn_forward": "def rnn_forward(inp, h_first, W_in, W_rec, bias):",
    "rnn_backward": "def rnn_backward(grads, memories):",
    "affine_forward": "def affine_forward(inp, weights, bias):",
    "affine_backward": "def affine_backward(d_scores, memory):",
}

# the short functions as most learners write them, following the text: in the second class every learner, finn
# too, has these four, and only rnn_forward and rnn_backward of their own
COMMON = {
    "rnn_step_forward": ("", """\
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache""", ""),
    "rnn_step_backward": ("", """\
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db""", ""),
    "affine_forward": ("", """\
    out = x @ W + b
    cache = (x, W)
    return out, cache""", ""),
    "affine_backward": ("", """\
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db""", ""),
}

HONEST = {"ana": ANA, "ben": BEN, "chen": CHEN, "dara": DARA, "emil": EMIL}
CLASS = {**HONEST, "finn": FINN}
ALIKE = ["ana", "chen", "dara", "emil", "finn"]  # ben's rnn_backward reads his own step caches: not in the second class
SCRIPT = '<script>document.title = "pwned"</script>'


def _release():
    return nbformat.read(COURSE / "01_rnn" / "01_rnn.ipynb", as_version=4)


def filled_in(answers, signatures=None):
    """The release of 01_rnn with its solution cells answered by ``answers``."""
    notebook = _release()
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            before, body, after = answers[grade_id]
            assert STUB in cell.source
            source = cell.source.replace(STUB, body)
            if signatures and grade_id in signatures:
                source = source.replace(source.splitlines()[0], signatures[grade_id], 1)
            cell.source = before + source + after
    return notebook


def _functions(notebook):
    namespace = {"np": np}
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)
    return namespace


@pytest.fixture(scope="module")
def reference():
    return _functions(nbformat.read(SOLUTIONS / "01_rnn" / "01_rnn.ipynb", as_version=4))


def _answers(student, alike=False):
    """The notebook ``student`` hands in: in the second class (``alike``) with the four short functions written
    the common way."""
    answers = {**CLASS[student], **COMMON} if alike else CLASS[student]
    renamed = {name: line for name, line in FINN_SIGNATURES.items() if not alike or name not in COMMON}
    return filled_in(answers, renamed if student == "finn" else None)


@pytest.mark.parametrize("student, alike", [(student, False) for student in sorted(CLASS)]
                         + [(student, True) for student in ALIKE])
def test_every_learners_answers_are_correct(student, alike, reference):
    """The class is honest work: each learner's functions give the course's solution's outputs and gradients."""
    mine = _functions(_answers(student, alike))
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 4, 5, 6
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    for name, args in [("rnn_step_forward", (x[:, 0], h0, Wx, Wh, b)), ("rnn_forward", (x, h0, Wx, Wh, b)),
                       ("affine_forward", (h0, Wh, b))]:
        out, cache = mine[name](*args)
        expected, expected_cache = reference[name](*args)
        np.testing.assert_allclose(out, expected, rtol=1e-10)
        backward = name.replace("forward", "backward")
        upstream = dh if name == "rnn_forward" else dh[:, 0]
        for got, want in zip(mine[backward](upstream, cache), reference[backward](upstream, expected_cache),
                             strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _course(root, notebooks):
    """A course folder with 01_rnn's release and solution, and ``notebooks`` ({student: notebook or bytes})
    submitted."""
    for folder, source in [("course", COURSE), ("solutions", SOLUTIONS)]:
        (root / folder / "01_rnn").mkdir(parents=True)
        shutil.copy(source / "01_rnn" / "01_rnn.ipynb", root / folder / "01_rnn" / "01_rnn.ipynb")
    for student, notebook in notebooks.items():
        path = root / "autograder" / "submitted" / student / "01_rnn" / "01_rnn.ipynb"
        path.parent.mkdir(parents=True)
        if isinstance(notebook, bytes):
            path.write_bytes(notebook)
        else:
            nbformat.write(notebook, path)
    return CourseDirectory(root=str(root), source_directory="solutions", release_directory="course",
                           submitted_directory="autograder/submitted")


def _class_notebooks():
    return {student: _answers(student) for student in CLASS}


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """The class compared: (pairs, notes, the page's path)."""
    root = tmp_path_factory.mktemp("class")
    return similarity.similarity(_course(root, _class_notebooks()), "01_rnn", root / "reports")


def test_the_copied_notebook_is_flagged_first_and_no_honest_pair_is(ranked):
    pairs, notes, _ = ranked
    print("\n".join(similarity.table(pairs, similarity.THRESHOLD, limit=len(pairs))))
    assert notes == []
    first = pairs[0]
    assert {first.first.student, first.second.student} == {"ana", "finn"}
    assert first.score > similarity.THRESHOLD
    honest = [pair for pair in pairs if "finn" not in (pair.first.student, pair.second.student)]
    assert len(honest) == 10
    assert all(pair.score < similarity.THRESHOLD for pair in honest), [
        (pair.first.student, pair.second.student, round(pair.score, 2)) for pair in honest]
    # finn and the others share only what ana shares with them
    assert all(pair.score < similarity.THRESHOLD for pair in pairs[1:])


def test_only_the_learners_own_lines_are_compared(ranked):
    pairs, _, _ = ranked
    ana = next(learner for pair in pairs for learner in (pair.first, pair.second) if learner.student == "ana")
    code = ana.code["01_rnn", "rnn_step_backward"]
    assert "def rnn_step_backward" not in code and "Inputs:" not in code and "YOUR CODE HERE" not in code
    assert "NotImplementedError" not in code and "#" not in code
    assert "def tanh_derivative_from_output(h):" in code and "dx = dtanh.dot(Wx.T)" in code
    course = similarity.CourseLines.of(_release())
    assert not any(line in course for text in ana.code.values() for line in text.splitlines())
    finn = next(learner for pair in pairs for learner in (pair.first, pair.second) if learner.student == "finn")
    assert "def " not in finn.code["01_rnn", "rnn_backward"]  # his def line, with his own argument names, is the course's


def test_an_untouched_notebook_has_nothing_of_its_own():
    release = _release()
    course = similarity.CourseLines.of(release)
    assert all(similarity.own_code(source, course) == "" for source in similarity.solution_cells(release).values())


def test_comments_and_strings_standing_alone_are_cut_out_and_the_code_beside_them_kept():
    nothing = similarity.CourseLines(frozenset(), frozenset())
    source = ('def helper(a):\n    """Its docstring, \u00e9l\u00e8ve."""\n    # a comment\n'
              '    b = a @ a; "a string to hide the line"  # why\n    return b\n')
    assert similarity.own_code(source, nothing) == "def helper(a):\n    b = a @ a;\n    return b"
    assert similarity.own_code("x = 1\x0c\n# only a comment\nprint(x", nothing) == "x = 1\x0c\nprint(x"


def test_a_fingerprint_everyone_has_weighs_nothing():
    """A fingerprint every learner has weighs 0, one only two have weighs 1, in between less the more have it."""
    weight = similarity.weights([{1, 2, 3}, {1, 2}, {1, 2, 4}, {1, 3}, {1}])
    assert weight[1] == 0 and weight[4] == 1
    assert weight[3] == pytest.approx(1) and weight[2] == pytest.approx(np.log(5 / 3) / np.log(5 / 2))
    assert 0 < weight[2] < weight[3]


def _scores(pairs):
    return {(pair.first.student, pair.second.student): pair.score for pair in pairs}


def test_short_functions_everyone_writes_alike_do_not_raise_an_honest_pairs_score(tmp_path):
    """In the second class every learner writes the four short functions the same way: a third of two honest
    learners' code is the same, which counting every fingerprint alike shows; weighted, it counts for nothing, and
    finn's copy of ana's two long functions is still flagged first."""
    coursedir = _course(tmp_path, {student: _answers(student, alike=True) for student in ALIKE})
    learners, solution, _ = similarity.read_class(coursedir, "01_rnn")
    weight = similarity.weights([learner.hashes for learner in learners] + [solution.hashes])
    weighted = _scores(similarity.compare(learners, weight))
    counted = _scores(similarity.compare(learners, dict.fromkeys(weight, 1.0)))
    honest = [pair for pair in weighted if "finn" not in pair]
    assert len(honest) == 6
    assert all(counted[pair] > 0.25 for pair in honest), counted
    assert all(weighted[pair] < 0.1 for pair in honest), weighted
    assert max(weighted, key=weighted.get) == ("ana", "finn") and weighted["ana", "finn"] > similarity.THRESHOLD


def test_the_page_shows_the_copied_pair_side_by_side_with_the_shared_lines_marked(ranked, output_dir):
    pairs, _, path = ranked
    text = path.read_text()
    shutil.copy(path, output_dir / "similarity_report.html")
    assert "a reason to look" in text and "talk to the learners" in text
    assert '<h2 id="pair-1">1. ana and finn' in text and 'id="pair-2"' not in text
    assert '<span class="match">    dWx = x.T.dot(dtanh)</span>' in text
    assert '<span class="match">    dW_in = inp.T.dot(g)</span>' in text


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The class with ben's code holding a script, a second copy of ana's under a name that is HTML, a notebook cut
    short and one whose rnn_forward cell was deleted; every pair on the page. (pairs, notes, the page's path)"""
    notebooks = _class_notebooks()
    scripted = dict(BEN)
    scripted["affine_forward"] = ("", f"""\
    text = '{SCRIPT}'
    return np.einsum("nh,hv->nv", x, W) + b, {{"x": x, "W": W}}""", "")
    notebooks["ben"] = filled_in(scripted)
    notebooks["<i>gil"] = filled_in(ANA)
    notebooks["hana"] = b'{"cells": [ {"cell_type": "code", "sourc'
    deleted = filled_in(CHEN)
    deleted.cells = [cell for cell in deleted.cells if cell.metadata.get("nbgrader", {}).get("grade_id") != "rnn_forward"]
    notebooks["ivo"] = deleted
    root = tmp_path_factory.mktemp("hostile")
    return similarity.similarity(_course(root, notebooks), "01_rnn", root / "reports", threshold=-1)


def test_learner_text_is_escaped_and_a_broken_notebook_is_reported_and_left_out(hostile):
    pairs, notes, path = hostile
    text = path.read_text()
    assert SCRIPT not in text and "<i>gil" not in text
    assert "&lt;script&gt;" in text and "&lt;i&gt;gil" in text
    assert any(note.startswith("hana: 01_rnn.ipynb left out, unreadable: not valid JSON") for note in notes)
    assert any(note.startswith("ivo: 01_rnn.ipynb has no solution cell rnn_forward") for note in notes)
    students = {learner.student for pair in pairs for learner in (pair.first, pair.second)}
    assert "hana" not in students and "ivo" in students
    assert {pairs[0].first.student, pairs[0].second.student} in ({"<i>gil", "ana"}, {"<i>gil", "finn"},
                                                                  {"ana", "finn"})


def test_the_command_prints_the_ranking_and_writes_the_page(tmp_path, ranked):
    """In another process (another seed of Python's string hashes), the same class gets the same scores."""
    _course(tmp_path / "course", _class_notebooks())
    result = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(tmp_path / "course"),
                             "similarity", "01_rnn", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["1", "ana", "and", "finn", f"{ranked[0][0].score:.2f}", f"{ranked[0][0].first_share:.2f}",
                                f"{ranked[0][0].second_share:.2f}", "flagged"]
    assert sum(line.endswith("flagged") for line in lines) == 1 and len(lines) == 1 + 10 + 1
    page = tmp_path / "out" / "similarity-01_rnn.html"
    assert lines[-1] == f"1 pair(s) above 0.40: a reason to look, not evidence (see the page); wrote {page}"
    assert page.read_text() == ranked[2].read_text()


def test_the_page_in_a_browser_runs_no_learner_script(page, ranked, hostile, output_dir):
    """The screenshot of the report (tests/output/similarity_report.png); the hostile class's page runs nothing."""
    page.goto(hostile[2].as_uri())
    assert page.title() == "Similarity: 01_rnn"
    assert page.locator("script").count() == 0
    assert page.get_by_text(SCRIPT).count() >= 1  # shown as text
    page.goto(ranked[2].as_uri())
    page.locator("#pair-1").wait_for()
    page.screenshot(path=str(output_dir / "similarity_report.png"), full_page=True)
