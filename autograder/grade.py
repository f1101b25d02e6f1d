"""Autograde collected submissions: nbgrader's own pipeline, split in three so that the
slow middle part (running the notebooks) runs in parallel and sandboxed.

1. **prepare** (one process, gradebook): ``nbgrader autograde`` with no grading
   preprocessors: it registers students and submissions, copies the assignment's
   files, restores the locked and hidden test cells from the gradebook, and writes
   the cleaned notebooks to ``autograded/``. Unreadable submissions fail here, alone.
2. **execute** (a pool of workers, no gradebook): each notebook runs in a sandboxed
   kernel (:mod:`autograder.sandbox`) in a private temporary folder holding only the
   assignment's files, with nbgrader's ``Execute``, ``IgnorePattern``,
   ``ClearMetadataPreprocessor`` and ``LimitOutput``. A cell that never ran because the
   kernel died or hung gets an error output, so it scores 0 instead of looking passed.
3. **record** (one process, gradebook): nbgrader's ``SaveAutoGrades``,
   ``AssignLatePenalties`` and ``CheckCellMetadata`` store the scores.

Honest submissions get the same scores as plain ``nbgrader autograde``.
"""

import concurrent.futures
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config.loader import PyFileConfigLoader

from autograder.release import AUTOGRADER, run_nbgrader

NOT_RUN = "CellNotRun"
MAX_OUTPUT_CHARS = 100_000  # per output: a learner's 100 MB print must not end up in the gradebook's files


@dataclass
class Result:
    student: str
    assignment: str
    notebook: str
    problem: str = ""  # "", or a short reason: "kernel died", "timeout", "unreadable", ...
    seconds: float = 0.0
    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)


def load_config(**overrides):
    """The course's nbgrader configuration, with ``Section.trait=value`` overrides."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(AUTOGRADER)).load_config()
    for key, value in overrides.items():
        section, trait = key.split(".")
        config[section][trait] = value
    return config


def _coursedir(config):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config)


# 2. execute ---------------------------------------------------------------------

_slot = None


def _init_worker(slots):
    global _slot
    _slot = slots.get()


def _mark_unrun_cells(nb, reason):
    """Give every code cell that did not run an error output, so it cannot score points."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            cell.outputs = [nbformat.v4.new_output("error", ename=NOT_RUN, evalue=reason,
                                                   traceback=[f"{NOT_RUN}: {reason}"])]


def _cap_outputs(nb, limit=MAX_OUTPUT_CHARS):
    """Shorten every text output over ``limit`` characters and drop images over it (nbgrader's LimitOutput counts lines)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.get("text", "")) > limit:
                output.text = output.text[:limit] + f"\n[... output cut: {len(output.text):,} characters in all]\n"
            for mime, value in list(output.get("data", {}).items()):
                text = "".join(value) if isinstance(value, list) else value
                if isinstance(text, str) and len(text) > limit:
                    del output.data[mime]
                    output.data["text/plain"] = f"[{mime} output of {len(text):,} characters removed]"


def execute_notebook(path, assignment_dir, timeout, slot=None):
    """
    Run the cleaned notebook at ``path`` sandboxed, in a temporary copy of the assignment's
    files, and write it back executed. Returns (problem, seconds).
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import Execute, IgnorePattern, LimitOutput

    from autograder.sandbox import SandboxedKernelManager

    slot = _slot if slot is None else slot
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    workdir = tempfile.mkdtemp(prefix="rnnlab-grade-")
    problem = ""
    try:
        for item in Path(assignment_dir).iterdir():
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy(item, workdir)
        # nbconvert re-reads its settings from the config at every run, so they go there
        config = load_config(**{
            "Execute.kernel_manager_class": type("SlotKernelManager", (SandboxedKernelManager,), {"slot": slot or 0}),
            "Execute.timeout": timeout,
            "Execute.interrupt_on_timeout": False,  # a cell over its time stops the notebook (see _mark_unrun_cells)
            "Execute.error_on_timeout": {},  # empty: nbclient raises CellTimeoutError instead of carrying on
            "Execute.extra_arguments": ["--HistoryManager.hist_file=:memory:"],
        })
        resources = {"metadata": {"path": workdir}}
        executor = Execute(config=config)
        try:
            nb, resources = executor(nb, resources)
        except Exception as error:  # noqa: BLE001 - any kernel failure is graded as far as it got
            name = type(error).__name__
            problem = "kernel died" if "Dead" in name else "timeout" if "Timeout" in name else f"kernel error ({name})"
        if any(o.get("ename") == "CellTimeoutError" for c in nb.cells for o in c.get("outputs", [])):
            problem = problem or "timeout"
        _mark_unrun_cells(nb, f"the notebook stopped before this cell ran ({problem or 'unknown reason'})")
        for preprocessor in (IgnorePattern(config=config), ClearMetadataPreprocessor(config=config),
                             LimitOutput(config=config)):
            nb, resources = preprocessor(nb, resources)  # as nbgrader calls them: disabled ones do nothing
        _cap_outputs(nb)
        nbformat.write(nb, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return problem, time.perf_counter() - start


# 3. record -----------------------------------------------------------------------


def record(path, student, assignment, notebook, config):
    """Store the scores of an executed notebook in the gradebook, as nbgrader's autograde does."""
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, SaveAutoGrades

    nb = nbformat.read(path, as_version=4)
    coursedir = _coursedir(config)
    resources = {"nbgrader": {"student": student, "assignment": assignment, "notebook": notebook,
                              "db_url": coursedir.db_url, "course_id": coursedir.course_id}}
    for preprocessor in (SaveAutoGrades(config=config), AssignLatePenalties(config=config),
                         CheckCellMetadata(config=config)):
        nb, resources = preprocessor(nb, resources)
    nbformat.write(nb, path)


def _scores(db_url, assignment, notebook, student):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment, student)
        return submission.score, submission.max_score, {grade.name: grade.score for grade in submission.grades}


