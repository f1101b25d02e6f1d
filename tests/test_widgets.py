"""Tests for rnnlab.widgets, the vanishing-gradient explorer: its numbers against finite differences
and closed forms, its presets against what they claim, and its controls by setting them from Python
and checking what was computed and drawn."""

import ast
import re
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import REPO, read_notebook  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from PIL import Image  # noqa: E402

from rnnlab import widgets  # noqa: E402
from rnnlab.widgets import CELLS, DEFAULTS, PRESETS, Explorer  # noqa: E402

APP = REPO / "apps" / "explorer.ipynb"
# Notebook 02's graded functions (its source notebook may not exist yet: named here).
NOTEBOOK_02_GRADED = {"rnn_step_jacobian", "gradient_norms_through_time", "clip_gradients", "forget_gate_horizon"}


def settings(**changes):
    return {**DEFAULTS, **changes}


def logistic(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def explorer():
    """One explorer for the widget tests (building one draws every title and legend: about half a second)."""
    return Explorer()


# The math against an independent oracle: finite differences of the network -------------------


def final_state(cell, Wh, bias, drive, state):
    """Run the network from `state` (h, or h and c stacked for the LSTM) over `drive`; return the last state."""
    H = Wh.shape[0]
    run = widgets._run(cell, Wh, bias, drive, state[:H], state[H:] if cell == "lstm" else None)
    return np.concatenate([run["h"][-1], run["c"][-1]]) if cell == "lstm" else run["h"][-1]


def numerical_jacobian(f, x, h=1e-5):
    """Centred finite differences, float64: column j is (f(x + h e_j) - f(x - h e_j)) / 2h."""
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.stack(columns, axis=1)


def small_network(cell):
    # A gain that keeps every cell's norms between about 1e-3 and 1e3 over 10 steps, where
    # finite differences are accurate (the sigmoid cell shrinks by gamma = 1/4 per step).
    return settings(cell=cell, hidden_size=4, T=10, gain=3.5 if cell == "sigmoid" else 1.3,
                    gain_by="singular value", input_scale=0.8, gate_bias=0.5, seed=8)


def start_state(run, cell, t):
    return np.concatenate([run["h_prev"][t], run["c_prev"][t]]) if cell == "lstm" else run["h_prev"][t]


@pytest.mark.parametrize("cell", CELLS)
def test_step_jacobians_match_finite_differences_of_one_step(cell):
    """J_t[i, j] = d s_t[i] / d s_{t-1}[j], entry by entry (a transposed or elementwise J fails here)."""
    config = small_network(cell)
    Wh, bias, drive = widgets._network(**config)
    run = widgets._run(cell, Wh, bias, drive)
    jacobians = widgets._step_jacobians(cell, Wh, run).dense()
    for t in range(config["T"]):
        numeric = numerical_jacobian(lambda s: final_state(cell, Wh, bias, drive[t:t + 1], s), start_state(run, cell, t))
        np.testing.assert_allclose(jacobians[t], numeric, rtol=1e-6, atol=1e-9, err_msg=f"{cell}, step {t + 1}")


@pytest.mark.parametrize("cell", CELLS)
def test_norms_match_finite_differences_of_the_network(cell):
    """||ds_T / ds_{T-k}||_2 for every k, against the spectral norm of the finite-difference Jacobian."""
    config = small_network(cell)
    Wh, bias, drive = widgets._network(**config)
    run = widgets._run(cell, Wh, bias, drive)
    data = widgets._compute(config)
    T = config["T"]
    np.testing.assert_array_equal(data["k"], np.arange(T + 1))
    assert data["norms"][0] == 1.0  # k = 0: ds_T / ds_T is the identity
    for k in range(1, T + 1):
        numeric = numerical_jacobian(lambda s: final_state(cell, Wh, bias, drive[T - k:], s), start_state(run, cell, T - k))
        np.testing.assert_allclose(data["norms"][k], np.linalg.norm(numeric, 2), rtol=1e-6, err_msg=f"{cell}, k = {k}")
    assert data["norms"].max() > 10 * data["norms"][data["norms"] > 0].min(), "the check needs norms that change with k"


def test_lstm_cell_norms_are_the_cell_state_block_of_finite_differences():
    config = small_network("lstm")
    Wh, bias, drive = widgets._network(**config)
    run = widgets._run("lstm", Wh, bias, drive)
    data = widgets._compute(config)
    H, T = config["hidden_size"], config["T"]
    for k in range(1, T + 1):
        numeric = numerical_jacobian(lambda s: final_state("lstm", Wh, bias, drive[T - k:], s),
                                     start_state(run, "lstm", T - k))
        np.testing.assert_allclose(data["cell_norms"][k], np.linalg.norm(numeric[H:, H:], 2), rtol=1e-6)


def test_norms_are_spectral_norms_of_matrix_products_not_eigenvalues():
    """A linear RNN whose W has both eigenvalues 0.5 still stretches a vector by sigma_max(W) > 3 in one step."""
    W = np.array([[0.5, 3.0], [0.0, 0.5]])
    T = 6
    jacobians = widgets.StepJacobians(np.broadcast_to(W.T, (T, 2, 2)), None)  # row-vector convention: J = W^T
    log_norms, _ = widgets._log_norms_through_time(jacobians, np.arange(T + 1))
    expected = [np.linalg.norm(np.linalg.matrix_power(W.T, k), 2) for k in range(T + 1)]
    np.testing.assert_allclose(np.exp(log_norms), expected, rtol=1e-12)
    assert np.exp(log_norms[1]) > 3 and np.max(np.abs(np.linalg.eigvals(W))) == 0.5


def test_norms_survive_products_beyond_the_range_of_float64():
    """1e-400 and 1e+400 are not float64 numbers; their logs are, and the products are rescaled exactly."""
    T = 400
    for rate in (0.1, 10.0):
        jacobians = widgets.StepJacobians(np.broadcast_to(rate * np.eye(3), (T, 3, 3)), None)
        log_norms, _ = widgets._log_norms_through_time(jacobians, np.array([0, 200, 400]))
        np.testing.assert_allclose(log_norms, np.array([0, 200, 400]) * np.log(rate), rtol=1e-12)


# Closed forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
@pytest.mark.parametrize("rho", [0.9, 1.0, 1.1])
def test_linear_rnn_with_scaled_orthogonal_weights_has_norms_rho_to_the_k(init, rho):
    data = widgets._compute(settings(cell="linear", init=init, gain=rho, hidden_size=16, T=60, seed=5))
    np.testing.assert_allclose(data["norms"], rho ** data["k"], rtol=1e-12)
    np.testing.assert_allclose(data["envelope"], rho ** data["k"], rtol=1e-12)  # the bound is exact here


@pytest.mark.parametrize("forget_bias", [-1.0, 1.0, 5.0])
def test_lstm_with_zero_weights_keeps_sigmoid_of_the_forget_bias_per_step(forget_bias):
    """Zero weights and inputs: c_t = sigmoid(b_f) c_{t-1}, and h_t = 0.5 tanh(c_t) reads it."""
    data = widgets._compute(settings(cell="lstm", gain=0.0, input_scale=0.0, gate_bias=forget_bias, hidden_size=8, T=50))
    forget = logistic(forget_bias)
    k = data["k"]
    np.testing.assert_allclose(data["cell_norms"], forget ** k, rtol=1e-12)
    np.testing.assert_allclose(data["envelope"], forget ** k, rtol=1e-12)
    # The whole (h, c) state: dh_T / dc_{T-k} = 0.5 * forget**k beside dc_T / dc_{T-k} = forget**k.
    np.testing.assert_allclose(data["norms"][1:], forget ** k[1:] * np.sqrt(1.25), rtol=1e-12)
    assert data["horizon"] == pytest.approx(-1 / np.log(forget))


def test_gru_with_its_update_gate_pinned_to_one_keeps_the_gradient():
    data = widgets._compute(settings(cell="gru", gate_bias=50.0, gain=1.5, input_scale=2.0, hidden_size=16, T=80))
    assert np.all(data["gates"] == 1.0)  # sigmoid(50 + O(10)) is 1 in float64
    np.testing.assert_allclose(data["norms"], 1.0, rtol=1e-12)  # the complex-step derivative rounds last digits


@pytest.mark.parametrize("cell", ["linear", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("gain_by", ["spectral radius", "singular value"])
def test_plain_cells_stay_below_the_pascanu_bound(cell, gain_by):
    """||dh_T / dh_{T-k}|| <= (gamma sigma_max(W))**k; with the spectral radius instead it would fail."""
    for gain, seed in [(0.8, 0), (1.5, 1), (3.0, 2)]:
        data = widgets._compute(settings(cell=cell, gain=gain, gain_by=gain_by, seed=seed, T=80))
        assert np.all(data["log_norms"] <= data["log_envelope"] + 1e-9), (cell, gain)
        gamma = {"linear": 1.0, "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}[cell]  # sup phi'
        np.testing.assert_allclose(data["envelope"], (gamma * data["sigma_max"]) ** data["k"], rtol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("init", widgets.INITS)
def test_gain_is_the_spectral_radius_or_the_largest_singular_value_of_every_block(cell, init):
    H = 12
    for gain_by, measure in [("spectral radius", lambda m: np.max(np.abs(np.linalg.eigvals(m)))),
                             ("singular value", lambda m: np.linalg.norm(m, 2))]:
        Wh, _, _ = widgets._network(**settings(cell=cell, init=init, gain=1.7, gain_by=gain_by, hidden_size=H))
        for block in range(widgets.BLOCKS[cell]):
            assert measure(Wh[:, block * H:(block + 1) * H]) == pytest.approx(1.7, rel=1e-10), (gain_by, block)


def test_sampled_steps_keep_both_ends_and_every_step_of_short_sequences():
    np.testing.assert_array_equal(widgets._sampled_steps(30, 64), np.arange(31))
    for state_size, most in [(64, widgets.MAX_NORM_POINTS), (128, widgets.MAX_NORM_POINTS // 3 + 1)]:
        steps = widgets._sampled_steps(200, state_size)
        assert steps[0] == 0 and steps[-1] == 200 and len(steps) == most and np.all(np.diff(steps) > 0)


# Presets do what their names say ------------------------------------------------------------


def test_presets_behave_as_named(explorer):
    seen = {}
    for name in PRESETS:
        explorer.preset.value = name  # as a learner picks it
        assert explorer.settings == {**DEFAULTS, **PRESETS[name]}
        seen[name] = explorer.data
    forgets, exploding = seen["tanh RNN forgets"]["norms"], seen["exploding"]["norms"]
    assert forgets[-1] < 1e-10 and np.all(np.diff(np.log(forgets[5:])) < 0)
    assert exploding[-1] > 1e8
    np.testing.assert_allclose(seen["orthogonal linear"]["norms"], 1.0, rtol=1e-12)
    bias_1, bias_5 = seen["LSTM with forget bias 1"], seen["LSTM with forget bias 5"]
    assert bias_1["horizon"] == pytest.approx(-1 / np.log(logistic(1.0))) and bias_1["norms"][-1] < 1e-10
    assert bias_5["horizon"] > 140 and bias_5["norms"][-1] > 1e-2 and bias_5["cell_norms"][-1] > 1e-2


# The widget: set controls from Python, check what was computed and drawn ----------------------


def test_explorer_data_has_the_agreed_arrays(explorer):
    explorer.set(cell="tanh", hidden_size=24, T=70)
    data = explorer.data
    assert data["settings"] == explorer.settings
    assert data["k"][0] == 0 and data["k"][-1] == 70
    for name in ("norms", "envelope"):
        assert data[name].shape == data["k"].shape
    assert data["states"].shape == data["derivatives"].shape == (70, 24)
    assert data["eigenvalues"].shape == (24,) and np.iscomplexobj(data["eigenvalues"])


def test_forget_bias_slider_lengthens_the_lstm_horizon(explorer):
    explorer.set(cell="lstm", hidden_size=16, T=120, gain=0.5, gate_bias=1.0)
    short = explorer.data
    explorer.controls["gate_bias"].value = 5.0  # what the slider does
    long = explorer.data
    assert long["settings"]["gate_bias"] == 5.0
    assert short["horizon"] == pytest.approx(3.19, abs=0.01) and long["horizon"] == pytest.approx(148.9, abs=0.1)
    assert long["cell_norms"][-1] > 1e6 * short["cell_norms"][-1]
    assert np.mean(long["gates"]) > 0.95 > 0.8 > np.mean(short["gates"])


def test_every_control_changes_what_is_computed(explorer):
    explorer.set(cell="tanh", hidden_size=16, T=50, init="gaussian", gain=1.0, gain_by="spectral radius",
                 input_scale=1.0, gate_bias=1.0, seed=0)
    before = explorer.data
    # gain_by before init: for an orthogonal W both normalisations are the same.
    changes = {"cell": "relu", "hidden_size": 20, "T": 60, "gain": 2.0, "gain_by": "singular value",
               "input_scale": 0.3, "seed": 1, "init": "orthogonal"}
    for name, value in changes.items():
        explorer.controls[name].value = value
        after = explorer.data
        assert after["settings"][name] == value
        assert after["states"].shape != before["states"].shape or not np.allclose(after["states"], before["states"]), name
        before = after
    assert before["sigma_max"] == pytest.approx(2.0)  # gain 2 as W's largest singular value


def test_gain_scales_the_weights_and_their_eigenvalues(explorer):
    explorer.set(cell="tanh", hidden_size=16, T=40, init="gaussian", gain=1.0, gain_by="singular value", seed=2)
    one = explorer.data
    explorer.set(gain=2.5)
    np.testing.assert_allclose(explorer.data["eigenvalues"], 2.5 * one["eigenvalues"], rtol=1e-12)
    assert explorer.data["sigma_max"] == pytest.approx(2.5) and one["sigma_max"] == pytest.approx(1.0)


def test_a_shorter_sequence_is_the_start_of_the_longer_one(explorer):
    explorer.set(cell="gru", hidden_size=8, T=80, seed=4)
    long = explorer.data["states"]
    explorer.set(T=30)
    np.testing.assert_array_equal(explorer.data["states"], long[:30])


def test_gate_bias_control_is_only_live_for_gated_cells_and_says_why(explorer):
    gate = explorer.controls["gate_bias"]
    for cell, live, says in (("tanh", False, "a tanh RNN has no gates"), ("lstm", True, "forget gate"),
                             ("relu", False, "a ReLU RNN has no gates"), ("gru", True, "update gate")):
        explorer.set(cell=cell)
        assert gate.disabled is not live, cell
        # The note under the slider and its tooltip say which gate it sets, or why it is greyed out.
        assert says in explorer.gate_note.value and says in gate.tooltip, (cell, explorer.gate_note.value)


def test_every_control_is_labelled_with_its_setting_name_in_words(explorer):
    """The notebook names the controls by their keywords (`gain_by`): the labels read the same words."""
    for name, control in explorer.controls.items():
        assert re.search(rf"\b{name.replace('_', ' ')}\b", control.description), (name, control.description)
        assert control.tooltip.startswith(f"{name}: "), (name, control.tooltip)


def test_the_preset_menu_names_the_preset_the_settings_are(explorer):
    explorer.preset.value = "exploding"
    explorer.controls["gain"].value = 2.0
    assert explorer.preset.value == "(your own)" and explorer.data["settings"]["gain"] == 2.0
    explorer.controls["gain"].value = PRESETS["exploding"]["gain"]
    assert explorer.preset.value == "exploding"
    explorer.preset.value = "orthogonal linear"
    explorer.set(T=150)
    assert explorer.preset.value == "(your own)"
    assert Explorer(**PRESETS["LSTM with forget bias 1"]).preset.value == "LSTM with forget bias 1"


def test_set_refuses_unknown_settings_and_values_out_of_range(explorer):
    explorer.set(cell="tanh", gain=1.0)
    before = explorer.settings
    with pytest.raises(TypeError, match="unknown setting"):
        explorer.set(hidden=3)
    with pytest.raises(ValueError, match="gain must be between"):
        explorer.set(gain=60.0)
    with pytest.raises(ValueError, match="cell must be one of"):
        explorer.set(cell="transformer")
    assert explorer.settings == before
    with pytest.raises(ValueError, match="preset must be one of"):
        Explorer(preset="vanishing")


def test_constructor_settings_override_the_preset():
    explorer = Explorer(preset="LSTM with forget bias 5", hidden_size=8, T=20)
    assert explorer.data["settings"] == {**DEFAULTS, **PRESETS["LSTM with forget bias 5"], "hidden_size": 8, "T": 20}
    with pytest.raises(ValueError, match="gain must be between"):
        Explorer(gain=50.0)  # the slider would have clipped it to 6 without a word


def test_the_picture_draws_the_computed_data(explorer):
    explorer.set(cell="lstm", hidden_size=12, T=90, gate_bias=2.0)
    data, pictures = explorer.data, explorer._pictures
    np.testing.assert_allclose(pictures.norm_line.get_ydata(), data["log_norms"] / np.log(10))
    np.testing.assert_allclose(pictures.cell_line.get_ydata(), data["log_cell_norms"] / np.log(10))
    np.testing.assert_allclose(pictures.envelope_line.get_ydata(), data["log_envelope"] / np.log(10))
    np.testing.assert_array_equal(pictures.norm_line.get_xdata(), data["k"])
    np.testing.assert_allclose(pictures.eigenvalue_points.get_offsets(),
                               np.column_stack([data["eigenvalues"].real, data["eigenvalues"].imag]))
    np.testing.assert_array_equal(pictures.heatmap.get_array(), data["states"].T)
    assert pictures.horizon_line.get_xdata()[0] == pytest.approx(data["horizon"])
    assert pictures.derivative_bars.get_data().values.sum() == pytest.approx(1.0)


def test_there_is_one_figure_redrawn_in_place(explorer):
    open_before = plt.get_fignums()
    figure, image = explorer.figure, explorer.image
    explorer.set(cell="tanh", T=40, gain=1.0)
    first = explorer.image.value
    explorer.set(gain=1.6)
    assert explorer.figure is figure and explorer.image is image and explorer.image.value != first
    assert plt.get_fignums() == open_before  # pyplot never sees the explorer's figure
    images = [w for w in _descendants(explorer.widget) if isinstance(w, widgets.widgets.Image)]
    assert images == [explorer.image]
    picture = Image.open(io.BytesIO(explorer.image.value))
    assert picture.format == "JPEG" and picture.size == explorer._pictures.canvas.get_width_height()


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


def test_redrawing_over_stored_backgrounds_gives_the_picture_of_a_fresh_figure(explorer):
    """Blitting leaves nothing behind: after other settings, the pixels equal a first drawing's."""
    for config in [dict(cell="sigmoid", T=200, hidden_size=64), dict(cell="linear", init="identity", gain=1.02),
                   dict(cell="lstm", T=35, hidden_size=30, gate_bias=4.0)]:
        explorer.set(**config)
    target = widgets._compute(settings(cell="tanh", T=120, hidden_size=40, gain=1.2))
    explorer._pictures.draw(target)
    reused = np.asarray(explorer._pictures.canvas.buffer_rgba()).copy()
    fresh = widgets._Pictures()
    fresh.draw(target)
    np.testing.assert_array_equal(reused, np.asarray(fresh.canvas.buffer_rgba()))


@pytest.mark.parametrize("config", [dict(cell="sigmoid", gain=6.0, T=200), dict(cell="relu", init="identity", gain=1.3),
                                    dict(cell="lstm", hidden_size=128, T=200, gate_bias=-5.0), dict(cell="linear", T=1)])
def test_each_view_stays_inside_its_own_quarter(config):
    """Backgrounds, titles and legends are stored by quarter: a label reaching into the next quarter
    would be cut off or left behind. Checked with every title and legend any cell gives the view."""
    pictures = widgets._Pictures()
    pictures.draw(widgets._compute(settings(**config)))
    renderer = pictures.canvas.get_renderer()
    for name, ax in pictures.axes.items():
        quarter = pictures.quarters[name]
        for variant, corner in [key[1:] for key in pictures._overlays if key[0] == name]:
            pictures._decorate(name, variant, corner)
            parts = [ax, ax.title, ax.get_legend()] + ([pictures.colourbar.ax] if name == "states" else [])
            extent = Bbox.union([part.get_tightbbox(renderer) for part in parts if part is not None])
            assert (quarter.x0 <= extent.x0 and extent.x1 <= quarter.x1 and quarter.y0 <= extent.y0
                    and extent.y1 <= quarter.y1), f"{name} ({variant}, {corner}): {extent} is not inside {quarter}"


def test_summary_states_the_norm_and_the_normalisation(explorer):
    explorer.set(cell="tanh", gain_by="singular value", gain=0.9)
    assert "largest singular value" in explorer.summary.value and "must vanish" in explorer.summary.value
    explorer.set(gain_by="spectral radius", gain=1.0)
    assert "spectral radius of each recurrent block" in explorer.summary.value
    explorer.set(cell="lstm", gate_bias=5.0)
    assert "horizon" in explorer.summary.value and "149 steps" in explorer.summary.value


# Answer-free, and shown once in a real kernel -------------------------------------------------


def test_widgets_define_no_exercise_function():
    """No function of notebooks 01-04 (02's named here, the others come from the solutions) and no backward pass."""
    from test_release import _graded_function_names

    tree = ast.parse((REPO / "rnnlab" / "widgets.py").read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    graded = _graded_function_names() | NOTEBOOK_02_GRADED
    assert not defined & graded, sorted(defined & graded)
    assert not [name for name in defined if name.endswith("_backward") or name.lstrip("_") == "sigmoid"]


def test_widgets_write_no_derivative_by_hand():
    """The Jacobians come from the forward equations by the complex step: no tanh or sigmoid slope written out
    (1 - h**2, s * (1 - s)), which would hand learners the heart of every backward pass in notebooks 01-04."""
    code = (REPO / "rnnlab" / "widgets.py").read_text()
    slope = re.compile(r"1\s*-\s*[\w\[\]\"]+\s*\*\*\s*2|(\b\w+)\s*\*\s*\(1\s*-\s*\1\)")  # 1 - h ** 2, s * (1 - s)
    assert not [found.group(0) for found in slope.finditer(code)]


def _execute(nb):
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return [output for cell in nb.cells for output in cell.get("outputs", [])]


def test_the_app_notebook_shows_one_widget_and_nothing_else():
    """In a real kernel with the inline backend: one widget view, no extra figure, no warning."""
    nb = nbformat.read(APP, as_version=4)
    assert all(not c.get("outputs") for c in read_notebook(APP)["cells"] if c["cell_type"] == "code"), "committed outputs"
    outputs = _execute(nb)
    assert len(outputs) == 1, outputs
    assert outputs[0]["output_type"] in ("execute_result", "display_data")
    assert set(outputs[0]["data"]) == {"text/plain", "application/vnd.jupyter.widget-view+json"}
