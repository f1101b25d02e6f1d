"""A grading worker: one process that grades whole learners, one after another, in its own sandbox slot.

For each learner's assignment, :meth:`Worker.grade_learner`:

1. **prepares** the submission (:mod:`autograder.prepare`): staged with its metadata repaired, then
   ``nbgrader autograde`` for that learner with no grading steps;
2. **executes** each notebook sandboxed and re-checks it (:mod:`autograder.execute`);
3. **records** its grades through the worker's one gradebook connection (:mod:`autograder.record`).

The workers run in a local process pool (:func:`pool`: one slot each, handed out by the pool's
initializer) or on a Dask cluster (one slot per Dask worker). Each process has one :class:`Worker`,
made on first use: its slot, the slot's warm fork server, its gradebook connections.
"""

import concurrent.futures
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed, and that builds a parser for 0.8 s
# at import, in every worker; jsonschema goes without it (it only checks "iri" strings, which the notebook
# schema has none of), so the workers do
sys.modules.setdefault("rfc3987_syntax", None)

from autograder import course  # noqa: E402

# What a grading imports is imported with this module, once. A Dask worker unpickles the next task (which names its
# function by this module) in its event loop's thread while the last one runs in its worker thread: both importing
# nbgrader at once fails ("cannot import name ... from partially initialized module nbgrader.preprocessors"), the
# worker shuts down, and the grade waits for it forever.
from nbgrader.converters import Autograde  # noqa: E402,F401

from autograder import preprocessors  # noqa: E402,F401
from autograder.submissions import GRADED, Outcome, Status, diagnose  # noqa: E402


@dataclass
class Result:
    """One learner's notebook, graded (or not): its status, scores, and where the time went."""

    student: str
    assignment: str
    notebook: str
    status: Status = GRADED
    seconds: float = 0.0  # in the worker, from reading the notebook to writing it back
    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # what was repaired before grading (autograder.repair)
    recheck_seconds: float = 0.0  # of seconds: the re-check's part
    prepare_seconds: float = 0.0  # in the worker: staging, repair and nbgrader's sanitising, this notebook's share
    record_seconds: float = 0.0  # in the worker: saving the grades
    pending: float = 0.0  # points of answers a person grades (formgrader) that nobody has graded yet
    late_penalty: float = 0.0  # points the late-submission penalty took from ``score``
    unchanged: bool = False  # not graded again: nothing it depends on changed since its last grade

    @property
    def problem(self):
        """The status in words for the instructor ("" when it was simply graded)."""
        return str(self.status)


