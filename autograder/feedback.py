"""
What a learner's feedback page shows, and how it reads: nbgrader's feedback page, made for a learner.

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test cells hold their
hidden tests again (autograde puts the instructor's version of every test cell back; nbgrader
issue #917). ``nbgrader_config.py`` runs these preprocessors after nbgrader's own
(``GenerateFeedback.preprocessors``), in every feedback nbgrader makes from ``autograder/``:

- :class:`HideHiddenTests`: a test cell keeps its public part; its hidden part becomes one comment
  line saying how many hidden lines there were. A failure in such a cell keeps its message (what
  was expected, what came, the hint), which is what the learner needs; a traceback, whose frames
  would quote the hidden lines, becomes the error's name and message alone. Public tests, and
  failures in cells without hidden tests, are shown as they are;
- :class:`HideGraderPaths`: the grader's folders leave the outputs (``/work/main/rnnlab/testing.py:42``
  becomes ``rnnlab/testing.py:42``); the message stays, and so do the learner's ``Cell In[3]``;
- :class:`NameGradedCells`: the page's contents name each test cell by its docstring;
- :class:`PendingManualGrades`: the answers a person grades that nobody has graded yet, so that the
  page says their points wait for a grader instead of showing a silent 0.

The page itself is :class:`FeedbackExporter` with the template in ``templates/rnnlab_feedback``:
nbgrader's feedback page with named contents, wrapped outputs and maths as MathML, and no script
or stylesheet from the network, so the page works opened on its own, offline.

A submission nbgrader could not read has no autograded notebook, so nbgrader writes it no page:
:func:`write_unreadable_pages` writes one where nbgrader would, saying why and what to do.
"""

import ast
import html
import logging
import os
import re
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

import nbgrader
from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbgrader.utils import is_grade, is_task
from traitlets import Bool, Unicode

from autograder.submissions import State, diagnose, submitted_notebooks
from rnnlab.testing import LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"  # ours: rnnlab_feedback/
NBGRADER_TEMPLATES = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"

# rnnlab's checks render their message alone (CheckFailed._render_traceback_, an unwritten function's one line):
# such a traceback is kept
RENDERED_BY_RNNLAB = LABELS


def hidden_note(count):
    """The line that stands where hidden tests were."""
    return f"# ... {count} hidden test line{'' if count == 1 else 's'} ran here (not shown; a failure's message is, below)"


class HideHiddenTests(Preprocessor):
    """Take the hidden tests (and tracebacks that would quote them) out of a notebook shown to a learner."""

    enabled = Bool(True, help="nbconvert runs a registered preprocessor only when it is enabled").tag(config=True)
    begin_test_delimiter = Unicode("BEGIN HIDDEN TESTS", help="The line that opens hidden tests").tag(config=True)
    end_test_delimiter = Unicode("END HIDDEN TESTS", help="The line that closes hidden tests").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin_test_delimiter in cell.source:
            cell.source, _ = strip_hidden(cell.source, self.begin_test_delimiter, self.end_test_delimiter)
            cell.outputs = [_without_traceback(output) for output in cell.get("outputs", [])]
        return cell, resources


