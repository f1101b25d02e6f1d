"""
A warm kernel per sandbox slot: a fork server that has paid Python's, ipykernel's and the course's
start-up once, and forks a fresh kernel for each notebook.

Starting an ipykernel and importing NumPy, Matplotlib and rnnlab costs about as much as running a
whole solved notebook. So each grading slot (one per worker process) starts one server, inside the
same bubblewrap sandbox the kernels always had (no network, its own PID and IPC namespaces, a
read-only system, one writable folder: the slot's). The server imports what every notebook imports,
then waits. For each kernel the grader starts, a small client (the "kernel process" jupyter_client
sees) asks it to fork; the child, before any learner code runs:

- drops to the slot's unprivileged uid (no capabilities, no new privileges) and sets the rlimits
  (memory, CPU seconds, processes, open files, file size), as ``setpriv`` and ``prlimit`` did;
- takes the client's stdin, stdout and stderr, a clean environment, the job's folder as its home and
  working folder, new random seeds; then runs ipykernel exactly as ``ipykernel_launcher`` does.

The client forwards signals (an interrupt stops the running cell) and exits with the kernel's status;
when the client is killed, the server kills the kernel. Nothing passes from one learner's kernel to
the next: the server itself is never touched by learner code (it runs as root inside the sandbox, the
kernels as the slot's uid, which cannot write anywhere but the job's folder), and after every notebook
:meth:`SlotServer.clean` has the server kill every process of the slot's uid and remove every System V
IPC object, and the grader deletes the job's folder. ``tests/test_grading.py`` checks this with a
notebook that leaves files, processes, shared memory and environment behind.
"""

import atexit
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline", "IPython",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "rnnlab.testing", "rnnlab.plotting", "rnnlab.earlier",
           "rnnlab.gradcheck", "rnnlab.data")
_HEADER = struct.Struct("!I")


def _send(sock, message, fds=()):
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], list(fds))
    else:
        sock.sendall(payload)


def _recv(sock, with_fds=False):
    """One message (and the file descriptors sent with it); None at end of file."""
    fds = []
    if with_fds:
        head, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 8)
    else:
        head = sock.recv(_HEADER.size)
    while head and len(head) < _HEADER.size:
        more = sock.recv(_HEADER.size - len(head))
        if not more:
            return None, fds
        head += more
    if not head:
        return None, fds
    (size,) = _HEADER.unpack(head)
    data = b""
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            return None, fds
        data += more
    return json.loads(data), fds


# --- the server, inside the sandbox ------------------------------------------------------------------


def _drop_privileges(uid, limits):
    import ctypes
    import resource

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):  # PR_CAPBSET_DROP: nothing can be gained back through exec
        libc.prctl(24, capability, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to a uid: every capability is cleared
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def _child(request, fds, uid, limits):
    """In the forked child: become the learner's kernel (never returns)."""
    try:
        for fd, target in zip(fds, (0, 1, 2)):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _drop_privileges(uid, limits)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import random

        import numpy as np

        random.seed()
        np.random.seed()  # a forked child would otherwise repeat the server's random numbers
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        if sys.path and sys.path[0] in ("", os.getcwd()):
            del sys.path[0]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=request["argv"])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - the kernel failed to start: say why on its stderr
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush() if sys.stdout else None
    os._exit(code)


def _kill_uid(uid):
    """Kill every process of ``uid`` in this PID namespace; wait until none is left."""
    for _ in range(200):
        left = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
                    left.append(entry)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
        _reap()
        if not left:
            return
        time.sleep(0.005)


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _remove_ipc():
    """Remove every System V shared memory segment, semaphore set and message queue of this IPC namespace."""
    subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _serve_kernel(conn, request, fds, uid, limits):
    pid = os.fork()
    if pid == 0:
        conn.close()
        _child(request, fds, uid, limits)
    for fd in fds:
        os.close(fd)
    _send(conn, {"pid": pid})
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([conn, pidfd], [], [])
            if pidfd in ready:
                _, status = os.waitpid(pid, 0)
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                return
            message, _ = _recv(conn)
            if message is None:  # the client was killed: so is the kernel
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return
            if "signal" in message:
                try:
                    os.killpg(pid, message["signal"])
                except ProcessLookupError:
                    pass
    finally:
        os.close(pidfd)


