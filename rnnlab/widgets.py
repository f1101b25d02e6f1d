"""The vanishing-gradient explorer of notebook 02.

    from rnnlab.widgets import Explorer, PRESETS
    explorer = Explorer(preset="tanh RNN forgets")
    explorer                                   # controls and four pictures
    explorer.set(cell="lstm", gate_bias=5.0)   # the same path as moving the controls
    explorer.data["norms"]                     # what the pictures show, as arrays

The explorer runs one sequence through a recurrent cell and follows a gradient
backwards from the last state. How much of it reaches the state k steps earlier is
the size of the matrix product of per-step Jacobians

    dh_T / dh_{T-k} = J_T J_{T-1} ... J_{T-k+1},    J_t = dh_t / dh_{t-1},

measured by its spectral norm (largest singular value). For the LSTM the state is
the pair (h, c), so J_t is a 2H x 2H matrix; the cell-state block dc_T / dc_{T-k}
is reported too. The theory it is compared with:

- tanh, sigmoid, ReLU, linear cells, h_t = phi(x_t Wx + h_{t-1} W + b):
  ||J_t|| <= gamma * sigma_max(W) with gamma = sup phi' (1, 1/4, 1, 1), so the norm
  after k steps is at most (gamma * sigma_max(W))**k, and sigma_max(W) < 1 / gamma is
  enough for the gradient to vanish (Pascanu, Mikolov and Bengio 2013). Eigenvalues
  do not decide this: a matrix with all eigenvalues inside the unit circle can
  still stretch some vector (its largest singular value is what counts).
- LSTM: along the cell state c_t = f_t * c_{t-1} + ..., the gradient is multiplied by
  the forget gate at every step, sigmoid(b_f)**k when the gate sits at its bias,
  a memory horizon of -1 / ln sigmoid(b_f) steps.
- GRU, h_t = (1 - z_t) * n_t + z_t * h_{t-1}: the same with the update gate z_t and
  its bias b_z.

Everything is computed from the cells' forward equations and the per-step
Jacobians of the state; nothing here is a notebook exercise.
"""

import html
import io
import time
from collections import OrderedDict
from functools import lru_cache
from typing import NamedTuple

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox
from PIL import Image
from threadpoolctl import ThreadpoolController

CELLS = ("linear", "tanh", "sigmoid", "relu", "gru", "lstm")
INITS = ("gaussian", "orthogonal", "identity")
GAIN_BY = ("spectral radius", "singular value")
# How many H x H blocks the packed recurrent weights hold, in PyTorch's order
# (GRU r, z, n; LSTM i, f, g, o), and which block feeds the cell's tanh (the "W" of the pictures).
BLOCKS = {"linear": 1, "tanh": 1, "sigmoid": 1, "relu": 1, "gru": 3, "lstm": 4}
CANDIDATE_BLOCK = {"linear": 0, "tanh": 0, "sigmoid": 0, "relu": 0, "gru": 2, "lstm": 2}
# The gate whose bias the gate_bias control sets: GRU update gate z, LSTM forget gate f.
MEMORY_GATE_BLOCK = {"gru": 1, "lstm": 1}
# gamma = sup phi' of the nonlinearity (for the gated cells, of the tanh candidate).
GAMMA = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "gru": 1.0, "lstm": 1.0}

DEFAULTS = {
    "cell": "tanh",
    "hidden_size": 64,
    "T": 100,
    "init": "gaussian",
    "gain": 1.0,
    "gain_by": "spectral radius",
    "input_scale": 1.0,
    "gate_bias": 1.0,
    "seed": 0,
}
SETTINGS = tuple(DEFAULTS)
OWN_SETTINGS = "(your own)"  # what the preset menu shows when the settings are no preset's

# The controls' labels are their settings' names in words; the tooltips add the name as the keyword.
LABEL_WIDTH = "8em"
COLUMN_WIDTH = "27em"  # a slider with its label and readout, and the preset menu above the sliders
TOOLTIPS = {
    "cell": "cell: the recurrent cell the sequence runs through",
    "hidden_size": "hidden_size: H, the number of hidden units",
    "T": "T: the number of time steps",
    "init": "init: how each H x H block of the recurrent weights W starts, before the gain scales it",
    "gain": "gain: the value that gain_by sets for W",
    "gain_by": "gain_by: the gain is W's spectral radius (largest |eigenvalue|) or its largest singular value",
    "input_scale": "input_scale: standard deviation of the input's contribution x_t Wx",
    "seed": "seed: of the random weights and inputs",
}
GATE_NOTES = {"lstm": "b_f, the bias of the LSTM's forget gate",
              "gru": "b_z, the bias of the GRU's update gate"}  # the other cells: see Explorer._update

PRESETS = {
    "tanh RNN forgets": {"cell": "tanh", "init": "gaussian", "gain": 1.0, "gain_by": "spectral radius",
                         "input_scale": 1.0, "T": 100},
    "exploding": {"cell": "tanh", "init": "gaussian", "gain": 3.0, "gain_by": "spectral radius",
                  "input_scale": 0.1, "T": 100},
    "orthogonal linear": {"cell": "linear", "init": "orthogonal", "gain": 1.0, "gain_by": "singular value",
                          "input_scale": 1.0, "T": 200},
    # Gain 0.5 is about PyTorch's default LSTM initialisation (blocks of spectral radius ~ 1/sqrt(3)).
    "LSTM with forget bias 1": {"cell": "lstm", "init": "gaussian", "gain": 0.5, "gain_by": "spectral radius",
                                "input_scale": 1.0, "gate_bias": 1.0, "T": 200},
    "LSTM with forget bias 5": {"cell": "lstm", "init": "gaussian", "gain": 0.5, "gain_by": "spectral radius",
                                "input_scale": 1.0, "gate_bias": 5.0, "T": 200},
}

# At most this many k get a spectral norm; the others are skipped (the products are
# still formed for every k: it is the norms that cost).
MAX_NORM_POINTS = 41


_THREADPOOLS = ThreadpoolController()


def _blas_limit(threads):
    """A context in which BLAS (and LAPACK) use at most this many threads."""
    return _THREADPOOLS.limit(limits=threads, user_api="blas")


# The math: pure functions of arrays ---------------------------------------------------


def _exp(a):
    """
    np.exp, and for the complex step (see COMPLEX_STEP), exp(x + i e) = exp(x) (1 + i e) exactly when e is
    that small: real exponentials only, several times faster than complex ones.
    """
    if not np.iscomplexobj(a):
        with np.errstate(over="ignore"):
            return np.exp(a)
    out = np.empty(a.shape, dtype=np.complex128)
    np.exp(np.minimum(a.real, 700.0), out=out.real)  # beyond 700 a sigmoid is 1 anyway; no inf * 0
    np.multiply(out.real, a.imag, out=out.imag)
    return out


def _reciprocal(a):
    """1 / a, and for the complex step 1 / (x + i e) = 1 / x - i e / x**2 exactly (e**2 is below rounding)."""
    if not np.iscomplexobj(a):
        return 1.0 / a
    out = np.empty(a.shape, dtype=np.complex128)
    np.divide(1.0, a.real, out=out.real)
    np.multiply(a.imag, out.real, out=out.imag)
    out.imag *= -out.real
    return out


