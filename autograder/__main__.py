"""python -m autograder COMMAND: the instructor's commands (see README)."""

import argparse
import sys

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
    elif args.command == "feedback":
        for assignment in args.assignments or assignments():
            run_nbgrader("generate_feedback", assignment, "--force")
    return 0


if __name__ == "__main__":
    sys.exit(main())
