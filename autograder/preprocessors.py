"""The grader's steps for one notebook, as nbgrader preprocessors, in one ordered list.

nbgrader's ``autograde`` runs ``Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput``
and then records grades. The grader runs the same preprocessors in a sandbox worker, with
four steps of its own around them (``Grading.preprocessors``, configurable in
``nbgrader_config.py`` as nbgrader's ``Autograde.autograde_preprocessors`` is):

- :class:`AddProbe` appends the cell that calls the learner's functions on fresh inputs;
- :class:`RunSandboxed` is nbgrader's ``Execute``, but a kernel that dies or hangs is graded
  as far as it got, and the reason is kept;
- :class:`MarkUnrunCells` gives every cell that never ran an error output, so it scores 0;
- :class:`Recheck` takes the probe's answer back out of the notebook and judges it here,
  outside the learner's kernel (:mod:`autograder.recheck`), withholding points that fail;
- :class:`CapOutputs` shortens huge outputs (nbgrader's ``LimitOutput`` counts lines, not bytes).

What the steps share for one notebook travels in ``resources["grading"]``: the catalogue and
reference solution (set by the caller), the kernel's ``status``, the ``probe`` and timings.
"""

import os
import secrets
import time
from dataclasses import dataclass

import nbformat
import numpy as np
from nbclient.exceptions import CellTimeoutError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import Execute, IgnorePattern, LimitOutput, NbGraderPreprocessor
from nbgrader.utils import has_failed, is_grade, is_solution
from traitlets import Integer, List
from traitlets.config import LoggingConfigurable

from autograder import recheck
from autograder.submissions import GRADED, Outcome, Status, kernel_status

NOT_RUN = "CellNotRun"


@dataclass
class SentProbe:
    """The probe cell added to one notebook: its source, the tasks per test cell, where its answer goes."""

    source: str
    tasks: dict  # grade_id -> [recheck.Task]
    answer_path: str
    canary: np.ndarray  # returned with the answer: an answer without it is not one the probe wrote


def graded_test_cells(nb):
    """The autograded test cells of a notebook, by grade_id."""
    return {cell.metadata.nbgrader.grade_id: cell for cell in nb.cells
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)}


class AddProbe(NbGraderPreprocessor):
    """Append the cell that calls the learner's functions on inputs drawn here (see autograder.recheck)."""

    def preprocess(self, nb, resources):
        grading = resources["grading"]
        if not grading.get("catalogue"):
            return nb, resources
        workdir = resources["metadata"]["path"]
        rng = np.random.default_rng(secrets.randbits(64))
        tasks = recheck.plan(grading["catalogue"], list(graded_test_cells(nb)), grading["reference"], rng)
        canary = rng.standard_normal(int(rng.integers(3, 20)))
        tasks_path, answer_path = os.path.join(workdir, ".probe-tasks.pkl"), os.path.join(workdir, ".probe-answer.npz")
        recheck.write_tasks(tasks_path, [task for cell in tasks.values() for task in cell], canary)
        cell = nbformat.v4.new_code_cell(recheck.kernel_cell(tasks_path, answer_path), metadata={"rnnlab_probe": True})
        nb.cells.append(cell)
        grading["probe"] = SentProbe(cell.source, tasks, answer_path, canary)
        return nb, resources


class RunSandboxed(Execute):
    """nbgrader's Execute that never raises: a dead or hung kernel leaves the notebook as far as it ran,
    and ``resources["grading"]["status"]`` says why (an autograder.submissions.Status, by the error's type)."""

    def preprocess(self, nb, resources):
        try:
            super().preprocess(nb, resources)  # executes the cells in place, so what ran stays when it raises
        except Exception as error:  # noqa: BLE001 - any kernel failure is graded as far as it got
            status = kernel_status(error)
        else:
            # a cell interrupted at its timeout got nbclient's CellTimeoutError as its output; the notebook went on
            timed_out = any(o.get("ename") == CellTimeoutError.__name__ for c in nb.cells for o in c.get("outputs", []))
            status = Status(Outcome.TIMEOUT) if timed_out else GRADED
        resources["grading"]["status"] = status
        nb.cells = [cell for cell in nb.cells if "rnnlab_probe" not in cell.metadata]
        return nb, resources


