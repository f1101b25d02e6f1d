"""The instructor's nbgrader on the hub: the course's own configuration (autograder/nbgrader_config.py), on the course
folder the hub gives the instructor's server in RNNLAB_COURSE_DIR, so formgrader and every nbgrader command in the
instructor's terminal work on it; `nbgrader collect` puts submissions where `python -m autograder grade` reads them."""

from autograder import course

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
load_subconfig(str(course.AUTOGRADER / "nbgrader_config.py"))  # noqa: F821 (provided by traitlets)
