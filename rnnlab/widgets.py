"""The vanishing-gradient explorer of notebook 02: its controls.

    from rnnlab.widgets import Explorer, PRESETS
    explorer = Explorer(preset="tanh RNN forgets")
    explorer                                   # controls and four pictures
    explorer.set(cell="lstm", gate_bias=5.0)   # the same path as moving the controls
    explorer.data["norms"]                     # what the pictures show, as arrays

The explorer runs one sequence through a recurrent cell and follows a gradient backwards
from the last state: `rnnlab.gradient_flow` computes how much of it reaches each earlier
state and which theory that is compared with, `rnnlab.gradient_pictures` draws it, and this
module holds the ipywidgets controls that choose the cell, its weights and its inputs. The cells
offered, and what the controls and the summary say about each, are `gradient_flow.CELL_KINDS`;
the settings the explorer starts from are `gradient_flow.DEFAULTS`.
"""

import ctypes
import html
import time
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np
from threadpoolctl import ThreadpoolController

from rnnlab.gradient_flow import CELL_KINDS, CELLS, DEFAULTS, GAIN_BY, INITS, compute  # noqa: F401 (CELLS: re-exported)
from rnnlab.gradient_pictures import Pictures

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

_THREADPOOLS = ThreadpoolController()


def _blas_limit(threads):
    """A context in which BLAS (and LAPACK) use at most this many threads."""
    return _THREADPOOLS.limit(limits=threads, user_api="blas")


# glibc's malloc gives a large freed array's memory back to the system, and the next move's arrays then have their
# pages faulted in again, one by one: about 2,200 page faults per move of the LSTM at H = 64, T = 200, 4-7 ms of its
# 35 (more in a virtual machine, and the source of its slowest moves). The explorer asks malloc to keep freed memory
# for reuse instead, up to KEEP_FREED_BYTES, and to serve arrays below MMAP_FROM_BYTES from that memory.
KEEP_FREED_BYTES = 128 * 2**20
MMAP_FROM_BYTES = 32 * 2**20  # glibc's largest (and its default grows to about 8 MB only after large frees)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters, from glibc's malloc.h


def _reuse_freed_memory():
    """Ask glibc's malloc to keep freed memory for the next arrays (see KEEP_FREED_BYTES); True if it took it."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # glibc itself, not another C library by that name
    except (OSError, AttributeError):
        return False  # macOS, Windows, musl: another allocator, left as it is
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_FROM_BYTES) and libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


# The explorer: controls -> gradient_flow.compute -> gradient_pictures.Pictures ------------------


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
    - data: Dict of the arrays the pictures show (see gradient_flow.compute), for the current settings
    - settings: Dict of the current settings
    - controls: Dict of the ipywidgets controls, by setting name; each is labelled with its name in
      words ("gain by" for gain_by) and its tooltip starts with the name
    - gate_note: The line under the gate bias slider: which gate it sets, or why it is greyed out
    - pictures: The gradient_pictures.Pictures that draw the data
    - figure: Their one matplotlib Figure, redrawn in place (pyplot never sees it)
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
            "cell": widgets.ToggleButtons(options=tuple(CELL_KINDS), description="cell", tooltip=TOOLTIPS["cell"],
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
        _reuse_freed_memory()
        self.preset = widgets.Dropdown(options=[OWN_SETTINGS, *PRESETS], description="preset",
                                       tooltip="sets every control at once", style=label, layout=column)
        # Under the gate bias slider, in small print: which gate it sets, or why it is greyed out.
        # Two lines high whatever it says, so that the pictures do not move when the cell changes.
        self.gate_note = widgets.HTML(layout=widgets.Layout(
            margin=f"0 0 0 calc({LABEL_WIDTH} + 12px)", width=f"calc({COLUMN_WIDTH} - {LABEL_WIDTH} - 12px)",
            height="2.6em"))
        self.summary = widgets.HTML()
        self.pictures = Pictures()
        self.pictures.prepare(start["hidden_size"], start["T"])
        self.figure = self.pictures.figure
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
        self._drawn = None  # the key of _results that the image shows
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
        kind = CELL_KINDS[settings["cell"]]
        gate = self.controls["gate_bias"]
        gate.disabled = kind.memory_gate is None
        note = _gate_note(kind)
        gate.tooltip = f"gate_bias: {note}"
        self.gate_note.value = (f'<div style="font-size: 0.9em; line-height: 1.3; color: var(--jp-ui-font-color2, '
                                f'#616161)">{html.escape(note)}</div>')
        try:
            # A cell without a memory gate has no use for the gate bias: moving that slider computes and draws nothing.
            key = tuple(None if name == "gate_bias" and kind.memory_gate is None else value
                        for name, value in settings.items())
            if key not in self._results:
                # One BLAS thread: these matrices are small, and a second thread only waits for the first.
                with _blas_limit(1):
                    self._results[key] = compute(settings)
                while len(self._results) > 64:
                    self._results.popitem(last=False)
            self._results.move_to_end(key)
            data = self._results[key]
            self.data = data if data["settings"] == settings else {**data, "settings": dict(settings)}
            if key != self._drawn:
                self.image.value = self.pictures.draw(self.data)
                self._drawn = key
        except Exception as error:
            self.summary.value = f'<span style="color: #b00">The explorer failed: {html.escape(repr(error))}</span>'
            raise
        self.last_update_seconds = time.perf_counter() - started
        self.summary.value = _summary(self.data, self.last_update_seconds)


def _gate_note(kind):
    """What the gate bias slider sets for a cell (a CellKind), or why it is greyed out."""
    if kind.memory_gate is None:
        return f"only for the LSTM and GRU: a {kind.label} has no gates"
    return f"b_{kind.memory_gate.symbol}, the bias of the {kind.label}'s {kind.memory_gate.name}"


def _html_symbol(symbol):
    """A symbol of the pictures' math ("W_n") in HTML (W<sub>n</sub>)."""
    name, _, subscript = symbol.partition("_")
    return f"{name}<sub>{subscript}</sub>" if subscript else name


