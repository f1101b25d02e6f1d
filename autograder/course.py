"""Where the course is and how nbgrader is run on it: the one place that knows.

The course root is this repository unless ``RNNLAB_COURSE_DIR`` names another folder
(``python -m autograder --course-dir DIR`` sets it; ``nbgrader_config.py`` reads it, so
every nbgrader command, in this process or a subprocess, sees the same course).
"""

import os
import subprocess
import sys
from pathlib import Path

AUTOGRADER = Path(__file__).resolve().parent  # holds nbgrader_config.py: nbgrader commands run from here
REPO = AUTOGRADER.parent


def root():
    """The course folder: it holds solutions/, course/ and the instructor's autograder/ files."""
    return Path(os.environ.get("RNNLAB_COURSE_DIR") or REPO)


def use(folder):
    """Make ``folder`` the course root for this process and the nbgrader commands it starts."""
    os.environ["RNNLAB_COURSE_DIR"] = str(Path(folder).resolve())


def _with_python_bin(path):
    return os.pathsep.join([os.path.dirname(sys.executable), path])


def find_alembic():
    """nbgrader opens gradebooks by running ``alembic``: find it next to this Python, activated or not."""
    os.environ["PATH"] = _with_python_bin(os.environ.get("PATH", ""))


def nbgrader_env():
    """Environment for nbgrader subprocesses: this Python's bin/ first on PATH."""
    return {**os.environ, "PATH": _with_python_bin(os.environ.get("PATH", ""))}


def run_nbgrader(*args, cwd=AUTOGRADER):
    """Run an nbgrader command from the folder holding nbgrader_config.py; raise with its log on failure."""
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result


def assignments(folder=None):
    """Names of the assignments: the folders of solutions/ that hold a notebook."""
    solutions = Path(folder or root()) / "solutions"
    return sorted(p.name for p in solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def notebooks(folder=None):
    """{notebook name: its assignment} for every notebook of the course's solutions/ (``collect`` places files by it)."""
    solutions = Path(folder or root()) / "solutions"
    return {path.stem: path.parent.name for path in sorted(solutions.glob("*/*.ipynb"))}


def load_config(**overrides):
    """The course's nbgrader configuration, with ``Section.trait=value`` overrides."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(AUTOGRADER)).load_config()
    for key, value in overrides.items():
        section, trait = key.split(".")
        config[section][trait] = value
    return config


def cell_timeout(config=None):
    """The seconds a learner's cell may run: ``ExecutePreprocessor.timeout`` in nbgrader_config.py, as nbgrader reads it."""
    from nbgrader.preprocessors import Execute

    return Execute(config=config if config is not None else load_config()).timeout


def coursedir(config=None):
    """nbgrader's CourseDirectory of the course (its folders and gradebook URL)."""
    from nbgrader.coursedir import CourseDirectory

    found = CourseDirectory(config=config if config is not None else load_config())
    if found.db_url.startswith("sqlite:///"):  # a new course: its gradebook's folder may not exist yet
        Path(found.db_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return found
