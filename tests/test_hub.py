"""A class on JupyterHub (hub/, `make hub`), end to end: the real hub, its proxy and a local account and server per
user, on free loopback ports, everything in a temporary folder. Learners work through their own servers (nbgrader's
assignment list and the contents API, as their JupyterLab does); the instructor's commands run as the instructor,
with the environment the hub gave the instructor's server, as in a terminal of their JupyterLab.

The instructor releases 01_rnn and 02_vanishing_gradients; alice submits a draft with a mistake and then her solution
(the latest counts); bob submits a catalogued mistake on time, then tries to hand in 02's notebook as 01 (refused,
his submission stays), then submits again after the deadline (late penalty); alice's written answer in 02 is graded
in formgrader; each learner fetches their own feedback (both assignments are exams: the hub's grading service
returns nothing of them by itself). On 00_setup, the service grades each submission at once and returns its feedback
to its learner alone, within a limit, and grades once a submission whose grading was cut short. An administrator's
private clone (a 0700 folder) starts a hub whose learners never read the clone. Accounts, processes and folders go
at the end, failed or not.
"""

import contextlib
import csv
import html
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import OUTPUT, REPO, SOLUTIONS, read_notebook, require, source

from autograder import course
from autograder.catalogue.rnn import CATALOGUE
from autograder.examples import apply_mistake

require(shutil.which("configurable-http-proxy"),
        "configurable-http-proxy, JupyterHub's proxy, is not installed (npm install -g configurable-http-proxy)")
require(shutil.which("useradd") and shutil.which("userdel") and shutil.which("runuser") and os.geteuid() == 0,
        "the hub test creates local accounts: it needs root, useradd and userdel (Debian's passwd) and runuser")

