"""Which learners' answers to one assignment look alike: ``python -m autograder similarity 01_rnn``.

Only a learner's own code is compared. Of each solution cell (nbgrader's ``solution``, found by the ``grade_id`` of
the release's cell) the comments and docstrings are removed, and so is every line the release itself holds: the
``def`` line, the docstring, ``# YOUR CODE HERE``, ``raise NotImplementedError()``, any line of the notebook's text
or tests. Everyone has those; they say nothing about who wrote what.

What is left is fingerprinted by copydetect (winnowing, Schleimer, Wilkerson and Aiken 2003): its tokenizer
replaces every name by one letter and drops comments and spaces, so renamed variables and changed comments change
nothing, and every run of :data:`NOISE` characters of that normalised code is hashed. A learner's fingerprints are
those of all their cells together: moving a function to another cell or reordering functions changes little.

A fingerprint many learners share says little: a sigmoid or ``return x @ W + b`` is written the same way by
everyone who follows the text. Each fingerprint weighs ``log(n / k) / log(n / 2)`` (between 0 and 1), where ``n``
counts the compared learners and the course's own solution, and ``k`` how many of them have the fingerprint: one
that only two have weighs 1, one that everyone has weighs 0. A pair's score is the weight of the fingerprints both
have, as a share of the mean weight of each one's fingerprints (a weighted Dice coefficient): 1 when their code is
the same up to names, comments and order, near 0 when what they share is what everyone writes.
"""

import ast
import hashlib
import html
import io
import math
import re
import tokenize
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np
from copydetect.utils import filter_code, get_copied_slices, winnow
from nbgrader.utils import is_solution

from autograder.submissions import submitted_notebooks, unreadable

# copydetect's defaults (25 and 25) are for whole files; a notebook cell is a few lines, each name one letter
NOISE = 15  # characters of normalised code in one fingerprint (about one statement): shorter matches are noise
GUARANTEE = 20  # a match this long is always found: winnowing keeps one fingerprint in each GUARANTEE - NOISE + 1
THRESHOLD = 0.4  # a pair scoring above this is flagged
STRONG = 0.5  # a shared fingerprint weighing this much is marked as a match, a lighter one as common


@dataclass
class Fingerprints:
    """A piece of code's fingerprints, as copydetect's ``CodeFingerprint`` makes them but with a hash that is the
    same in every process (copydetect's, Python's ``hash``, changes with each run: so would the scores)."""

    raw_code: str
    filtered_code: str  # names made V, F or O, comments and spaces dropped (copydetect.utils.filter_code)
    offsets: np.ndarray  # characters dropped before each place of filtered_code, to find it in raw_code
    hashes: set
    hash_idx: dict  # {hash: [where its k-gram starts in filtered_code]}
    k: int = NOISE

    @classmethod
    def of(cls, code):
        filtered, offsets = filter_code(code, "cell.py", language="python") if code else ("", np.array([]))
        kgrams = [filtered[start:start + NOISE] for start in range(len(filtered) - NOISE + 1)]
        hashes = np.array([int.from_bytes(hashlib.blake2b(kgram.encode(), digest_size=8).digest(), "little",
                                          signed=True) for kgram in kgrams], dtype=np.int64)
        selected, starts = winnow(hashes, GUARANTEE - NOISE + 1, remove_duplicates=False) if len(hashes) else ([], [])
        hash_idx = {}
        for value, start in zip(selected, starts):
            hash_idx.setdefault(int(value), []).append(int(start))
        return cls(code, filtered, offsets, set(hash_idx), hash_idx)


@dataclass
class Learner:
    """One learner's own code of one assignment, per solution cell, and its fingerprints."""

    student: str
    code: dict  # {(notebook, grade_id): the learner's own lines}
    fingerprints: dict = field(default_factory=dict)  # {(notebook, grade_id): Fingerprints}

    def __post_init__(self):
        self.fingerprints = {cell: Fingerprints.of(code) for cell, code in self.code.items()}

    @property
    def hashes(self):
        return set().union(*(fingerprint.hashes for fingerprint in self.fingerprints.values()))


@dataclass
class Pair:
    """Two learners' similarity: ``score`` (see the module's docstring) and the share of each one's weight the
    other has."""

    first: Learner
    second: Learner
    score: float
    first_share: float
    second_share: float


# the learner's own code ------------------------------------------------------------------------------------


