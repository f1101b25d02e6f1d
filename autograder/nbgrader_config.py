"""nbgrader configuration for rnnlab.

Run nbgrader commands from this folder (``cd autograder``), or use ``make release``.
The repository is the course directory: sources live in ``solutions/``, the learner
release in ``course/``; submissions, grading output and the gradebook stay here,
in folders git ignores.
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from autograder import course, feedback

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
# The grader writes its results into the notebooks nbgrader autograded, which nbgrader makes read-only (444):
# as anyone but root that write fails, so they stay writable for their owner.
c.Autograde.permissions = 644
# A deleted test cell is put back and run: the learner's functions are graded, not the deletion.
c.OverwriteCells.add_missing_cells = True
# Feedback never shows the grader's folders, nor hidden tests (nbgrader issue #917: their messages stay, their source
# goes); it names test cells by their docstrings and says which points wait for a grader (feedback.py).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, feedback.HideGraderPaths,
                                    feedback.HideHiddenTests, feedback.NameGradedCells, feedback.PendingManualGrades]
# The page: nbgrader's feedback template under ours (templates/rnnlab_feedback/page.html.j2), maths as MathML, no CDN.
# FeedbackExporter's own section, not HTMLExporter's, so formgrader's pages keep nbgrader's templates.
c.GenerateFeedback.exporter_class = feedback.FeedbackExporter
c.FeedbackExporter.template_name = "rnnlab_feedback"
c.FeedbackExporter.template_file = "page.html.j2"
c.FeedbackExporter.extra_template_basedirs = [str(feedback.TEMPLATES), str(feedback.NBGRADER_TEMPLATES)]

# Deadlines are the gradebook's (python -m autograder deadline 01_rnn "2026-12-10 23:59 Europe/Berlin", formgrader, or
#   nbgrader db assignment add 01_rnn --duedate="2026-12-10 23:59:00 Europe/Berlin"),
# the submission times collect's timestamp.txt files; what a late submission costs is set here, e.g.
#   c.LateSubmissionPlugin.penalty_method = "zero"   # nbgrader's: a late notebook scores 0
# or c.AssignLatePenalties.plugin_class = "autograder.late.PerDay"; c.PerDay.fraction = 0.1 (see autograder/late.py). The default: no penalty.
# A course kept elsewhere (--course-dir DIR) can put such settings of its own in DIR/nbgrader_config.py.
# Root (the hub's grading service) never runs that file when another user may write it: its owner reads it for root.
own = course.own_settings()  # None: this process runs it itself
if own is None:
    load_subconfig(os.path.join(root, "nbgrader_config.py"))  # noqa: F821 (provided by traitlets)
else:
    c.merge(own)
