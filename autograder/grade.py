"""Autograde collected submissions: nbgrader's own pipeline, one learner at a time in each of a pool of
sandboxed workers (:mod:`autograder.worker`), or a Dask cluster's. This process plans, hands the
learners out, gathers the results and saves what was graded from what (:mod:`autograder.submissions`);
it never sets the pace however many workers run. Honest submissions get the same scores as plain
``nbgrader autograde``.
"""

import concurrent.futures
import contextlib
import os
import time
from pathlib import Path

from autograder import course, execute, prepare, worker
from autograder.record import Recorder, share_sqlite, with_retries
from autograder.submissions import State, fingerprint, submitted_notebooks
from autograder.worker import Result


def grade(assignments, workers=None, timeout=None, config=None, progress=None, scheduler=None, timings=None,
          students=None, changed_only=False, pool=None):
    """
    Autograde every collected submission of ``assignments`` (of ``students``, if given); return a list of
    :class:`autograder.worker.Result`. With ``changed_only``, a learner's assignment is graded again only
    when something it depends on changed since its last grade (the submission, its timestamp, the source
    notebook and its files, the earlier submissions it reads); the others keep their grades and come back
    with ``unchanged`` set. The notebooks run in a local pool of ``workers`` processes, or on a Dask
    cluster (``scheduler``: its address, or "local"), or in ``pool``, a :func:`autograder.worker.pool` already
    started (the hub's grading service starts it before the submission comes). ``progress``
    (autograder.progress.Progress) counts the notebooks as they are recorded; ``timings`` gets ``main``, the CPU
    seconds this process spent.
    """
    main_start = time.process_time()
    config = config or course.load_config()
    coursedir = course.coursedir(config)
    timeout = timeout or course.cell_timeout(config)
    state = State(coursedir)
    todo = _plan(coursedir, assignments, students)
    fingerprints = {key: _graded_from(coursedir, *key, notebooks) for key, notebooks in todo.items()}
    kept = [key for key in todo if changed_only and state.graded_from(key[1], key[0]) == fingerprints[key]]
    results = {}
    with contextlib.ExitStack() as stack:
        stack.callback(state.save)  # once, at the end: what was graded before a crash is graded again next time
        recorder = stack.enter_context(contextlib.closing(Recorder(config)))
        for assignment, student in kept:
            for notebook in todo.pop((assignment, student)):
                result = Result(student, assignment, notebook, state.status(student, assignment, notebook),
                                unchanged=True)
                recorder.look_up(result)  # what the gradebook holds from the last grade
                results[student, assignment, notebook] = result
        if todo:
            for result in _hand_out(coursedir, config, assignments, todo, workers or os.cpu_count() or 1, timeout,
                                    scheduler, progress, recorder, pool):
                results[result.student, result.assignment, result.notebook] = result
                if result.status.outcome.final:  # the grader's own failure is tried again next time
                    counted = max(result.score - result.late_penalty, 0.0) if result.status.outcome.scored else None
                    state.graded(result.student, result.assignment, result.notebook, result.status,
                                 fingerprints[result.assignment, result.student], counted)
    if timings is not None:
        timings["main"] = time.process_time() - main_start
    return list(results.values())


def _plan(coursedir, assignments, students):
    """{(assignment, student): [notebook]} of the collected submissions to grade."""
    todo = {}
    for student, assignment, notebook in submitted_notebooks(coursedir, assignments):
        if students is None or student in students:
            todo.setdefault((assignment, student), []).append(notebook)
    return todo


def _graded_from(coursedir, assignment, student, notebooks):
    """A fingerprint of everything the learner's grade of ``assignment`` depends on."""
    root = Path(coursedir.root)
    submitted = root / coursedir.submitted_directory / student / assignment
    source = root / coursedir.source_directory / assignment
    files = sorted(p for p in submitted.iterdir() if p.is_file()) + sorted(p for p in source.iterdir() if p.is_file())
    for notebook in notebooks:
        for others in execute.earlier_files(coursedir, student, source / f"{notebook}.ipynb").values():
            files += [Path(file) for file in others]
    return fingerprint(files, root)


