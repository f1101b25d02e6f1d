"""The grading service's journal (autograder/onsubmit.py): its limit and its queue, without a hub (tests/test_hub.py
runs the service end to end)."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from autograder import course
from autograder.onsubmit import Journal, OnSubmit, Service, give_back, settings

HOUR = {"graded": 3, "period_minutes": 60, "wait_minutes": 0}


def _graded(journal, folder, student, finished):
    journal.add(folder, student, "01_rnn", "queued")
    journal.set(folder, status="graded", graded=1, finished=finished)


def test_the_fourth_graded_submission_in_an_hour_waits_for_the_first_to_leave_the_hour(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    now = time.time()
    for minutes, folder in ((50, "a"), (30, "b")):
        _graded(journal, folder, "alice", now - 60 * minutes)
    assert journal.next_graded("alice", "01_rnn", HOUR, now) == now  # two in the hour: a third now
    journal.add("c", "alice", "01_rnn", "queued")  # queued counts: it will be graded
    assert abs(journal.next_graded("alice", "01_rnn", HOUR, now) - (now + 10 * 60)) < 1e-6
    assert journal.next_graded("bob", "01_rnn", HOUR, now) == now  # per learner
    assert journal.next_graded("alice", "03_lstm", HOUR, now) == now  # per assignment
    waiting = {**HOUR, "graded": 10, "wait_minutes": 45}
    assert abs(journal.next_graded("alice", "01_rnn", waiting, now) - (now + 45 * 60)) < 1  # after "c", seen now


def test_one_grading_at_a_time_per_learner_the_latest_of_their_queue(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    for folder, student in (("alice-1", "alice"), ("alice-2", "alice"), ("bob-1", "bob")):
        journal.add(folder, student, "01_rnn", "queued")
    first = journal.claim()
    assert first["folder"] == "alice-2" and first["status"] == "running" and first["attempts"] == 1
    assert journal.rows("folder = 'alice-1'")[0]["status"] == "superseded"
    journal.add("alice-3", "alice", "01_rnn", "queued")
    assert journal.claim()["folder"] == "bob-1"  # alice is being graded: bob's next, alice-3 waits
    assert journal.claim() is None


def test_a_grading_cut_short_is_queued_again_once(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add("alice-1", "alice", "01_rnn", "queued")
    journal.claim()
    journal.set("alice-1", pid=2**22 + 1)  # no such process now
    Service(Journal(tmp_path / "journal.sqlite"), say=lambda text: None).recover()  # the service, started again
    again = journal.claim()
    assert again["folder"] == "alice-1" and again["attempts"] == 2
    assert journal.claim() is None


def test_an_assignments_own_limit_fills_in_from_every_assignments():
    own = {"05_training": {"wait_minutes": 10}}
    settings = OnSubmit(config=Config({"OnSubmit": {"limit": {"graded": 5}, "limits": own}}))
    assert settings.limit_of("01_rnn") == {"graded": 5, "period_minutes": 60, "wait_minutes": 0}
    assert settings.limit_of("05_training") == {"graded": 5, "period_minutes": 60, "wait_minutes": 10}


def test_an_exam_taken_out_of_exam_mode_gets_each_learners_latest_graded(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    for folder, student in (("alice-1", "alice"), ("alice-2", "alice"), ("bob-1", "bob")):
        journal.add(folder, student, "08_seq2seq", "held")
    service = Service(journal, say=lambda text: None)
    service.release_due(OnSubmit(exam=["08_seq2seq"]))
    assert {row["status"] for row in journal.rows()} == {"held"}
    service.release_due(OnSubmit(exam=[]))  # the instructor releases it
    assert {row["folder"]: row["status"] for row in journal.rows()} == {
        "alice-1": "superseded", "alice-2": "queued", "bob-1": "queued"}


def test_a_submission_over_the_limit_is_graded_when_its_time_comes(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add("alice-4", "alice", "01_rnn", "waiting", not_before=time.time() + 3600)
    journal.add("bob-4", "bob", "01_rnn", "waiting", not_before=time.time() - 1)
    Service(journal, say=lambda text: None).release_due(OnSubmit())
    assert {row["folder"]: row["status"] for row in journal.rows()} == {"alice-4": "waiting", "bob-4": "queued"}


SIDE_EFFECT = """import os
c = get_config()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ran_as"), "a") as log:
    log.write(f"{os.geteuid()}\\n")