RNN, VANISHING = "01_rnn", "02_vanishing_gradients"
COURSE_ID = course.load_config().CourseDirectory.course_id
SUFFIX = secrets.token_hex(3)  # names no account on this machine has
INSTRUCTOR, ALICE, BOB = f"teach{SUFFIX}", f"alice{SUFFIX}", f"bob{SUFFIX}"
PASSWORD = secrets.token_urlsafe(12)
TOKEN = secrets.token_hex(32)
LATE_FRACTION = 0.5  # PerDay: half the score for each started day late
DRAFT_MISTAKE = next(m for m in CATALOGUE.mistakes if m.function == "affine_forward")
BOB_MISTAKE = next(m for m in CATALOGUE.mistakes if m.function == "rnn_step_forward")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _closed_to_others(path):
    path = Path(os.path.realpath(path))
    return any(not os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _environment_for_everyone(folder, own=False):
    """
    `make` variables for a course environment every user can run: this one, unless it or its Python lies where
    other users cannot go (pyenv in root's home, as on the CI machine), or the hub installs the course into it
    (from a private clone: this repository, or ``own``); then a new one in ``folder``, made by `make hub` from a
    system Python, as the README tells an administrator (about a minute).
    """
    if not any(_closed_to_others(p) for p in (sys.executable, sys.prefix)):
        if not (own or _closed_to_others(REPO)):
            return {"VENV": sys.prefix}
        return {"VENV": str(folder / "venv"), "PYTHON": sys.executable}
    for python in ("/usr/bin/python3.11", "/usr/bin/python3", "/usr/local/bin/python3"):
        version = subprocess.run([python, "-c", "import sys, ensurepip; print(sys.version_info >= (3, 11))"],
                                 capture_output=True, text=True) if os.path.exists(python) else None
        if version and version.stdout.strip() == "True" and not _closed_to_others(python):
            return {"VENV": str(folder / "venv"), "PYTHON": python}
    require(False, "this Python environment is closed to other users, and there is no system Python 3.11+ with venv "
                   "(apt-get install python3-venv) to make one for the hub's users")


def _processes_of(uid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid_in(path):
    with contextlib.suppress(OSError, ValueError):
        return int(Path(path).read_text().strip())
    return None


def _wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [pid for pid in pids if _alive(pid)]


def _remove_account(name):
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(3):  # a server may fork while it is being stopped
        for pid in _processes_of(uid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not _wait_gone(_processes_of(uid), 10):
            break
    subprocess.run(["userdel", "--remove", name], capture_output=True)


class Hub:
    """The running hub: its REST API (with the scripts' token) and the users' servers behind it."""

    def __init__(self, base, state, homes, log):
        self.base, self.state, self.homes, self.log = base, state, homes, Path(log)

    def log_tail(self, lines=60):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def request(self, method, path, body=None, form=None, headers=None):
        headers = {"Authorization": f"token {TOKEN}", **(headers or {})}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=300) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def headers(self, user, path):
        request = urllib.request.Request(f"{self.base}/user/{user}{path}", headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.headers

    def api(self, method, path, body=None):
        return self.request(method, f"/hub/api{path}", body)

    def server(self, user, method, path, body=None, form=None):
        return self.request(method, f"/user/{user}{path}", body, form)

    def start(self, *users):
        for user in users:
            try:
                self.api("POST", f"/users/{user}/server")
            except urllib.error.HTTPError as error:
                raise AssertionError(f"{user}'s server did not start ({error}); {self.log} ends:\n{self.log_tail()}")
        deadline = time.monotonic() + 120
        for user in users:
            while not self.api("GET", f"/users/{user}")["servers"].get("", {}).get("ready"):
                assert time.monotonic() < deadline, \
                    f"{user}'s server did not start; {self.log} ends:\n{self.log_tail()}"
                time.sleep(0.5)

    def environment(self, user):
        """The environment the hub gave ``user``'s server (what a terminal in their JupyterLab has)."""
        pid = self.api("GET", f"/users/{user}")["servers"][""]["state"]["pid"]
        raw = Path(f"/proc/{pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)

    def run_as(self, user, *command, check=True):
        """``command`` as ``user``, in their home, with their server's environment; its output."""
        env = self.environment(user)
        result = subprocess.run([shutil.which("runuser"), "-u", user, "--", *command], env=env, cwd=env["HOME"],
                                capture_output=True, text=True, timeout=600)
        if check:
            assert result.returncode == 0, f"{' '.join(command)} as {user}:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    # a learner's side, through their server: nbgrader's assignment list and the contents API
    def assignments(self, user, action, assignment):
        return self.server(user, "POST", f"/assignments/{action}",
                           form={"course_id": COURSE_ID, "assignment_id": assignment})

    def notebook(self, user, path):
        return self.server(user, "GET", f"/api/contents/{path}")["content"]

    def save(self, user, path, notebook):
        self.server(user, "PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": notebook})


@contextlib.contextmanager
def running_hub(folder, env, repo=REPO, instructor=INSTRUCTOR, learners=(ALICE, BOB)):
    """`make hub` in ``repo`` (with the `make` variables ``env``) on free loopback ports, its state and the users'
    homes in ``folder``; at the end, however the test ends, the hub and every process of its users are stopped and
    the accounts removed (userdel -r)."""
    port, hub_port, proxy_port = _free_ports(3)
    state, homes = folder / "state", folder / "home"
    variables = {"RNNLAB_HUB_DIR": str(state), "RNNLAB_HUB_HOMES": str(homes), "RNNLAB_HUB_INSTRUCTOR": instructor,
                 "RNNLAB_HUB_LEARNERS": " ".join(learners), "RNNLAB_HUB_PASSWORD": PASSWORD,
                 "RNNLAB_HUB_API_TOKEN": TOKEN}
    OUTPUT.mkdir(exist_ok=True)
    log = open(OUTPUT / f"hub-{port}.log", "w")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "hub", *(f"{name}={value}" for name, value in env.items()), f"HUB_PORT={port}",
         f"HUB_ARGS=--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port} "
         f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{proxy_port}"],
        cwd=repo, env={**os.environ, **variables}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", state, homes, log.name)
    try:
        deadline = time.monotonic() + 600  # a new environment is installed first
        while True:
            try:
                hub.request("GET", "/hub/api")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, \
                    f"make hub did not start; {log.name} ends:\n{hub.log_tail()}"
                time.sleep(0.5)
        yield hub
    finally:
        hub_pid, proxy_pid = (_pid_in(state / "hub" / name) for name in ("jupyterhub.pid", "proxy.pid"))
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(hub_pid, signal.SIGTERM)  # the hub stops the servers and the proxy, then make ends
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # make, and the hub if it did not stop
        for pid in _wait_gone([pid for pid in (hub_pid, proxy_pid) if pid], 10):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for user in (instructor, *learners):
            _remove_account(user)
        log.close()


@pytest.fixture(scope="module")
def shared():
    """A folder every user can enter (0755) for the hubs' states, the users' homes and a new environment."""
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-hub-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(shared):
    """The hub, the three users' servers, and 01_rnn and 02_vanishing_gradients released to the exchange."""
    with running_hub(shared / "class", _environment_for_everyone(shared)) as running:
        running.start(INSTRUCTOR, ALICE, BOB)
        running.run_as(INSTRUCTOR, "nbgrader", "release_assignment", RNN)  # in a terminal
        released = running.server(INSTRUCTOR, "POST", f"/formgrader/api/assignment/{VANISHING}/release")
        assert released["success"], released  # formgrader's Release button
        yield running


def _solved(fetched, assignment, mistake=None):
    """The fetched notebook with every solution cell answered from solutions/ (``mistake`` made in its function);
    the release's nbgrader metadata stays as fetched."""
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: source(cell)
               for cell in read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")["cells"]
               if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}
    notebook = json.loads(json.dumps(fetched))
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answer = answers[meta["grade_id"]]
            if mistake and f"def {mistake.function}(" in answer:
                answer = apply_mistake(answer, mistake)
            cell["source"] = answer
    return notebook


def _answer(notebook, function):
    """The source of the solution cell that defines ``function``."""
    return next(source(cell) for cell in notebook["cells"] if f"def {function}(" in source(cell)
                and cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _page_text(path):
    """The words of an HTML page, without its styles and tags, in single spaces."""
    page = re.sub(r"<style.*?</style>", " ", Path(path).read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_class_fetches_submits_and_gets_its_own_feedback(hub):
    """The round of the module docstring, from the learners' servers and the instructor's terminal and formgrader."""
    course = hub.homes / INSTRUCTOR / "rnnlab"
    notebook_of = {RNN: f"{RNN}/{RNN}.ipynb", VANISHING: f"{VANISHING}/{VANISHING}.ipynb"}
    # the course folder is the instructor's: a learner cannot read its solutions, nor reach formgrader
    peek = hub.run_as(ALICE, "cat", str(course / "solutions" / notebook_of[RNN]), check=False)
    assert "Permission denied" in peek, peek
    with pytest.raises(urllib.error.HTTPError, match="404"):
        hub.server(ALICE, "GET", "/formgrader/api/assignments")
    # formgrader may be framed by the instructor's own JupyterLab (JupyterHub forbids frames by default)
    assert "frame-ancestors 'self'" in hub.headers(INSTRUCTOR, "/formgrader")["Content-Security-Policy"]

    assert (hub.state / "exchange").stat().st_mode & 0o7777 == 0o1777  # everyone writes, nobody removes another's
    listed = hub.assignments(ALICE, "fetch", RNN)
    assert listed["success"], listed
    assert {(a["assignment_id"], a["status"]) for a in listed["value"]} >= {(RNN, "fetched"), (VANISHING, "released")}
    for user, assignment in ((ALICE, VANISHING), (BOB, RNN), (BOB, VANISHING)):
        assert hub.assignments(user, "fetch", assignment)["success"]
    fetched = hub.notebook(ALICE, notebook_of[RNN])

    # both are exams here: the hub's grading service accepts the submissions and neither grades nor returns them
    settings = hub.server(INSTRUCTOR, "GET", "/api/contents/rnnlab/nbgrader_config.py")["content"]
    settings += f'c.OnSubmit.exam = ["{RNN}", "{VANISHING}"]\n'
    hub.server(INSTRUCTOR, "PUT", "/api/contents/rnnlab/nbgrader_config.py",
               {"type": "file", "format": "text", "content": settings})

    # alice hands in a draft with a mistake, then her solution: the latest submission counts
    hub.save(ALICE, notebook_of[RNN], _solved(fetched, RNN, DRAFT_MISTAKE))
    assert hub.assignments(ALICE, "submit", RNN)["success"]
    hub.save(ALICE, notebook_of[RNN], _solved(fetched, RNN))
    assert hub.assignments(ALICE, "submit", RNN)["success"]
    hub.save(BOB, notebook_of[RNN], _solved(hub.notebook(BOB, notebook_of[RNN]), RNN, BOB_MISTAKE))
    assert hub.assignments(BOB, "submit", RNN)["success"]

    # the deadline passes; late submissions of 01_rnn lose half their score per started day
    settings = hub.server(INSTRUCTOR, "GET", "/api/contents/rnnlab/nbgrader_config.py")["content"]
    settings += f'c.AssignLatePenalties.plugin_class = "autograder.late.PerDay"\nc.PerDay.fraction = {LATE_FRACTION}\n'
    hub.server(INSTRUCTOR, "PUT", "/api/contents/rnnlab/nbgrader_config.py",
               {"type": "file", "format": "text", "content": settings})
    due = (datetime.now(timezone.utc) + timedelta(seconds=1)).replace(microsecond=0)
    set_due = hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "deadline", RNN, f"{due:%Y-%m-%d %H:%M:%S} UTC")
    assert f"{RNN}: due {due:%Y-%m-%d %H:%M} UTC" in set_due, set_due
    time.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 1)

    # bob hands in 02's notebook as 01_rnn: refused, saying what is missing; then his own again, late
    hub.server(BOB, "PATCH", f"/api/contents/{notebook_of[RNN]}", {"path": f"{RNN}/mine.ipynb.bak"})
    hub.server(BOB, "POST", f"/api/contents/{RNN}", {"copy_from": notebook_of[VANISHING]})
    refused = hub.assignments(BOB, "submit", RNN)
    assert not refused["success"] and f"{RNN}.ipynb: MISSING" in refused["value"], refused
    assert f"{VANISHING}.ipynb: EXTRA" in refused["value"]
    hub.server(BOB, "DELETE", f"/api/contents/{RNN}/{VANISHING}.ipynb")
    hub.server(BOB, "PATCH", f"/api/contents/{RNN}/mine.ipynb.bak", {"path": notebook_of[RNN]})
    assert hub.assignments(BOB, "submit", RNN)["success"]

    hub.save(ALICE, notebook_of[VANISHING], _solved(hub.notebook(ALICE, notebook_of[VANISHING]), VANISHING))
    assert hub.assignments(ALICE, "submit", VANISHING)["success"]
    for user in (ALICE, BOB):  # two submissions of 01_rnn each, all kept; bob's refused one left none
        listed = hub.server(user, "GET", f"/assignments?course_id={COURSE_ID}")["value"]
        handed_in = next(a for a in listed if a["status"] == "submitted" and a["assignment_id"] == RNN)
        assert len(handed_in["submissions"]) == 2, handed_in

    deadline = time.monotonic() + 30  # the exams: held, nothing returned (2 + 1 of alice's, 2 of bob's)
    while len(held := [row for row in _journal(hub).values() if row["status"] == "held"]) < 5:
        assert time.monotonic() < deadline, _journal(hub)
        time.sleep(0.5)
    assert {row["assignment"] for row in held} == {RNN, VANISHING} and len(_journal(hub)) == 5
    hub.assignments(ALICE, "fetch_feedback", RNN)
    assert not list((hub.homes / ALICE / RNN / "feedback").glob("*/*.html"))

    # the instructor collects into the course folder's autograder/submitted/, where the grader reads
    hub.run_as(INSTRUCTOR, "nbgrader", "collect", RNN)
    collected = hub.server(INSTRUCTOR, "POST", f"/formgrader/api/assignment/{VANISHING}/collect")
    assert collected["success"], collected
    submitted_dir = course / "autograder" / "submitted"
    assert sorted(p.name for p in submitted_dir.iterdir()) == sorted([ALICE, BOB])
    alice_collected = read_notebook(submitted_dir / ALICE / notebook_of[RNN])
    assert _answer(alice_collected, DRAFT_MISTAKE.function) == _answer(_solved(fetched, RNN), DRAFT_MISTAKE.function)
    bob_submitted = (submitted_dir / BOB / RNN / "timestamp.txt").read_text()
    assert datetime.strptime(bob_submitted, "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=timezone.utc) > due

    summary = hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "grade", RNN, VANISHING)
    assert f"of {VANISHING} wait for a grader" in summary and ALICE in summary, summary

    # alice's written answer, graded in formgrader (its REST API, on the instructor's server)
    api = "/formgrader/api"
    alice_02 = next(n for n in hub.server(INSTRUCTOR, "GET", f"{api}/submitted_notebooks/{VANISHING}/{VANISHING}")
                    if n["student"] == ALICE)
    grades = hub.server(INSTRUCTOR, "GET", f"{api}/grades?submission_id={alice_02['id']}")
    written = next(g for g in grades if g["name"] == "explorer_written_answer")
    assert written["needs_manual_grade"], written
    graded = hub.server(INSTRUCTOR, "PUT", f"{api}/grade/{written['id']}", {"manual_score": 2.0})
    assert graded["manual_score"] == 2.0 and not graded["needs_manual_grade"]

    hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "export", "--csv", "grades.csv")
    with open(hub.homes / INSTRUCTOR / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    maximum = rows["(max points)"]
    assert float(rows[ALICE][RNN]) == float(maximum[RNN]) and float(rows[ALICE][f"{RNN}:late_penalty"]) == 0
    assert float(rows[ALICE][f"{VANISHING}:explorer_written_answer"]) == 2.0
    bob_score, bob_penalty = float(rows[BOB][RNN]), float(rows[BOB][f"{RNN}:late_penalty"])
    assert 0 < bob_penalty and abs(bob_penalty - LATE_FRACTION * (bob_score + bob_penalty)) < 1e-6
    assert bob_score + bob_penalty < float(maximum[RNN])

    # feedback: written, released to the exchange, and each learner fetches their own
    hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "feedback", RNN)
    hub.run_as(INSTRUCTOR, "nbgrader", "release_feedback", RNN)
    assert not (hub.state / "exchange" / COURSE_ID / "feedback").stat().st_mode & 0o004  # nobody lists it
    pages = {}
    for user in (ALICE, BOB):
        assert hub.assignments(user, "fetch_feedback", RNN)["success"]
        found = list((hub.homes / user / RNN / "feedback").glob(f"*/{RNN}.html"))
        assert len(found) == 1, found  # for the submission that was graded
        shutil.copy(found[0], OUTPUT / f"hub_feedback_{user.removesuffix(SUFFIX)}.html")
        pages[user] = _page_text(found[0])
    points = float(maximum[RNN])
    assert f"{RNN} (Score: {points:g} / {points:g})" in pages[ALICE]
    assert f"{RNN} (Score: {bob_score:g} / {points:g})" in pages[BOB] and "Late submission penalty" in pages[BOB]
    assert BOB_MISTAKE.hint in pages[BOB] and BOB_MISTAKE.hint not in pages[ALICE]
    assert "Late submission penalty" not in pages[ALICE]
    assert DRAFT_MISTAKE.hint not in pages[ALICE]  # her draft was not the one graded


SETUP = "00_setup"  # the quickest notebook to grade


def _journal(hub):
    """The grading service's journal: {inbound folder: row}."""
    with contextlib.closing(sqlite3.connect(hub.state / "hub" / "onsubmit.sqlite")) as journal:
        journal.row_factory = sqlite3.Row
        return {row["folder"]: dict(row) for row in journal.execute("SELECT * FROM submissions")}


def _submit(hub, user, assignment):
    """Press Submit; the name of the submission's folder in the exchange's inbound."""
    inbound = hub.state / "exchange" / COURSE_ID / "inbound"
    before = set(os.listdir(inbound))
    assert hub.assignments(user, "submit", assignment)["success"]
    (folder,) = set(os.listdir(inbound)) - before
    return folder


def _feedback_of(hub, user, assignment, folder, seconds=180):
    """Fetch Feedback until ``user`` has a page for the submission ``folder``; the page and the seconds it took."""
    start = time.monotonic()
    timestamp = folder.split("+")[2]
    while True:
        hub.assignments(user, "fetch_feedback", assignment)  # fails while no feedback was ever released
        pages = list((hub.homes / user / assignment / "feedback" / timestamp).glob("*.html"))
        if pages:
            return pages[0], time.monotonic() - start
        assert time.monotonic() - start < seconds, f"no feedback for {folder}; {hub.log} ends:\n{hub.log_tail()}"
        time.sleep(1)


def _screenshot(page, path, picture):
    """The fetched feedback page at ``path`` as its learner's browser shows it, in tests/output/ as ``picture``."""
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(OUTPUT / picture))


