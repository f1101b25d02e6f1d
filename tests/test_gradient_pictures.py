"""Tests for rnnlab.gradient_pictures, the explorer's figure: drawing over stored backgrounds gives
the pixels of a fresh figure, and every view, title and legend stays inside its own quarter."""

import numpy as np
import pytest
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from rnnlab.gradient_flow import DEFAULTS, compute
from rnnlab.gradient_pictures import NORM_ROWS, Pictures


def test_redrawing_over_stored_backgrounds_gives_the_picture_of_a_fresh_figure():
    """Blitting leaves nothing behind: after other settings, the pixels equal a first drawing's."""
    pictures = Pictures()
    pictures.prepare(DEFAULTS["hidden_size"], DEFAULTS["T"])  # as the explorer starts
    for config in [dict(cell="sigmoid", T=200, hidden_size=64), dict(cell="linear", init="identity", gain=1.02),
                   dict(cell="lstm", T=35, hidden_size=30, gate_bias=4.0)]:
        pictures.draw(compute({**DEFAULTS, **config}))
    target = compute({**DEFAULTS, "cell": "tanh", "T": 120, "hidden_size": 40, "gain": 1.2})
    pictures.draw(target)
    reused = np.asarray(pictures.canvas.buffer_rgba()).copy()
    fresh = Pictures()
    fresh.draw(target)
    np.testing.assert_array_equal(reused, np.asarray(fresh.canvas.buffer_rgba()))


@pytest.mark.parametrize("config", [dict(cell="sigmoid", gain=6.0, T=200), dict(cell="relu", init="identity", gain=1.3),
                                    dict(cell="lstm", hidden_size=128, T=200, gate_bias=-5.0), dict(cell="linear", T=1)])
def test_each_view_stays_inside_its_own_quarter(config):
    """Backgrounds, titles and legends are stored by quarter: a label reaching into the next quarter
    would be cut off or left behind. Checked with every title and legend any cell gives the view."""
    pictures = Pictures()
    pictures.draw(compute({**DEFAULTS, **config}))
    renderer = pictures.canvas.get_renderer()
    for name, ax in pictures.axes.items():
        quarter = pictures.quarters[name]
        for variant, corner in [key[1:] for key in pictures.overlays if key[0] == name]:
            pictures.decorate(name, variant, corner)
            parts = [ax, ax.title, ax.get_legend()] + ([pictures.colourbar.ax] if name == "states" else [])
            extent = Bbox.union([part.get_tightbbox(renderer) for part in parts if part is not None])
            assert (quarter.x0 <= extent.x0 and extent.x1 <= quarter.x1 and quarter.y0 <= extent.y0
                    and extent.y1 <= quarter.y1), f"{name} ({variant}, {corner}): {extent} is not inside {quarter}"


def test_a_new_y_range_over_stored_x_tick_labels_gives_the_picture_of_a_fresh_figure():
    """A new range of norms at the same T draws only its y tick labels when its number of rows has a stored grid,
    and pastes the stored x tick labels under a new grid; the colourbar of a linear RNN's unbounded states carries an
    offset ("1e8") above it: all as a fresh figure."""
    pictures = Pictures()
    pictures.draw(compute({**DEFAULTS, "cell": "sigmoid", "T": 120, "gain": 3.0}))  # -50 .. 50: two rows
    target = compute({**DEFAULTS, "cell": "linear", "T": 120, "gain": 1.3, "input_scale": 3.0})  # -50 .. 100: three
    pictures.draw(target)
    kinds = [key[0] for key in pictures._backgrounds if key[0].startswith("norms")]
    assert kinds.count("norms x tick labels") == 1 and kinds.count("norms y tick labels") == 2
    assert kinds.count("norms grid") == 2
    reused = np.asarray(pictures.canvas.buffer_rgba()).copy()
    fresh = Pictures()
    fresh.draw(target)
    np.testing.assert_array_equal(reused, np.asarray(fresh.canvas.buffer_rgba()))


