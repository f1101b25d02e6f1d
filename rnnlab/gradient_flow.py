"""How much of a gradient survives the trip back through time: the numbers behind notebook 02's
vanishing-gradient explorer (`rnnlab.widgets` shows them, `rnnlab.gradient_pictures` draws them).

    from rnnlab import gradient_flow
    data = gradient_flow.compute({**gradient_flow.DEFAULTS, "cell": "lstm", "gate_bias": 5.0})
    data["norms"]                              # ||ds_T / ds_{T-k}||_2 at data["k"]

One sequence runs through a recurrent cell, and a gradient is followed backwards from the
last state. How much of it reaches the state k steps earlier is the size of the matrix
product of per-step Jacobians

    dh_T / dh_{T-k} = J_T J_{T-1} ... J_{T-k+1},    J_t = dh_t / dh_{t-1},

measured by its spectral norm (largest singular value). For the LSTM the state is
the pair (h, c), so J_t is a 2H x 2H matrix; beside it, the gradient along the cell state
alone, the path c_T <- c_{T-1} <- ... that never leaves the cell (the product of the forget
gates, diag(f_T) ... diag(f_{T-k+1}), with no path through h or the gates). The theory it is
compared with:

- tanh, sigmoid, ReLU, linear cells, h_t = phi(x_t Wx + h_{t-1} W + b):
  ||J_t|| <= gamma * sigma_max(W) with gamma = sup phi' (1, 1/4, 1, 1), so the norm
  after k steps is at most (gamma * sigma_max(W))**k, and sigma_max(W) < 1 / gamma is
  enough for the gradient to vanish (Pascanu, Mikolov and Bengio 2013). Eigenvalues
  do not decide this: a matrix with all eigenvalues inside the unit circle can
  still stretch some vector (its largest singular value is what counts).
- LSTM: along the cell state c_t = f_t * c_{t-1} + ..., the gradient is multiplied by
  the forget gate at every step, sigmoid(b_f)**k when the gate sits at its bias,
  a memory horizon of -1 / ln sigmoid(b_f) steps. The whole network's gradient also
  takes the paths through h and the gates, which the cell feeds: it can fall more
  slowly than the cell's path alone, or even grow.
- GRU, h_t = (1 - z_t) * n_t + z_t * h_{t-1}: the same with the update gate z_t and
  its bias b_z.

`compute` does it all, in four steps that can be called one by one: `network` (the weights,
bias and inputs one setting describes), `run` (the sequence through the cell),
`step_jacobians` (every J_t) and `log_norms_through_time` (the norms of their products, at
the k `sampled_steps` picks). Everything comes from the cells' forward equations; the
Jacobians are their derivatives by the complex step (see COMPLEX_STEP), the LSTM's in closed
form (`_lstm_slopes`, checked against the complex step). Nothing here is a
notebook exercise. What the explorer knows about each kind of cell, the numbers, the pictures
and the controls alike, is one row of CELL_KINDS.
"""

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

INITS = ("gaussian", "orthogonal", "identity")
GAIN_BY = ("spectral radius", "singular value")
# One setting of the explorer (the arguments of `network`), as the explorer starts.
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

# At most this many k get a spectral norm; the others are skipped (the products are
# still formed for every k: it is the norms that cost).
MAX_NORM_POINTS = 41
RESCALE_EVERY = 4  # steps between checks of the running product's size (see log_norms_through_time)
# States wider than this (the LSTM's (h, c) at H > 32) get a third as many norms (sampled_steps), taken by
# _largest_eigenvalues instead of all the eigenvalues (a norm costs S**3).
WIDE_STATE = 64
# Gated cells whose packed weights are wider than this (the LSTM at H > 32, the GRU at H > 42) make their Jacobians
# and run their product in float32: those matrix products are most of the explorer's time there, and float32
# halves them. The norms' relative error, at most about 3e-5 at H = 64, T = 200 over gains 0 .. 6 and gate biases
# -5 .. 10 (tests/test_gradient_flow.py checks 1e-4), is far below a pixel of the log-scale picture and the
# summary's one decimal of log10; the largest eigenvalues of P P^T are taken in float64. The plain cells (at most 128
# columns) stay in float64 throughout.
SINGLE_PRECISION_WIDER_THAN = 128
# Krylov vectors per matrix in _largest_eigenvalues, and the relative accuracy it proves of the largest eigenvalue (half
# that of the norm: 5e-7, far below the float32 products' 3e-5). Over 4,212 LSTM products (H = 40, 64, 128, gains 0.5 to
# 4, gate biases -2 to 5, input scales 0.2 to 3), 13 were not proven in 10 steps and took eigvalsh; in 16 steps none,
# at 1.3 times the cost.
LANCZOS_STEPS = 10
LANCZOS_TOLERANCE = 1e-6


def _exp(a):
    """
    np.exp, and for the complex step (see COMPLEX_STEP), exp(x + i e) = exp(x) (1 + i e) exactly when e is
    that small: real exponentials only, several times faster than complex ones. A real exp may overflow to
    inf (a sigmoid of -inf is 0, as it should be): callers run under np.errstate(over="ignore"), once for a
    whole sequence rather than at every step.
    """
    if not np.iscomplexobj(a):
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
    if not np.iscomplexobj(a):
        return 1.0 / (1.0 + np.exp(-a))  # _reciprocal and _exp of a real array, without their checks
    return _reciprocal(1.0 + _exp(-a))


