"""The real nbgrader pipeline on every assignment: generate, validate, autograde, feedback, export.

The class (tests/nbgrader_class.py) runs in a temporary course directory with its own SQLite gradebook, so the
instructor's files under autograder/ are never touched.
"""

import csv
import html
import re

import nbformat
import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, notebooks, read_notebook, source
from nbgrader_class import ASSIGNMENTS, CATALOGUES
from notebook_cells import DEMO_MESSAGE, errors, printed, run_cells, save_pictures

from autograder.course import run_nbgrader


def _experiment_cells(notebook):
    """The test cells that check a training run (tagged ``experiment``)."""
    return {nbgrader_meta(cell)["grade_id"] for cell in read_notebook(notebook)["cells"]
            if nbgrader_meta(cell).get("grade") and "experiment" in cell["metadata"].get("tags", [])}


@pytest.fixture(scope="module")
def graded(nbgrader_class):
    """The class of nbgrader_class.grade_class, made once (only this file uses it: in a parallel run, one worker)."""
    return nbgrader_class


@pytest.mark.parametrize("relative", notebooks(SOLUTIONS), ids=str)
def test_solution_notebook_runs_top_to_bottom(relative, graded):
    """Each solved notebook, hidden tests included, run top to bottom once for the whole suite: as alice's submission
    in the class plain nbgrader autogrades (nbgrader runs every cell, errors or not)."""
    root = graded[0]
    nb = nbformat.read(root / "autograder" / "autograded" / "alice" / relative, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) == sum(cell["cell_type"] == "code" for cell in read_notebook(SOLUTIONS / relative)["cells"])
    assert all(cell.get("execution_count") for cell in code if cell.source.strip()), "not every cell ran"
    save_pictures(nb, relative.stem)
    assert not [f"{cell.source[:80]!r}: {output.ename}: {output.evalue}" for cell, output in errors(nb)]
    assert not [cell.source[:80] for cell in nb.cells if DEMO_MESSAGE.search(printed(cell))]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_gets_full_marks(graded, assignment):
    _, scores, max_scores, _, _ = graded
    assert max_scores[assignment] >= 4
    assert sum(scores["alice", assignment].values()) == max_scores[assignment]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_gets_zero(graded, assignment):
    _, scores, _, _, _ = graded
    assert sum(scores["bob", assignment].values()) == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_wrong_function_loses_only_the_points_that_depend_on_it(graded, assignment):
    _, scores, _, students, _ = graded
    lost = {cell for cell, score in scores["carol", assignment].items() if score != scores["alice", assignment][cell]}
    assert all(scores["carol", assignment][cell] == 0 for cell in lost)
    if assignment in students["carol"]:
        mistake = students["carol"][assignment]
        catalogue = CATALOGUES[assignment]
        expected = {cell for cell, error in run_cells(SOLUTIONS / catalogue.notebook, mistake).items() if error}
        experiments = _experiment_cells(SOLUTIONS / catalogue.notebook)
        if assignment == "05_training":  # carol's 01-04 have a mistake each, so her training runs stop too
            expected |= experiments
            assert lost == expected
        # 06: her search runs on her own functions, mistake included, and may or may not reach its targets
        assert lost - experiments == expected - experiments and lost
        assert all(cell.startswith(mistake.function) for cell in lost - experiments)
    else:
        assert lost == {"mean_baseline_mse_example", "mean_baseline_mse_adding"}


def test_hidden_tests_run_at_grading(graded):
    """dave's one_hot passes the public tests in the release but not the hidden ones."""
    _, scores, _, _, _ = graded
    lost = {cell for cell, score in scores["dave", "00_setup"].items() if score != scores["alice", "00_setup"][cell]}
    assert lost == {"one_hot_shape"}


def test_written_answers_wait_for_a_grader(graded):
    """A manually graded answer earns no points from the autograder: answered, it waits for a grader; left as
    released, it scores 0 with nothing to grade."""
    _, _, _, _, written = graded
    assignments = {assignment for (_, assignment), cells in written.items() if cells}
    assert "02_vanishing_gradients" in assignments
    for assignment in assignments:
        for cell in written["alice", assignment]:
            assert written["alice", assignment][cell] == (None, True), f"{assignment}: {cell}"
            assert written["bob", assignment][cell] == (0, False), f"{assignment}: {cell}"


