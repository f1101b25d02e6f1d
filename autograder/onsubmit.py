"""
Feedback on submit: the hub's grading service (``python -m autograder.onsubmit``; hub/jupyterhub_config.py starts it
as root, so the grader's sandbox holds).

It watches nbgrader's exchange inbound folder. Each new submission goes into a journal (SQLite, in the hub's private
state folder) and is then, by the course's own steps, collected (:mod:`autograder.collect`), graded for that learner
alone (:func:`autograder.grade.grade`, sandboxed, with their earlier notebooks), given its feedback page
(:func:`autograder.feedback.generate`) and released to that learner only: nbgrader's exchange feedback folder, under
the name nbgrader derives from the submission's secret, so *Fetch Feedback* shows it and nobody else can find it.

- One grading at a time per learner, ``OnSubmit.lanes`` learners at once, each grading in a process of its own
  (with its own range of sandbox uids). The journal says what is queued, running and done: a service killed
  mid-grade, or stopped with the hub, grades that submission again when it starts, once, and nothing twice.
- A fair limit, per assignment (``OnSubmit.limits``): at most ``graded`` graded submissions per learner in any
  ``period_minutes`` and at least ``wait_minutes`` between two. A submission over the limit is kept (it is in the
  exchange; the latest still counts when the instructor collects), its learner gets a page saying when their next
  graded submission is possible, and it is graded then, unless a later one replaced it.
- Exam mode (``OnSubmit.exam``): submissions are accepted and nothing is graded or returned; the instructor grades
  and releases as usual (``grade``, ``feedback``, ``nbgrader release_feedback``). An assignment taken out of exam
  mode gets each learner's latest submission graded and returned.
- A submission whose folder is not its learner's own (nbgrader trusts the name), or whose files are links or too
  large, is refused. What the learner's code may do while it is graded is the sandbox's business.

Each grading's files in the course folder go back to the course's owner (the instructor), so that formgrader and
the instructor's own commands keep working beside the service. The course's ``nbgrader_config.py``, which the
instructor writes, is never run by root: the instructor's account reads it and root gets its settings as data
(:func:`autograder.course.own_settings`); no nbgrader command runs as root, only nbgrader's steps in this process.
Nor are the course's solutions: the re-checks ask a process of the instructor's account (:mod:`autograder.reference`).
"""

import contextlib
import ctypes
import json
import os
import pwd
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from traitlets import Dict, Enum, Integer, List, Unicode
from traitlets.config import Configurable

from autograder import course

INBOUND_NAME = re.compile(r"^(?P<student>[^+/]+)\+(?P<assignment>[^+/]+)\+(?P<timestamp>[^+/]+)(\+[^+/]*)?$")
MAX_FILE_BYTES = 100 * 1024**2  # nbgrader's own submit refuses files over 100 MB
POLL_SECONDS = 0.25
DEFAULT_LIMIT = {"graded": 3, "period_minutes": 60, "wait_minutes": 0}
# a grading lane's sandbox uids: FIRST_UID + LANE_UIDS * (lane + 1) onwards, clear of the instructor's `grade`
LANE_UIDS = 100


class OnSubmit(Configurable):
    """
    Feedback on submit, set in the course's ``nbgrader_config.py``, e.g.::

        c.OnSubmit.limits = {"01_rnn": {"graded": 3, "period_minutes": 60, "wait_minutes": 5}}
        c.OnSubmit.exam = ["08_seq2seq"]
        c.OnSubmit.counts = "best"
    """

    limit = Dict(DEFAULT_LIMIT,
                 help="Every assignment's limit: graded submissions per learner per period, minutes between two"
                 ).tag(config=True)
    limits = Dict({}, help="Per assignment, its own limit (keys as in `limit`; those left out come from it)"
                  ).tag(config=True)
    exam = List(Unicode(), help="Assignments in exam mode: accepted, nothing graded or returned").tag(config=True)
    counts = Enum(["latest", "best"], "latest",
                  help="Which graded submission's score counts in the export: the latest, or the best").tag(config=True)
    lanes = Integer(2, help="Learners graded at once (one grading at a time per learner)").tag(config=True)

    def limit_of(self, assignment):
        return {**DEFAULT_LIMIT, **self.limit, **self.limits.get(assignment, {})}