@pytest.mark.parametrize("limits", [((0, 200), (-40.0, 20.0), 20.0), ((0, 150), (-1000.0, 500.0), 500.0),
                                    ((0, 10), (-3.0, 1.0), 1.0), ((0, 200), (-7000.0, 1000.0), 1000.0),
                                    ((0, 50), (-2.0, 2.0), 1.0)])
def test_the_norm_views_grid_and_stored_y_labels_are_the_pixels_matplotlib_draws(limits):
    """The norm view's background is pasted from a grid stored by number of rows and y tick labels drawn by
    `_norms_y_labels`: together, pixel for pixel, what matplotlib draws for the axes at those limits with a tick
    every step (axis labels apart: they are pasted from the stored overlay)."""
    from matplotlib.ticker import MultipleLocator

    def quarter(pictures):
        box, pixels = pictures.quarters["norms"], np.asarray(pictures.canvas.buffer_rgba())
        return pixels[int(len(pixels) - box.y1):int(len(pixels) - box.y0), int(box.x0):int(box.x1)].copy()

    pictures = Pictures()
    pictures.prepare(DEFAULTS["hidden_size"], DEFAULTS["T"])
    pictures._background("norms", ((0, 100), (-10.0, 5.0), 5.0))  # another range first
    # The same labels drawn first one row lower, and with a row more: with 2 to 5 rows (NORM_ROWS) the target's are
    # then pasted, not drawn (with more, as limits3's 8, rows need not be whole pixels apart: drawn where they are not).
    x_limits, (low, high), step = limits
    for other in [(low + step, high + step), (low, high + step)]:
        pictures._background("norms", (x_limits, other, step))
    patches = len(pictures._label_patches)
    for region in pictures._background("norms", limits):
        pictures.canvas.restore_region(region)
    if round((high - low) / step) in NORM_ROWS:
        assert len(pictures._label_patches) == patches  # every label pasted
    plain = Pictures()
    ax = plain.axes["norms"]
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.yaxis.set_major_locator(MultipleLocator(limits[2]))
    ax.xaxis.label.set_visible(False)
    ax.yaxis.label.set_visible(False)
    renderer = plain.canvas.get_renderer()
    plain._blanks["norms"].draw(renderer)
    ax.draw(renderer)
    np.testing.assert_array_equal(quarter(pictures), quarter(plain))


@pytest.mark.parametrize("seed", range(3))
def test_the_norm_limits_hold_every_line_on_whole_decades_with_two_to_five_rows(seed):
    """_log10_limits: a whole number of decades per step, limits on multiples of it holding every finite value and 0,
    and 2 to 5 rows (NORM_ROWS, whose grids are prepared) for spans up to a thousand decades."""
    from rnnlab.gradient_pictures import NORM_ROWS, _log10_limits

    rng = np.random.default_rng(seed)
    for _ in range(2000):
        low, high = -10 ** rng.uniform(-3, 2.95), 10 ** rng.uniform(-3, 2.5) * rng.integers(0, 2)
        values = np.log(10) * np.array([low, high, rng.uniform(low, high), -np.inf])
        bottom, top, step = _log10_limits(values, None)
        assert step == int(step) >= 1 and bottom % step == 0 and top % step == 0
        assert bottom < min(low, 0) and max(high, 0) < top
        assert round((top - bottom) / step) in NORM_ROWS, (low, high, bottom, top, step)


