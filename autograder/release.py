"""Regenerate the learner release ``course/`` from the sources in ``solutions/``.

    python -m autograder.release            # what `make release` runs
    python -m autograder.release --into DIR # write the release elsewhere

First the worked examples (``solutions/<assignment>/reference.json``) are
recomputed from the reference solutions (see ``autograder/examples.py``); then each
folder ``solutions/<assignment>/`` becomes ``course/<assignment>/`` through
``nbgrader generate_assignment``: solutions replaced by stubs, hidden tests removed,
outputs cleared, checksums added, other files (the worked examples) copied.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

AUTOGRADER = Path(__file__).resolve().parent
REPO = AUTOGRADER.parent


def nbgrader_env():
    """Environment for nbgrader subprocesses: this Python's bin/ first on PATH (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def run_nbgrader(*args, cwd=AUTOGRADER):
    """Run an nbgrader command from the folder holding nbgrader_config.py; raise with its log on failure."""
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result


def assignments(root=REPO):
    """Names of the assignments: the folders of solutions/ that hold a notebook."""
    return sorted(p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def release(into=None, root=REPO):
    """Generate the release of every assignment into ``into`` (default: ``root/course``)."""
    into = Path(into or Path(root) / "course").resolve()
    into.mkdir(parents=True, exist_ok=True)
    names = assignments(root)
    for stale in into.iterdir():
        if stale.is_dir() and stale.name not in names:
            shutil.rmtree(stale)
    for name in names:
        run_nbgrader(
            "generate_assignment", name, "--force", "--no-db",
            f"--CourseDirectory.root={Path(root).resolve()}",
            f"--CourseDirectory.release_directory={into}",
        )
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", help="folder to write the release to (default: course/)")
    args = parser.parse_args(argv)
    from autograder.examples import write_references

    for path in write_references():
        print(f"computed {path.relative_to(REPO)}")
    for name in release(args.into):
        print(f"released {name}")


if __name__ == "__main__":
    main()
