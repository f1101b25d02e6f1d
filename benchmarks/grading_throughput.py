"""Plain `nbgrader autograde` against our grader (parallel, sandboxed) on the same class.

    python benchmarks/grading_throughput.py [--learners 20] [--workers N]

Builds a class of learners for 01_rnn and 03_lstm: a third correct, a third with one
known mistake from the catalogue, a third untouched releases; grades it both ways in
separate gradebooks, checks that the scores agree, and prints both times and the ratio.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from nbgrader.api import Gradebook  # noqa: E402

from autograder import grade as grading  # noqa: E402
from autograder import sandbox  # noqa: E402
from autograder.examples import apply_mistake, catalogues  # noqa: E402
from autograder.release import run_nbgrader  # noqa: E402

ASSIGNMENTS = ["01_rnn", "03_lstm"]


def build_class(root, learners):
    db = f"sqlite:///{root / 'gradebook.db'}"
    options = [f"--CourseDirectory.root={root}", f"--CourseDirectory.source_directory={REPO / 'solutions'}",
               f"--CourseDirectory.db_url={db}"]
    for assignment in ASSIGNMENTS:
        run_nbgrader("generate_assignment", assignment, "--force", *options)
    by_notebook = {c.notebook.split("/")[0]: c for c in catalogues().values()}
    for n in range(learners):
        for assignment in ASSIGNMENTS:
            folder = root / "autograder" / "submitted" / f"learner{n:03d}" / assignment
            folder.mkdir(parents=True)
            solved = REPO / "solutions" / assignment / f"{assignment}.ipynb"
            if n % 3 == 0:
                shutil.copy(solved, folder)
            elif n % 3 == 1:
                mistake = by_notebook[assignment].mistakes[n % len(by_notebook[assignment].mistakes)]
                nb = json.loads(solved.read_text())
                for cell in nb["cells"]:
                    if cell["metadata"].get("nbgrader", {}).get("grade_id") == mistake.function:
                        cell["source"] = apply_mistake("".join(cell["source"]), mistake)
                (folder / solved.name).write_text(json.dumps(nb))
            else:
                shutil.copy(REPO / "course" / assignment / f"{assignment}.ipynb", folder)
    return db, options


def scores(db):
    with Gradebook(db) as gradebook:
        return {(s.student.id, s.assignment.name): s.score for a in ASSIGNMENTS
                for s in gradebook.assignment_submissions(a)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as ours_dir:
        plain_db, options = build_class(Path(plain_dir), args.learners)
        start = time.perf_counter()
        for assignment in ASSIGNMENTS:
            run_nbgrader("autograde", assignment, "--force", *options)
        plain = time.perf_counter() - start
        ours_db, _ = build_class(Path(ours_dir), args.learners)
        config = grading.load_config(**{"CourseDirectory.root": ours_dir, "CourseDirectory.db_url": ours_db,
                                        "CourseDirectory.source_directory": str(REPO / "solutions")})
        start = time.perf_counter()
        grading.grade(ASSIGNMENTS, workers=args.workers, config=config, progress=None)
        ours = time.perf_counter() - start
        plain_scores, our_scores = scores(plain_db), scores(ours_db)
        agree = plain_scores == our_scores
        for key in sorted(plain_scores):
            if plain_scores[key] != our_scores.get(key):
                print(f"disagree: {key}: plain {plain_scores[key]:g}, ours {our_scores.get(key)}")
    notebooks = args.learners * len(ASSIGNMENTS)
    print(f"{notebooks} notebooks; sandbox: {'bubblewrap + rlimits' if sandbox.available() else 'rlimits only'}")
    print(f"plain nbgrader autograde: {plain:7.1f} s ({plain / notebooks:.2f} s per notebook)")
    print(f"python -m autograder grade: {ours:5.1f} s ({ours / notebooks:.2f} s per notebook)")
    print(f"speed-up: {plain / ours:.2f}x; scores agree: {agree}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
