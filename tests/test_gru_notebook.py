"""04's text against 04's own numbers, and its test cells against the ways a learner's function can be shaped wrong.

The solved notebook runs once here (in this process, as nbgrader runs it); each test reads what a cell printed and
holds the sentences about it to those numbers (issue 24: "every sentence about a result is true of the numbers the
learner's own run prints").
"""

import contextlib
import io
import math
import re
import warnings

import numpy as np
import pytest
from conftest import SOLUTIONS, nbgrader_meta, read_notebook, source
from notebook_cells import run_cells, run_notebook

from autograder.catalogue import Mutant
from autograder.examples import solution_namespace
from rnnlab.testing import CheckFailed

NOTEBOOK = SOLUTIONS / "04_gru" / "04_gru.ipynb"
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)
NUMBER = r"(-?[\d.]+(?:e[-+]\d+)?)"


def _cell(cell_id):
    return next(cell for cell in read_notebook(NOTEBOOK)["cells"] if cell.get("id") == cell_id)


def _markdown(cell_id):
    return source(_cell(cell_id))


@pytest.fixture(scope="module")
def printed():
    """{cell id: what the cell printed} for the solved notebook, run top to bottom."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    namespace, out = {"__name__": "__main__"}, {}
    with contextlib.chdir(NOTEBOOK.parent), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "FigureCanvasAgg is non-interactive" from plt.show()
        for cell in read_notebook(NOTEBOOK)["cells"]:
            if cell["cell_type"] != "code":
                continue
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(source(cell), f"<{cell.get('id')}>", "exec"), namespace)
            out[cell.get("id")] = buffer.getvalue()
            plt.close("all")
    return out


# --- memory horizons: one definition, notebook 02's ----------------------------------------------------------------

def test_the_memory_horizon_is_notebook_02s_and_the_text_quotes_the_printed_numbers(printed):
    rows = re.findall(rf"z = {NUMBER}\s*: horizon -1/ln z = \s*{NUMBER} steps, left after 10 steps: {NUMBER}", printed["cell-19"])
    assert len(rows) == 4, printed["cell-19"]
    forget_gate_horizon = solution_namespace(
        SOLUTIONS / "02_vanishing_gradients" / "02_vanishing_gradients.ipynb")["forget_gate_horizon"]
    text = _markdown("cell-18")
    for z, horizon, left in (tuple(map(float, row)) for row in rows):
        assert left == pytest.approx(z ** 10, abs=1e-3)
        if z == 0:
            assert horizon == 0
            continue
        # z is the fraction of h kept per step, as sigmoid(b_f) of the forget gate: the same horizon as 02's
        assert horizon == pytest.approx(float(forget_gate_horizon(math.log(z / (1 - z)))), abs=0.006)
    assert "1.44" in text and "49.5" in text and "9.5" in text  # z = 0.5, 0.98, 0.9 as printed
    assert "1/(1 - z)" not in text and "forget_gate_horizon" in text and re.search(r"notebook\s+02", text)


# --- the write-and-hold picture: what b_z = 1 really does ---------------------------------------------------------

def test_the_write_and_hold_text_says_what_each_bias_does(printed):
    rows = re.findall(rf"^\s*(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} steps\s+{NUMBER}\s+{NUMBER}%$", printed["cell-33"], re.M)
    units = {int(unit): tuple(map(float, rest)) for unit, *rest in rows}
    assert sorted(units) == [0, 5, 11], printed["cell-33"]
    for unit, (b_z, sigma, horizon, _, _) in units.items():
        exact = np.linspace(1, 6, 12)[unit]  # the picture's biases, b_z = 1 for unit 0 to 6 for unit 11
        assert b_z == pytest.approx(exact, abs=6e-3)
        assert sigma == pytest.approx(1 / (1 + math.exp(-exact)), abs=6e-4)
        assert horizon == pytest.approx(-1 / math.log(1 / (1 + math.exp(-exact))), abs=0.06)  # 02's horizon
    text = _markdown("cell-32")
    assert "keeps $z$ close to 1" not in text  # sigma(1) = 0.73 is not close to 1
    assert r"$\sigma(1) \approx 0.73$" in text and round(units[0][1], 2) == 0.73
    assert r"$\sigma(6) \approx 0.998$" in text and round(units[11][1], 3) == 0.998
    assert "about 3 steps" in text and round(units[0][2]) == 3
    assert "about 400 steps" in text and 350 < units[11][2] < 450
    # "only the top units hold it until the next write; the bottom ones lose most of it within a few steps"
    assert units[0][4] < 10 and units[11][4] > 90
    assert units[0][4] < units[5][4] < units[11][4]


# --- the gradient highway ----------------------------------------------------------------------------------------------

def test_the_gradient_highway_text_matches_the_printed_gradients(printed):
    rows = re.findall(rf"b_z = +{NUMBER}: sigmoid\(b_z\) = {NUMBER}; gradient reaching the last input {NUMBER}, "
                      rf"the first \(39 steps back\) {NUMBER}", printed["cell-39"])
    assert len(rows) == 4, printed["cell-39"]
    b_z, sigma, last, first = np.array(rows, dtype=float).T
    assert list(b_z) == [-6, 0, 2, 4]
    assert np.all(np.diff(first) > 0), "the larger b_z, the further back the gradient reaches"
    assert np.all(np.diff(last) < 0), "with a large b_z the last input gets less gradient (b_z = 4 starts lowest)"
    text = _markdown("cell-38")
    assert r"\sigma(b_z) \approx 0.0025" in text and round(sigma[0], 4) == 0.0025
    assert r"$8 \times 10^{-24}$" in text and f"{first[0]:.0e}" == "8e-24"
    assert r"$3 \times 10^{-9}$" in text and f"{first[1]:.0e}" == "3e-09"
    assert "0.04 with\n$b_z = 4$" in text and round(first[3], 2) == 0.04


# --- the other printed results ------------------------------------------------------------------------------------------

def test_the_gradient_check_text_matches_its_tables(printed):
    errors = [float(e) for cell in ("gru_step_backward_gradcheck", "gru_backward_gradcheck")
              for e in re.findall(rf"\)\s+{NUMBER}\s+ok$", printed[cell], re.M)]
    assert len(errors) >= 10 and max(errors) < 2e-10  # "about 1e-10 or less here"
    assert r"below $10^{-7}$ as ok" in _markdown("cell-27") and "< 1e-07?" in printed["gru_step_backward_gradcheck"]


def test_reset_before_and_after_differ_except_with_the_reset_gate_open(printed):
    differ, open_gate = map(float, re.findall(rf": +{NUMBER}$", printed["cell-44"], re.M))
    assert differ > 0.1 and open_gate < 1e-12


def test_the_gru_has_three_quarters_of_the_lstms_parameters(printed):
    assert re.search(r"gru: +[\d,]+ parameters \(75% of the LSTM\)", printed["cell-49"])
    assert "three quarters of the LSTM's parameters" in _markdown("cell-48")


# --- count_parameters: the visible test asks for the ValueError the text asks for ---------------------------------

def _visible_test(grade_id):
    cell = next(c for c in read_notebook(NOTEBOOK)["cells"] if nbgrader_meta(c).get("grade_id") == grade_id)
    return HIDDEN_BLOCK.sub("", source(cell))


@pytest.mark.parametrize("unknown_cell, said", [
    ("return 0", "returned 0, but only 'rnn', 'lstm' and 'gru' are known"),
    ("return blocks[cell] * 0", "raised KeyError: 'transformer'. An unknown cell name should raise a ValueError"),
])
def test_the_visible_count_parameters_test_needs_the_value_error(unknown_cell, said):
    _, namespace = run_notebook(NOTEBOOK)
    reference = namespace["count_parameters"]
    assert "ValueError" in _markdown("cell-45")

    def count_parameters(cell, D, H):
        if cell not in ("rnn", "lstm", "gru"):
            return eval(unknown_cell.removeprefix("return "), {"blocks": {"rnn": 1}, "cell": cell})
        return reference(cell, D, H)

    code = _visible_test("count_parameters_example")
    exec(compile(code, "<count_parameters_example>", "exec"), {**namespace, "count_parameters": reference})
    with pytest.raises(CheckFailed, match=re.escape(said)):
        exec(compile(code, "<count_parameters_example>", "exec"), {**namespace, "count_parameters": count_parameters})


# --- a function that returns the wrong number of values is told so -----------------------------------------------

WRONG_RETURNS = [
    (Mutant("gru_gates", "returned one array", "", "return r, z", "return gates"), "gru_gates should return 2 values, (r, z)",
     ["gru_gates_shapes", "gru_gates_example"]),
    (Mutant("gru_step_forward", "returned only next_h", "", "return next_h, cache", "return next_h"),
     "gru_step_forward should return 2 values, (next_h, cache)", ["gru_step_forward_shapes", "gru_step_forward_example"]),
    (Mutant("gru_step_backward", "forgot db", "", "return dx, dprev_h, dWx, dWh, db", "return dx, dprev_h, dWx, dWh"),
     "gru_step_backward should return 5 values, (dx, dprev_h, dWx, dWh, db), but it returned 4 values",
     ["gru_step_backward_example"]),
    (Mutant("gru_forward", "returned only h", "", "return h, cache", "return h"),
     "gru_forward should return 2 values, (h, cache)", ["gru_forward_example", "gru_backward_example"]),
    (Mutant("gru_backward", "forgot db", "", "return dx, dprev_h, dWx, dWh, db", "return dx, dprev_h, dWx, dWh"),
     "gru_backward should return 5 values, (dx, dh0, dWx, dWh, db), but it returned 4 values", ["gru_backward_example"]),
]


@pytest.mark.parametrize("mistake, said, cells", WRONG_RETURNS, ids=[m.function for m, _, _ in WRONG_RETURNS])
def test_a_function_that_returns_the_wrong_number_of_values_is_told_so(mistake, said, cells):
    results = run_cells(NOTEBOOK, mistake)
    for grade_id in cells:
        assert results[grade_id] is not None and said in results[grade_id], (grade_id, results[grade_id])
