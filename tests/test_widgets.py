"""Tests for rnnlab.widgets, the vanishing-gradient explorer: its presets against what they claim,
and its controls by setting them from Python and checking what was computed and drawn. Its numbers
are tested in test_gradient_flow.py, its figure in test_gradient_pictures.py."""

import ast
import dataclasses
import re
import resource
import sys
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import ipywidgets  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import REPO, read_notebook  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from PIL import Image  # noqa: E402

from rnnlab import gradient_flow  # noqa: E402
from rnnlab.gradient_flow import CELL_KINDS, DEFAULTS, compute  # noqa: E402
from rnnlab.widgets import PRESETS, Explorer  # noqa: E402

APP = REPO / "apps" / "explorer.ipynb"
# Notebook 02's graded functions (its source notebook may not exist yet: named here).
NOTEBOOK_02_GRADED = {"rnn_step_jacobian", "gradient_norms_through_time", "clip_gradients", "forget_gate_horizon"}
# The explorer's three modules: its numbers, its figure and its controls.
EXPLORER_MODULES = ("gradient_flow", "gradient_pictures", "widgets")


@pytest.fixture(scope="module")
def explorer():
    """One explorer for the widget tests (building one draws every title and legend: about half a second)."""
    return Explorer()


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
    forget = 1 / (1 + np.exp(-1.0))  # sigmoid(b_f), b_f = 1
    assert bias_1["horizon"] == pytest.approx(-1 / np.log(forget)) and bias_1["norms"][-1] < 1e-10
    assert bias_5["horizon"] > 140 and bias_5["norms"][-1] > 1e-2 and bias_5["cell_path_norms"][-1] > 1e-2


@pytest.mark.parametrize("seed", range(5))
def test_lstm_presets_show_what_notebook_02s_written_answer_says(seed):
    """The model answer to 02's written question 2 quotes these numbers for seeds 0 to 4 (k = 77 and k = 200)."""
    bias_1 = compute({**DEFAULTS, **PRESETS["LSTM with forget bias 1"], "seed": seed})
    bias_5 = compute({**DEFAULTS, **PRESETS["LSTM with forget bias 5"], "seed": seed})
    at_77 = list(bias_1["k"]).index(77)
    # bias 1: the cell path falls like sigmoid(1)**k, a little faster; the whole gradient almost as fast
    assert 1e-13 < bias_1["cell_path_norms"][at_77] < 1e-9
    assert 1e-33 < bias_1["cell_path_norms"][-1] < 1e-29 and bias_1["cell_path_norms"][-1] < bias_1["envelope"][-1]
    assert 1e-25 < bias_1["norms"][-1] < 1e-22
    # bias 5: the cell path close to sigmoid(5)**200 = 0.26, the whole gradient grows
    assert np.all(bias_5["cell_path_norms"] <= 1) and 0.18 < bias_5["cell_path_norms"][-1] < 0.28
    assert 15 < bias_5["norms"][-1] < 70 and np.all(np.diff(bias_5["norms"][3:]) > 0)


@pytest.mark.parametrize("seed", range(5))
def test_exploding_preset_grows_slower_with_larger_inputs_as_notebook_02_says(seed):
    """02: raise input scale to 1, 2, 3: more units saturate (about 40% to 65% of the slopes below 0.1), the growth
    slows, by ten orders of magnitude or more at 3."""
    preset = {**DEFAULTS, **PRESETS["exploding"], "seed": seed}
    runs = [compute({**preset, "input_scale": scale}) for scale in (0.1, 1, 2, 3)]
    ends = [data["norms"][-1] for data in runs]
    saturated = [np.mean(data["derivatives"] < 0.1) for data in runs]
    assert ends[0] > 1e8 and np.all(np.diff(np.log(ends)) < 0) and ends[0] > 1e10 * ends[-1], ends
    assert 0.35 < saturated[0] < 0.45 and np.all(np.diff(saturated) > 0) and 0.6 < saturated[-1] < 0.7, saturated


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
    assert long["cell_path_norms"][-1] > 1e6 * short["cell_path_norms"][-1]
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


