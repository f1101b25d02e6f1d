"""The figure of notebook 02's vanishing-gradient explorer: four views of what
`rnnlab.gradient_flow.compute` returns, redrawn in place.

    from rnnlab import gradient_flow
    from rnnlab.gradient_pictures import Pictures
    pictures = Pictures()
    jpeg = pictures.draw(gradient_flow.compute(gradient_flow.DEFAULTS))   # pictures.figure is the Figure

The views: the gradient's norm against k with the theory's rate**k, the eigenvalues of W
against the circles of radius sigma_max and 1 / gamma, a histogram of phi'(a) (and of the
memory gate), and the hidden states as a heatmap. `rnnlab.widgets.Explorer` shows the image
under its controls. What a view says about a cell comes from its row of `gradient_flow.CELL_KINDS`.
"""

import io
import itertools
from collections import OrderedDict

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, MultipleLocator
from matplotlib.transforms import Bbox
from PIL import Image

from rnnlab.gradient_flow import CELL_KINDS

FIGURE_SIZE = (10.0, 6.6)  # inches
FIGURE_DPI = 80
HISTOGRAM_EDGES = np.linspace(0.0, 1.0, 41)
# Axis limits snap to these, so that most updates reuse a drawn background.
NICE_RADII = (1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
NICE_FRACTIONS = (0.1, 0.2, 0.5, 1.0)
NICE_STEPS = (10, 25, 50, 100, 150, 200)  # time axes: a shorter T leaves the right end empty
NICE_UNITS = (8, 16, 32, 48, 64, 96, 128)
# The norm view's height in pixels: a multiple of 60, so that with 2 to 5 rows (NORM_ROWS) its y tick labels sit whole
# pixels apart, and a label drawn once can be pasted at any of them (`_norms_y_label`).
NORMS_HEIGHT_PIXELS = 180
LABEL_PATCHES_KEPT = 256  # y tick labels kept as pixels, by text and place within a pixel
BACKGROUNDS_KEPT = 64  # backgrounds drawn on demand (the norm view's y tick labels, ...) that are kept, the last used
# The norm view's y range is cut by its ticks into this many rows (see _log10_limits): `prepare` draws its grid
# at each of these counts and every T, and a count outside them (norms over thousands of decades) is drawn on demand.
NORM_ROWS = (2, 3, 4, 5)
NORMS_LEGEND_CORNERS = ("upper right", "lower right", "upper left", "lower left")  # first free one wins ties
NICE_COLOUR_RANGES = tuple(scale * 10.0 ** power for power in range(-3, 9) for scale in (1, 2, 5))
# The views whose axes are redrawn while the explorer is used (their limits follow T, H and the norms):
# their axis labels are stored once, like the titles, at fixed places (axes coordinates of the x label's
# top and the y label's right edge, clear of the widest tick labels, "−500" and "128"), not redrawn with
# every new background; long labels are half the text a background draws.
STORED_LABELS = {"norms": (-0.138, -0.124), "states": (-0.117, -0.124)}


def _snap_up(value, choices):
    return next((choice for choice in choices if value <= choice), choices[-1])


def _log10_limits(*log_values):
    """
    y-limits of the norm plot (log10 of the norms, with 1 = 10**0 inside), on multiples of a round step
    (a whole number of decades) so that they rarely change, with some room above and below the lines; and
    that step, the distance between its ticks: a tuple (low, high, step). The limits are 2 to 5 steps apart
    (NORM_ROWS) but for norms over thousands of decades.
    """
    finite = np.concatenate([np.ravel(v)[np.isfinite(v)] for v in log_values if v is not None]) / np.log(10)
    low, high = min(finite.min(initial=0.0), 0.0), max(finite.max(initial=0.0), 0.0)
    step = _snap_up(1.1 * (high - low), (2, 4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10000)) / 2
    return float(step * np.floor(low / step - 0.1)), float(step * np.ceil(high / step + 0.1)), step


def _colour_limits(kind, states):
    """Colour range of the hidden-state heatmap: the cell's range, or a round bound on |h| if it has none."""
    if kind.state_range is None:
        bound = _snap_up(float(np.max(np.abs(states), initial=0.0)), NICE_COLOUR_RANGES)
        return -bound, bound
    return kind.state_range


class Pictures:
    """The explorer's figure: four views drawn with matplotlib's Agg, handed out as an image.

    The figure is made once and never shown by pyplot. Drawing text is what costs in Agg, so an
    update draws none: each view sits in its own quarter of the figure, and an update pastes
    stored pixels of the view's axes (frame, ticks, tick labels: redrawn only when its limits change),
    draws the data artists over them, and pastes the stored title, legend and axis labels (one per
    cell, made when the figure is made; see STORED_LABELS). The numbers that change go into the explorer's text line.

    Attributes:
    - figure, canvas: The one matplotlib Figure and its Agg canvas
    - axes: Dict of the four views' Axes: "norms", "eigenvalues", "derivatives", "states"
    - quarters: Dict of each view's pixel box; everything a view draws stays inside it
    - overlays: Dict of the stored titles, legends and axis labels, by (view, variant, legend corner); see `decorate`
    - norm_line, cell_line, envelope_line, horizon_line, eigenvalue_points, gamma_circle, sigma_circle,
      derivative_bars, gate_bars, heatmap, colourbar: The artists that show the data
    """

    def __init__(self):
        self.figure = Figure(figsize=FIGURE_SIZE, dpi=FIGURE_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        # A fixed title height: matplotlib would otherwise measure the tick labels at every draw to place it.
        with matplotlib.rc_context({"axes.titley": 1.0, "axes.titlepad": 8.0}):
            norms_ax, eig_ax, hist_ax, heat_ax = self.figure.subplots(2, 2).ravel()
        self.figure.subplots_adjust(left=0.07, right=0.95, top=0.94, bottom=0.08, wspace=0.3, hspace=0.42)
        self.axes = {"norms": norms_ax, "eigenvalues": eig_ax, "derivatives": hist_ax, "states": heat_ax}
        left, bottom, width, height = norms_ax.get_position().bounds
        norms_ax.set_position([left, bottom, width, NORMS_HEIGHT_PIXELS / self.canvas.get_width_height()[1]])
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
        # A line of markers, not a scatter: the same dots, drawn in a fraction of the time.
        self.eigenvalue_points, = eig_ax.plot([], [], "o", markersize=np.sqrt(12), color="C0", animated=True)
        self.gamma_circle, = eig_ax.plot([], [], "--", color="C3", linewidth=1, animated=True)
        self.sigma_circle, = eig_ax.plot([], [], ":", color="C1", linewidth=1.5, animated=True)

        hist_ax.set_xlabel("value (near 0: saturated, the gradient is cut)")
        hist_ax.set_ylabel("fraction of steps x units")
        empty = np.zeros(len(HISTOGRAM_EDGES) - 1)
        self.derivative_bars = hist_ax.stairs(empty, HISTOGRAM_EDGES, fill=True, alpha=0.6, color="C0", animated=True)
        self.gate_bars = hist_ax.stairs(empty, HISTOGRAM_EDGES, color="C2", linewidth=1.5, animated=True)

        heat_ax.set_xlabel("time step t")
        heat_ax.set_ylabel("unit")
        for name, (y_label_x, x_label_y) in STORED_LABELS.items():
            self.axes[name].yaxis.set_label_coords(y_label_x, 0.5)
            self.axes[name].xaxis.set_label_coords(0.5, x_label_y)
        self.heatmap = heat_ax.imshow(np.zeros((1, 1)), aspect="auto", origin="lower", cmap="RdBu_r",
                                      interpolation="nearest", animated=True)
        self.colourbar = self.figure.colorbar(self.heatmap, ax=heat_ax, fraction=0.05, pad=0.02)
        self.colourbar.locator = MaxNLocator(4)
        # The colourbar is stored as pixels per colour range (`_background`), updated to a range only to be drawn for
        # it: not at every change of the heatmap's range, which lays the whole colourbar out again (7 ms a cell move).
        self.heatmap.callbacks.disconnect(self.heatmap.colorbar_cid)
        # Drawn over the backgrounds at every update; the heatmap is painted from its cells' colours (`_paint_heatmap`).
        self.animated = [self.norm_line, self.cell_line, self.envelope_line, self.horizon_line, self.eigenvalue_points,
                         self.gamma_circle, self.sigma_circle, self.derivative_bars, self.gate_bars]
        self._heatmap_maps = OrderedDict()  # (T, H, axis limits) -> which cell each pixel shows (see _heatmap_pixels)

        # A white rectangle and the pixel box of each quarter: every view, labels included, stays in its own.
        self._blanks, self.quarters = {}, {}
        width, height = self.canvas.get_width_height()
        for (name, ax), (column, row) in zip(self.axes.items(), [(0, 1), (1, 1), (0, 0), (1, 0)]):
            self._blanks[name] = Rectangle((column / 2, row / 2), 0.5, 0.5, transform=self.figure.transFigure,
                                           facecolor="white", edgecolor="none")
            self.quarters[name] = Bbox.from_bounds(column * width / 2, row * height / 2, width / 2, height / 2)
        self._backgrounds = OrderedDict()  # (view, limits) -> pixel regions: prepared ones, and the last drawn
        self._label_patches = OrderedDict()  # (text, place within a pixel) -> (pixels, top row, left column, y)
        self._prepared = set()  # the keys of those that `prepare` drew, kept for good
        self.canvas.draw()  # lays the figure out once and makes the renderer
        # Every title and legend, made now so that switching cells draws no text.
        self.overlays = {}
        for name, corners in (("norms", NORMS_LEGEND_CORNERS), ("eigenvalues", [None]), ("derivatives", ["upper left"]),
                              ("states", [None])):
            for variant in dict.fromkeys(self._variant(name, kind) for kind in CELL_KINDS.values()):
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
    def _variant(name, kind):
        """
        What a view's title and legend say about a cell (a CellKind): the facts of its row that they show,
        so that cells that share a title and legend share one variant, stored once.
        """
        if name == "norms":  # h or (h, c) with the path through c alone, the theory's gate
            return kind.cell_state, kind.memory_gate and kind.memory_gate.symbol
        if name == "eigenvalues":  # which block, whether 1/gamma is a circle of its own
            return kind.candidate, kind.blocks > 1, kind.gamma != 1
        if name == "derivatives":  # phi, the gate whose histogram is beside phi's
            return kind.nonlinearity, kind.memory_gate and f"{kind.memory_gate.name} {kind.memory_gate.symbol}"
        return ()

    def decorate(self, name, variant, corner):
        """
        Set the title and legend of one view (they never hold a number that changes).

        Inputs:
        - name: One of the views, a key of `axes`
        - variant: What the title and legend say about the cell: a tuple from _variant
        - corner: Where the legend sits ("upper right", ...), or None
        """
        ax = self.axes[name]
        if name == "norms":
            cell_state, gate = variant
            state = "(h,c)" if cell_state else "h"
            ax.set_title(rf"gradient $\|\partial {state}_T / \partial {state}_{{T-k}}\|_2$ (spectral norm)")
            entries = [(self.norm_line, "network")]
            if cell_state:
                entries.append((self.cell_line, r"cell state alone $\|\mathrm{diag}(f_T \cdots f_{T-k+1})\|_2$"))
            theory = rf"theory $\sigma(b_{gate})^k$" if gate else r"bound $(\gamma\,\sigma_{max})^k$"
            entries.append((self.envelope_line, theory))
            entries.append((self.horizon_line, r"horizon $-1/\ln$ rate"))
        elif name == "eigenvalues":
            matrix, packed, own_gamma_circle = variant
            ax.set_title(f"eigenvalues of ${matrix}$" + (" (candidate block)" if packed else ""))
            entries = [(self.eigenvalue_points, "eigenvalues"), (self.unit_circle, "unit circle"),
                       (self.sigma_circle, r"radius $\sigma_{max}$")]
            if own_gamma_circle:
                entries.append((self.gamma_circle, r"radius $1/\gamma$"))
        elif name == "derivatives":
            nonlinearity, gate = variant
            ax.set_title(rf"$\varphi'(a)$ of the {nonlinearity}, all steps and units")
            entries = [(self.derivative_bars, r"$\varphi'(a)$")]
            if gate:
                entries.append((self.gate_bars, gate))
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
        """The pixels of one view's title, legend and (STORED_LABELS) axis labels, drawn on white: stored regions."""
        key = (name, variant, corner)
        if key in self.overlays:
            return self.overlays[key]
        self.decorate(name, variant, corner)
        renderer = self.canvas.get_renderer()
        regions = []
        ax = self.axes[name]
        labels = (ax.xaxis.label, ax.yaxis.label) if name in STORED_LABELS else ()
        for artist in (ax.title, ax.get_legend(), *labels):
            if artist is not None:
                self._blanks[name].draw(renderer)
                artist.draw(renderer)
                box = artist.get_window_extent(renderer)
                # A legend's frame reaches a little beyond its box; a title's box must not reach the axes' top edge.
                pad = 3 if artist is ax.get_legend() else 1
                regions.append(self.canvas.copy_from_bbox(
                    Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)))
        self.overlays[key] = regions
        return regions

    def _norms_x_strip(self):
        """
        The pixels under the norm view's axes that hold its x tick labels and nothing else: below its tick
        marks, right of its y tick labels (the lowest of which reaches below the axes), to the quarter's edges.
        """
        box, quarter = self.axes["norms"].bbox, self.quarters["norms"]
        return Bbox.from_extents(box.x0 - 6, quarter.y0, quarter.x1, box.y0 - 5)

    def _view_limits(self, data):
        """Every view's axis limits (snapped) and the heatmap's colour range ("colourbar"): the backgrounds' keys."""
        settings = data["settings"]
        T, H = settings["T"], settings["hidden_size"]
        radius = _snap_up(1.1 * max(1.0, 1 / data["gamma"], data["sigma_max"], data["spectral_radius"]), NICE_RADII)
        fraction = _snap_up(1.1 * max(self.derivative_bars.get_data().values.max(),
                                      self.gate_bars.get_data().values.max()), NICE_FRACTIONS)
        steps, units = _snap_up(T, NICE_STEPS), _snap_up(H, NICE_UNITS)
        low, high, step = _log10_limits(data["log_norms"], data["log_envelope"], data["log_cell_path_norms"])
        return {
            "norms": ((0, steps), (low, high), step),  # the y tick step too (see _background)
            "eigenvalues": ((-radius, radius), (-radius, radius)),
            "derivatives": ((0, 1), (0, fraction)),
            "states": ((0.5, steps + 0.5), (0.5, units + 0.5)),
            "colourbar": _colour_limits(CELL_KINDS[settings["cell"]], data["states"]),
        }

    def prepare(self, hidden_size, T):
        """
        Draw now the backgrounds that updates need and that do not depend on the norms, so that they cost
        nothing later (a background costs about 10 ms, a fifth of an update's budget; these take about a
        second, once): the eigenvalue and histogram views at every radius and height they can have, the
        hidden-state view at every T and H (this T and H first) and its colourbar at every colour range, and
        the norm view's grid at every T and number of rows (NORM_ROWS; its y tick labels are drawn on demand, a
        few milliseconds). They are kept for good (see `_background`).
        """
        for radius in NICE_RADII:
            self._prepare("eigenvalues", ((-radius, radius), (-radius, radius)))
        for fraction in NICE_FRACTIONS:
            self._prepare("derivatives", ((0, 1), (0, fraction)))
        steps, units = _snap_up(T, NICE_STEPS), _snap_up(hidden_size, NICE_UNITS)
        for steps, units in dict.fromkeys([(steps, units), *itertools.product(NICE_STEPS, NICE_UNITS)]):
            self._prepare("states", ((0.5, steps + 0.5), (0.5, units + 0.5)))
        colour_ranges = [kind.state_range for kind in CELL_KINDS.values() if kind.state_range]
        for state_range in dict.fromkeys(colour_ranges + [(-bound, bound) for bound in NICE_COLOUR_RANGES]):
            self._prepare("colourbar", state_range)
        for steps in NICE_STEPS:
            for rows in NORM_ROWS:
                self._norms_grid((0, steps), rows)
                self._prepared.add(("norms grid", ((0, steps), rows)))
            self._prepared.add(("norms x tick labels", (0, steps)))

    def _prepare(self, name, limits):
        self._background(name, limits)
        self._prepared.add((name, limits))

    def _background(self, name, limits):
        """
        One view's axes without data, title or legend: stored pixels (a list of regions), or drawn now and stored. The
        heatmap's colourbar has its own ("colourbar", keyed by the colour range), pasted over the
        hidden-state view's, so that a new T or H does not redraw its labels, nor a new colour range the view's.
        The norm view's y range follows every setting: its grid, stored by T and number of rows, is pasted with its
        y tick labels, stored by y range, so that a new y range draws only those few labels.
        """
        if name == "norms":
            x_limits, (low, high), step = limits
            return self._norms_grid(x_limits, round((high - low) / step)) + self._norms_y_labels(low, high, step)
        key = (name, limits)
        if key not in self._backgrounds and name == "colourbar":
            renderer = self.canvas.get_renderer()
            self.heatmap.set_clim(*limits)
            self.colourbar.update_normal(self.heatmap)
            self._blanks["states"].draw(renderer)
            self.colourbar.ax.draw(renderer)
            # Its box with its tick labels, to the quarter's right edge, and above it their offset ("1e8"), which
            # reaches left over the heatmap's corner (a tight box would lay every label out again); clear of the
            # heatmap's frame and x tick labels, and of the view's title.
            box, quarter = self.colourbar.ax.bbox, self.quarters["states"]
            self._backgrounds[key] = [
                self.canvas.copy_from_bbox(Bbox.from_extents(box.x0 - 2, box.y0 - 7, quarter.x1, box.y1 + 2)),
                self.canvas.copy_from_bbox(Bbox.from_extents(box.x0 - 16, box.y1 + 2, quarter.x1, quarter.y1))]
        elif key not in self._backgrounds:
            ax = self.axes[name]
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
            self._draw_axes(name)
            self._backgrounds[key] = [self.canvas.copy_from_bbox(self.quarters[name])]
        return self._kept(key)

    def _kept(self, key):
        """A stored background, now the last used; the oldest beyond BACKGROUNDS_KEPT that `prepare` did not draw go."""
        self._backgrounds.move_to_end(key)
        while len(self._backgrounds) > len(self._prepared) + BACKGROUNDS_KEPT:
            del self._backgrounds[next(stored for stored in self._backgrounds if stored not in self._prepared)]
        return self._backgrounds[key]

    def _draw_axes(self, name, y_tick_labels=True):
        """Draw one view's axes at their current limits, without data, title, legend or stored labels."""
        ax = self.axes[name]
        renderer = self.canvas.get_renderer()
        self._blanks[name].draw(renderer)
        labels = (ax.xaxis.label, ax.yaxis.label) if name in STORED_LABELS else ()
        for label in labels:
            label.set_visible(False)  # pasted from the overlay
        ax.yaxis.set_tick_params(labelleft=y_tick_labels)
        ax.draw(renderer)  # skips the animated artists
        ax.yaxis.set_tick_params(labelleft=True)
        for label in labels:
            label.set_visible(True)

    def _norms_grid(self, x_limits, rows):
        """
        The norm view's axes without y tick labels, for any y range of `rows` steps: its grid lines and y ticks sit at
        the same pixels for all of them. The x tick labels follow T alone: a new number of rows pastes the stored
        strip under the axes instead of drawing them again.
        """
        key = ("norms grid", (x_limits, rows))
        if key not in self._backgrounds:
            ax = self.axes["norms"]
            y_limits, locator = ax.get_ylim(), ax.yaxis.get_major_locator()
            ax.set_xlim(*x_limits)
            ax.set_ylim(0, rows)
            ax.yaxis.set_major_locator(MultipleLocator(1))
            strip_key = ("norms x tick labels", x_limits)
            reuse_strip = strip_key in self._backgrounds
            ax.xaxis.set_tick_params(labelbottom=not reuse_strip)
            self._draw_axes("norms", y_tick_labels=False)
            ax.xaxis.set_tick_params(labelbottom=True)
            if reuse_strip:
                self.canvas.restore_region(self._backgrounds[strip_key][0])
            else:
                self._backgrounds[strip_key] = [self.canvas.copy_from_bbox(self._norms_x_strip())]
            self._backgrounds[key] = [self.canvas.copy_from_bbox(self.quarters["norms"])]
            ax.set_ylim(*y_limits)
            ax.yaxis.set_major_locator(locator)
        return self._kept(key)

    def _norms_y_labels(self, low, high, step):
        """
        The norm view's y tick labels at low, low + step, ... high, drawn as the axis draws them, on white: the
        pixels left of the axes' ticks, the full height of its quarter (pasted over its grid, `_norms_grid`).
        """
        key = ("norms y tick labels", (low, high, step))
        if key not in self._backgrounds:
            ax = self.axes["norms"]
            y_limits = ax.get_ylim()
            ax.set_ylim(low, high)
            self._blanks["norms"].draw(self.canvas.get_renderer())
            for value in np.linspace(low, high, round((high - low) / step) + 1):
                self._norms_y_label(f"{value:.0f}".replace("-", "\N{MINUS SIGN}"), value)
            ax.set_ylim(*y_limits)
            box, quarter = ax.bbox, self.quarters["norms"]
            self._backgrounds[key] = [self.canvas.copy_from_bbox(
                Bbox.from_extents(quarter.x0, quarter.y0, box.x0 - 6, quarter.y1))]
        return self._kept(key)

    def _norms_y_label(self, text, value):
        """
        One y tick label of the norm view at `value` of its current y range, on white. Agg places glyphs by where they
        fall within a pixel, so a label drawn once is the same pixels wherever it lands at the same place within a
        pixel: drawn the first time, later pasted whole pixels up or down (the view's height, NORMS_HEIGHT_PIXELS,
        puts every tick at the same place within a pixel). About 1 ms a label drawn, nothing pasted.
        """
        ax = self.axes["norms"]
        pixels = np.asarray(self.canvas.buffer_rgba())  # rows from the top
        y = float(ax.transData.transform((0, value))[1])  # display y, from the bottom
        patch_key = (text, round(y % 1.0, 9))
        if patch_key in self._label_patches:
            patch, top, left, drawn_at = self._label_patches[patch_key]
            top += round(drawn_at - y)
            pixels[top:top + len(patch), left:left + patch.shape[1]] = patch
            self._label_patches.move_to_end(patch_key)
            return
        renderer = self.canvas.get_renderer()
        model = ax.yaxis.get_major_ticks()[0].label1  # font, size and colour of the axis's own labels
        tick = matplotlib.rcParams["ytick.major.size"] + matplotlib.rcParams["ytick.major.pad"]
        transform, vertical, horizontal = ax.get_yaxis_text1_transform(tick)
        label = Text(0, value, text, transform=transform, verticalalignment=vertical, horizontalalignment=horizontal)
        label.update_from(model)
        label.set_figure(self.figure)
        label.draw(renderer)
        extent, margin = label.get_window_extent(renderer), 3  # antialiasing reaches a pixel beyond the extent
        top, bottom = len(pixels) - int(np.ceil(extent.y1)) - margin, len(pixels) - int(np.floor(extent.y0)) + margin
        left, right = int(np.floor(extent.x0)) - margin, int(np.ceil(extent.x1)) + margin
        self._label_patches[patch_key] = (pixels[top:bottom, left:right].copy(), top, left, y)
        while len(self._label_patches) > LABEL_PATCHES_KEPT:
            self._label_patches.popitem(last=False)

    def _paint_heatmap(self, values):
        """
        The heatmap of `values` (H x T) on the canvas: its cells in the colours its colourmap and range give them,
        copied to the pixels where matplotlib draws each cell (`_heatmap_pixels`): the pixels that drawing the image
        makes (tests/test_widgets.py), without its masked arrays and resampling, 6 of a move's 10 ms of drawing.
        """
        colours = self.heatmap.to_rgba(values, bytes=True)  # (H, T, 4)
        self.heatmap.set_data(colours)  # what the artist holds, for anyone who draws it
        rows, columns, cells = self._heatmap_pixels(*values.shape)
        pixels = np.asarray(self.canvas.buffer_rgba())
        pixels[rows, columns] = colours.reshape(-1, 4)[cells]

    def _heatmap_pixels(self, H, T):
        """
        Where matplotlib draws each cell of an H x T heatmap at its current extent and axis limits: the canvas's rows
        and columns (slices, or index arrays if the drawn pixels are not a rectangle) and the cell (row-major index)
        each of those pixels shows. Found by having matplotlib draw, once per shape and limits, an image whose colours
        are its cells' indices (nearest-neighbour resampling copies colours, it does not mix them).
        """
        ax = self.axes["states"]
        key = (H, T, ax.get_xlim(), ax.get_ylim())
        if key not in self._heatmap_maps:
            pixels = np.asarray(self.canvas.buffer_rgba())
            box = ax.bbox  # display coordinates, from the bottom; the canvas's rows are from the top
            top, left = max(len(pixels) - int(np.ceil(box.y1)) - 2, 0), max(int(np.floor(box.x0)) - 2, 0)
            region = pixels[top:len(pixels) - int(np.floor(box.y0)) + 2, left:int(np.ceil(box.x1)) + 2]
            kept = region.copy()
            region[...] = (255, 255, 255, 255)  # no cell's colour: a cell's red is its index // 65536, below 255
            codes = np.zeros((H, T, 4), dtype=np.uint8)
            index = np.arange(H * T).reshape(H, T)
            codes[..., 0], codes[..., 1], codes[..., 2], codes[..., 3] = index >> 16, (index >> 8) & 255, index & 255, 255
            data = self.heatmap.get_array()
            self.heatmap.set_data(codes)
            ax.draw_artist(self.heatmap)
            self.heatmap.set_data(data)
            drawn = region[..., 0] != 255
            cells = (region[..., 0].astype(np.intp) << 16) | (region[..., 1].astype(np.intp) << 8) | region[..., 2]
            region[...] = kept
            found_rows, found_columns = np.nonzero(drawn)
            r0, r1, c0, c1 = found_rows.min(), found_rows.max() + 1, found_columns.min(), found_columns.max() + 1
            if drawn[r0:r1, c0:c1].all():  # a rectangle, as an image with a linear extent always is
                rows, columns, cells = slice(top + r0, top + r1), slice(left + c0, left + c1), cells[r0:r1, c0:c1]
            else:
                rows, columns, cells = top + found_rows, left + found_columns, cells[found_rows, found_columns]
            self._heatmap_maps[key] = (rows, columns, cells)
            while len(self._heatmap_maps) > BACKGROUNDS_KEPT:
                self._heatmap_maps.popitem(last=False)
        self._heatmap_maps.move_to_end(key)
        return self._heatmap_maps[key]

    def draw(self, data):
        """
        Show one setting's data.

        Inputs:
        - data: Dict from gradient_flow.compute
        Returns:
        - image: The figure as JPEG bytes (fast to encode, a tenth of PNG's time)
        """
        settings = data["settings"]
        kind, T, H = CELL_KINDS[settings["cell"]], settings["T"], settings["hidden_size"]
        gated = kind.memory_gate is not None
        log10 = np.log(10)
        k = data["k"]

        # Norms against k; exactly zero norms (log = -inf) are drawn on the bottom edge.
        bottom, top, _ = _log10_limits(data["log_norms"], data["log_envelope"], data["log_cell_path_norms"])
        self.norm_line.set_data(k, np.maximum(data["log_norms"] / log10, bottom))
        self.envelope_line.set_data(k, np.maximum(data["log_envelope"] / log10, bottom))
        self.cell_line.set_visible(data["log_cell_path_norms"] is not None)
        if data["log_cell_path_norms"] is not None:
            self.cell_line.set_data(k, np.maximum(data["log_cell_path_norms"] / log10, bottom))
        self.horizon_line.set_visible(bool(data["horizon"] <= T))
        self.horizon_line.set_xdata([min(data["horizon"], T)] * 2)

        eigenvalues = data["eigenvalues"]
        self.eigenvalue_points.set_data(eigenvalues.real, eigenvalues.imag)
        inverse_gamma = 1 / data["gamma"]
        self.gamma_circle.set_data(inverse_gamma * self.circle[0], inverse_gamma * self.circle[1])
        self.gamma_circle.set_visible(inverse_gamma != 1)
        self.sigma_circle.set_data(data["sigma_max"] * self.circle[0], data["sigma_max"] * self.circle[1])

        # Equal bins given as their count and range: numpy's fast path, with the counts of HISTOGRAM_EDGES.
        bins = {"bins": len(HISTOGRAM_EDGES) - 1, "range": (HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1])}
        counts, _ = np.histogram(np.clip(data["derivatives"], 0, 1), **bins)
        self.derivative_bars.set_data(counts / data["derivatives"].size)
        gate_counts = np.histogram(data["gates"], **bins)[0] / data["gates"].size if gated else 0 * counts
        self.gate_bars.set_data(gate_counts)
        self.gate_bars.set_visible(gated)

        self.heatmap.set_extent((0.5, T + 0.5, 0.5, H + 0.5))

        limits = self._view_limits(data)
        for name, ax in self.axes.items():
            if ax.get_xlim() != limits[name][0]:  # setting limits costs, even to the same values
                ax.set_xlim(*limits[name][0])
            if ax.get_ylim() != limits[name][1]:
                ax.set_ylim(*limits[name][1])
        # The norm view's axis ticks every step, as its stored labels say (the axis itself is not drawn).
        self.axes["norms"].yaxis.set_major_locator(MultipleLocator(limits["norms"][2]))
        corners = {"norms": self._norms_legend_corner(), "eigenvalues": None, "derivatives": "upper left", "states": None}
        # Stored pixels are made by drawing on the canvas: make all that are missing before pasting any.
        overlays = [self._overlay(name, self._variant(name, kind), corner) for name, corner in corners.items()]
        backgrounds = [self._background(name, limits[name]) for name in (*self.axes, "colourbar")]
        for regions in backgrounds:
            for region in regions:
                self.canvas.restore_region(region)
        self.heatmap.set_clim(*limits["colourbar"])
        self._paint_heatmap(data["states"].T)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        for regions in overlays:  # titles and legends on top
            for region in regions:
                self.canvas.restore_region(region)
        image = io.BytesIO()
        # The canvas's RGBA read as RGB (the opaque figure's alpha skipped as it is read, without a converted copy).
        rgb = Image.frombuffer("RGB", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBX", 0, 1)
        rgb.save(image, format="jpeg", quality=90, subsampling=0)  # 4:4:4 keeps thin lines sharp
        return image.getvalue()
