"""python -m autograder COMMAND: the instructor's commands (see README), one function each."""

import argparse
import sys
from pathlib import Path

from autograder import course


def main(argv=None):
    args = _parser().parse_args(argv)
    course.find_alembic()
    if args.course_dir:
        course.use(args.course_dir)
    return COMMANDS[args.command](args, course.root())


def _parser():
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
                       help="seconds a cell may run (default: ExecutePreprocessor.timeout in nbgrader_config.py)")
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
    similarity = commands.add_parser("similarity", help="which learners' answers to an assignment look alike: "
                                                         "pairs ranked, an HTML page with their code side by side")
    similarity.add_argument("assignment")
    similarity.add_argument("--out", default=None,
                            help="folder for similarity-<assignment>.html (default: autograder/reports)")
    similarity.add_argument("--threshold", type=float, default=None,
                            help="flag the pairs scoring above this (default: 0.5; see autograder/similarity.py)")
    return parser


def _unknown(names, root):
    """Say which of ``names`` are not assignments of the course; True if any."""
    unknown = [name for name in names if name not in course.assignments(root)]
    if unknown:
        print(f"no assignment {', '.join(unknown)} in this course; its assignments are "
              f"{', '.join(course.assignments(root))}", file=sys.stderr)
    return bool(unknown)


def release(args, root):
    from autograder.release import release_course

    release_course(root)
    return 0


def grade(args, root):
    from autograder import sandbox
    from autograder.grade import grade as grade_submissions
    from autograder.grade import summary
    from autograder.progress import Progress
    from autograder.submissions import submitted_notebooks

    if not sandbox.available():
        print("warning: bubblewrap is not installed (or not root): kernels run with resource limits only, "
              "without network and file-system isolation. apt-get install bubblewrap", file=sys.stderr)
    names = args.assignments or course.assignments(root)
    if _unknown(names, root):
        return 2
    collected = {name: [entry for entry in submitted_notebooks(course.coursedir(), [name])
                        if not args.student or entry[0] in args.student] for name in names}
    if args.assignments or not any(collected.values()):
        for name in [name for name, found in collected.items() if not found]:
            whom = f" from {', '.join(args.student)}" if args.student else ""
            print(f"nothing collected for {name}{whom}: run `python -m autograder collect` first", file=sys.stderr)
    if not any(collected.values()):
        return 1
    with Progress() as progress:
        results = grade_submissions([name for name in names if collected[name]], workers=args.workers,
                                    timeout=args.timeout, scheduler=args.scheduler, progress=progress,
                                    students=args.student, changed_only=not args.all)
    print(summary(results))
    return 0


def collect(args, root):
    from autograder.collect import SourceError, collect as collect_submissions

    coursedir = course.coursedir()
    try:
        collected, notes = collect_submissions(args.source, coursedir, coursedir.db_url, course.notebooks(root))
    except SourceError as error:
        print(f"collect: {error}", file=sys.stderr)
        return 2
    print(f"collected {len(collected)} notebook(s)")
    for note in notes:
        print(f"  {note}")
    return 0


def export(args, root):
    from autograder.export import export_csv

    written = export_csv(args.csv, course.coursedir())
    print(f"wrote {written} learner(s) to {args.csv} (the first row holds each column's maximum)")
    return 0


def report(args, root):
    from autograder.report import report as write_report

    coursedir = course.coursedir()
    out = Path(args.out or Path(coursedir.root) / "autograder" / "reports")
    text, png = write_report(coursedir, out)
    print(text + f"\nwrote {out / 'report.md'} and {png}")
    return 0


def similarity(args, root):
    from autograder.similarity import THRESHOLD, similarity as compare_class, table

    if _unknown([args.assignment], root):
        return 2
    coursedir = course.coursedir()
    out = Path(args.out or Path(coursedir.root) / "autograder" / "reports")
    threshold = THRESHOLD if args.threshold is None else args.threshold
    try:
        pairs, notes, page = compare_class(coursedir, args.assignment, out, threshold)
    except FileNotFoundError as error:
        print(f"similarity: {error}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"  {note}", file=sys.stderr)
    if not pairs:
        print(f"fewer than two learners' {args.assignment} to compare: run `python -m autograder collect` first",
              file=sys.stderr)
        return 1
    print("\n".join(table(pairs, threshold)))
    print(f"{sum(pair.score > threshold for pair in pairs)} pair(s) above {threshold:.2f}: a reason to look, "
          f"not evidence (see the page); wrote {page}")
    return 0


def feedback(args, root):
    from autograder.feedback import generate
    from autograder.progress import Progress

    with Progress("pages") as progress:
        problems = generate(args.assignments or course.assignments(root), root, progress, changed_only=not args.all)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    print(f"feedback: {progress.done} page(s) in {root / 'autograder' / 'feedback'}")
    return 1 if problems else 0


def deadline(args, root):
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    if _unknown([args.assignment], root):
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


COMMANDS = {"release": release, "grade": grade, "collect": collect, "export": export, "report": report,
            "similarity": similarity, "feedback": feedback, "deadline": deadline}


if __name__ == "__main__":
    sys.exit(main())
