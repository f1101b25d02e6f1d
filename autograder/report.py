"""What the class got wrong: per-cell statistics and the named mistakes that fired most.

Scores come from the gradebook; mistakes from the graded notebooks' error outputs,
where ``rnnlab.testing`` names a recognised mistake ("This is what a known mistake
gives: forgot the bias.") and the grader marks withheld points (autograder.verify).
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder.preprocessors import NOT_RUN
from autograder.verify import WITHHELD
from rnnlab import testing

KNOWN_MISTAKE = re.compile(re.escape(testing.KNOWN_MISTAKE) + r"(.+?)\.\s*(?:\n|$)")
OTHER_FAILURES = {WITHHELD: "points withheld by the re-check", NOT_RUN: "cell never ran (timeout, crash)"}


@dataclass
class CellStats:
    notebook: str
    cell: str
    points: float
    graded: int = 0  # learners with a graded submission
    lost: int = 0  # of them, how many lost points here
    scored: float = 0.0  # points scored, summed over learners

    @property
    def mean(self):
        return self.scored / self.graded if self.graded else 0.0


def cell_stats(db_url):
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
                        if grade.score is None:
                            continue
                        row.graded += 1
                        row.scored += grade.score
                        row.lost += grade.score < cell.max_score
                    stats.append(row)
    return stats


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


def report(db_url, autograded, out_dir, top=15):
    """Write report.md and report.png to ``out_dir``; return the text and the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats, fired = cell_stats(db_url), mistakes_fired(autograded)
    lines = ["| notebook | cell | points | graded | lost points | mean |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for row in stats:
        lines.append(f"| {row.notebook} | {row.cell} | {row.points:g} | {row.graded} | {row.lost} | {row.mean:.2f} |")
    lines += ["", "| named mistake | notebook | cell | learners |", "| --- | --- | --- | ---: |"]
    for (notebook, cell, name), count in fired.most_common():
        lines.append(f"| {name} | {notebook} | {cell} | {count} |")
    text = "\n".join(lines) + "\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(text)

    worst = sorted((row for row in stats if row.lost), key=lambda row: -row.lost)[:top]
    common = fired.most_common(top)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 0.4 * max(len(worst), len(common), 4) + 1.5))
    left.barh([f"{row.notebook}: {row.cell}" for row in worst][::-1], [row.lost for row in worst][::-1], color="tab:red")
    left.set(title="Learners who lost points, per test cell", xlabel="learners")
    right.barh([f"{name} ({cell})" for (_, cell, name), _ in common][::-1], [count for _, count in common][::-1],
               color="tab:orange")
    right.set(title="Named mistakes that fired most", xlabel="learners")
    for axes in (left, right):
        axes.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    png = out_dir / "report.png"
    figure.savefig(png, dpi=100)
    plt.close(figure)
    return text, png