def _tanh(a):
    """np.tanh; for the complex step, from the logistic (tanh(a) = 2 sigmoid(2a) - 1), on real exponentials."""
    return 2.0 * _logistic(2.0 * a) - 1.0 if np.iscomplexobj(a) else np.tanh(a)


def _relu(a):
    """max(a, 0) by the real part, so that a complex step passes through where a > 0 (see COMPLEX_STEP)."""
    return np.where(np.real(a) > 0, a, 0.0)


def _identity(a):
    return a


@dataclass(frozen=True)
class MemoryGate:
    """The gate whose bias the explorer's gate_bias sets: it decides how much of the state a step keeps."""

    block: int  # its H x H block of the packed weights and bias
    symbol: str  # its letter in the equations (and its name in what `run` returns): the bias is b_<symbol>
    name: str  # in words: "forget gate"


@dataclass(frozen=True)
class CellKind:
    """
    One kind of cell the explorer offers: every fact about it that the numbers (this module), the pictures
    (`rnnlab.gradient_pictures`) and the controls (`rnnlab.widgets`) use. The equations are `_step`'s.
    """

    label: str  # what the summary line and the gate note call it: "tanh RNN"
    nonlinearity: str  # phi in words, as the histogram's title names it
    activation: Callable  # phi, of the cell (plain cells) or of its candidate (gated cells), real or complex a
    gamma: float  # sup phi', the gamma of Pascanu's bound
    state_range: tuple | None  # the values h can take, or None if unbounded: the heatmap's colour range
    blocks: int = 1  # H x H blocks of the packed recurrent weights, in PyTorch's order (GRU r, z, n; LSTM i, f, g, o)
    candidate_block: int = 0  # the block that feeds phi: the "W" of the pictures
    candidate: str = "W"  # that block's name in the pictures and the summary ("W_n": W with subscript n)
    memory_gate: MemoryGate | None = None  # the gate gate_bias sets; None: the slider has nothing to set
    cell_state: bool = False  # a cell state c beside h (the LSTM): the state is (h, c), with a path through c alone


# The explorer's cells, in the order its buttons show them: the one table of what it knows about each.
CELL_KINDS = {
    "linear": CellKind("linear RNN", "identity", _identity, gamma=1.0, state_range=None),
    "tanh": CellKind("tanh RNN", "tanh", _tanh, gamma=1.0, state_range=(-1.0, 1.0)),
    "sigmoid": CellKind("sigmoid RNN", "sigmoid", _logistic, gamma=0.25, state_range=(0.0, 1.0)),
    "relu": CellKind("ReLU RNN", "ReLU", _relu, gamma=1.0, state_range=None),
    "gru": CellKind("GRU", "tanh", _tanh, gamma=1.0, state_range=(-1.0, 1.0), blocks=3, candidate_block=2,
                    candidate="W_n", memory_gate=MemoryGate(1, "z", "update gate")),
    "lstm": CellKind("LSTM", "tanh", _tanh, gamma=1.0, state_range=(-1.0, 1.0), blocks=4, candidate_block=2,
                     candidate="W_g", memory_gate=MemoryGate(1, "f", "forget gate"), cell_state=True),
}
CELLS = tuple(CELL_KINDS)  # their names (the code reads CELL_KINDS, so that a new row is offered everywhere)


def _kind(cell):
    """The row of CELL_KINDS of a cell's name."""
    if cell not in CELL_KINDS:
        raise ValueError(f"cell must be one of {tuple(CELL_KINDS)}, got {cell!r}")
    return CELL_KINDS[cell]


# Derivatives come from the forward equations alone, by the complex step: for a function f that is
# analytic (or piecewise linear) and real on the reals, f(x + i e) = f(x) + i e f'(x) + O(e**2), so
# Im f(x + i e) / e is f'(x) to machine precision, with no difference of nearby numbers to lose
# digits. So the explorer holds no hand-written derivative of any cell: those are the exercises.
COMPLEX_STEP = 1e-20


def _slope(cell, pre):
    """phi'(pre) of the nonlinearity whose saturation the histogram shows (tanh for the gated cells)."""
    return np.imag(CELL_KINDS[cell].activation(pre + 1j * COMPLEX_STEP)) / COMPLEX_STEP


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
        gates = _logistic(a)  # (..., 2H): r and z
        r, z = gates[..., :H], gates[..., H:]
        pre = inputs[..., 2 * H:] + _gru_reset(r, h_prev) @ Wh[:, 2 * H:]  # (..., H)
        return _gru_mix(z, pre, h_prev), None, pre, {"r": r, "z": z, "n": _tanh(pre)}
    a = inputs + recurrent
    if cell == "lstm":
        gates = _logistic(a)  # all four blocks at once; the g block's is not used
        i, f, o = gates[..., :H], gates[..., H:2 * H], gates[..., 3 * H:]
        pre = a[..., 2 * H:3 * H]
        g = _tanh(pre)
        h, c = _lstm_cell(i, f, g, o, c_prev)
        return h, c, pre, {"i": i, "f": f, "g": g, "o": o}
    return CELL_KINDS[cell].activation(a), None, a, {}


