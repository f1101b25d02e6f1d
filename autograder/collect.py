"""Bring submissions into ``autograder/submitted/<student>/<assignment>/<notebook>.ipynb``.

Accepted: a folder or a zip file holding either nbgrader's shape
``STUDENT/ASSIGNMENT/NOTEBOOK.ipynb`` or an LMS-style flat download,
``<student>_<notebook>.ipynb`` (the notebook name is one of the course's). Students
not yet in the gradebook are added. A file that cannot be placed is reported and
skipped; a notebook that cannot be read is still collected (grading reports it).
"""

import json
import os
import re
import zipfile
from pathlib import Path

STUDENT_ID = re.compile(r"^\w[\w.@-]*$")  # letters of any alphabet (renée, 李), digits and _ . @ -


def _decode(raw, fallback):
    """A file name from its bytes: UTF-8 if it is, else ``fallback`` (with a note)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode(fallback), f"its name is not UTF-8, read as {fallback}"


def _entries(source):
    """(relative path, bytes, note) of every file in a folder or zip."""
    source = Path(source)
    if source.is_dir():
        for path in sorted((p for p in source.rglob("*") if p.is_file()), key=lambda p: os.fsencode(p)):
            name, note = _decode(os.fsencode(path.relative_to(source)), "latin-1")
            yield name, path.read_bytes(), note
    else:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name, note = info.filename, None
                if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile read the name as cp437
                    name, note = _decode(info.filename.encode("cp437"), "cp437")
                yield name, archive.read(info), note


def place(relative, notebooks):
    """(student, assignment, notebook) for a file, or a reason why it cannot be placed."""
    parts = relative.split("/")
    name = parts[-1]
    if not name.endswith(".ipynb") or "/." in "/" + relative or "__MACOSX" in parts:
        return "not a notebook"
    stem = name[: -len(".ipynb")]
    if len(parts) >= 3 and stem in notebooks and notebooks[stem] == parts[-2]:
        student = parts[-3]
    else:
        matches = [nb for nb in notebooks if stem.endswith("_" + nb)]
        if not matches:
            return "neither STUDENT/ASSIGNMENT/NOTEBOOK.ipynb nor <student>_<notebook>.ipynb of this course"
        stem = max(matches, key=len)
        student = name[: -len("_" + stem + ".ipynb")]
    if not STUDENT_ID.match(student):
        return f"student id {student!r} has characters other than letters, digits and _ . @ -"
    return student, notebooks[stem], stem


def collect(source, coursedir, db_url, notebooks):
    """Copy the submissions found in ``source``; return (collected, problems) lists of strings."""
    from nbgrader.api import Gradebook

    collected, problems = [], []
    students = set()
    for relative, content, note in _entries(source):
        if note:
            problems.append(f"{relative}: {note}")
        placed = place(relative, notebooks)
        if isinstance(placed, str):
            problems.append(f"{relative}: skipped, {placed}")
            continue
        student, assignment, notebook = placed
        target = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{notebook}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        students.add(student)
        collected.append(f"{student}/{assignment}/{notebook}.ipynb")
        try:
            json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{relative}: collected, but it is not a readable notebook ({type(error).__name__})")
    with Gradebook(db_url) as gradebook:
        for student in sorted(students):
            gradebook.update_or_create_student(student)
    return collected, problems
