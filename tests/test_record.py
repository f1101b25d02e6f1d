"""autograder.record: the one patch of nbgrader the grader makes, and the retry on a locked gradebook."""

import pytest
from nbgrader.preprocessors import latesubmissions, saveautogrades
from sqlalchemy.exc import OperationalError

from autograder.record import nbgrader_uses_this_gradebook, with_retries


def test_nbgrader_opens_our_gradebook_only_while_the_shim_is_on():
    """nbgrader's SaveAutoGrades and AssignLatePenalties open Gradebook(db_url) from their module globals: if a
    new nbgrader renames them, this fails instead of the grader silently committing once per cell."""
    originals = saveautogrades.Gradebook, latesubmissions.Gradebook
    ours = object()
    with nbgrader_uses_this_gradebook(ours):
        assert saveautogrades.Gradebook("sqlite:///x.db") is ours
        assert latesubmissions.Gradebook("sqlite:///x.db", echo=False) is ours
    assert (saveautogrades.Gradebook, latesubmissions.Gradebook) == originals


def test_a_locked_gradebook_is_tried_again_and_other_errors_are_not(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    rolled_back, calls = [], []

    class Recorder:
        def rollback(self):
            rolled_back.append(True)

    def step(value):
        calls.append(value)
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return value * 2

    assert with_retries(step, 21, recorders=[Recorder()]) == 42
    assert len(calls) == 3 and len(rolled_back) == 2

    def broken():
        raise OperationalError("SELECT", {}, Exception("no such table: grade"))

    with pytest.raises(OperationalError, match="no such table"):
        with_retries(broken)
