"""Shared paths and helpers for the test suite."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# nbgrader opens gradebooks by running `alembic`, from this Python's environment even when it is not activated
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"
OUTPUT = REPO / "tests" / "output"  # git-ignored; screenshots and reports for people to look at


def notebooks(folder):
    """All notebooks under folder, as (assignment/notebook.ipynb) relative paths."""
    return sorted(p.relative_to(folder) for p in folder.glob("*/*.ipynb"))


def read_notebook(path):
    return json.loads(Path(path).read_text())


def source(cell):
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.fixture(scope="session")
def output_dir():
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


LAB_TOKEN = "rnnlab-test"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url):
    """GET url and return the body as text."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


@contextlib.contextmanager
def running_make(target, ready_path, **variables):
    """
    Run `make TARGET NAME=value...` as the README says, with this Python's environment, on a free port
    (given to ``variables`` as ``{port}``); wait until ``ready_path`` answers; yield the base URL.
    """
    port = _free_port()
    OUTPUT.mkdir(exist_ok=True)
    log = open(OUTPUT / f"{target}-{port}.log", "w")
    assignments = [f"{name}={value.format(port=port)}" for name, value in variables.items()]
    process = subprocess.Popen(["make", "--no-print-directory", target, f"VENV={sys.prefix}", *assignments],
                               cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                http_get(base + ready_path)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"make {target} did not start, see {log.name}")
                time.sleep(0.5)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a server can linger over its kernels' shutdown
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        log.close()


def running_lab(root=None):
    """Start JupyterLab with `make lab`, as a learner does, optionally on another folder; yield its base URL."""
    return running_make("lab", f"/api/status?token={LAB_TOKEN}", LAB_ROOT=str(root or COURSE),
                        LAB_ARGS=f"--no-browser --port={{port}} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={LAB_TOKEN}")


@pytest.fixture(scope="session")
def lab():
    """JupyterLab serving course/, started by `make lab`."""
    with running_lab() as base:
        yield base
