"""What an instructor does around the scores, through the command line: grading again only what
changed, one learner at a time, nothing collected yet, deadlines and late penalties, answers that
wait for a person, and a CSV an LMS can take."""

import csv
import os
import shutil
import stat
import subprocess
import sys

import pytest
from conftest import COURSE, SOLUTIONS
from nbgrader.api import Gradebook

SETUP, VANISHING = "00_setup", "02_vanishing_gradients"
pytestmark = pytest.mark.usefixtures("sandboxed")


def _course(root, *assignments):
    for assignment in assignments:
        shutil.copytree(SOLUTIONS / assignment, root / "solutions" / assignment)
    return root


def _run(course, *args):
    return subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(course), *args],
                          capture_output=True, text=True, env=dict(os.environ), timeout=600)


def _cli(course, *args):
    result = _run(course, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr + result.stdout


def _submit(course, student, assignment, text, timestamp=None):
    folder = course / "autograder" / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{assignment}.ipynb").write_text(text)
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)


def _row(summary, assignment):
    return next(line.split() for line in summary.splitlines() if line.startswith(assignment))


def _csv(course, tmp_path):
    _cli(course, "export", "--csv", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_grading_again_takes_only_what_changed_and_one_learner_at_a_time(tmp_path):
    course = _course(tmp_path / "course", SETUP)
    nothing = _run(course, "grade", SETUP)
    assert nothing.returncode == 1 and f"nothing collected for {SETUP}: run `python -m autograder collect`" in nothing.stderr
    unknown = _run(course, "grade", "05_training")
    assert unknown.returncode == 2 and f"its assignments are {SETUP}" in unknown.stderr

    solved, release = (SOLUTIONS / SETUP / f"{SETUP}.ipynb").read_text(), (COURSE / SETUP / f"{SETUP}.ipynb").read_text()
    _submit(course, "alice", SETUP, solved)
    _submit(course, "bob", SETUP, release)
    _submit(course, "carol", SETUP, solved[:2000])  # cut short: not JSON
    first = _cli(course, "grade", SETUP)
    assert first.splitlines()[0].startswith("starting")  # a line before the first notebook is done
    assert "[3/3]" in first and _row(first, SETUP)[:4] == [SETUP, "3", "3", "1.67/5"]  # carol counts 0
    assert "unreadable: not valid JSON (Unterminated string" in first and "carol/00_setup" in first

    graded = course / "autograder" / "autograded" / "alice" / SETUP / f"{SETUP}.ipynb"
    assert graded.stat().st_mode & stat.S_IWUSR  # nbgrader makes them read-only; the grader, not root, writes them
    again = _cli(course, "grade", SETUP)
    assert "[1/" not in again and _row(again, SETUP)[:4] == [SETUP, "3", "0", "1.67/5"]
    assert "3 notebook(s) unchanged since their last grade" in again and "carol/00_setup" in again

    _submit(course, "bob", SETUP, solved)  # bob finishes his work
    third = _cli(course, "grade", SETUP)
    assert "[1/1] bob/00_setup: 5/5" in third and _row(third, SETUP)[:4] == [SETUP, "3", "1", "3.33/5"]

    one = _cli(course, "grade", SETUP, "--student", "alice", "--all")
    assert "[1/1] alice/00_setup: 5/5" in one and _row(one, SETUP)[:3] == [SETUP, "1", "1"]

    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student("dave", lms_user_id="4711")  # on the roster, submitted nothing
    rows = _csv(course, tmp_path)
    assert rows["(max points)"][SETUP] == "5.0" and rows["(max points)"]["total"] == "5.0"
    assert rows["carol"][SETUP] == "unreadable" and rows["carol"]["total"] == "unreadable"
    assert rows["dave"][SETUP] == "not submitted" and rows["dave"]["lms_user_id"] == "4711"
    assert float(rows["bob"][SETUP]) == 5 and float(rows["bob"]["total"]) == 5

    report = _cli(course, "report", "--out", str(tmp_path / "report"))
    assert f"| {SETUP} | 3 | 2 | 1 | 0 |" in report  # submitted, graded, unreadable (carol), untouched
    assert "No named mistake fired" in report and "| named mistake |" not in report


def test_a_late_submission_pays_the_configured_penalty_and_a_written_answer_waits_for_a_person(tmp_path):
    course = _course(tmp_path / "course", SETUP, VANISHING)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.AssignLatePenalties.plugin_class = '
                                               '"autograder.late.PerDay"\nc.PerDay.fraction = 0.2\n')
    assert "due 2026-12-01 22:59 UTC" in _cli(course, "deadline", SETUP, "2026-12-01 23:59 Europe/Berlin")
    solved = (SOLUTIONS / SETUP / f"{SETUP}.ipynb").read_text()
    _submit(course, "alice", SETUP, solved, "2026-12-01 22:00:00.000000 UTC")  # on time
    _submit(course, "bob", SETUP, solved, "2026-12-03 10:00:00.000000 UTC")  # 2 started days late: -40 %
    _submit(course, "alice", VANISHING, (SOLUTIONS / VANISHING / f"{VANISHING}.ipynb").read_text())
    summary = _cli(course, "grade")
    assert f"3 point(s) of {VANISHING} wait for a grader (formgrader: make instructor): alice" in summary
    assert _row(summary, VANISHING)[4:6] == ["1", "learner(s)"]

    said = _cli(course, "feedback")
    page = course / "autograder" / "feedback" / "alice" / VANISHING / f"{VANISHING}.html"
    assert "feedback: 3 page(s)" in said and "3 points wait for a grader" in page.read_text()

    rows = _csv(course, tmp_path)
    assert float(rows["alice"][SETUP]) == 5 and float(rows["alice"][f"{SETUP}:late_penalty"]) == 0
    assert float(rows["bob"][SETUP]) == 3 and float(rows["bob"][f"{SETUP}:late_penalty"]) == 2
    assert rows["bob"][f"{SETUP}:submitted"].startswith("2026-12-03 10:00")
    assert rows["alice"][f"{VANISHING}:explorer_written_answer"] == "pending"
    assert rows["alice"][VANISHING] == "pending" and rows["alice"]["total"] == "pending"

    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gradebook:  # as formgrader saves it
        grade = gradebook.find_grade("explorer_written_answer", VANISHING, VANISHING, "alice")
        grade.manual_score, grade.needs_manual_grade = 2.5, False
        gradebook.db.commit()
    rows = _csv(course, tmp_path)
    assert float(rows["alice"][f"{VANISHING}:explorer_written_answer"]) == 2.5
    assert float(rows["alice"]["total"]) == 5 + float(rows["alice"][VANISHING])
    assert "wait for a grader" not in _cli(course, "grade")
    said = _cli(course, "feedback")  # the manual grade changed one page: only that one is written again
    assert "[1/1] alice/02_vanishing_gradients" in said and "2 page(s) unchanged" in said
    assert "wait for a grader" not in page.read_text()
