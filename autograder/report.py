"""What the class got wrong: per-cell statistics, the named mistakes that fired most, and an item analysis.

Scores come from the gradebook; mistakes from the graded notebooks' error outputs,
where ``rnnlab.testing`` names a recognised mistake ("This is what a known mistake
gives: forgot the bias.") and the grader marks withheld points (autograder.recheck).

The item analysis (:func:`item_analysis`) looks at each graded test cell across the class: its difficulty
(the mean fraction of its points), its discrimination (the correlation of its score with the rest of the
learner's score on the assignment), how many learners passed it on their first graded submission (where
``collect``'s history says which submission that was), and flags cells an instructor should look at.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import compute_checksum, is_solution

from autograder import course
from autograder.preprocessors import NOT_RUN
from autograder.submissions import GRADED, State, submitted_notebooks
from autograder.recheck import WITHHELD
from rnnlab import testing

KNOWN_MISTAKE = re.compile(re.escape(testing.KNOWN_MISTAKE) + r"(.+?)\.\s*(?:\n|$)")
OTHER_FAILURES = {WITHHELD: "points withheld by the re-check", NOT_RUN: "cell never ran (timeout, crash)"}
HISTORY = "history"  # next to submitted/: where collect keeps the earlier versions of a replaced submission
TOO_HARD, TOO_EASY = 0.1, 0.95  # difficulty below / above which a cell is flagged
TOO_HARD_REASON = "almost no one gets it: is it too hard, or is the test or its text wrong?"
TOO_EASY_REASON = "almost everyone gets it: does it test anything?"
NEGATIVE_REASON = "learners who do well elsewhere do worse here: is the test or its text wrong?"


@dataclass
class CellStats:
    notebook: str
    cell: str
    points: float
    graded: int = 0  # learners with a graded submission
    attempted: int = 0  # of them, how many wrote the function this cell tests (its failure is not the stub's)
    lost: int = 0  # of those who attempted it, how many lost points here
    scored: float = 0.0  # points scored by those who attempted it, summed

    @property
    def mean(self):
        return self.scored / self.attempted if self.attempted else 0.0


@dataclass
class Counts:
    """How many learners' notebooks of one notebook reached which state."""

    notebook: str
    submitted: int = 0  # collected
    graded: int = 0  # with a grade in the gradebook
    unreadable: int = 0  # collected, but could not be graded (the grader's summary says why)
    not_graded: int = 0  # collected after the last grade
    untouched: int = 0  # graded, but no answer cell differs from the release


def _graded_notebooks(autograded):
    """{(student, notebook): graded notebook} of every readable notebook under ``autograded``."""
    found = {}
    for path in sorted(Path(autograded).glob("*/*/*.ipynb")):
        try:
            found[path.parts[-3], path.stem] = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook has no outputs to count
            continue
    return found


def _stub_failed(cell):
    """The test cell failed because the function it tests is still the release's stub."""
    return any(o.get("output_type") == "error" and o.get("ename") == "NotImplementedError" for o in cell.get("outputs", []))


def _untouched(nb):
    """No answer cell of the notebook differs from the release (nbgrader's checksums)."""
    answers = [cell for cell in nb.cells if is_solution(cell) and "checksum" in cell.metadata.get("nbgrader", {})]
    return bool(answers) and all(compute_checksum(cell) == cell.metadata.nbgrader.checksum for cell in answers)


def cell_stats(db_url, graded_notebooks):
    """One :class:`CellStats` per autograded cell of every notebook, in course order."""
    stats = []
    with Gradebook(db_url) as gradebook:
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in notebook.grade_cells:
                    row = CellStats(notebook.name, cell.name, cell.max_score)
                    for student in gradebook.students:
                        try:
                            grade = gradebook.find_grade(cell.name, notebook.name, assignment.name, student.id)
                        except MissingEntry:
                            continue
                        nb = graded_notebooks.get((student.id, notebook.name))
                        if grade.score is None or nb is None:  # nbgrader keeps a 0 for a file it could not read
                            continue
                        row.graded += 1
                        test = next((c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell.name),
                                    None)
                        if test is not None and _stub_failed(test):
                            continue
                        row.attempted += 1
                        row.scored += grade.score
                        row.lost += grade.score < cell.max_score
                    stats.append(row)
    return stats


