"""Autograde collected submissions: nbgrader's own pipeline, one learner at a time in each of
a pool of workers (or a Dask cluster's), sandboxed. This process only hands the learners out,
gathers the results and prints the summary, so it never sets the pace however many workers run.

For each learner's assignment a worker (:func:`grade_learner`):

1. **prepares**: a staged copy of the submission with its nbgrader metadata put back from the
   gradebook (:mod:`autograder.repair`), then ``nbgrader autograde`` for that learner with no
   grading preprocessors: it registers the submission (and its ``timestamp.txt``), copies the
   assignment's files, restores the locked and hidden test cells, and writes the cleaned notebook
   to ``autograded/``. An unreadable submission stops here, with its reason.
2. **executes** each notebook in a sandboxed kernel (:mod:`autograder.sandbox`) in a private
   temporary folder holding only the assignment's files, through the steps of
   :class:`autograder.preprocessors.Grading`: nbgrader's ``Execute``, ``IgnorePattern``,
   ``ClearMetadataPreprocessor`` and ``LimitOutput``, and ours around them. A cell that never ran
   because the kernel died or hung gets an error output, so it scores 0 instead of looking passed.
   Every test cell that passed is then re-checked on fresh inputs, judged outside the kernel
   (:mod:`autograder.verify`); a failed re-check withholds the cell's points.
3. **records**: nbgrader's ``SaveAutoGrades``, ``AssignLatePenalties`` and ``CheckCellMetadata``
   store the scores, through the worker's one gradebook connection (SQLite in WAL mode, retried
   while another worker writes; or PostgreSQL).

Honest submissions get the same scores as plain ``nbgrader autograde``.
"""

import concurrent.futures
import contextlib
import copy
import functools
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed, and that builds a parser for 0.8 s
# at import, in the grader and in every worker; jsonschema goes without it (it only checks "iri" strings,
# which the notebook schema has none of), so the grader does
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

from autograder import course



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
    notes: list = field(default_factory=list)  # what was repaired before grading (autograder.repair)
    recheck_seconds: float = 0.0  # of seconds: the re-check's part
    prepare_seconds: float = 0.0  # in the worker: staging, repair and nbgrader's sanitising, this notebook's share
    record_seconds: float = 0.0  # in the worker: saving the grades
    pending: float = 0.0  # points of answers a person grades (formgrader) that nobody has graded yet
    unchanged: bool = False  # not graded again: nothing it depends on changed since its last grade


@dataclass
class Run:
    """What a worker sends back for one notebook (the notebook itself it writes back in place)."""

    problem: str  # "" when the notebook ran to its end
    seconds: float  # in the worker, from reading the notebook to writing it back
    recheck_seconds: float = 0.0  # of which re-checking its passed cells


# 2. execute ---------------------------------------------------------------------

_slot = None


def _init_worker(slots):
    global _slot
    _slot = slots.get()
    _slot_server(_slot)  # starts the slot's warm server; the first notebook waits for it to listen


def _catalogue(source):
    """The catalogue of a source notebook (``solutions/<assignment>/<notebook>.ipynb``), or None."""
    from autograder.examples import catalogues

    relative = "/".join(Path(source).parts[-2:])
    return next((catalogue for catalogue in catalogues().values() if catalogue.notebook == relative), None)


@functools.cache
def _reference(source):
    """The catalogue and the reference solution's namespace of a source notebook (None without a catalogue)."""
    from autograder.examples import solution_namespace

    catalogue = _catalogue(source)
    return (catalogue, solution_namespace(source)) if catalogue else (None, None)


