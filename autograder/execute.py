"""Running one cleaned notebook: in a sandboxed kernel, in a private folder holding only the assignment's
files (and, for a notebook that reads earlier ones, the same learner's submissions of them), through
the grading steps of :class:`autograder.preprocessors.Grading`. The notebook is written back executed
and re-checked; what happened is an :class:`autograder.submissions.Status`.
"""

import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import course
from autograder.submissions import Status


@dataclass
class Run:
    """How one notebook's run went (the notebook itself is written back in place)."""

    status: Status  # GRADED when the notebook ran to its end
    seconds: float  # from reading the notebook to writing it back
    recheck_seconds: float = 0.0  # of which re-checking its passed cells


def catalogue_of(source):
    """The catalogue of a source notebook (``solutions/<assignment>/<notebook>.ipynb``), or None."""
    from autograder.examples import catalogues

    relative = "/".join(Path(source).parts[-2:])
    return next((catalogue for catalogue in catalogues().values() if catalogue.notebook == relative), None)


@functools.cache
def reference(source):
    """
    The catalogue and the reference solution of a source notebook (None without a catalogue), as the re-checks ask
    it (autograder.reference): run by the course's owner when root grades, never by root.
    """
    from autograder.reference import for_source

    catalogue = catalogue_of(source)
    return (catalogue, for_source(source, catalogue)) if catalogue else (None, None)


def earlier_files(coursedir, student, source):
    """
    For a notebook that reads earlier assignments (its catalogue's ``earlier``): {assignment: files}, the
    learner's own submitted notebooks of them and their worked examples. Nobody else's files; a missing
    submission is left out, and the cells that need it fail with rnnlab.earlier's message.
    """
    catalogue = catalogue_of(source)
    root = Path(coursedir.root)
    found = {}
    for other in catalogue.earlier if catalogue else ():
        files = sorted((root / coursedir.submitted_directory / student / other).glob("*.ipynb"))
        files += sorted((root / coursedir.source_directory / other).glob("reference.json"))
        found[other] = [str(file) for file in files]
    return found


def execute_notebook(path, assignment_dir, timeout, slot=0, server=None, source=None, earlier=None):
    """
    Run the cleaned notebook at ``path`` sandboxed (a kernel forked by ``server``, the slot's warm
    autograder.forkserver.SlotServer, or started from scratch without one), in a temporary copy of the
    assignment's files; re-check its passed test cells (when ``source``, the source notebook, has a
    catalogue); write it back executed. ``earlier`` maps other assignments to the files this notebook may
    read from them (:func:`earlier_files`): they are copied into folders next to the assignment's, inside
    the sandbox. Returns a :class:`Run`.
    """
    from autograder.preprocessors import Grading
    from autograder.sandbox import ForkServerKernelManager, SandboxedKernelManager

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    job = server.job() if server else tempfile.mkdtemp(prefix="rnnlab-grade-")
    workdir = os.path.join(job, Path(assignment_dir).name)
    try:
        os.mkdir(workdir)
        for item in Path(assignment_dir).iterdir():
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy(item, workdir)
        for other, files in (earlier or {}).items():
            os.mkdir(os.path.join(job, other))
            for file in files:
                shutil.copy(file, os.path.join(job, other))
        manager = (type("SlotKernelManager", (ForkServerKernelManager,), {"slot": slot, "root": job, "server": server})
                   if server else type("SlotKernelManager", (SandboxedKernelManager,), {"slot": slot, "root": job}))
        # nbconvert re-reads its settings from the config at every run, so they go there
        config = course.load_config(**{
            "Execute.kernel_manager_class": manager,
            "Execute.timeout": timeout,
            # as nbgrader: a cell over its time is interrupted, gets a CellTimeoutError and the notebook goes on;
            # a kernel that ignores the interrupt stops the notebook (see preprocessors.MarkUnrunCells)
            "Execute.interrupt_on_timeout": True,
            # the log level silences ipykernel's note that Ctrl-C will not work (it cannot see its parent's pid)
            "Execute.extra_arguments": ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=CRITICAL"],
        })
        catalogue, solution = reference(source) if source else (None, None)
        resources = {"metadata": {"path": workdir}, "grading": {"catalogue": catalogue, "reference": solution}}
        nb, resources = Grading(config=config).run(nb, resources)
        nbformat.write(nb, path)
    finally:
        if server:
            server.clean()  # every process of the slot's uid killed, its IPC objects removed
        shutil.rmtree(job, ignore_errors=True)
    grading = resources["grading"]
    return Run(grading["status"], time.perf_counter() - start, grading.get("recheck_seconds", 0.0))


def mark_failed(path, status):
    """An autograded notebook the grader failed on: every code cell gets an error output, so nothing scores."""
    from autograder.preprocessors import mark_unrun_cells

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    mark_unrun_cells(nb, str(status))
    nbformat.write(nb, path)

