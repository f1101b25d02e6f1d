"""Plain `nbgrader autograde` against our grader (parallel, sandboxed, re-checked) at several class sizes.

    python benchmarks/grading_throughput.py [--classes 5x1,20x1,20x2] [--workers N]

A class "LxA" is L learners, each submitting A assignments (01_rnn, then 03_lstm): a third
solved, a third with one known mistake from the catalogue, a third untouched releases. Each class
is graded both ways in separate gradebooks; the scores must agree. Printed per class: both times,
the speed-up, and our seconds per notebook against the floor measured in the same run (the same
kinds of notebooks executed bare with nbclient, one after another, divided by the cores). Then,
from the largest class, where our time goes (a worker prepares, runs, re-checks and records each
learner; this process hands the learners out) and the throughput that allows with 8, 32 and 128
Dask workers, whichever of the two is slower.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from nbgrader.api import Gradebook  # noqa: E402

from autograder import course
from autograder import grade as grading  # noqa: E402
from autograder import sandbox  # noqa: E402
from autograder.examples import apply_mistake, catalogues  # noqa: E402
from autograder.course import run_nbgrader  # noqa: E402

ASSIGNMENTS = ["01_rnn", "03_lstm"]


def _submission(assignment, n):
    """Learner n's notebook for ``assignment``: solved, one catalogued mistake, or the untouched release."""
    solved = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    if n % 3 == 0:
        return solved.read_text()
    if n % 3 == 2:
        return (REPO / "course" / assignment / f"{assignment}.ipynb").read_text()
    catalogue = next(c for c in catalogues().values() if c.notebook.startswith(assignment + "/"))
    mistake = catalogue.mistakes[n % len(catalogue.mistakes)]
    nb = json.loads(solved.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == mistake.function:
            cell["source"] = apply_mistake("".join(cell["source"]), mistake)
    return json.dumps(nb)


def build_class(root, learners, assignments):
    db = f"sqlite:///{root / 'gradebook.db'}"
    options = [f"--CourseDirectory.root={root}", f"--CourseDirectory.source_directory={REPO / 'solutions'}",
               f"--CourseDirectory.db_url={db}"]
    for assignment in assignments:
        run_nbgrader("generate_assignment", assignment, "--force", *options)
    for n in range(learners):
        for assignment in assignments:
            folder = root / "autograder" / "submitted" / f"learner{n:03d}" / assignment
            folder.mkdir(parents=True)
            (folder / f"{assignment}.ipynb").write_text(_submission(assignment, n))
    return db, options


def scores(db, assignments):
    with Gradebook(db) as gradebook:
        return {(s.student.id, s.assignment.name): s.score for a in assignments
                for s in gradebook.assignment_submissions(a)}


def floor_per_notebook(cores):
    """Seconds per notebook when the class's kinds of notebooks run bare (nbclient, no nbgrader, no sandbox)."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for assignment in ASSIGNMENTS:
            shutil.copy(REPO / "solutions" / assignment / "reference.json", folder)
            for n in range(3):
                nb = nbformat.reads(_submission(assignment, n), as_version=4)
                start = time.perf_counter()
                NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": folder}}).execute()
                times.append(time.perf_counter() - start)
    return sum(times) / len(times) / cores


def grade_class(learners, assignments, workers):
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as ours_dir:
        plain_db, options = build_class(Path(plain_dir), learners, assignments)
        start = time.perf_counter()
        for assignment in assignments:
            run_nbgrader("autograde", assignment, "--force", *options)
        plain = time.perf_counter() - start
        ours_db, _ = build_class(Path(ours_dir), learners, assignments)
        config = course.load_config(**{"CourseDirectory.root": ours_dir, "CourseDirectory.db_url": ours_db,
                                        "CourseDirectory.source_directory": str(REPO / "solutions")})
        timings = {}
        start = time.perf_counter()
        results = grading.grade(assignments, workers=workers, config=config, progress=None, timings=timings)
        ours = time.perf_counter() - start
        plain_scores, our_scores = scores(plain_db, assignments), scores(ours_db, assignments)
        for key in sorted(plain_scores):
            if plain_scores[key] != our_scores.get(key):
                print(f"  disagree: {key}: plain {plain_scores[key]:g}, ours {our_scores.get(key)}")
    return plain, ours, plain_scores == our_scores, timings, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="5x1,20x1,20x2", help="learners x assignments, comma-separated")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    workers = args.workers or os.cpu_count() or 1
    floor = floor_per_notebook(workers)
    print(f"sandbox: {'bubblewrap + rlimits' if sandbox.available() else 'rlimits only'}; {workers} workers; "
          f"floor (bare nbclient kernels, {workers} cores): {floor:.2f} s per notebook")
    print(f"{'class':>6s} {'notebooks':>9s} {'plain s':>8s} {'ours s':>7s} {'speed-up':>8s} "
          f"{'ours s/nb':>9s} {'x floor':>7s}  scores agree")
    agree_all, largest = True, None
    for text in args.classes.split(","):
        learners, count = (int(part) for part in text.lower().split("x"))
        plain, ours, agree, timings, results = grade_class(learners, ASSIGNMENTS[:count], workers)
        notebooks = learners * count
        agree_all &= agree
        print(f"{text:>6s} {notebooks:9d} {plain:8.1f} {ours:7.1f} {plain / ours:7.2f}x {ours / notebooks:9.2f} "
              f"{ours / notebooks / floor:6.2f}x  {agree}", flush=True)
        if largest is None or notebooks > largest[0]:
            largest = (notebooks, ours, timings, results)
    notebooks, ours, timings, results = largest
    per = {name: sum(getattr(r, name) for r in results) / notebooks
           for name in ("prepare_seconds", "seconds", "recheck_seconds", "record_seconds")}
    serial = timings["main"] / notebooks
    work = per["prepare_seconds"] + per["seconds"] + per["record_seconds"]
    print(f"\nwhere the time goes ({notebooks} notebooks, per notebook): in a worker prepare "
          f"{per['prepare_seconds']:.3f} s, execute {per['seconds']:.2f} s (of which re-check "
          f"{per['recheck_seconds']:.2f} s), record {per['record_seconds']:.3f} s; in this process "
          f"{serial:.3f} s of CPU (handing out, fingerprints, the summary)")
    for count in (8, 32, 128):
        rate = 1 / max(serial, work / count)
        bound = "this process sets" if serial > work / count else "the workers set"
        print(f"  {count:4d} Dask workers: about {rate:5.1f} notebooks/s ({bound} the pace); "
              f"1,000 learners x 7 notebooks in about {7000 / rate / 60:.0f} min")
    return 0 if agree_all else 1


if __name__ == "__main__":
    sys.exit(main())
