"""Your workspace: your own copy of the course, the folder ``make lab`` opens
(introduced in the README's "get started").

The released notebooks in ``course/`` belong to git: a ``git pull`` brings course
updates there. You work in ``work/``, a copy that git ignores, so a pull never
conflicts with your answers. ``make lab`` runs ``python -m rnnlab.workspace``
first, which brings ``work/`` up to date without ever overwriting or deleting a
file you changed:

- first time: every file of ``course/`` is copied into ``work/``, same paths;
- a file you have not touched follows the course: when the course version
  changes, your copy is updated;
- a file you changed is yours: it is never overwritten. If the course version
  changed too, every ``make lab`` says so and where the new version is, until
  you start that file over;
- a file you deleted comes back as a fresh copy of the course version: to start a
  notebook over, rename or delete your copy and run ``make lab`` again;
- a file new in the course is copied in;
- a file removed from the course stays in ``work/`` (said once);
- your own extra files are left alone.

"Untouched" means byte for byte what was last copied: ``work/.rnnlab-release.json``
records the SHA-256 of each course file as it was copied. A file already in
``work/`` that the record does not know (the record was lost, or unreadable) counts
as yours.

    from rnnlab.workspace import sync
    report = sync("course", "work")
    print(report)
"""

import argparse
import errno
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MANIFEST = ".rnnlab-release.json"
SKIPPED_FOLDERS = {"__pycache__"}  # besides every hidden name, such as .ipynb_checkpoints
ABOUT = ("Written by `python -m rnnlab.workspace` (run by `make lab`): the SHA-256 of each course file "
         "as it was last copied here. A file whose content differs from its hash is yours and is never "
         "overwritten. Without this file, every file already here counts as yours.")


@dataclass
class Report:
    """What one :func:`sync` did, by relative path (``01_rnn/01_rnn.ipynb``); ``str(report)`` is for people."""

    release: Path
    work: Path
    first_time: bool = False
    copied: list = field(default_factory=list)            # first time: copied in
    new: list = field(default_factory=list)               # new in the course: copied in
    updated: list = field(default_factory=list)           # untouched copy, course changed: replaced
    restored: list = field(default_factory=list)          # deleted from work: fresh copy
    changed_upstream: list = field(default_factory=list)  # changed by the learner and by the course: kept
    kept_existing: list = field(default_factory=list)     # found in work unrecorded and different: kept
    removed_upstream: list = field(default_factory=list)  # gone from the course: the copy stays
    failed: list = field(default_factory=list)            # (path, reason): could not be copied
    notes: list = field(default_factory=list)

    @property
    def up_to_date(self):
        """True when this sync wrote nothing in work/ and has nothing to tell."""
        return not any([self.copied, self.new, self.updated, self.restored, self.changed_upstream,
                        self.kept_existing, self.removed_upstream, self.failed, self.notes])

    def __str__(self):
        work, release = _folder(self.work), _folder(self.release)
        if self.first_time:
            lines = [f"Your workspace: {work} (first time: copied {_count_files(self.copied)} from {release})",
                     f"Work there: git pull updates {release}, and make lab brings the updates into {work} "
                     f"without touching your changes."]
        elif self.up_to_date:
            lines = [f"Your workspace: {work} (up to date with {release})"]
        else:
            lines = [f"Your workspace: {work}"]
        lines += self.notes
        update = [f"{label} {', '.join(paths)}" for label, paths in [("new", self.new), ("updated", self.updated)]
                  if paths]
        if update:
            lines.append("Course update: " + "; ".join(update))
        if self.restored:
            lines.append("Fresh copy of what you deleted: " + ", ".join(self.restored))
        for path in self.changed_upstream:
            lines.append(f"Changed in the course, your copy kept: {path}. The new version is in "
                         f"{_shown(self.release, path)}; to start over with it, rename or delete "
                         f"{_shown(self.work, path)} and run make lab again.")
        for path in self.kept_existing:
            lines.append(f"Already in {work} and different from the course, kept as yours: {path} "
                         f"(the course version is in {_shown(self.release, path)}).")
        if self.removed_upstream:
            lines.append(f"No longer in the course, your copy stays: {', '.join(self.removed_upstream)}")
        for path, reason in self.failed:
            lines.append(f"Could not copy {path}: {reason}")
        return "\n".join(lines)


