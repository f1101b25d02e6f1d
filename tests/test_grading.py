"""`python -m autograder grade`: nbgrader's pipeline run in parallel, sandboxed kernels.

A small class of real submissions of 00_setup, honest and hostile, graded twice:
by plain `nbgrader autograde` and by our grader, each into its own gradebook.
"""

import json
import shutil

import pytest
from conftest import COURSE, SOLUTIONS, nbgrader_meta, read_notebook
from nbgrader.api import Gradebook

from autograder import course, sandbox
from autograder import grade as grading
from autograder.course import run_nbgrader
from autograder.execute import execute_notebook
from autograder.submissions import GRADED, Outcome
from autograder.worker import Worker

ASSIGNMENT = "00_setup"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
pytestmark = pytest.mark.usefixtures("sandboxed")


def _solved_with(code_before_one_hot):
    """The reference solution with extra code run in the one_hot cell, before its definition."""
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "one_hot":
            cell["source"] = code_before_one_hot + "\n" + "".join(cell["source"])
    return json.dumps(nb)


def _cell_after(grade_id, code):
    """The reference solution with a cell of the learner's own, ``code``, after cell ``grade_id``."""
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    index = next(i for i, cell in enumerate(nb["cells"]) if nbgrader_meta(cell).get("grade_id") == grade_id)
    nb["cells"].insert(index + 1, {"cell_type": "code", "execution_count": None, "id": "mine", "metadata": {},
                                   "outputs": [], "source": code})
    return json.dumps(nb)


def _without_cell(grade_id):
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    nb["cells"] = [cell for cell in nb["cells"] if nbgrader_meta(cell).get("grade_id") != grade_id]
    return json.dumps(nb)


