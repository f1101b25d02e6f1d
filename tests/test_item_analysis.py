"""The report's item analysis on a generated class whose answers make each cell's statistics known in advance.

Ten learners, one assignment ``a1`` with four test cells and a written answer (5 points, graded by hand) that
makes s0-s4 strong and s5-s9 weak:

- A (1 point): everyone passes: difficulty 1, discrimination undefined (no spread), flagged as too easy;
- B (2 points): only the strong pass: discrimination high;
- C (1 point): only the weak pass: discrimination negative, flagged;
- D (1 point): every other learner passes: difficulty 0.5.

s10's notebook was unreadable (nbgrader keeps a 0 for it) and s11 is not graded yet: both count nowhere.
The gradebook is built directly through nbgrader's API; no notebook is run.
"""

import json
import shutil
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from autograder import course, report
from rnnlab import testing

matplotlib.use("Agg")

STRONG, WEAK = [f"s{i}" for i in range(5)], [f"s{i}" for i in range(5, 10)]
LEARNERS = STRONG + WEAK
A = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0])
B = np.array([2, 2, 2, 2, 2, 0, 0, 0, 0, 0.0])
C = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1.0])
D = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0.0])
ESSAY = np.array([5, 4, 5, 3, 4, 1, 0, 2, 1, 0.0])
TOTAL = A + B + C + D + ESSAY
BIAS = "forgot the bias"


@pytest.fixture(scope="module")
def gradebook_file(tmp_path_factory):
    """The class's gradebook, built once (creating a gradebook takes seconds); each test gets a copy."""
    course.find_alembic()
    path = tmp_path_factory.mktemp("class") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gradebook:
        gradebook.add_assignment("a1")
        gradebook.add_notebook("a1", "a1")
        for cell, points in [("A", 1), ("B", 2), ("C", 1), ("D", 1)]:
            gradebook.add_grade_cell(cell, "a1", "a1", max_score=points, cell_type="code")
        gradebook.add_grade_cell("essay", "a1", "a1", max_score=5, cell_type="markdown")
        gradebook.add_solution_cell("essay", "a1", "a1")
        for i, student in enumerate(LEARNERS + ["s10", "s11"]):
            gradebook.add_student(student)
            gradebook.add_submission("a1", student)
            for cell, scores in [("A", A), ("B", B), ("C", C), ("D", D)]:
                score = 0.0 if student == "s10" else None if student == "s11" else scores[i]
                gradebook.find_grade(cell, "a1", "a1", student).auto_score = score
            essay = gradebook.find_grade("essay", "a1", "a1", student)
            essay.manual_score = ESSAY[i] if i < 10 else 0.0
        gradebook.db.commit()
    return path


@pytest.fixture
def coursedir(tmp_path, gradebook_file):
    root = tmp_path / "course"
    (root / "solutions" / "a1").mkdir(parents=True)
    (root / "solutions" / "a1" / "a1.ipynb").write_text("{}")
    shutil.copy(gradebook_file, tmp_path / "gradebook.db")
    found = CourseDirectory(root=str(root), submitted_directory="autograder/submitted",
                            autograded_directory="autograder/autograded", db_url=f"sqlite:///{tmp_path / 'gradebook.db'}")
    state = root / "autograder" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"s10/a1": {"graded_from": "x", "feedback": "", "statuses": {
        "a1": {"outcome": "UNREADABLE", "detail": "the file is empty"}}}}))
    for student in ["s5", "s6"]:  # the weak learners s5 and s6 made the named mistake in B
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("test_b()", metadata={"nbgrader": {"grade_id": "B", "grade": True}})
        cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", traceback=[],
                                               evalue=f"{testing.KNOWN_MISTAKE}{BIAS}.\nHint: add b.")]
        nb.cells.append(cell)
        path = root / "autograder" / "autograded" / student / "a1" / "a1.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    return found


def _by_cell(items):
    assert [(item.assignment, item.notebook) for item in items] == [("a1", "a1")] * 4  # the essay is no test cell
    return {item.cell: item for item in items}


def _pearson(x, y):  # by hand, for the check
    dx, dy = x - x.mean(), y - y.mean()
    return float(np.sum(dx * dy) / np.sqrt(np.sum(dx * dx) * np.sum(dy * dy)))


