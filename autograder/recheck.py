"""Honest grades: every test cell that passed is checked again, outside the learner's reach.

A test cell runs in the learner's kernel, next to the learner's code, which can replace
anything the cell relies on: ``check_close``, ``numpy``, ``abs``, an array's ``__sub__``,
IPython's exception display. Patching each trick would never end. Instead, after the
notebook has run, the grader calls the learner's graded functions once more on **fresh
random inputs** that it drew itself, and gets back nothing but arrays of numbers. All
judging happens here, in the grader's process, against the reference solution run on
the same inputs. A test cell keeps its points only if both the cell and its probes pass.

Each test cell has probes (a :class:`Probe` list), chosen from its ``grade_id``
(``<function>_<what>``) unless the catalogue lists its own:

- ``values``: the function's worked examples, on fresh inputs, give the reference outputs;
- ``shapes`` (cells named ``*_shape`` or ``*_shapes``): the outputs have the reference shapes;
- ``gradients`` (cells named ``*_gradcheck``): the backward pass agrees with centred finite
  differences of the learner's own forward pass, computed here from the forward outputs;
- ``outcome`` (listed by the catalogue, e.g. 05's "your trained LSTM remembers"): the learner's
  trained model predicts on inputs drawn here, and the catalogue's ``check`` judges the
  predictions here, against targets the kernel never receives; no reference run is needed.

A probe never asks more than its cell does (``tests/test_mistakes.py`` proves it on every
known mistake), so an honest submission gets exactly the points nbgrader gives it.
"""

import json
import secrets
from dataclasses import dataclass, field

import numpy as np

from autograder.reference import as_reference
from rnnlab.gradcheck import DEFAULT_H, DEFAULT_THRESHOLD, gradient_error
from rnnlab.testing import RECOMPUTED_ATOL, RECOMPUTED_RTOL, close

WITHHELD = "PointsWithheld"


@dataclass(frozen=True)
class Probe:
    """
    One re-check of a test cell. ``inputs(rng)`` draws a dict of arrays; for ``values`` and
    ``shapes``, ``run(ns, **inputs)`` calls the notebook's functions (in namespace ``ns``)
    and returns named outputs; for ``gradients``, ``forward``/``backward`` name the functions.
    """

    kind: str  # "values" | "shapes" | "gradients" | "outcome"
    describe: str  # what is called, for the learner: "rnn_step_forward on new inputs"
    inputs: object
    run: object = None
    forward: str = ""
    backward: str = ""
    rtol: float = RECOMPUTED_RTOL
    atol: float = RECOMPUTED_ATOL
    # for ``outcome``: check(inputs, outputs) -> "" or a reason, judged here without a reference (a trained
    # model's predictions on inputs drawn here, e.g. its error on new sequences must be below a bound)
    check: object = None
    function: str = ""  # for ``values``: the graded function it calls (gradient re-checks compare with it)
    # for ``gradients``: the largest relative error that passes, as the cell's own check_gradients_match(threshold=)
    threshold: float = DEFAULT_THRESHOLD


@dataclass
class Task:
    """A probe with its drawn inputs; ``key`` names its arrays in the kernel's answer."""

    key: str
    probe: Probe
    inputs: dict
    douts: list = field(default_factory=list)  # upstream gradients, for ``gradients``
    where: tuple = ()  # (grade_id, index of the probe in probes_for): how the reference's process finds it


def function_of(grade_id, functions):
    """The graded function a test cell belongs to: the longest function name its grade_id starts with."""
    candidates = [name for name in functions if grade_id.startswith(name)]
    return max(candidates, key=len) if candidates else None


def probes_for(catalogue, grade_id):
    """The probes of one test cell: the catalogue's own, or the default for its kind of cell."""
    if grade_id in catalogue.probes:
        return list(catalogue.probes[grade_id])
    function = function_of(grade_id, {example.function for example in catalogue.examples})
    if function is None:
        return []
    # the worked example the cell checks: the one named like the cell, else the one named like the function
    examples = ([e for e in catalogue.examples if e.name == grade_id]
                or [e for e in catalogue.examples if e.name == function]
                or [e for e in catalogue.examples if e.function == function])
    if grade_id.endswith("_gradcheck"):
        forward = function.replace("backward", "forward")

        def forward_inputs(rng, example=examples[0]):
            return {k: v for k, v in example.inputs(rng).items() if not k.startswith("d")}

        return [Probe("gradients", f"{function} against finite differences of {forward}, on new inputs",
                      forward_inputs, forward=forward, backward=function)]
    kind = "shapes" if grade_id.endswith(("_shape", "_shapes")) else "values"
    return [Probe(kind, f"{function} on new inputs", example.inputs, run=example.run, function=function)
            for example in examples]


