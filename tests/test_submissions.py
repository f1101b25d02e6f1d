"""autograder.submissions: the grading state's vocabulary (outcomes), the one readability check, the state file."""

import json
from types import SimpleNamespace

import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.submissions import (GRADED, Outcome, State, Status, Unreadable, diagnose, fingerprint,
                                    kernel_status, submitted_notebooks, unreadable)


def test_a_status_reads_as_the_summary_always_said_it():
    assert str(GRADED) == "" and not GRADED
    assert str(Status(Outcome.TIMEOUT)) == "timeout" and Status(Outcome.TIMEOUT)
    assert str(Status(Outcome.KERNEL_DIED)) == "kernel died"
    assert str(Status(Outcome.KERNEL_ERROR, "RuntimeError")) == "kernel error (RuntimeError)"
    assert str(Status(Outcome.GRADER_ERROR, "OSError: disk full")) == "grader error (OSError: disk full)"
    assert str(Status(Outcome.UNREADABLE, "the file is empty")) == "unreadable: the file is empty"


def test_what_each_outcome_means_for_the_score_and_the_next_run():
    assert {o for o in Outcome if not o.scored} == {Outcome.UNREADABLE, Outcome.NOT_GRADABLE}
    assert {o for o in Outcome if not o.final} == {Outcome.GRADER_ERROR}


@pytest.mark.parametrize("status", [GRADED, Status(Outcome.TIMEOUT), Status(Outcome.UNREADABLE, "not valid JSON (x)")])
def test_a_status_survives_the_state_file(status):
    assert Status.from_json(json.loads(json.dumps(status.to_json()))) == status


def test_kernel_failures_are_told_apart_by_type_not_by_name():
    assert kernel_status(None) is GRADED
    assert kernel_status(CellTimeoutError("cell", "timed out", None)).outcome is Outcome.TIMEOUT
    assert kernel_status(DeadKernelError("gone")).outcome is Outcome.KERNEL_DIED

    class DeadlineTimeout(Exception):  # a name with "Timeout" in it is not a timeout
        pass

    assert kernel_status(DeadlineTimeout()) == Status(Outcome.KERNEL_ERROR, "DeadlineTimeout")


@pytest.mark.parametrize(("data", "kind"), [(b"", "empty"), (b"  \n", "empty"), (b"\xff\xfe{", "not text"),
                                            (b'{"cells": [', "not JSON"), (b'{"cells": [1]}', "not a notebook"),
                                            (b"[1, 2]", "not a notebook")])
def test_what_is_not_a_notebook_says_why(data, kind):
    found = unreadable(data)
    assert found.kind == kind
    assert found.status().outcome is Outcome.UNREADABLE and found.for_learner()


def test_a_notebook_is_readable_and_one_nbgrader_could_not_match_is_not_gradable(tmp_path):
    import nbformat

    path = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert unreadable(path.read_bytes()) is None
    assert diagnose(path) == Unreadable("cells changed")
    assert diagnose(path).status().outcome is Outcome.NOT_GRADABLE
    assert diagnose(tmp_path / "missing.ipynb").kind == "empty"


def _coursedir(root):
    return SimpleNamespace(root=str(root), autograded_directory="autograder/autograded",
                           submitted_directory="autograder/submitted")


def test_the_state_remembers_grading_and_feedback_in_one_file(tmp_path):
    state = State(_coursedir(tmp_path))
    state.graded("ann", "01_rnn", "01_rnn", Status(Outcome.TIMEOUT), "abc")
    state.graded("bob", "01_rnn", "01_rnn", GRADED, "def")
    state.fed_back("bob", "01_rnn", "page")
    state.save()
    again = State(_coursedir(tmp_path))
    assert again.path == tmp_path / "autograder" / "state.json"
    assert again.graded_from("ann", "01_rnn") == "abc" and again.graded_from("cay", "01_rnn") == ""
    assert again.status("ann", "01_rnn", "01_rnn") == Status(Outcome.TIMEOUT)
    assert again.status("bob", "01_rnn", "01_rnn") == GRADED
    assert again.statuses() == {("ann", "01_rnn", "01_rnn"): Status(Outcome.TIMEOUT)}
    assert again.feedback_from("bob", "01_rnn") == "page" and again.feedback_from("ann", "01_rnn") == ""


