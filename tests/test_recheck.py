"""autograder.recheck: every test cell that passed is checked again on fresh inputs, judged outside the kernel.

The reference is a solution notebook's own functions (autograder.examples.solution_namespace); a learner
is a notebook's functions with one of them rewritten here, as a learner's cell would define it. Where the
kernel's side matters, it runs in another Python process that cannot import the grader, as in the sandbox.
That the re-check takes no point a mistake's test cells give is proved in tests/test_mistakes.py, on every
catalogued mistake (it runs every notebook once per mistake anyway).
"""

import contextlib
import inspect
import io
import json
import pickle
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from conftest import SOLUTIONS, nbgrader_meta, read_notebook, source
from nbgrader.utils import determine_grade

from autograder import recheck
from autograder.catalogue import Catalogue
from autograder.examples import catalogues, solution_namespace

RNN = SOLUTIONS / "01_rnn" / "01_rnn.ipynb"


@pytest.fixture(scope="module")
def rnn():
    """01_rnn's catalogue, the reference solution's namespace, and its test cells' sources by grade_id."""
    cells = {nbgrader_meta(cell)["grade_id"]: source(cell) for cell in read_notebook(RNN)["cells"]
             if nbgrader_meta(cell).get("grade") and cell["cell_type"] == "code"}
    return catalogues()["rnn"], solution_namespace(RNN), cells


def _learner(reference, code):
    """The reference namespace with the functions of ``code``, a learner's cell, defined over it."""
    namespace = dict(reference)
    exec(code, namespace)
    return namespace


def _verdicts(catalogue, namespace, reference, cells, seed=0):
    """{grade_id: [reason per probe]} for the learner's functions in ``namespace``, answered in this process."""
    tasks = recheck.plan(catalogue, list(cells), reference, np.random.default_rng(seed))
    arrays, errors = recheck.answer(namespace, [task for cell in tasks.values() for task in cell])
    return {cell: [recheck.judge(task, arrays, errors, reference) for task in cell_tasks]
            for cell, cell_tasks in tasks.items()}


