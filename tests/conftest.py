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

# The tests can run in parallel (pytest-xdist, see the Makefile's TEST_WORKERS). Each worker's grading sandbox gets its
# own range of kernel uids (autograder/sandbox.py reads RNNLAB_FIRST_UID; 61000 without xdist), passed on to the
# grader commands and hubs the tests start: two workers grading at once never share a slot's uid or its process limit.
if os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    os.environ["RNNLAB_FIRST_UID"] = str(62000 + 1000 * int(os.environ["PYTEST_XDIST_WORKER"][2:]))

from autograder import course  # noqa: E402

course.find_alembic()
REPO = course.REPO
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"
OUTPUT = REPO / "tests" / "output"  # git-ignored; screenshots and reports for people to look at


# `make test` tests everything: a test whose system requirement is missing fails, naming it, unless
# RNNLAB_ALLOW_SKIPS=1 is set (scripts/system-deps, which `make test` runs first, installs them as root).
ALLOW_SKIPS = os.environ.get("RNNLAB_ALLOW_SKIPS") == "1"


def require(available, what):
    """Go on when available; otherwise fail naming what is missing (skip it when RNNLAB_ALLOW_SKIPS=1)."""
    if available:
        return
    if ALLOW_SKIPS:
        pytest.skip(f"{what} (skipped: RNNLAB_ALLOW_SKIPS=1)", allow_module_level=True)
    pytest.fail(f"{what}. `make test` installs it as root (scripts/system-deps); "
                "RNNLAB_ALLOW_SKIPS=1 skips the tests that need it instead.", pytrace=False)


def require_module(name, what):
    """The module, imported; a missing one is a missing requirement (see require)."""
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        require(False, what)


@pytest.fixture
def sandboxed():
    """The grading sandbox: bubblewrap, as root on Linux."""
    from autograder import sandbox
    require(sandbox.available(), "the grading sandbox needs bubblewrap (apt-get install bubblewrap) and root")


# How the parallel run (`--dist loadfile`) hands out the tests: a test file stays on one worker (its module fixtures,
# often a whole class graded or every notebook run, are built once), the longest files first, so that no worker is left
# with a long one at the end; then the files in SPREAD, whose many tests are short and independent, one test at a time,
# to even out the end. (pytest-xdist's xdist_group marks do not reach its scheduler under pytest 9, hence the hook.)
LONGEST_FIRST = ["test_nbgrader_roundtrip.py", "test_grading.py", "test_notebooks.py", "test_browser.py",
                 "test_workflow.py", "test_hub.py", "test_instructor.py", "test_collect.py", "test_release.py",
                 "test_feedback.py", "test_widgets_browser.py", "test_gradient_pictures.py", "test_lab.py",
                 "test_attention_view_browser.py"]
SPREAD = ["test_mistakes.py"]
# A module fixture near pytest-timeout's 600 s when run alone (nbgrader grades a class in every assignment: about 8 min)
# shares the CPU with the other worker's tests: it gets more time, so that only a hang stops it.
SHARED_CPU_TIMEOUT = {"test_nbgrader_roundtrip.py": 1500}


# The first test that uses the class plain nbgrader grades (nbgrader_class: about 8 minutes on a quiet machine, most
# of it 05-08's training) pays for it within its own time limit: it gets more than pytest-timeout's 600 s.
CLASS_TIMEOUT = 1500


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "nbgrader_class" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(CLASS_TIMEOUT))
    if not hasattr(config, "workerinput"):  # not an xdist worker: the usual order
        return

    def rank(item):
        name = item.path.name
        if name in SPREAD:
            return len(LONGEST_FIRST) + 1
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, the file's order
    for item in items:
        if item.path.name in SHARED_CPU_TIMEOUT and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SHARED_CPU_TIMEOUT[item.path.name]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FilesThenSpread(LoadFileScheduling):
        """--dist loadfile, except that each test of a SPREAD file is a unit of its own."""

        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return nodeid if path.rsplit("/", 1)[-1] in SPREAD else path

    return FilesThenSpread(config, log)


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests were skipped, so this run did not test everything (reasons above, under SKIPPED).",
            yellow=True, bold=True)


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
def nbgrader_class(tmp_path_factory):
    """A small class autograded by plain nbgrader in every assignment (tests/nbgrader_class.py: about 8 minutes,
    most of it 05-08's training): made once, for test_nbgrader_roundtrip (its grades, and the solved runs)."""
    from nbgrader_class import grade_class

    return grade_class(tmp_path_factory.mktemp("course"))


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


def running_lab(work):
    """
    Start JupyterLab with `make lab`, as a learner does, with its workspace in ``work`` (a temporary folder:
    JupyterLab's autosave then never writes into the repository); yield its base URL.
    """
    return running_make("lab", f"/api/status?token={LAB_TOKEN}", WORK=str(work),
                        LAB_ARGS=f"--no-browser --port={{port}} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={LAB_TOKEN}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab started by `make lab`, serving a fresh workspace copied from course/."""
    with running_lab(tmp_path_factory.mktemp("lab") / "work") as base:
        yield base


# The browser tests: Debian's Chromium, driven by Playwright (which cannot download its own browser here).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def page():
    """A Chromium page, 1300 x 900."""
    sync_api = require_module("playwright.sync_api", "playwright is a test extra: make test installs it")
    require(CHROMIUM.exists(), "Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1300, "height": 900})
        browser.close()


def open_and_run(page, base, notebook):
    """
    Open a notebook of the workspace alone in JupyterLab (whatever an earlier session left open) and run it
    as a learner does before handing in: Run > Run All Cells; wait until every cell has run.
    """
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={LAB_TOKEN}")
    code_cells = sum(c["cell_type"] == "code" for c in read_notebook(COURSE / notebook)["cells"])
    page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-CodeCell').length === {code_cells}",
                           timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    # Run All queues every cell; it is done when the kernel has stayed idle for a while with no cell waiting
    # (if it stopped early, the cells after the stop keep an empty prompt: the caller checks the last one)
    waiting = "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].some(p => p.textContent.includes('*'))"
    indicator = page.locator(".jp-Notebook-ExecutionIndicator")
    idle_since, deadline = None, time.monotonic() + 120
    page.wait_for_timeout(500)
    while time.monotonic() < deadline:
        if indicator.get_attribute("data-status") == "idle" and not page.evaluate(waiting):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 2:
                return
        else:
            idle_since = None
        page.wait_for_timeout(250)
    raise TimeoutError(f"Run All of {notebook} did not finish in 120 s")
