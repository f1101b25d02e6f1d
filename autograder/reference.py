"""The reference solution the re-checks (autograder.recheck) compare with: run by the owner of the course's
solutions, never by root.

A course's ``solutions/`` notebooks are the instructor's code. The grading service runs as root (so that the
sandbox holds), and root must not run code another user can write: a solution cell that ran as root could do
anything on the hub. So when root grades a course that is not root's, the reference solution lives in a process
of the course owner's (:class:`OwnerProcess`), started once per grading process and notebook, which answers three
questions on arrays the grader sends it; the answers come back as plain arrays (``.npz`` read with
``allow_pickle=False``, a JSON header), so a reply can carry numbers and nothing that runs. Anyone else grading
(the instructor as themselves) runs it in their own process (:class:`InProcess`): the same answers.

The questions (what :mod:`autograder.recheck` asks of a reference):

- ``outputs(forward, inputs)``: a forward pass's outputs, its cache left out;
- ``run(task)``: a probe's outputs on its task's inputs (``Probe.run`` on the reference's functions);
- ``numerical_gradient(forward, inputs, name, douts)``: centred differences of a forward pass.
"""

import contextlib
import io
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from rnnlab.gradcheck import numerical_gradient

# The longest a reference process may take to start (its notebook's solution cells) or to answer.
ANSWER_SECONDS = 300


class InProcess:
    """The reference solution's namespace, run in this process."""

    def __init__(self, namespace, catalogue=None):
        self.namespace = namespace
        self.catalogue = catalogue

    def outputs(self, forward, inputs):
        return list(self.namespace[forward](**_copies(inputs))[:-1])

    def run(self, task):
        return {name: np.asarray(value, dtype=np.float64)
                for name, value in _probe(self.catalogue, task).run(self.namespace, **_copies(task.inputs)).items()}

    def numerical_gradient(self, forward, inputs, name, douts):
        return numerical_gradient(self.namespace[forward], _copies(inputs), name, douts)


def as_reference(reference, catalogue=None):
    """A reference as :mod:`autograder.recheck` asks it: a namespace (a dict, as tests hand it) is run here."""
    return InProcess(reference, catalogue) if isinstance(reference, dict) else reference


def _copies(arrays):
    return {name: np.array(value, copy=True) for name, value in arrays.items()}


def _probe(catalogue, task):
    """The probe of a task: the task's own, or (in the owner's process) found again by its cell and place."""
    if task.probe is not None:
        return task.probe
    from autograder import recheck

    grade_id, index = task.where
    return recheck.probes_for(catalogue, grade_id)[index]


class OwnerProcess:
    """
    The reference solution of one source notebook in a process of user ``uid`` (see the module's text). Started
    now; it ends when this process does (its requests stop) or with :meth:`close`.
    """

    def __init__(self, source, uid, gid):
        from autograder.course import as_owner

        command, env = as_owner("reference.serve_as", uid, gid, str(source))
        self.errors = tempfile.TemporaryFile()  # what the solution prints, and why it stopped
        # A session of its own: close() ends the solution's process with bubblewrap, whatever it started.
        self.process = subprocess.Popen(command, cwd="/", env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.errors, start_new_session=True)
        self.source, self.uid = source, uid
        self._ask({"question": "ready"}, {})

    def outputs(self, forward, inputs):
        answer = self._ask({"question": "outputs", "forward": forward}, inputs)
        return [answer[str(k)] for k in range(len(answer))]

    def run(self, task):
        return self._ask({"question": "run", "where": list(task.where)}, task.inputs)

    def numerical_gradient(self, forward, inputs, name, douts):
        arrays = {**{f"input/{key}": value for key, value in inputs.items()},
                  **{f"dout/{k}": dout for k, dout in enumerate(douts)}}
        return self._ask({"question": "numerical_gradient", "forward": forward, "name": name}, arrays)["gradient"]

    def close(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()

    def _ask(self, header, arrays):
        try:
            _send(self.process.stdin, header, arrays)
            reply, answer = _receive(self.process.stdout, timeout=ANSWER_SECONDS)
        except (OSError, EOFError, TimeoutError, ValueError) as error:
            self.close()
            self.errors.seek(0)
            last = self.errors.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"the reference solution {self.source}, run as its owner (uid {self.uid}), "
                               f"did not answer: {error!r}{': ' + last[-1] if last else ''}") from None
        if "error" in reply:
            raise RuntimeError(f"the reference solution {self.source} (run as uid {self.uid}): {reply['error']}")
        return answer


def serve_as(uid, gid, groups, source):
    """
    In a process root started: become user ``uid`` for good, run the reference solution of ``source`` and answer
    the grader's questions on stdin until it closes. The grader's modules are imported first, as root, so that
    its environment need not be readable by that user; the solution's output goes to stderr.
    """
    from autograder import examples, recheck  # noqa: F401 - imported before the user changes
    from autograder.execute import catalogue_of

    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # print() of a solution cell cannot garble the replies
    requests = sys.stdin.buffer
    os.setgroups(groups)
    os.setgid(gid)
    os.setuid(uid)  # real, effective and saved: no way back to root
    catalogue = catalogue_of(source)
    reference = InProcess(examples.solution_namespace(source), catalogue)
    while True:
        try:
            header, arrays = _receive(requests)
        except EOFError:
            return
        try:
            question = header["question"]
            if question == "ready":
                answer = {}
            elif question == "outputs":
                answer = {str(k): out for k, out in enumerate(reference.outputs(header["forward"], arrays))}
            elif question == "run":
                answer = reference.run(recheck.Task("", None, arrays, where=tuple(header["where"])))
            else:
                inputs = {key[len("input/"):]: value for key, value in arrays.items() if key.startswith("input/")}
                douts = [arrays[f"dout/{k}"] for k in range(sum(key.startswith("dout/") for key in arrays))]
                answer = {"gradient": reference.numerical_gradient(header["forward"], inputs, header["name"], douts)}
            _send(replies, {}, answer)
        except Exception as error:  # noqa: BLE001 - the grader reports it for this notebook
            _send(replies, {"error": f"{type(error).__name__}: {error}"}, {})


def _send(stream, header, arrays):
    """One message: a JSON header line (with the length of what follows), then the arrays as .npz."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    data = buffer.getvalue()
    stream.write(json.dumps({**header, "bytes": len(data)}).encode() + b"\n" + data)
    stream.flush()


def _receive(stream, timeout=None):
    """One message of :func:`_send`: (header, {name: array}); EOFError when the stream has ended."""
    if timeout is not None:
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimeoutError(f"no answer in {timeout} s")
    line = stream.readline()
    if not line:
        raise EOFError("the stream ended")
    header = json.loads(line)
    data = stream.read(header.pop("bytes"))
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return header, {name: arrays[name] for name in arrays.files}


def for_source(source, catalogue):
    """
    The reference of a source notebook for this process: run by its owner when this process is root's and the
    course (its folder, or the notebook if the folder is root's) is another user's; else here.
    """
    from autograder.course import owner
    from autograder.examples import solution_namespace

    uid, gid = owner(Path(source))
    if os.geteuid() == 0 and uid != 0:
        return OwnerProcess(source, uid, gid)
    return InProcess(solution_namespace(source), catalogue)