def _cell_passes(namespace, code):
    """Whether a test cell's code (hidden tests included) passes in ``namespace``, as in the learner's kernel."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, dict(namespace))
    except Exception:  # noqa: BLE001 - a failing cell is what we look for
        return False
    return True


# which probes a test cell gets ---------------------------------------------------------------------------


def test_a_cell_belongs_to_the_longest_function_name_it_starts_with():
    functions = {example.function for example in catalogues()["gru"].examples}
    assert recheck.function_of("gru_step_forward_reset_after_example", functions) == "gru_step_forward_reset_after"
    assert recheck.function_of("gru_step_forward_shapes", functions) == "gru_step_forward"
    assert recheck.function_of("mean_baseline_mse_example", functions) is None


def test_each_test_cell_gets_the_probe_its_name_asks_for(rnn):
    catalogue, reference, cells = rnn
    assert len(cells) >= 8
    for grade_id, code in cells.items():
        probes = recheck.probes_for(catalogue, grade_id)
        kind = ("gradients" if grade_id.endswith("_gradcheck") else
                "shapes" if grade_id.endswith(("_shape", "_shapes")) else "values")
        assert [probe.kind for probe in probes] == [kind], grade_id
        if kind == "gradients":  # the pair the cell checks, called with the forward pass's own arguments
            probe = probes[0]
            assert f"check_gradients_match({probe.forward}, {probe.backward}," in code, grade_id
            inputs = probe.inputs(np.random.default_rng(0))
            assert list(inputs) == list(inspect.signature(reference[probe.forward]).parameters), grade_id


def test_a_cell_checks_the_example_named_like_it_else_the_one_named_like_its_function():
    catalogue = catalogues()["vanishing"]
    example = {e.name: e for e in catalogue.examples}
    # gradient_norms_through_time also has three demo examples: its test cell checks only its own
    [probe] = recheck.probes_for(catalogue, "gradient_norms_through_time_example")
    assert probe.inputs is example["gradient_norms_through_time"].inputs
    [probe] = recheck.probes_for(catalogue, "clip_gradients_below_max_norm")
    assert probe.inputs is example["clip_gradients_below_max_norm"].inputs
    [probe] = recheck.probes_for(catalogue, "clip_gradients_example")
    assert probe.inputs is example["clip_gradients"].inputs


def test_the_catalogues_own_probes_replace_the_default_and_an_unknown_cell_has_none(rnn):
    setup = catalogues()["setup"]
    assert recheck.probes_for(setup, "mean_baseline_mse_adding") == setup.probes["mean_baseline_mse_adding"]
    assert recheck.probes_for(setup, "mean_baseline_mse_adding")[0].atol == 0.01  # as loose as its cell, no looser
    catalogue, _, _ = rnn
    assert recheck.probes_for(catalogue, "my_own_test_of_rnn") == []


# fresh inputs ---------------------------------------------------------------------------------------------


def test_every_plan_draws_new_inputs_unlike_the_published_worked_examples(rnn):
    catalogue, reference, cells = rnn
    first, second = (recheck.plan(catalogue, list(cells), reference) for _ in range(2))  # drawn as the grader draws
    tasks = [task for cell in first.values() for task in cell]
    assert len({task.key for task in tasks}) == len(tasks)
    published = {example.name: example.inputs(np.random.default_rng(example.seed)) for example in catalogue.examples}
    for grade_id in cells:
        for task, other in zip(first[grade_id], second[grade_id], strict=True):
            for name, value in task.inputs.items():
                assert not np.array_equal(value, other.inputs[name]), f"{grade_id}: {name} drawn the same twice"
                for worked in published.values():  # a learner who hard-codes reference.json gains nothing
                    assert name not in worked or not np.array_equal(value, worked[name]), f"{grade_id}: {name}"


def test_gradient_tasks_get_an_upstream_gradient_per_forward_output():
    catalogue = catalogues()["lstm"]
    reference = solution_namespace(SOLUTIONS / "03_lstm" / "03_lstm.ipynb")
    [task] = recheck.plan(catalogue, ["lstm_step_backward_gradcheck"], reference)["lstm_step_backward_gradcheck"]
    next_h, next_c, _ = reference["lstm_step_forward"](**task.inputs)
    assert [dout.shape for dout in task.douts] == [next_h.shape, next_c.shape]


# judged here, on the reference's outputs -------------------------------------------------------------------


def test_the_reference_solution_passes_every_recheck(rnn):
    catalogue, reference, cells = rnn
    assert _verdicts(catalogue, reference, reference, cells) == {cell: [""] for cell in cells}


def test_a_function_right_only_on_the_published_worked_example_loses_its_points(rnn):
    catalogue, reference, cells = rnn
    worked = json.loads((RNN.parent / "reference.json").read_text())["affine_forward"]
    learner = _learner(reference, (
        f"_worked = {json.dumps(worked)}\n"
        "def affine_forward(x, W, b):\n"
        "    if np.allclose(x, _worked['inputs']['x']):\n"
        "        return np.array(_worked['expected']['out']), (x, W)\n"
        "    return x @ W, (x, W)\n"))
    example = next(e for e in catalogue.examples if e.name == "affine_forward")
    shown = example.run(learner, **{name: np.array(value) for name, value in worked["inputs"].items()})
    assert np.array_equal(shown["out"], worked["expected"]["out"])  # the cell's public test passes
    verdicts = _verdicts(catalogue, learner, reference, cells)
    assert verdicts.pop("affine_forward_example") == ["affine_forward on new inputs: out is not the right answer"]
    assert all(reasons == [""] for reasons in verdicts.values()), verdicts


@pytest.mark.parametrize(("factor", "right"), [(1 + 1e-9, True), (1 + 1e-4, False), (-1, False)])
def test_values_must_agree_within_the_probes_tolerance(rnn, factor, right):
    catalogue, reference, _ = rnn
    [task] = recheck.plan(catalogue, ["rnn_forward_example"], reference)["rnn_forward_example"]
    arrays, errors = recheck.answer(reference, [task])
    arrays = {name: value * factor for name, value in arrays.items()}
    assert (recheck.judge(task, arrays, errors, reference) == "") is right


def test_a_shapes_cell_asks_for_shapes_only_and_a_missing_output_is_wrong(rnn):
    catalogue, reference, cells = rnn
    zeros = _learner(reference, "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                                "    return np.zeros((x.shape[0], Wh.shape[0])), None\n")
    transposed = _learner(reference, "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                                     "    return np.zeros((Wh.shape[0], x.shape[0])), None\n")
    assert _cell_passes(zeros, cells["rnn_step_forward_shapes"])
    assert _verdicts(catalogue, zeros, reference, ["rnn_step_forward_shapes", "rnn_step_forward_example"]) == {
        "rnn_step_forward_shapes": [""],
        "rnn_step_forward_example": ["rnn_step_forward on new inputs: next_h is not the right answer"]}
    assert _verdicts(catalogue, transposed, reference, ["rnn_step_forward_shapes"]) == {
        "rnn_step_forward_shapes": ["rnn_step_forward on new inputs: next_h is missing or has the wrong shape"]}
    [task] = recheck.plan(catalogue, ["rnn_step_forward_shapes"], reference)["rnn_step_forward_shapes"]
    assert recheck.judge(task, {}, {}, reference) == ("rnn_step_forward on new inputs: "
                                                     "next_h is missing or has the wrong shape")


def test_an_error_fails_its_own_tasks_only(rnn):
    catalogue, reference, cells = rnn
    learner = _learner(reference, "def affine_forward(x, W, b):\n    raise SystemExit('no')\n")
    verdicts = _verdicts(catalogue, learner, reference, cells)
    assert verdicts.pop("affine_forward_example") == ["calling affine_forward on new inputs raised SystemExit: no"]
    # affine_backward's probe calls affine_forward for its cache: it fails too, and nothing else does
    assert verdicts.pop("affine_backward_example")[0].startswith("calling affine_backward on new inputs raised")
    assert all(reasons == [""] for reasons in verdicts.values()), verdicts


def test_a_function_that_changes_its_inputs_does_not_change_what_it_is_judged_against(rnn):
    catalogue, reference, _ = rnn
    learner = _learner(reference, "def affine_forward(x, W, b):\n"
                                  "    out = x @ W + b\n"
                                  "    x[...], W[...], b[...] = 0, 0, 0\n"
                                  "    return out, (x, W)\n")
    [task] = recheck.plan(catalogue, ["affine_forward_example"], reference)["affine_forward_example"]
    drawn = {name: value.copy() for name, value in task.inputs.items()}
    arrays, errors = recheck.answer(learner, [task])
    assert all(np.array_equal(task.inputs[name], value) for name, value in drawn.items())
    assert recheck.judge(task, arrays, errors, reference) == ""


# gradients: against finite differences of the learner's own forward pass ---------------------------------

STEP_BACKWARD_DB_AVERAGED = """
def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.mean(axis=0)
"""
# a forward pass without its bias, and the backward pass of that forward pass: db is 0
STEP_WITHOUT_BIAS = """
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh)
    return next_h, (x, prev_h, Wx, Wh, next_h)

