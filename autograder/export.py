"""Grades as a CSV file an instructor can upload to an LMS.

One row per learner, after a first row ``(max points)`` holding each column's maximum:

- ``student``: the course's id of the learner; ``lms_user_id``: the id the LMS gave them
  (Canvas's user id, Moodle's participant id; recorded by ``collect``), empty when unknown;
- per notebook, ``<notebook>``: its score after any late penalty, ``<notebook>:late_penalty``: the
  points the penalty took (0 when on time; nbgrader's ``LateSubmissionPlugin`` sets it from the
  deadline), ``<notebook>:submitted``: the submission time, and ``<notebook>:<cell>``: each graded cell;
- ``total``: the sum of the notebook scores;
- ``counts``: which grade of a notebook graded several times counts, ``latest`` or ``best``
  (``c.OnSubmit.counts`` in nbgrader_config.py; a learner submitting on the hub is graded at each
  submission): with ``best``, a notebook's score is the best any of its gradings gave (after its late
  penalty), its cells and late penalty those of the latest.

A cell that is not a number says why: ``not submitted`` (nothing collected; it counts 0 in the total),
``not graded`` (collected after the last ``grade``), ``unreadable`` (the file could not be graded; the
grade summary and the learner's feedback page say why) or ``pending`` (an answer a person grades in
formgrader, not graded yet). A learner's total is then ``unreadable``, ``not graded`` or ``pending``
too, so that a partial score is never uploaded as final.
"""

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.onsubmit import OnSubmit
from autograder.submissions import GRADED, State

NOT_SUBMITTED, NOT_GRADED, UNREADABLE, PENDING = "not submitted", "not graded", "unreadable", "pending"
MAX_ROW = "(max points)"


def export_csv(path, coursedir):
    """Write the gradebook's grades of the course ``coursedir`` (nbgrader's CourseDirectory) to ``path``;
    return the number of learners written."""
    state = State(coursedir)
    statuses = state.statuses()
    counts = OnSubmit(config=coursedir.config).counts
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    autograded = Path(coursedir.root) / coursedir.autograded_directory
    with Gradebook(coursedir.db_url) as gradebook:
        notebooks = [(assignment.name, notebook) for assignment in sorted(gradebook.assignments, key=lambda a: a.name)
                     for notebook in sorted(assignment.notebooks, key=lambda n: n.name)]
        columns = []
        maximum = {"student": MAX_ROW, "lms_user_id": ""}
        for _, notebook in notebooks:
            columns += [notebook.name, f"{notebook.name}:late_penalty", f"{notebook.name}:submitted"]
            maximum.update({notebook.name: notebook.max_score, f"{notebook.name}:late_penalty": "",
                            f"{notebook.name}:submitted": ""})
            for cell in notebook.grade_cells:
                columns.append(f"{notebook.name}:{cell.name}")
                maximum[f"{notebook.name}:{cell.name}"] = cell.max_score
        maximum["total"] = sum(notebook.max_score for _, notebook in notebooks)
        learners = {student.id: student.lms_user_id or "" for student in gradebook.students}
        learners.update({folder.name: learners.get(folder.name, "") for folder in submitted.glob("*") if folder.is_dir()})
        rows = []
        for student in sorted(learners):
            row = {"student": student, "lms_user_id": learners[student]}
            for assignment, notebook in notebooks:
                row.update(_notebook_cells(gradebook, student, assignment, notebook, submitted, autograded, statuses))
                best = state.best(student, assignment, notebook.name)
                if counts == "best" and isinstance(row[notebook.name], (int, float)) and best is not None:
                    row[notebook.name] = max(row[notebook.name], best)
            scores = [row[notebook.name] for _, notebook in notebooks]
            waiting = [marker for marker in (UNREADABLE, NOT_GRADED, PENDING) if marker in scores]
            row["total"] = waiting[0] if waiting else sum(s for s in scores if isinstance(s, (int, float)))
            row["counts"] = counts
            rows.append(row)
    with open(path, "w", newline="") as handle:
        maximum["counts"] = counts
        writer = csv.DictWriter(handle, ["student", "lms_user_id", *columns, "total", "counts"])
        writer.writeheader()
        writer.writerow(maximum)
        writer.writerows(rows)
    return len(rows)


def _notebook_cells(gradebook, student, assignment, notebook, submitted, autograded, statuses):
    """The CSV cells of one learner's notebook: its score, late penalty, time and graded cells."""
    name = notebook.name
    cells = [f"{name}:{cell.name}" for cell in notebook.grade_cells]
    status = statuses.get((student, assignment, name), GRADED)
    was_submitted = (submitted / student / assignment / f"{name}.ipynb").exists()
    was_graded = (autograded / student / assignment / f"{name}.ipynb").exists()
    try:
        graded = gradebook.find_submission_notebook(name, assignment, student) if was_graded else None
    except MissingEntry:
        graded = None
    if not status.outcome.scored:
        marker = UNREADABLE
    elif graded is None:
        marker = NOT_GRADED if was_submitted else NOT_SUBMITTED
    else:
        marker = None
    if marker:
        return {name: marker, f"{name}:late_penalty": "", f"{name}:submitted": "", **dict.fromkeys(cells, marker)}
    penalty = graded.late_submission_penalty or 0.0
    timestamp = graded.assignment.timestamp
    row = {f"{name}:late_penalty": penalty, f"{name}:submitted": timestamp.isoformat(sep=" ") if timestamp else ""}
    pending = False
    for grade in graded.grades:
        waiting = grade.needs_manual_grade
        pending |= waiting
        row[f"{name}:{grade.name}"] = PENDING if waiting else grade.score
    row[name] = PENDING if pending else max(graded.score - penalty, 0.0)
    return row
