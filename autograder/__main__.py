"""python -m autograder COMMAND: the instructor's commands (see README)."""

import argparse
import sys
from pathlib import Path

from autograder import course


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Release and grade the rnnlab course.")
    parser.add_argument("--course-dir", help="the course folder (default: this repository); it holds solutions/, "
                                             "and the gradebook and submissions go to its autograder/")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate course/ from solutions/ (the same as make release)")
    grade = commands.add_parser("grade", help="autograde every collected submission, in parallel and sandboxed")
    grade.add_argument("assignments", nargs="*", help="default: every assignment")
    grade.add_argument("--workers", type=int, default=None, help="parallel kernels (default: all cores)")
    grade.add_argument("--timeout", type=int, default=None,
                       help="seconds a cell may run (default: ExecutePreprocessor.timeout in nbgrader_config.py, 120)")
    grade.add_argument("--scheduler", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run the notebooks on a Dask cluster (e.g. tcp://host:8786; without an address: "
                            "a new local cluster) instead of the local process pool")
    feedback = commands.add_parser("feedback", help="HTML feedback per learner")
    feedback.add_argument("assignments", nargs="*")
    collect = commands.add_parser("collect", help="import submissions from a folder or zip")
    collect.add_argument("source")
    export = commands.add_parser("export", help="scores as CSV: a row per learner, a column per notebook and cell")
    export.add_argument("--csv", required=True, help="file to write")
    report = commands.add_parser("report", help="per-cell statistics and the named mistakes that fired most")
    report.add_argument("--out", default=None, help="folder for report.md and report.png (default: autograder/reports)")
    args = parser.parse_args(argv)
    course.find_alembic()
    if args.course_dir:
        course.use(args.course_dir)
    from autograder import grade as grading

    root = course.root()
    if args.command == "release":
        from autograder.release import release_course

        release_course(root)
    elif args.command == "grade":
        from autograder import sandbox

        if not sandbox.available():
            print("warning: bubblewrap is not installed (or not root): kernels run with resource limits only, "
                  "without network and file-system isolation. apt-get install bubblewrap", file=sys.stderr)
        from autograder.progress import Progress

        with Progress() as progress:
            results = grading.grade(args.assignments or course.assignments(root), workers=args.workers,
                                    timeout=args.timeout, scheduler=args.scheduler, progress=progress)
        print(grading.summary(results))
    elif args.command in ("collect", "export", "report"):
        coursedir = course.coursedir()
        if args.command == "collect":
            from autograder.collect import collect as collect_submissions

            notebooks = {path.stem: path.parent.name for path in (Path(coursedir.root) / coursedir.source_directory).glob("*/*.ipynb")}
            collected, problems = collect_submissions(args.source, coursedir, coursedir.db_url, notebooks)
            print(f"collected {len(collected)} notebook(s)")
            for problem in problems:
                print(f"  {problem}")
        elif args.command == "export":
            from autograder.export import export_csv

            print(f"wrote {export_csv(args.csv, coursedir.db_url)} learner(s) to {args.csv}")
        else:
            from autograder.report import report as write_report

            out = Path(args.out or Path(coursedir.root) / "autograder" / "reports")
            text, png = write_report(coursedir.db_url, Path(coursedir.root) / coursedir.autograded_directory, out)
            print(text + f"\nwrote {out / 'report.md'} and {png}")
    elif args.command == "feedback":
        from autograder.feedback import generate
        from autograder.progress import Progress

        with Progress("pages") as progress:
            problems = generate(args.assignments or course.assignments(root), root, progress)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"feedback: {progress.done} page(s) in {root / 'autograder' / 'feedback'}")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