def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, np.zeros(Wh.shape[0])
"""


def test_a_wrong_backward_pass_fails_its_gradient_recheck_as_it_fails_its_cell(rnn):
    catalogue, reference, cells = rnn
    learner = _learner(reference, STEP_BACKWARD_DB_AVERAGED)
    assert not _cell_passes(learner, cells["rnn_step_backward_gradcheck"])
    [reason] = _verdicts(catalogue, learner, reference, ["rnn_step_backward_gradcheck"])["rnn_step_backward_gradcheck"]
    assert reason == ("rnn_step_backward against finite differences of rnn_step_forward, on new inputs: "
                      "db does not agree with finite differences")


def test_a_gradient_recheck_asks_no_more_than_its_cell(rnn):
    """The cell differentiates the learner's own forward pass: a backward pass right for a wrong forward pass
    keeps the gradient check's points, and the forward pass loses its own."""
    catalogue, reference, cells = rnn
    learner = _learner(reference, STEP_WITHOUT_BIAS)
    assert _cell_passes(learner, cells["rnn_step_backward_gradcheck"])
    verdicts = _verdicts(catalogue, learner, reference, ["rnn_step_backward_gradcheck", "rnn_step_forward_example"])
    assert verdicts["rnn_step_backward_gradcheck"] == [""]
    assert verdicts["rnn_step_forward_example"] == ["rnn_step_forward on new inputs: next_h is not the right answer"]


def _forged(arrays, task):
    """What a kernel that rewrites its answer can send: zero gradients, and finite differences that agree (none)."""
    forged = dict(arrays)
    for index, (name, value) in enumerate(task.inputs.items()):
        forged[f"{task.key}/grad{index}"] = np.zeros(value.shape)
        for k in range(len(task.douts)):
            forged[f"{task.key}/{name}/minus{k}"] = forged[f"{task.key}/{name}/plus{k}"]
    return forged


def test_gradients_and_differences_the_kernel_forges_together_do_not_pass(rnn):
    """A right forward pass is differenced here, from the reference: numbers from the kernel cannot stand in."""
    catalogue, reference, cells = rnn
    tasks = recheck.plan(catalogue, ["rnn_step_backward_gradcheck"], reference, np.random.default_rng(3))
    [task] = tasks["rnn_step_backward_gradcheck"]
    honest, errors = recheck.answer(reference, [task])
    assert recheck.judge(task, honest, errors, reference) == ""
    assert "does not agree with finite differences" in recheck.judge(task, _forged(honest, task), errors, reference)
    # claiming a wrong forward pass here (so that the kernel's differences count), while the forward pass's own
    # re-check found it right, is caught too
    lying = {**_forged(honest, task), f"{task.key}/out0": honest[f"{task.key}/out0"] + 1.0}
    assert recheck.judge(task, lying, errors, reference, forward_right=None) == ""  # alone, it cannot be told
    assert "gave other outputs here" in recheck.judge(task, lying, errors, reference, forward_right=True)