def _gru_reset(r, h_prev):
    """The GRU's reset gate applied to the previous state, r * h_{t-1}, unit by unit."""
    return r * h_prev


def _gru_mix(z, pre, h_prev):
    """The GRU's new state from its update gate z and candidate pre-activation, (1 - z) * tanh(pre) + z * h_{t-1}."""
    return (1 - z) * _tanh(pre) + z * h_prev


def _lstm_cell(i, f, g, o, c_prev):
    """The LSTM's new state from its gates, unit by unit: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)."""
    c = f * c_prev + i * g
    return o * _tanh(c), c


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


def _scale_and_eigenvalues(matrix, gain_by):
    """
    Spectral radius max |eigenvalue| or largest singular value of a square matrix, and its eigenvalues
    if they were taken for it (the spectral radius), else None.
    """
    if gain_by == "spectral radius":
        eigenvalues = np.linalg.eigvals(matrix)
        return float(np.max(np.abs(eigenvalues))), eigenvalues
    if gain_by == "singular value":
        return float(np.linalg.norm(matrix, 2)), None
    raise ValueError(f"gain_by must be one of {GAIN_BY}, got {gain_by!r}")


@lru_cache(maxsize=64)
def _unit_block(hidden_size, init, gain_by, seed, draw):
    """
    The `draw`-th recurrent block drawn from a seed (0: the candidate block), divided by its spectral radius
    or largest singular value, and its eigenvalues if they were taken for that, else None (read-only arrays).
    Cached by itself, so that cells with more blocks share the blocks they have in common with fewer
    (switching from the GRU to the LSTM draws one block, not four).
    """
    rng = np.random.default_rng([seed, 0])
    for _ in range(draw * (init != "identity")):  # the random numbers of the blocks drawn before it
        rng.standard_normal((hidden_size, hidden_size))
    block = _initial_matrix(init, hidden_size, rng)
    scale, eigenvalues = _scale_and_eigenvalues(block, gain_by)
    if scale > 0:
        block = block / scale
        eigenvalues = None if eigenvalues is None else eigenvalues / scale
    for array in (block, eigenvalues):
        if array is not None:
            array.setflags(write=False)
    return block, eigenvalues


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
    kind = CELL_KINDS[cell]
    return _unit_gain_blocks(kind.blocks, kind.candidate_block, hidden_size, init, gain_by, seed)


@lru_cache(maxsize=32)
def _unit_gain_blocks(count, candidate_block, hidden_size, init, gain_by, seed):
    """_unit_gain_weights for `count` blocks of which the candidate (tanh) block is number `candidate_block`."""
    # The candidate block is drawn first, so a tanh RNN and an LSTM with the same seed share their W.
    order = [candidate_block] + [b for b in range(count) if b != candidate_block]
    Wh = np.concatenate([_unit_block(hidden_size, init, gain_by, seed, order.index(b))[0] for b in range(count)],
                        axis=1)  # (H, kH)
    candidate, eigenvalues = _unit_block(hidden_size, init, gain_by, seed, 0)
    if eigenvalues is None:
        eigenvalues = np.linalg.eigvals(candidate)
    results = (Wh, eigenvalues.copy(), np.array(np.linalg.norm(candidate, 2)))
    for array in results:
        array.setflags(write=False)
    return results


def network(cell, hidden_size, T, init, gain, gain_by, input_scale, gate_bias, seed):
    """
    The network one setting of the explorer's controls describes.

    Inputs: the settings, by name (see rnnlab.widgets.Explorer).
    Returns a tuple of:
    - Wh: Recurrent weights, of shape (H, kH), gain times the unit-gain blocks
    - bias: Of shape (kH,); zero but for the GRU update gate / LSTM forget gate (gate_bias)
    - drive: The input's contribution x_t Wx at every step, of shape (T, kH), entries
      N(0, input_scale**2) (the same random numbers for every T, so T only cuts the sequence)
    """
    kind = _kind(cell)
    unit_Wh, _, _ = _unit_gain_weights(cell, hidden_size, init, gain_by, seed)
    width = kind.blocks * hidden_size
    bias = np.zeros(width)
    if kind.memory_gate is not None:
        gate = kind.memory_gate.block
        bias[gate * hidden_size:(gate + 1) * hidden_size] = gate_bias
    drive = input_scale * np.random.default_rng([seed, 1]).standard_normal((T, width))
    return gain * unit_Wh, bias, drive


