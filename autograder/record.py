"""Recording grades in the gradebook, as ``nbgrader autograde`` does, through one connection per process.

nbgrader's ``SaveAutoGrades``, ``AssignLatePenalties`` and ``CheckCellMetadata`` store an executed
notebook's scores. Run as they are, they open a gradebook connection per notebook and commit after
every cell (a disk sync each, with SQLite). :class:`Recorder` runs the same three preprocessors, but
hands them its own connection (:func:`nbgrader_uses_this_gradebook`, the one patch of nbgrader the
grader makes) and commits once per notebook. Several processes record at once: SQLite in WAL mode
lets them, and :func:`with_retries` waits while another holds the write lock; PostgreSQL needs neither.
"""

import contextlib
import time

import nbformat

from autograder import course


class _Deferred:
    """A gradebook session whose ``commit`` only flushes: :class:`Recorder` commits once per notebook."""

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


@contextlib.contextmanager
def nbgrader_uses_this_gradebook(gradebook):
    """
    The shim: nbgrader's ``SaveAutoGrades`` and ``AssignLatePenalties`` open ``Gradebook(db_url)`` themselves
    (module globals of ``nbgrader.preprocessors.saveautogrades`` and ``.latesubmissions``); while this is
    active they get ``gradebook`` instead. Checked against nbgrader 0.9 by tests/test_record.py.
    """
    from nbgrader.preprocessors import latesubmissions, saveautogrades

    modules = (saveautogrades, latesubmissions)
    originals = [module.Gradebook for module in modules]
    for module in modules:
        module.Gradebook = lambda db_url, **kwargs: gradebook
    try:
        yield
    finally:
        for module, original in zip(modules, originals):
            module.Gradebook = original


class Recorder:
    """
    Stores the scores of executed notebooks in the gradebook, as nbgrader's autograde does (its
    SaveAutoGrades, AssignLatePenalties and CheckCellMetadata), through one gradebook connection and
    one commit per notebook: a notebook's grades are saved before the next is read.
    """

    def __init__(self, config):
        from nbgrader.api import Gradebook

        self.config, self.coursedir = config, course.coursedir(config)
        self.gradebook = Gradebook(self.coursedir.db_url)

    def record(self, path, result):
        """Save one executed notebook's grades, and fill in ``result``'s scores from the gradebook."""
        from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, SaveAutoGrades

        nb = nbformat.read(path, as_version=4)
        resources = {"nbgrader": {"student": result.student, "assignment": result.assignment,
                                  "notebook": result.notebook, "db_url": self.coursedir.db_url,
                                  "course_id": self.coursedir.course_id}}
        try:
            with nbgrader_uses_this_gradebook(_InBatch(self.gradebook)):
                for preprocessor in (SaveAutoGrades(config=self.config), AssignLatePenalties(config=self.config),
                                     CheckCellMetadata(config=self.config)):
                    nb, resources = preprocessor(nb, resources)
            self.gradebook.db.commit()
        except Exception:
            self.gradebook.db.rollback()
            raise
        # the notebook itself is as the worker wrote it: these steps only read it
        self.look_up(result)

    def look_up(self, result):
        """Fill in ``result`` from the gradebook: its scores, or, when its status has none, its maximum."""
        try:
            self._look_up(result)
        finally:
            self.gradebook.db.rollback()  # ends the read: an open one would keep other workers from writing

    def _look_up(self, result):
        from nbgrader.api import MissingEntry

        try:
            graded = self.gradebook.find_submission_notebook(result.notebook, result.assignment, result.student)
        except MissingEntry:
            graded = None
        if graded is None or not result.status.outcome.scored:
            try:
                result.max_score = self.gradebook.find_notebook(result.notebook, result.assignment).max_score
            except MissingEntry:
                result.max_score = 0.0
            result.score, result.cells, result.pending = 0.0, {}, 0.0
            return
        result.score, result.max_score = graded.score, graded.max_score
        result.late_penalty = graded.late_submission_penalty or 0.0
        result.cells = {grade.name: grade.score for grade in graded.grades}
        result.pending = sum(grade.max_score for grade in graded.grades if grade.needs_manual_grade)

    def rollback(self):
        self.gradebook.db.rollback()

    def close(self):
        self.gradebook.close()


def with_retries(step, *args, recorders=(), tries=8):
    """Run a gradebook step; when another process holds SQLite's write lock, roll back ``recorders``' open
    transactions, wait and try again (0.2 s, doubling)."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(tries):
        try:
            return step(*args)
        except OperationalError as error:
            if "locked" not in str(error) or attempt == tries - 1:
                raise
            for recorder in recorders:
                recorder.rollback()
            time.sleep(0.2 * 2 ** attempt)


def share_sqlite(db_url):
    """A SQLite gradebook in WAL mode: the workers record grades while others read (formgrader too)."""
    if db_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(db_url[len("sqlite:///"):], timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