c.OnSubmit.lanes = LANES
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the service's settings are read for root")
def test_root_never_runs_the_instructors_settings_file_their_account_does(monkeypatch):
    """The service (root) gets the course's settings, but the course's nbgrader_config.py, which its owner may
    write, only ever runs as that owner: in the service, in its grading processes, in nbgrader's."""
    instructor = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-course-"))  # where nobody can go: pytest's tmp_path is root's only
    try:
        folder.chmod(0o755)
        (folder / "nbgrader_config.py").write_text(SIDE_EFFECT.replace("LANES", "3"))
        for path in (folder, folder / "nbgrader_config.py"):
            os.chown(path, instructor.pw_uid, instructor.pw_gid)
        monkeypatch.setenv("RNNLAB_COURSE_DIR", str(folder))
        monkeypatch.delenv(course.SETTINGS, raising=False)
        assert settings().lanes == 3
        assert course.load_config().OnSubmit.lanes == 3  # read once while the file stays the same
        child = subprocess.run([sys.executable, "-c", "from autograder import course; "
                                                      "print(course.load_config().OnSubmit.lanes)"],
                               capture_output=True, text=True, check=True)
        assert child.stdout.strip() == "3"
        (folder / "nbgrader_config.py").write_text(SIDE_EFFECT.replace("LANES", "4"))  # the instructor edits it
        assert settings().lanes == 4
        ran = (folder / "ran_as").read_text().split()
        assert ran == [str(instructor.pw_uid)] * 2, ran  # once per version of the file, never as root (0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands files over")
def test_files_go_back_to_the_instructor_only_inside_the_course_never_through_a_link():
    """What root made in the course goes to its owner; a link in the course to a folder of root's, or a course setting
    naming a folder outside the course, hands over nothing there (root would give away files it does not own)."""
    instructor = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="rnnlab-give-back-"))
    try:
        course_folder, outside = base / "course", base / "outside"
        (course_folder / "autograded" / "alice" / "01_rnn").mkdir(parents=True)
        (course_folder / "autograded" / "alice" / "01_rnn" / "01_rnn.ipynb").write_text("{}")
        (outside / "autograded").mkdir(parents=True)
        (outside / "secret").write_text("root's")
        os.chown(course_folder, instructor.pw_uid, instructor.pw_gid)
        (course_folder / "autograded" / "link").symlink_to(outside)
        (course_folder / "autograded" / "alice" / "secret").symlink_to(outside / "secret")
        for autograded in ("autograded", "../outside/autograded", "autograded/link/autograded"):
            give_back(str(course_folder), SimpleNamespace(autograded_directory=autograded))
        assert {path.stat().st_uid for path in outside.rglob("*")} | {outside.stat().st_uid} == {0}
        given = [course_folder / "autograded" / "alice" / "01_rnn" / "01_rnn.ipynb", course_folder / "autograded"]
        assert {path.stat().st_uid for path in given} == {instructor.pw_uid}
        assert (course_folder / "autograded" / "link").lstat().st_uid == instructor.pw_uid  # the link itself
    finally:
        shutil.rmtree(base, ignore_errors=True)


LEFT_BEHIND_SCRIPT = """
import os, sys, time
from autograder import worker
with worker.pool(1) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(600)
"""


def _running(pid):
    """True while ``pid`` is a live process (not a zombie nobody reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_grading_process_leaves_no_worker_behind():
    """The service kills a grading process (or dies itself, and its gradings with it): the grading's pool worker,
    which holds a sandbox slot and its warm kernel server, ends with it instead of living on as an orphan."""
    grading = subprocess.Popen([sys.executable, "-c", LEFT_BEHIND_SCRIPT], stdout=subprocess.PIPE, text=True,
                               cwd=course.REPO)
    try:
        worker_pid = int(grading.stdout.readline())
        assert _running(worker_pid)
    finally:
        grading.kill()
        grading.wait()
    deadline = time.monotonic() + 20
    while _running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(worker_pid), "the pool's worker outlived the grading process that made it"
