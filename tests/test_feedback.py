"""autograder.feedback: what a learner's feedback page may show (hidden tests out, their messages in)."""

import nbformat

from autograder.feedback import HideHiddenTests, strip_hidden

CELL = '''"""one_hot works for any shape."""
check_outputs(example, out=one_hot(**example.inputs))
### BEGIN HIDDEN TESTS
ids = np.array([[[1, 2]]])
check_shape("one_hot of 3-D ids", one_hot(ids, 4), (1, 1, 2, 4))
### END HIDDEN TESTS
print("done")'''


def test_strip_hidden_keeps_the_public_lines_and_counts_the_hidden_ones():
    public, hidden = strip_hidden(CELL)
    assert hidden == 2
    assert public.splitlines() == [*CELL.splitlines()[:2], "# ... 2 hidden test lines ran here (not shown; a failure's "
                                   "message is, below)", 'print("done")']


def test_an_unclosed_hidden_block_hides_everything_after_it():
    public, hidden = strip_hidden("a = 1\n### BEGIN HIDDEN TESTS\nsecret()\nmore()")
    assert hidden == 2 and "secret" not in public and "more" not in public and public.startswith("a = 1\n")


def _run(cell):
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests()(nb, {})  # as nbconvert calls it: a disabled preprocessor would do nothing
    return nb.cells[0]


def _error(traceback, ename="NameError", evalue="name 'one_hot' is not defined"):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def test_a_traceback_quoting_hidden_lines_becomes_its_message():
    frames = ["\x1b[0;31m----------\x1b[0m", "\x1b[0;31mNameError\x1b[0m  Traceback (most recent call last)",
              "Cell In[3], line 5\n----> 5 check_shape(\"one_hot of 3-D ids\", one_hot(ids, 4), (1, 1, 2, 4))"]
    cell = _run(nbformat.v4.new_code_cell(CELL, outputs=[_error(frames)]))
    assert "ids = np.array" not in cell.source
    assert cell.outputs[0].traceback == ["\x1b[0;31mNameError\x1b[0m: name 'one_hot' is not defined"]


def test_rnnlabs_rendered_message_stays_whole():
    rendered = ["\x1b[1;31mTest failed:\x1b[0m one_hot of 3-D ids has shape (2, 4), not (1, 1, 2, 4)", "Hint: reshape"]
    cell = _run(nbformat.v4.new_code_cell(CELL, outputs=[_error(rendered, "CheckFailed", "one_hot ...")]))
    assert cell.outputs[0].traceback == rendered


def test_a_public_only_cell_is_shown_as_it_is():
    frames = ["\x1b[0;31mNameError\x1b[0m  Traceback (most recent call last)", "----> 1 one_hot(ids, 4)"]
    cell = _run(nbformat.v4.new_code_cell("one_hot(ids, 4)", outputs=[_error(frames)]))
    assert cell.source == "one_hot(ids, 4)" and cell.outputs[0].traceback == frames
