"""nbgrader configuration for rnnlab.

Run nbgrader commands from this folder (``cd autograder``), or use ``make release``.
The repository is the course directory: sources live in ``solutions/``, the learner
release in ``course/``; submissions, grading output and the gradebook stay here,
in folders git ignores.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from autograder import course
from autograder.feedback import HideHiddenTests

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "rnnlab"
# `python -m autograder --course-dir DIR` grades a course kept elsewhere (with its own solutions/)
root = str(course.root())
c.CourseDirectory.root = root
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
# SQLite by default; an instructor sets RNNLAB_DB_URL for PostgreSQL, e.g.
# postgresql://user:password@host/rnnlab
c.CourseDirectory.db_url = os.environ.get("RNNLAB_DB_URL", f"sqlite:///{os.path.join(root, 'autograder', 'gradebook.db')}")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# A learner's cell gets this long before nbgrader (and python -m autograder grade) gives up on it.
c.ExecutePreprocessor.timeout = 120
# A deleted test cell is put back and run: the learner's functions are graded, not the deletion.
c.OverwriteCells.add_missing_cells = True
# Feedback never shows hidden tests (nbgrader issue #917): their messages stay, their source goes (feedback.py).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