def execute_notebook(path, assignment_dir, timeout, slot=None, source=None, earlier=None):
    """
    Run the cleaned notebook at ``path`` sandboxed, in a temporary copy of the assignment's
    files, re-check its passed test cells (when ``source``, the source notebook, has a
    catalogue), and write it back executed. ``earlier`` maps other assignments to the files
    this notebook may read from them (the same learner's submissions, rnnlab.earlier): they
    are copied into folders next to the assignment's, inside the sandbox. Returns a :class:`Run`.
    """
    from autograder.preprocessors import Grading
    from autograder.sandbox import ForkServerKernelManager, SandboxedKernelManager

    slot = _worker_slot() if slot is None else slot
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    server = _slot_server(slot)
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
        # nbconvert re-reads its settings from the config at every run, so they go there
        config = course.load_config(**{
            "Execute.kernel_manager_class": type("SlotKernelManager", (ForkServerKernelManager,),
                                                 {"slot": slot or 0, "root": job, "server": server})
            if server else type("SlotKernelManager", (SandboxedKernelManager,), {"slot": slot or 0, "root": job}),
            "Execute.timeout": timeout,
            # as nbgrader: a cell over its time is interrupted, gets a CellTimeoutError and the notebook goes on;
            # a kernel that ignores the interrupt stops the notebook (see preprocessors.MarkUnrunCells)
            "Execute.interrupt_on_timeout": True,
            # the log level silences ipykernel's note that Ctrl-C will not work (it cannot see its parent's pid)
            "Execute.extra_arguments": ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=CRITICAL"],
        })
        catalogue, reference = _reference(source) if source else (None, None)
        resources = {"metadata": {"path": workdir}, "grading": {"catalogue": catalogue, "reference": reference}}
        nb, resources = Grading(config=config).run(nb, resources)
        nbformat.write(nb, path)
    finally:
        if server:
            server.clean()  # every process of the slot's uid killed, its IPC objects removed
        shutil.rmtree(job, ignore_errors=True)
    grading = resources["grading"]
    return Run(grading["problem"], time.perf_counter() - start, grading.get("recheck_seconds", 0.0))


_servers = {}
_recorders = {}


def grade_learner(student, assignment, notebooks, config, timeout):
    """
    In a worker: grade one learner's notebooks of ``assignment``, the whole way: stage and repair them,
    prepare them with nbgrader (:func:`_prepare`, this learner only), run and re-check each
    (:func:`execute_notebook`), and record the grades in the gradebook. Returns a :class:`Result` per notebook.
    """
    from autograder.repair import diagnose

    coursedir = course.coursedir(config)
    root = Path(coursedir.root)
    staged = str(Path(coursedir.submitted_directory).parent / "staged")
    start = time.perf_counter()
    notes = _with_retries(_stage, coursedir, staged, assignment, [(student, assignment, nb) for nb in notebooks])
    _with_retries(_prepare, config, assignment, staged, student)
    prepare_seconds = (time.perf_counter() - start) / len(notebooks)
    recorder = _recorders.get(coursedir.db_url)
    if recorder is None:
        recorder = _recorders[coursedir.db_url] = Recorder(config)
    results = []
    for notebook in notebooks:
        result = Result(student, assignment, notebook, notes=notes.get((student, notebook), []),
                        prepare_seconds=prepare_seconds)
        results.append(result)
        folder = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        path = folder / f"{notebook}.ipynb"
        if not path.exists():
            result.problem = diagnose(root / staged / student / assignment / f"{notebook}.ipynb").for_instructor()
            recorder.look_up(result, result.problem)
            continue
        source = root / coursedir.source_directory / assignment / f"{notebook}.ipynb"
        try:
            run = execute_notebook(str(path), str(folder), timeout, None, str(source),
                                   _earlier_files(coursedir, student, source))
            result.problem, result.seconds, result.recheck_seconds = run.problem, run.seconds, run.recheck_seconds
        except Exception as error:  # noqa: BLE001 - the grader's own failure loses this notebook's run only
            result.problem = f"grader error ({type(error).__name__}: {error})"
            _mark_failed(path, result.problem)
        record_start = time.perf_counter()
        _with_retries(recorder.record, path, result)
        result.record_seconds = time.perf_counter() - record_start
    return results


def _with_retries(step, *args, tries=8):
    """Run a gradebook step; when another worker holds SQLite's write lock, wait and try again."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(tries):
        try:
            return step(*args)
        except OperationalError as error:
            if "locked" not in str(error) or attempt == tries - 1:
                raise
            for recorder in _recorders.values():
                recorder.gradebook.db.rollback()
            time.sleep(0.2 * 2 ** attempt)


def _warm(sources):
    """In a worker, before its first notebook: start the slot's warm server, load the reference solutions."""
    try:
        from nbgrader.converters import Autograde  # noqa: F401 - what the first learner's notebooks need

        from autograder import preprocessors  # noqa: F401

        for source in sources:
            _reference(source)
        _slot_server(_worker_slot())
    except Exception:  # noqa: BLE001 - the first notebook will meet the same problem and report it
        pass


def _slot_server(slot):
    """
    The warm fork server of this process's slot (autograder.forkserver), started on first use; None
    without the full sandbox or with RNNLAB_FORK_SERVER=0 (then every kernel starts from scratch).
    """
    from autograder import sandbox
    from autograder.forkserver import SlotServer

    if not sandbox.available() or os.environ.get("RNNLAB_FORK_SERVER", "1") == "0":
        return None
    server = _servers.get(slot)
    if server is None or not server.alive():
        server = _servers[slot] = SlotServer(slot or 0, sandbox.Limits())
    return server


