"""Before a learner's notebooks run: their metadata repaired, then nbgrader's own checks and clean-up.

1. :func:`stage` copies the submissions to ``staged/`` with their nbgrader metadata put back from the
   gradebook (:mod:`autograder.repair`); the submitted files are never changed.
2. :func:`prepare` runs ``nbgrader autograde`` on the staged copy with no grading preprocessors: it
   registers the submission (and its ``timestamp.txt``), copies the assignment's files, restores the
   locked and hidden test cells, and writes the cleaned notebook to ``autograded/``. A notebook it cannot
   read or match is left out; :func:`autograder.submissions.diagnose` says why.

:func:`ensure_in_gradebook` records an assignment's cells in the gradebook first (nbgrader needs them).
"""

import copy
import logging
import tempfile
import warnings
from pathlib import Path

from autograder import course


def ensure_in_gradebook(coursedir, assignment):
    """Record the assignment's cells in the gradebook (nbgrader needs them to grade) if they are not there yet."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    with tempfile.TemporaryDirectory() as release:  # the release itself is not needed here
        # nbgrader's generate_assignment in this process: an nbgrader command would also run the course folder's
        # nbgrader_config.py, which root (the hub's grading service) must not
        settings = copy.deepcopy(Config(coursedir.config))
        settings.merge(Config({"CourseDirectory": {"root": coursedir.root, "db_url": coursedir.db_url,
                                                   "source_directory": coursedir.source_directory,
                                                   "release_directory": release, "assignment_id": assignment},
                               "BaseConverter": {"force": True}}))
        log = logging.getLogger("rnnlab.grade.ensure_in_gradebook")
        log.setLevel(logging.ERROR)
        GenerateAssignment(coursedir=CourseDirectory(config=settings), config=settings, log=log).start()


def stage(coursedir, staged, assignment, student, notebooks):
    """Copy the learner's submission of ``assignment`` to ``staged`` with the metadata of ``notebooks`` repaired;
    return {(student, notebook): [notes on what was repaired]}."""
    from nbgrader.api import Gradebook

    from autograder import repair

    with Gradebook(coursedir.db_url) as gradebook:
        return repair.stage(Path(coursedir.root) / coursedir.submitted_directory, Path(coursedir.root) / staged,
                            gradebook, assignment, [(student, notebook) for notebook in notebooks])


def prepare(config, assignment, staged, student="*"):
    """
    nbgrader's autograde without its grading steps (``autograde_preprocessors = []``), in this process:
    the staged submissions are checked, cleaned and copied to autograded/, and the gradebook gets their
    submission records. An unreadable submission is left out (grading reports it); the others go on.
    """
    from nbgrader.converters import Autograde, NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    settings = copy.deepcopy(Config(config))  # merge() below must not change the caller's sections
    settings.merge(Config({"CourseDirectory": {"submitted_directory": staged, "assignment_id": assignment,
                                               "student_id": student},
                           "Autograde": {"autograde_preprocessors": []}, "BaseConverter": {"force": True}}))
    log = logging.getLogger("rnnlab.grade.prepare")
    log.setLevel(logging.CRITICAL)  # what nbgrader would warn about, the summary says per learner
    coursedir = CourseDirectory(config=settings)
    with warnings.catch_warnings():
        # nbgrader's --force re-creates submission records; SQLAlchemy notes the old ones it drops
        warnings.filterwarnings("ignore", message=".*not in session.*")
        try:
            Autograde(coursedir=coursedir, config=settings, log=log).start()
        except NbGraderException:
            pass  # one unreadable submission makes nbgrader fail at the end; the others are prepared
