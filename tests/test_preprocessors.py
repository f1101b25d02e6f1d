"""The grader's own steps (autograder/preprocessors.py), each on a small notebook, without a kernel."""

import nbformat
from nbgrader.converters import Autograde
from traitlets.config import Config

from autograder import preprocessors, recheck
from autograder.preprocessors import NOT_RUN, CapOutputs, Grading, MarkUnrunCells, Recheck, graded_test_cells
from autograder.submissions import GRADED, Outcome, Status


def _test_cell(grade_id, outputs=(), **meta):
    nbgrader = {"grade": True, "grade_id": grade_id, "points": 1, "solution": False, "locked": True, **meta}
    return nbformat.v4.new_code_cell("check()", metadata={"nbgrader": nbgrader}, outputs=list(outputs))


def test_the_steps_keep_nbgraders_own_in_nbgraders_order():
    """Between running and recording, nbgrader's autograde steps run in its order, after ours that need the kernel."""
    ours = Grading().preprocessors
    theirs = Autograde.class_traits()["autograde_preprocessors"].default()
    shared = [step for step in theirs if any(issubclass(mine, step) for mine in ours)]
    assert [step.__name__ for step in shared] == ["Execute", "IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput"]
    assert [next(step for step in shared if issubclass(mine, step)) for mine in ours
            if any(issubclass(mine, step) for step in shared)] == shared
    assert ours.index(preprocessors.RunSandboxed) < ours.index(MarkUnrunCells) < ours.index(Recheck)


def test_a_cell_that_never_ran_gets_an_error_saying_why():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", execution_count=1),
        _test_cell("f_values"),
        nbformat.v4.new_code_cell("   "),  # an empty cell has nothing to score
    ])
    MarkUnrunCells()(nb, {"grading": {"status": Status(Outcome.TIMEOUT)}})
    assert nb.cells[0].outputs == []
    error, = nb.cells[1].outputs
    assert error.ename == NOT_RUN and "timeout" in error.evalue
    assert nb.cells[2].outputs == []


def test_huge_outputs_are_cut_to_the_configured_size():
    config = Config()
    config.CapOutputs.max_chars = 50
    stream = nbformat.v4.new_output("stream", name="stdout", text="x" * 500)
    image = nbformat.v4.new_output("display_data", data={"image/png": "A" * 500, "text/plain": "<Figure>"})
    small = nbformat.v4.new_output("stream", name="stdout", text="ok\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=[stream, image, small])])
    CapOutputs(config=config)(nb, {})
    stream, image, small = nb.cells[0].outputs
    assert stream.text.startswith("x" * 50) and "500 characters in all" in stream.text and len(stream.text) < 120
    assert "image/png" not in image.data and "500 characters removed" in image.data["text/plain"]
    assert small.text == "ok\n"


def test_only_autograded_test_cells_are_rechecked():
    answer = nbformat.v4.new_code_cell("def f(): ...", metadata={"nbgrader": {
        "grade": True, "solution": True, "grade_id": "f", "points": 1, "locked": False}})
    nb = nbformat.v4.new_notebook(cells=[answer, _test_cell("f_values"), nbformat.v4.new_code_cell("f()")])
    assert list(graded_test_cells(nb)) == ["f_values"]


def test_a_cell_nbgrader_scores_zero_keeps_its_output_unjudged():
    """A test cell that failed (an error, or anything on stderr, as nbgrader counts it) is not re-checked."""
    failed = _test_cell("f_values", [nbformat.v4.new_output("stream", name="stderr", text="warning")])
    passed = _test_cell("f_shapes")
    nb = nbformat.v4.new_notebook(cells=[failed, passed])
    tasks = {grade_id: [recheck.Task(f"t{n}", recheck.Probe("values", "f on new inputs", None, function="f"), {})]
             for n, grade_id in enumerate(("f_values", "f_shapes"))}
    sent = preprocessors.SentProbe("", tasks, "/nonexistent.npz", None)
    Recheck()(nb, {"metadata": {"path": "/"}, "grading": {"probe": sent, "status": GRADED}})
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream"]
    withheld, = nb.cells[1].outputs  # no answer came back: the points of the passed cell are withheld
    assert withheld.ename == "PointsWithheld" and "could not call your functions" in withheld.evalue