# 3. record -----------------------------------------------------------------------


class _Deferred:
    """A gradebook session whose ``commit`` only flushes: nbgrader's preprocessors commit after every
    cell (a disk sync each, with SQLite); :class:`Recorder` commits once per notebook instead."""

    def __init__(self, session):
        self._session = session

    def commit(self):
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


class _InBatch:
    """A Gradebook seen through :class:`_Deferred`, for nbgrader's own preprocessors to use as theirs."""

    def __init__(self, gradebook):
        self._gradebook, self.db = gradebook, _Deferred(gradebook.db)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):
        return getattr(self._gradebook, name)


class Recorder:
    """
    Stores the scores of executed notebooks in the gradebook, as nbgrader's autograde does (its
    SaveAutoGrades, AssignLatePenalties and CheckCellMetadata), through one gradebook connection for
    the whole batch and one commit per notebook: a notebook's grades are saved before the next is read.
    """

    def __init__(self, config):
        from nbgrader.api import Gradebook

        self.config, self.coursedir = config, course.coursedir(config)
        self.gradebook = Gradebook(self.coursedir.db_url)

    def record(self, path, result):
        """Save one notebook's grades, and fill in ``result``'s scores from the gradebook."""
        from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, SaveAutoGrades

        student, assignment, notebook = result.student, result.assignment, result.notebook
        nb = nbformat.read(path, as_version=4)
        resources = {"nbgrader": {"student": student, "assignment": assignment, "notebook": notebook,
                                  "db_url": self.coursedir.db_url, "course_id": self.coursedir.course_id}}
        shared = _InBatch(self.gradebook)
        try:
            with _shared_gradebook(shared):
                for preprocessor in (SaveAutoGrades(config=self.config), AssignLatePenalties(config=self.config),
                                     CheckCellMetadata(config=self.config)):
                    nb, resources = preprocessor(nb, resources)
            self.gradebook.db.commit()
        except Exception:
            self.gradebook.db.rollback()
            raise
        # the notebook itself is as the worker wrote it: these steps only read it
        self.look_up(result, result.problem)

    def look_up(self, result, problem=""):
        """Fill in ``result`` from the gradebook: its scores, or, without a graded submission, its maximum."""
        try:
            self._look_up(result, problem)
        finally:
            self.gradebook.db.rollback()  # ends the read: an open one would keep other workers from writing

    def _look_up(self, result, problem):
        from nbgrader.api import MissingEntry

        result.problem = problem
        try:
            graded = self.gradebook.find_submission_notebook(result.notebook, result.assignment, result.student)
        except MissingEntry:
            graded = None
        if graded is None or problem.startswith(("unreadable", "not gradable")):
            try:
                result.max_score = self.gradebook.find_notebook(result.notebook, result.assignment).max_score
            except MissingEntry:
                result.max_score = 0.0
            result.score, result.cells, result.pending = 0.0, {}, 0.0
            return
        result.score, result.max_score = graded.score, graded.max_score
        result.cells = {grade.name: grade.score for grade in graded.grades}
        result.pending = sum(grade.max_score for grade in graded.grades if grade.needs_manual_grade)

    def close(self):
        self.gradebook.close()


@contextlib.contextmanager
def _shared_gradebook(shared):
    """nbgrader's SaveAutoGrades and AssignLatePenalties open ``Gradebook(db_url)`` themselves: give them ``shared``."""
    from nbgrader.preprocessors import latesubmissions, saveautogrades

    modules = (saveautogrades, latesubmissions)
    originals = [module.Gradebook for module in modules]
    for module in modules:
        module.Gradebook = lambda db_url, **kwargs: shared
    try:
        yield
    finally:
        for module, original in zip(modules, originals):
            module.Gradebook = original


# the command ------------------------------------------------------------------------


def submitted_notebooks(coursedir, assignments):
    """(student, assignment, notebook) for every submitted notebook of ``assignments``."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    students = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    return [(student.name, assignment, path.stem)
            for assignment in assignments for student in students
            for path in sorted((student / assignment).glob("*.ipynb"))]


def _ensure_in_gradebook(coursedir, assignment, overrides):
    """Record the assignment's cells in the gradebook (nbgrader needs them to grade) if they are not there yet."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release:  # the release itself is not needed here
        course.run_nbgrader("generate_assignment", assignment, "--force", *overrides,
                     f"--CourseDirectory.release_directory={release}")