@np.errstate(over="ignore")  # see _exp
def run(cell, Wh, bias, drive, h0=None, c0=None):
    """
    Run a cell (see `_step`) over one sequence (a batch of one), keeping what its Jacobians need.

    Inputs:
    - cell: A name in CELL_KINDS
    - Wh: Recurrent weights, of shape (H, kH)
    - bias: Of shape (kH,)
    - drive: x_t Wx for every step, of shape (T, kH)
    - h0, c0: Initial hidden and cell state, of shape (H,); zero when None
    Returns:
    - run: Dict of arrays: "h" (h_1 .. h_T), "h_prev" (h_0 .. h_{T-1}), "pre" (the pre-activation of
      the cell's own nonlinearity) and "derivative" (phi' there), of shape (T, H); "inputs"
      (x_t Wx + b) and "recurrent" (h_{t-1} Wh), of shape (T, kH); for the gated cells the gates by
      name ("r", "z", "n" / "i", "f", "g", "o"), and for the LSTM "c", "c_prev"
    """
    T = drive.shape[0]
    H = Wh.shape[0]
    cell_state = CELL_KINDS[cell].cell_state
    inputs = drive + bias
    # The sequence: step by step, keeping only the states and each step's h_{t-1} Wh ...
    states, cells, recurrent = np.empty((T + 1, H)), np.empty((T + 1, H)), np.empty((T, Wh.shape[1]))
    states[0] = 0.0 if h0 is None else h0
    cells[0] = 0.0 if c0 is None else c0
    h, c = states[0], cells[0]
    if cell == "lstm" and not np.iscomplexobj(inputs):
        # The LSTM's loop keeps its gates too.
        gate_values = np.empty((T, 4 * H))
        _lstm_loop(Wh, inputs, states, cells, recurrent, gate_values)
        pre = inputs[:, 2 * H:3 * H] + recurrent[:, 2 * H:3 * H]  # a_g, as _step takes it
        gates = {name: gate_values[:, block * H:(block + 1) * H] for block, name in enumerate("ifgo")}
    elif cell == "gru" and not np.iscomplexobj(inputs):
        # So does the GRU's, and its candidate's pre-activations.
        gate_values, pre = np.empty((T, 3 * H)), np.empty((T, H))
        _gru_loop(Wh, inputs, states, recurrent, gate_values, pre)
        gates = {name: gate_values[:, block * H:(block + 1) * H] for block, name in enumerate("rzn")}
    else:
        for t in range(T):
            np.matmul(h, Wh, out=recurrent[t])
            h, c, _, _ = _step(cell, inputs[t], h, recurrent[t], Wh, c)
            states[t + 1] = h
            if cell_state:
                cells[t + 1] = c
        # ... and then every step's gates and pre-activations at once: the same operations on the same numbers
        # (the states it returns are those of the loop), in one batch instead of T small ones.
        _, _, pre, gates = _step(cell, inputs, states[:-1], recurrent, Wh, cells[:-1])
    run = {"inputs": inputs, "recurrent": recurrent, "h": states[1:], "h_prev": states[:-1], "pre": pre, **gates}
    if cell_state:
        run["c"], run["c_prev"] = cells[1:], cells[:-1]
    run["derivative"] = _slope(cell, run["pre"])
    return run


def _lstm_loop(Wh, inputs, states, cells, recurrent, gates):
    """
    `run`'s loop for the LSTM: `_step`'s real operations in the same order on the same numbers (so the same
    states, to the last bit; tests/test_gradient_flow.py checks it), written into buffers instead of a new
    array per operation: about twice as fast at H = 64, where the explorer's LSTM spends most of its time.
    Fills states[1:], cells[1:], recurrent (h_{t-1} Wh) and gates (i, f, g, o at every step, of shape (T, 4H))
    from states[0] and cells[0].
    """
    H = Wh.shape[0]
    input_gate_by_candidate = np.empty(H)
    h, c = states[0], cells[0]
    for t in range(inputs.shape[0]):
        a = gates[t]
        np.matmul(h, Wh, out=recurrent[t])
        np.add(inputs[t], recurrent[t], out=a)
        g = np.tanh(a[2 * H:3 * H])
        # _logistic: 1 / (1 + exp(-a)), all four blocks (the g block's is replaced by g)
        np.negative(a, out=a)
        np.exp(a, out=a)
        a += 1.0
        np.divide(1.0, a, out=a)
        a[2 * H:3 * H] = g
        # _lstm_cell: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)
        c_next, h_next = cells[t + 1], states[t + 1]
        np.multiply(a[H:2 * H], c, out=c_next)
        np.multiply(a[:H], g, out=input_gate_by_candidate)
        c_next += input_gate_by_candidate
        np.tanh(c_next, out=h_next)
        h_next *= a[3 * H:]
        h, c = h_next, c_next


def _gru_loop(Wh, inputs, states, recurrent, gates, pre):
    """
    `run`'s loop for the GRU, as `_lstm_loop` is the LSTM's: `_step`'s real operations in the same order on the same
    numbers, written into buffers. Fills states[1:], recurrent (h_{t-1} Wh), gates (r, z, n at every step, of shape
    (T, 3H)) and pre (the candidate's pre-activation, of shape (T, H)) from states[0].
    """
    H = Wh.shape[0]
    Wh_n = Wh[:, 2 * H:]  # the candidate's block, the very view _step multiplies by
    reset, kept, mixed = np.empty(H), np.empty(H), np.empty(H)
    h = states[0]
    for t in range(inputs.shape[0]):
        a, step_inputs = gates[t], inputs[t]
        np.matmul(h, Wh, out=recurrent[t])
        rz = a[:2 * H]
        np.add(step_inputs[:2 * H], recurrent[t, :2 * H], out=rz)
        # _logistic: 1 / (1 + exp(-a)), r and z
        np.negative(rz, out=rz)
        np.exp(rz, out=rz)
        rz += 1.0
        np.divide(1.0, rz, out=rz)
        r, z = a[:H], a[H:2 * H]
        # the candidate: pre = x_t Wx_n + b_n + (r * h_{t-1}) Wh_n, n = tanh(pre)
        np.multiply(r, h, out=reset)
        np.matmul(reset, Wh_n, out=pre[t])
        np.add(step_inputs[2 * H:], pre[t], out=pre[t])
        n = np.tanh(pre[t], out=a[2 * H:])
        # _gru_mix: h_t = (1 - z) * tanh(pre) + z * h_{t-1}
        h_next = states[t + 1]
        np.subtract(1, z, out=mixed)
        mixed *= n
        np.multiply(z, h, out=kept)
        np.add(mixed, kept, out=h_next)
        h = h_next


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