def _logistic(a):
    # The plain formula: the explorer's pre-activations stay far from where exp(-a) overflows
    # (a numerically careful sigmoid is an exercise of notebook 03).
    return _reciprocal(1.0 + _exp(-a))


def _tanh(a):
    """np.tanh; for the complex step, from the logistic (tanh(a) = 2 sigmoid(2a) - 1), on real exponentials."""
    return 2.0 * _logistic(2.0 * a) - 1.0 if np.iscomplexobj(a) else np.tanh(a)


def _activation(cell, a):
    """phi(a) of the plain cells: identity, tanh, logistic sigmoid or ReLU (real or complex a, see _slope)."""
    if cell == "tanh":
        return _tanh(a)
    if cell == "sigmoid":
        return _logistic(a)
    if cell == "relu":
        return np.where(np.real(a) > 0, a, 0.0)
    return a


# Derivatives come from the forward equations alone, by the complex step: for a function f that is
# analytic (or piecewise linear) and real on the reals, f(x + i e) = f(x) + i e f'(x) + O(e**2), so
# Im f(x + i e) / e is f'(x) to machine precision, with no difference of nearby numbers to lose
# digits. So the explorer holds no hand-written derivative of any cell: those are the exercises.
COMPLEX_STEP = 1e-20
STEPS_PER_CHUNK = 4


def _slope(cell, pre):
    """phi'(pre) of the nonlinearity whose saturation the histogram shows (tanh for the gated cells)."""
    nonlinearity = "tanh" if cell in ("gru", "lstm") else cell
    return np.imag(_activation(nonlinearity, pre + 1j * COMPLEX_STEP)) / COMPLEX_STEP


def _step(cell, inputs, h_prev, recurrent, Wh, c_prev=None):
    """
    One step of a cell, for any leading batch shape, real or complex.

    The cells, with a = inputs + recurrent = x_t Wx + b + h_{t-1} Wh split into H-wide gate blocks:
    - linear / tanh / sigmoid / relu: h_t = phi(a)
    - gru (reset gate inside the candidate, as in notebook 04):
      r, z = sigmoid(a_r), sigmoid(a_z); n = tanh(x_t Wx_n + b_n + (r * h_{t-1}) Wh_n);
      h_t = (1 - z) * n + z * h_{t-1}
    - lstm: i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g); c_t = f * c_{t-1} + i * g;
      h_t = o * tanh(c_t)

    Inputs:
    - inputs: x_t Wx + b, of shape (..., kH)
    - h_prev: Previous hidden state, of shape (..., H)
    - recurrent: h_prev Wh, of shape (..., kH), given by the caller so that a batch of small changes
      of h_prev costs no matrix product (row j of Wh is what a change of h_prev[j] adds); the GRU
      reads only its gates' columns, the first 2H
    - Wh: Recurrent weights, of shape (H, kH) (the GRU's candidate multiplies r * h_prev by its block)
    - c_prev: Previous cell state of the LSTM, of shape (..., H)
    Returns a tuple of:
    - h: New hidden state, of shape (..., H)
    - c: New cell state (LSTM), or None
    - pre: Pre-activation of the cell's nonlinearity (a, or the candidate's), of shape (..., H)
    - gates: Dict of the gates by name, each of shape (..., H)
    """
    H = Wh.shape[0]
    if cell == "gru":
        a = inputs[..., :2 * H] + recurrent[..., :2 * H]  # the gates' pre-activations (the candidate has its own)
        r, z = _logistic(a[..., :H]), _logistic(a[..., H:])
        pre = inputs[..., 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:]  # (..., H)
        n = _tanh(pre)
        return (1 - z) * n + z * h_prev, None, pre, {"r": r, "z": z, "n": n}
    a = inputs + recurrent
    if cell == "lstm":
        i, f, o = _logistic(a[..., :H]), _logistic(a[..., H:2 * H]), _logistic(a[..., 3 * H:])
        pre = a[..., 2 * H:3 * H]
        g = _tanh(pre)
        c = f * c_prev + i * g
        return o * _tanh(c), c, pre, {"i": i, "f": f, "g": g, "o": o}
    return _activation(cell, a), None, a, {}


def _initial_matrix(init, hidden_size, rng):
    """
    One recurrent block before scaling.

    Inputs:
    - init: "gaussian" (entries N(0, 1/H)), "orthogonal" (uniformly random rotation/reflection)
      or "identity"
    - hidden_size: H
    - rng: np.random.Generator
    Returns:
    - W0: Array of shape (H, H)
    """
    if init == "identity":
        return np.eye(hidden_size)
    gaussian = rng.standard_normal((hidden_size, hidden_size)) / np.sqrt(hidden_size)
    if init == "gaussian":
        return gaussian
    if init == "orthogonal":
        q, r = np.linalg.qr(gaussian)
        # Fixing the signs of R's diagonal makes Q uniformly distributed (Haar), not biased by QR.
        return q * np.where(np.diag(r) < 0, -1.0, 1.0)
    raise ValueError(f"init must be one of {INITS}, got {init!r}")


def _matrix_scale(matrix, gain_by):
    """Spectral radius max |eigenvalue| or largest singular value of a square matrix."""
    if gain_by == "spectral radius":
        return float(np.max(np.abs(np.linalg.eigvals(matrix))))
    if gain_by == "singular value":
        return float(np.linalg.norm(matrix, 2))
    raise ValueError(f"gain_by must be one of {GAIN_BY}, got {gain_by!r}")


def _unit_gain_weights(cell, hidden_size, init, gain_by, seed):
    """
    Recurrent weights at gain 1, their candidate block's eigenvalues and singular value.
    Cached: only the number of blocks, hidden size, init, normalisation and seed change them
    (gain just scales them, and the four plain cells share theirs).

    Returns a tuple of read-only arrays:
    - Wh: Packed recurrent weights, of shape (H, kH), every H x H block divided by its own
      spectral radius or largest singular value (so that block has that value 1)
    - eigenvalues: Eigenvalues of the candidate block, of shape (H,), complex
    - sigma_max: Largest singular value of the candidate block, an array of shape ()
    """
    return _unit_gain_blocks(BLOCKS[cell], CANDIDATE_BLOCK[cell], hidden_size, init, gain_by, seed)


@lru_cache(maxsize=32)
def _unit_gain_blocks(count, candidate_block, hidden_size, init, gain_by, seed):
    """_unit_gain_weights for `count` blocks of which the candidate (tanh) block is number `candidate_block`."""
    rng = np.random.default_rng([seed, 0])
    blocks = []
    # The candidate block is drawn first, so a tanh RNN and an LSTM with the same seed share their W.
    order = [candidate_block] + [b for b in range(count) if b != candidate_block]
    for _ in order:
        block = _initial_matrix(init, hidden_size, rng)
        scale = _matrix_scale(block, gain_by)
        blocks.append(block / scale if scale > 0 else block)
    Wh = np.concatenate([blocks[order.index(b)] for b in range(count)], axis=1)  # (H, kH)
    candidate = blocks[0]
    results = (Wh, np.linalg.eigvals(candidate), np.array(np.linalg.norm(candidate, 2)))
    for array in results:
        array.setflags(write=False)
    return results