def _prepare(config, assignment, staged, student="*"):
    """
    nbgrader's autograde without its grading steps (``autograde_preprocessors = []``), in this process:
    the staged submissions are checked, cleaned and copied to autograded/, and the gradebook gets their
    submission records. An unreadable submission is left out (grading reports it); the others go on.
    """
    from nbgrader.converters import Autograde, NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    settings = copy.deepcopy(Config(config))  # merge() below must not change the caller's sections
    settings.merge(Config({"CourseDirectory": {"submitted_directory": staged, "assignment_id": assignment,
                                               "student_id": student},
                           "Autograde": {"autograde_preprocessors": []}, "BaseConverter": {"force": True}}))
    log = logging.getLogger("rnnlab.grade.prepare")
    log.setLevel(logging.CRITICAL)  # what nbgrader would warn about, the summary says per learner
    coursedir = CourseDirectory(config=settings)
    with warnings.catch_warnings():
        # nbgrader's --force re-creates submission records; SQLAlchemy notes the old ones it drops
        warnings.filterwarnings("ignore", message=".*not in session.*")
        try:
            Autograde(coursedir=coursedir, config=settings, log=log).start()
        except NbGraderException:
            pass  # one unreadable submission makes nbgrader fail at the end; the others are prepared


def _stage(coursedir, staged, assignment, submitted):
    """Copy the submissions of ``assignment`` to ``staged`` with their nbgrader metadata repaired."""
    from nbgrader.api import Gradebook

    from autograder.repair import stage

    with Gradebook(coursedir.db_url) as gradebook:
        return stage(Path(coursedir.root) / coursedir.submitted_directory, Path(coursedir.root) / staged,
                     gradebook, assignment, [(student, notebook) for student, _, notebook in submitted])