def test_feedback_on_submit_with_a_fair_limit(hub, page):
    """Learners press Submit and get their feedback from the hub's grading service, with no instructor command:
    alice's 00_setup is graded and returned to her alone; her fourth submission within the hour (3 graded per hour
    here) is kept and she is told when the next can be graded; the service killed while grading bob's submission
    grades it once, after the hub has started the service again."""
    settings = hub.server(INSTRUCTOR, "GET", "/api/contents/rnnlab/nbgrader_config.py")["content"]
    settings += f'c.OnSubmit.limits = {{"{SETUP}": {{"graded": 3, "period_minutes": 60}}}}\n'
    # who runs the file: the instructor's processes, and for the service (root) the instructor's account too
    settings += ('import os\nwith open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "read_by"), "a") as log:'
                 '\n    log.write(f"{os.geteuid()}\\n")\n')
    hub.server(INSTRUCTOR, "PUT", "/api/contents/rnnlab/nbgrader_config.py",
               {"type": "file", "format": "text", "content": settings})
    hub.run_as(INSTRUCTOR, "nbgrader", "release_assignment", SETUP)
    path = f"{SETUP}/{SETUP}.ipynb"
    for user in (ALICE, BOB):
        assert hub.assignments(user, "fetch", SETUP)["success"]
        hub.save(user, path, _solved(hub.notebook(user, path), SETUP))
    points = sum(cell["metadata"]["nbgrader"]["points"]
                 for cell in read_notebook(SOLUTIONS / SETUP / f"{SETUP}.ipynb")["cells"]
                 if cell.get("metadata", {}).get("nbgrader", {}).get("grade"))

    first = _submit(hub, ALICE, SETUP)
    fetched, seconds = _feedback_of(hub, ALICE, SETUP, first)
    assert f"{SETUP} (Score: {points:g} / {points:g})" in _page_text(fetched), _page_text(fetched)
    _screenshot(page, fetched, "hub_feedback_page.png")
    for _ in range(2):  # the second and third of the hour: graded too
        again = _submit(hub, ALICE, SETUP)
        assert "Score:" in _page_text(_feedback_of(hub, ALICE, SETUP, again)[0])
    fourth = _submit(hub, ALICE, SETUP)
    fetched, _ = _feedback_of(hub, ALICE, SETUP, fourth)
    told = _page_text(fetched)
    _screenshot(page, fetched, "hub_wait_page.png")
    assert "not graded yet" in told and "Your next graded submission is possible at" in told, told
    assert "Score:" not in told
    read_by = (hub.homes / INSTRUCTOR / "rnnlab" / "read_by").read_text().split()
    assert read_by and set(read_by) == {str(pwd.getpwnam(INSTRUCTOR).pw_uid)}, read_by  # never root (0)
    row = _journal(hub)[fourth]
    assert row["status"] == "waiting" and row["not_before"] > time.time() + 50 * 60, row
    assert fourth in os.listdir(hub.state / "exchange" / COURSE_ID / "inbound")  # kept: collect takes the latest

    # bob's grading: the service is killed in the middle; the hub starts it again, and it grades bob's once
    pid_file = hub.state / "hub" / "onsubmit.pid"
    killed = _pid_in(pid_file)
    mine = _submit(hub, BOB, SETUP)
    deadline = time.monotonic() + 60
    while _journal(hub).get(mine, {}).get("status") != "running":
        assert time.monotonic() < deadline, _journal(hub).get(mine)
        time.sleep(0.1)
    time.sleep(1)
    os.kill(killed, signal.SIGKILL)
    fetched, _ = _feedback_of(hub, BOB, SETUP, mine, seconds=240)
    assert _pid_in(pid_file) != killed
    deadline = time.monotonic() + 30  # the page is out; the journal says so once the grading process has ended
    while (row := _journal(hub)[mine])["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert row["status"] == "graded" and row["graded"] == 1 and row["attempts"] == 2, row
    assert f"{SETUP} (Score: {points:g} / {points:g})" in _page_text(fetched)

    # nothing of alice's reaches bob: his own page only; the exchange's pages cannot be listed, her home not entered
    assert [p.parent.name for p in (hub.homes / BOB / SETUP / "feedback").glob("*/*.html")] == [mine.split("+")[2]]
    for peek in (hub.state / "exchange" / COURSE_ID / "feedback", hub.homes / ALICE / SETUP / "feedback"):
        assert "Permission denied" in hub.run_as(BOB, "ls", str(peek), check=False)

    # the instructor's own commands work beside the service (what it wrote in the course folder is theirs again)
    summary = hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "grade", SETUP)
    assert "2 notebook(s) unchanged since their last grade" in summary, summary
    hub.run_as(INSTRUCTOR, "python", "-m", "autograder", "export", "--csv", "grades.csv")
    with open(hub.homes / INSTRUCTOR / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows[ALICE][SETUP]) == float(rows[BOB][SETUP]) == points and rows[ALICE]["counts"] == "latest"
    print(f"alice's first submission: feedback fetchable after {seconds:.1f} s")