def settings():
    return OnSubmit(config=course.load_config())


# the journal -------------------------------------------------------------------------------------------------------


class Journal:
    """
    What the service saw and did, one row per submission folder of the inbound (its name is the key): ``status`` is
    queued, running, graded, failed (the grader could not finish; a page says so), waiting (over the limit, until
    ``not_before``), held (exam mode), superseded (a later submission was graded instead) or refused.
    """

    STATUSES = ("queued", "running", "graded", "failed", "waiting", "held", "superseded", "refused")

    def __init__(self, path):
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS submissions (
            folder TEXT PRIMARY KEY, student TEXT, assignment TEXT, seen REAL, status TEXT, not_before REAL,
            pid INTEGER, attempts INTEGER DEFAULT 0, graded INTEGER DEFAULT 0, finished REAL, note TEXT,
            timings TEXT)""")

    def rows(self, where="1", *args):
        with self.lock:
            return self.db.execute(f"SELECT * FROM submissions WHERE {where} ORDER BY seen, folder", args).fetchall()

    def add(self, folder, student, assignment, status, not_before=None, note=""):
        with self.lock:
            self.db.execute("INSERT OR IGNORE INTO submissions (folder, student, assignment, seen, status, not_before,"
                            " note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (folder, student, assignment, time.time(), status, not_before, note))

    def set(self, folder, **fields):
        with self.lock:
            names = ", ".join(f"{name} = ?" for name in fields)
            self.db.execute(f"UPDATE submissions SET {names} WHERE folder = ?", (*fields.values(), folder))

    def known(self):
        with self.lock:
            return {row[0] for row in self.db.execute("SELECT folder FROM submissions")}

    def claim(self):
        """The next submission to grade, marked running, or None: the oldest queued one of a learner with nothing
        running; their earlier queued ones of the same assignment are superseded by the latest."""
        with self.lock:
            busy = {row[0] for row in self.db.execute("SELECT student FROM submissions WHERE status = 'running'")}
            for row in self.db.execute("SELECT * FROM submissions WHERE status = 'queued' ORDER BY seen, folder"):
                if row["student"] in busy:
                    continue
                same = self.db.execute("SELECT folder FROM submissions WHERE status = 'queued' AND student = ? AND "
                                       "assignment = ? ORDER BY seen, folder", (row["student"], row["assignment"]))
                *earlier, latest = [found[0] for found in same]
                for folder in earlier:
                    self.db.execute("UPDATE submissions SET status = 'superseded', note = ? WHERE folder = ?",
                                    (f"a later submission ({latest}) was graded", folder))
                self.db.execute("UPDATE submissions SET status = 'running', attempts = attempts + 1 WHERE folder = ?",
                                (latest,))
                return self.db.execute("SELECT * FROM submissions WHERE folder = ?", (latest,)).fetchone()
        return None

    def next_graded(self, student, assignment, limit, now):
        """When ``student`` may next have a submission of ``assignment`` graded (now or later), by ``limit``:
        the submissions graded, running or queued count, each at the time it was graded (or seen)."""
        with self.lock:
            times = sorted(row[0] for row in self.db.execute(
                "SELECT COALESCE(finished, seen) FROM submissions WHERE student = ? AND assignment = ? AND "
                "(status IN ('queued', 'running') OR graded > 0)", (student, assignment)))
        period, wait = 60 * limit["period_minutes"], 60 * limit["wait_minutes"]
        recent = [moment for moment in times if moment > now - period]
        allowed = now
        if len(recent) >= limit["graded"]:
            allowed = recent[len(recent) - limit["graded"]] + period
        if times:
            allowed = max(allowed, times[-1] + wait)
        return allowed


# a submission in the exchange ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    folder: Path  # in the inbound
    student: str
    assignment: str

    @classmethod
    def parse(cls, folder):
        found = INBOUND_NAME.match(Path(folder).name)
        return cls(Path(folder), found["student"], found["assignment"]) if found else None

    def why_refused(self):
        """Why this folder is not a submission of its learner's ("" when it is)."""
        try:
            owner = pwd.getpwnam(self.student).pw_uid
        except KeyError:
            return f"no account {self.student}"
        info = os.lstat(self.folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner:
            return f"{self.folder.name} is not a folder of {self.student}'s"
        return ""

    def files(self):
        """{name: bytes} of the submission's regular files of its learner's (never a link), each at most
        MAX_FILE_BYTES, without the submission's secret."""
        owner = pwd.getpwnam(self.student).pw_uid
        found = {}
        for name in sorted(os.listdir(self.folder)):
            data = self._read(name, owner)
            if data is not None and name != "submission_secret.txt":
                found[name] = data
        return found

    def secret(self):
        data = self._read("submission_secret.txt", pwd.getpwnam(self.student).pw_uid)
        return data.decode("ascii", errors="replace") if data is not None else None

    def notebooks(self):
        return sorted(name[: -len(".ipynb")] for name in os.listdir(self.folder) if name.endswith(".ipynb"))

    def _read(self, name, owner):
        try:
            handle = os.open(self.folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(handle, "rb") as opened:
            info = os.fstat(opened.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != owner or info.st_size > MAX_FILE_BYTES:
                return None
            return opened.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]


def exchange_course():
    """nbgrader's exchange folder of this course (RNNLAB_EXCHANGE, as hub/everyone/nbgrader_config.py has it)."""
    return Path(os.environ["RNNLAB_EXCHANGE"]) / course.load_config().CourseDirectory.course_id


def publish(page, submission, notebook, root):
    """Put ``page`` (HTML bytes) where nbgrader's Fetch Feedback finds it for ``submission``'s ``notebook``: the
    exchange's feedback folder (0711, the course owner's, as `nbgrader release_feedback` makes it), under the hash
    of the submission's secret, so only its learner (and the instructor) can name it."""
    from nbgrader.utils import notebook_hash

    secret = submission.secret()
    if secret is None:
        return None
    owner = os.stat(root)
    folder = exchange_course() / "feedback"
    if not folder.exists():
        folder.mkdir(mode=0o711)
        folder.chmod(0o711)
        os.chown(folder, owner.st_uid, owner.st_gid)
    target = folder / f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
    with tempfile.NamedTemporaryFile(dir=folder, suffix="-tmp.html", delete=False) as handle:
        handle.write(page)
    os.chmod(handle.name, 0o644)
    os.chown(handle.name, owner.st_uid, owner.st_gid)
    os.replace(handle.name, target)
    return target


def notice_page(submission, message):
    """A learner's page for a submission that is not graded now, saying why and what happens next."""
    import html

    title = f"{submission.assignment}: received, not graded yet"
    # Inline style only (the page loads nothing), in the spirit of the feedback pages.
    style = ("body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.5;"
             "color:#222}h1{font-size:1.4em;font-weight:normal}p{background:#fff8e1;border-left:4px solid #f0b400;"
             "padding:.8em 1em}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>\n").encode()


def _shown(moment):
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# one grading (a process of its own) ----------------------------------------------------------------------------------


def grade_one(folder, pool=None):
    """Collect, grade, write feedback for and release one submission (the inbound ``folder``), in ``pool`` (a
    sandboxed grading worker already started) if given; return the times of the steps and the learner's score."""
    from autograder import feedback
    from autograder.collect import collect
    from autograder.grade import grade

    submission = Submission.parse(folder)
    root = course.root()
    config = course.load_config()
    coursedir = course.coursedir(config)
    timings, start, started_at = {}, time.perf_counter(), time.time()
    try:
        with tempfile.TemporaryDirectory() as source:
            place = Path(source) / submission.student / submission.assignment
            place.mkdir(parents=True)
            for name, data in submission.files().items():
                (place / name).write_bytes(data)
            collect(source, coursedir, coursedir.db_url, course.notebooks(root))
        timings["collect"] = time.perf_counter() - start
        results = grade([submission.assignment], workers=1, config=config, students=[submission.student],
                        changed_only=True, pool=pool)
        timings["grade"] = time.perf_counter() - start - sum(timings.values())
        problems = feedback.generate([submission.assignment], root, student=submission.student, changed_only=True)
        timings["feedback"] = time.perf_counter() - start - sum(timings.values())
        pages = Path(root) / coursedir.feedback_directory / submission.student / submission.assignment
        released = [publish((pages / f"{notebook}.html").read_bytes(), submission, notebook, root)
                    for notebook in submission.notebooks() if (pages / f"{notebook}.html").exists()]
        timings["release"] = time.perf_counter() - start - sum(timings.values())
    finally:
        give_back(root, coursedir)
    return {"timings": timings, "started_at": started_at, "score": sum(r.score for r in results),
            "max_score": sum(r.max_score for r in results), "released": len([page for page in released if page]),
            "problems": problems}


def give_back(root, coursedir):
    """
    Every file root made in the course's grader folder goes to the course's owner (gradebook, state.json,
    submitted/, autograded/, feedback/): the instructor's own commands and formgrader write them next. Only inside
    the course folder, whatever its settings name, and never through a link the owner may have put there: the
    folder is walked by file descriptors (os.fwalk, which follows no link, even one swapped in meanwhile), so root
    hands over nothing of anyone else's.
    """
    owner = os.stat(root)
    if owner.st_uid == 0:
        return
    folder = Path(root) / Path(coursedir.autograded_directory).parent
    course = Path(root).resolve()
    if folder.resolve() != course and course not in folder.resolve().parents:
        print(f"rnnlab-grader: {folder} is outside the course {course}: its files stay as they are", flush=True)
        return
    for _, directories, files, at in os.fwalk(folder, follow_symlinks=False):
        for name in [*directories, *files]:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(name, dir_fd=at, follow_symlinks=False).st_uid == 0:
                    os.chown(name, owner.st_uid, owner.st_gid, dir_fd=at, follow_symlinks=False)
    with contextlib.suppress(FileNotFoundError):
        if os.lstat(folder).st_uid == 0 and not folder.is_symlink():
            os.lchown(folder, owner.st_uid, owner.st_gid)


# the service -----------------------------------------------------------------------------------------------------


_PRCTL = ctypes.CDLL(None).prctl  # looked up here: between fork and exec only the call is safe


def _die_with_parent():
    _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a grading ends when the service (its lane's thread) does


def _is_grading(pid):
    """True when ``pid`` is still one of this service's gradings (not a process that got its number since)."""
    try:
        return b"autograder.onsubmit\0grade" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class Service:
    """The poll loop over the inbound and ``lanes`` grading threads, each running one grading process at a time."""

    def __init__(self, journal, say=print):
        self.journal, self.say = journal, say
        self.stopping = threading.Event()
        self.queued = threading.Event()  # set when a submission is queued: a lane waiting for one looks at once
        self.running = {}  # lane: the grading process
        self.ready = {}  # lane: its next grading process, the grader imported, waiting for a folder

    def recover(self):
        """Submissions left running by a service that was killed or stopped: their gradings end, and they are
        queued again (graded once, from the start)."""
        for row in self.journal.rows("status = 'running'"):
            if row["pid"] and _is_grading(row["pid"]):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(row["pid"], signal.SIGKILL)
            self.journal.set(row["folder"], status="queued", pid=None)
            self.say(f"{row['folder']}: its grading was interrupted; graded again")

    def new_submissions(self):
        """The names of the inbound's folders the journal does not know yet."""
        inbound = exchange_course() / "inbound"
        return sorted(set(os.listdir(inbound)) - self.journal.known()) if inbound.is_dir() else []

    def look(self, names, settings):
        """Journal the inbound's new submissions ``names``: queued, waiting (over the limit: a page says until
        when), held (exam mode) or refused."""
        inbound = exchange_course() / "inbound"
        for name in names:
            submission = Submission.parse(inbound / name)
            if submission is None:
                continue
            refused = submission.why_refused()
            if refused:
                self.journal.add(name, submission.student, submission.assignment, "refused", note=refused)
                self.say(f"{name}: refused: {refused}")
            elif submission.assignment in settings.exam:
                self.journal.add(name, submission.student, submission.assignment, "held", note="exam mode")
            else:
                self._admit(name, submission, settings)

    def _admit(self, name, submission, settings):
        now = time.time()
        allowed = self.journal.next_graded(submission.student, submission.assignment,
                                           settings.limit_of(submission.assignment), now)
        if allowed <= now:
            self.journal.add(name, submission.student, submission.assignment, "queued")
            self.queued.set()
            return
        limit = settings.limit_of(submission.assignment)
        message = (f"Your submission of {submission.assignment} is kept: the latest submission counts at the "
                   f"deadline. It is not graded yet: up to {limit['graded']} graded "
                   f"submission{'' if limit['graded'] == 1 else 's'} every "
                   f"{limit['period_minutes']:g} minutes" +
                   (f", at least {limit['wait_minutes']:g} minutes apart" if limit["wait_minutes"] else "") +
                   f". Your next graded submission is possible at {_shown(allowed)}; this one is graded then, "
                   "unless you submit again before (then that one is). Fetch Feedback again after that time.")
        self.journal.add(name, submission.student, submission.assignment, "waiting", not_before=allowed, note=message)
        for notebook in submission.notebooks():
            publish(notice_page(submission, message), submission, notebook, course.root())

    def release_due(self, settings):
        """Waiting submissions whose time has come, and held ones of assignments no longer in exam mode: the
        latest of each learner's assignment is queued, the earlier ones superseded."""
        now = time.time()
        due = [row for row in self.journal.rows("status = 'waiting' AND not_before <= ?", now)]
        due += [row for row in self.journal.rows("status = 'held'") if row["assignment"] not in settings.exam]
        latest = {}
        for row in due:
            latest[row["student"], row["assignment"]] = row
        for row in due:
            chosen = latest[row["student"], row["assignment"]]
            if row is chosen:
                self.journal.set(row["folder"], status="queued")
                self.queued.set()
            else:
                self.journal.set(row["folder"], status="superseded", note=f"a later submission ({chosen['folder']}) "
                                                                          "was graded")

    def lane(self, number):
        self.ready[number] = self._grading_process(number)  # the first submission finds the grader imported too
        while not self.stopping.is_set():
            row = self.journal.claim()
            if row is None:
                self.queued.wait(POLL_SECONDS)
                self.queued.clear()
                continue
            try:
                self.grade(number, row)
            except Exception as error:  # noqa: BLE001 - one submission's trouble (its folder gone) stops no lane
                self.journal.set(row["folder"], status="failed", finished=time.time(), pid=None, note=repr(error))
                self.say(f"{row['folder']}: not graded ({error!r})")

    def _grading_process(self, lane):
        """A new grading process for ``lane``: it imports the grader and starts its sandboxed worker, then waits
        for the folder to grade."""
        from autograder import sandbox

        env = {**os.environ, "RNNLAB_FIRST_UID": str(sandbox.FIRST_UID + LANE_UIDS * (lane + 1))}
        return subprocess.Popen([sys.executable, "-m", "autograder.onsubmit", "grade", "-"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, preexec_fn=_die_with_parent)

    def grade(self, lane, row):
        folder = exchange_course() / "inbound" / row["folder"]
        process = self.ready.pop(lane, None) or self._grading_process(lane)
        self.running[lane] = process
        self.journal.set(row["folder"], pid=process.pid)
        process.stdin.write(f"{folder}\n")
        process.stdin.flush()
        self.ready[lane] = self._grading_process(lane)  # the next one imports while this one grades
        out, err = process.communicate()
        self.running.pop(lane, None)
        if self.stopping.is_set():
            return  # stopped with the hub: still running in the journal, graded again at the next start
        report = next((json.loads(line) for line in reversed(out.splitlines()) if line.startswith("{")), None)
        if process.returncode == 0 and report:
            self.journal.set(row["folder"], status="graded", graded=1, finished=time.time(), pid=None,
                             timings=json.dumps(report), note="; ".join(report["problems"]))
            self.say(f"{row['folder']}: graded {report['score']:g}/{report['max_score']:g} "
                     f"({', '.join(f'{k} {v:.1f} s' for k, v in report['timings'].items())})")
        else:
            self.journal.set(row["folder"], status="failed", finished=time.time(), pid=None,
                             note=err.strip()[-2000:])
            self.say(f"{row['folder']}: the grader failed (exit {process.returncode}):\n{err.strip()[-2000:]}")
            submission = Submission.parse(folder)
            message = ("Your submission is kept, but the grader could not grade it now; your instructor can see why "
                       "and will grade it. Nothing is wrong with submitting again.")
            for notebook in submission.notebooks():
                publish(notice_page(submission, message), submission, notebook, course.root())

    def serve(self):
        self.recover()
        threads, read_at, current = [], 0.0, None
        try:
            while not self.stopping.is_set():
                names = self.new_submissions() if course.root().is_dir() else []
                # the settings as the instructor has them now: for every new submission, and every few seconds
                if names or current is None or time.monotonic() - read_at > 5:
                    try:
                        current, read_at = settings(), time.monotonic()
                    except Exception as error:  # noqa: BLE001 - no course folder yet, a config being edited
                        self.say(f"cannot read the course's settings now ({type(error).__name__}: {error})")
                        names, read_at = [], time.monotonic()
                if current is not None:
                    while len(threads) < current.lanes:
                        threads.append(threading.Thread(target=self.lane, args=(len(threads),), daemon=True))
                        threads[-1].start()
                    try:
                        self.look(names, current)
                        self.release_due(current)
                    except OSError as error:  # a folder gone while it was read: looked at again next time
                        self.say(f"cannot read the exchange now ({error!r})")
                self.stopping.wait(POLL_SECONDS)
        finally:
            self.stopping.set()
            for process in [*self.running.values(), *self.ready.values()]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    course.find_alembic()
    if argv[:1] == ["grade"]:  # a grading process: FOLDER, or "-" to get ready first and read it from stdin
        from autograder import collect, feedback, grade, worker  # noqa: F401 - imported before the folder comes

        with worker.pool(1) as pool:
            pool.submit(worker.warm, [])  # its process, the grader imported, its sandbox's warm kernel server
            folder = sys.stdin.readline().strip() if argv[1] == "-" else argv[1]
            if not folder:
                return 0  # the service stopped
            print(json.dumps(grade_one(folder, pool)))
        return 0
    state = Path(os.environ.get("RNNLAB_ONSUBMIT_DIR") or ".")
    (state / "onsubmit.pid").write_text(str(os.getpid()))
    service = Service(Journal(state / "onsubmit.sqlite"), say=lambda text: print(text, flush=True))
    for stop in (signal.SIGTERM, signal.SIGINT):  # the hub stops its services with SIGINT, then SIGTERM
        signal.signal(stop, lambda *_: service.stopping.set())
    service.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