def grade(assignments, workers=None, timeout=None, config=None, progress=None, scheduler=None, timings=None,
          students=None, changed_only=False):
    """
    Autograde every collected submission of ``assignments``; return a list of :class:`Result`.
    The notebooks run in a local process pool of ``workers``, or on a Dask cluster: ``scheduler``
    is its address, or "local" for a new local cluster (see :func:`_pool`). ``progress``
    (autograder.progress.Progress, or None) counts the notebooks as they are recorded. ``timings``,
    a dict, gets ``main``: the CPU seconds this process spent (what does not run in parallel); each
    :class:`Result` has the seconds its worker spent preparing, running and recording it.
    ``students`` limits grading to those learners. With ``changed_only``, a learner's assignment is
    graded again only when something it depends on changed since its last grade (the submission, its
    timestamp, the source notebook and its files, the earlier submissions it reads); the others keep
    their grades and come back with ``unchanged`` set.
    """
    main_start = time.process_time()
    timings = {} if timings is None else timings
    config = config or course.load_config()
    coursedir = course.coursedir(config)
    # one timeout per cell, nbgrader's (ExecutePreprocessor.timeout), unless the caller gives one
    timeout = timeout or config.ExecutePreprocessor.get("timeout", 120)
    overrides = [f"--CourseDirectory.root={coursedir.root}", f"--CourseDirectory.db_url={coursedir.db_url}",
                 f"--CourseDirectory.source_directory={coursedir.source_directory}"]
    results = {}
    state = GradedState(coursedir)
    todo = {}
    for assignment in assignments:
        submitted = [entry for entry in submitted_notebooks(coursedir, [assignment])
                     if students is None or entry[0] in students]
        for student, _, notebook in submitted:
            todo.setdefault((assignment, student), []).append(notebook)
    fingerprints = {key: state.fingerprint(*key, notebooks) for key, notebooks in todo.items()}
    if changed_only:
        for key in [key for key in todo if state.unchanged(key, fingerprints[key])]:
            for notebook in todo.pop(key):
                results[key[1], key[0], notebook] = Result(key[1], key[0], notebook, unchanged=True)
    workers = workers or os.cpu_count() or 1
    if progress and todo:
        progress.add(sum(len(notebooks) for notebooks in todo.values()))
        progress.stage(f"starting {workers} sandboxed workers")
    with contextlib.ExitStack() as stack:
        stack.callback(state.save)  # once, at the end: what was graded before a crash is graded again next time
        recorder = stack.enter_context(contextlib.closing(Recorder(config)))
        for result in results.values():  # unchanged: what the gradebook holds from the last grade
            recorder.look_up(result, state.problem(result))
        if not todo:
            timings["main"] = time.process_time() - main_start
            return list(results.values())
        pool = stack.enter_context(_pool(workers, scheduler))
        # the workers start their sandbox's warm server and load the reference solutions meanwhile
        sources = [str(path) for assignment in assignments
                   for path in sorted((Path(coursedir.root) / coursedir.source_directory / assignment).glob("*.ipynb"))]
        for _ in range(workers):
            pool.submit(_warm, sources)
        _share_sqlite(coursedir.db_url)
        # every learner in the gradebook before the workers start: two of them must not both add the same one
        from nbgrader.api import Gradebook

        with Gradebook(coursedir.db_url) as gradebook:
            known = {student.id for student in gradebook.students}
            for student in sorted({student for _, student in todo} - known):
                gradebook.update_or_create_student(student)
        futures = {}
        for assignment in assignments:
            learners = sorted((student, notebooks) for (other, student), notebooks in todo.items() if other == assignment)
            if not learners:
                continue
            if progress:
                progress.stage(f"preparing {assignment}")
            _ensure_in_gradebook(coursedir, assignment, overrides)
            # each worker grades a whole learner: prepare, run, re-check and record; this process only hands out
            for student, notebooks in learners:
                futures[pool.submit(grade_learner, student, assignment, notebooks, config, timeout)] = \
                    (student, assignment, notebooks)
        if progress:
            progress.stage("grading")
        for future in concurrent.futures.as_completed(futures):
            student, assignment, notebooks = futures[future]
            try:
                graded = future.result()
            except Exception as error:  # noqa: BLE001 - a broken worker loses this learner's run only
                graded = [Result(student, assignment, notebook, problem=f"grader error ({type(error).__name__}: {error})")
                          for notebook in notebooks]
                for result in graded:
                    path = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment)) \
                        / f"{result.notebook}.ipynb"
                    if path.exists():
                        _mark_failed(path, result.problem)
                        recorder.record(path, result)
            for result in graded:
                results[student, assignment, result.notebook] = result
                if not result.problem.startswith("grader error"):  # the grader's own failure is tried again next time
                    state.graded(result, fingerprints[assignment, student])
                if progress:
                    status = f"  ({result.problem})" if result.problem else ""
                    status += "".join(f"\n    note: {note}" for note in result.notes)
                    progress.step(f"{student}/{assignment}: {result.score:g}/{result.max_score:g}{status}",
                                  failed=bool(result.problem))
    timings["main"] = time.process_time() - main_start
    return list(results.values())


def _share_sqlite(db_url):
    """A SQLite gradebook in WAL mode: the workers record grades while others read (formgrader too)."""
    if db_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(db_url[len("sqlite:///"):], timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


class GradedState:
    """
    What each learner's assignment was last graded from (``autograder/graded.json``): a fingerprint of
    everything its grade depends on, and the problem it had, so that ``grade`` can skip what did not change.
    """

    def __init__(self, coursedir):
        self.coursedir = coursedir
        self.path = Path(coursedir.root) / Path(coursedir.autograded_directory).parent / "graded.json"
        try:
            import json

            self.entries = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self.entries = {}

    def fingerprint(self, assignment, student, notebooks):
        import hashlib

        coursedir, digest = self.coursedir, hashlib.sha256()
        root = Path(coursedir.root)
        submitted = root / coursedir.submitted_directory / student / assignment
        files = sorted(p for p in submitted.iterdir() if p.is_file())
        source = root / coursedir.source_directory / assignment
        files += sorted(p for p in source.iterdir() if p.is_file())
        for notebook in notebooks:
            for others in _earlier_files(coursedir, student, source / f"{notebook}.ipynb").values():
                files += [Path(file) for file in others]
        for file in files:
            digest.update(str(file.relative_to(root) if file.is_relative_to(root) else file).encode())
            digest.update(file.read_bytes())
        return digest.hexdigest()

    def unchanged(self, key, fingerprint):
        assignment, student = key
        entry = self.entries.get(f"{student}/{assignment}")
        return bool(entry) and entry["fingerprint"] == fingerprint

    def problem(self, result):
        return self.entries.get(f"{result.student}/{result.assignment}", {}).get("problems", {}).get(result.notebook, "")

    def problems(self):
        """{(student, assignment, notebook): problem} of every notebook that had one at its last grade."""
        return {(*key.split("/", 1), notebook): problem for key, entry in self.entries.items()
                for notebook, problem in entry.get("problems", {}).items() if problem}

    def graded(self, result, fingerprint):
        entry = self.entries.setdefault(f"{result.student}/{result.assignment}", {"fingerprint": "", "problems": {}})
        entry["fingerprint"] = fingerprint
        entry["problems"][result.notebook] = result.problem

    def save(self):
        import json

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=1, sort_keys=True) + "\n")


