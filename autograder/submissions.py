"""The course's grading state, in one place: what was submitted, how each notebook's grading ended, what it
was graded from, and which feedback pages were written from which grades.

- :func:`submitted_notebooks` lists what ``collect`` put in ``submitted/``.
- :class:`Outcome` is how grading one notebook ended, a small fixed vocabulary; a :class:`Status` is an
  outcome with the detail a person reads ("unreadable: not valid JSON (...)"). Code decides on the outcome
  (does the score stand, is it graded again, which marker goes in the CSV), never on the wording.
- :func:`unreadable` is the one check of whether a file is a notebook at all, used when it is collected
  and when it could not be graded (:func:`diagnose` then says why, to the instructor and to the learner).
- :class:`State` (``autograder/state.json``) remembers per learner's assignment the fingerprint of
  what it was graded from, each notebook's status, and the fingerprint of the feedback page written
  from those grades, so that ``grade`` and ``feedback`` redo only what changed.

``collect`` writes submissions; ``grade``, ``feedback``, ``export`` and ``report`` read them and this
state; none of them depends on another command's module.
"""

import enum
import fcntl
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def submitted_notebooks(coursedir, assignments):
    """(student, assignment, notebook) for every submitted notebook of ``assignments``."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    students = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    return [(student.name, assignment, path.stem)
            for assignment in assignments for student in students
            for path in sorted((student / assignment).glob("*.ipynb"))]


# how grading one notebook ended ------------------------------------------------------------------------


class Outcome(enum.Enum):
    """How grading one notebook ended. Its value is the word the instructor's summary starts with."""

    GRADED = ""  # ran to its end
    TIMEOUT = "timeout"  # a cell ran over its time: graded as far as it got
    KERNEL_DIED = "kernel died"  # the kernel exited or was killed (memory, exit()): graded as far as it got
    KERNEL_ERROR = "kernel error"  # the kernel could not be started or talked to: graded as far as it got
    UNREADABLE = "unreadable"  # the file is not a notebook: no score
    NOT_GRADABLE = "not gradable"  # a notebook, but its graded cells cannot be matched to the assignment's: no score
    GRADER_ERROR = "grader error"  # the grader itself failed on it: no score now, graded again next time

    @property
    def scored(self):
        """Whether the notebook has a score of its own (graded as far as it got), rather than none at all."""
        return self not in (Outcome.UNREADABLE, Outcome.NOT_GRADABLE)

    @property
    def final(self):
        """Whether this outcome stands until the submission changes (a grader error is tried again next time)."""
        return self is not Outcome.GRADER_ERROR


@dataclass(frozen=True)
class Status:
    """An :class:`Outcome` and what a person needs to know about it."""

    outcome: Outcome = Outcome.GRADED
    detail: str = ""

    def __str__(self):
        """For the instructor: "" when graded, else the outcome's word and its detail ("timeout", "unreadable: ...")."""
        if not self.detail:
            return self.outcome.value
        if self.outcome is Outcome.KERNEL_ERROR or self.outcome is Outcome.GRADER_ERROR:
            return f"{self.outcome.value} ({self.detail})"
        return f"{self.outcome.value}: {self.detail}"

    def __bool__(self):
        return self.outcome is not Outcome.GRADED

    def to_json(self):
        return {"outcome": self.outcome.name, "detail": self.detail}

    @classmethod
    def from_json(cls, entry):
        return cls(Outcome[entry["outcome"]], entry.get("detail", ""))


GRADED = Status()


