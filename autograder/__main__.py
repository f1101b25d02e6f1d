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
    grade.add_argument("--student", action="append", metavar="ID",
                       help="grade only this learner (repeat for several); the full pipeline, as for the class")
    grade.add_argument("--all", action="store_true",
                       help="grade every submission again (default: only what changed since its last grade)")
    grade.add_argument("--workers", type=int, default=None, help="parallel kernels (default: all cores)")
    grade.add_argument("--timeout", type=int, default=None,
                       help="seconds a cell may run (default: ExecutePreprocessor.timeout in nbgrader_config.py, 120)")
    grade.add_argument("--scheduler", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run the notebooks on a Dask cluster (e.g. tcp://host:8786; without an address: "
                            "a new local cluster) instead of the local process pool")
    feedback = commands.add_parser("feedback", help="HTML feedback per learner")
    feedback.add_argument("assignments", nargs="*")
    feedback.add_argument("--all", action="store_true",
                          help="write every page again (default: only those whose grades changed since)")
    collect = commands.add_parser("collect", help="import submissions from a folder, a zip (nbgrader's folders, "
                                                   "a Canvas or Moodle download) or one notebook")
    collect.add_argument("source")
    deadline = commands.add_parser("deadline", help="show or set an assignment's deadline (late penalties: "
                                                     "nbgrader_config.py)")
    deadline.add_argument("assignment")
    deadline.add_argument("when", nargs="?", help='e.g. "2026-12-10 23:59 Europe/Berlin" (a time zone name or '
                                                  'UTC offset; without one: UTC); "none" removes the deadline')
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

        names = args.assignments or course.assignments(root)
        unknown = [name for name in names if name not in course.assignments(root)]
        if unknown:
            print(f"no assignment {', '.join(unknown)} in this course; its assignments are "
                  f"{', '.join(course.assignments(root))}", file=sys.stderr)
            return 2
        coursedir = course.coursedir()
        collected = {name: grading.submitted_notebooks(coursedir, [name]) for name in names}
        if args.student:
            collected = {name: [entry for entry in found if entry[0] in args.student]
                         for name, found in collected.items()}
        missing = [name for name, found in collected.items() if not found]
        if args.assignments or not any(collected.values()):
            for name in missing:
                whom = f" from {', '.join(args.student)}" if args.student else ""
                print(f"nothing collected for {name}{whom}: run `python -m autograder collect` first", file=sys.stderr)
        if not any(collected.values()):
            return 1
        with Progress() as progress:
            results = grading.grade([name for name in names if collected[name]], workers=args.workers,
                                    timeout=args.timeout, scheduler=args.scheduler, progress=progress,
                                    students=args.student, changed_only=not args.all)
        print(grading.summary(results))
    elif args.command == "deadline":
        return _deadline(args, root)
    elif args.command in ("collect", "export", "report"):
        coursedir = course.coursedir()
        if args.command == "collect":
            from autograder.collect import SourceError
            from autograder.collect import collect as collect_submissions

            notebooks = {path.stem: path.parent.name for path in (Path(coursedir.root) / coursedir.source_directory).glob("*/*.ipynb")}
            try:
                collected, notes = collect_submissions(args.source, coursedir, coursedir.db_url, notebooks)
            except SourceError as error:
                print(f"collect: {error}", file=sys.stderr)
                return 2
            print(f"collected {len(collected)} notebook(s)")
            for note in notes:
                print(f"  {note}")
        elif args.command == "export":
            from autograder.export import export_csv

            print(f"wrote {export_csv(args.csv, coursedir)} learner(s) to {args.csv} (the first row holds each column's maximum)")
        else:
            from autograder.report import report as write_report

            out = Path(args.out or Path(coursedir.root) / "autograder" / "reports")
            text, png = write_report(coursedir, out)
            print(text + f"\nwrote {out / 'report.md'} and {png}")
    elif args.command == "feedback":
        from autograder.feedback import generate
        from autograder.progress import Progress

        with Progress("pages") as progress:
            problems = generate(args.assignments or course.assignments(root), root, progress, changed_only=not args.all)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"feedback: {progress.done} page(s) in {root / 'autograder' / 'feedback'}")
        return 1 if problems else 0
    return 0


def _deadline(args, root):
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    if args.assignment not in course.assignments(root):
        print(f"no assignment {args.assignment} in this course; its assignments are "
              f"{', '.join(course.assignments(root))}", file=sys.stderr)
        return 2
    with Gradebook(course.coursedir().db_url) as gradebook:
        if args.when:
            try:
                due = None if args.when.lower() == "none" else parse_utc(args.when)
            except Exception:  # noqa: BLE001 - dateutil raises several kinds
                print(f"cannot read {args.when!r} as a time: write it as 2026-12-10 23:59 Europe/Berlin", file=sys.stderr)
                return 2
            gradebook.update_or_create_assignment(args.assignment, duedate=due)
        try:
            due = gradebook.find_assignment(args.assignment).duedate
        except MissingEntry:
            due = None
    print(f"{args.assignment}: due {due:%Y-%m-%d %H:%M} UTC" if due else f"{args.assignment}: no deadline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
