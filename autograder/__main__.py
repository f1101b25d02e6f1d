"""python -m autograder COMMAND: the instructor's commands (see README)."""

import argparse
import sys
from pathlib import Path

from autograder import grade as grading
from autograder.release import assignments, release, run_nbgrader


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Release and grade the rnnlab course.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate course/ from solutions/ (the same as make release)")
    grade = commands.add_parser("grade", help="autograde every collected submission, in parallel and sandboxed")
    grade.add_argument("assignments", nargs="*", help="default: every assignment")
    grade.add_argument("--workers", type=int, default=None, help="parallel kernels (default: all cores)")
    grade.add_argument("--timeout", type=int, default=60, help="seconds a cell may run")
    feedback = commands.add_parser("feedback", help="HTML feedback per learner")
    feedback.add_argument("assignments", nargs="*")
    collect = commands.add_parser("collect", help="import submissions from a folder or zip")
    collect.add_argument("source")
    export = commands.add_parser("export", help="scores as CSV: a row per learner, a column per notebook and cell")
    export.add_argument("--csv", required=True, help="file to write")
    args = parser.parse_args(argv)
    if args.command == "release":
        from autograder.examples import write_references

        write_references()
        for name in release():
            print(f"released {name}")
    elif args.command == "grade":
        from autograder import sandbox

        if not sandbox.available():
            print("warning: bubblewrap is not installed (or not root): kernels run with resource limits only, "
                  "without network and file-system isolation. apt-get install bubblewrap", file=sys.stderr)
        results = grading.grade(args.assignments or assignments(), workers=args.workers, timeout=args.timeout)
        print(grading.summary(results))
    elif args.command in ("collect", "export"):
        config = grading.load_config()
        coursedir = grading._coursedir(config)
        if args.command == "collect":
            from autograder.collect import collect as collect_submissions

            notebooks = {path.stem: path.parent.name for path in (Path(coursedir.root) / coursedir.source_directory).glob("*/*.ipynb")}
            collected, problems = collect_submissions(args.source, coursedir, coursedir.db_url, notebooks)
            print(f"collected {len(collected)} notebook(s)")
            for problem in problems:
                print(f"  {problem}")
        else:
            from autograder.export import export_csv

            print(f"wrote {export_csv(args.csv, coursedir.db_url)} learner(s) to {args.csv}")
    elif args.command == "feedback":
        for assignment in args.assignments or assignments():
            run_nbgrader("generate_feedback", assignment, "--force")
    return 0


if __name__ == "__main__":
    sys.exit(main())
