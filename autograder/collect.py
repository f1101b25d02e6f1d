"""Bring submissions into ``autograder/submitted/<student>/<assignment>/<notebook>.ipynb``.

``collect SOURCE`` takes a folder, a zip file or one notebook. Inside, each notebook is
placed by its path:

- nbgrader's shape ``STUDENT/ASSIGNMENT/NOTEBOOK.ipynb`` (a ``timestamp.txt`` next to the
  notebook, as nbgrader's exchange writes it, gives the submission time);
- Canvas's "Download Submissions": ``lastnamefirstname[_LATE]_USERID_FILEID_<file name>``,
  e.g. ``smithjohn_12345_678901_01_rnn.ipynb``; the student is ``smithjohn``, Canvas's user
  id is kept as the LMS id, and ``01_rnn-1.ipynb``, ``01_rnn-2.ipynb`` (the names Canvas gives
  a file uploaded again) are ``01_rnn``, the highest number being the latest;
- Moodle's "Download all submissions": ``Full Name_PARTICIPANTID_assignsubmission_file_/<file
  name>`` (or the same prefix on the file name, without the folder); the student id is the
  name made an id (``john_smith``), the participant id is kept as the LMS id;
- an LMS-style flat name, ``<student>_<notebook>.ipynb``; one notebook given on its own is
  read the same way from its file name.

The notebook name must be one of the course's. Each submission's time goes into nbgrader's
``timestamp.txt`` next to it (``nbgrader autograde`` and ``python -m autograder grade`` read it
into the gradebook, where a due date makes it late): nbgrader's own time if the source has
one, else the zip entry's time, else the file's modification time. Canvas's zip dates its files
when it was made, so a notebook Canvas counts on time but dated after the assignment's deadline
is recorded at the deadline. When a learner's notebook was collected before, an identical file
changes nothing; a different, newer one replaces it and the previous one is kept in
``autograder/history/<student>/<assignment>/<time>/``; an older one does not replace it. Of
several versions in one download, the latest is taken. Students not yet in the gradebook are
added, with their LMS id. A file that cannot be placed is reported and skipped; a notebook that
cannot be read is still collected (grading reports it).
"""

import contextlib
import os
import re
import shutil
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from autograder.submissions import unreadable

STUDENT_ID = re.compile(r"^\w[\w.@-]*$")  # letters of any alphabet (renée, 李), digits and _ . @ -
# Canvas (lib/content_zipper.rb): [sortable name lower-cased, its non-word characters removed, "LATE" if late,
# user id] joined by "_", then "_<attachment id>_<file name>"; anonymous grading puts anon_<id> for the name and user id
CANVAS = re.compile(r"^(?:(?P<anonymous_late>(?i:late)_)?(?P<anonymous>anon_[A-Za-z0-9]+)"
                    r"|(?P<name>\w+?)(?P<late>_(?i:late))?_(?P<user_id>\d+))_\d+_(?P<file>.+)$")
CANVAS_COPY = re.compile(r"^(?P<stem>.+?)-(?P<copy>\d+)$")  # Attachment.make_unique_filename: 01_rnn-1.ipynb
# Moodle (mod/assign/locallib.php, download_submissions): "<full name>_<participant id>_assignsubmission_file_",
# the folder of a learner's files (or, when not downloaded as folders, the prefix of each file name)
MOODLE = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_file_(?P<file>.*)$")
NOTEBOOK_LIKE = re.compile(r"_(?P<notebook>\d+_.+)$")  # erin_05_training: the notebook 05_training was meant
HISTORY = "history"  # next to submitted/: earlier versions of replaced submissions
TIMESTAMP = "timestamp.txt"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format, written in UTC


class SourceError(Exception):
    """The source is neither a folder, a zip file nor a notebook."""


@dataclass(frozen=True)
class Entry:
    """A file of the source: its path inside it, when it was submitted (UTC) and how to read it."""
    name: str
    time: datetime
    read: Callable[[], bytes]
    note: Optional[str] = None


@dataclass(frozen=True)
class Placed:
    """Where a file goes, and what its name says about it."""
    student: str
    assignment: str
    notebook: str
    lms: str = ""  # "canvas" or "moodle": the LMS whose user id ``lms_id`` is
    lms_id: Optional[str] = None
    copy: int = 0  # Canvas's -N: the higher, the later
    late: bool = False
    nbgrader: bool = False