def _lines(code):
    """``code``'s lines as Python counts them (``str.splitlines`` also splits at form feeds and other characters)."""
    return code.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _without_comments_and_docstrings(code):
    """``code`` with its comments and string statements (docstrings) cut out, line for line; as it is when it does
    not parse, but for the lines that start with #."""
    lines = _lines(code)
    try:
        tree = ast.parse("\n".join(lines))
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline))
    except (SyntaxError, tokenize.TokenError, ValueError):
        return "\n".join("" if line.lstrip().startswith("#") else line for line in lines)
    for token in reversed(tokens):  # from the end, so that a cut leaves the columns before it in place
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip()
    strings = [node for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
               and isinstance(node.value.value, str)]
    for node in sorted(strings, key=lambda node: (node.lineno, node.col_offset), reverse=True):
        # only the string itself: `dx = dout @ W.T; "..."` keeps its code (ast counts columns in UTF-8 bytes)
        first, last = lines[node.lineno - 1].encode(), lines[node.end_lineno - 1].encode()
        kept = (first[:node.col_offset] + last[node.end_col_offset:]).decode().rstrip()
        lines[node.lineno - 1:node.end_lineno] = [kept] + [""] * (node.end_lineno - node.lineno)
    return "\n".join(lines)


@dataclass(frozen=True)
class CourseLines:
    """What of a solution cell is the course's, not the learner's: every line of the released notebook (its code
    without comments, and its text), stripped, and the names of the functions it defines, whose ``def`` lines are
    the course's whatever the learner renamed the arguments to."""

    lines: frozenset
    functions: frozenset

    @classmethod
    def of(cls, notebook):
        """The course's lines of the released notebook ``notebook``."""
        found = set()
        for cell in notebook.cells:
            if cell.cell_type == "code":
                found.update(_lines(_without_comments_and_docstrings(cell.source) + "\n" + cell.source))
            else:
                found.update(_lines(cell.source))
        lines = {line.strip() for line in found} - {""}
        return cls(frozenset(lines), frozenset(match.group(1) for line in lines if (match := DEF.match(line))))

    def __contains__(self, line):
        found = DEF.match(line.strip())
        return line.strip() in self.lines or (found is not None and found.group(1) in self.functions)


DEF = re.compile(r"^def\s+(\w+)\s*\(")


def own_code(source, course):
    """The lines of a solution cell's ``source`` that the learner wrote: without comments, docstrings, blank lines
    and the lines of ``course`` (the release's :class:`CourseLines`)."""
    lines = _lines(_without_comments_and_docstrings(source))
    return "\n".join(line for line in lines if line.strip() and line not in course)


def solution_cells(notebook):
    """{grade_id: source} of the notebook's solution cells (a grade_id given twice: its cells together)."""
    cells = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and is_solution(cell):
            grade_id = str(cell.metadata.nbgrader.get("grade_id", ""))
            cells[grade_id] = cells[grade_id] + "\n" + cell.source if grade_id in cells else cell.source
    return cells


def _answers(path, release, course):
    """{(notebook, grade_id): own code} of the submitted notebook ``path``, one for each solution cell of
    ``release``, or None when the file is not a notebook; and a note on what is left out ("" if nothing)."""
    data = path.read_bytes()
    problem = unreadable(data)
    if problem is not None:
        return None, f"left out, {problem.status()}"
    cells = solution_cells(nbformat.reads(data.decode("utf-8"), as_version=4))
    expected = solution_cells(release)
    missing = [grade_id for grade_id in expected if grade_id not in cells]
    note = (f"has no solution cell {', '.join(missing)} (deleted, or its nbgrader metadata changed): compared on "
            "the other cells") if missing else ""
    return {(path.stem, grade_id): own_code(cells.get(grade_id, ""), course) for grade_id in expected}, note


def read_class(coursedir, assignment):
    """The learners of ``assignment`` (a :class:`Learner` each, in name order), the course's own solution as a
    Learner named "the course's solution", and a note per learner left out or compared on fewer cells."""
    root = Path(coursedir.root)
    released = root / coursedir.release_directory / assignment
    releases = {path.stem: nbformat.read(path, as_version=4) for path in sorted(released.glob("*.ipynb"))}
    if not releases:
        raise FileNotFoundError(f"no release of {assignment} in {released}: run `python -m autograder release` first")
    course = {name: CourseLines.of(notebook) for name, notebook in releases.items()}
    answers, notes = {}, []
    for student, _, name in submitted_notebooks(coursedir, [assignment]):
        if name not in releases:
            notes.append(f"{student}: {name}.ipynb is not a notebook of the release: left out")
            continue
        try:
            cells, note = _answers(root / coursedir.submitted_directory / student / assignment / f"{name}.ipynb",
                                   releases[name], course[name])
        except Exception as error:  # noqa: BLE001 - whatever a learner's file does, the others are still compared
            cells, note = None, f"left out, it could not be read ({type(error).__name__}: {error})"
        if note:
            notes.append(f"{student}: {name}.ipynb {note}")
        if cells is not None:
            answers.setdefault(student, {}).update(cells)
    learners = [Learner(student, code) for student, code in sorted(answers.items())]
    reference = {}
    for name in releases:
        path = root / coursedir.source_directory / assignment / f"{name}.ipynb"
        if path.exists():
            for grade_id, source in solution_cells(nbformat.read(path, as_version=4)).items():
                reference[name, grade_id] = own_code(source, course[name])
    return learners, Learner("the course's solution", reference), notes