def test_a_course_graded_before_the_state_file_keeps_what_it_knew(tmp_path):
    """graded.json and feedback.json, written by the grader before state.json, are read once."""
    folder = tmp_path / "autograder"
    folder.mkdir()
    (folder / "graded.json").write_text(json.dumps({"ann/01_rnn": {"fingerprint": "abc", "problems": {
        "01_rnn": "unreadable: not valid JSON (Expecting value, line 1 column 1)"}}, "bob/01_rnn": {
        "fingerprint": "def", "problems": {"01_rnn": ""}}}))
    (folder / "feedback.json").write_text(json.dumps({"bob/01_rnn": "page"}))
    state = State(_coursedir(tmp_path))
    assert state.graded_from("ann", "01_rnn") == "abc"
    assert state.status("ann", "01_rnn", "01_rnn").outcome is Outcome.UNREADABLE
    assert state.status("bob", "01_rnn", "01_rnn") == GRADED
    assert state.feedback_from("bob", "01_rnn") == "page"


def test_submitted_notebooks_and_their_fingerprint(tmp_path):
    for student in ("bob", "ann"):
        folder = tmp_path / "autograder" / "submitted" / student / "01_rnn"
        folder.mkdir(parents=True)
        (folder / "01_rnn.ipynb").write_text(student)
    assert submitted_notebooks(_coursedir(tmp_path), ["01_rnn", "02_x"]) == [("ann", "01_rnn", "01_rnn"),
                                                                            ("bob", "01_rnn", "01_rnn")]
    files = sorted((tmp_path / "autograder" / "submitted").glob("*/*/*.ipynb"))
    first = fingerprint(files, tmp_path)
    assert fingerprint(files, tmp_path) == first
    files[0].write_text("changed")
    assert fingerprint(files, tmp_path) != first


def test_the_best_score_of_all_gradings_survives_the_state_file(tmp_path):
    coursedir = SimpleNamespace(root=str(tmp_path), autograded_directory="autograder/autograded")
    state = State(coursedir)
    assert state.best("alice", "01_rnn", "01_rnn") is None
    for score in (4.0, 9.5, 7.0):  # graded three times, the best in the middle
        state.graded("alice", "01_rnn", "01_rnn", GRADED, "fingerprint", score)
    state.graded("alice", "01_rnn", "01_rnn", Status(Outcome.UNREADABLE, "empty"), "fingerprint")  # no score
    state.save()
    assert State(coursedir).best("alice", "01_rnn", "01_rnn") == 9.5


def _grade_repeatedly(root, student, times):
    coursedir = SimpleNamespace(root=str(root), autograded_directory="autograder/autograded")
    for time in range(times):
        state = State(coursedir)  # read, changed, saved: as a grading lane does, many at once
        state.graded(student, "01_rnn", "01_rnn", GRADED, f"{student}-{time}", float(time))
        state.save()


def test_learners_graded_at_once_keep_each_others_entries(tmp_path):
    """Processes saving the state file at the same moment each keep the others' learners (the hub's lanes)."""
    import multiprocessing

    students, times = [f"learner{number}" for number in range(6)], 25
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_grade_repeatedly, args=(tmp_path, student, times)) for student in students]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [process.exitcode for process in processes] == [0] * len(students)
    state = State(SimpleNamespace(root=str(tmp_path), autograded_directory="autograder/autograded"))
    assert {student: state.graded_from(student, "01_rnn") for student in students} == {
        student: f"{student}-{times - 1}" for student in students}
    assert {state.best(student, "01_rnn", "01_rnn") for student in students} == {times - 1}