def _earlier_files(coursedir, student, source):
    """
    For a notebook that reads earlier assignments (its catalogue's ``earlier``): {assignment: files}, the
    learner's own submitted notebooks of them and their worked examples. Nobody else's files; a missing
    submission is left out, and the cells that need it fail with rnnlab.earlier's message.
    """
    catalogue = _catalogue(source)
    wanted = catalogue.earlier if catalogue else ()
    root = Path(coursedir.root)
    found = {}
    for other in wanted:
        files = sorted((root / coursedir.submitted_directory / student / other).glob("*.ipynb"))
        files += sorted((root / coursedir.source_directory / other).glob("reference.json"))
        found[other] = [str(file) for file in files]
    return found


@contextlib.contextmanager
def _pool(workers, scheduler=None):
    """
    A concurrent.futures executor running :func:`execute_notebook`: a spawn process pool, each process
    with its own sandbox slot, or a Dask cluster's executor. Dask workers find the notebooks by path,
    so they need the course folder at the same path (the same machine, or a shared file system), and
    should run one thread each (``dask worker ADDRESS --nthreads 1``): a worker is one sandbox slot.
    """
    if scheduler is None:
        context = multiprocessing.get_context("spawn")
        slots = context.Queue()
        for slot in range(workers):
            slots.put(slot)
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                    initargs=(slots,)) as pool:
            yield pool
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            scheduler = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                         dashboard_address=None))
        client = stack.enter_context(Client(scheduler))
        yield client.get_executor(pure=False)


def _worker_slot():
    """The sandbox slot of this process: from the local pool, or one per Dask worker."""
    if _slot is not None:
        return _slot
    try:
        from distributed import get_worker

        return zlib.crc32(get_worker().address.encode()) % 1000
    except (ImportError, ValueError):  # not in a Dask worker
        return 0


def _mark_failed(path, reason):
    from autograder.preprocessors import mark_unrun_cells

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    mark_unrun_cells(nb, reason)
    nbformat.write(nb, path)


def summary(results):
    """A table for the instructor: per assignment its learners, how many were graded now, the mean score
    (a submission that could not be graded counts 0), points waiting for a person, and problems by kind."""
    by_assignment = {}
    for result in results:
        by_assignment.setdefault(result.assignment, []).append(result)
    header = ("assignment", "learners", "graded now", "mean score", "waiting for a grader", "problems")
    table = [header]
    for assignment, rows in sorted(by_assignment.items()):
        learners = sorted({r.student for r in rows})
        maximum = sum(max((r.max_score for r in rows if r.notebook == nb), default=0.0)
                      for nb in sorted({r.notebook for r in rows}))
        mean = sum(r.score for r in rows) / len(learners) if learners else 0.0
        waiting = len({r.student for r in rows if r.pending})
        table.append((assignment, str(len(learners)), str(sum(not r.unchanged for r in rows)),
                      f"{mean:.2f}/{maximum:g}", f"{waiting} learner(s)" if waiting else "-",
                      str(sum(1 for r in rows if r.problem))))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in
                       enumerate(zip(row, widths))).rstrip() for row in table]
    kinds = {}
    for result in results:
        if result.problem:
            kinds.setdefault(result.problem, []).append(f"{result.student}/{result.assignment}")
        if result.notes and not result.unchanged:
            kinds.setdefault("submission changed, repaired before grading", []).append(
                f"{result.student}/{result.assignment}")
    for kind, who in sorted(kinds.items()):
        lines.append(f"  {kind}: {', '.join(who)}")
    pending = {}
    for result in results:
        if result.pending:
            pending.setdefault((result.assignment, result.pending), []).append(result.student)
    for (assignment, points), who in sorted(pending.items()):
        lines.append(f"  {points:g} point(s) of {assignment} wait for a grader (formgrader: make instructor): "
                     f"{', '.join(who)}")
    unchanged = sum(r.unchanged for r in results)
    if unchanged:
        lines.append(f"  {unchanged} notebook(s) unchanged since their last grade kept it (--all grades them again)")
    return "\n".join(lines)
