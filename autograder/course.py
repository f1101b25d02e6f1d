"""Where the course is and how nbgrader is run on it: the one place that knows.

The course root is this repository unless ``RNNLAB_COURSE_DIR`` names another folder
(``python -m autograder --course-dir DIR`` sets it; ``nbgrader_config.py`` reads it, so
every nbgrader command, in this process or a subprocess, sees the same course). A course's
own ``nbgrader_config.py`` is read by its owner for root (:func:`own_settings`).
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
    """Run an nbgrader command from the folder holding nbgrader_config.py; raise with its log on failure. Not as
    root on a course another user owns: nbgrader runs the course folder's nbgrader_config.py (:func:`own_settings`)."""
    if os.geteuid() == 0 and (root() / "nbgrader_config.py").exists() and own_settings() is not None:
        raise PermissionError(f"nbgrader would run {root() / 'nbgrader_config.py'} as root: run it as the course's owner")
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


SETTINGS = "RNNLAB_COURSE_SETTINGS"  # the course's own settings as its owner read them, for root and its children


def own_settings():
    """
    The settings of the course's own ``nbgrader_config.py`` for this process (a traitlets Config; empty without
    one), or None when this process may run that file itself: it is not root's, or the file and its folder are.
    Root never runs a Python file another user may write: its owner (the course folder's, or the file's if the
    folder is root's) runs it in a process of theirs and hands back its settings as JSON (strings, numbers, lists
    and dicts: a class is named by its import path). They are kept in the environment while the file stays the
    same, so root's later loads and the processes it starts (nbgrader's, the sandboxed kernels') need no other run.
    """
    import json

    from traitlets.config import Config

    path = root() / "nbgrader_config.py"
    kept = json.loads(os.environ.get(SETTINGS) or "{}")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Config()
    except PermissionError:  # a sandboxed process of root's grading: the settings root was given
        return Config(kept.get("settings", {}))
    uid, gid = owner(path)
    if os.geteuid() != 0 or uid == 0:
        return None
    stamp = [str(root()), info.st_ino, info.st_size, info.st_mtime_ns]
    if kept.get("stamp") != stamp:
        kept = {"stamp": stamp, "settings": _read_as(uid, gid)}
        os.environ[SETTINGS] = json.dumps(kept)
    return Config(kept["settings"])


def read_own_settings():
    """The course's own ``nbgrader_config.py`` run by this process, as JSON-able data (root asks its owner)."""
    import json

    from traitlets.config.loader import PyFileConfigLoader

    settings = PyFileConfigLoader("nbgrader_config.py", path=str(root())).load_config()
    try:
        return json.loads(json.dumps(settings))
    except TypeError as error:
        raise ValueError(f"{root() / 'nbgrader_config.py'}: the grading service takes strings, numbers, lists and "
                         f"dicts only (a class by its import path, e.g. \"autograder.late.PerDay\"): {error}") from None


def read_own_settings_as(uid, gid, groups):
    """In a process root started: become user ``uid`` for good, then print :func:`read_own_settings` as JSON.
    The grader's modules are imported first, as root, so that its environment need not be readable by that user."""
    import json

    from traitlets.config.loader import PyFileConfigLoader  # noqa: F401 - imported before the user changes

    os.setgroups(groups)
    os.setgid(gid)
    os.setuid(uid)  # real, effective and saved: no way back to root
    os.chdir(root())
    print(json.dumps(read_own_settings()))


def owner(path):
    """
    (uid, gid) of who may write a file of the course: the course folder's owner, or the file's if the folder is
    root's. Root runs none of that user's code (``nbgrader_config.py``, ``solutions/``): that user's process does.
    """
    folder, info = os.stat(root()), os.stat(path)
    return (folder.st_uid, folder.st_gid) if folder.st_uid else (info.st_uid, info.st_gid)


def as_owner(function, uid, gid, *arguments):
    """
    A Python process for root to start that becomes user ``uid`` to run their files: (command, environment).
    It calls ``function`` ("module.name", a module of autograder's) with uid, gid, the user's groups and
    ``arguments``; the function becomes that user. In bubblewrap where the sandbox is available, so that this
    Python and the grader are readable by that user wherever they are installed (a private clone, root's home).
    """
    from autograder import sandbox

    groups, env = user_environment(uid, gid)
    module = function.split(".")[0]
    call = f"{function}({', '.join(repr(value) for value in (uid, gid, groups, *arguments))})"
    # -I: nothing from the current folder or PYTHON* variables is imported while the process is still root's
    command = [sys.executable, "-I", "-c", f"from autograder import {module}; {call}"]
    return (sandbox.wrap_readable(command, root()) if sandbox.available() else command), env


def user_environment(uid, gid):
    """For a process root starts as user ``uid``: (their groups, an environment with their home and none of
    root's variables but PATH, the locale, TZ and the course's own RNNLAB_* settings)."""
    import pwd

    try:
        account = pwd.getpwuid(uid)
        groups, home, name = os.getgrouplist(account.pw_name, gid), account.pw_dir, account.pw_name
    except KeyError:
        groups, home, name = [gid], str(root()), str(uid)
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "TZ")
           or key.startswith("RNNLAB_") and key != SETTINGS}
    return groups, {**env, "HOME": home, "USER": name, "LOGNAME": name}


def _read_as(uid, gid):
    """:func:`read_own_settings` in a process of user ``uid`` (see :func:`user_environment`), for root."""
    import json

    command, env = as_owner("course.read_own_settings_as", uid, gid)
    result = subprocess.run(command, cwd="/", capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise RuntimeError(f"{root() / 'nbgrader_config.py'} could not be read as its owner (uid {uid}): "
                           f"{lines[-1] if lines else result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])