def notebook_counts(coursedir, graded_notebooks):
    """One :class:`Counts` per notebook that anyone submitted."""
    counts = {}
    statuses = State(coursedir).statuses()
    for student, assignment, name in submitted_notebooks(coursedir, course.assignments(coursedir.root)):
        row = counts.setdefault(name, Counts(name))
        row.submitted += 1
        graded = graded_notebooks.get((student, name))
        status = statuses.get((student, assignment, name))
        if status is not None and not status.outcome.scored:
            row.unreadable += 1
        elif graded is None:
            row.not_graded += 1
        else:
            row.graded += 1
            row.untouched += _untouched(graded)
    return [counts[name] for name in sorted(counts)]


# item analysis -------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One graded test cell across the class."""

    assignment: str
    notebook: str
    cell: str
    points: float
    scores: list = field(default_factory=list)  # per learner graded on the assignment: points here
    rests: list = field(default_factory=list)  # the same learners' points on the rest of the assignment
    first_known: Optional[int] = None  # learners whose first graded submission is the graded one (None: no history)
    first_passed: Optional[int] = None  # of them, how many got all its points
    mistakes: list = field(default_factory=list)  # [(named mistake, learners)], most first

    @property
    def label(self):
        return f"{self.notebook}: {self.cell}"

    @property
    def learners(self):
        return len(self.scores)

    @property
    def difficulty(self):
        """The mean fraction of the cell's points the learners got (1: everyone got them all), or None."""
        if not self.scores or not self.points:
            return None
        return sum(self.scores) / len(self.scores) / self.points

    @property
    def discrimination(self):
        """Pearson's correlation of the cell's score with the rest of the assignment's; None when either has
        no spread (everyone scored the same) or fewer than two learners were graded."""
        return pearson(self.scores, self.rests)

    @property
    def reasons(self):
        """Why an instructor should look at this cell, in plain words (empty: nothing stands out)."""
        found, difficulty, discrimination = [], self.difficulty, self.discrimination
        if difficulty is not None and difficulty > TOO_EASY:
            found.append(TOO_EASY_REASON)
        if difficulty is not None and difficulty < TOO_HARD:
            found.append(TOO_HARD_REASON)
        if discrimination is not None and discrimination < 0:
            found.append(NEGATIVE_REASON)
        return found


def pearson(xs, ys):
    """Pearson's correlation of ``xs`` and ``ys``, or None when it is undefined (a constant side, < 2 values)."""
    import numpy as np

    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-12 * max(1.0, float(x @ x)) or syy <= 1e-12 * max(1.0, float(y @ y)):
        return None
    return max(-1.0, min(1.0, float(dx @ dy) / (sxx * syy) ** 0.5))


def _test_cells(notebook):
    """The notebook's graded test cells: graded code cells that are not answers."""
    answers = {cell.name for cell in notebook.solution_cells}
    return [cell for cell in notebook.grade_cells if cell.cell_type == "code" and cell.name not in answers]


def _earlier_versions(history, student, assignment, notebook):
    """Whether collect kept an earlier version of the learner's notebook (it was replaced by a later one)."""
    return any((history / student / assignment).glob(f"*/{notebook}.ipynb"))