# the command ------------------------------------------------------------------------


def submitted_notebooks(coursedir, assignments):
    """(student, assignment, notebook) for every submitted notebook of ``assignments``."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    students = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    return [(student.name, assignment, path.stem)
            for assignment in assignments for student in students
            for path in sorted((student / assignment).glob("*.ipynb"))]


def grade(assignments, workers=None, timeout=60, config=None, progress=print):
    """Autograde every collected submission of ``assignments``; return a list of :class:`Result`."""
    config = config or load_config()
    coursedir = _coursedir(config)
    overrides = [f"--CourseDirectory.root={coursedir.root}", f"--CourseDirectory.db_url={coursedir.db_url}",
                 f"--CourseDirectory.source_directory={coursedir.source_directory}",
                 f"--CourseDirectory.submitted_directory={coursedir.submitted_directory}",
                 f"--CourseDirectory.autograded_directory={coursedir.autograded_directory}"]
    results = {}
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in range(workers):
        slots.put(slot)
    done = 0
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                initargs=(slots,)) as pool:
        futures = {}
        for assignment in assignments:
            # 1. prepare: nbgrader's sanitising steps, no execution, no grading (while the pool runs the
            # previous assignment's notebooks)
            try:
                run_nbgrader("autograde", assignment, "--force", "--Autograde.autograde_preprocessors=[]", *overrides)
            except RuntimeError:
                pass  # one unreadable submission makes nbgrader fail at the end; the others are prepared
            for student, _, notebook in submitted_notebooks(coursedir, [assignment]):
                folder = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
                path = folder / f"{notebook}.ipynb"
                result = results[student, assignment, notebook] = Result(student, assignment, notebook)
                if not path.exists():
                    result.problem = "not gradable: invalid notebook file, or its graded cells were changed"
                    continue
                # 2. execute in parallel
                futures[pool.submit(execute_notebook, str(path), str(folder), timeout)] = (result, path)
        for future in concurrent.futures.as_completed(futures):
            result, path = futures[future]
            try:
                result.problem, result.seconds = future.result()
            except Exception as error:  # noqa: BLE001 - a broken worker loses this notebook's run only
                result.problem = f"grader error ({type(error).__name__}: {error})"
                _mark_failed(path, result.problem)
            # 3. record, in this process only
            record(path, result.student, result.assignment, result.notebook, config)
            result.score, result.max_score, result.cells = _scores(coursedir.db_url, result.assignment,
                                                                   result.notebook, result.student)
            done += 1
            if progress:
                status = f"  ({result.problem})" if result.problem else ""
                progress(f"[{done}/{len(futures)}] {result.student}/{result.assignment}: "
                         f"{result.score:g}/{result.max_score:g}{status}")
    return list(results.values())


def _mark_failed(path, reason):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    _mark_unrun_cells(nb, reason)
    nbformat.write(nb, path)


def summary(results):
    """A table for the instructor: learners, mean score, and problems by kind."""
    lines = []
    by_assignment = {}
    for result in results:
        by_assignment.setdefault(result.assignment, []).append(result)
    lines.append(f"{'assignment':12s} {'learners':>8s} {'mean score':>11s} {'problems':>8s}")
    for assignment, rows in sorted(by_assignment.items()):
        graded = [r for r in rows if r.max_score]
        mean = sum(r.score for r in graded) / len(graded) if graded else 0.0
        maximum = graded[0].max_score if graded else 0.0
        problems = sum(1 for r in rows if r.problem)
        lines.append(f"{assignment:12s} {len(rows):8d} {mean:6.2f}/{maximum:<4g} {problems:8d}")
    kinds = {}
    for result in results:
        if result.problem:
            kinds.setdefault(result.problem, []).append(f"{result.student}/{result.assignment}")
    for kind, who in sorted(kinds.items()):
        lines.append(f"  {kind}: {', '.join(who)}")
    return "\n".join(lines)