def strip_hidden(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """(the source without its hidden tests, one note line where each block was; how many hidden lines it had)."""
    kept, block, total = [], None, 0
    for line in source.splitlines():
        if block is None and begin in line:
            block = []
        elif block is not None and end in line:
            kept.append(hidden_note(len(block)))
            total, block = total + len(block), None
        elif block is not None:
            block.append(line)
        else:
            kept.append(line)
    if block is not None:  # a block nobody closed hides everything after its opening line
        kept.append(hidden_note(len(block)))
        total += len(block)
    return "\n".join(kept), total


def _without_traceback(output):
    if output.get("output_type") != "error":
        return output
    traceback = output.get("traceback") or [""]
    if not traceback[0].startswith(RENDERED_BY_RNNLAB):  # IPython's frames would quote the hidden lines
        output["traceback"] = [f"\x1b[0;31m{output.get('ename', 'Error')}\x1b[0m: {output.get('evalue', '')}"]
    return output


# grader paths -----------------------------------------------------------------------------------


def grader_folders(*more):
    """
    The folders of the grader's machine that outputs may name, longest first: the course, this
    Python's library folders (site-packages, the standard library: everything on ``sys.path``),
    its prefixes, the home and temporary folders (ipykernel's cell files), and ``more``.
    """
    from autograder import course

    folders = [*more, course.root(), course.REPO, *sys.path, *site.getsitepackages(), site.getusersitepackages(),
               *sysconfig.get_paths().values(), sys.prefix, sys.exec_prefix, sys.base_prefix,
               Path.home(), tempfile.gettempdir()]
    absolute = {os.path.normpath(str(folder)) for folder in folders if folder and os.path.isabs(str(folder))}
    return sorted(absolute - {os.sep}, key=len, reverse=True)


def without_folders(text, folders):
    """``text`` with each of ``folders`` taken off the paths that start with it (a folder alone becomes ".")."""
    if not folders:
        return text
    pattern = re.compile("(?:" + "|".join(map(re.escape, folders)) + r")(?P<end>/|(?![\w.+-]))")
    return pattern.sub(lambda match: "" if match.group("end") else ".", text)


# ipykernel compiles each cell to <temporary folder>/ipykernel_<pid>/<hash of its source>.py: warnings name that file
IPYKERNEL_CELL_FILE = re.compile(r"(?:/[\w.+-]+)*/ipykernel_\d+/(?P<hash>\d+)\.py")


def cell_files(nb):
    """{hash: "Cell In[7]"}: which cell of ``nb`` each of ipykernel's cell files was (ipykernel.compiler.get_file_name)."""
    try:
        from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86
    except ImportError:  # another ipykernel: such a file is then "a cell" (HideGraderPaths)
        return {}
    return {str(murmur2_x86(cell.source, get_tmp_hash_seed())): f"Cell In[{cell.execution_count}]"
            for cell in nb.cells if cell.cell_type == "code" and cell.get("execution_count")}


class HideGraderPaths(Preprocessor):
    """
    Take the grader's folders out of every text output (streams, errors, text results): a frame
    ``File /work/main/rnnlab/gradcheck.py:125`` reads ``File rnnlab/gradcheck.py:125``, a warning from
    numpy names ``numpy/...``, one from the learner's code names its cell (``Cell In[7]:3``), as
    IPython's tracebacks do. Messages stay. Runs before HideHiddenTests: a cell's file is named by
    the source that ran.
    """

    enabled = Bool(True, help="nbconvert runs a registered preprocessor only when it is enabled").tag(config=True)

    def preprocess(self, nb, resources):
        # the notebook's own folder first: a file the learner's code opened is named as the learner did
        self._folders = grader_folders(resources.get("metadata", {}).get("path") or "")
        self._cells = cell_files(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            self._clean(output)
        return cell, resources

    def clean(self, text):
        text = IPYKERNEL_CELL_FILE.sub(lambda match: self._cells.get(match.group("hash"), "a cell"), text)
        return without_folders(text, self._folders)

    def _clean(self, output):
        kind = output.get("output_type")
        if kind == "stream":
            output["text"] = self.clean(output.get("text", ""))
        elif kind == "error":
            output["evalue"] = self.clean(output.get("evalue", ""))
            output["traceback"] = [self.clean(line) for line in output.get("traceback", [])]
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            for mimetype, value in data.items():  # text only: base64 images may hold "/tmp/" by chance
                if mimetype.startswith("text/") and isinstance(value, str):
                    data[mimetype] = self.clean(value)


# the page's contents -----------------------------------------------------------------------------


def docstring_title(source):
    """What a test cell checks: its docstring's first line, without the final full stop ("" without a docstring)."""
    try:
        docstring = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:  # IPython syntax (%magic): the one-line docstring the course's test cells start with
        match = re.match(r"\s*[rRuU]?(\"\"\"|'''|\"|')(.*?)\1", source)
        docstring = match.group(2) if match else ""
    first = docstring.strip().splitlines()[0] if docstring.strip() else ""
    return first.removesuffix(".")


class NameGradedCells(Preprocessor):
    """
    ``resources["feedback"]["names"]``: the name each graded cell has in the page's contents
    (nbgrader calls every one "Test cell"): a test cell's docstring, "Written answer" for an
    answer a person grades.
    """

    enabled = Bool(True, help="nbconvert runs a registered preprocessor only when it is enabled").tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.preprocessors import graded_test_cells

        tests = graded_test_cells(nb)
        names = resources.setdefault("feedback", {}).setdefault("names", {})
        for cell in nb.cells:
            if not (is_grade(cell) or is_task(cell)):
                continue
            grade_id = cell.metadata.nbgrader.grade_id
            if grade_id in tests:
                names[grade_id] = docstring_title(cell.source) or "Test cell"
            elif is_task(cell):
                names[grade_id] = "Task"
            else:
                names[grade_id] = "Written answer" if cell.cell_type == "markdown" else "Your code, graded by a person"
        return nb, resources


# pending manual grades ---------------------------------------------------------------------------


def waiting(points):
    """The words for points nobody has graded yet: "3 points wait for a grader", "1 point waits for a grader"."""
    return f"{points:g} point{'' if points == 1 else 's'} wait{'s' if points == 1 else ''} for a grader"


class PendingManualGrades(Preprocessor):
    """
    ``resources["feedback"]["pending"]``: {grade_id: "3 points wait for a grader"} for each answer a
    person grades (formgrader) that nobody has graded yet, and ``["pending_note"]`` for them all.
    nbgrader's gradebook scores such an answer 0 until then, and its page says no more than "0 / 3".
    """

    enabled = Bool(True, help="nbconvert runs a registered preprocessor only when it is enabled").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        about = resources["nbgrader"]
        with Gradebook(about["db_url"]) as gradebook:
            submission = gradebook.find_submission_notebook(about["notebook"], about["assignment"], about["student"])
            pending = {grade.name: grade.max_score for grade in submission.grades
                       if grade.needs_manual_grade and grade.manual_score is None}
        feedback = resources.setdefault("feedback", {})
        feedback["pending"] = {grade_id: waiting(points) for grade_id, points in pending.items()}
        feedback["pending_note"] = waiting(sum(pending.values())) if pending else ""
        return nb, resources


# maths -------------------------------------------------------------------------------------------
# Maths becomes MathML when the page is made (latex2mathml), and the browser draws it: Chromium
# (since 109), Firefox and Safari render MathML Core natively, with no script. MathJax would render
# offline only if it came with each page (release_feedback copies the page alone): the MathJax of
# jupyter-server-mathjax is MathJax 2.7, 538 files (12 MB) that load one another and their web
# fonts at run time; its combined TeX config alone is 366 kB, and with its output code and fonts
# inlined a page would grow by more than 1 MB. The MathML of a whole notebook of this course is
# 10-40 kB, and every formula of the course's notebooks converts (tests/test_feedback.py).

# latex2mathml knows amsmath's align* but not aligned, the same rows inside display maths
_TEX_ALIASES = {r"\begin{aligned}": r"\begin{align*}", r"\end{aligned}": r"\end{align*}"}


def mathml(tex, display="inline"):
    """The MathML of one LaTeX formula (without its $ delimiters); the LaTeX as code if it does not convert."""
    for alias, known in _TEX_ALIASES.items():
        tex = tex.replace(alias, known)
    try:
        converted = latex_to_mathml(tex.strip(), display=display)
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; the learner still reads the LaTeX
        delimiter = "$$" if display == "block" else "$"
        return f'<code class="tex">{html.escape(delimiter + tex + delimiter)}</code>'
    # \text{dprev\_h}: latex2mathml keeps the escapes of text as they are
    converted = re.sub(r"\\([_%$&#{}])", lambda escaped: html.escape(escaped.group(1)), converted)
    # its characters as themselves, not as &#x0003D; (the page is UTF-8): a third of the size
    return re.sub(r"&#x([0-9A-Fa-f]+);", lambda entity: html.escape(chr(int(entity.group(1), 16)), quote=False), converted)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with maths written as MathML instead of left for MathJax."""

    def block_math(self, body):
        return mathml(body, "block")

    def inline_math(self, body):
        return mathml(body, "inline")

    def latex_environment(self, name, body):
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


class FeedbackExporter(HTMLExporter):
    """
    The feedback page's exporter (``GenerateFeedback.exporter_class``): nbgrader's HTML exporter
    whose markdown filter writes maths as MathML. Its template settings are in ``nbgrader_config.py``
    under ``FeedbackExporter``, so they never reach formgrader's own HTMLExporter.
    """

    @pass_context
    def markdown2html(self, context, source):
        """HTMLExporter's markdown filter (attachments, anchors, images as it has them), with MathMLRenderer."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                                  path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                                  anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                                  **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)


# unreadable submissions --------------------------------------------------------------------------

WHAT_TO_DO = ("Open your notebook in JupyterLab (your own copy, the one you worked in), check that your answers "
              "are there, save it (File > Save Notebook) and hand it in again. If JupyterLab cannot open it either, "
              "download the assignment again and copy your answers into the new notebook.")


def why_unreadable(path):
    """Why a submitted notebook could not be graded, in words for the learner."""
    return diagnose(path).for_learner()


def unreadable_page(student, assignment, notebook, reason):
    """The HTML page that stands for a notebook that could not be graded."""
    from jinja2 import Environment, FileSystemLoader

    environment = Environment(loader=FileSystemLoader(TEMPLATES / "rnnlab_feedback"), autoescape=True)
    return environment.get_template("unreadable.html.j2").render(
        student=student, assignment=assignment, notebook=notebook, reason=reason, what_to_do=WHAT_TO_DO)


def write_unreadable_pages(coursedir, assignment, progress=None):
    """
    A page in the feedback folder, where nbgrader puts its own (so ``release_feedback`` hands it
    back), for every submitted notebook of ``assignment`` that has no autograded notebook, saying
    why it could not be graded and what to do. Returns the pages written.
    """
    def folder(step, student):
        return Path(coursedir.format_path(step, student, assignment))

    ungraded = [(student, notebook) for student, _, notebook in submitted_notebooks(coursedir, [assignment])
                if not (folder(coursedir.autograded_directory, student) / f"{notebook}.ipynb").exists()]
    if progress:
        progress.add(len(ungraded))
    pages = []
    for student, notebook in ungraded:
        reason = why_unreadable(folder(coursedir.submitted_directory, student) / f"{notebook}.ipynb")
        page = folder(coursedir.feedback_directory, student) / f"{notebook}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(unreadable_page(student, assignment, notebook, reason), encoding="utf-8")
        pages.append(page)
        if progress:
            progress.step(f"{student}/{assignment}: {notebook}.ipynb could not be graded; its page says why", failed=True)
    return pages


def _page_fingerprints(coursedir, assignment):
    """{student: fingerprint of what their feedback page of ``assignment`` shows}: the graded notebooks,
    their grades, late penalty and a grader's comments (a manual grade changes the page, not the notebook)."""
    import hashlib

    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(coursedir.db_url) as gradebook:
        for folder in sorted((Path(coursedir.root) / coursedir.autograded_directory).glob(f"*/{assignment}")):
            digest = hashlib.sha256()
            for path in sorted(folder.glob("*.ipynb")):
                digest.update(path.read_bytes())
                try:
                    graded = gradebook.find_submission_notebook(path.stem, assignment, folder.parent.name)
                except MissingEntry:
                    continue
                digest.update(repr(sorted((g.name, g.score, g.needs_manual_grade) for g in graded.grades)).encode())
                digest.update(repr(sorted((c.name, c.comment or "") for c in graded.comments)).encode())
                digest.update(repr(graded.late_submission_penalty).encode())
            found[folder.parent.name] = digest.hexdigest()
    return found


def generate(assignments, root, progress=None, changed_only=False, student=None):
    """
    nbgrader's ``generate_feedback`` for each assignment, in this process (its converter, with the course's
    configuration: this module's preprocessors and template), one page at a time on ``progress``
    (autograder.progress), and a page for each submitted notebook that could not be graded
    (:func:`write_unreadable_pages`; the last line on ``progress`` says how many). With ``changed_only``, only
    the pages whose grades or graded notebooks changed since they were written (autograder.submissions.State) are
    written again; with ``student``, only that learner's (autograder.onsubmit, after grading them alone).
    Returns the problems, one line each, each naming its assignment: an assignment whose pages were not
    all written is reported, and its pages are written again next time.
    """
    import shutil

    from nbgrader.converters import GenerateFeedback

    from autograder import course

    config = course.load_config(**{"CourseDirectory.root": str(root)})
    coursedir = course.coursedir(config)
    state = State(coursedir)
    pages = Path(root) / coursedir.feedback_directory
    problems, unreadable, kept = [], [], 0
    for assignment in assignments:
        fingerprints = _page_fingerprints(coursedir, assignment)
        stale = [learner for learner, key in fingerprints.items() if student in (None, learner) and (
                 not changed_only or state.feedback_from(learner, assignment) != key
                 or not any((pages / learner / assignment).glob("*.html")))]
        kept += len(fingerprints) - len(stale)
        expected = [(student, path.stem) for student in stale
                    for path in sorted((Path(root) / coursedir.autograded_directory / student / assignment).glob("*.ipynb"))]
        if progress:
            progress.add(len(expected))
            progress.stage(f"feedback for {assignment}")
        if expected:
            for learner in stale:  # nbgrader leaves existing pages alone without force: these go first
                shutil.rmtree(pages / learner / assignment, ignore_errors=True)
            log = _ConverterLog(assignment, progress)
            coursedir.assignment_id, coursedir.student_id = assignment, student or "*"
            converter = GenerateFeedback(coursedir=coursedir, config=config, log=log.logger)
            converter.force = not changed_only
            failed = None
            try:
                converter.start()
            except Exception as error:  # noqa: BLE001 - nbgrader's own words are in the log; judged by the pages
                failed = error
            # judged by what was written: a page per graded notebook of each learner whose pages were stale
            missing = [(student, notebook) for student, notebook in expected
                       if not (pages / student / assignment / f"{notebook}.html").exists()]
            written = set(stale) - {student for student, _ in missing}
            for learner in written:
                state.fed_back(learner, assignment, fingerprints[learner])
            if failed is not None or missing:
                why = "; ".join(log.errors) or f"nbgrader's generate_feedback failed ({failed!r})"
                problems.append(f"{assignment}: {len(missing)} page(s) not written "
                                f"({', '.join(f'{s}/{n}' for s, n in missing[:5])}{', ...' if len(missing) > 5 else ''}): "
                                f"{why}" if missing else f"{assignment}: {why}")
        unreadable += write_unreadable_pages(coursedir, assignment, progress)
    state.save()
    if progress and kept:
        progress.stage(f"{kept} page(s) unchanged since they were written (--all writes them again)")
    if progress and unreadable:
        progress.stage(f"{len(unreadable)} page(s) for submissions that could not be graded, each saying why")
    return problems


class _ConverterLog(logging.Handler):
    """nbgrader's converter's log: each page written is a step on ``progress``; its errors are kept, in its words."""

    def __init__(self, assignment, progress):
        super().__init__(logging.INFO)
        self.assignment, self.progress, self.errors = assignment, progress, []
        self.logger = logging.Logger("nbgrader.generate_feedback", logging.INFO)  # this run's own, unregistered
        self.logger.addHandler(self)

    def emit(self, record):
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            lines = [line for line in message.strip().splitlines() if line.strip()]
            self.errors.append(lines[-1].strip() if lines else message)  # a traceback: its last line
        elif message.startswith("Writing ") and message.endswith(".html") and self.progress:
            self.progress.step(f"{Path(message.rsplit(' to ', 1)[1]).parent.parent.name}/{self.assignment}")