def _decode(raw, fallback):
    """A file name from its bytes: UTF-8 if it is, else ``fallback`` (with a note)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode(fallback), f"its name is not UTF-8, read as {fallback}"


def _mtime(path):
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _zip_time(info):
    """When a zip entry was last changed: its extended-timestamp field (UTC) if it has one, else its
    DOS date_time, which has no time zone, read as this machine's local time."""
    extra = info.extra
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        if kind == 0x5455 and size >= 5 and extra[4] & 1:  # Info-ZIP's "UT" field, modification time first
            return datetime.fromtimestamp(struct.unpack("<I", extra[5:9])[0], timezone.utc)
        extra = extra[4 + size:]
    return datetime(*info.date_time).astimezone(timezone.utc)


@contextlib.contextmanager
def _opened(source):
    """The files of a folder, a zip file or one notebook, as a list of :class:`Entry`."""
    source = Path(source)
    if source.is_dir():
        paths = sorted((p for p in source.rglob("*") if p.is_file()), key=os.fsencode)
        entries = []
        for path in paths:
            name, note = _decode(os.fsencode(path.relative_to(source)), "latin-1")
            entries.append(Entry(name, _mtime(path), path.read_bytes, note))
        yield entries
    elif source.is_file() and source.suffix == ".ipynb":
        name, note = _decode(os.fsencode(source.name), "latin-1")
        yield [Entry(name, _mtime(source), source.read_bytes, note)]
    elif source.is_file() and zipfile.is_zipfile(source):
        try:
            archive = zipfile.ZipFile(source)
        except zipfile.BadZipFile as error:
            raise SourceError(f"{source} is not a readable zip file ({error})") from None
        with archive:
            entries = []
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name, note = info.filename, None
                if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile read the name as cp437
                    name, note = _decode(info.filename.encode("cp437"), "cp437")
                entries.append(Entry(name, _zip_time(info), lambda info=info: archive.read(info), note))
            yield entries
    elif not source.exists():
        raise SourceError(f"{source}: no such file or folder")
    else:
        raise SourceError(f"{source} is neither a folder, a zip file nor a notebook (.ipynb)")


def _student_id(name):
    """A valid student id from a person's name: John Smith -> john_smith, Renée O'Hara -> renée_ohara."""
    words = unicodedata.normalize("NFC", name).lower().split()
    return re.sub(r"[^\w.@-]", "", "_".join(words)).lstrip(".@-")


def _unknown(stem, notebooks):
    known = ", ".join(sorted(notebooks))
    if stem is None:
        return ("not STUDENT/ASSIGNMENT/NOTEBOOK.ipynb, <student>_<notebook>.ipynb nor a Canvas or Moodle "
                f"download of a course notebook ({known})")
    return f"the course has no notebook {stem}; its notebooks are {known}"


def _lms_notebook(file_name, notebooks):
    """(notebook, copy) of a file name an LMS kept, or a reason why it is none of the course's."""
    stem = file_name[: -len(".ipynb")]
    copy = CANVAS_COPY.match(stem)
    if stem not in notebooks and copy and copy["stem"] in notebooks:
        return copy["stem"], int(copy["copy"])
    if stem in notebooks:
        return stem, 0
    return _unknown(copy["stem"] if copy else stem, notebooks)