# weights and scores ------------------------------------------------------------------------------------------


def weights(population):
    """{fingerprint: weight} over the fingerprint sets of ``population`` (the learners and the course's solution):
    ``log(n / k) / log(n / 2)``, clipped to [0, 1], for a fingerprint ``k`` of the ``n`` have."""
    counts = {}
    for hashes in population:
        for value in hashes:
            counts[value] = counts.get(value, 0) + 1
    n = len(population)
    if n <= 2:
        return dict.fromkeys(counts, 1.0)
    return {value: min(1.0, max(0.0, math.log(n / k) / math.log(n / 2))) for value, k in counts.items()}


def compare(learners, weight):
    """Every pair of ``learners``, scored with the fingerprint weights ``weight``, the highest first."""
    hashes = {learner.student: learner.hashes for learner in learners}
    mass = {student: sum(weight.get(value, 0.0) for value in found) for student, found in hashes.items()}
    pairs = []
    for first, second in combinations(learners, 2):
        shared = sum(weight.get(value, 0.0) for value in hashes[first.student] & hashes[second.student])
        total = mass[first.student] + mass[second.student]
        pairs.append(Pair(first, second, 2 * shared / total if total else 0.0,
                          shared / mass[first.student] if mass[first.student] else 0.0,
                          shared / mass[second.student] if mass[second.student] else 0.0))
    return sorted(pairs, key=lambda pair: (-pair.score, pair.first.student, pair.second.student))


def marked_lines(fingerprint, other_hashes, weight):
    """{line number (0-based) of the fingerprinted code: "match" or "common"} for the lines that hold a fingerprint
    ``other_hashes`` has too: "match" where one weighs at least :data:`STRONG`, else "common"."""
    marks = {}
    for kind, keep in [("common", lambda w: 0 < w < STRONG), ("match", lambda w: w >= STRONG)]:
        shared = [value for value in fingerprint.hashes & other_hashes if keep(weight.get(value, 0.0))]
        if not shared:
            continue
        starts = np.concatenate([np.array(fingerprint.hash_idx[value]) for value in shared])
        slices = get_copied_slices(starts, fingerprint.k)
        if len(fingerprint.offsets):  # from the normalised code back to the code as written, as copydetect does
            slices = slices + fingerprint.offsets[:, 1][np.clip(np.searchsorted(fingerprint.offsets[:, 0], slices), 0,
                                                                 fingerprint.offsets.shape[0] - 1)]
        line_starts = np.cumsum([0] + [len(line) + 1 for line in fingerprint.raw_code.split("\n")])
        for start, end in slices.T:
            first = np.searchsorted(line_starts, start, side="right") - 1
            last = np.searchsorted(line_starts, max(end - 1, start), side="right") - 1
            marks.update(dict.fromkeys(range(first, last + 1), kind))
    return marks


# the report ------------------------------------------------------------------------------------------------


EXPLANATION = (
    "Each pair of learners is scored by how much of their own code (the release's lines, comments and docstrings "
    "left out) is the same once names, spacing and the order of functions are ignored. A fingerprint that many "
    "learners share weighs little, one that only two share weighs fully: what everyone following the text writes "
    "alike (a sigmoid, <code>return x @ W + b</code>) does not raise a score. The score is the weight the two have "
    "in common as a share of the mean weight of their fingerprints: 1 means the same code up to names, comments "
    "and order.")
MEANING = (
    "A flag is a reason to look at two notebooks side by side, not evidence that anyone copied. Honest learners "
    "who follow the same text can match on short functions, and two learners who worked together as allowed look "
    "alike too. Read the marked lines, then talk to the learners before drawing any conclusion.")


def table(pairs, threshold, limit=10):
    """The ranking as lines of text for the terminal: every pair above ``threshold``, and at least ``limit`` pairs."""
    shown = pairs[:max(limit, sum(pair.score > threshold for pair in pairs))]
    width = max([len(pair.first.student) + len(pair.second.student) + 5 for pair in shown] + [4])
    lines = [f"{'':>4} {'pair':<{width}} {'score':>6} {'a in b':>7} {'b in a':>7}"]
    for rank, pair in enumerate(shown, 1):
        names = f"{pair.first.student} and {pair.second.student}"
        flag = "  flagged" if pair.score > threshold else ""
        lines.append(f"{rank:>4} {names:<{width}} {pair.score:6.2f} {pair.first_share:7.2f} {pair.second_share:7.2f}"
                     f"{flag}")
    return lines