def kernel_status(error):
    """The status of a notebook whose kernel raised ``error`` while it ran (None: it ran to its end), by type."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if error is None:
        return GRADED
    if isinstance(error, CellTimeoutError):
        return Status(Outcome.TIMEOUT)
    if isinstance(error, DeadKernelError):
        return Status(Outcome.KERNEL_DIED)
    return Status(Outcome.KERNEL_ERROR, type(error).__name__)


# is it a notebook at all ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """What is wrong with a submitted file nbgrader could not grade, told to the instructor or to the learner."""

    kind: str  # "empty", "not text", "not JSON", "not a notebook" or "cells changed"
    detail: str = ""  # the decoder's or nbformat's own words
    line: int = 0
    column: int = 0

    def status(self):
        """The grading status of a notebook that could not be graded for this reason, for the instructor."""
        if self.kind == "cells changed":
            return Status(Outcome.NOT_GRADABLE, "nbgrader could not match its graded cells to the assignment's "
                                                "(cells changed or removed)")
        if self.kind == "not JSON":
            return Status(Outcome.UNREADABLE, f"not valid JSON ({self.detail}, line {self.line} column {self.column}): "
                                              "the file is cut short or was edited outside Jupyter")
        if self.kind == "not a notebook":
            return Status(Outcome.UNREADABLE, f"JSON, but not a valid notebook ({self.detail})")
        return Status(Outcome.UNREADABLE, f"{'the file is empty' if self.kind == 'empty' else 'not a text file'}"
                                          f"{self.detail}")

    def for_learner(self):
        if self.kind == "empty":
            return "The file you handed in is empty."
        if self.kind == "not text":
            return f"The file you handed in is not a notebook: it is not text{self.detail}."
        if self.kind == "not JSON":
            return (f"The file you handed in is not a complete notebook: it breaks off or goes wrong at line "
                    f"{self.line}, column {self.column} ({self.detail}). This happens when a notebook is cut short "
                    "while it is saved or uploaded, or edited outside Jupyter.")
        if self.kind == "not a notebook":
            return f"The file you handed in is JSON, but not a Jupyter notebook ({self.detail})."
        return ("The grader could not match your notebook's graded cells to the assignment's: "
                "a graded cell may have been deleted, copied or changed.")


def unreadable(data):
    """Why the bytes ``data`` are not a notebook (an :class:`Unreadable`), or None when they are one."""
    import nbformat

    if not data.strip():
        return Unreadable("empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Unreadable("not text", f" (byte {error.start} cannot be read)")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        return Unreadable("not JSON", error.msg, error.lineno, error.colno)
    try:
        nbformat.validate(nbformat.from_dict(notebook))
    except Exception as error:  # noqa: BLE001 - nbformat raises several kinds
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return Unreadable("not a notebook", first[:160])
    return None


def diagnose(path):
    """Why the submitted notebook at ``path`` could not be graded (an :class:`Unreadable`): "cells changed" when
    it reads as a notebook."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return Unreadable("empty", " (the file is missing)")
    return unreadable(data) or Unreadable("cells changed")


# what was graded and fed back from what ---------------------------------------------------------------------