def _release_with_tests_replaced(code):
    nb = read_notebook(COURSE / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade") and cell["cell_type"] == "code":
            cell["source"] = code
    return json.dumps(nb)


def _edited(edit):
    """The reference solution with ``edit(cell, nbgrader_metadata)`` applied to every cell."""
    nb = read_notebook(SOLUTIONS / ASSIGNMENT / NOTEBOOK)
    for cell in nb["cells"]:
        edit(cell, nbgrader_meta(cell))
    return json.dumps(nb)


WRONG = {  # wrong answers, each of the right type and shape
    "mean_baseline_mse": "def mean_baseline_mse(y):\n    return 0.0\n",
    "one_hot": "def one_hot(ids, V):\n    return np.zeros(np.shape(ids) + (V,))\n",
}


def _cheat(trick, mean_baseline_mse=WRONG["mean_baseline_mse"]):
    """Wrong functions, and ``trick`` run first, in the first solution cell, to make the tests pass anyway."""
    def edit(cell, meta):
        if meta.get("grade_id") == "mean_baseline_mse":
            cell["source"] = trick + "\n" + mean_baseline_mse
        elif meta.get("grade_id") == "one_hot":
            cell["source"] = WRONG["one_hot"]
    return _edited(edit)


def _metadata(cell_id, **changes):
    """The reference solution, with one_hot wrong and ``changes`` made to the nbgrader metadata of cell ``cell_id``."""
    def edit(cell, meta):
        if meta.get("grade_id") == "one_hot":
            cell["source"] = WRONG["one_hot"]
        if meta.get("grade_id") == cell_id:
            meta.update(changes)
            if meta.get("grade") is False or "grade_id" in changes:
                cell["source"] = "pass  # passed, promise"
    return _edited(edit)


ALWAYS_CLOSE = """
class AlwaysClose(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    def __rsub__(self, other): return 0.0
    def __lt__(self, other): return True
    def __format__(self, spec): return "0.1667"
"""
# hide every failing test: no traceback output, and an "ok" execute reply (nbgrader reads both)
SWALLOW_ERRORS = """
import inspect, sys
sys.excepthook = lambda *args: None
get_ipython().showtraceback = lambda *args, **kwargs: None
_kernel = get_ipython().kernel
_run = _kernel.do_execute
async def _always_ok(*args, **kwargs):
    reply = _run(*args, **kwargs)
    if inspect.isawaitable(reply):
        reply = await reply
    return {**reply, "status": "ok"}
_kernel.do_execute = _always_ok
"""
# Each trick makes plain nbgrader give points for wrong functions (test_cheats_fool_plain_nbgrader_...)
CHEATS = {
    "rebinds_checks": _cheat("check_close = check_shape = lambda *args, **kwargs: None\n"
                             "import builtins\nbuiltins.abs = lambda value: 0.0"),
    "patches_numpy": _cheat("np.all = lambda *args, **kwargs: True\nnp.testing.assert_allclose = lambda *a, **k: None"),
    "patches_rnnlab": _cheat("import rnnlab.testing\nrnnlab.testing.close = lambda *args: True"),
    "always_close": _cheat(ALWAYS_CLOSE, "def mean_baseline_mse(y):\n    return AlwaysClose(0.0)\n"),
    "swallows_errors": _cheat(SWALLOW_ERRORS),
}
# only one_hot_shape is earned: the wrong one_hot still has the right shape
CHEAT_SCORES = {"mean_baseline_mse_example": 0, "mean_baseline_mse_adding": 0, "one_hot_shape": 1, "one_hot_values": 0}

PROBE = """
import os, socket
facts = {"uid": os.getuid(), "repo": os.path.exists(%r)}
try:
    socket.create_connection(("127.0.0.1", 1), timeout=1)
except OSError as error:
    facts["network"] = type(error).__name__
print("FACTS", facts)
""" % str(SOLUTIONS)

HONEST = {
    "alice": lambda: (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text(),
    "bob": lambda: (COURSE / ASSIGNMENT / NOTEBOOK).read_text(),
}
HOSTILE = {
    "exits": lambda: _solved_with("import os\nos._exit(1)"),
    "loops": lambda: _solved_with("while True:\n    pass"),
    # a scratch cell of the learner's that never ends: interrupted, and the tests after it still run
    "dawdles": lambda: _cell_after("one_hot", "while True:\n    pass"),
    # ... unless it ignores the interrupt too: then the notebook stops there
    "stubborn": lambda: _cell_after("one_hot", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                               "while True:\n    pass"),
    "syntax": lambda: _solved_with("def broken(:"),
    "memory": lambda: _solved_with("hog = bytearray(50 * 1024**3)"),
    "forks": lambda: _solved_with("import os\nfor _ in range(10000):\n    if os.fork() == 0:\n        import time; time.sleep(30); os._exit(0)"),
    "probe": lambda: _solved_with(PROBE),
    "loud": lambda: _solved_with("print('x' * 100_000_000)"),
    "deleted": lambda: _without_cell("one_hot_values"),
    "edited": lambda: _release_with_tests_replaced("pass"),
    "json": lambda: "{not a notebook",
    "empty": lambda: "",
    "image": lambda: _solved_with("from IPython.display import Image, display\n"
                                  "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + bytes(20 * 1024**2), format='png'))"),
    # nbgrader metadata edited: plain nbgrader cannot grade these notebooks at all
    "ungraded": lambda: _metadata("one_hot_values", grade=False),
    "renamed": lambda: _metadata("one_hot_values", grade_id="one_hot_values_mine"),
    "points": lambda: _metadata("mean_baseline_mse", grade=True, points=100),
    "other": lambda: (SOLUTIONS / "01_rnn" / "01_rnn.ipynb").read_text(),
    **{name: (lambda text=text: text) for name, text in CHEATS.items()},
}


def _course(root, students):
    """A course in ``root`` with 00_setup released and ``students`` ({name: notebook text function}) submitted."""
    db = f"sqlite:///{root / 'gradebook.db'}"
    options = [f"--CourseDirectory.root={root}", f"--CourseDirectory.source_directory={SOLUTIONS}",
               f"--CourseDirectory.db_url={db}"]
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", *options)
    for student, text in students.items():
        folder = root / "autograder" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(text() if callable(text) else text)
    return db, options


def _scores(db, students):
    with Gradebook(db) as gradebook:
        return {s: {g.name: g.score for g in gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades}
                for s in students}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grader")
    students = {**HONEST, **HOSTILE}
    db, _ = _course(root, students)
    config = course.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db,
                                    "CourseDirectory.source_directory": str(SOLUTIONS)})
    results = {r.student: r for r in grading.grade([ASSIGNMENT], workers=2, timeout=10, config=config, progress=None)}
    return root, db, results


