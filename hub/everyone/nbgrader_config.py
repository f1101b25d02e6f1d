"""nbgrader on the hub, for every user: hub/jupyterhub_config.py puts this folder on each server's config path."""

import os

from autograder import course

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# The shared exchange folder the hub made (RNNLAB_EXCHANGE); the course's id, as the instructor's config has it.
if os.environ.get("RNNLAB_EXCHANGE"):
    c.Exchange.root = os.environ["RNNLAB_EXCHANGE"]
c.CourseDirectory.course_id = course.load_config().CourseDirectory.course_id
# A submission that lacks one of the assignment's notebooks (say another assignment's notebook in its place) is
# refused, naming the missing and the extra notebook, and the learner's earlier submission stays the one that counts.
c.ExchangeSubmit.strict = True
