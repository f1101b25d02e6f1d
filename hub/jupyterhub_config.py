"""JupyterHub for a class of rnnlab on one machine (`make hub`; README: Running the course on JupyterHub).

Learners log in, fetch, validate and submit with nbgrader's assignment list; the instructor releases,
collects and grades the course folder ``~INSTRUCTOR/rnnlab`` with formgrader and `python -m autograder`.
A submission is graded and its feedback returned to its learner at once by the hub's grading service
(autograder/onsubmit.py: limits and exam mode are the course's settings, c.OnSubmit in its nbgrader_config.py).
Runs as root: it creates the accounts and starts every user's server as that user.

The repository may be an administrator's private clone (in a 0700 home): the users' servers never read it. At each
start the hub copies their Jupyter configuration to its state folder and, when other users cannot enter the
repository, installs the course (rnnlab, autograder) into the environment as a copy instead of the editable link
`make` made. Only the environment itself must lie where every user can read it.

Settings (environment variables):
  RNNLAB_HUB_LEARNERS    the learners' user names, separated by spaces (default: learner1 learner2)
  RNNLAB_HUB_INSTRUCTOR  the instructor's user name (default: instructor)
  RNNLAB_HUB_PASSWORD    the password everyone logs in with (default: a random one, kept in the state folder)
  RNNLAB_HUB_DIR         the hub's state: its database and secrets in hub/, the exchange in exchange/, in config/ what
                         every user's server reads of this repository (default: hub/state/ in this repository, or
                         /srv/rnnlab-hub when other users cannot enter the repository)
  RNNLAB_HUB_HOMES       where missing accounts get their home folder (default: /home)
  RNNLAB_HUB_API_TOKEN   optional: an API token for scripts, allowed to manage and use every user's server
"""

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HUB = Path(__file__).resolve().parent
REPO = HUB.parent
BIN = Path(sys.executable).parent  # the course's environment: the hub and every user's server run from it
HOMES = Path(os.environ.get("RNNLAB_HUB_HOMES") or "/home")
INSTRUCTOR = os.environ.get("RNNLAB_HUB_INSTRUCTOR") or "instructor"
LEARNERS = (os.environ.get("RNNLAB_HUB_LEARNERS") or "learner1 learner2").split()
COURSE_FOLDER = "rnnlab"  # in the instructor's home: the course root (solutions/, course/, autograder/)


def closed_to_others(path):
    """The first of ``path`` and the folders above it that other users may not enter (no o+x), or None."""
    path = Path(os.path.realpath(path))
    return next((p for p in [path, *path.parents] if not os.stat(p).st_mode & 0o001), None)


STATE = Path(os.environ.get("RNNLAB_HUB_DIR") or ("/srv/rnnlab-hub" if closed_to_others(REPO) else HUB / "state"))
STATE = STATE.resolve()
PRIVATE = STATE / "hub"  # database, cookie secret, pid files: root's only
EXCHANGE = STATE / "exchange"  # nbgrader's exchange folder, shared by everyone
SHARED = STATE / "config"  # this repository's Jupyter configuration, copied at each start for every user to read
# Each role's Jupyter configuration, first folder first (jupyter-config/learner: a learner's JupyterLab without
# nbgrader's instructor tools; hub/learner adds back the assignment list, which needs the exchange the hub has).
CONFIG_FROM = {"hub-learner": HUB / "learner", "hub-everyone": HUB / "everyone", "hub-instructor": HUB / "instructor",
               "learner": REPO / "jupyter-config" / "learner"}
CONFIG_PATH = {
    "learner": [SHARED / "hub-learner", SHARED / "hub-everyone", SHARED / "learner"],
    "instructor": [SHARED / "hub-instructor", SHARED / "hub-everyone"],
}