def test_honest_scores_equal_plain_nbgrader(graded, tmp_path):
    _, db, _ = graded
    plain_db, options = _course(tmp_path, HONEST)
    run_nbgrader("autograde", ASSIGNMENT, "--force", *options)
    assert _scores(db, HONEST) == _scores(plain_db, HONEST)
    assert sum(_scores(db, ["alice"])["alice"].values()) == 5


def test_a_cell_over_its_time_is_interrupted_and_the_notebook_goes_on(graded):
    _, db, results = graded
    assert results["dawdles"].status.outcome is Outcome.TIMEOUT and results["stubborn"].status.outcome is Outcome.TIMEOUT
    assert sum(_scores(db, ["dawdles"])["dawdles"].values()) == 5
    assert _scores(db, ["stubborn"])["stubborn"] == {"mean_baseline_mse_example": 1, "mean_baseline_mse_adding": 1,
                                                     "one_hot_shape": 0, "one_hot_values": 0}


@pytest.mark.parametrize(("student", "outcome"), [("exits", Outcome.KERNEL_DIED), ("loops", Outcome.TIMEOUT),
                                                  ("memory", Outcome.GRADED), ("syntax", Outcome.GRADED),
                                                  ("forks", Outcome.GRADED)])
def test_a_broken_submission_keeps_the_points_before_it_and_nothing_after(graded, student, outcome):
    _, db, results = graded
    scores = _scores(db, [student])[student]
    assert results[student].status.outcome is outcome
    # mean_baseline_mse comes before the broken cell and is right; one_hot's cells never get points
    assert scores["mean_baseline_mse_example"] == 1 and scores["mean_baseline_mse_adding"] == 1
    assert scores["one_hot_shape"] == 0 and scores["one_hot_values"] == 0


@pytest.mark.parametrize("student", ["json", "empty"])
def test_an_unreadable_file_is_reported_and_the_batch_goes_on(graded, student):
    _, _, results = graded
    assert results[student].status.outcome is Outcome.UNREADABLE and results[student].score == 0
    assert results[student].problem.startswith("unreadable: ")  # the summary's words
    assert results["alice"].score == 5


def test_the_kernel_runs_unprivileged_without_network_or_course_files(graded):
    root, _, _ = graded
    nb = read_notebook(root / "autograder" / "autograded" / "probe" / ASSIGNMENT / NOTEBOOK)
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    facts = eval(printed.split("FACTS ", 1)[1].splitlines()[0])  # noqa: S307 - our own probe's dict
    assert facts["uid"] >= sandbox.FIRST_UID and facts["repo"] is False
    assert facts["network"] in ("ConnectionRefusedError", "OSError")


def test_summary_names_the_problems(graded):
    _, _, results = graded
    table = grading.summary(list(results.values()))
    lines = {line.split(":")[0].strip(): line for line in table.splitlines()}
    assert "exits/00_setup" in lines["kernel died"] and "loops/00_setup" in lines["timeout"]
    assert shutil.which("bwrap")


def test_command_line_lists_the_instructor_commands():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True, check=True)
    assert all(command in result.stdout for command in ("release", "grade", "feedback"))


def test_deleted_or_edited_test_cells_are_restored_from_the_gradebook(graded):
    _, db, _ = graded
    scores = _scores(db, ["deleted", "edited"])
    assert sum(scores["deleted"].values()) == 5  # the deleted test was put back and run on correct functions
    assert sum(scores["edited"].values()) == 0  # the release's stubs, with its tests replaced by `pass`


@pytest.mark.parametrize(("student", "note"), [("ungraded", "'one_hot_values' had its grade changed"),
                                               ("renamed", "'one_hot_values_mine' is not one of"),
                                               ("points", "'mean_baseline_mse' had its grade changed"),
                                               ("other", "is it another assignment's?")])
