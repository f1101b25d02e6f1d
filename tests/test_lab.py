"""`make lab` serves the course in JupyterLab, with the ipywidgets extension loaded."""

import json
import re
import subprocess
import sys

from conftest import COURSE, LAB_TOKEN, http_get, notebooks

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
