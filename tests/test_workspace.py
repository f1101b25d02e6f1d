"""Tests for rnnlab.workspace: make lab's copy of the course never loses a learner's change."""

import hashlib
import json
import subprocess
import sys

import pytest

from conftest import COURSE, notebooks
from rnnlab.workspace import MANIFEST, sync

RELEASE_FILES = {
    "00_setup/00_setup.ipynb": '{"cells": ["setup"]}\n',
    "01_rnn/01_rnn.ipynb": '{"cells": ["rnn"]}\n',
    "01_rnn/reference.json": '{"next_h": [0.5]}\n',
    "01_rnn/data/names.csv": "anna\nbob\n",
}
NOT_COPIED = {  # Jupyter's and Python's leftovers, and hidden files
    "01_rnn/.ipynb_checkpoints/01_rnn-checkpoint.ipynb": "{}",
    "__pycache__/helper.cpython-311.pyc": "",
    "01_rnn/.DS_Store": "",
}
NOTEBOOK = "01_rnn/01_rnn.ipynb"
REFERENCE = "01_rnn/reference.json"


def _write(folder, files):
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)


def _files(folder):
    """Every file under folder but the manifest, as relative path -> text."""
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*")
            if p.is_file() and p.name != MANIFEST}


def _snapshot(folder):
    """Every file under folder, manifest included, as relative path -> (bytes, mtime in ns)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture
def course(tmp_path):
    """A small released course in tmp_path/course."""
    folder = tmp_path / "course"
    _write(folder, RELEASE_FILES | NOT_COPIED)
    return folder


@pytest.fixture
def work(course, tmp_path):
    """A workspace after its first sync, in tmp_path/work."""
    folder = tmp_path / "work"
    sync(course, folder)
    return folder


# First time -----------------------------------------------------------------


def test_first_sync_copies_every_release_file_and_nothing_hidden(course, tmp_path):
    report = sync(course, tmp_path / "work")
    assert _files(tmp_path / "work") == RELEASE_FILES
    assert report.first_time and report.copied == sorted(RELEASE_FILES)
    assert "first time: copied 2 notebooks and 2 other files" in str(report)


def test_manifest_records_the_hash_of_each_copied_file(work):
    recorded = json.loads((work / MANIFEST).read_text())["files"]
    assert recorded == {path: hashlib.sha256(text.encode()).hexdigest() for path, text in RELEASE_FILES.items()}


def test_the_real_course_arrives_whole(tmp_path):
    report = sync(COURSE, tmp_path / "work")
    assert notebooks(COURSE)
    for relative in notebooks(COURSE):
        assert (tmp_path / "work" / relative).read_bytes() == (COURSE / relative).read_bytes(), relative
    assert not report.failed and not list((tmp_path / "work").rglob(".ipynb_checkpoints"))


# Course updates ---------------------------------------------------------------


def test_a_learner_edit_survives_a_course_update_and_is_named(course, work):
    (work / NOTEBOOK).write_text("my answers")
    (course / NOTEBOOK).write_text('{"cells": ["rnn, fixed"]}\n')
    for _ in range(2):  # said again on every run, until the learner starts over
        report = sync(course, work)
        assert (work / NOTEBOOK).read_text() == "my answers"
        assert report.changed_upstream == [NOTEBOOK] and not report.updated
        assert f"your copy kept: {NOTEBOOK}" in str(report)
        assert f"{(course / NOTEBOOK).as_posix()}" in str(report) and "rename or delete" in str(report)


def test_a_learner_edit_without_a_course_update_is_not_mentioned(course, work):
    (work / NOTEBOOK).write_text("my answers")
    (course / REFERENCE).write_text('{"next_h": [0.25]}\n')
    report = sync(course, work)
    assert (work / NOTEBOOK).read_text() == "my answers"
    assert NOTEBOOK not in str(report)


def test_an_untouched_file_follows_the_course(course, work):
    (course / REFERENCE).write_text('{"next_h": [0.25]}\n')
    report = sync(course, work)
    assert (work / REFERENCE).read_text() == '{"next_h": [0.25]}\n'
    assert report.updated == [REFERENCE]
    assert f"Course update: updated {REFERENCE}" in str(report)


def test_after_an_update_the_new_version_is_what_counts_as_untouched(course, work):
    for version in ("version 2", "version 3"):  # two course updates, each brought in by one sync
        (course / REFERENCE).write_text(version)
        assert sync(course, work).updated == [REFERENCE]
        assert (work / REFERENCE).read_text() == version
    (work / REFERENCE).write_text("learner's version")
    (course / REFERENCE).write_text("version 4")
    assert sync(course, work).changed_upstream == [REFERENCE]
    assert (work / REFERENCE).read_text() == "learner's version"


def test_a_file_new_in_the_course_is_copied(course, work):
    _write(course, {"05_training/05_training.ipynb": "{}"})
    report = sync(course, work)
    assert (work / "05_training/05_training.ipynb").read_text() == "{}"
    assert report.new == ["05_training/05_training.ipynb"] and not report.first_time
    assert "Course update: new 05_training/05_training.ipynb" in str(report)


def test_a_deleted_file_comes_back_as_a_fresh_copy_of_the_course_version(course, work):
    (work / NOTEBOOK).unlink()
    (course / NOTEBOOK).write_text("version 2")
    report = sync(course, work)
    assert (work / NOTEBOOK).read_text() == "version 2"
    assert report.restored == [NOTEBOOK]
    assert f"Fresh copy of what you deleted: {NOTEBOOK}" in str(report)


def test_a_file_removed_from_the_course_stays_and_is_named_once(course, work):
    (course / NOTEBOOK).unlink()
    assert sync(course, work).removed_upstream == [NOTEBOOK]
    assert (work / NOTEBOOK).read_text() == RELEASE_FILES[NOTEBOOK]
    assert sync(course, work).up_to_date


# No change ----------------------------------------------------------------------


def test_a_second_sync_without_changes_touches_nothing_and_says_one_line(course, work):
    (work / "my_notes.txt").write_text("mine")
    (work / NOTEBOOK).write_text("my answers")
    sync(course, work)
    before = _snapshot(work)
    report = sync(course, work)
    assert _snapshot(work) == before
    assert report.up_to_date
    assert str(report) == f"Your workspace: {work.as_posix()}/ (up to date with {course.as_posix()}/)"


# Without a record ---------------------------------------------------------------


def test_files_found_without_a_record_are_the_learners(course, tmp_path):
    work = tmp_path / "work"
    _write(work, {NOTEBOOK: "answers from before", REFERENCE: RELEASE_FILES[REFERENCE]})
    report = sync(course, work)
    assert (work / NOTEBOOK).read_text() == "answers from before"
    assert _files(work) == RELEASE_FILES | {NOTEBOOK: "answers from before"}
    assert report.kept_existing == [NOTEBOOK] and not report.first_time
    assert sorted(report.new) == sorted(set(RELEASE_FILES) - {NOTEBOOK, REFERENCE})
    assert sync(course, work).up_to_date  # named once, then recorded


@pytest.mark.parametrize("manifest", ["{not json", "[]", '{"files": []}', '{"files": {"../x": "00"}}',
                                      '{"files": {"01_rnn/01_rnn.ipynb": 7}}', b"\xff\xfe\x00"],
                         ids=["not-json", "list", "files-list", "bad-entry", "bad-hash", "not-utf8"])
def test_a_corrupt_manifest_never_overwrites(course, work, manifest):
    (work / NOTEBOOK).write_text("my answers")
    for relative in (NOTEBOOK, REFERENCE):  # one edited by the learner, one untouched
        (course / relative).write_text("version 2")
    (work / MANIFEST).write_bytes(manifest if isinstance(manifest, bytes) else manifest.encode())
    report = sync(course, work)
    assert (work / NOTEBOOK).read_text() == "my answers"
    assert (work / REFERENCE).read_text() == RELEASE_FILES[REFERENCE]
    assert len(report.notes) == 1 and "could not read" in str(report)
    assert report.kept_existing == sorted([NOTEBOOK, REFERENCE])
    assert sync(course, work).up_to_date  # the record is written anew


# Failures and the command line --------------------------------------------------


def test_a_folder_in_the_way_is_reported_and_the_rest_still_syncs(course, tmp_path):
    work = tmp_path / "work"
    (work / REFERENCE).mkdir(parents=True)
    report = sync(course, work)
    assert [path for path, _ in report.failed] == [REFERENCE]
    assert f"Could not copy {REFERENCE}: a folder is in the way" in str(report)
    assert (work / NOTEBOOK).read_text() == RELEASE_FILES[NOTEBOOK]
    assert not list(work.rglob("*.tmp"))


def test_command_line_defaults_to_course_and_work_in_the_current_folder(course, tmp_path):
    run = subprocess.run([sys.executable, "-m", "rnnlab.workspace"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Your workspace: work/ (first time: copied 2 notebooks")
    assert _files(tmp_path / "work") == RELEASE_FILES


def test_command_line_without_a_course_folder_says_so(tmp_path):
    run = subprocess.run([sys.executable, "-m", "rnnlab.workspace", "--release", "missing", "--work", "w"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and "no course folder at missing" in run.stderr
    assert not (tmp_path / "w").exists()