def _summary(data, seconds):
    """One paragraph of HTML: the numbers of the current setting and what the theory says about them."""
    settings = data["settings"]
    kind, T = CELL_KINDS[settings["cell"]], settings["T"]
    scale = "spectral radius" if settings["gain_by"] == "spectral radius" else "largest singular value"
    end = data["log_norms"][-1] / np.log(10)
    measured = f"at k = T = {T} the network's norm is 10<sup>{end:.1f}</sup>" if np.isfinite(end) else (
        f"at k = T = {T} the network's norm is exactly 0")
    matrix = _html_symbol(kind.candidate)
    parts = [f"<b>{kind.label}</b>, H = {settings['hidden_size']}, T = {T}. "
             f"Gain {settings['gain']:.2f} = the {scale} of each recurrent block. {matrix}: spectral radius "
             f"{data['spectral_radius']:.3g}, largest singular value &sigma;<sub>max</sub> = {data['sigma_max']:.3g}."]
    if kind.memory_gate is not None:
        gate, bias = kind.memory_gate.name, _html_symbol(f"b_{kind.memory_gate.symbol}")
        parts.append(f"Theory: the {gate} passes the gradient on, &sigma;({bias}) = "
                     f"&sigma;({settings['gate_bias']:.1f}) = {data['rate']:.4g} per step: "
                     f"horizon &minus;1/ln &sigma;({bias}) = {data['horizon']:.3g} steps.")
        if kind.cell_state:
            cell_end = data["log_cell_path_norms"][-1] / np.log(10)
            measured += (f" (along the cell state alone, the product of the forget gates: 10<sup>{cell_end:.1f}</sup>)"
                         if np.isfinite(cell_end) else "")
    else:
        parts.append(f"Theory: &gamma; = sup &phi;' = {data['gamma']:.3g}, "
                     f"||J<sub>t</sub>|| &le; &gamma;&sigma;<sub>max</sub> = {data['rate']:#.3g}, "
                     f"{_bound_verdict(data['rate'])}.")
    saturated = float(np.mean(data["derivatives"] < 0.1 * data["gamma"]))
    parts.append(f"Measured: {measured}; {saturated:.0%} of &phi;'(a) are below &gamma;/10. "
                 f"Updated in {1000 * seconds:.0f} ms.")
    return "<p style='line-height: 1.4; max-width: 800px'>" + " ".join(parts) + "</p>"


def _bound_verdict(rate):
    """
    What Pascanu's bound ||J_t|| <= rate says. The summary prints the rate with three significant digits,
    and the verdict reads the printed number: a rate that prints as 1.00 (0.9995 .. 1.005; gain 1 by
    singular value is 0.9999999999999998 in floating point) is about 1, neither below nor above.
    """
    if float(f"{rate:#.3g}") == 1.0:
        return ("about 1, so the bound lets the gradient neither grow nor vanish much: whether it vanishes "
                "depends on &phi;'(a)")
    if rate < 1:
        return "below 1, so the gradient must vanish (Pascanu et al. 2013)"
    return "above 1, so the bound allows growth: whether it vanishes depends on &phi;'(a)"