def _hand_out(coursedir, config, assignments, todo, workers, timeout, scheduler, progress, recorder, started=None):
    """Grade ``todo`` ({(assignment, student): [notebook]}) in the workers (``started``: a pool already running),
    a learner each; yield the results as they come back."""
    if progress:
        progress.add(sum(len(notebooks) for notebooks in todo.values()))
        progress.stage(f"starting {workers} sandboxed workers")
    with contextlib.nullcontext(started) if started else worker.pool(workers, scheduler) as pool:
        sources = [str(path) for assignment in assignments
                   for path in sorted((Path(coursedir.root) / coursedir.source_directory / assignment).glob("*.ipynb"))]
        for _ in range(workers):  # the workers start their warm servers and load the reference solutions meanwhile
            pool.submit(worker.warm, sources)
        share_sqlite(coursedir.db_url)
        _add_learners(coursedir, {student for _, student in todo})
        futures = {}
        for assignment in assignments:
            learners = sorted((student, notebooks) for (other, student), notebooks in todo.items() if other == assignment)
            if learners:
                if progress:
                    progress.stage(f"preparing {assignment}")
                prepare.ensure_in_gradebook(coursedir, assignment)
            for student, notebooks in learners:
                future = pool.submit(worker.grade_learner, student, assignment, notebooks, config, timeout)
                futures[future] = (student, assignment, notebooks)
        if progress:
            progress.stage("grading")
        for future in concurrent.futures.as_completed(futures):
            try:
                graded = future.result()
            except Exception as error:  # noqa: BLE001 - a broken worker loses this learner's run only
                graded = _worker_failed(coursedir, recorder, *futures[future], error)
            for result in graded:
                if progress:
                    status = f"  ({result.problem})" if result.status else ""
                    status += "".join(f"\n    note: {note}" for note in result.notes)
                    progress.step(f"{result.student}/{result.assignment}: {result.score:g}/{result.max_score:g}{status}",
                                  failed=bool(result.status))
                yield result


def _add_learners(coursedir, students):
    """Every learner in the gradebook before the workers start: two of them must not both add the same one."""
    from nbgrader.api import Gradebook

    with Gradebook(coursedir.db_url) as gradebook:
        known = {student.id for student in gradebook.students}
        for student in sorted(set(students) - known):
            gradebook.update_or_create_student(student)


def _worker_failed(coursedir, recorder, student, assignment, notebooks, error):
    """The results of a learner whose worker failed: a grader error each, recorded (with the workers' retries)
    so that the notebooks nbgrader had prepared score nothing instead of keeping an older grade."""
    results = [Result(student, assignment, notebook, worker.grader_error(error)) for notebook in notebooks]
    for result in results:
        path = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment)) / f"{result.notebook}.ipynb"
        if path.exists():
            execute.mark_failed(path, result.status)
            with_retries(recorder.record, path, result, recorders=[recorder])
        else:
            recorder.look_up(result)
    return results


def summary(results):
    """A table for the instructor: per assignment its learners, how many were graded now, the mean score
    (a submission that could not be graded counts 0), points waiting for a person, and problems by kind."""
    by_assignment = {}
    for result in results:
        by_assignment.setdefault(result.assignment, []).append(result)
    header = ("assignment", "learners", "graded now", "mean score", "waiting for a grader", "problems")
    table = [header]
    for assignment, rows in sorted(by_assignment.items()):
        learners = sorted({r.student for r in rows})
        maximum = sum(max((r.max_score for r in rows if r.notebook == nb), default=0.0)
                      for nb in sorted({r.notebook for r in rows}))
        mean = sum(r.score for r in rows) / len(learners) if learners else 0.0
        waiting = len({r.student for r in rows if r.pending})
        table.append((assignment, str(len(learners)), str(sum(not r.unchanged for r in rows)),
                      f"{mean:.2f}/{maximum:g}", f"{waiting} learner(s)" if waiting else "-",
                      str(sum(1 for r in rows if r.status))))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in
                       enumerate(zip(row, widths))).rstrip() for row in table]
    kinds = {}
    for result in results:
        if result.status:
            kinds.setdefault(result.problem, []).append(f"{result.student}/{result.assignment}")
        if result.notes and not result.unchanged:
            kinds.setdefault("submission changed, repaired before grading", []).append(
                f"{result.student}/{result.assignment}")
    for kind, who in sorted(kinds.items()):
        lines.append(f"  {kind}: {', '.join(who)}")
    pending = {}
    for result in results:
        if result.pending:
            pending.setdefault((result.assignment, result.pending), []).append(result.student)
    for (assignment, points), who in sorted(pending.items()):
        lines.append(f"  {points:g} point(s) of {assignment} wait for a grader (formgrader: make instructor): "
                     f"{', '.join(who)}")
    unchanged = sum(r.unchanged for r in results)
    if unchanged:
        lines.append(f"  {unchanged} notebook(s) unchanged since their last grade kept it (--all grades them again)")
    return "\n".join(lines)
