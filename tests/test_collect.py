"""`python -m autograder collect`: downloads as an LMS makes them (Canvas, Moodle), nbgrader's folders, one
notebook, and a class that submits again, through the command line on a course copy in a temporary folder.
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import COURSE, REPO, SOLUTIONS
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

SETUP, RNN = "00_setup", "01_rnn"
SOLVED = (SOLUTIONS / SETUP / f"{SETUP}.ipynb").read_text()
BLANK = (COURSE / SETUP / f"{SETUP}.ipynb").read_text()
RNN_SOLVED = (SOLUTIONS / RNN / f"{RNN}.ipynb").read_text()
T1 = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
T2 = datetime(2025, 3, 3, 17, 5, tzinfo=timezone.utc)
ZONE = "Asia/Kolkata"  # the instructor's time zone, for the commands: a zip's dates are in local time, not UTC


def _version(text, mark):
    """The notebook ``text`` with ``mark`` in its metadata: another file with the same cells."""
    nb = json.loads(text)
    nb["metadata"]["version_mark"] = mark
    return json.dumps(nb)


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    """A new gradebook, made once: nbgrader runs alembic for each new one, seconds each."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}"):
        pass
    return path.read_bytes()


@pytest.fixture
def course(tmp_path, empty_gradebook):
    """A course folder with the solutions of 00_setup and 01_rnn and an empty gradebook, nothing collected yet."""
    root = tmp_path / "course"
    for assignment in (SETUP, RNN):
        (root / "solutions" / assignment).mkdir(parents=True)
        (root / "solutions" / assignment / f"{assignment}.ipynb").write_text(
            (SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    (root / "autograder").mkdir()
    (root / "autograder" / "gradebook.db").write_bytes(empty_gradebook)
    return root


def _run(course, *args):
    return subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(course), *args],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "TZ": ZONE})


