"""One CSV row per learner: a column per notebook and per graded cell, and the total."""

import csv

from nbgrader.api import Gradebook


def export_csv(path, db_url):
    """Write the gradebook's scores to ``path``; return the number of learners written."""
    with Gradebook(db_url) as gradebook:
        columns, rows = [], {}
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                columns.append(f"{notebook.name}")
                columns += [f"{notebook.name}:{cell.name}" for cell in notebook.grade_cells]
        for student in gradebook.students:
            row = rows.setdefault(student.id, {"student": student.id})
            for assignment in gradebook.assignments:
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except Exception:  # noqa: BLE001 - not submitted: empty cells
                    continue
                for notebook in submission.notebooks:
                    row[notebook.name] = notebook.score
                    for grade in notebook.grades:
                        row[f"{notebook.name}:{grade.name}"] = grade.score
        for row in rows.values():
            row["total"] = sum(value for key, value in row.items() if key in columns and ":" not in key)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["student", *columns, "total"])
        writer.writeheader()
        writer.writerows(rows[student] for student in sorted(rows))
    return len(rows)