def _network(cell, hidden_size, T, init, gain, gain_by, input_scale, gate_bias, seed):
    """
    The network one setting of the controls describes.

    Inputs: the settings (see Explorer).
    Returns a tuple of:
    - Wh: Recurrent weights, of shape (H, kH), gain times the unit-gain blocks
    - bias: Of shape (kH,); zero but for the GRU update gate / LSTM forget gate (gate_bias)
    - drive: The input's contribution x_t Wx at every step, of shape (T, kH), entries
      N(0, input_scale**2) (the same random numbers for every T, so T only cuts the sequence)
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    unit_Wh, _, _ = _unit_gain_weights(cell, hidden_size, init, gain_by, seed)
    width = BLOCKS[cell] * hidden_size
    bias = np.zeros(width)
    if cell in MEMORY_GATE_BLOCK:
        gate = MEMORY_GATE_BLOCK[cell]
        bias[gate * hidden_size:(gate + 1) * hidden_size] = gate_bias
    drive = input_scale * np.random.default_rng([seed, 1]).standard_normal((T, width))
    return gain * unit_Wh, bias, drive


def _run(cell, Wh, bias, drive, h0=None, c0=None):
    """
    Run a cell (see `_step`) over one sequence (a batch of one), keeping what its Jacobians need.

    Inputs:
    - cell: One of CELLS
    - Wh: Recurrent weights, of shape (H, kH)
    - bias: Of shape (kH,)
    - drive: x_t Wx for every step, of shape (T, kH)
    - h0, c0: Initial hidden and cell state, of shape (H,); zero when None
    Returns:
    - run: Dict of arrays: "h" (h_1 .. h_T), "h_prev" (h_0 .. h_{T-1}), "pre" (the pre-activation of
      the cell's own nonlinearity) and "derivative" (phi' there), of shape (T, H); "inputs"
      (x_t Wx + b, of shape (T, kH)); for the gated cells the gates by name ("r", "z", "n" /
      "i", "f", "g", "o"), and for the LSTM "c", "c_prev"
    """
    T = drive.shape[0]
    H = Wh.shape[0]
    h = np.zeros(H) if h0 is None else np.asarray(h0, dtype=np.float64)
    c = np.zeros(H) if c0 is None else np.asarray(c0, dtype=np.float64)
    run = {"inputs": drive + bias, **{name: np.empty((T, H)) for name in ("h", "h_prev", "pre")}}
    if cell == "lstm":
        run["c"], run["c_prev"] = np.empty((T, H)), np.empty((T, H))
    for t in range(T):
        run["h_prev"][t] = h
        if cell == "lstm":
            run["c_prev"][t] = c
        h, c, run["pre"][t], gates = _step(cell, run["inputs"][t], h, h @ Wh, Wh, c)
        run["h"][t] = h
        if cell == "lstm":
            run["c"][t] = c
        for name, gate in gates.items():
            run.setdefault(name, np.empty((T, H)))[t] = gate
    run["derivative"] = _slope(cell, run["pre"])
    return run


class StepJacobians(NamedTuple):
    """
    The Jacobians J_t = ds_t / ds_{t-1} of every step, of the state s = h, or s = (h, c) for the LSTM.

    - by_h: ds_t / dh_{t-1}, of shape (T, S, H)
    - by_c: None, or for the LSTM the two diagonals of ds_t / dc_{t-1} = [diag(dh_dc); diag(f)],
      of shape (T, 2, H) (c_{t-1} reaches h_t and c_t only through its own unit)
    """

    by_h: np.ndarray
    by_c: np.ndarray | None

    def dense(self):
        """All J_t as full matrices, of shape (T, S, S)."""
        if self.by_c is None:
            return self.by_h
        T, S, H = self.by_h.shape
        by_c = np.zeros((T, S, H))
        units = np.arange(H)
        by_c[:, units, units] = self.by_c[:, 0]
        by_c[:, H + units, units] = self.by_c[:, 1]
        return np.concatenate([self.by_h, by_c], axis=2)


def _step_jacobians(cell, Wh, run):
    """
    Per-step Jacobians of the state, differentiating `_step` by the complex step (see COMPLEX_STEP).

    Every cell but the GRU sees h_{t-1} only through its pre-activations a = x_t Wx + b + h_{t-1} Wh,
    and then works unit by unit: unit i of s_t depends on unit i of each gate block of a (and, for the
    LSTM, on c_{t-1}[i]). So by the chain rule through that matrix product, ds_t/dh_{t-1} = (ds_t/da) Wh^T,
    and one complex step per gate block, moving that block of every unit at once, gives all of ds_t/da:
    one to four batched evaluations of the step instead of H. The GRU also multiplies h_{t-1} by its
    gates (r * h_{t-1} inside the candidate, z * h_{t-1}), so it moves each of the H units of h_{t-1}
    in turn, all of them in one batched call.

    Inputs:
    - cell: One of CELLS
    - Wh: Recurrent weights, of shape (H, kH)
    - run: What `_run` returned
    Returns:
    - jacobians: StepJacobians; J_t[i, j] = d s_t[i] / d s_{t-1}[j]
    """
    T, H = run["h"].shape
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    recurrent = run["h_prev"] @ Wh  # (T, kH)
    if cell == "gru":
        return StepJacobians(_gru_step_jacobians(Wh, run, recurrent), None)
    blocks = BLOCKS[cell]
    directions = 1j * COMPLEX_STEP * np.repeat(np.eye(blocks), H, axis=1)  # (blocks, kH): row g moves gate block g
    c_prev = run["c_prev"] if cell == "lstm" else None
    h, c, _, _ = _step(cell, run["inputs"], run["h_prev"], recurrent + directions[:, None, :], Wh, c_prev)
    moved = h if c is None else np.concatenate([h, c], axis=2)  # (blocks, T, S)
    by_block = np.imag(moved) / COMPLEX_STEP  # (blocks, T, S): d s_t[i] / d a_g[i], unit i of block g
    # Row i of ds_t/dh_{t-1} is sum over g of by_block[g, t, i] times row i of Wh_g^T (for c_t as for h_t).
    Wh_T = Wh.reshape(H, blocks, H).transpose(1, 2, 0)  # (blocks, H, H): Wh_T[g] is block g of Wh, transposed
    if cell == "lstm":
        Wh_T = np.concatenate([Wh_T, Wh_T], axis=1)  # (blocks, S, H)
    by_h = by_block.transpose(2, 1, 0) @ Wh_T.transpose(1, 0, 2)  # (S, T, H): one small product per row i
    by_h = np.ascontiguousarray(by_h.transpose(1, 0, 2))  # (T, S, H)
    if cell != "lstm":
        return StepJacobians(by_h, None)
    # c_{t-1}[j] reaches only unit j of h_t and c_t, so all units can move at once
    h, c, _, _ = _step(cell, run["inputs"], run["h_prev"], recurrent, Wh, run["c_prev"] + 1j * COMPLEX_STEP)
    return StepJacobians(by_h, np.stack([np.imag(h), np.imag(c)], axis=1) / COMPLEX_STEP)


def _gru_step_jacobians(Wh, run, recurrent):
    """ds_t / dh_{t-1} of the GRU, of shape (T, H, H): every unit of h_{t-1} moved in turn (see _step_jacobians)."""
    T, H = run["h"].shape
    directions = 1j * COMPLEX_STEP * np.eye(H)  # (H, H): row j moves h_{t-1}[j]
    by_h = np.empty((T, H, H))
    for start in range(0, T, STEPS_PER_CHUNK):  # a few steps at a time: the temporaries stay in the CPU cache
        steps = slice(start, start + STEPS_PER_CHUNK)
        h_prev = run["h_prev"][steps, None, :] + directions  # (chunk, H, H): [t, direction, unit]
        # row j of Wh is what a change of h_{t-1}[j] adds to the gates' pre-activations
        moved_recurrent = recurrent[steps, None, :2 * H] + 1j * COMPLEX_STEP * Wh[:, :2 * H]  # (chunk, H, 2H)
        h, _, _, _ = _step("gru", run["inputs"][steps, None, :], h_prev, moved_recurrent, Wh)
        by_h[steps] = np.imag(h).transpose(0, 2, 1) / COMPLEX_STEP
    return by_h


def _sampled_steps(T, state_size):
    """
    The k (0 .. T) at which norms are computed: all of them, or MAX_NORM_POINTS evenly spread
    (a third as many for states wider than 64, the LSTM's (h, c): a norm costs S**3).
    """
    max_points = MAX_NORM_POINTS if state_size <= 64 else MAX_NORM_POINTS // 3 + 1
    if T + 1 <= max_points:
        return np.arange(T + 1)
    return np.unique(np.round(np.linspace(0, T, max_points)).astype(int))


def _log_norms_through_time(jacobians, steps):
    """
    ln || ds_T / ds_{T-k} ||_2 for the given k, from the per-step Jacobians.

    The product is accumulated from the end, P_k = P_{k-1} J_{T-k+1} (matrix products); it is
    rescaled by powers of two (exactly) so it neither overflows nor underflows, and the scale
    is added back in log space. The norm is the spectral norm (largest singular value).

    Inputs:
    - jacobians: StepJacobians of T steps
    - steps: Increasing k in 0 .. T, of shape (K,)
    Returns a tuple of:
    - log_norms: Natural log of the state's norm, of shape (K,) (-inf where the product is exactly 0)
    - log_cell_norms: For the LSTM, ln || dc_T / dc_{T-k} ||_2, of shape (K,); else None
    """
    by_h, by_c = jacobians
    T, S, H = by_h.shape
    steps = np.asarray(steps)
    wanted = {int(k): index for index, k in enumerate(steps)}
    products = np.zeros((len(steps), S, S))  # the (rescaled) product at every wanted k
    log_scales = np.full(len(steps), -np.inf)
    product, spare = np.eye(S), np.empty((S, S))
    log_scale = 0.0
    for k in range(int(steps[-1]) + 1):
        if k > 0:
            t = T - k  # J_{T-k+1} is stored at index T - k
            np.matmul(product, by_h[t], out=spare[:, :H])
            if by_c is not None:
                np.multiply(product[:, :H], by_c[t, 0], out=spare[:, H:])
                spare[:, H:] += product[:, H:] * by_c[t, 1]
            product, spare = spare, product
            largest = np.max(np.abs(product))
            if largest == 0:
                break  # exactly zero from here on: the remaining norms stay -inf
            if not 2.0 ** -100 < largest < 2.0 ** 100:
                exponent = np.frexp(largest)[1]
                np.ldexp(product, -exponent, out=product)
                log_scale += exponent * np.log(2.0)
        if k in wanted:
            products[wanted[k]] = product
            log_scales[wanted[k]] = log_scale

    def log_spectral_norms(matrices):
        # sigma_max(P)**2 is the largest eigenvalue of the symmetric P P^T: cheaper than an SVD and, for
        # the largest value, as accurate.
        largest = np.linalg.eigvalsh(matrices @ matrices.transpose(0, 2, 1))[:, -1]
        with np.errstate(divide="ignore"):
            return 0.5 * np.log(np.maximum(largest, 0.0)) + log_scales

    log_cell_norms = log_spectral_norms(products[:, H:, H:]) if by_c is not None else None
    return log_spectral_norms(products), log_cell_norms


def _compute(settings):
    """
    Everything the explorer shows, for one setting of its controls.

    Inputs:
    - settings: Dict with every name in SETTINGS (see Explorer)
    Returns:
    - data: Dict of
      - "k": steps back from the last state at which norms are computed, of shape (K,)
      - "norms", "log_norms": ||dh_T / dh_{T-k}||_2 (spectral norm; for the LSTM of the
        (h, c) state) and its natural log, of shape (K,)
      - "cell_norms", "log_cell_norms": LSTM only, ||dc_T / dc_{T-k}||_2; else None
      - "envelope", "log_envelope": the theory, rate**k, of shape (K,)
      - "rate": gamma * sigma_max(W) for the plain cells, sigmoid(gate bias) for GRU and LSTM
      - "horizon": -1 / ln(rate) steps (inf when rate >= 1)
      - "gamma": sup phi'; "sigma_max", "spectral_radius": of W (the candidate block for GRU/LSTM)
      - "eigenvalues": of W, of shape (H,), complex
      - "derivatives": phi'(a) at every step and unit, of shape (T, H)
      - "gates": the forget gate (LSTM) / update gate (GRU) at every step, of shape (T, H); else None
      - "states": hidden states h_1 .. h_T, of shape (T, H)
      - "settings": a copy of the settings
    """
    cell, hidden_size, T = settings["cell"], settings["hidden_size"], settings["T"]
    Wh, bias, drive = _network(**settings)
    _, unit_eigenvalues, unit_sigma_max = _unit_gain_weights(cell, hidden_size, settings["init"],
                                                             settings["gain_by"], settings["seed"])
    run = _run(cell, Wh, bias, drive)
    jacobians = _step_jacobians(cell, Wh, run)
    steps = _sampled_steps(T, state_size=jacobians.by_h.shape[1])
    log_norms, log_cell_norms = _log_norms_through_time(jacobians, steps)
    gamma = GAMMA[cell]
    sigma_max = settings["gain"] * float(unit_sigma_max)
    if cell in MEMORY_GATE_BLOCK:
        rate = float(_logistic(settings["gate_bias"]))
    else:
        rate = gamma * sigma_max
    with np.errstate(divide="ignore"):
        log_rate = np.log(rate)  # -inf for a zero W
        horizon = -1.0 / log_rate if rate < 1 else np.inf
    log_envelope = np.zeros(len(steps))
    log_envelope[steps > 0] = steps[steps > 0] * log_rate  # k = 0 apart: 0 * -inf is not 0
    with np.errstate(over="ignore"):
        return {
            "k": steps,
            "norms": np.exp(log_norms),
            "log_norms": log_norms,
            "cell_norms": None if log_cell_norms is None else np.exp(log_cell_norms),
            "log_cell_norms": log_cell_norms,
            "envelope": np.exp(log_envelope),
            "log_envelope": log_envelope,
            "rate": rate,
            "horizon": horizon,
            "gamma": gamma,
            "sigma_max": sigma_max,
            "spectral_radius": settings["gain"] * float(np.max(np.abs(unit_eigenvalues))),
            "eigenvalues": settings["gain"] * unit_eigenvalues,
            "derivatives": run["derivative"],
            "gates": {"lstm": run.get("f"), "gru": run.get("z")}.get(cell),
            "states": run["h"],
            "settings": dict(settings),
        }


# The pictures: one figure, redrawn in place ----------------------------------------------

FIGURE_SIZE = (10.0, 6.6)  # inches
FIGURE_DPI = 80
HISTOGRAM_EDGES = np.linspace(0.0, 1.0, 41)
# Axis limits snap to these, so that most updates reuse a drawn background.
NICE_RADII = (1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
NICE_FRACTIONS = (0.1, 0.2, 0.5, 1.0)
NICE_STEPS = (10, 25, 50, 100, 150, 200)  # time axes: a shorter T leaves the right end empty
NICE_UNITS = (8, 16, 32, 48, 64, 96, 128)
NORMS_LEGEND_CORNERS = ("upper right", "lower right", "upper left", "lower left")  # first free one wins ties
NICE_COLOUR_RANGES = tuple(scale * 10.0 ** power for power in range(-3, 9) for scale in (1, 2, 5))
CELL_NAMES = {"linear": "linear RNN", "tanh": "tanh RNN", "sigmoid": "sigmoid RNN", "relu": "ReLU RNN",
              "gru": "GRU", "lstm": "LSTM"}
NONLINEARITY = {"linear": "identity", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "ReLU", "gru": "tanh", "lstm": "tanh"}


def _snap_up(value, choices):
    return next((choice for choice in choices if value <= choice), choices[-1])


def _log10_limits(*log_values):
    """y-limits of the norm plot (log10 of the norms, with 1 = 10**0 inside), on multiples of a round step
    so that they rarely change, with some room above and below the lines."""
    finite = np.concatenate([np.ravel(v)[np.isfinite(v)] for v in log_values if v is not None]) / np.log(10)
    low, high = min(finite.min(initial=0.0), 0.0), max(finite.max(initial=0.0), 0.0)
    step = _snap_up(1.1 * (high - low), (2, 5, 10, 20, 50, 100, 200, 500, 1000)) / 2  # at least a decade
    return float(step * np.floor(low / step - 0.1)), float(step * np.ceil(high / step + 0.1))


def _colour_limits(cell, states):
    """Colour range of the hidden-state heatmap: the cell's range, or a round bound on |h| if it has none."""
    if cell == "sigmoid":
        return 0.0, 1.0
    if cell in ("linear", "relu"):
        bound = _snap_up(float(np.max(np.abs(states), initial=0.0)), NICE_COLOUR_RANGES)
        return -bound, bound
    return -1.0, 1.0


class _Pictures:
    """The explorer's figure: four views drawn with matplotlib's Agg, handed out as an image.

    The figure is made once and never shown by pyplot. Drawing text is what costs in Agg, so an
    update draws none: each view sits in its own quarter of the figure, and an update pastes
    stored pixels of the view's axes (frame, ticks, labels: redrawn only when its limits change),
    draws the data artists over them, and pastes the stored title and legend (one per cell,
    made when the figure is made). The numbers that change go into the explorer's text line.
    """

    def __init__(self):
        self.figure = Figure(figsize=FIGURE_SIZE, dpi=FIGURE_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        # A fixed title height: matplotlib would otherwise measure the tick labels at every draw to place it.
        with matplotlib.rc_context({"axes.titley": 1.0, "axes.titlepad": 8.0}):
            norms_ax, eig_ax, hist_ax, heat_ax = self.figure.subplots(2, 2).ravel()
        self.figure.subplots_adjust(left=0.07, right=0.95, top=0.94, bottom=0.08, wspace=0.3, hspace=0.42)
        self.axes = {"norms": norms_ax, "eigenvalues": eig_ax, "derivatives": hist_ax, "states": heat_ax}
        for name, ax in self.axes.items():
            # Few ticks: their labels are most of the cost of drawing a view's background.
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=name in ("norms", "states")))
            ax.yaxis.set_major_locator(MaxNLocator(4, integer=name in ("norms", "states")))  # norms: whole decades
            ax.set_autoscale_on(False)
            ax.title.set_fontsize(10)
            ax.title.set_animated(True)  # pasted from the stored overlay, not part of the background

        norms_ax.set_xlabel("k, steps back from the last state")
        norms_ax.set_ylabel("log₁₀ of the norm")  # plain text: mathtext costs at every background
        norms_ax.grid(alpha=0.3)
        self.norm_line, = norms_ax.plot([], [], ".-", color="C0", markersize=4, animated=True)
        self.cell_line, = norms_ax.plot([], [], "-", color="C2", linewidth=1, animated=True)
        self.envelope_line, = norms_ax.plot([], [], "--", color="C3", animated=True)
        self.horizon_line = norms_ax.axvline(0, color="grey", linestyle=":", animated=True)

        angles = np.linspace(0, 2 * np.pi, 181)
        self.circle = np.cos(angles), np.sin(angles)
        self.unit_circle, = eig_ax.plot(*self.circle, color="black", linewidth=0.8)
        eig_ax.axhline(0, color="grey", linewidth=0.5)
        eig_ax.axvline(0, color="grey", linewidth=0.5)
        eig_ax.set_aspect("equal", adjustable="box")
        eig_ax.set_anchor("W")  # room on the right for the legend
        eig_ax.set_xlabel("real part")
        eig_ax.set_ylabel("imaginary part")
        self.eigenvalue_points = eig_ax.scatter([], [], s=12, color="C0", animated=True)
        self.gamma_circle, = eig_ax.plot([], [], "--", color="C3", linewidth=1, animated=True)
        self.sigma_circle, = eig_ax.plot([], [], ":", color="C1", linewidth=1.5, animated=True)

        hist_ax.set_xlabel("value (near 0: saturated, the gradient is cut)")
        hist_ax.set_ylabel("fraction of steps x units")
        empty = np.zeros(len(HISTOGRAM_EDGES) - 1)
        self.derivative_bars = hist_ax.stairs(empty, HISTOGRAM_EDGES, fill=True, alpha=0.6, color="C0", animated=True)
        self.gate_bars = hist_ax.stairs(empty, HISTOGRAM_EDGES, color="C2", linewidth=1.5, animated=True)

        heat_ax.set_xlabel("time step t")
        heat_ax.set_ylabel("unit")
        self.heatmap = heat_ax.imshow(np.zeros((1, 1)), aspect="auto", origin="lower", cmap="RdBu_r",
                                      interpolation="nearest", animated=True)
        self.colourbar = self.figure.colorbar(self.heatmap, ax=heat_ax, fraction=0.05, pad=0.02)
        self.colourbar.locator = MaxNLocator(4)
        self.animated = [self.norm_line, self.cell_line, self.envelope_line, self.horizon_line, self.eigenvalue_points,
                         self.gamma_circle, self.sigma_circle, self.derivative_bars, self.gate_bars, self.heatmap]

        # A white rectangle and the pixel box of each quarter: every view, labels included, stays in its own.
        self._blanks, self.quarters = {}, {}
        width, height = self.canvas.get_width_height()
        for (name, ax), (column, row) in zip(self.axes.items(), [(0, 1), (1, 1), (0, 0), (1, 0)]):
            self._blanks[name] = Rectangle((column / 2, row / 2), 0.5, 0.5, transform=self.figure.transFigure,
                                           facecolor="white", edgecolor="none")
            self.quarters[name] = Bbox.from_bounds(column * width / 2, row * height / 2, width / 2, height / 2)
        self._backgrounds = OrderedDict()
        self.canvas.draw()  # lays the figure out once and makes the renderer
        # Every title and legend, made now so that switching cells draws no text.
        self._overlays = {}
        for name, corners in (("norms", NORMS_LEGEND_CORNERS), ("eigenvalues", [None]), ("derivatives", ["upper left"]),
                              ("states", [None])):
            for variant in sorted({self._variant(name, cell) for cell in CELLS}):
                for corner in corners:
                    self._overlay(name, variant, corner)

    def _norms_legend_corner(self):
        """The corner of the norm plot that the lines cross least (the legend is opaque)."""
        ax = self.axes["norms"]
        points = np.concatenate([line.get_xydata() for line in (self.norm_line, self.cell_line, self.envelope_line)
                                 if line.get_visible()])
        x, y = ax.transLimits.transform(points).T  # axes coordinates, 0 .. 1
        crossings = {"upper right": (x > 0.5) & (y > 0.6), "lower right": (x > 0.5) & (y < 0.4),
                     "upper left": (x < 0.5) & (y > 0.6), "lower left": (x < 0.5) & (y < 0.4)}
        return min(NORMS_LEGEND_CORNERS, key=lambda corner: np.count_nonzero(crossings[corner]))

    @staticmethod
    def _variant(name, cell):
        """Which title and legend a view has for a cell: cells that share them share one variant."""
        if name == "norms":
            return cell if cell in MEMORY_GATE_BLOCK else "plain"
        if name == "eigenvalues":
            return cell if cell in ("sigmoid", "gru", "lstm") else "plain"
        return cell if name == "derivatives" else "any"

    def _decorate(self, name, variant, corner):
        """Set the title and legend of one view (they never hold a number that changes)."""
        ax = self.axes[name]
        if name == "norms":
            state = "(h,c)" if variant == "lstm" else "h"
            ax.set_title(rf"gradient $\|\partial {state}_T / \partial {state}_{{T-k}}\|_2$ (spectral norm)")
            entries = [(self.norm_line, "network")]
            if variant == "lstm":
                entries.append((self.cell_line, r"cell state alone $\|\partial c_T / \partial c_{T-k}\|_2$"))
            bias = {"lstm": "b_f", "gru": "b_z"}.get(variant)
            theory = rf"theory $\sigma({bias})^k$" if bias else r"bound $(\gamma\,\sigma_{max})^k$"
            entries.append((self.envelope_line, theory))
            entries.append((self.horizon_line, r"horizon $-1/\ln$ rate"))
        elif name == "eigenvalues":
            matrix = {"gru": "$W_n$ (candidate block)", "lstm": "$W_g$ (candidate block)"}.get(variant, "$W$")
            ax.set_title(f"eigenvalues of {matrix}")
            entries = [(self.eigenvalue_points, "eigenvalues"), (self.unit_circle, "unit circle"),
                       (self.sigma_circle, r"radius $\sigma_{max}$")]
            if variant == "sigmoid":
                entries.append((self.gamma_circle, r"radius $1/\gamma$"))
        elif name == "derivatives":
            ax.set_title(rf"$\varphi'(a)$ of the {NONLINEARITY[variant]}, all steps and units")
            entries = [(self.derivative_bars, r"$\varphi'(a)$")]
            if variant in MEMORY_GATE_BLOCK:
                entries.append((self.gate_bars, {"lstm": "forget gate f", "gru": "update gate z"}[variant]))
        else:
            ax.set_title("hidden state $h_t$")
            entries = []
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        if entries:
            # Opaque, so that its pixels can be pasted over the data unchanged.
            outside = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)} if name == "eigenvalues" else {"loc": corner}
            ax.legend(*zip(*entries), fontsize=8, framealpha=1, **outside).set_animated(True)

    def _overlay(self, name, variant, corner):
        """The pixels of one view's title and legend, drawn on white: a list of stored regions."""
        key = (name, variant, corner)
        if key in self._overlays:
            return self._overlays[key]
        self._decorate(name, variant, corner)
        renderer = self.canvas.get_renderer()
        regions = []
        for artist in (self.axes[name].title, self.axes[name].get_legend()):
            if artist is not None:
                self._blanks[name].draw(renderer)
                artist.draw(renderer)
                box = artist.get_window_extent(renderer)
                # A legend's frame reaches a little beyond its box; a title's box must not reach the axes' top edge.
                pad = 1 if artist is self.axes[name].title else 3
                regions.append(self.canvas.copy_from_bbox(
                    Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)))
        self._overlays[key] = regions
        return regions

    def _view_limits(self, data):
        """Every view's axis limits (snapped) and, for the heatmap, its colour range: the keys of the backgrounds."""
        settings = data["settings"]
        T, H = settings["T"], settings["hidden_size"]
        radius = _snap_up(1.1 * max(1.0, 1 / data["gamma"], data["sigma_max"], data["spectral_radius"]), NICE_RADII)
        fraction = _snap_up(1.1 * max(self.derivative_bars.get_data().values.max(),
                                      self.gate_bars.get_data().values.max()), NICE_FRACTIONS)
        steps, units = _snap_up(T, NICE_STEPS), _snap_up(H, NICE_UNITS)
        return {
            "norms": ((0, steps), _log10_limits(data["log_norms"], data["log_envelope"], data["log_cell_norms"])),
            "eigenvalues": ((-radius, radius), (-radius, radius)),
            "derivatives": ((0, 1), (0, fraction)),
            "states": ((0.5, steps + 0.5), (0.5, units + 0.5), _colour_limits(settings["cell"], data["states"])),
        }

    def prepare(self, hidden_size, T):
        """
        Draw now the backgrounds that most updates need, so that they cost nothing later: the
        eigenvalue and histogram views at every radius and height they can have, and the
        hidden-state view of this T and H in the colours of the bounded cells.
        """
        for radius in NICE_RADII:
            self._background("eigenvalues", ((-radius, radius), (-radius, radius)))
        for fraction in NICE_FRACTIONS:
            self._background("derivatives", ((0, 1), (0, fraction)))
        steps, units = _snap_up(T, NICE_STEPS), _snap_up(hidden_size, NICE_UNITS)
        for cell in ("tanh", "sigmoid"):
            self._background("states", ((0.5, steps + 0.5), (0.5, units + 0.5), _colour_limits(cell, None)))

    def _background(self, name, limits):
        """One view's axes without data, title or legend: stored pixels, or drawn now and stored."""
        key = (name, limits)
        if key not in self._backgrounds:
            ax = self.axes[name]
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
            renderer = self.canvas.get_renderer()
            self._blanks[name].draw(renderer)
            ax.draw(renderer)  # skips the animated artists
            if name == "states":
                self.heatmap.set_clim(*limits[2])
                self.colourbar.ax.draw(renderer)
            self._backgrounds[key] = self.canvas.copy_from_bbox(self.quarters[name])
            while len(self._backgrounds) > 64:
                self._backgrounds.popitem(last=False)
        self._backgrounds.move_to_end(key)
        return self._backgrounds[key]

    def draw(self, data):
        """
        Show one setting's data.

        Inputs:
        - data: Dict from _compute
        Returns:
        - image: The figure as JPEG bytes (fast to encode, a tenth of PNG's time)
        """
        settings = data["settings"]
        cell, T, H = settings["cell"], settings["T"], settings["hidden_size"]
        gated = cell in MEMORY_GATE_BLOCK
        log10 = np.log(10)
        k = data["k"]

        # Norms against k; exactly zero norms (log = -inf) are drawn on the bottom edge.
        bottom, top = _log10_limits(data["log_norms"], data["log_envelope"], data["log_cell_norms"])
        self.norm_line.set_data(k, np.maximum(data["log_norms"] / log10, bottom))
        self.envelope_line.set_data(k, np.maximum(data["log_envelope"] / log10, bottom))
        self.cell_line.set_visible(data["log_cell_norms"] is not None)
        if data["log_cell_norms"] is not None:
            self.cell_line.set_data(k, np.maximum(data["log_cell_norms"] / log10, bottom))
        self.horizon_line.set_visible(bool(data["horizon"] <= T))
        self.horizon_line.set_xdata([min(data["horizon"], T)] * 2)

        eigenvalues = data["eigenvalues"]
        self.eigenvalue_points.set_offsets(np.column_stack([eigenvalues.real, eigenvalues.imag]))
        inverse_gamma = 1 / data["gamma"]
        self.gamma_circle.set_data(inverse_gamma * self.circle[0], inverse_gamma * self.circle[1])
        self.gamma_circle.set_visible(inverse_gamma != 1)
        self.sigma_circle.set_data(data["sigma_max"] * self.circle[0], data["sigma_max"] * self.circle[1])

        counts, _ = np.histogram(np.clip(data["derivatives"], 0, 1), HISTOGRAM_EDGES)
        self.derivative_bars.set_data(counts / data["derivatives"].size)
        gate_counts = np.histogram(data["gates"], HISTOGRAM_EDGES)[0] / data["gates"].size if gated else 0 * counts
        self.gate_bars.set_data(gate_counts)
        self.gate_bars.set_visible(gated)

        self.heatmap.set_data(data["states"].T)
        self.heatmap.set_extent((0.5, T + 0.5, 0.5, H + 0.5))

        limits = self._view_limits(data)
        for name, ax in self.axes.items():
            ax.set_xlim(*limits[name][0])
            ax.set_ylim(*limits[name][1])
        corners = {"norms": self._norms_legend_corner(), "eigenvalues": None, "derivatives": "upper left", "states": None}
        # Stored pixels are made by drawing on the canvas: make all that are missing before pasting any.
        overlays = [self._overlay(name, self._variant(name, cell), corner) for name, corner in corners.items()]
        backgrounds = [self._background(name, limits[name]) for name in self.axes]
        for region in backgrounds:
            self.canvas.restore_region(region)
        self.heatmap.set_clim(*limits["states"][2])
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        for regions in overlays:  # titles and legends on top
            for region in regions:
                self.canvas.restore_region(region)
        image = io.BytesIO()
        rgba = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba())
        rgba.convert("RGB").save(image, format="jpeg", quality=90, subsampling=0)  # 4:4:4 keeps thin lines sharp
        return image.getvalue()