def serve(path, uid, limits):
    """The server's loop: preload, listen on ``path``, serve one request at a time."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    os.chmod(path + ".new", 0o600)
    listener.listen(8)
    os.rename(path + ".new", path)  # the grader waits for this name: the server is ready
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                request, fds = _recv(conn, with_fds=True)
                if request is None:
                    continue
                if request.get("clean"):
                    _kill_uid(uid)
                    _remove_ipc()
                    _send(conn, {"clean": True})
                else:
                    _serve_kernel(conn, request, fds, uid, limits)
            except (BrokenPipeError, ConnectionResetError):
                pass
            _reap()


# --- the client: the process jupyter_client starts as "the kernel" -------------------------------------


def client(path, request):
    """Ask the server for a kernel; forward signals to it; exit with its status."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    _send(sock, request, fds=(0, 1, 2))

    def forward(signum, _frame):
        try:
            _send(sock, {"signal": signum})
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)
    while True:
        try:
            message, _ = _recv(sock)
        except InterruptedError:
            continue
        if message is None:
            return 1
        if "exit" in message:
            code = message["exit"]
            return code if code >= 0 else 128 - code


# --- the grader's side --------------------------------------------------------------------------------


class SlotServer:
    """
    The fork server of one sandbox slot, started when the worker starts and kept for the worker's life.
    ``job()`` makes a new job folder (the kernels' only writable place); ``clean()`` leaves nothing
    of the last job behind.
    """

    def __init__(self, slot, limits):
        from autograder import sandbox

        self.slot, self.limits, self.uid = slot, limits, sandbox.FIRST_UID + slot
        self.folder = Path(f"/tmp/rnnlab-slot-{slot}-{os.getpid()}")
        self.folder.mkdir(mode=0o755, exist_ok=True)
        os.chown(self.folder, 0, 0)
        self.socket = str(self.folder / "server.sock")
        # run as a script: autograder/ itself is not in the sandbox, only this file
        command = [sys.executable, "-I", __file__, "serve", self.socket, str(self.uid), json.dumps(limits.rlimits())]
        env = sandbox.kernel_environment(os.environ, self.folder)
        wrapped = sandbox.wrap_server(command, str(self.folder), __file__)
        # started here, waited for at first use (wait): the worker loads the rest meanwhile
        self.process = subprocess.Popen(wrapped, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        self.ready = False
        atexit.register(self.close)  # the worker's end: the server goes (bubblewrap's --die-with-parent too), and its folder

    def wait(self):
        """Return once the server listens (it has imported everything it preloads)."""
        deadline = time.monotonic() + 120
        while not self.ready:
            if os.path.exists(self.socket):
                self.ready = True
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fork server of slot {self.slot} did not start (exit {self.process.poll()})")
            else:
                time.sleep(0.01)
        return self

    def alive(self):
        return self.process.poll() is None

    def job(self):
        """A new, empty job folder, owned by the slot's uid."""
        self.wait()
        folder = self.folder / f"job-{uuid.uuid4().hex}"
        folder.mkdir(mode=0o700)
        os.chown(folder, self.uid, self.uid)
        return str(folder)

    def kernel_command(self, kernel_cmd, cwd, env):
        """The command jupyter_client starts instead of ``kernel_cmd`` (``python -m ipykernel_launcher ...``)."""
        request = {"argv": list(kernel_cmd[3:]), "cwd": cwd, "env": env}
        return [sys.executable, "-I", __file__, "client", self.socket, json.dumps(request)]

    def clean(self):
        """Kill every process of the slot's uid and remove all System V IPC objects (the job folder is the caller's)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect(self.socket)
            _send(sock, {"clean": True})
            _recv(sock)

    def close(self):
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv):
    if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
        del sys.path[0]  # run as a script: the folder of this file is not a place to import from
    if argv[0] == "serve":
        serve(argv[1], int(argv[2]), json.loads(argv[3]))
    elif argv[0] == "client":
        sys.exit(client(argv[1], json.loads(argv[2])))


if __name__ == "__main__":
    main(sys.argv[1:])