def sync(release, work):
    """
    Bring the workspace ``work`` up to date with the course folder ``release``, never
    overwriting or deleting a file the learner changed (the rules are in the module docstring).

    Inputs:
    - release: The released course folder, e.g. "course"
    - work: The learner's workspace, e.g. "work"; created when missing
    Returns:
    - report: A Report of what was copied and what was kept; print it for the learner
    """
    release, work = Path(release), Path(work)
    if not release.is_dir():
        raise FileNotFoundError(f"no course folder at {release}")
    files = _release_files(release, skip=work)
    manifest_path = work / MANIFEST
    recorded, note = _read_manifest(manifest_path)
    first_time = not manifest_path.exists() and not any((work / relative).exists() for relative in files)
    report = Report(release, work, first_time=first_time, notes=[note] if note else [])
    hashes = {}  # the new manifest: each course file as it was when last copied

    for relative in files:
        known_hash = recorded.get(relative)  # None: never copied here, or the record was lost
        try:
            hashes[relative], outcome = _sync_file(release / relative, work / relative, known_hash, first_time)
        except OSError as error:
            if known_hash:
                hashes[relative] = known_hash
            report.failed.append((relative, _reason(error)))
            continue
        if outcome:
            getattr(report, outcome).append(relative)

    # said once: they leave the record, and a file that returns to the course later counts as the learner's
    report.removed_upstream = sorted(p for p in recorded if p not in hashes and (work / p).is_file())
    if hashes != recorded or note or not manifest_path.exists():
        _write_atomic(manifest_path, _manifest_bytes(hashes))
    return report


def _sync_file(source, target, known_hash, first_time):
    """
    Bring one file up to date. Returns (the hash to record, the Report list to name it in or None).
    """
    content = source.read_bytes()
    course_hash = _sha256(content)
    if not target.exists():
        _write_atomic(target, content)
        return course_hash, "copied" if first_time else "restored" if known_hash else "new"
    if not target.is_file():
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
    work_hash = _sha256(target.read_bytes())
    if work_hash == course_hash:
        return course_hash, None
    if known_hash is None:
        return course_hash, "kept_existing"
    if work_hash != known_hash:
        # changed by the learner; the old hash stays, so every run says so until they start over
        return known_hash, "changed_upstream" if known_hash != course_hash else None
    try:  # untouched since it was copied, and the course changed
        _write_atomic(target, content, unless_changed_from=known_hash)
    except _ChangedMeanwhile:
        return known_hash, "changed_upstream"
    return course_hash, "updated"


def _release_files(release, skip):
    """Relative POSIX paths of the files to copy, sorted; hidden names, __pycache__ and the folder skip are left out."""
    skip = skip.resolve()
    files = []
    for folder, subfolders, names in os.walk(release):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith(".") and s not in SKIPPED_FOLDERS
                               and (Path(folder) / s).resolve() != skip)
        for name in names:
            path = Path(folder) / name
            if not name.startswith(".") and path.is_file():
                files.append(path.relative_to(release).as_posix())
    return sorted(files)


def _read_manifest(path):
    """(relative path -> SHA-256, note): an empty record and a one-line note when the file is unreadable."""
    if not path.exists():
        return {}, None
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        if not all(_is_relative(p) and _is_sha256(h) for p, h in files.items()):
            raise ValueError("unexpected entries")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        return {}, (f"Note: could not read {path} ({type(error).__name__}); every file already in "
                    f"{_folder(path.parent)} counts as yours and is kept, and the record is written anew.")
    return dict(files), None


def _manifest_bytes(hashes):
    return (json.dumps({"about": ABOUT, "files": dict(sorted(hashes.items()))}, indent=1) + "\n").encode()


class _ChangedMeanwhile(Exception):
    """The learner saved the file while sync was copying over it."""


def _write_atomic(path, content, unless_changed_from=None):
    """
    Write content to path through a temporary file and os.replace, so an interruption never leaves half
    a file (which would then count as the learner's forever). With unless_changed_from, the file is
    replaced only if its hash is still that just before the swap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden, so Jupyter does not show it
    try:
        with open(temporary, "wb") as file:  # ordinary permissions, unlike tempfile's 0600
            file.write(content)
        if unless_changed_from is not None and _sha256(path.read_bytes()) != unless_changed_from:
            raise _ChangedMeanwhile(path)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _reason(error):
    return f"{error.strerror or error} ({error.filename})" if error.filename else str(error.strerror or error)


def _sha256(content):
    return hashlib.sha256(content).hexdigest()


def _is_sha256(value):
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _is_relative(value):
    path = PurePosixPath(value) if isinstance(value, str) else None
    return path is not None and not path.is_absolute() and ".." not in path.parts and str(path) == value


def _folder(path):
    return f"{path.as_posix().rstrip('/')}/"


def _shown(folder, relative):
    return (folder / relative).as_posix()


def _count_files(paths):
    notebooks = sum(p.endswith(".ipynb") for p in paths)
    others = len(paths) - notebooks
    parts = [f"{notebooks} notebook{'s' * (notebooks != 1)}"]
    if others:
        parts.append(f"{others} other file{'s' * (others != 1)}")
    return " and ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rnnlab.workspace",
        description="Copy the course into your workspace, or bring it up to date; a file you changed is never overwritten.")
    parser.add_argument("--release", default="course", help="the released course folder (default: course)")
    parser.add_argument("--work", default="work", help="your workspace, created when missing (default: work)")
    args = parser.parse_args(argv)
    try:
        report = sync(args.release, args.work)
    except OSError as error:
        print(f"Could not set up your workspace: {error}", file=sys.stderr)
        return 1
    print(report)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
