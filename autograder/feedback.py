"""
What a learner's feedback page may show: nbgrader's feedback with the hidden tests taken out.

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test cells hold their
hidden tests again (autograde puts the instructor's version of every test cell back; nbgrader
issue #917). :class:`HideHiddenTests` runs before the page is written, in every feedback nbgrader
makes from ``autograder/`` (``nbgrader_config.py`` puts it in ``GenerateFeedback.preprocessors``):

- a test cell keeps its public part; its hidden part becomes one comment line saying how many
  hidden lines there were;
- a failure in such a cell keeps its message (what was expected, what came, the hint), which is
  what the learner needs; a traceback, whose frames would quote the hidden lines, becomes the
  error's name and message alone.

Public tests, and failures in cells without hidden tests, are shown as they are.
"""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

# rnnlab's checks render their message alone (CheckFailed._render_traceback_): such a traceback is kept
RENDERED_BY_RNNLAB = ("\x1b[1;31mTest failed:", "\x1b[1;31mNot yet:")


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


def generate(assignments, root, progress=None):
    """
    nbgrader's ``generate_feedback`` for each assignment (from autograder/, so with this module's
    preprocessor), one notebook at a time on ``progress`` (autograder.progress). Returns the
    problems nbgrader logged, one line each.
    """
    import subprocess
    import sys
    from pathlib import Path

    from autograder.course import AUTOGRADER, nbgrader_env

    problems = []
    for assignment in assignments:
        pending = len(list((Path(root) / "autograder" / "autograded").glob(f"*/{assignment}/*.ipynb")))
        if progress:
            progress.add(pending)
            progress.stage(f"feedback for {assignment}")
        command = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force"]
        with subprocess.Popen(command, cwd=AUTOGRADER, env=nbgrader_env(), stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True) as run:
            for line in run.stderr:
                if "| INFO] Writing" in line and line.rstrip().endswith(".html"):
                    page = Path(line.rstrip().rsplit(" to ", 1)[1])
                    if progress:
                        progress.step(f"{page.parent.parent.name}/{assignment}")
                elif "| ERROR]" in line or "| CRITICAL]" in line:
                    problems.append(f"{assignment}: {line.split(']', 1)[1].strip()}")
        if run.returncode and not problems:
            problems.append(f"{assignment}: nbgrader generate_feedback failed (exit {run.returncode})")
    return problems
