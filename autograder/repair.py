"""Put back the nbgrader metadata a submission changed, from the gradebook, before grading.

nbgrader trusts most of a cell's metadata: a learner (or their editor) who turns a test
cell into an ungraded one, renames a ``grade_id``, gives a solution cell points, or hands
in another assignment's notebook makes ``nbgrader autograde`` stop with "Inconsistent
checksums" or a missing database entry, and the whole notebook goes ungraded. Here every
cell's ``grade`` / ``solution`` / ``locked`` / ``task`` / ``points`` comes from the
gradebook instead; cells with ids the assignment does not have become ordinary cells.
nbgrader then restores the locked sources and adds back missing test cells as usual.

The submitted file itself is never changed: the repaired copy goes to a staging folder.
"""

import json
import shutil
from pathlib import Path

from nbgrader.api import MissingEntry


def pristine_metadata(gradebook, notebook, assignment):
    """{grade_id: (cell_type, nbgrader metadata, source)} as the assignment was released, in order, from the gradebook."""
    source = gradebook.find_notebook(notebook, assignment)
    grades = {cell.name: cell for cell in source.grade_cells}
    solutions = {cell.name for cell in source.solution_cells}
    tasks = {cell.name for cell in source.task_cells}
    pristine = {}
    for cell in source.source_cells:
        meta = {"grade": cell.name in grades, "grade_id": cell.name, "locked": cell.locked,
                "solution": cell.name in solutions, "task": cell.name in tasks, "schema_version": 3}
        if cell.name in grades:
            meta["points"] = grades[cell.name].max_score
        pristine[cell.name] = (cell.cell_type, meta, cell.source)
    return pristine


def repair(nb, pristine):
    """Restore the nbgrader metadata of ``nb`` (a dict) in place; return notes on what was changed."""
    notes, seen = [], set()
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict):
            continue
        grade_id = meta.get("grade_id")
        if grade_id not in pristine or grade_id in seen:
            del cell["metadata"]["nbgrader"]
            notes.append(f"cell {grade_id!r} is not one of this assignment's graded cells: graded as an ordinary cell")
            continue
        seen.add(grade_id)
        cell_type, expected, _ = pristine[grade_id]
        changed = sorted(key for key, value in expected.items() if meta.get(key) != value and key != "schema_version")
        if changed or cell.get("cell_type") != cell_type:
            notes.append(f"cell {grade_id!r} had its {', '.join(changed) or 'cell type'} changed: restored")
        meta.pop("points", None)
        meta.update(expected)
        if cell.get("cell_type") != cell_type:
            cell["cell_type"] = cell_type
            if cell_type == "code":
                cell.update(outputs=[], execution_count=None)
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
    if pristine and not seen:
        notes.insert(0, "none of this assignment's graded cells are in the notebook: is it another assignment's?")
    _put_back_missing(nb, pristine, seen, notes)
    return notes


def _put_back_missing(nb, pristine, present, notes):
    """Insert the graded cells the notebook lacks, as released, after the graded cell before them."""
    cells = nb.setdefault("cells", [])
    order = list(pristine)
    for position, grade_id in enumerate(order):
        if grade_id in present:
            continue
        cell_type, meta, source = pristine[grade_id]
        # an id of its own, as nbformat 4.5 requires: the grade_id, unless the learner's notebook already uses it
        ids = {c.get("id") for c in cells}
        cell_id = next(f"{grade_id}-{n}" if n else grade_id for n in range(len(cells) + 2)
                       if (f"{grade_id}-{n}" if n else grade_id) not in ids)
        cell = {"cell_type": cell_type, "metadata": {"nbgrader": dict(meta)}, "source": source}
        if nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 0) >= 5:  # older notebooks have no ids
            cell["id"] = cell_id[:64]
        if cell_type == "code":
            cell.update(outputs=[], execution_count=None)
        before = {g for g in order[:position] if g in present}
        index = max((i + 1 for i, c in enumerate(cells)
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in before), default=0)
        cells.insert(index, cell)
        present.add(grade_id)
        notes.append(f"cell {grade_id!r} was missing: put back as released")


def stage(submitted, staged, gradebook, assignment, notebooks):
    """
    Copy ``submitted/<student>/<assignment>`` to ``staged/<student>/<assignment>`` with the
    metadata of each notebook repaired. ``notebooks``: [(student, notebook)].
    Returns {(student, notebook): [notes]}. Unreadable files are copied as they are.
    """
    notes = {}
    pristine = {}
    for student in sorted({student for student, _ in notebooks}):
        target = Path(staged) / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(submitted) / student / assignment, target)
    for student, notebook in notebooks:
        path = Path(staged) / student / assignment / f"{notebook}.ipynb"
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(nb, dict):
                raise ValueError("not a notebook")
        except (ValueError, UnicodeDecodeError):
            continue  # nbgrader reports it as unreadable
        if notebook not in pristine:
            try:
                pristine[notebook] = pristine_metadata(gradebook, notebook, assignment)
            except MissingEntry:
                pristine[notebook] = {}  # not a notebook of this assignment: nbgrader says so
        try:
            notes[student, notebook] = repair(nb, pristine[notebook])
        except (AttributeError, KeyError, TypeError, ValueError):  # JSON, but not a notebook's shape
            shutil.copy(Path(submitted) / student / assignment / f"{notebook}.ipynb", path)
            continue  # as it came: nbgrader reports it as unreadable
        if notes[student, notebook]:
            path.write_text(json.dumps(nb, indent=1))
    return notes
