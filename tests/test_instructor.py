"""The instructor's day, through the command line: collect a class from an LMS zip, grade it,
hand back feedback, export grades and read the report; the same class graded on a local
Dask cluster, and into a PostgreSQL gradebook on a server this test starts.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook, require, require_module
from nbgrader.api import Gradebook

from autograder import course
from autograder import grade as grading
from autograder.course import run_nbgrader

ASSIGNMENT = "00_setup"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
pytestmark = pytest.mark.usefixtures("sandboxed")


def _with_solution(grade_id, old, new):
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            cell["source"] = "".join(cell["source"]).replace(old, new)
    return json.dumps(nb)


SQRT = ("float(np.mean((y - y.mean()) ** 2))", "float(np.sqrt(np.mean((y - y.mean()) ** 2)))")
CLASS = {  # LMS flat download: <student>_<notebook>.ipynb
    "alice": (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text(),
    "bob": (COURSE / ASSIGNMENT / NOTEBOOK).read_text(),
    "carol": _with_solution("mean_baseline_mse", *SQRT),
    "dan": _with_solution("mean_baseline_mse", *SQRT),
    "erin": _with_solution("one_hot", "np.eye(V)", "np.eye(V, k=1)"),
}
EXPECTED = {"alice": 5, "bob": 0, "carol": 3, "dan": 3, "erin": 3}


def _course(root):
    """An empty course folder that uses this repository's solutions."""
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    return root


def _cli(course, *args, env=None):
    result = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(course), *args],
                            capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr + result.stdout  # progress (not a terminal here: plain lines) goes to stderr


def _totals(db_url):
    with Gradebook(db_url) as gradebook:
        return {s.id: gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s.id).score for s in gradebook.students}


def test_a_class_end_to_end_collect_grade_feedback_export_report(tmp_path):
    course = _course(tmp_path / "course")
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for student, text in CLASS.items():
            archive.writestr(f"{student}_{NOTEBOOK}", text)
    assert "collected 5 notebook(s)" in _cli(course, "collect", str(download))

    summary = _cli(course, "grade", ASSIGNMENT, "--workers", "2", "--timeout", "20")
    assert "[5/5]" in summary
    row = next(line.split() for line in summary.splitlines() if line.startswith(ASSIGNMENT))
    assert row[:4] == [ASSIGNMENT, "5", "5", "2.80/5"]  # learners, graded now, mean
    assert "notebooks/s" in summary and "\x1b[" not in summary and "\r" not in summary  # log lines, no bar
    assert _totals(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") == EXPECTED

    said = _cli(course, "feedback", ASSIGNMENT)
    assert "[5/5]" in said and "feedback: 5 page(s)" in said
    feedback = {s: (course / "autograder" / "feedback" / s / ASSIGNMENT / "00_setup.html").read_text() for s in CLASS}
    said = "This is what a known mistake gives: square root taken (that is the RMSE)."
    assert said in feedback["carol"] and said not in feedback["alice"]
    assert "Hint: Return the mean of the squared errors, without np.sqrt." in feedback["carol"]
    assert "Hint: Id 0 goes in column 0: index with the id itself, not id + 1." in feedback["erin"]

    _cli(course, "export", "--csv", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows.pop("(max points)")["total"]) == 5
    assert {s: float(r["total"]) for s, r in rows.items()} == EXPECTED
    assert float(rows["erin"]["00_setup:one_hot_values"]) == 0 and float(rows["erin"]["00_setup:one_hot_shape"]) == 1

    printed = _cli(course, "report", "--out", str(tmp_path / "report"))
    assert "| square root taken (that is the RMSE) | 00_setup | mean_baseline_mse_example | 2 |" in printed
    assert "| the 1 is one column too far right | 00_setup | one_hot_values | 1 |" in printed
    assert "| 00_setup | 5 | 5 | 0 | 0 | 1 |" in printed  # submitted, graded, unreadable, not graded yet, untouched (bob)
    assert "| 00_setup | one_hot_values | 2 | 4 | 1 | 1.50 |" in printed  # of the 4 who wrote one_hot, erin lost it
    png = (tmp_path / "report" / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def _graded_totals(root, db_url, scheduler=None):
    for student, text in CLASS.items():
        folder = root / "autograder" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(text)
    config = course.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db_url,
                                    "CourseDirectory.source_directory": str(SOLUTIONS)})
    results = grading.grade([ASSIGNMENT], workers=2, timeout=20, config=config, progress=None, scheduler=scheduler)
    assert not any(r.problem for r in results)
    return _totals(db_url)


def test_grading_on_a_local_dask_cluster_gives_the_same_scores(tmp_path):
    distributed = require_module("distributed", "dask.distributed is a dependency: make test installs it")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        totals = _graded_totals(tmp_path, f"sqlite:///{tmp_path / 'gradebook.db'}", scheduler=cluster.scheduler_address)
    assert totals == EXPECTED


def _postgres_bin():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres():
    """A PostgreSQL server of our own, on a Unix socket in a temporary folder (apt-get install postgresql;
    .ci/run does). PostgreSQL refuses to run as root, so as root it runs as the package's postgres user."""
    require_module("psycopg", "psycopg[binary] is a dependency: make test installs it")
    bin_dir = _postgres_bin()
    require(bin_dir is not None, "PostgreSQL is not installed here (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-pg-"))  # not under pytest's root-only folder
    data, sockets = folder / "pgdata", folder / "pgsock"
    sockets.mkdir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        for path in (folder, sockets):
            shutil.chown(path, "postgres")
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "pg.log"),
                    "-o", f"-k {sockets} -c listen_addresses=''", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_postgres, str(bin_dir / "createdb"), "-h", str(sockets), "-U", "postgres", "rnnlab"],
                       check=True, capture_output=True)
        yield f"postgresql://postgres@/rnnlab?host={sockets}"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_grades_go_into_a_postgresql_gradebook(tmp_path, postgres):
    root = tmp_path / "course"
    root.mkdir()
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.root={root}",
                 f"--CourseDirectory.source_directory={SOLUTIONS}", f"--CourseDirectory.db_url={postgres}")
    assert _graded_totals(root, postgres) == EXPECTED
    with Gradebook(postgres) as gradebook:
        assert gradebook.db.bind.dialect.name == "postgresql"