def test_edited_metadata_is_restored_and_graded(graded, student, note):
    _, db, results = graded
    scores = _scores(db, [student])[student]
    assert any(note in n for n in results[student].notes), results[student].notes
    if student == "other":
        assert sum(scores.values()) == 0 and not results[student].problem
    else:  # one_hot is wrong in these: its restored test fails
        assert scores == {"mean_baseline_mse_example": 1, "mean_baseline_mse_adding": 1, "one_hot_shape": 1,
                          "one_hot_values": 0}


@pytest.mark.parametrize("student", sorted(CHEATS))
def test_a_cheat_earns_only_the_points_its_functions_earn(graded, student):
    root, db, _ = graded
    assert _scores(db, [student])[student] == CHEAT_SCORES
    nb = read_notebook(root / "autograder" / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    said = json.dumps(nb)
    assert "PointsWithheld" in said or "CheckFailed" in said


def test_cheats_fool_plain_nbgrader_so_the_corpus_is_real(tmp_path):
    plain_db, options = _course(tmp_path, CHEATS)
    run_nbgrader("autograde", ASSIGNMENT, "--force", *options)
    for student, scores in _scores(plain_db, list(CHEATS)).items():
        fooled = {cell for cell, score in scores.items() if score > CHEAT_SCORES[cell]}
        assert fooled, f"{student}: plain nbgrader is not fooled, so the cheat tests nothing"


def test_a_20_mb_image_is_removed_and_graded(graded):
    root, db, _ = graded
    assert sum(_scores(db, ["image"])["image"].values()) == 5
    assert (root / "autograder" / "autograded" / "image" / ASSIGNMENT / NOTEBOOK).stat().st_size < 2_000_000


def test_huge_output_is_cut_and_graded(graded):
    root, db, _ = graded
    assert sum(_scores(db, ["loud"])["loud"].values()) == 5
    assert (root / "autograder" / "autograded" / "loud" / ASSIGNMENT / NOTEBOOK).stat().st_size < 2_000_000


def test_export_has_a_row_per_learner_and_a_column_per_notebook_and_cell(graded, tmp_path):
    import csv

    from autograder.export import export_csv

    root, db, results = graded
    coursedir = course.coursedir(course.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db}))
    assert export_csv(tmp_path / "grades.csv", coursedir) == len(results)
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows["(max points)"]["00_setup"]) == 5 and float(rows["(max points)"]["total"]) == 5
    assert float(rows["alice"]["00_setup"]) == 5 and float(rows["alice"]["total"]) == 5
    assert float(rows["renamed"]["00_setup:one_hot_values"]) == 0
    assert float(rows["renamed"]["00_setup:one_hot_shape"]) == 1


def test_collect_takes_nbgrader_folders_and_lms_flat_files_from_a_zip(tmp_path):
    import zipfile

    from autograder.collect import collect

    root = tmp_path / "course"
    root.mkdir()
    db, _ = _course(root, {})
    archive = tmp_path / "download.zip"
    good = (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"carol/{ASSIGNMENT}/{NOTEBOOK}", good)
        handle.writestr(f"dan.smith_{NOTEBOOK}", good)
        handle.writestr(f"erin_{NOTEBOOK}", "{broken")
        handle.writestr("notes.txt", "hello")
        handle.writestr(f"bad name!_{NOTEBOOK}", good)
        handle.writestr("frank_other_assignment.ipynb", good)
    config = course.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db})
    collected, problems = collect(archive, course.coursedir(config), db, {ASSIGNMENT: ASSIGNMENT})
    assert sorted(collected) == [f"{s}/{ASSIGNMENT}/{NOTEBOOK}" for s in ("carol", "dan.smith", "erin")]
    assert any("erin" in p and "not a readable notebook" in p for p in problems)
    assert sum("skipped" in p for p in problems) == 3
    with Gradebook(db) as gradebook:
        assert {s.id for s in gradebook.students} == {"carol", "dan.smith", "erin"}