def test_the_gate_bias_of_a_cell_without_gates_computes_and_draws_nothing_but_a_gated_cell_recomputes(
        explorer, monkeypatch):
    """Results are cached without the gate bias for cells that have no gate: moving its slider neither computes nor
    draws, the data still carry the slider's value, and a gated cell, or any other control, computes anew."""
    import rnnlab.widgets as widgets_module

    explorer.set(cell="tanh", hidden_size=12, T=30, gate_bias=1.0, seed=6)
    calls = []
    monkeypatch.setattr(widgets_module, "compute", lambda settings: calls.append(settings) or compute(settings))
    before, image = explorer.data, explorer.image.value
    explorer.controls["gate_bias"].value = 3.0
    assert calls == [] and explorer.image.value is image
    assert explorer.data["settings"] == explorer.settings and explorer.data["settings"]["gate_bias"] == 3.0
    np.testing.assert_array_equal(explorer.data["norms"], before["norms"])
    explorer.controls["gain"].value = 1.3
    assert len(calls) == 1 and explorer.image.value is not image
    explorer.set(cell="gru", gate_bias=1.0)
    gru = explorer.data
    explorer.controls["gate_bias"].value = 3.0
    assert len(calls) == 3 and explorer.data["settings"]["gate_bias"] == 3.0
    assert not np.allclose(explorer.data["gates"], gru["gates"])
    np.testing.assert_array_equal(explorer.data["norms"], compute(explorer.settings)["norms"])


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


def test_the_cells_offered_are_the_rows_of_the_table_of_cell_kinds(explorer):
    assert explorer.controls["cell"].options == tuple(CELL_KINDS)
    assert {settings["cell"] for settings in PRESETS.values()} <= set(CELL_KINDS)


def test_a_new_row_of_the_table_is_offered_shown_and_computed(monkeypatch):
    """A kind added to gradient_flow.CELL_KINDS alone (here the sigmoid cell under a new name) is a button, is named
    in the summary and the gate note, and gives the numbers of the cell it copies: nothing else lists the cells."""
    monkeypatch.setitem(gradient_flow.CELL_KINDS, "copy", dataclasses.replace(CELL_KINDS["sigmoid"], label="copied RNN"))
    explorer = Explorer(cell="copy", hidden_size=8, T=30)
    assert explorer.controls["cell"].options[-1] == "copy"
    assert "<b>copied RNN</b>" in explorer.summary.value and "a copied RNN has no gates" in explorer.gate_note.value
    sigmoid = compute({**explorer.settings, "cell": "sigmoid"})
    np.testing.assert_array_equal(explorer.data["norms"], sigmoid["norms"])
    assert explorer.data["rate"] == sigmoid["rate"] and explorer.controls["gate_bias"].disabled


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
    data, pictures = explorer.data, explorer.pictures
    np.testing.assert_allclose(pictures.norm_line.get_ydata(), data["log_norms"] / np.log(10))
    np.testing.assert_allclose(pictures.cell_line.get_ydata(), data["log_cell_path_norms"] / np.log(10))
    np.testing.assert_allclose(pictures.envelope_line.get_ydata(), data["log_envelope"] / np.log(10))
    np.testing.assert_array_equal(pictures.norm_line.get_xdata(), data["k"])
    np.testing.assert_allclose(pictures.eigenvalue_points.get_xydata(),
                               np.column_stack([data["eigenvalues"].real, data["eigenvalues"].imag]))
    # The heatmap holds the states in its colours (RGBA bytes), painted where matplotlib draws each cell.
    heatmap = pictures.heatmap
    np.testing.assert_array_equal(heatmap.get_array(), heatmap.cmap(heatmap.norm(data["states"].T), bytes=True))
    assert pictures.horizon_line.get_xdata()[0] == pytest.approx(data["horizon"])
    assert pictures.derivative_bars.get_data().values.sum() == pytest.approx(1.0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_move_reuses_freed_memory_instead_of_faulting_in_new_pages():
    """Each move of the LSTM at H = 64, T = 200 allocates about 20 MB of new arrays; with glibc's defaults their pages
    were handed back and faulted in again, about 2,200 page faults a move (several ms). The explorer has malloc keep
    freed memory for reuse (widgets._reuse_freed_memory)."""
    explorer = Explorer(cell="lstm", hidden_size=64, T=200)
    faults = []
    for gain in (0.6, 0.7, 0.8, 0.9, 1.1, 1.2):
        gradient_flow._SEQUENCES.clear()  # every move computes its sequence anew
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        explorer.set(gain=gain)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert max(faults[2:]) < 200, f"page faults per move: {faults}"


@pytest.mark.parametrize("cell, hidden_size, T", [("tanh", 64, 200), ("lstm", 1, 1), ("linear", 128, 199),
                                                  ("relu", 37, 13), ("gru", 9, 101), ("sigmoid", 100, 7)])
def test_the_painted_heatmap_is_the_pixels_matplotlib_draws(cell, hidden_size, T):
    """The heatmap is painted from its cells' colours onto the pixels where matplotlib draws each cell (found once per
    shape): the view's pixels are those of matplotlib drawing the states as numbers, over the same background."""
    from rnnlab.gradient_pictures import Pictures

    pictures = Pictures()
    for shape in [(hidden_size + 3, T + 5), (hidden_size, T)]:  # another shape's map first
        data = compute({**DEFAULTS, "cell": cell, "hidden_size": shape[0], "T": shape[1]})
        pictures.draw(data)
    ax, canvas = pictures.axes["states"], pictures.canvas
    box = ax.bbox
    rows, columns = slice(528 - int(np.ceil(box.y1)) - 2, 528 - int(box.y0) + 2), slice(int(box.x0) - 2, int(box.x1) + 2)
    painted = np.asarray(canvas.buffer_rgba())[rows, columns].copy()
    for region in pictures._background("states", pictures._view_limits(data)["states"]):
        canvas.restore_region(region)
    pictures.heatmap.set_data(data["states"].T)
    ax.draw_artist(pictures.heatmap)
    np.testing.assert_array_equal(painted, np.asarray(canvas.buffer_rgba())[rows, columns])


def test_there_is_one_figure_redrawn_in_place(explorer):
    open_before = plt.get_fignums()
    figure, image = explorer.figure, explorer.image
    explorer.set(cell="tanh", T=40, gain=1.0)
    first = explorer.image.value
    explorer.set(gain=1.6)
    assert explorer.figure is figure and explorer.image is image and explorer.image.value != first
    assert plt.get_fignums() == open_before  # pyplot never sees the explorer's figure
    images = [w for w in _descendants(explorer.widget) if isinstance(w, ipywidgets.Image)]
    assert images == [explorer.image]
    picture = Image.open(io.BytesIO(explorer.image.value))
    assert picture.format == "JPEG" and picture.size == explorer.pictures.canvas.get_width_height()


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)