def _code_html(fingerprint, other_hashes, weight):
    """A cell's own code, escaped, with the lines it shares with the other learner marked."""
    if fingerprint is None or not fingerprint.raw_code:
        return '<span class="empty">(nothing of their own)</span>'
    marks = marked_lines(fingerprint, other_hashes, weight)
    rows = []
    for number, line in enumerate(fingerprint.raw_code.split("\n")):
        kind = marks.get(number)
        rows.append(f'<span class="{kind}">{html.escape(line)}</span>' if kind else html.escape(line))
    return "\n".join(rows)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; max-width: 90em; color: #222; }
.about { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
table.ranking td, table.ranking th { padding: 0.2em 0.8em; text-align: left; }
table.ranking td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged { font-weight: bold; }
table.side { width: 100%; border-collapse: collapse; table-layout: fixed; margin-bottom: 1em; }
table.side td, table.side th { vertical-align: top; border: 1px solid #ccc; padding: 0.3em; text-align: left; }
pre { margin: 0; white-space: pre-wrap; font-size: 0.85em; }
.match { background: #ffc9c9; }
.common { background: #e8e8e8; }
.empty { color: #888; }
"""


def page(assignment, pairs, weight, threshold, learners, notes):
    """The report as one HTML page: what a flag means, the ranking, each flagged pair's cells side by side with
    their shared lines marked, and the notes. Every learner's text (names, code, notes) is escaped."""
    flagged = [pair for pair in pairs if pair.score > threshold]
    cells = list(dict.fromkeys(cell for learner in learners for cell in learner.code))
    name = html.escape(assignment)
    parts = [f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Similarity: {name}</title><style>{STYLE}</style></head><body>
<h1>Similarity report: {name}</h1>
<div class="about"><p><strong>What a flag means.</strong> {MEANING}</p>
<p><strong>How the score is made.</strong> {EXPLANATION}</p>
<p>{len(learners)} learner(s) compared, {len(pairs)} pair(s); {len(flagged)} pair(s) above {threshold:.2f} flagged.
Marked lines: <span class="match">shared code few others have</span>, <span class="common">shared code many
others have too</span>.</p></div>
"""]
    if notes:
        parts.append("<h2>Left out or compared in part</h2><ul>"
                     + "".join(f"<li>{html.escape(note)}</li>" for note in notes) + "</ul>")
    parts.append('<h2>Ranking</h2><table class="ranking"><tr><th></th><th>pair</th><th>score</th>'
                 "<th>share of the first's weight the second has</th><th>the other way</th></tr>")
    for rank, pair in enumerate(pairs[:max(20, len(flagged))], 1):
        parts.append(f'<tr class="{"flagged" if pair.score > threshold else ""}"><td class="number">{rank}</td>'
                     f"<td>{html.escape(pair.first.student)} and {html.escape(pair.second.student)}</td>"
                     f'<td class="number">{pair.score:.2f}</td><td class="number">{pair.first_share:.2f}</td>'
                     f'<td class="number">{pair.second_share:.2f}</td></tr>')
    parts.append("</table>")
    for rank, pair in enumerate(flagged, 1):
        first, second = pair.first, pair.second
        parts.append(f'<h2 id="pair-{rank}">{rank}. {html.escape(first.student)} and {html.escape(second.student)}: '
                     f"{pair.score:.2f}</h2>")
        for cell in cells:
            parts.append(f'<table class="side"><tr><th colspan="2">{html.escape(cell[0])}: {html.escape(cell[1])}'
                         f"</th></tr><tr><th>{html.escape(first.student)}</th><th>{html.escape(second.student)}</th>"
                         f"</tr><tr><td><pre>{_code_html(first.fingerprints.get(cell), second.hashes, weight)}</pre>"
                         f"</td><td><pre>{_code_html(second.fingerprints.get(cell), first.hashes, weight)}</pre>"
                         "</td></tr></table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def similarity(coursedir, assignment, out_dir, threshold=THRESHOLD):
    """Compare the learners of ``assignment`` and write ``similarity-<assignment>.html`` to ``out_dir``; return the
    pairs (highest first), the notes on learners left out or compared in part, and the page's path."""
    learners, reference, notes = read_class(coursedir, assignment)
    weight = weights([learner.hashes for learner in learners] + [reference.hashes])
    pairs = compare(learners, weight)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"similarity-{assignment}.html"
    path.write_text(page(assignment, pairs, weight, threshold, learners, notes))
    return pairs, notes, path