def test_a_learners_assignment_list_in_the_browser(hub, page, output_dir):
    """A learner logs in with the shared password and opens Nbgrader > Assignment List: the course's assignments,
    and none of the instructor's tools."""
    page.goto(f"{hub.base}/hub/login")
    page.fill("#username_input", BOB)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{BOB}/lab"), timeout=60_000)
    page.wait_for_selector(".jp-DirListing-item", timeout=60_000)
    menus = page.locator(".lm-MenuBar-item").all_text_contents()
    assert "Nbgrader" in menus, menus
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-item:visible").all_text_contents()
    assert [item for item in items if "Assignment List" in item], items
    assert not [item for item in items if "Formgrader" in item or "Course List" in item], items
    page.locator(".lm-Menu-item:visible", has_text="Assignment List").click()
    page.wait_for_selector(f"text={RNN}", timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "hub_assignment_list.png"))
    text = page.locator("body").inner_text()
    assert RNN in text and VANISHING in text
    assert "Create Assignment" not in text and "Formgrader" not in text


def test_a_hub_from_an_administrators_private_clone(shared):
    """`make hub` in a clone nobody else may enter (a 0700 folder, as a home is): it starts, and a learner's server
    runs the course (its nbgrader assignment list, rnnlab in a terminal) without reading anything in the clone."""
    private = Path(tempfile.mkdtemp(prefix="rnnlab-admin-"))  # 0700
    clone = private / "rnnlab"
    try:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
        for name in filter(None, tracked.stdout.split("\0")):  # the working tree's files, as a fresh clone has them
            if (REPO / name).is_file():
                (clone / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, clone / name)
        assert _closed_to_others(clone)
        learner = f"carol{SUFFIX}"
        with running_hub(shared / "private", _environment_for_everyone(shared, own=True), repo=clone,
                         instructor=f"admin{SUFFIX}", learners=[learner]) as running:
            running.start(learner)
            environment = running.environment(learner)
            assert not [value for value in environment.values() if str(private) in value], environment
            listed = running.server(learner, "GET", f"/assignments?course_id={COURSE_ID}")
            assert listed["success"], listed
            imported = running.run_as(learner, "python", "-c", "import autograder.feedback, rnnlab.gradcheck, rnnlab; "
                                                               "print(rnnlab.__file__)")
            assert str(private) not in imported and "site-packages" in imported, imported
    finally:
        shutil.rmtree(private, ignore_errors=True)