def test_collect_reads_names_in_any_alphabet_and_non_utf8_names(tmp_path):
    import os
    import zipfile

    from autograder.collect import collect

    root = tmp_path / "course"
    root.mkdir()
    db, _ = _course(root, {})
    good = (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text()
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / f"renée_{NOTEBOOK}").write_text(good)  # UTF-8
    with open(os.path.join(os.fsencode(folder), f"jos\xe9_{NOTEBOOK}".encode("latin-1")), "w") as handle:
        handle.write(good)  # Latin-1 bytes: not UTF-8
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"XXXXXX_{NOTEBOOK}", good)
    # UTF-8 bytes without the zip's UTF-8 flag, as old tools write them
    archive.write_bytes(archive.read_bytes().replace(b"XXXXXX", "李雷".encode()))
    config = course.load_config(**{"CourseDirectory.root": str(root), "CourseDirectory.db_url": db})
    coursedir = course.coursedir(config)
    collected, problems = collect(folder, coursedir, db, {ASSIGNMENT: ASSIGNMENT})
    more, _ = collect(archive, coursedir, db, {ASSIGNMENT: ASSIGNMENT})
    assert sorted(collected + more) == sorted(f"{s}/{ASSIGNMENT}/{NOTEBOOK}" for s in ("renée", "josé", "李雷"))
    assert problems == [f"josé_{NOTEBOOK}: its name is not UTF-8, read as latin-1"]
    print(*problems)  # what the command prints must not fail on the terminal either
    with Gradebook(db) as gradebook:
        assert {s.id for s in gradebook.students} == {"renée", "josé", "李雷"}


