"""Tests for rnnlab.plotting: check the data each picture actually draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnnlab.plotting import draw_unrolled_rnn, plot_gradient_norms, plot_heatmap  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _patches(ax, kind):
    return [patch for patch in ax.patches if isinstance(patch, kind)]


# plot_heatmap ----------------------------------------------------------------


def test_plot_heatmap_shows_units_by_time():
    values = np.random.default_rng(1).uniform(-1, 1, size=(7, 3))  # (T, H)
    ax = plot_heatmap(values, title="hidden states")
    image = ax.images[0]
    np.testing.assert_array_equal(np.asarray(image.get_array()), values.T)
    assert image.get_clim() == (-1, 1)
    assert ax.get_title() == "hidden states"
    assert ax.get_xlabel() == "time step t" and ax.get_ylabel() == "unit"


def test_plot_heatmap_colour_range_for_gates():
    ax = plot_heatmap(np.full((4, 2), 0.5), vmin=0, vmax=1)
    assert ax.images[0].get_clim() == (0, 1)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_plot_heatmap_rejects_non_2d_input(shape):
    with pytest.raises(ValueError, match=r"values must have shape \(T, H\)"):
        plot_heatmap(np.zeros(shape))


# plot_gradient_norms ---------------------------------------------------------


def test_plot_gradient_norms_log_scale_steps_back():
    norms = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])  # loss at the last step
    ax = plot_gradient_norms(norms)
    assert ax.get_yscale() == "log"
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(5))
    np.testing.assert_array_equal(line.get_ydata(), norms[::-1])
    assert "steps back" in ax.get_xlabel()


def test_plot_gradient_norms_against_time_step():
    norms = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    ax = plot_gradient_norms(norms, steps_back=False)
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), norms)
    assert ax.get_xlabel() == "time step t"


def test_plot_gradient_norms_legend_only_with_label():
    assert plot_gradient_norms([1.0, 0.1]).get_legend() is None
    ax = plot_gradient_norms([1.0, 0.1], label="tanh RNN")
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["tanh RNN"]


# draw_unrolled_rnn -----------------------------------------------------------


@pytest.mark.parametrize("T", [1, 3, 6])
def test_draw_unrolled_rnn_draws_T_cells(T):
    ax = draw_unrolled_rnn(T)
    assert len(_patches(ax, FancyBboxPatch)) == T
    assert len(_patches(ax, FancyArrowPatch)) == 3 * T
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("RNN") == T
    assert f"$x_{T}$" in texts and f"$h_{T}$" in texts and "$h_0$" in texts
    assert f"$x_{T + 1}$" not in texts


def test_draw_unrolled_rnn_names_cell_and_state():
    ax = draw_unrolled_rnn(2, cell="LSTM", state="c")
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("LSTM") == 2
    assert "$c_2$" in texts and "$c_0$" in texts
    assert "LSTM unrolled over 2 steps" in ax.get_title()


@pytest.mark.parametrize("T", [0, -2])
def test_draw_unrolled_rnn_rejects_no_steps(T):
    with pytest.raises(ValueError, match="T must be at least 1"):
        draw_unrolled_rnn(T)
