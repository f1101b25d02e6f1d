"""Shared paths and helpers for the test suite."""

import json
from pathlib import Path

import pytest

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
