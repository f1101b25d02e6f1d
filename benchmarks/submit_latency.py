"""Feedback on submit: from a learner's Submit to their feedback page fetchable, through the hub's grading service.

    sudo .venv/bin/python benchmarks/submit_latency.py [--assignments 01_rnn 05_training] [--runs 2]

The service (autograder/onsubmit.py) runs here as on the hub, as root with the grader's sandbox, on a copy of the
course in a temporary folder with an exchange of its own, its assignments released (in the gradebook). A submission is what nbgrader's Submit leaves in the
exchange's inbound: the solved release notebook (each solution cell from solutions/, and a comment that makes each
submission new to the grader), its timestamp.txt and submission_secret.txt, owned by the learner (the account
``nobody``). For 05, the learner's 01-04 are submitted and graded first (05 reads their own earlier notebooks).
Printed per submission: submit -> feedback fetchable, and where the time went: the service noticing the submission
(noticed), a lane handing it to a grading process (started), then in that process collect, grade, feedback and
release. The baseline, measured in the same run after the submissions: the solved notebook run top to bottom by a
plain kernel (nbclient, kernel start included, hidden tests too), as a learner's Run All; "over" is fetchable
minus that (the goal of issue 28: 01 within 10 s, 05 within its own notebook time plus 10 s).
"""

import argparse
import json
import os
import pwd
import secrets
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from nbgrader.utils import notebook_hash  # noqa: E402

from autograder import course, onsubmit, prepare, sandbox  # noqa: E402

LEARNER = "nobody"


def solved(assignment, run=0):
    """The release notebook of ``assignment`` with every solution cell answered from solutions/ (a comment saying
    ``run`` at the end of the first, so that each submission is new to the grader)."""
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
               for cell in json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())["cells"]
               if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}
    notebook = json.loads((REPO / "course" / assignment / f"{assignment}.ipynb").read_text())
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = "".join(answers[meta["grade_id"]])
    first = next(cell for cell in notebook["cells"] if cell.get("metadata", {}).get("nbgrader", {}).get("solution"))
    first["source"] += f"\n# submission {run}\n"
    return json.dumps(notebook).encode()


def submit(exchange, assignment, run=0):
    """What nbgrader's Submit leaves in the inbound; the folder's name and the submission's secret."""
    now = datetime.now(timezone.utc)
    name = f"{LEARNER}+{assignment}+{now:%Y-%m-%d %H:%M:%S.%f} UTC+{secrets.token_urlsafe(6)}"
    folder = exchange / "inbound" / name
    staging = Path(tempfile.mkdtemp(dir=exchange / "inbound"))
    secret = secrets.token_hex(64)
    (staging / f"{assignment}.ipynb").write_bytes(solved(assignment, run))
    (staging / "timestamp.txt").write_text(f"{now:%Y-%m-%d %H:%M:%S.%f} UTC")
    (staging / "submission_secret.txt").write_text(secret)
    account = pwd.getpwnam(LEARNER)
    for path in [staging, *staging.iterdir()]:
        os.chown(path, account.pw_uid, account.pw_gid)
    os.rename(staging, folder)  # appears at once, as a whole
    return name, exchange / "feedback" / f"{notebook_hash(secret=secret, notebook_id=assignment)}.html"


def wait_for(page, seconds=900):
    start = time.perf_counter()
    while not page.exists():
        if time.perf_counter() - start > seconds:
            raise SystemExit(f"no feedback after {seconds} s")
        time.sleep(0.02)
    return time.perf_counter() - start


def notebook_seconds(root, assignment):
    """Seconds for the solved notebook of ``assignment`` (solutions/, where ../<earlier> are solved too) run top to
    bottom by a plain kernel, kernel start included."""
    import nbformat
    from nbclient import NotebookClient

    path = root / "solutions" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=900, resources={"metadata": {"path": str(path.parent)}},
                   extra_arguments=["--IPKernelApp.log_level=CRITICAL"]).execute()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["01_rnn", "05_training"])
    parser.add_argument("--runs", type=int, default=2, help="submissions of each assignment, one after another")
    args = parser.parse_args()
    if not sandbox.available():
        raise SystemExit("run as root with bubblewrap installed: the service grades sandboxed, as on the hub")
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-latency-"))
    try:
        root = folder / "course"
        for part in ("solutions", "course"):
            shutil.copytree(REPO / part, root / part)
        os.environ.update(RNNLAB_COURSE_DIR=str(root), RNNLAB_EXCHANGE=str(folder / "exchange"))
        exchange = onsubmit.exchange_course()
        (exchange / "inbound").mkdir(parents=True)
        course.find_alembic()
        coursedir = course.coursedir()
        for assignment in course.assignments(root):  # released, as on the hub: in the gradebook before any submission
            prepare.ensure_in_gradebook(coursedir, assignment)
        journal = onsubmit.Journal(folder / "onsubmit.sqlite")
        service = onsubmit.Service(journal, say=lambda text: None)
        thread = threading.Thread(target=service.serve, daemon=True)
        thread.start()
        time.sleep(5)  # a service that has been running: its grading processes have imported the grader
        rows = []
        for assignment in args.assignments:
            earlier = [name for name in course.assignments(root) if "01" <= name[:2] < assignment[:2]]
            if assignment >= "05":
                for name in earlier:  # the learner's own earlier notebooks, which 05 reads
                    wait_for(submit(exchange, name)[1])
            for run in range(args.runs):
                submitted = time.time()
                name, page = submit(exchange, assignment, run)
                total = wait_for(page)
                while journal.rows("folder = ?", name)[0]["status"] == "running":  # until its process has ended
                    time.sleep(0.05)
                row = journal.rows("folder = ?", name)[0]
                report = json.loads(row["timings"])
                # before the grading: the service notices the submission, then a lane hands it to a grading process
                steps = {"noticed": row["seen"] - submitted, "started": report["started_at"] - row["seen"],
                         **report["timings"]}
                rows.append((f"{assignment} #{run + 1}", total, steps))
        service.stopping.set()
        thread.join(timeout=30)
        alone = {assignment: notebook_seconds(root, assignment) for assignment in args.assignments}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    names = ("noticed", "started", "collect", "grade", "feedback", "release")
    print(f"{'submission':<16}{'fetchable':>10}{'alone':>8}{'over':>8}" + "".join(f"{name:>10}" for name in names)
          + "  (seconds)")
    for label, total, steps in rows:
        own = alone[label.split(" #")[0]]
        print(f"{label:<16}{total:>10.1f}{own:>8.1f}{total - own:>+8.1f}" + "".join(f"{steps[name]:>10.2f}"
                                                                             for name in names))


if __name__ == "__main__":
    main()