def share_configuration():
    """Copy each role's Jupyter configuration to SHARED, root's and readable by everyone."""
    shutil.rmtree(SHARED, ignore_errors=True)
    for name, folder in CONFIG_FROM.items():
        shutil.copytree(folder, SHARED / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [SHARED, *SHARED.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def install_course_copy():
    """Install rnnlab and autograder into the environment as a copy of this repository's (not the editable link
    `make` made, which users cannot follow into a private repository); built from a copy, so the repository stays
    as it is."""
    with tempfile.TemporaryDirectory(dir=PRIVATE) as build:
        for part in ("pyproject.toml", "README.md", "rnnlab", "autograder"):
            copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy2
            copy(REPO / part, Path(build) / part)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", build],
                       check=True)


if os.geteuid() != 0:
    sys.exit("make hub runs as root: it creates the users' accounts and starts each user's server as that user")
if not shutil.which("configurable-http-proxy"):
    sys.exit("make hub needs configurable-http-proxy: npm install -g configurable-http-proxy "
             "(scripts/system-deps installs it as root)")
for needed in (sys.executable, sys.prefix):
    if closed_to_others(needed):
        sys.exit(f"every user's server runs this course environment, but {os.path.realpath(needed)} is in "
                 f"{closed_to_others(needed)}, which other users cannot enter: make the environment from a Python, "
                 "and in a folder, that every user can read, "
                 "e.g. make hub PYTHON=/usr/bin/python3.11 VENV=/opt/rnnlab-venv")
STATE.mkdir(parents=True, exist_ok=True)
if closed_to_others(STATE):
    sys.exit(f"the hub's state folder {STATE} holds the exchange every user hands in to, but it is in "
             f"{closed_to_others(STATE)}, which other users cannot enter: "
             "set RNNLAB_HUB_DIR to a folder they can enter")
PRIVATE.mkdir(parents=True, exist_ok=True)
PRIVATE.chmod(0o700)
share_configuration()
if closed_to_others(REPO):
    install_course_copy()
# nbgrader: the exchange must exist and be writable to everyone; the sticky bit keeps a user's files their own
EXCHANGE.mkdir(parents=True, exist_ok=True)
EXCHANGE.chmod(0o1777)

password = os.environ.get("RNNLAB_HUB_PASSWORD")
if not password:
    saved = PRIVATE / "password"
    if not saved.exists():
        saved.write_text(secrets.token_urlsafe(12))
    password = saved.read_text().strip()
    print(f"rnnlab hub: everyone logs in with the password in {saved}", file=sys.stderr)

c.JupyterHub.ip = "127.0.0.1"  # this machine only (make hub HUB_ARGS=--ip=0.0.0.0 serves the network, over HTTP!)
c.JupyterHub.db_url = f"sqlite:///{PRIVATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(PRIVATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(PRIVATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(PRIVATE / "proxy.pid")

# One shared password for a class on this machine; a real server uses its institution's log-in (README).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = password
c.Authenticator.allowed_users = {INSTRUCTOR, *LEARNERS}



def course_folder():
    """The instructor's course folder (made at their first log-in, by ensure_course below)."""
    try:
        return Path(pwd.getpwnam(INSTRUCTOR).pw_dir) / COURSE_FOLDER
    except KeyError:
        return HOMES / INSTRUCTOR / COURSE_FOLDER


# Feedback on submit (autograder/onsubmit.py): the hub starts the grading service, and again if it stops; as root, so
# the grader's sandbox holds. It grades in the instructor's course folder and gives what it writes there back to them.
c.JupyterHub.services = [{
    "name": "rnnlab-grader",
    "command": [sys.executable, "-m", "autograder.onsubmit"],
    "cwd": str(PRIVATE),
    "environment": {"PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
                    "HOME": os.environ.get("HOME", "/root"), "RNNLAB_COURSE_DIR": str(course_folder()),
                    "RNNLAB_EXCHANGE": str(EXCHANGE), "RNNLAB_ONSUBMIT_DIR": str(PRIVATE)},
}]
api_token = os.environ.get("RNNLAB_HUB_API_TOKEN")
if api_token:
    c.JupyterHub.services.append({"name": "rnnlab-scripts", "api_token": api_token})
    c.JupyterHub.load_roles = [{
        "name": "rnnlab-scripts", "services": ["rnnlab-scripts"],
        "scopes": ["admin:users", "admin:servers", "admin:server_state", "access:servers"],
    }]

# Every user's JupyterLab is a local process of that user, from the course's environment (rnnlab, ipywidgets, nbgrader).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"


def role(name):
    return "instructor" if name == INSTRUCTOR else "learner"


def ensure_account(name):
    """The user's local account, created on their first log-in: a private home (0700), a bash for terminals."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        HOMES.mkdir(parents=True, exist_ok=True)
        subprocess.run(["useradd", "--create-home", "--base-dir", str(HOMES), "--shell", "/bin/bash",
                        "-K", "HOME_MODE=0700", name], check=True)
        return pwd.getpwnam(name)


COURSE_CONFIG = '''c = get_config()
# This course's own nbgrader settings, after autograder/nbgrader_config.py's (late penalties: see there).
'''


def ensure_course(account):
    """The instructor's course folder, from this repository's solutions/ and release, when it is not there yet."""
    folder = Path(account.pw_dir) / COURSE_FOLDER
    if not folder.exists():
        for part in ("solutions", "course"):
            shutil.copytree(REPO / part, folder / part)
        (folder / "nbgrader_config.py").write_text(COURSE_CONFIG)
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
    return folder


def prepare(spawner):
    """Before a server starts: its account, the instructor's course, the environment its role needs."""
    name = spawner.user.name
    account = ensure_account(name)
    spawner.environment = {
        **spawner.environment,
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "JUPYTER_CONFIG_PATH": os.pathsep.join(str(folder) for folder in CONFIG_PATH[role(name)]),
        "RNNLAB_EXCHANGE": str(EXCHANGE),  # hub/everyone/nbgrader_config.py
    }
    if role(name) == "instructor":
        spawner.environment["RNNLAB_COURSE_DIR"] = str(ensure_course(account))  # autograder/nbgrader_config.py


c.Spawner.pre_spawn_hook = prepare