def place(relative, notebooks):
    """A :class:`Placed` for a file (``notebooks``: {notebook: assignment}), or a reason why it cannot be placed."""
    parts = relative.split("/")
    name = parts[-1]
    if not name.endswith(".ipynb") or "/." in "/" + relative or "__MACOSX" in parts:
        return "not a notebook"
    stem = name[: -len(".ipynb")]
    moodle = next((m for m in map(MOODLE.match, parts) if m), None)
    canvas = CANVAS.match(name)
    if moodle:
        found = _lms_notebook(moodle["file"] or name, notebooks)
        if isinstance(found, str):
            return found
        person = moodle["name"]  # blind marking names everyone "Participant"
        student = f"participant_{moodle['participant']}" if person == "Participant" else _student_id(person)
        placed = Placed(student, notebooks[found[0]], found[0], "moodle", moodle["participant"])
    elif len(parts) >= 3 and stem in notebooks and notebooks[stem] == parts[-2]:
        placed = Placed(parts[-3], notebooks[stem], stem, nbgrader=True)
    elif canvas:
        found = _lms_notebook(canvas["file"], notebooks)
        if isinstance(found, str):
            return found
        student = canvas["name"] or canvas["anonymous"]
        late = bool(canvas["late"] or canvas["anonymous_late"])
        placed = Placed(student, notebooks[found[0]], found[0], "canvas", canvas["user_id"], found[1], late)
    elif stem in notebooks:
        return (f"its name says no student: name it <student>_{name}, or put it in "
                f"<student>/{notebooks[stem]}/{name}")
    else:
        matches = [nb for nb in notebooks if stem.endswith("_" + nb)]
        if not matches:
            meant = NOTEBOOK_LIKE.search(stem)
            return _unknown(meant["notebook"] if meant else stem if parts[-2:-1] == [stem] else None, notebooks)
        notebook = max(matches, key=len)
        placed = Placed(stem[: -len("_" + notebook)], notebooks[notebook], notebook)
    if not STUDENT_ID.match(placed.student):
        return f"student id {placed.student!r} has characters other than letters, digits and _ . @ -"
    return placed


def _parse_time(text):
    """A time written in nbgrader's timestamp.txt, read by nbgrader's own parser (UTC), or None."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text.strip()).replace(tzinfo=timezone.utc) if text.strip() else None
    except (ValueError, OverflowError):
        return None


def _collected_time(folder):
    """When the submission collected in ``folder`` was submitted, or None (no or no valid timestamp.txt)."""
    stamp = folder / TIMESTAMP
    return _parse_time(stamp.read_text(errors="replace")) if stamp.exists() else None


def _shown(time):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC")


class _Students:
    """Student ids for LMS users: the one the gradebook (or this download) already gives their LMS id, else
    the id from their name, with the LMS id appended when a different learner of the same name has it."""

    def __init__(self, gradebook):
        self.known = {s.id: s.lms_user_id for s in gradebook.students}
        self.by_lms_id = {lms_id: student for student, lms_id in self.known.items() if lms_id}
        self.here = {}  # student id -> LMS id, in this download

    def __call__(self, placed):
        if placed.lms_id is None:
            return placed.student
        if placed.lms_id in self.by_lms_id:
            return self.by_lms_id[placed.lms_id]
        holder = self.here.get(placed.student)
        if holder is None and placed.lms == "canvas":  # a Canvas user id is for life; Moodle's is per assignment
            holder = self.known.get(placed.student)
        student = placed.student if holder in (None, placed.lms_id) else f"{placed.student}_{placed.lms_id}"
        self.here[student] = placed.lms_id
        self.by_lms_id[placed.lms_id] = student
        return student


def _keep_previous(folder, notebook, history):
    """Move a collected notebook (and its timestamp.txt) to ``history/<its time>/``; return where it went."""
    stamp = folder / TIMESTAMP
    previous = folder / f"{notebook}.ipynb"
    base = history / (_collected_time(folder) or _mtime(previous)).strftime("%Y-%m-%dT%H-%M-%SZ")
    kept, count = base, 1
    while kept.exists():  # two versions submitted in the same second
        count += 1
        kept = base.with_name(f"{base.name}-{count}")
    kept.mkdir(parents=True)
    os.replace(previous, kept / previous.name)
    if stamp.exists():
        shutil.copy2(stamp, kept / TIMESTAMP)
    return kept / previous.name


def _store(coursedir, student, assignment, notebook, entry, time):
    """Write one submission unless the one collected is the same or newer; return (written, notes)."""
    root = Path(coursedir.root)
    label = f"{student}/{assignment}" + ("" if notebook == assignment else f"/{notebook}")
    folder = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    target = folder / f"{notebook}.ipynb"
    try:
        content = entry.read()
    except (OSError, zipfile.BadZipFile, zlib.error) as error:  # a damaged zip entry
        return False, [f"{entry.name}: skipped: it cannot be read ({type(error).__name__}: {error})"]
    notes = []
    if target.exists():
        previous_time = _collected_time(folder)
        if target.read_bytes() == content:
            when = f"submitted {_shown(previous_time)}" if previous_time else "collected before"
            return False, [f"unchanged {label} ({when}): {entry.name} is the same file"]
        if previous_time and time < previous_time:
            return False, [f"not replaced {label}: {entry.name} (submitted {_shown(time)}) is older than the one "
                           f"collected (submitted {_shown(previous_time)})"]
        history = root / Path(coursedir.submitted_directory).parent / HISTORY / student / assignment
        kept = _keep_previous(folder, notebook, history)
        notes.append(f"replaced {label} (submitted {_shown(time)}, previous kept as {kept.relative_to(root)})")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    (folder / TIMESTAMP).write_text(time.strftime(TIMESTAMP_FORMAT))
    problem = unreadable(content)
    if problem:
        notes.append(f"{entry.name}: collected, but it is not a readable notebook ({problem.status().detail})")
    return True, notes


def _versions(entries, notebooks, students, notes):
    """{(student, assignment, notebook): [(placed, entry, time)]} of the files that can be placed."""
    stamps = {e.name: e for e in entries if e.name.rsplit("/", 1)[-1] == TIMESTAMP}
    versions = {}
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.note:
            notes.append(f"{entry.name}: {entry.note}")
        placed = place(entry.name, notebooks)
        if isinstance(placed, str):
            if entry.name not in stamps:
                notes.append(f"{entry.name}: skipped: {placed}")
            continue
        time = entry.time
        stamp = stamps.get(entry.name.rsplit("/", 1)[0] + "/" + TIMESTAMP)
        if placed.nbgrader and stamp:  # only nbgrader's own: a learner could upload a timestamp.txt to an LMS
            time = _parse_time(stamp.read().decode("utf-8", errors="replace")) or time
        versions.setdefault((students(placed), placed.assignment, placed.notebook), []).append((placed, entry, time))
    return versions


def _deadline(gradebook, assignment):
    """The assignment's deadline in the gradebook (UTC), or None."""
    from nbgrader.api import MissingEntry

    try:
        due = gradebook.find_assignment(assignment).duedate
    except MissingEntry:
        return None
    return due and due.replace(tzinfo=timezone.utc)


