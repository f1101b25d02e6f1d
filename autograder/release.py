"""Regenerate the learner release ``course/`` from the sources in ``solutions/``.

    python -m autograder.release            # what `make release` runs
    python -m autograder.release --into DIR # write the release elsewhere
    python -m autograder.release --only 03_lstm  # one assignment (while editing its notebook)

First the worked examples (``solutions/<assignment>/reference.json``) are
recomputed from the reference solutions (see ``autograder/examples.py``); then each
folder ``solutions/<assignment>/`` becomes ``course/<assignment>/`` through
``nbgrader generate_assignment``: solutions replaced by stubs, hidden tests removed,
outputs cleared, checksums added, other files (the worked examples) copied.
"""

import argparse
import shutil
from pathlib import Path

from autograder import course
from autograder.examples import write_references


def release(into=None, root=None, only=None):
    """Generate the release of every assignment (or of those named in ``only``) of the course at ``root`` into
    ``into`` (default: ``root/course``)."""
    root = Path(root or course.root()).resolve()
    into = Path(into or root / "course").resolve()
    into.mkdir(parents=True, exist_ok=True)
    names = course.assignments(root)
    for stale in into.iterdir():
        if stale.is_dir() and stale.name not in names:
            shutil.rmtree(stale)
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise SystemExit(f"no such assignment: {', '.join(sorted(unknown))} (there are {', '.join(names)})")
        names = [name for name in names if name in only]
    for name in names:
        course.run_nbgrader(
            "generate_assignment", name, "--force", "--no-db",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={into}",
        )
    return names


def release_course(root=None, into=None, say=print, only=None):
    """What ``make release`` does: recompute the worked examples of the course at ``root``, then release it
    (``only``: just these assignments)."""
    root = Path(root or course.root()).resolve()
    for path in write_references(root, only):
        say(f"computed {path.relative_to(root)}")
    for name in release(into, root, only):
        say(f"released {name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", help="folder to write the release to (default: course/)")
    parser.add_argument("--only", nargs="+", metavar="ASSIGNMENT", help="release only these assignments")
    args = parser.parse_args(argv)
    release_course(into=args.into, only=args.only)


if __name__ == "__main__":
    main()