def test_prepared_backgrounds_are_kept_and_spare_every_view_but_the_norms_a_drawing():
    """prepare draws every background (every T, H, colour range, radius, height, and the norm view's grid) and
    they are never evicted by the ones drawn later: a new T, H, colour range or range of norms (2 to 5 rows) then
    draws at most the norm view's y tick labels."""
    from rnnlab import gradient_pictures

    pictures = Pictures()
    pictures.prepare(DEFAULTS["hidden_size"], DEFAULTS["T"])
    prepared = set(pictures._prepared)
    assert prepared <= set(pictures._backgrounds)
    for top in range(gradient_pictures.BACKGROUNDS_KEPT + 10):  # more norm ranges than are kept
        pictures._background("norms", ((0, 200), (-1000.0 - 500.0 * top, 500.0), 500.0))
    assert prepared <= set(pictures._backgrounds)
    assert len(pictures._backgrounds) == len(prepared) + gradient_pictures.BACKGROUNDS_KEPT
    drawn = []
    for config in [dict(cell="linear", T=37, hidden_size=100, gain=1.4), dict(cell="relu", T=150, hidden_size=7),
                   dict(cell="tanh", T=3, hidden_size=128, gain=2.5), dict(cell="gru", T=90, hidden_size=20),
                   dict(cell="lstm", T=200, hidden_size=64, gate_bias=5.0), dict(cell="sigmoid", T=10, gain=0.1)]:
        before = set(pictures._backgrounds)
        pictures.draw(compute({**DEFAULTS, **config}))
        drawn += [key[0] for key in pictures._backgrounds if key not in before]
    assert set(drawn) == {"norms y tick labels"}, drawn  # a few labels, a few milliseconds


def test_the_image_and_the_histograms_are_those_of_the_plain_formulas():
    """draw reads the canvas as RGB without a converted copy and counts the histograms by numpy's equal-bin path:
    the JPEG is byte for byte that of the RGBA canvas converted to RGB, and the bars are the counts in HISTOGRAM_EDGES,
    values on the edges included."""
    import io

    from PIL import Image

    from rnnlab.gradient_pictures import HISTOGRAM_EDGES

    pictures = Pictures()
    for config in [dict(cell="lstm", T=60), dict(cell="sigmoid", gain=3.0)]:
        data = compute({**DEFAULTS, **config})
        jpeg = pictures.draw(data)
        rgba = Image.frombuffer("RGBA", pictures.canvas.get_width_height(), pictures.canvas.buffer_rgba())
        expected = io.BytesIO()
        rgba.convert("RGB").save(expected, format="jpeg", quality=90, subsampling=0)
        assert jpeg == expected.getvalue()
        counts = np.histogram(np.clip(data["derivatives"], 0, 1), HISTOGRAM_EDGES)[0]
        np.testing.assert_allclose(pictures.derivative_bars.get_data().values, counts / data["derivatives"].size)
        if data["gates"] is not None:
            gates = np.histogram(data["gates"], HISTOGRAM_EDGES)[0] / data["gates"].size
            np.testing.assert_allclose(pictures.gate_bars.get_data().values, gates)
    edges = np.concatenate([HISTOGRAM_EDGES, np.nextafter(HISTOGRAM_EDGES, 2.0)[:-1],
                            np.nextafter(HISTOGRAM_EDGES, -1.0)[1:]])
    pictures.draw({**data, "derivatives": edges.reshape(1, -1), "gates": edges.reshape(1, -1)})
    counts = np.histogram(edges, HISTOGRAM_EDGES)[0] / edges.size
    np.testing.assert_array_equal(pictures.derivative_bars.get_data().values, counts)


def test_the_colourbar_is_laid_out_for_each_colour_range_it_is_stored_for():
    """The colourbar is laid out for a colour range only when its pixels are stored for that range (laying it out at
    every change of the heatmap's range cost 7 ms a cell move): each new range's stored colourbar has that range and
    its ticks, for bounded cells and for a linear RNN's unbounded states."""
    pictures = Pictures()
    ranges = []
    for config in [dict(cell="tanh"), dict(cell="linear", gain=1.3, input_scale=3.0, T=120), dict(cell="sigmoid"),
                   dict(cell="relu", gain=1.2), dict(cell="linear", gain=0.5)]:
        data = compute({**DEFAULTS, **config})
        pictures.draw(data)
        low, high = pictures._view_limits(data)["colourbar"]
        ranges.append((low, high))
        assert pictures.colourbar.ax.get_ylim() == (low, high), config
        ticks = MaxNLocator(4).tick_values(low, high)
        np.testing.assert_allclose(pictures.colourbar.get_ticks(), ticks[(ticks >= low) & (ticks <= high)])
    assert len(set(ranges)) == len(ranges)  # every draw stored a new range
