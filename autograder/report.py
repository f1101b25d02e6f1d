"""What the class got wrong: per-cell statistics and the named mistakes that fired most.

Scores come from the gradebook; mistakes from the graded notebooks' error outputs,
where ``rnnlab.testing`` names a recognised mistake ("This is what a known mistake
gives: forgot the bias.") and the grader marks withheld points (autograder.recheck).
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import compute_checksum, is_solution

from autograder import course
from autograder.preprocessors import NOT_RUN
from autograder.submissions import State, submitted_notebooks
from autograder.recheck import WITHHELD
from rnnlab import testing

KNOWN_MISTAKE = re.compile(re.escape(testing.KNOWN_MISTAKE) + r"(.+?)\.\s*(?:\n|$)")
OTHER_FAILURES = {WITHHELD: "points withheld by the re-check", NOT_RUN: "cell never ran (timeout, crash)"}


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
    return the text and the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    autograded = Path(coursedir.root) / coursedir.autograded_directory
    graded_notebooks = _graded_notebooks(autograded)
    counts = notebook_counts(coursedir, graded_notebooks)
    stats, fired = cell_stats(coursedir.db_url, graded_notebooks), mistakes_fired(autograded)
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
    text = "\n".join(lines) + "\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(text)

    worst = sorted((row for row in stats if row.lost), key=lambda row: -row.lost / row.attempted)[:top]
    common = fired.most_common(top)
    panels = 2 if common else 1
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 0.4 * max(len(worst), len(common), 4) + 1.5),
                                squeeze=False)
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
    figure.tight_layout()
    png = out_dir / "report.png"
    figure.savefig(png, dpi=100)
    plt.close(figure)
    return text, png