def _cli(course, *args):
    result = _run(course, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _dos(time):
    """A zip entry's date_time: local time, no time zone."""
    return time.astimezone(ZoneInfo(ZONE)).timetuple()[:6]


def _zip(path, files):
    """A zip of {name: text or (text, time)}."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            text, time = content if isinstance(content, tuple) else (content, T1)
            archive.writestr(zipfile.ZipInfo(name, _dos(time)), text)
    return path


def _submitted(course, student, assignment):
    return course / "autograder" / "submitted" / student / assignment


def _time(course, student, assignment):
    """The submission time collect wrote, read as nbgrader reads it."""
    text = (_submitted(course, student, assignment) / "timestamp.txt").read_text()
    return parse_utc(text).replace(tzinfo=timezone.utc)


def _lms_ids(course):
    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gradebook:
        return {student.id: student.lms_user_id for student in gradebook.students}


def test_a_canvas_download_names_learners_by_name_keeps_their_canvas_ids_and_takes_the_last_resubmission(
        course, tmp_path):
    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student("alee", lms_user_id="45678")  # from a roster import
        gradebook.update_or_create_assignment(SETUP, duedate=(T1 - timedelta(days=1)).replace(tzinfo=None))
    download = _zip(tmp_path / "submissions.zip", {
        # Canvas names a file uploaded again 01_rnn-1, 01_rnn-2: the highest is the latest, whatever its date
        f"smithjohn_12345_678901_{RNN}.ipynb": (_version(RNN_SOLVED, 0), T1),
        f"smithjohn_12345_678902_{RNN}-2.ipynb": (_version(RNN_SOLVED, 2), T1),
        f"smithjohn_12345_678903_{RNN}-1.ipynb": (_version(RNN_SOLVED, 1), T2),
        f"doejane_LATE_23456_678904_{SETUP}.ipynb": SOLVED,
        f"roekim_late_34567_678905_{SETUP}.ipynb": BLANK,
        f"leeann_45678_678906_{SETUP}.ipynb": SOLVED,
        f"smithjohn_99999_678907_{SETUP}.ipynb": SOLVED,  # another John Smith
        f"kimlee_56789_678908_{SETUP}.ipynb": '{"cells": [\n  {"cell_type": "code"}\n  {}\n',
        "doejane_LATE_23456_678909_notes.txt": "my notes",
    })
    said = _cli(course, "collect", str(download))
    assert "collected 6 notebook(s)" in said
    assert json.loads((_submitted(course, "smithjohn", RNN) / f"{RNN}.ipynb").read_text())["metadata"][
        "version_mark"] == 2
    assert _lms_ids(course) == {"smithjohn": "12345", "doejane": "23456", "roekim": "34567", "alee": "45678",
                                "smithjohn_99999": "99999", "kimlee": "56789"}
    assert f"doejane_LATE_23456_678904_{SETUP}.ipynb: Canvas marks it late" in said
    assert f"roekim_late_34567_678905_{SETUP}.ipynb: Canvas marks it late" in said
    assert "leeann_45678_678906" not in said and (_submitted(course, "alee", SETUP) / f"{SETUP}.ipynb").exists()
    assert (f"kimlee_56789_678908_{SETUP}.ipynb: collected, but it is not a readable notebook "
            "(not valid JSON (Expecting ',' delimiter, line 3 column 3): the file is cut short or was edited "
            "outside Jupyter)") in said
    assert said.count("later version") == 2 and "skipped: not a notebook" in said
    # the zip's dates are when Canvas made it: what Canvas counts on time was in by the deadline
    assert _time(course, "doejane", SETUP) == T1 and _time(course, "alee", SETUP) == T1 - timedelta(days=1)
    assert (f"3 notebook(s) of {SETUP} on time by Canvas recorded as submitted at its deadline" in said
            and _time(course, "smithjohn", RNN) == T1)


def _ut_field(time):
    """Info-ZIP's extended-timestamp extra field (0x5455) holding a modification time, as rubyzip writes it."""
    return struct.pack("<HHBI", 0x5455, 5, 1, int(time.timestamp()))


def test_a_moodle_download_names_learners_from_their_full_names_with_participant_ids(course, tmp_path):
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as archive:
        folder = "John Smith_123456_assignsubmission_file_"
        exact = zipfile.ZipInfo(f"{folder}/{RNN}.ipynb", (1999, 1, 1, 0, 0, 0))  # the UTC field wins
        exact.extra = _ut_field(T2)
        archive.writestr(exact, RNN_SOLVED)
        archive.writestr(zipfile.ZipInfo(f"{folder}/timestamp.txt", (2025, 1, 1, 0, 0, 0)),
                         "2020-01-01 00:00:00.000000 UTC")  # uploaded by the learner: not nbgrader's
        archive.writestr(zipfile.ZipInfo("John Smith_123456_assignsubmission_onlinetext_/onlinetext.html",
                                         (2025, 1, 1, 0, 0, 0)), "<p>done</p>")
        # files not downloaded as folders carry the same prefix; blind marking names everyone "Participant"
        archive.writestr(zipfile.ZipInfo(f"Renée O'Hara_123457_assignsubmission_file_{SETUP}.ipynb",
                                         _dos(T1)), SOLVED)
        archive.writestr(zipfile.ZipInfo(f"Participant_123458_assignsubmission_file_/{SETUP}.ipynb",
                                         (2025, 1, 1, 0, 0, 0)), BLANK)
    said = _cli(course, "collect", str(download))
    assert "collected 3 notebook(s)" in said
    assert _lms_ids(course) == {"john_smith": "123456", "renée_ohara": "123457", "participant_123458": "123458"}
    assert _time(course, "john_smith", RNN) == T2
    assert _time(course, "renée_ohara", SETUP) == T1
    assert "onlinetext.html: skipped: not a notebook" in said


def test_a_plain_folder_in_nbgrader_shape_or_flat_keeps_working_and_its_latest_version_wins(course, tmp_path):
    download = tmp_path / "download"
    for student in ("carol", "erin"):
        (download / student / SETUP).mkdir(parents=True)
        (download / student / SETUP / f"{SETUP}.ipynb").write_text(_version(SOLVED, "nbgrader"))
        (download / student / SETUP / "timestamp.txt").write_text(T1.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    (download / f"carol_{SETUP}.ipynb").write_text(_version(SOLVED, "flat, later"))
    (download / f"dan_{RNN}.ipynb").write_text(RNN_SOLVED)
    for name, time in ((f"carol_{SETUP}.ipynb", T2), (f"dan_{RNN}.ipynb", T1), (f"erin/{SETUP}/{SETUP}.ipynb", T2)):
        os.utime(download / name, (time.timestamp(), time.timestamp()))
    said = _cli(course, "collect", str(download))
    assert "collected 3 notebook(s)" in said
    assert f"carol/{SETUP}/{SETUP}.ipynb: skipped: carol_{SETUP}.ipynb in this download is a later version" in said
    assert json.loads((_submitted(course, "carol", SETUP) / f"{SETUP}.ipynb").read_text())["metadata"][
        "version_mark"] == "flat, later"
    assert _time(course, "carol", SETUP) == T2 and _time(course, "dan", RNN) == T1
    assert _time(course, "erin", SETUP) == T1  # nbgrader's timestamp.txt, not the file's date
    assert _lms_ids(course) == {"carol": None, "dan": None, "erin": None}


def test_one_notebook_is_collected_by_its_file_name_and_anything_else_is_refused_in_one_line(course, tmp_path):
    notebook = tmp_path / f"bob_{SETUP}.ipynb"
    notebook.write_text(SOLVED)
    os.utime(notebook, (T2.timestamp(), T2.timestamp()))
    assert "collected 1 notebook(s)" in _cli(course, "collect", str(notebook))
    assert _time(course, "bob", SETUP) == T2
    anonymous = tmp_path / f"{SETUP}.ipynb"
    anonymous.write_text(SOLVED)
    said = _cli(course, "collect", str(anonymous))
    assert f"{SETUP}.ipynb: skipped: its name says no student: name it <student>_{SETUP}.ipynb" in said

    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    for source, message in (("notes.txt", " is neither a folder, a zip file nor a notebook (.ipynb)"),
                            ("broken.zip", " is neither a folder, a zip file nor a notebook (.ipynb)"),
                            ("missing.zip", ": no such file or folder")):
        result = _run(course, "collect", str(tmp_path / source))
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.splitlines() == [f"collect: {tmp_path / source}{message}"]


def test_an_unknown_notebook_is_skipped_naming_the_course_notebooks(course, tmp_path):
    download = _zip(tmp_path / "download.zip", {"erin_05_training.ipynb": SOLVED,
                                                "smithjohn_12345_678901_05_training-1.ipynb": SOLVED,
                                                "frank_homework.ipynb": SOLVED})
    said = _cli(course, "collect", str(download))
    assert "collected 0 notebook(s)" in said
    known = f"its notebooks are {SETUP}, {RNN}"
    assert f"erin_05_training.ipynb: skipped: the course has no notebook 05_training; {known}" in said
    assert f"smithjohn_12345_678901_05_training-1.ipynb: skipped: the course has no notebook 05_training; {known}" \
        in said
    assert "frank_homework.ipynb: skipped: not STUDENT/ASSIGNMENT/NOTEBOOK.ipynb" in said
    assert f"download of a course notebook ({SETUP}, {RNN})" in said


def test_a_resubmission_replaces_the_first_keeps_it_in_history_and_nbgrader_grades_it_with_its_time(
        course, tmp_path):
    first = _zip(tmp_path / "first.zip", {f"bob_{SETUP}.ipynb": (BLANK, T1)})
    second = _zip(tmp_path / "second.zip", {f"bob_{SETUP}.ipynb": (SOLVED, T2)})
    _cli(course, "collect", str(first))
    said = _cli(course, "collect", str(second))
    kept = os.path.join("autograder", "history", "bob", SETUP, "2025-03-01T09-30-00Z", f"{SETUP}.ipynb")
    kept_submitted = os.path.join("autograder", "submitted", "bob", SETUP, f"{SETUP}.ipynb")
    assert f"replaced bob/{SETUP} (submitted 2025-03-03 17:05:00 UTC, previous kept as {kept})" in said
    assert (course / kept).read_text() == BLANK
    assert (course / kept).with_name("timestamp.txt").read_text() == "2025-03-01 09:30:00.000000 UTC"
    assert (_submitted(course, "bob", SETUP) / f"{SETUP}.ipynb").read_text() == SOLVED
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", kept, kept_submitted], capture_output=True,
                             text=True).stdout.splitlines()
    assert ignored == [kept, kept_submitted]  # learners' old submissions stay out of git, as submitted/ does
    said = _cli(course, "collect", str(second))
    assert "collected 0 notebook(s)" in said and f"unchanged bob/{SETUP} (submitted 2025-03-03 17:05:00 UTC)" in said

    db_url = f"sqlite:///{course / 'autograder' / 'gradebook.db'}"
    with Gradebook(db_url) as gradebook:  # due an hour before the resubmission
        gradebook.update_or_create_assignment(SETUP, duedate=(T2 - timedelta(hours=1)).replace(tzinfo=None))
    _cli(course, "grade", SETUP, "--workers", "1", "--timeout", "20")
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(SETUP, "bob")
        assert submission.timestamp == T2.replace(tzinfo=None)
        assert submission.total_seconds_late == 3600
        assert gradebook.find_submission_notebook(SETUP, SETUP, "bob").score == 5  # the solved resubmission


def test_an_older_file_does_not_replace_the_newer_one_collected(course, tmp_path):
    _cli(course, "collect", str(_zip(tmp_path / "new.zip", {f"bob_{SETUP}.ipynb": (SOLVED, T2)})))
    said = _cli(course, "collect", str(_zip(tmp_path / "old.zip", {f"bob_{SETUP}.ipynb": (BLANK, T1)})))
    assert "collected 0 notebook(s)" in said
    assert (f"not replaced bob/{SETUP}: bob_{SETUP}.ipynb (submitted 2025-03-01 09:30:00 UTC) is older than the one "
            "collected (submitted 2025-03-03 17:05:00 UTC)") in said
    assert (_submitted(course, "bob", SETUP) / f"{SETUP}.ipynb").read_text() == SOLVED
    assert _time(course, "bob", SETUP) == T2 and not (course / "autograder" / "history").exists()