@np.errstate(over="ignore")  # see _exp
def step_jacobians(cell, Wh, run, dtype=None):
    """
    Per-step Jacobians of the state, differentiating `_step` by the complex step (see COMPLEX_STEP).

    Every cell but the GRU sees h_{t-1} only through its pre-activations a = x_t Wx + b + h_{t-1} Wh,
    and then works unit by unit: unit i of s_t depends on unit i of each gate block of a (and, for the
    LSTM, on c_{t-1}[i]). So by the chain rule through that matrix product, ds_t/dh_{t-1} = (ds_t/da) Wh^T,
    and one complex step per gate block, moving that block of every unit at once, gives all of ds_t/da:
    one to four batched evaluations of the step instead of H. The GRU also multiplies h_{t-1} by its
    gates (r * h_{t-1} inside the candidate, z * h_{t-1}): the same chain rule, through one more
    matrix product (see _gru_step_jacobians). The LSTM's ds_t/da are in closed form (see _lstm_slopes).

    Inputs:
    - cell: A name in CELL_KINDS
    - Wh: Recurrent weights, of shape (H, kH)
    - run: What `run` returned
    - dtype: Of the Jacobians (the derivatives are taken in float64; log_norms_through_time multiplies them in
      their own precision): np.float64 or np.float32; None: float32 for weights wider than
      SINGLE_PRECISION_WIDER_THAN, else float64
    Returns:
    - jacobians: StepJacobians; J_t[i, j] = d s_t[i] / d s_{t-1}[j]
    """
    T, H = run["h"].shape
    kind = _kind(cell)
    blocks = kind.blocks
    recurrent = run["recurrent"]  # h_{t-1} Wh, (T, kH)
    if dtype is None:
        dtype = np.float32 if Wh.shape[1] > SINGLE_PRECISION_WIDER_THAN else np.float64
    if cell == "gru":
        return StepJacobians(_gru_step_jacobians(Wh, run, recurrent, dtype), None)
    if cell == "lstm":
        by_block, by_c = _lstm_slopes(run, recurrent)  # (blocks, T, S): d s_t[i] / d a_g[i], unit i of block g
    else:
        directions = 1j * COMPLEX_STEP * np.eye(blocks)  # one gate block: the whole of a
        h, _, _, _ = _step(cell, run["inputs"], run["h_prev"], recurrent + directions[:, None, :], Wh)
        by_block = np.imag(h) / COMPLEX_STEP
    # Row i of ds_t/dh_{t-1} is sum over g of by_block[g, t, i] times row i of Wh_g^T (for c_t as for h_t).
    Wh_T = Wh.reshape(H, blocks, H).transpose(1, 2, 0)  # (blocks, H, H): Wh_T[g] is block g of Wh, transposed
    if kind.cell_state:
        Wh_T = np.concatenate([Wh_T, Wh_T], axis=1)  # (blocks, S, H)
    by_block, Wh_T = by_block.astype(dtype, copy=False), Wh_T.astype(dtype, copy=False)
    by_h = by_block.transpose(2, 1, 0) @ Wh_T.transpose(1, 0, 2)  # (S, T, H): one small product per row i
    by_h = by_h.transpose(1, 0, 2)  # (T, S, H), a view: each by_h[t] is a matrix BLAS reads as it is
    return StepJacobians(by_h, by_c.astype(dtype, copy=False) if kind.cell_state else None)


def _logistic_slope(x, out):
    """
    sigma'(x) = sigma(x) sigma(-x) = u / (1 + u)**2 with u = exp(-|x|), into `out` (may be x): in closed form,
    to the last bits in both tails, where sigma (1 - sigma) from a rounded sigma would lose them (1 - sigma
    cancels, and is exactly 0 from x = 37 on).
    """
    np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    square = out + 1.0
    square *= square
    return np.divide(out, square, out=out)