class State:
    """
    ``autograder/state.json``: per learner's assignment (``"student/assignment"``), the fingerprint of what it
    was last graded from, each notebook's :class:`Status` and best score of all its gradings (after any late
    penalty), and the fingerprint of the feedback page written from its grades. Read at the start of a command,
    saved once at its end: :meth:`save` writes only the entries this command changed into the file as it is then,
    under a lock (``state.json.lock``), so commands running at once (the hub's grading lanes, the instructor's
    ``grade``) keep each other's entries.
    """

    FILE = "state.json"

    def __init__(self, coursedir):
        self.coursedir = coursedir
        self.folder = Path(coursedir.root) / Path(coursedir.autograded_directory).parent
        self.path = self.folder / self.FILE
        self.changed = set()  # the keys of the entries this command wrote
        self.entries = self._read()

    def _read(self):
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return _from_earlier_files(self.folder)

    def _entry(self, student, assignment):
        self.changed.add(f"{student}/{assignment}")
        return self.entries.setdefault(f"{student}/{assignment}", {"graded_from": "", "statuses": {}, "feedback": ""})

    # grading

    def graded_from(self, student, assignment):
        """The fingerprint of what the learner's assignment was last graded from ("" if never)."""
        return self.entries.get(f"{student}/{assignment}", {}).get("graded_from", "")

    def status(self, student, assignment, notebook):
        entry = self.entries.get(f"{student}/{assignment}", {}).get("statuses", {}).get(notebook)
        return Status.from_json(entry) if entry else GRADED

    def statuses(self):
        """{(student, assignment, notebook): Status} of every notebook whose last grading did not simply end."""
        found = {}
        for key, entry in self.entries.items():
            student, assignment = key.split("/", 1)
            for notebook, status in entry.get("statuses", {}).items():
                if status["outcome"] != Outcome.GRADED.name:
                    found[student, assignment, notebook] = Status.from_json(status)
        return found

    def graded(self, student, assignment, notebook, status, fingerprint, score=None):
        """Remember that the notebook was graded from ``fingerprint``, ended with ``status`` and scored ``score``."""
        entry = self._entry(student, assignment)
        entry["graded_from"] = fingerprint
        entry["statuses"][notebook] = status.to_json()
        if score is not None:
            best = entry.setdefault("best", {})
            best[notebook] = max(best.get(notebook, score), score)

    def best(self, student, assignment, notebook):
        """The best score any grading of the notebook gave (None if none was recorded)."""
        return self.entries.get(f"{student}/{assignment}", {}).get("best", {}).get(notebook)

    # feedback

    def feedback_from(self, student, assignment):
        """The fingerprint of the grades the learner's feedback page of ``assignment`` was written from."""
        return self.entries.get(f"{student}/{assignment}", {}).get("feedback", "")

    def fed_back(self, student, assignment, fingerprint):
        self._entry(student, assignment)["feedback"] = fingerprint

    def save(self):
        """Write this command's changed entries into the file as another command may have left it meanwhile (the
        best score is the best of both), atomically: a reader sees the old file or the new one, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file closes
            entries = self._read()
            for key in self.changed:
                mine, theirs = self.entries[key], entries.get(key, {})
                best = {**theirs.get("best", {}), **mine.get("best", {})}
                for notebook, score in theirs.get("best", {}).items():
                    best[notebook] = max(best[notebook], score)
                entries[key] = {**mine, **({"best": best} if best else {})}
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, prefix=".state-", delete=False) as handle:
                handle.write(json.dumps(entries, indent=1, sort_keys=True) + "\n")
            try:
                mode = os.stat(self.path).st_mode & 0o777  # as readable as the file it replaces
            except FileNotFoundError:
                mode = 0o644
            os.chmod(handle.name, mode)
            os.replace(handle.name, self.path)
        self.entries, self.changed = entries, set()


def _from_earlier_files(folder):
    """A course graded before state.json existed kept graded.json and feedback.json: read them once."""
    entries = {}
    try:
        graded = json.loads((folder / "graded.json").read_text())
    except (FileNotFoundError, ValueError):
        graded = {}
    for key, old in graded.items():
        statuses = {notebook: _status_from_words(problem).to_json() for notebook, problem in old.get("problems", {}).items()}
        entries[key] = {"graded_from": old.get("fingerprint", ""), "statuses": statuses, "feedback": ""}
    try:
        pages = json.loads((folder / "feedback.json").read_text())
    except (FileNotFoundError, ValueError):
        pages = {}
    for key, fingerprint in pages.items():
        entries.setdefault(key, {"graded_from": "", "statuses": {}, "feedback": ""})["feedback"] = fingerprint
    return entries


def _status_from_words(problem):
    # only for reading the files of the grader before state.json: it wrote outcomes as text
    for outcome in sorted(Outcome, key=lambda o: -len(o.value)):
        if outcome.value and problem.startswith(outcome.value):
            return Status(outcome, problem[len(outcome.value):].lstrip(" :(").rstrip(")"))
    return GRADED


def fingerprint(paths, root):
    """A digest of the files ``paths`` (their names relative to ``root`` and their bytes)."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