def test_difficulty_discrimination_and_flags_are_what_the_answers_make_them(coursedir):
    items = _by_cell(report.item_analysis(coursedir))
    for cell, scores, points in [("A", A, 1), ("B", B, 2), ("C", C, 1), ("D", D, 1)]:
        item = items[cell]
        assert item.learners == 10 and item.points == points  # s10 (unreadable) and s11 (not graded) left out
        assert item.scores == list(scores) and item.rests == list(TOTAL - scores)
        assert item.difficulty == pytest.approx(scores.mean() / points, abs=1e-15)
    assert items["A"].difficulty == 1 and items["D"].difficulty == 0.5 and items["B"].difficulty == 0.5
    assert items["A"].discrimination is None  # everyone the same here: undefined

    expected_b = _pearson(B, TOTAL - B)
    # by hand: B is 2 for s0-s4 (mean 1, deviations +-1); the rest is A + C + D + essay, 7 5 7 4 6 3 3 4 4 2
    # (mean 4.5, squared deviations summing to 26.5), so the covariance sum is 6.5 + 6.5 = 13: r = 13 / sqrt(10 * 26.5)
    assert list(TOTAL - B) == [7, 5, 7, 4, 6, 3, 3, 4, 4, 2]
    assert expected_b == pytest.approx(13 / np.sqrt(265), abs=1e-12)
    assert expected_b == pytest.approx(np.corrcoef(B, TOTAL - B)[0, 1], abs=1e-12)
    assert items["B"].discrimination == pytest.approx(expected_b, abs=1e-12)
    # C: deviations -+0.5; the rest 9 7 9 6 8 2 2 3 3 1 (mean 5, squares 88): r = -14 / sqrt(2.5 * 88)
    expected_c = _pearson(C, TOTAL - C)
    assert list(TOTAL - C) == [9, 7, 9, 6, 8, 2, 2, 3, 3, 1] and expected_c == pytest.approx(-14 / np.sqrt(220), abs=1e-12)
    assert items["C"].discrimination == pytest.approx(expected_c, abs=1e-12)
    assert items["D"].discrimination == pytest.approx(_pearson(D, TOTAL - D), abs=1e-12)

    assert items["A"].reasons == ["almost everyone gets it: does it test anything?"]
    assert items["C"].reasons == ["learners who do well elsewhere do worse here: is the test or its text wrong?"]
    assert items["B"].reasons == [] and items["D"].reasons == []
    assert items["B"].mistakes == [(BIAS, 2)] and items["A"].mistakes == []
    assert all(item.first_known is None for item in items.values())  # collect never replaced a notebook


def test_first_tries_count_the_learners_whose_graded_submission_was_their_first(coursedir):
    for student in ["s1", "s5"]:  # collect kept an earlier version: their first grade is not known
        kept = Path(coursedir.root) / "autograder" / "history" / student / "a1" / "2026-12-09T17-05-00Z"
        kept.mkdir(parents=True)
        (kept / "a1.ipynb").write_text("{}")
    items = _by_cell(report.item_analysis(coursedir))
    # of the 8 others, B: s0 s2 s3 s4; C: s6-s9; D: s0 s2 s4 s6 s8
    assert {cell: (item.first_passed, item.first_known) for cell, item in items.items()} == {
        "A": (8, 8), "B": (4, 8), "C": (4, 8), "D": (5, 8)}
    text = "\n".join(report.item_table(list(items.values())))
    assert "| a1 | B | 2 | 10 | 0.50 |" in text and "| 4 of 8 |" in text and "no history" not in text.split("|")[-1]


def test_the_report_has_the_table_and_a_picture_that_labels_the_flagged_cells(coursedir, tmp_path, monkeypatch, output_dir):
    drawn = {}

    def spy(ax, items):
        drawn.update(plot_items(ax, items))
        drawn["texts"] = sorted(text.get_text() for text in ax.texts)
        return drawn

    plot_items = report.plot_items
    monkeypatch.setattr(report, "plot_items", spy)
    text, png = report.report(coursedir, tmp_path / "out")

    expected_b, expected_c = _pearson(B, TOTAL - B), _pearson(C, TOTAL - C)
    assert ("| a1 | A | 1 | 10 | 1.00 | – | no history |  | **flagged**: almost everyone gets it: does it test "
            "anything? |") in text
    assert f"| a1 | B | 2 | 10 | 0.50 | {expected_b:.2f} | no history | {BIAS} (2) |  |" in text
    assert (f"| a1 | C | 1 | 10 | 0.50 | {expected_c:.2f} | no history |  | **flagged**: learners who do well "
            "elsewhere do worse here: is the test or its text wrong? |") in text
    assert "2 of 4 test cell(s) flagged for you to look at." in text
    assert (tmp_path / "out" / "report.md").read_text() == text

    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    shutil.copy(png, output_dir / "item_analysis.png")  # for people to look at
    assert drawn.pop("texts") == ["a1: A", "a1: C"]  # only the flagged cells are labelled
    assert drawn == {"a1: A": (1.0, 0.0), "a1: C": (0.5, pytest.approx(expected_c, abs=1e-12))}