@pytest.mark.parametrize("dropped", ["plus", "minus"])
def test_a_kernel_answer_without_its_shifted_outputs_fails_the_recheck_without_an_error(rnn, dropped):
    """A broken or hostile kernel can leave out the forward pass at x + h or x - h: the re-check says so."""
    catalogue, reference, cells = rnn
    learner = _learner(reference, STEP_WITHOUT_BIAS)  # a wrong forward pass: its differences come from the kernel
    tasks = recheck.plan(catalogue, ["rnn_step_backward_gradcheck"], reference, np.random.default_rng(4))
    [task] = tasks["rnn_step_backward_gradcheck"]
    arrays, errors = recheck.answer(learner, [task])
    assert recheck.judge(task, arrays, errors, reference) == ""
    name = next(iter(task.inputs))
    partial = {key: value for key, value in arrays.items() if key != f"{task.key}/{name}/{dropped}0"}
    assert recheck.judge(task, partial, errors, reference) == (
        "rnn_step_backward against finite differences of rnn_step_forward, on new inputs: "
        "the forward pass did not give outputs of a fixed shape")


# outcomes: judged by the catalogue's check, here --------------------------------------------------------

def _doubled(inputs, outputs):
    return "" if np.allclose(outputs["y"], 2 * inputs["x"]) else "not doubled"


DOUBLES = recheck.Probe("outcome", "your doubler on new numbers", lambda rng: {"x": rng.normal(size=5)},
                       lambda ns, x: {"y": ns["double"](x)}, check=_doubled)
OUTCOMES = Catalogue(notebook="", depends={}, examples=[], probes={"doubles": [DOUBLES]})


@pytest.mark.parametrize(("code", "reason"), [
    ("def double(x):\n    return 2 * x\n", ""),
    ("def double(x):\n    return 3 * x\n", "not doubled"),
    # zeroing its input, then doubling it: judged on the inputs drawn here, not on what the kernel left of them
    ("def double(x):\n    x[...] = 0\n    return 2 * x\n", "not doubled"),
])
def test_an_outcome_is_judged_here_without_a_reference(code, reason):
    [task] = recheck.plan(OUTCOMES, ["doubles"], reference=None)["doubles"]
    namespace = {}
    exec(code, namespace)
    assert recheck.judge(task, *recheck.answer(namespace, [task]), reference=None) == reason


def test_the_kernel_gets_neither_input_makers_nor_outcome_checks(rnn, tmp_path):
    catalogue, reference, cells = rnn
    tasks = recheck.plan(catalogue, list(cells), reference)
    every = [task for cell in tasks.values() for task in cell] + recheck.plan(OUTCOMES, ["doubles"], None)["doubles"]
    recheck.write_tasks(tmp_path / "tasks.pkl", every, np.arange(3.0))
    with open(tmp_path / "tasks.pkl", "rb") as handle:
        answer, shipped, canary = pickle.load(handle)
    assert callable(answer) and np.array_equal(canary, np.arange(3.0))
    assert [task.key for task in shipped] == [task.key for task in every]
    for task, kept in zip(shipped, every):
        assert task.probe.inputs is None and task.probe.check is None
        assert all(np.array_equal(value, kept.inputs[name]) for name, value in task.inputs.items())
        assert kept.probe.inputs is not None  # the grader's own tasks are not changed
    assert every[-1].probe.check is DOUBLES.check


# the kernel's side: another process, which cannot import the grader -------------------------------------

KERNEL = """
import sys
sys.modules["autograder"] = None  # as in the sandbox: autograder/ is not there
namespace = {"__name__": "__main__"}
exec(open(sys.argv[1]).read(), namespace)  # the learner's cells
exec(open(sys.argv[2]).read(), namespace)  # the cell the grader appends
"""
# what a cheat does in its kernel to make every test cell pass: none of it reaches the judge
CHEATS = """
import builtins
np.allclose = np.isclose = np.all = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
builtins.abs = lambda value: 0.0
check_close = check_shape = check_outputs = check_gradients_match = lambda *args, **kwargs: None
print("all tests passed")
"""