def plan(catalogue, grade_ids, reference, rng=None):
    """
    Draw fresh inputs for the probes of every test cell in ``grade_ids``: {grade_id: [Task]}; for
    ``gradients`` probes also the upstream gradients, shaped like the outputs of the forward pass of
    ``reference`` (the reference solution: an autograder.reference object, or its namespace).
    """
    reference = as_reference(reference, catalogue)
    rng = rng or np.random.default_rng(secrets.randbits(64))
    tasks = {}
    count = 0
    for grade_id in grade_ids:
        tasks[grade_id] = []
        for index, probe in enumerate(probes_for(catalogue, grade_id)):
            task = Task(f"t{count}", probe, probe.inputs(rng), where=(grade_id, index))
            count += 1
            if probe.kind == "gradients":
                outputs = reference.outputs(probe.forward, task.inputs)
                task.douts = [rng.standard_normal(np.shape(out)) for out in outputs]
            tasks[grade_id].append(task)
    return tasks


# in the learner's kernel ---------------------------------------------------------------


def answer(namespace, tasks, h=DEFAULT_H):
    """
    Call the learner's functions for every task; return {name: float64 array} and
    {task key: error}. Runs inside the learner's kernel (shipped there by value), so it
    only calls and copies: every judgement is made by :func:`judge`, outside.
    """
    arrays, errors = {}, {}
    for task in tasks:
        try:
            inputs = {name: value.copy() for name, value in task.inputs.items()}
            if task.probe.kind != "gradients":
                for name, value in task.probe.run(namespace, **inputs).items():
                    arrays[f"{task.key}/{name}"] = np.array(value, dtype=np.float64)
                continue
            forward, backward = namespace[task.probe.forward], namespace[task.probe.backward]
            result = forward(**inputs)
            outputs, cache = list(result[:-1]), result[-1]
            for k, out in enumerate(outputs):
                arrays[f"{task.key}/out{k}"] = np.array(out, dtype=np.float64)
            grads = backward(*[d.copy() for d in task.douts], cache)
            grads = grads if isinstance(grads, tuple) else (grads,)
            for index, grad in enumerate(grads):
                arrays[f"{task.key}/grad{index}"] = np.array(grad, dtype=np.float64)
            # The forward pass at x + h and x - h, entry by entry; the differences are taken by judge(), outside.
            # Written out here rather than calling rnnlab.gradcheck: this runs in the learner's kernel, where any
            # module can have been replaced, so it relies on nothing but the learner's forward pass and numpy.
            for name, value in inputs.items():
                plus, minus = [], []
                for i in range(value.size):
                    for step, into in ((h, plus), (-h, minus)):
                        moved = {**inputs, name: value.copy()}
                        moved[name].flat[i] += step
                        into.append([np.array(out, dtype=np.float64) for out in forward(**moved)[:-1]])
                for k in range(len(outputs)):
                    arrays[f"{task.key}/{name}/plus{k}"] = np.array([outs[k] for outs in plus], dtype=np.float64)
                    arrays[f"{task.key}/{name}/minus{k}"] = np.array([outs[k] for outs in minus], dtype=np.float64)
        except BaseException as error:  # noqa: BLE001 - anything that goes wrong fails this task only
            errors[task.key] = f"{type(error).__name__}: {error}"[:300]
    return arrays, errors


def kernel_cell(tasks_path, answer_path):
    """The code cell the grader appends to the notebook: it answers the tasks into ``answer_path``."""
    return (
        "def _rnnlab_grader_probe():\n"
        "    import json, pickle\n"
        "    import numpy\n"
        f"    with open({tasks_path!r}, 'rb') as handle:\n"
        "        answer, tasks, canary = pickle.load(handle)\n"
        "    arrays, errors = answer(globals(), tasks)\n"
        "    arrays['canary'] = canary\n"
        "    arrays['errors'] = numpy.array(json.dumps(errors))\n"
        f"    numpy.savez({answer_path!r}, **arrays)\n"
        "_rnnlab_grader_probe()\n"
        "del _rnnlab_grader_probe\n"
    )