def _lstm_slopes(run, recurrent):
    """
    The LSTM's unit-by-unit derivatives, in closed form from the gates the run kept (sigma' and tanh' as
    `_logistic_slope` takes them, tanh'(x) = 4 sigma'(2x)): a gate's pre-activation moves its gate, which
    moves c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t) (`_lstm_cell`). The same numbers as a complex step
    through `_step` to rounding, in both tails (tests/test_gradient_flow.py), at a third of its time.

    Returns a tuple of:
    - by_block: d s_t[i] / d a_g[i] for the gate blocks g = i, f, g, o, of shape (4, T, 2H)
    - by_c: d h_t[i] / d c_{t-1}[i] and d c_t[i] / d c_{t-1}[i], of shape (T, 2, H)
    """
    T, H = run["h"].shape
    i, f, g, o, c_prev, c = (run[name] for name in ("i", "f", "g", "o", "c_prev", "c"))
    slope = run["inputs"] + recurrent  # (T, 4H): a, then each gate's derivative by its own pre-activation
    slope[:, 2 * H:3 * H] *= 2.0
    _logistic_slope(slope, out=slope)
    slope[:, 2 * H:3 * H] *= 4.0  # g = tanh(a_g)
    by_cell = _logistic_slope(2.0 * c, out=np.empty((T, H)))
    by_cell *= 4.0
    by_cell *= o  # d h_t / d c_t = o tanh'(c_t)
    by_block = np.empty((4, T, 2 * H))
    for block, cell_by_gate in ((0, g), (1, c_prev), (2, i)):  # d c_t / d (i, f, g)
        np.multiply(cell_by_gate, slope[:, block * H:(block + 1) * H], out=by_block[block, :, H:])
        np.multiply(by_cell, by_block[block, :, H:], out=by_block[block, :, :H])
    np.multiply(np.tanh(c), slope[:, 3 * H:], out=by_block[3, :, :H])  # o reaches h_t alone
    by_block[3, :, H:] = 0.0
    return by_block, np.stack([by_cell * f, f], axis=1)


def _gru_step_jacobians(Wh, run, recurrent, dtype=np.float64):
    """
    ds_t / dh_{t-1} of the GRU, of shape (T, H, H), by the chain rule through its matrix products.

    Unit i of h_t (`_gru_mix`) depends on unit i of a_z, of the candidate's pre-activation p and of
    h_{t-1}; p = x_t Wx_n + b_n + u Wh_n, and unit j of u = r * h_{t-1} (`_gru_reset`) on unit j of a_r
    and of h_{t-1}; a_r and a_z are h_{t-1} Wh_r and h_{t-1} Wh_z plus the input. So, with every
    unit-by-unit derivative taken by one complex step moving that argument of all units at once,
    J_t = diag(dh/da_z) Wh_z^T + diag(dh/dp) Wh_n^T (diag(du/dh) + diag(du/da_r) Wh_r^T) + diag(dh/dh_{t-1}),
    in `dtype` (the derivatives are taken in float64).
    """
    T, H = run["h"].shape
    step = 1j * COMPLEX_STEP
    a_r, a_z = run["inputs"][:, :H] + recurrent[:, :H], run["inputs"][:, H:2 * H] + recurrent[:, H:2 * H]  # (T, H)
    pre, h_prev = run["pre"], run["h_prev"]

    def slope(function, a_gate, *arguments, moved):
        # d function(sigmoid(a_gate), *arguments) / d (a_gate, *arguments)[moved], unit by unit
        arguments = [a_gate, *arguments]
        arguments[moved] = arguments[moved] + step
        return np.imag(function(_logistic(arguments[0]), *arguments[1:])) / COMPLEX_STEP  # (T, H)

    by_update, by_candidate, by_state = (slope(_gru_mix, a_z, pre, h_prev, moved=m).astype(dtype, copy=False)
                                         for m in range(3))
    reset_by_state, reset_by_gate = (slope(_gru_reset, a_r, h_prev, moved=m).astype(dtype, copy=False)
                                     for m in (1, 0))
    # (H, H) each, C-ordered: so is every (H, H) of `inner` below, which BLAS multiplies at twice the speed and more
    Wh_r_T, Wh_z_T, Wh_n_T = (np.ascontiguousarray(Wh[:, g * H:(g + 1) * H].T, dtype=dtype) for g in range(3))
    # Wh_n^T (diag(du/da_r) Wh_r^T + diag(du/dh)): how u's change moves p, per step (in place: T H^2 each)
    units = np.arange(H)
    inner = reset_by_gate[:, :, None] * Wh_r_T  # (T, H, H)
    inner[:, units, units] += reset_by_state
    by_h = np.matmul(Wh_n_T, inner)  # (T, H, H)
    by_h *= by_candidate[:, :, None]
    by_h += np.multiply(by_update[:, :, None], Wh_z_T, out=inner)  # inner's memory, no longer needed
    by_h[:, units, units] += by_state
    return by_h


def sampled_steps(T, state_size):
    """
    The k (0 .. T) at which norms are computed: all of them, or MAX_NORM_POINTS evenly spread
    (a third as many for states wider than 64, the LSTM's (h, c): a norm costs S**3).
    """
    max_points = MAX_NORM_POINTS if state_size <= WIDE_STATE else MAX_NORM_POINTS // 3 + 1
    if T + 1 <= max_points:
        return np.arange(T + 1)
    return np.unique(np.round(np.linspace(0, T, max_points)).astype(int))


