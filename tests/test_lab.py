"""`make lab` serves the course in JupyterLab, with the ipywidgets extension loaded."""

import json
import re
import subprocess
import sys
import urllib.error

from conftest import COURSE, LAB_TOKEN, OUTPUT, http_get, notebooks, running_make


def test_lab_opens_the_course_folder(lab):
    listing = json.loads(http_get(f"{lab}/api/contents?token={LAB_TOKEN}"))
    served = {item["name"] for item in listing["content"]}
    assert {str(p.parent) for p in notebooks(COURSE)} <= served
    assert "solutions" not in served and "autograder" not in served


def test_lab_loads_the_widget_extension(lab):
    page = http_get(f"{lab}/lab?token={LAB_TOKEN}")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    extensions = {extension["name"] for extension in config["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in extensions


def test_lab_kernel_can_import_the_course(lab):
    """The kernel JupyterLab starts is the environment's Python, with rnnlab and ipywidgets importable."""
    specs = json.loads(http_get(f"{lab}/api/kernelspecs?token={LAB_TOKEN}"))
    assert specs["default"] == "python3"
    argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
    python = sys.executable if argv[0] == "python" else argv[0]
    result = subprocess.run([python, "-c", "import rnnlab.data, ipywidgets; print(ipywidgets.__version__)"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("8.")


def _status(url):
    try:
        http_get(url)
        return 200
    except urllib.error.HTTPError as error:
        return error.code


INSTRUCTOR_PATHS = ("formgrader", "formgraders", "courses", "assignments")  # formgrader, course and assignment lists


def test_learner_lab_serves_no_instructor_extension(lab):
    """Formgrader, the course list and the assignment list (which need an exchange) are off; Validate is on."""
    for path in INSTRUCTOR_PATHS:
        assert _status(f"{lab}/{path}?token={LAB_TOKEN}") == 404, path
    assert _status(f"{lab}/nbgrader_version?version=0&token={LAB_TOKEN}") == 200


def test_make_instructor_opens_formgrader_on_the_course(tmp_path, monkeypatch):
    """The instructor's JupyterLab finds autograder/nbgrader_config.py: formgrader lists the course's assignments."""
    monkeypatch.setenv("RNNLAB_DB_URL", f"sqlite:///{tmp_path / 'gradebook.db'}")  # not the repository's gradebook
    args = f"--no-browser --port={{port}} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={LAB_TOKEN}"
    with running_make("instructor", f"/api/status?token={LAB_TOKEN}", LAB_ARGS=args) as base:
        assert _status(f"{base}/formgrader?token={LAB_TOKEN}") == 200
        listed = json.loads(http_get(f"{base}/formgrader/api/assignments?token={LAB_TOKEN}"))
        log = (OUTPUT / f"instructor-{base.rsplit(':', 1)[1]}.log").read_text()
        # the instructor does have the tools the learner's lab leaves out (the lists need an exchange: not here)
        assert not [path for path in INSTRUCTOR_PATHS if _status(f"{base}/{path}?token={LAB_TOKEN}") == 404]
    assert {entry["name"] for entry in listed} >= {str(p.parent) for p in notebooks(COURSE)}
    assert "No nbgrader_config.py" not in log and "not a subdirectory" not in log, log[-2000:]
