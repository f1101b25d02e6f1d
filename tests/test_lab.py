"""`make lab` serves the course in JupyterLab, with the ipywidgets extension loaded."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import COURSE, REPO, notebooks

TOKEN = "rnnlab-test"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def lab():
    port = _free_port()
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"VENV={sys.prefix}", f"LAB_ARGS={args}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _get(f"{base}/api/status?token={TOKEN}")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"make lab did not start:\n{process.stdout.read().decode()}")
                time.sleep(0.5)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_lab_opens_the_course_folder(lab):
    listing = json.loads(_get(f"{lab}/api/contents?token={TOKEN}"))
    served = {item["name"] for item in listing["content"]}
    assert {str(p.parent) for p in notebooks(COURSE)} <= served
    assert "solutions" not in served and "autograder" not in served


def test_lab_loads_the_widget_extension(lab):
    page = _get(f"{lab}/lab?token={TOKEN}")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    extensions = {extension["name"] for extension in config["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in extensions


def test_lab_kernel_can_import_the_course(lab):
    """The kernel JupyterLab starts is the environment's Python, with rnnlab and ipywidgets importable."""
    specs = json.loads(_get(f"{lab}/api/kernelspecs?token={TOKEN}"))
    assert specs["default"] == "python3"
    argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
    python = sys.executable if argv[0] == "python" else argv[0]
    result = subprocess.run([python, "-c", "import rnnlab.data, ipywidgets; print(ipywidgets.__version__)"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("8.")