def collect(source, coursedir, db_url, notebooks):
    """
    Copy the submissions found in ``source`` (a folder, zip file or notebook; ``notebooks``: {notebook:
    assignment} of the course) into the course's submitted/ folder. Raises SourceError for any other source.
    Returns (collected, notes): the notebooks written, as ``student/assignment/notebook.ipynb``, and one line
    per file the instructor should read about (skipped, unreadable, replaced, unchanged, older, late).
    """
    from nbgrader.api import Gradebook

    collected, notes, on_time = [], [], {}
    with _opened(source) as entries, Gradebook(db_url) as gradebook:
        versions = _versions(entries, notebooks, _Students(gradebook), notes)
        for (student, assignment, notebook), found in versions.items():
            placed, entry, time = max(found, key=lambda version: (version[0].copy, version[2]))
            notes += [f"{other.name}: skipped: {entry.name} in this download is a later version"
                      for _, other, _ in found if other is not entry]
            if placed.late:
                notes.append(f"{entry.name}: Canvas marks it late")
            elif placed.lms == "canvas" and time > (_deadline(gradebook, assignment) or time):
                # Canvas's zip dates its files when it was made; Canvas says this one came by the deadline
                on_time[assignment] = on_time.get(assignment, 0) + 1
                time = _deadline(gradebook, assignment)
            lms_id = {"lms_user_id": placed.lms_id} if placed.lms_id else {}
            gradebook.update_or_create_student(student, **lms_id)
            written, said = _store(coursedir, student, assignment, notebook, entry, time)
            notes += said
            if written:
                collected.append(f"{student}/{assignment}/{notebook}.ipynb")
    notes += [f"{count} notebook(s) of {assignment} on time by Canvas recorded as submitted at its deadline: "
              "Canvas's zip dates its files when it was made, after the deadline"
              for assignment, count in on_time.items()]
    return collected, notes