def log_norms_through_time(jacobians, steps, dtype=None):
    """
    ln || ds_T / ds_{T-k} ||_2 for the given k, from the per-step Jacobians.

    The product is accumulated from the end, P_k = P_{k-1} J_{T-k+1} (matrix products); it is
    rescaled by powers of two (exactly) so it neither overflows nor underflows, and the scale
    is added back in log space. The norm is the spectral norm (largest singular value).

    Inputs:
    - jacobians: StepJacobians of T steps
    - steps: Increasing k in 0 .. T, of shape (K,)
    - dtype: Of the running product: np.float64, or np.float32 (twice as fast; relative error of the norms at
      most about 3e-5 after 200 steps, far below what the picture can show, see SINGLE_PRECISION_WIDER_THAN);
      None: that of the Jacobians
    Returns:
    - log_norms: Natural log of the state's norm, of shape (K,) (-inf where the product is exactly 0)
    """
    by_h, by_c = jacobians
    T, S, H = by_h.shape
    if dtype is None:
        dtype = np.float32 if by_h.dtype == np.float32 else np.float64
    single = np.dtype(dtype) == np.float32
    if single:  # a no-op for the Jacobians of wide states, made in float32 (step_jacobians)
        by_h = by_h.astype(np.float32, copy=False)
        by_c = None if by_c is None else by_c.astype(np.float32, copy=False)
    steps = np.asarray(steps)
    wanted = {int(k): index for index, k in enumerate(steps)}
    products = np.zeros((len(steps), S, S), dtype=dtype)  # the (rescaled) product at every wanted k
    log_scales = np.full(len(steps), -np.inf)
    product, spare = np.eye(S, dtype=dtype), np.empty((S, S), dtype=dtype)
    log_scale = 0.0
    # Every few steps is enough: a few steps' Jacobians cannot carry the product from 2**100 to the end of
    # float64's range (2**1023), nor from 2**-100 to its bottom; nor, in float32, from 2**30 to 2**128 or from
    # 2**-30 to 2**-126, where its full precision ends.
    bound = 2.0 ** 30 if single else 2.0 ** 100
    for k in range(int(steps[-1]) + 1):
        if k > 0:
            t = T - k  # J_{T-k+1} is stored at index T - k
            np.matmul(product, by_h[t], out=spare[:, :H])
            if by_c is not None:  # the columns of c_{t-1}: P[:, :H] diag(by_c[t, 0]) + P[:, H:] diag(by_c[t, 1])
                np.einsum("sgh,gh->sh", product.reshape(S, 2, H), by_c[t], out=spare[:, H:])
            product, spare = spare, product
        if k % RESCALE_EVERY == 0 and k > 0:
            largest = float(max(product.max(), -product.min()))  # max |entry|, without a temporary array
            if largest == 0:
                break  # exactly zero from here on: the remaining norms stay -inf
            if not 1 / bound < largest < bound:
                exponent = np.frexp(largest)[1]
                np.ldexp(product, -exponent, out=product)
                log_scale += exponent * np.log(2.0)
        if k in wanted:
            products[wanted[k]] = product
            log_scales[wanted[k]] = log_scale

    # sigma_max(P)**2 is the largest eigenvalue of the symmetric P P^T: cheaper than an SVD and, for the largest
    # value, as accurate. P P^T is formed in the product's precision, its eigenvalue taken in float64. At k = 0
    # the product is the identity, of norm 1: no eigenvalue to take.
    log_norms = np.zeros(len(steps))
    later = steps > 0
    grams = (products[later] @ products[later].transpose(0, 2, 1)).astype(np.float64, copy=False)
    if single:  # float32's rounding leaves P P^T symmetric only to about 1e-7, far from what the proof needs
        grams += grams.transpose(0, 2, 1)
        grams *= 0.5
    largest = _largest_eigenvalues(grams) if S > WIDE_STATE else np.linalg.eigvalsh(grams)[:, -1]
    with np.errstate(divide="ignore"):
        log_norms[later] = 0.5 * np.log(np.maximum(largest, 0.0)) + log_scales[later]
    return log_norms


def _largest_eigenvalues(grams):
    """
    The largest eigenvalue of each of a stack of symmetric positive semidefinite matrices, to a relative
    LANCZOS_TOLERANCE, and proven so: about twice as fast as all the eigenvalues (np.linalg.eigvalsh) at 128 x 128.

    The Rayleigh-Ritz value on a Krylov space of LANCZOS_STEPS vectors (Lanczos, fully reorthogonalised) is
    at most the largest eigenvalue; a Cholesky factorisation of (1 + LANCZOS_TOLERANCE) times it, minus the
    matrix, exists only if it is also at least the largest eigenvalue (up to rounding, about S * 1e-16). A
    matrix for which it does not is handed to np.linalg.eigvalsh (products whose largest singular values are
    close together: rare after a few steps).

    Inputs:
    - grams: Of shape (K, S, S), symmetric positive semidefinite
    Returns:
    - largest: Of shape (K,)
    """
    K, S, _ = grams.shape
    steps = min(LANCZOS_STEPS, S)
    start = np.random.default_rng(0).standard_normal(S)  # fixed: the same answer every time
    q = np.repeat((start / np.linalg.norm(start))[None], K, axis=0)  # (K, S)
    basis = np.zeros((K, steps, S))
    for j in range(steps):
        basis[:, j] = q
        if j == steps - 1:
            break
        w = np.matmul(grams, q[:, :, None])[:, :, 0]
        size = np.linalg.norm(w, axis=1)
        for _ in range(2):  # twice is enough (Gram-Schmidt)
            w -= np.matmul(np.matmul(basis[:, :j + 1], w[:, :, None])[:, :, 0][:, None, :], basis[:, :j + 1])[:, 0]
        left = np.linalg.norm(w, axis=1)
        # What is left is rounding noise where the Krylov space is (nearly) invariant: stop adding to it.
        q = np.divide(w, left[:, None], out=np.zeros_like(w), where=(left > 1e-8 * size)[:, None])
    ritz = np.linalg.eigvalsh(basis @ grams @ basis.transpose(0, 2, 1))[:, -1]
    shifted = ((1 + LANCZOS_TOLERANCE) * ritz)[:, None, None] * np.eye(S) - grams
    try:
        np.linalg.cholesky(shifted)  # all at once: usually every one is proven
        return ritz
    except np.linalg.LinAlgError:
        for index in range(K):
            try:
                np.linalg.cholesky(shifted[index])
            except np.linalg.LinAlgError:
                ritz[index] = np.linalg.eigvalsh(grams[index])[-1]
        return ritz