def item_analysis(coursedir, fired=None):
    """One :class:`Item` per graded test cell of every assignment, in course order, over the learners graded
    on the assignment (every notebook of theirs scored: an unreadable one counts nowhere). ``fired``: the
    :func:`mistakes_fired` counter (read from the graded notebooks when None)."""
    root = Path(coursedir.root)
    if fired is None:
        fired = mistakes_fired(root / coursedir.autograded_directory)
    history = root / Path(coursedir.submitted_directory).parent / HISTORY
    has_history = history.is_dir()
    statuses = State(coursedir).statuses()
    items = []
    with Gradebook(coursedir.db_url) as gradebook:
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            cells = [(notebook.name, cell) for notebook in sorted(assignment.notebooks, key=lambda n: n.name)
                     for cell in _test_cells(notebook)]
            found = [Item(assignment.name, notebook, cell.name, cell.max_score) for notebook, cell in cells]
            for item in found:
                item.first_known = 0 if has_history else None
                item.first_passed = 0 if has_history else None
                mistakes = [(name, count) for (nb, cell, name), count in fired.items()
                            if (nb, cell) == (item.notebook, item.cell)]
                item.mistakes = sorted(mistakes, key=lambda m: (-m[1], m[0]))
            for submission in sorted(assignment.submissions, key=lambda s: s.student_id):
                student = submission.student_id
                if any(not statuses.get((student, assignment.name, nb.name), GRADED).outcome.scored
                       for nb in submission.notebooks):
                    continue  # unreadable: nbgrader's 0 is no score
                scores = {(nb.name, grade.name): None if grade.auto_score is None and grade.manual_score is None
                          else grade.score for nb in submission.notebooks for grade in nb.grades}
                if any(scores.get((item.notebook, item.cell)) is None for item in found):
                    continue  # not (yet) graded (nbgrader's score is then 0)
                total = sum(score for score in scores.values() if score is not None)
                for item in found:
                    score = scores[item.notebook, item.cell]
                    item.scores.append(score)
                    item.rests.append(total - score)
                    if has_history and not _earlier_versions(history, student, assignment.name, item.notebook):
                        item.first_known += 1
                        item.first_passed += score >= item.points
            items += found
    return items


def _number(value):
    return "–" if value is None else f"{value:.2f}"


def _first_try(item):
    if item.first_known is None:
        return "no history"
    return f"{item.first_passed} of {item.first_known}"