def _shown(text, page):
    return text in page or html.escape(text) in page or html.escape(text, quote=False) in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_the_named_mistake(graded, assignment):
    root, _, _, students, _ = graded
    feedback = root / "autograder" / "feedback"
    for student in ("alice", "bob", "carol"):
        assert (feedback / student / assignment / f"{assignment}.html").exists()
    carol = (feedback / "carol" / assignment / f"{assignment}.html").read_text()
    if assignment in students["carol"]:
        mistake = students["carol"][assignment]
        assert _shown(mistake.name, carol) and _shown(mistake.hint, carol)
    else:
        assert "Return the mean of the squared errors, without np.sqrt." in carol
    # the failure reads as the learner's message, as in JupyterLab: no frames of rnnlab, no traceback
    assert "Test failed:" in carol and "rnnlab/testing.py" not in carol and "CheckFailed(" not in carol


def test_export_has_a_row_per_learner_and_assignment(graded):
    root, scores, max_scores, _, _ = graded
    with open(root / "grades.csv") as handle:
        rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(handle)}
    for assignment in ASSIGNMENTS:
        assert float(rows["alice", assignment]["score"]) == max_scores[assignment]
        assert float(rows["bob", assignment]["score"]) == 0
    assert float(rows["carol", "00_setup"]["score"]) == max_scores["00_setup"] - 2


# Validating a solved notebook runs it all; 05-08 train for minutes, and that every one of their test cells passes
# under this configuration (its cell timeout included) is what alice's full marks above show. The validator's own
# verdict is checked on the solved notebooks that run in seconds.
VALIDATED_SOLVED = [relative for relative in notebooks(SOLUTIONS) if not _experiment_cells(SOLUTIONS / relative)]


@pytest.mark.parametrize("relative", notebooks(SOLUTIONS), ids=str)
def test_validate_accepts_solutions_and_rejects_releases(relative):
    if relative in VALIDATED_SOLVED:
        solved = run_nbgrader("validate", str(SOLUTIONS / relative))
        assert "Success! Your notebook passes all the tests." in solved.stdout
    released = run_nbgrader("validate", str(COURSE / relative))
    # the release's stubs, each told in one line (rnnlab.testing's handler of NotImplementedError)
    assert "VALIDATION FAILED" in released.stdout and "is not written yet: replace the two lines" in released.stdout


def _hidden_lines():
    """Every distinctive line of every hidden test (not also in a public cell or the release): what must not leak."""
    lines = set()
    for assignment in ASSIGNMENTS:
        solution = read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")
        released = "\n".join(source(cell) for cell in read_notebook(COURSE / assignment / f"{assignment}.ipynb")["cells"])
        for cell in solution["cells"]:
            public, inside = [], None
            for line in source(cell).splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = []
                elif "END HIDDEN TESTS" in line:
                    lines.update(inside)
                    inside = None
                else:
                    (public if inside is None else inside).append(line.strip())
            lines.difference_update(public)
        lines = {line for line in lines if len(line) >= 12 and line not in released}
    return lines


def _page_text(page):
    """A feedback page as the learner reads it: tags (and pygments' token spans) removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_never_shows_a_hidden_test_line(graded):
    root = graded[0]
    hidden = _hidden_lines()
    assert len(hidden) > 200  # every notebook has hidden tests
    pages = sorted((root / "autograder" / "feedback").glob("*/*/*.html"))
    assert len(pages) >= 3 * len(ASSIGNMENTS)
    for page in pages:
        text = _page_text(page.read_text())
        shown = sorted(line for line in hidden if line in text)
        assert not shown, f"{page.relative_to(root)} shows hidden test lines, e.g. {shown[:3]}"
        assert "hidden test line" in text or "BEGIN HIDDEN TESTS" not in text


def test_feedback_keeps_a_hidden_tests_failure_message(graded):
    """dave's one_hot passes the public tests and fails a hidden one (a ValueError for 1-D ids): his page says what
    failed, not where in the hidden lines (IPython's traceback would quote them)."""
    root = graded[0]
    dave = _page_text((root / "autograder" / "feedback" / "dave" / "00_setup" / "00_setup.html").read_text())
    assert "2 hidden test lines ran here" in dave
    assert "ValueError: not enough values to unpack (expected 2, got 1)" in dave
    assert "Traceback (most recent call last)" not in dave and "---->" not in dave