def log_cell_path_norms(forget_gates, steps):
    """
    ln of the gradient's norm along the LSTM's cell state alone, ln || diag(f_T) ... diag(f_{T-k+1}) ||_2:
    the path c_T <- c_{T-1} <- ... <- c_{T-k} that never leaves the cell (dc_t / dc_{t-1} = diag(f_t) when
    h_{t-1} is held fixed). A product of diagonal matrices is diagonal; its spectral norm is its largest
    entry, the product of one unit's forget gates.

    Inputs:
    - forget_gates: f_t at every step, of shape (T, H)
    - steps: Increasing k in 0 .. T, of shape (K,)
    Returns:
    - log_norms: Of shape (K,); 0 at k = 0
    """
    with np.errstate(divide="ignore"):
        log_gates = np.log(forget_gates[::-1])  # (T, H), the last step first
    log_products = np.concatenate([np.zeros((1, forget_gates.shape[1])), np.cumsum(log_gates, axis=0)])  # (T + 1, H)
    return np.max(log_products[np.asarray(steps)], axis=1)


_SEQUENCES = OrderedDict()  # every setting but T -> (T, run, step_jacobians) of the longest T computed, read-only
SEQUENCES_KEPT = 4


def _sequence(settings):
    """
    `run` and `step_jacobians` of one setting. A sequence is the start of any longer one with the same other settings
    (`network` draws the same inputs for every T), and so are its states and Jacobians: a T shorter than one
    computed before is cut from that one (what the T slider does, once it has been at its longest) instead of
    being computed again. The last SEQUENCES_KEPT settings are kept.
    """
    T = settings["T"]
    key = tuple(sorted((name, value) for name, value in settings.items() if name != "T"))
    kept = _SEQUENCES.get(key)
    if kept is None or kept[0] < T:
        Wh, bias, drive = network(**settings)
        trace = run(settings["cell"], Wh, bias, drive)
        jacobians = step_jacobians(settings["cell"], Wh, trace)
        for array in (*trace.values(), *jacobians):
            if array is not None:
                array.setflags(write=False)  # shared by the results of every shorter T
        kept = _SEQUENCES[key] = (T, trace, jacobians)
        while len(_SEQUENCES) > SEQUENCES_KEPT:
            _SEQUENCES.popitem(last=False)
    _SEQUENCES.move_to_end(key)
    longest, trace, jacobians = kept
    if longest == T:
        return trace, jacobians
    return ({name: array[:T] for name, array in trace.items()},
            StepJacobians(*(None if array is None else array[:T] for array in jacobians)))


def compute(settings):
    """
    Everything the explorer shows, for one setting of its controls.

    Inputs:
    - settings: Dict of every argument of `network`, by name (the explorer's settings)
    Returns:
    - data: Dict of
      - "k": steps back from the last state at which norms are computed, of shape (K,)
      - "norms", "log_norms": ||dh_T / dh_{T-k}||_2 (spectral norm; for the LSTM of the
        (h, c) state) and its natural log, of shape (K,)
      - "cell_path_norms", "log_cell_path_norms": LSTM only, the norm along the cell state alone,
        ||diag(f_T) ... diag(f_{T-k+1})||_2 (see log_cell_path_norms); else None
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
    kind = _kind(cell)
    _, unit_eigenvalues, unit_sigma_max = _unit_gain_weights(cell, hidden_size, settings["init"],
                                                             settings["gain_by"], settings["seed"])
    trace, jacobians = _sequence(settings)
    steps = sampled_steps(T, state_size=jacobians.by_h.shape[1])
    log_norms = log_norms_through_time(jacobians, steps)
    gates = None if kind.memory_gate is None else trace[kind.memory_gate.symbol]  # (T, H)
    log_cell_path = log_cell_path_norms(gates, steps) if kind.cell_state else None  # the forget gates' product
    gamma = kind.gamma
    sigma_max = settings["gain"] * float(unit_sigma_max)
    if kind.memory_gate is not None:
        rate = float(_logistic(np.float64(settings["gate_bias"])))
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
            "cell_path_norms": None if log_cell_path is None else np.exp(log_cell_path),
            "log_cell_path_norms": log_cell_path,
            "envelope": np.exp(log_envelope),
            "log_envelope": log_envelope,
            "rate": rate,
            "horizon": horizon,
            "gamma": gamma,
            "sigma_max": sigma_max,
            "spectral_radius": settings["gain"] * float(np.max(np.abs(unit_eigenvalues))),
            "eigenvalues": settings["gain"] * unit_eigenvalues,
            "derivatives": trace["derivative"],
            "gates": gates,
            "states": trace["h"],
            "settings": dict(settings),
        }

