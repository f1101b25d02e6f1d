"""Late penalties beyond nbgrader's own ("none" or "zero"), as nbgrader late-submission plugins.

In ``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "autograder.late.PerDay"
    c.PerDay.fraction = 0.1   # of the notebook's score, per started day late

nbgrader computes how late a submission is from the assignment's deadline and the submission's
``timestamp.txt`` (written by ``collect``); the penalty appears in the gradebook, the CSV export
(``<notebook>:late_penalty``) and formgrader.
"""

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDay(LateSubmissionPlugin):
    """``fraction`` of the notebook's score for every started day (24 hours) late, never more than the score."""

    fraction = Float(0.1, help="Fraction of the score a submission loses per started day late").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = math.ceil(total_seconds_late / 86400)
        return min(score, score * self.fraction * days) if days > 0 else None