def item_table(items):
    """The item analysis as markdown lines, for instructors."""
    if not items:
        return ["", "Item analysis: no graded test cell yet."]
    lines = ["", "Item analysis, per graded test cell, over the learners graded on its assignment. "
             "*Difficulty*: the mean fraction of the cell's points they got (0: no one, 1: everyone got them all). "
             "*Discrimination*: how the cell's score goes with the rest of the learner's score on the assignment "
             "(−1 to 1: near 1, the learners who do well elsewhere are the ones who pass it; below 0, they are the "
             "ones who fail it; – when everyone scored the same, here or on the rest). *First try*: learners who got "
             "all its points on their first graded submission, of those whose first graded submission is the one "
             "graded now (a learner who resubmitted is left out: the grade of an earlier version is not kept; "
             "\"no history\": nothing was ever collected again, so it cannot be told). Flagged cells are worth a "
             "look, not necessarily wrong; with few learners these numbers move a lot.", "",
             "| notebook | cell | points | learners | difficulty | discrimination | first try | mistakes that fired "
             "| look at it |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for item in items:
        mistakes = ", ".join(f"{name} ({count})" for name, count in item.mistakes)
        reasons = "; ".join(item.reasons)
        lines.append(f"| {item.notebook} | {item.cell} | {item.points:g} | {item.learners} | "
                     f"{_number(item.difficulty)} | {_number(item.discrimination)} | {_first_try(item)} | "
                     f"{mistakes} | {'**flagged**: ' + reasons if reasons else ''} |")
    flagged = [item for item in items if item.reasons]
    lines += ["", f"{len(flagged)} of {len(items)} test cell(s) flagged for you to look at." if flagged
              else "No test cell flagged: none is answered by almost everyone or almost no one, and none goes "
                   "against the rest of the assignment."]
    return lines


def plot_items(ax, items):
    """Difficulty (x) against discrimination (y), one point per cell, the flagged ones red and labelled; a cell
    whose discrimination is undefined is drawn hollow at 0. Returns {label: (x, y)} of the labelled points."""
    ax.axvspan(0, TOO_HARD, color="0.92", zorder=0)
    ax.axvspan(TOO_EASY, 1.05, color="0.92", zorder=0)
    ax.axhspan(-1.05, 0, color="0.96", zorder=0)
    ax.axhline(0, color="0.6", linewidth=0.8)
    labelled = {}
    for item in items:
        x, y = item.difficulty, item.discrimination
        if x is None:
            continue
        colour = "tab:red" if item.reasons else "tab:blue"
        if y is None:
            ax.scatter([x], [0.0], s=40, facecolors="none", edgecolors=colour, zorder=3)
        else:
            ax.scatter([x], [y], s=40, color=colour, zorder=3)
        if item.reasons:
            point = (x, 0.0 if y is None else y)
            right = x > 0.7  # near the right edge the label goes to the point's left
            ax.annotate(item.label, point, xytext=(-4 if right else 4, 4), textcoords="offset points", fontsize=8,
                        color="tab:red", ha="right" if right else "left")
            labelled[item.label] = point
    ax.set(title="Test cells: difficulty against discrimination (red: look at it)",
           xlabel="difficulty: mean fraction of the points (1: everyone got them all)",
           ylabel="discrimination (hollow: undefined, drawn at 0)", xlim=(-0.05, 1.05), ylim=(-1.05, 1.05))
    return labelled


def mistakes_fired(autograded):
    """Counter of (notebook, cell, mistake) over every graded notebook under ``autograded``."""
    fired = Counter()
    for path in sorted(Path(autograded).glob("*/*/*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook has no outputs to count
            continue
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                found = KNOWN_MISTAKE.search(output.get("evalue", ""))
                name = found.group(1) if found else OTHER_FAILURES.get(output.get("ename"))
                if name:
                    fired[path.stem, grade_id, name] += 1
    return fired


def report(coursedir, out_dir, top=15):
    """Write report.md and report.png for the course ``coursedir`` (nbgrader's CourseDirectory) to ``out_dir``;
    return the text and the PNG's path. The PNG's last panel is the item analysis (:func:`plot_items`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    autograded = Path(coursedir.root) / coursedir.autograded_directory
    graded_notebooks = _graded_notebooks(autograded)
    counts = notebook_counts(coursedir, graded_notebooks)
    stats, fired = cell_stats(coursedir.db_url, graded_notebooks), mistakes_fired(autograded)
    items = item_analysis(coursedir, fired)
    lines = ["| notebook | submitted | graded | unreadable | not graded yet | untouched |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in counts:
        lines.append(f"| {row.notebook} | {row.submitted} | {row.graded} | {row.unreadable} | {row.not_graded} "
                     f"| {row.untouched} |")
    lines += ["", "Per test cell, over the learners who attempted it (wrote the function it tests):", "",
              "| notebook | cell | points | attempted | learners who lost points | mean |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for row in stats:
        lines.append(f"| {row.notebook} | {row.cell} | {row.points:g} | {row.attempted} | {row.lost} | {row.mean:.2f} |")
    if fired:
        lines += ["", "| named mistake | notebook | cell | learners |", "| --- | --- | --- | ---: |"]
        for (notebook, cell, name), count in fired.most_common():
            lines.append(f"| {name} | {notebook} | {cell} | {count} |")
    else:
        lines += ["", "No named mistake fired: every failed test cell failed in a way the catalogue does not name."]
    lines += item_table(items)
    text = "\n".join(lines) + "\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(text)

    worst = sorted((row for row in stats if row.lost), key=lambda row: -row.lost / row.attempted)[:top]
    common = fired.most_common(top)
    plotted = [item for item in items if item.difficulty is not None]
    panels = 1 + bool(common) + bool(plotted)
    height = max(0.4 * max(len(worst), len(common), 4) + 1.5, 5.5 if plotted else 0)
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, height), squeeze=False)
    left = axes[0][0]
    left.barh([f"{row.notebook}: {row.cell}" for row in worst][::-1],
              [100 * row.lost / row.attempted for row in worst][::-1], color="tab:red")
    left.set(title="Learners who lost points, per test cell", xlabel="% of the learners who attempted the cell",
             xlim=(0, 100))
    if common:
        right = axes[0][1]
        right.barh([f"{name} ({cell})" for (_, cell, name), _ in common][::-1], [count for _, count in common][::-1],
                   color="tab:orange")
        right.set(title="Named mistakes that fired most", xlabel="learners")
        right.xaxis.get_major_locator().set_params(integer=True)
    if plotted:
        plot_items(axes[0][-1], plotted)
    figure.tight_layout()
    png = out_dir / "report.png"
    figure.savefig(png, dpi=100)
    plt.close(figure)
    return text, png