# The explorer: controls -> _compute -> _Pictures ---------------------------------------------


class Explorer:
    """
    The vanishing-gradient explorer: controls, four pictures and the numbers behind them.

        explorer = Explorer(preset="LSTM with forget bias 1")
        explorer                          # shows the controls and the pictures in Jupyter
        explorer.set(gate_bias=5.0)       # what moving the slider does
        explorer.data["norms"]            # ||dh_T / dh_{T-k}||_2 at explorer.data["k"]

    Settings (keywords of the constructor and of `set`; each is a control):
    - cell: "linear", "tanh", "sigmoid", "relu" (h_t = phi(x_t Wx + h_{t-1} W + b)), "gru" or "lstm"
    - hidden_size: H, 1 .. 128
    - T: number of time steps, 1 .. 200
    - init: how each H x H block of the recurrent weights starts: "gaussian", "orthogonal", "identity"
    - gain, gain_by: W = gain * W0 / s(W0), where s is the "spectral radius" (largest |eigenvalue|)
      or the largest "singular value"; so gain is W's spectral radius or its largest singular value
    - input_scale: standard deviation of the input's contribution x_t Wx to every pre-activation
    - gate_bias: bias of the LSTM's forget gate b_f or of the GRU's update gate b_z (others: unused)
    - seed: of the random weights and inputs

    Attributes:
    - data: Dict of the arrays the pictures show (see _compute), for the current settings
    - settings: Dict of the current settings
    - controls: Dict of the ipywidgets controls, by setting name; each is labelled with its name in
      words ("gain by" for gain_by) and its tooltip starts with the name
    - gate_note: The line under the gate bias slider: which gate it sets, or why it is greyed out
    - figure: The one matplotlib Figure, redrawn in place (pyplot never sees it)
    - widget: The ipywidgets box that is shown
    - last_update_seconds: How long the last update took, computing and drawing
    """

    def __init__(self, preset=None, **settings):
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
        # One label width for every control, so that the controls line up in columns; it fits the
        # longest label ("hidden size H") with room for wider fonts.
        label = {"description_width": LABEL_WIDTH}
        column = widgets.Layout(width=COLUMN_WIDTH)
        slider = {"continuous_update": False, "style": label, "layout": column}
        toggles = {"layout": widgets.Layout(width="auto", margin="0 2px")}  # the margin of the other controls
        self.controls = {
            "cell": widgets.ToggleButtons(options=CELLS, description="cell", tooltip=TOOLTIPS["cell"],
                                          style={**label, "button_width": "5.6em"}, **toggles),
            "hidden_size": widgets.IntSlider(min=1, max=128, description="hidden size H",
                                             tooltip=TOOLTIPS["hidden_size"], **slider),
            "T": widgets.IntSlider(min=1, max=200, description="time steps T", tooltip=TOOLTIPS["T"], **slider),
            "init": widgets.Dropdown(options=INITS, description="init", tooltip=TOOLTIPS["init"], style=label,
                                     layout=widgets.Layout(width="17em")),
            "gain": widgets.FloatSlider(min=0.0, max=6.0, step=0.05, description="gain", readout_format=".2f",
                                        tooltip=TOOLTIPS["gain"], **slider),
            "gain_by": widgets.ToggleButtons(options=GAIN_BY, description="gain by", tooltip=TOOLTIPS["gain_by"],
                                             style={**label, "button_width": "9.5em"}, **toggles),
            "input_scale": widgets.FloatSlider(min=0.0, max=3.0, step=0.05, description="input scale",
                                               readout_format=".2f", tooltip=TOOLTIPS["input_scale"], **slider),
            "gate_bias": widgets.FloatSlider(min=-5.0, max=10.0, step=0.1, description="gate bias",
                                             readout_format=".1f", **slider),
            "seed": widgets.BoundedIntText(min=0, max=9999, description="seed", tooltip=TOOLTIPS["seed"],
                                           style=label, layout=widgets.Layout(width="13em")),
        }
        for name in ("cell", "gain_by"):
            # The sliders' class: its CSS puts the buttons beside their label (ipywidgets 8 puts them on
            # a line below), right-aligns the label and leaves the sliders' gap after it.
            self.controls[name].add_class("widget-inline-hbox")
        start = {**DEFAULTS, **(PRESETS[preset] if preset else {}), **settings}
        self._check(start)
        self.preset = widgets.Dropdown(options=[OWN_SETTINGS, *PRESETS], description="preset",
                                       tooltip="sets every control at once", style=label, layout=column)
        # Under the gate bias slider, in small print: which gate it sets, or why it is greyed out.
        # Two lines high whatever it says, so that the pictures do not move when the cell changes.
        self.gate_note = widgets.HTML(layout=widgets.Layout(
            margin=f"0 0 0 calc({LABEL_WIDTH} + 12px)", width=f"calc({COLUMN_WIDTH} - {LABEL_WIDTH} - 12px)",
            height="2.6em"))
        self.summary = widgets.HTML()
        self._pictures = _Pictures()
        self._pictures.prepare(start["hidden_size"], start["T"])
        self.figure = self._pictures.figure
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{self.figure.bbox.width:.0f}px"))
        c = self.controls
        # Two columns of controls, no wider than the picture (the width of a notebook's output area).
        self.widget = widgets.VBox([
            widgets.HBox([self.preset, c["init"], c["seed"]]),
            c["cell"],
            widgets.HBox([c["hidden_size"], c["T"]]),
            widgets.HBox([c["gain"], c["gain_by"]]),
            widgets.HBox([c["input_scale"], widgets.VBox([c["gate_bias"], self.gate_note])]),
            self.summary,
            self.image,
        ])
        self.data = None
        self.last_update_seconds = None
        self._results = OrderedDict()  # settings -> data, so that going back to a setting costs nothing
        self._holding = True  # while several controls move at once, only the last step updates
        for name, control in self.controls.items():
            control.value = start[name]
            control.observe(self._on_control, names="value")
        self.preset.observe(self._on_preset, names="value")
        self._holding = False
        self._update()

    @property
    def settings(self):
        return {name: control.value for name, control in self.controls.items()}

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _check(self, settings):
        """Raise for an unknown setting or a value its control cannot take (a slider would clip it silently)."""
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; the settings are {list(SETTINGS)}")
        for name, value in settings.items():
            control = self.controls[name]
            if hasattr(control, "options") and value not in control.options:
                raise ValueError(f"{name} must be one of {tuple(control.options)}, got {value!r}")
            if hasattr(control, "min") and not control.min <= value <= control.max:
                raise ValueError(f"{name} must be between {control.min} and {control.max}, got {value!r}")

    def set(self, **settings):
        """
        Change settings the way the controls do (they move too), then update once.

        Inputs:
        - settings: Any of the settings by name (see the class docstring)
        """
        self._check(settings)
        self._move_controls(settings)

    def _move_controls(self, settings):
        self._holding = True
        try:
            for name, value in settings.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self._update()

    def _on_control(self, change):
        if not self._holding:
            self._update()

    def _on_preset(self, change):
        if not self._holding and change["new"] in PRESETS:
            # A preset sets every control: those it does not name go back to their defaults.
            self._move_controls({**DEFAULTS, **PRESETS[change["new"]]})

    def _update(self):
        started = time.perf_counter()
        settings = self.settings
        # The preset menu names the preset whose settings these are, if any.
        self._holding = True
        self.preset.value = next((name for name in PRESETS if {**DEFAULTS, **PRESETS[name]} == settings), OWN_SETTINGS)
        self._holding = False
        cell = settings["cell"]
        gate = self.controls["gate_bias"]
        gate.disabled = cell not in MEMORY_GATE_BLOCK
        note = GATE_NOTES.get(cell, f"only for the LSTM and GRU: a {CELL_NAMES[cell]} has no gates")
        gate.tooltip = f"gate_bias: {note}"
        self.gate_note.value = (f'<div style="font-size: 0.9em; line-height: 1.3; color: var(--jp-ui-font-color2, '
                                f'#616161)">{html.escape(note)}</div>')
        try:
            key = tuple(settings.values())
            if key not in self._results:
                # One BLAS thread: these matrices are small, and a second thread only waits for the first.
                with _blas_limit(1):
                    self._results[key] = _compute(settings)
                while len(self._results) > 64:
                    self._results.popitem(last=False)
            self._results.move_to_end(key)
            self.data = self._results[key]
            self.image.value = self._pictures.draw(self.data)
        except Exception as error:
            self.summary.value = f'<span style="color: #b00">The explorer failed: {html.escape(repr(error))}</span>'
            raise
        self.last_update_seconds = time.perf_counter() - started
        self.summary.value = _summary(self.data, self.last_update_seconds)