def write_tasks(path, tasks, canary):
    """
    Pickle :func:`answer` and the tasks for the kernel, which cannot import the grader: everything
    from ``autograder`` goes by value, and the probes without their input makers (inputs are drawn)
    and outcome checks (they judge here).
    """
    import dataclasses
    import sys

    import cloudpickle

    for name, module in list(sys.modules.items()):
        if name == "autograder" or name.startswith("autograder."):
            cloudpickle.register_pickle_by_value(module)
    # the kernel only calls: input makers and outcome checks (which may use the grader's caches) stay here
    shipped = [dataclasses.replace(task, probe=dataclasses.replace(task.probe, inputs=None, check=None)) for task in tasks]
    with open(path, "wb") as handle:
        cloudpickle.dump((answer, shipped, canary), handle)


def read_answer(path, canary):
    """The kernel's arrays and errors, or None when they are missing or the canary came back changed."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        errors = json.loads(str(arrays.pop("errors")))
    except Exception:  # noqa: BLE001 - no answer, or not one we wrote
        return None
    returned = arrays.pop("canary", None)
    if returned is None or returned.shape != canary.shape or not np.array_equal(returned, canary):
        return None
    return arrays, errors


# in the grader --------------------------------------------------------------------------


def judge(task, arrays, errors, reference, forward_right=None):
    """
    "" when the learner's answer to ``task`` is right, else a reason for the learner. For a gradient
    re-check, ``forward_right`` says whether the forward pass's own re-checks passed (None: unknown).
    """
    probe = task.probe
    reference = as_reference(reference)
    if task.key in errors:
        return f"calling {probe.describe} raised {errors[task.key]}"
    if probe.kind == "gradients":
        inputs = task.inputs
        expected = reference.outputs(probe.forward, inputs)
        reported = [arrays.get(f"{task.key}/out{k}") for k in range(len(task.douts))]
        # A right forward pass has the reference's finite differences, computed here: numbers the kernel sends
        # back cannot stand in for them. Only a wrong one is differenced in the kernel (the cell, too, compares
        # the backward pass with the learner's own forward pass), and it must be wrong in its own re-checks too.
        trusted = all(out is not None and close(out, want, RECOMPUTED_RTOL, RECOMPUTED_ATOL)
                      for out, want in zip(reported, expected))
        if not trusted and forward_right:
            return f"{probe.describe}: {probe.forward} gave other outputs here than in its own re-check"
        for index, (name, value) in enumerate(inputs.items()):
            grad = arrays.get(f"{task.key}/grad{index}")
            if grad is None or grad.shape != value.shape:
                return f"{probe.describe}: d{name} is missing or has the wrong shape"
            if trusted:
                numeric = reference.numerical_gradient(probe.forward, inputs, name, task.douts)
                if not gradient_error(grad, numeric.reshape(value.shape)) < probe.threshold:
                    return f"{probe.describe}: d{name} does not agree with finite differences"
                continue
            # the centred differences of the outputs answer() computed in the kernel at x + h and x - h
            numeric = np.zeros(value.size)
            for k, dout in enumerate(task.douts):
                plus, minus = arrays.get(f"{task.key}/{name}/plus{k}"), arrays.get(f"{task.key}/{name}/minus{k}")
                if any(shifted is None or shifted.shape != (value.size, *dout.shape) for shifted in (plus, minus)):
                    return f"{probe.describe}: the forward pass did not give outputs of a fixed shape"
                numeric += ((plus - minus) * dout).reshape(value.size, -1).sum(axis=1) / (2 * DEFAULT_H)
            if not gradient_error(grad, numeric.reshape(value.shape)) < probe.threshold:
                return f"{probe.describe}: d{name} does not agree with finite differences"
        return ""
    if probe.kind == "outcome":
        prefix = f"{task.key}/"
        outputs = {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}
        return probe.check(task.inputs, outputs)
    expected = reference.run(task)
    for name, value in expected.items():
        value = np.asarray(value, dtype=np.float64)
        actual = arrays.get(f"{task.key}/{name}")
        if actual is None or actual.shape != value.shape:
            return f"{probe.describe}: {name} is missing or has the wrong shape"
        if probe.kind == "values" and not close(actual, value, probe.rtol, probe.atol):
            return f"{probe.describe}: {name} is not the right answer"
    return ""


def withhold(cell, reason):
    """Give a test cell that passed an error output saying why its points are withheld."""
    import nbformat

    message = (f"The grader checked this test again on new inputs, outside your notebook, and it did not pass: "
               f"{reason}. The points of this cell are withheld. Make the function right for every input, "
               "and let the test cells run unchanged.")
    cell.outputs.append(nbformat.v4.new_output("error", ename=WITHHELD, evalue=message,
                                                traceback=[f"{WITHHELD}: {message}"]))