class Worker:
    """One grading process: its sandbox slot, the slot's warm fork server, a gradebook connection per course."""

    def __init__(self, slot):
        self.slot = slot
        self._server = None
        self._recorders = {}  # db_url -> Recorder

    def server(self):
        """
        The slot's warm fork server (autograder.forkserver), started on first use; None without the full
        sandbox or with RNNLAB_FORK_SERVER=0 (then every kernel starts from scratch).
        """
        from autograder import sandbox
        from autograder.forkserver import SlotServer

        if not sandbox.available() or os.environ.get("RNNLAB_FORK_SERVER", "1") == "0":
            return None
        if self._server is None or not self._server.alive():
            self._server = SlotServer(self.slot, sandbox.Limits(config=course.load_config()))
        return self._server

    def recorder(self, config):
        from autograder.record import Recorder

        coursedir = course.coursedir(config)
        if coursedir.db_url not in self._recorders:
            self._recorders[coursedir.db_url] = Recorder(config)
        return self._recorders[coursedir.db_url]

    def with_retries(self, step, *args):
        from autograder.record import with_retries

        return with_retries(step, *args, recorders=list(self._recorders.values()))

    def warm(self, sources):
        """Before the first learner: start the slot's warm server, load nbgrader and the reference solutions."""
        from autograder import execute

        try:  # nbgrader and the grading's preprocessors came with this module
            for source in sources:
                execute.reference(source)
            self.server()
        except Exception:  # noqa: BLE001 - the first notebook will meet the same problem and report it
            pass

    def grade_learner(self, student, assignment, notebooks, config, timeout):
        """Grade one learner's ``notebooks`` of ``assignment`` the whole way: prepare, execute (and re-check), record.
        Returns a :class:`Result` per notebook."""
        from autograder import execute, prepare

        coursedir = course.coursedir(config)
        root = Path(coursedir.root)
        staged = str(Path(coursedir.submitted_directory).parent / "staged")
        start = time.perf_counter()
        notes = self.with_retries(prepare.stage, coursedir, staged, assignment, student, notebooks)
        self.with_retries(prepare.prepare, config, assignment, staged, student)
        prepare_seconds = (time.perf_counter() - start) / len(notebooks)
        recorder = self.recorder(config)
        results = []
        for notebook in notebooks:
            result = Result(student, assignment, notebook, notes=notes.get((student, notebook), []),
                            prepare_seconds=prepare_seconds)
            results.append(result)
            folder = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
            path = folder / f"{notebook}.ipynb"
            if not path.exists():  # nbgrader could not read or match it
                result.status = diagnose(root / staged / student / assignment / f"{notebook}.ipynb").status()
                recorder.look_up(result)
                continue
            source = root / coursedir.source_directory / assignment / f"{notebook}.ipynb"
            try:
                run = execute.execute_notebook(str(path), str(folder), timeout, self.slot, self.server(), str(source),
                                               execute.earlier_files(coursedir, student, source))
                result.status, result.seconds, result.recheck_seconds = run.status, run.seconds, run.recheck_seconds
            except Exception as error:  # noqa: BLE001 - the grader's own failure loses this notebook's run only
                result.status = grader_error(error)
                execute.mark_failed(path, result.status)
            record_start = time.perf_counter()
            self.with_retries(recorder.record, path, result)
            result.record_seconds = time.perf_counter() - record_start
        return results


def grader_error(error):
    return Status(Outcome.GRADER_ERROR, f"{type(error).__name__}: {error}")


# the worker of this process -----------------------------------------------------------------------------

_this = None


def _die_with_parent():
    """
    On Linux, this process is killed when the one that made it ends, however that ends: a grading killed by
    the hub's service, or an instructor's `grade` stopped with SIGKILL, leaves no worker (nor, through
    bubblewrap's --die-with-parent, its sandbox) behind.
    """
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it ended before the line above
        os._exit(1)


def _start(slots):
    """The local pool's initializer: take a slot, start its warm server (the first notebook waits for it)."""
    global _this
    _die_with_parent()
    _this = Worker(slots.get())
    _this.server()


def this_worker():
    """This process's :class:`Worker`: the local pool's, or one per Dask worker (its slot from its address)."""
    global _this
    if _this is None:
        try:
            from distributed import get_worker

            slot = zlib.crc32(get_worker().address.encode()) % 1000
        except (ImportError, ValueError):  # not in a Dask worker
            slot = 0
        _this = Worker(slot)
    return _this


def grade_learner(student, assignment, notebooks, config, timeout):
    """What the pool runs for each learner (see :meth:`Worker.grade_learner`)."""
    return this_worker().grade_learner(student, assignment, notebooks, config, timeout)


def warm(sources):
    """What the pool runs once per worker before the first learner (see :meth:`Worker.warm`)."""
    this_worker().warm(sources)


@contextlib.contextmanager
def pool(workers, scheduler=None):
    """
    A concurrent.futures executor for :func:`grade_learner`: a spawn process pool, each process with its own
    sandbox slot, or a Dask cluster's executor. Dask workers find the notebooks by path, so they need the
    course folder at the same path (the same machine, or a shared file system), and should run one thread
    each (``dask worker ADDRESS --nthreads 1``): a worker is one sandbox slot.
    """
    if scheduler is None:
        context = multiprocessing.get_context("spawn")
        slots = context.Queue()
        for slot in range(workers):
            slots.put(slot)
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                                                    initargs=(slots,)) as executor:
            yield executor
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            scheduler = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                         dashboard_address=None))
        client = stack.enter_context(Client(scheduler))
        yield client.get_executor(pure=False)