def test_every_solution_gets_full_marks_through_the_recheck(tmp_path):
    """The re-check (autograder.recheck) runs in the sandboxed kernel of every assignment and takes nothing."""
    from autograder.course import assignments

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    names = assignments()
    for assignment in names:
        run_nbgrader("generate_assignment", assignment, "--force", f"--CourseDirectory.root={tmp_path}",
                     f"--CourseDirectory.source_directory={SOLUTIONS}", f"--CourseDirectory.db_url={db}")
        folder = tmp_path / "autograder" / "submitted" / "alice" / assignment
        folder.mkdir(parents=True)
        shutil.copy(SOLUTIONS / assignment / f"{assignment}.ipynb", folder)
    # 05 reads the learner's own earlier notebooks: erin left 03 untouched, frank submitted only 05
    erin = {"01_rnn": SOLUTIONS, "02_vanishing_gradients": SOLUTIONS, "03_lstm": COURSE, "04_gru": SOLUTIONS}
    for student, assignments_submitted in {"erin": {**erin, "05_training": SOLUTIONS},
                                           "frank": {"05_training": SOLUTIONS}}.items():
        for assignment, origin in assignments_submitted.items():
            folder = tmp_path / "autograder" / "submitted" / student / assignment
            folder.mkdir(parents=True)
            shutil.copy(origin / assignment / f"{assignment}.ipynb", folder)
    config = course.load_config(**{"CourseDirectory.root": str(tmp_path), "CourseDirectory.db_url": db,
                                    "CourseDirectory.source_directory": str(SOLUTIONS)})
    # the course's cell timeout (120 s): 05's, 07's and 08's training cells take 20-40 s each, more on a busy machine
    results = grading.grade(names, workers=2, timeout=120, config=config, progress=None)
    with Gradebook(db) as gradebook:
        autograded = {r.assignment: sum(c.max_score for c in gradebook.find_notebook(r.notebook, r.assignment).grade_cells
                                        if c.cell_type == "code") for r in results}
    assert {r.assignment: r.score for r in results if r.student == "alice"} == autograded
    assert not any(r.problem for r in results)
    assert {r.assignment for r in results if r.student == "erin"} == {*erin, "05_training"}

    # without a finished 03 (erin) or any earlier notebook (frank), only the cells that need them lose their points,
    # each saying which earlier function to finish; 05's own functions keep theirs
    training = next(r for r in results if r.student == "alice" and r.assignment == "05_training")
    experiments = {"adding_problem_remembered", "names_beat_the_bigram", "forecast_beats_persistence"}
    for student, said in [("erin", "notebook 03's lstm_forward, which is not written and saved yet"),
                          ("frank", "notebook 01's rnn_forward, which is in ../01_rnn/01_rnn.ipynb, but that file is not there")]:
        result = next(r for r in results if r.student == student and r.assignment == "05_training")
        lost = {cell for cell, score in result.cells.items() if score != training.cells[cell]}
        # frank has no 02 either: train uses the learner's own clip_gradients from 02
        assert lost == (experiments | {"train_example"} if student == "frank" else experiments)
        nb = read_notebook(tmp_path / "autograder" / "autograded" / student / "05_training" / "05_training.ipynb")
        printed = "".join("".join(o["text"]) for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout")
        assert f"This cell needs {said}" in printed


# One learner's kernel leaves everything it can behind; the next kernel of the same slot (forked by the same
# warm server, autograder.forkserver) must find none of it.
LEAVE_BEHIND = r'''
import ctypes, os, subprocess, sys
import numpy as np
left = {}
for place in (os.path.expanduser("~/left-behind.txt"), "left-in-cwd.txt", "/tmp/left.txt", "/dev/shm/left.txt",
              os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), "left-in-slot.txt")):
    try:
        with open(place, "w") as handle:
            handle.write("A")
        left[place] = True
    except OSError:
        left[place] = False
os.environ["LEFT_BEHIND"] = "A"
np.mean = lambda *args, **kwargs: 42.0
sys.modules["left_behind"] = sys
daemon = subprocess.Popen(["sleep", "600"], start_new_session=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
shm = ctypes.CDLL(None).shmget(0x5EC2E7, 4096, 0o1666)
print("FACTS", {"left": left, "shm": shm, "random": float(np.random.rand()), "job": os.path.dirname(os.getcwd())})
'''
LOOK_AROUND = r'''
import ctypes, os, sys
import numpy as np
job = os.path.dirname(os.getcwd())
slot = os.path.dirname(job)
sleepers = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read():
            sleepers.append(pid)
    except OSError:
        pass
print("FACTS", {
    "files": [p for p in (os.path.expanduser("~/left-behind.txt"), "left-in-cwd.txt", "/tmp/left.txt",
                          "/dev/shm/left.txt", os.path.join(slot, "left-in-slot.txt")) if os.path.exists(p)],
    "other_jobs": [name for name in os.listdir(slot) if name.startswith("job-") and name != os.path.basename(job)],
    "env": "LEFT_BEHIND" in os.environ, "numpy_mean": float(np.mean([1.0, 3.0])),
    "module": "left_behind" in sys.modules, "sleepers": sleepers, "shm": ctypes.CDLL(None).shmget(0x5EC2E7, 0, 0),
    "random": float(np.random.rand()), "uid": os.getuid(),
    "parent": open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\0"),
})
'''


def _facts_of(tmp_path, name, code):
    """Run a one-cell notebook as the grader runs a submission (slot 0); the dict its cell printed."""
    import nbformat

    folder = tmp_path / name / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / NOTEBOOK)
    server = Worker(0).server()  # as a grading worker of slot 0 runs it: a kernel forked by the slot's warm server
    try:
        assert execute_notebook(str(folder / NOTEBOOK), str(folder), 30, 0, server).status == GRADED
    finally:
        if server:
            server.close()
    nb = read_notebook(folder / NOTEBOOK)
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    return eval(printed.split("FACTS ", 1)[1].splitlines()[0])  # noqa: S307 - our own cell's dict


def test_nothing_passes_from_one_learners_kernel_to_the_next(tmp_path):
    before = _facts_of(tmp_path, "a", LEAVE_BEHIND)
    assert before["shm"] >= 0  # the segment was made: there was something to leave behind
    after = _facts_of(tmp_path, "b", LOOK_AROUND)
    assert after["files"] == [] and after["other_jobs"] == []
    assert not after["env"] and after["numpy_mean"] == 2.0 and not after["module"]
    assert after["sleepers"] == [] and after["shm"] == -1
    assert after["random"] != before["random"] and after["uid"] >= sandbox.FIRST_UID
    # and it was a warm kernel: forked by the slot's server, not started from scratch
    assert any(part.endswith(b"forkserver.py") for part in after["parent"])
    # a learner can write only in their own job folder
    assert [place for place, written in before["left"].items() if written] == [
        place for place in before["left"] if place.endswith(("left-behind.txt", "left-in-cwd.txt"))]