def _solution_cells(replace=None):
    """The code of 01_rnn's solution cells, as a learner who solved them submits it, some replaced."""
    cells = [source(cell) for cell in read_notebook(RNN)["cells"] if nbgrader_meta(cell).get("solution")]
    for old, new in (replace or {}).items():
        cells = [new if cell.startswith(f"def {old}(") else cell for cell in cells]
    return "import numpy as np\n\n" + "\n\n".join(cells)


def _in_kernel(tmp_path, code, tasks, canary):
    """Run ``code`` and then the grader's probe cell in a new process; return what the grader reads back."""
    every = [task for cell in tasks.values() for task in cell]
    recheck.write_tasks(tmp_path / "tasks.pkl", every, canary)
    (tmp_path / "learner.py").write_text(code)
    (tmp_path / "probe.py").write_text(recheck.kernel_cell(str(tmp_path / "tasks.pkl"), str(tmp_path / "answer.npz")))
    run = subprocess.run([sys.executable, "-c", KERNEL, "learner.py", "probe.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return recheck.read_answer(tmp_path / "answer.npz", canary)


@pytest.mark.parametrize("learner", ["honest", "cheat"])
def test_what_the_kernel_sends_back_is_judged_here(rnn, tmp_path, learner):
    catalogue, reference, cells = rnn
    code = _solution_cells()
    if learner == "cheat":  # affine_forward without its bias, and every check disabled in the kernel
        code = _solution_cells({"affine_forward": "def affine_forward(x, W, b):\n    return x @ W, (x, W)\n"}) + CHEATS
    tasks = recheck.plan(catalogue, list(cells), reference, np.random.default_rng(3))
    canary = np.random.default_rng(4).standard_normal(7)
    answer = _in_kernel(tmp_path, code, tasks, canary)
    assert answer is not None
    wrong = {cell: reasons for cell, cell_tasks in tasks.items()
             if any(reasons := [recheck.judge(task, *answer, reference) for task in cell_tasks])}
    assert wrong == ({} if learner == "honest" else
                     {"affine_forward_example": ["affine_forward on new inputs: out is not the right answer"]})


def test_an_answer_the_grader_did_not_ask_for_is_no_answer(tmp_path):
    canary = np.array([0.25, -1.5, 3.0])
    errors = np.array(json.dumps({"t1": "ValueError: no"}))
    answer = tmp_path / "answer.npz"
    assert recheck.read_answer(answer, canary) is None  # the notebook stopped before the probe cell
    np.savez(answer, **{"t0/out": np.ones(2)}, canary=canary, errors=errors)
    arrays, errs = recheck.read_answer(answer, canary)
    assert set(arrays) == {"t0/out"} and errs == {"t1": "ValueError: no"}
    # written by someone who did not read this run's tasks: an earlier run, or the learner's own code
    for forged in ({"canary": canary + 1}, {"canary": canary[:2]}, {}):
        np.savez(answer, **{"t0/out": np.ones(2)}, errors=errors, **forged)
        assert recheck.read_answer(answer, canary) is None, forged
    np.savez(answer, **{"t0/out": np.ones(2)}, canary=canary)  # no errors entry
    assert recheck.read_answer(answer, canary) is None


class _Payload:
    """Unpickled, it creates a file: what a kernel could send to run its code in the grader."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_an_answer_is_read_without_unpickling_anything(tmp_path):
    canary = np.array([0.25, -1.5, 3.0])
    answer, ran = tmp_path / "answer.npz", tmp_path / "ran-in-the-grader"
    np.savez(answer, **{"t0/out": np.array([_Payload(str(ran))], dtype=object)}, canary=canary,
             errors=np.array("{}"))
    assert recheck.read_answer(answer, canary) is None
    assert not ran.exists()


# points withheld ------------------------------------------------------------------------------------------


def test_a_withheld_cell_scores_nothing_in_nbgrader_and_says_why():
    cell = nbformat.v4.new_code_cell("check_close('x', x, 1.0)", metadata={"nbgrader": {
        "grade": True, "grade_id": "x_example", "locked": True, "points": 2, "solution": False, "task": False,
        "schema_version": 3}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x looks right\n")]
    assert determine_grade(cell) == (2, 2)
    recheck.withhold(cell, "x on new inputs: out is not the right answer")
    assert determine_grade(cell) == (0, 2)
    assert cell.outputs[0].text == "x looks right\n"  # what the learner's cell printed stays
    error = cell.outputs[-1]
    assert error.ename == recheck.WITHHELD and "x on new inputs: out is not the right answer" in error.evalue