def test_summary_states_the_norm_and_the_normalisation(explorer):
    explorer.set(cell="tanh", gain_by="singular value", gain=0.9)
    assert "largest singular value" in explorer.summary.value and "must vanish" in explorer.summary.value
    explorer.set(gain_by="spectral radius", gain=1.0)
    assert "spectral radius of each recurrent block" in explorer.summary.value
    explorer.set(cell="lstm", gate_bias=5.0)
    assert "horizon" in explorer.summary.value and "149 steps" in explorer.summary.value
    assert "cell state alone" in explorer.summary.value


def test_summary_calls_a_bound_that_prints_as_one_about_one(explorer):
    """Gain 1 by singular value gives gamma sigma_max = 0.9999999999999998: neither "below 1" nor "must vanish"."""
    explorer.set(cell="tanh", gain_by="singular value", gain=1.0)
    assert explorer.data["rate"] != 1.0  # rounding: the case this test is about
    summary = explorer.summary.value
    assert "= 1.00, about 1" in summary and "below 1" not in summary and "must vanish" not in summary
    explorer.set(gain=0.95)
    assert "= 0.950, below 1, so the gradient must vanish" in explorer.summary.value
    explorer.set(gain=1.05)
    assert "= 1.05, above 1, so the bound allows growth" in explorer.summary.value


# Answer-free, and shown once in a real kernel -------------------------------------------------


@pytest.mark.parametrize("module", EXPLORER_MODULES)
def test_explorer_defines_no_exercise_function(module):
    """No function of notebooks 01-04 (02's named here, the others come from the solutions) and no backward pass."""
    from notebook_cells import graded_function_names

    tree = ast.parse((REPO / "rnnlab" / f"{module}.py").read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    graded = graded_function_names() | NOTEBOOK_02_GRADED
    assert not defined & graded, sorted(defined & graded)
    assert not [name for name in defined if name.endswith("_backward") or name.lstrip("_") == "sigmoid"]


@pytest.mark.parametrize("module", EXPLORER_MODULES)
def test_explorer_writes_no_derivative_by_hand(module):
    """The Jacobians come from the forward equations by the complex step: no tanh or sigmoid slope written out
    (1 - h**2, s * (1 - s)), which would hand learners the heart of every backward pass in notebooks 01-04."""
    code = (REPO / "rnnlab" / f"{module}.py").read_text()
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