def mark_unrun_cells(nb, reason):
    """Give every code cell that did not run an error output, so it cannot score points."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            cell.outputs = [nbformat.v4.new_output("error", ename=NOT_RUN, evalue=reason,
                                                   traceback=[f"{NOT_RUN}: {reason}"])]


class MarkUnrunCells(NbGraderPreprocessor):
    """A cell that never ran (the kernel died or hung before it) gets an error output: it scores 0, not full marks."""

    def preprocess(self, nb, resources):
        status = resources["grading"].get("status")
        mark_unrun_cells(nb, f"the notebook stopped before this cell ran ({status or 'unknown reason'})")
        return nb, resources


class Recheck(NbGraderPreprocessor):
    """
    Judge the probe's answer here and withhold the points of every passed test cell whose function
    is not right on the fresh inputs. When the notebook stopped before the probe, the cells that had
    run are run again in a new kernel, then the probe.
    """

    def preprocess(self, nb, resources):
        grading = resources["grading"]
        sent = grading.get("probe")
        if sent is None:
            return nb, resources
        start = time.perf_counter()
        answer = recheck.read_answer(sent.answer_path, sent.canary)
        if answer is None and grading.get("status"):
            ran = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.get("execution_count")]
            earlier = [nbformat.v4.new_code_cell(cell.source) for cell in nb.cells[:ran[-1]] if cell.cell_type == "code"] if ran else []
            again = nbformat.v4.new_notebook(cells=[*earlier, nbformat.v4.new_code_cell(sent.source)])
            RunSandboxed(config=self.config)(again, {"metadata": resources["metadata"], "grading": {}})
            answer = recheck.read_answer(sent.answer_path, sent.canary)
        every = [task for tasks in sent.tasks.values() for task in tasks]
        values = {task.key: recheck.judge(task, *answer, grading["reference"])
                  for task in every if task.probe.kind == "values"} if answer else {}
        right = {}  # function -> did all its values re-checks pass
        for task in every:
            if task.key in values:
                right[task.probe.function] = right.get(task.probe.function, True) and not values[task.key]
        for grade_id, cell in graded_test_cells(nb).items():
            if has_failed(cell) or grade_id not in sent.tasks:
                continue
            if answer is None:
                recheck.withhold(cell, "the grader could not call your functions after the notebook ran")
                continue
            reasons = [values[task.key] if task.key in values else
                       recheck.judge(task, *answer, grading["reference"], right.get(task.probe.forward))
                       for task in sent.tasks[grade_id]]
            if any(reasons):
                recheck.withhold(cell, next(reason for reason in reasons if reason))
        grading["recheck_seconds"] = time.perf_counter() - start
        return nb, resources


class CapOutputs(NbGraderPreprocessor):
    """Shorten every text output over ``max_chars`` characters and drop images over it (LimitOutput counts lines):
    a learner's 100 MB print must not end up in the gradebook's files."""

    max_chars = Integer(100_000, help="Characters an output may keep").tag(config=True)

    def preprocess(self, nb, resources):
        limit = self.max_chars
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and len(output.get("text", "")) > limit:
                    output.text = output.text[:limit] + f"\n[... output cut: {len(output.text):,} characters in all]\n"
                for mime, value in list(output.get("data", {}).items()):
                    text = "".join(value) if isinstance(value, list) else value
                    if isinstance(text, str) and len(text) > limit:
                        del output.data[mime]
                        output.data["text/plain"] = f"[{mime} output of {len(text):,} characters removed]"
        return nb, resources


class Grading(LoggingConfigurable):
    """The steps one notebook goes through in a grading worker, in order."""

    preprocessors = List([
        AddProbe,
        RunSandboxed,
        MarkUnrunCells,
        Recheck,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        CapOutputs,
    ]).tag(config=True)

    def run(self, nb, resources):
        """Run every step on ``nb`` (in place as far as a step allows); return the notebook and resources."""
        for step in self.preprocessors:
            nb, resources = step(config=self.config)(nb, resources)  # as nbgrader calls them: disabled ones do nothing
        return nb, resources
