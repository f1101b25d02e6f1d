"""The test suite's own rule: a test module never imports another test module, so that each one reads and runs
on its own, the way tests mirror modules (``recheck.py`` <-> ``test_recheck.py``). What several test modules share
lives in conftest.py or in a helper module that is not a test, such as notebook_cells.py."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(code):
    """The test modules (``test_*``, at any depth of a dotted name) that Python source ``code`` imports, anywhere."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = f"{node.module}." if node.module else ""
            names = [node.module or ""] + [prefix + alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            first = next((i for i, part in enumerate(parts) if part.startswith("test_")), None)
            if first is not None:
                found.add(".".join(parts[:first + 1]))  # the test module itself, not a name inside it
    return found


def test_the_check_finds_every_way_of_importing_a_test_module():
    assert imported_test_modules("import test_mistakes") == {"test_mistakes"}
    assert imported_test_modules("def test_x():\n    from test_release import names\n") == {"test_release"}
    assert imported_test_modules("from tests import test_grading as grading") == {"tests.test_grading"}
    assert imported_test_modules("from . import test_grading") == {"test_grading"}
    assert imported_test_modules("import tests.test_data.helpers") == {"tests.test_data"}
    assert not imported_test_modules("import pytest\nimport testbook\nfrom conftest import SOLUTIONS\n"
                                     "from notebook_cells import run_cells\nfrom rnnlab.testing import check_close\n")


def test_no_test_module_imports_another():
    modules = sorted(TESTS.glob("test_*.py"))
    assert len(modules) > 10
    offenders = {path.name: sorted(found) for path in modules if (found := imported_test_modules(path.read_text()))}
    assert not offenders, f"test modules that import other test modules (move what they share to conftest.py or a " \
                          f"helper module): {offenders}"