def _summary(data, seconds):
    """One paragraph of HTML: the numbers of the current setting and what the theory says about them."""
    settings = data["settings"]
    cell, T = settings["cell"], settings["T"]
    scale = "spectral radius" if settings["gain_by"] == "spectral radius" else "largest singular value"
    end = data["log_norms"][-1] / np.log(10)
    measured = f"at k = T = {T} the network's norm is 10<sup>{end:.1f}</sup>" if np.isfinite(end) else (
        f"at k = T = {T} the network's norm is exactly 0")
    matrix = {"gru": "W<sub>n</sub>", "lstm": "W<sub>g</sub>"}.get(cell, "W")
    parts = [f"<b>{CELL_NAMES[cell]}</b>, H = {settings['hidden_size']}, T = {T}. "
             f"Gain {settings['gain']:.2f} = the {scale} of each recurrent block. {matrix}: spectral radius "
             f"{data['spectral_radius']:.3g}, largest singular value &sigma;<sub>max</sub> = {data['sigma_max']:.3g}."]
    if cell in MEMORY_GATE_BLOCK:
        gate, bias = {"lstm": ("forget gate", "b<sub>f</sub>"), "gru": ("update gate", "b<sub>z</sub>")}[cell]
        parts.append(f"Theory: the {gate} passes the gradient on, &sigma;({bias}) = "
                     f"&sigma;({settings['gate_bias']:.1f}) = {data['rate']:.4g} per step: "
                     f"horizon &minus;1/ln &sigma;({bias}) = {data['horizon']:.3g} steps.")
        if cell == "lstm":
            cell_end = data["log_cell_norms"][-1] / np.log(10)
            measured += f" (cell state alone: 10<sup>{cell_end:.1f}</sup>)" if np.isfinite(cell_end) else ""
    else:
        verdict = ("below 1, so the gradient must vanish (Pascanu et al. 2013)" if data["rate"] < 1 else
                   "not below 1, so the bound allows growth: whether it vanishes depends on &phi;'(a)")
        parts.append(f"Theory: &gamma; = sup &phi;' = {data['gamma']:.3g}, "
                     f"||J<sub>t</sub>|| &le; &gamma;&sigma;<sub>max</sub> = {data['rate']:.3g}, {verdict}.")
    saturated = float(np.mean(data["derivatives"] < 0.1 * data["gamma"]))
    parts.append(f"Measured: {measured}; {saturated:.0%} of &phi;'(a) are below &gamma;/10. "
                 f"Updated in {1000 * seconds:.0f} ms.")
    return "<p style='line-height: 1.4; max-width: 800px'>" + " ".join(parts) + "</p>"
