"""Run a learner's kernel in a sandbox.

The kernel is an ordinary ipykernel, started through a wrapper command:

- ``bwrap`` (bubblewrap): new network, PID, IPC and mount namespaces; the file system
  shows only what Python needs (``/usr``, the Python installation, the virtual
  environment, ``rnnlab``) plus the submission's own working folder. The course
  sources (``solutions/``), the gradebook and other learners' work are not there;
  there is no network at all (not even loopback to the grader, so the kernel talks to
  the grader over Unix sockets in the working folder: ZeroMQ's ``ipc`` transport).
- ``setpriv``: the kernel runs as an unprivileged user, one uid per worker slot, with
  no capabilities, so the process limit binds (it does not bind root) and one
  learner's fork bomb cannot starve another's kernel.
- ``prlimit``: address space (memory), CPU seconds, number of processes, open files
  and file size.

The wall-clock limit per cell is nbclient's ``timeout``; the grader kills the whole
sandbox (``--die-with-parent``, PID namespace) when the kernel dies or times out.

Without bubblewrap (a laptop without it, a non-Linux machine) the kernel runs with
the rlimits only, as the current user: :func:`available` says False, and the
grade command prints a warning. Install it with ``apt-get install bubblewrap``.
"""

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer
from traitlets.config import Configurable

import rnnlab

# Worker slot k runs kernels as uid/gid FIRST_UID + k. RNNLAB_FIRST_UID moves the range: the parallel test run
# gives each pytest worker its own (tests/conftest.py), so that two graders at once never share a slot's uid.
FIRST_UID = int(os.environ.get("RNNLAB_FIRST_UID") or 61000)


class Limits(Configurable):
    """
    What one learner's kernel may use, set like nbgrader's traits in ``nbgrader_config.py``, e.g.
    ``c.Limits.memory_bytes = 4 * 1024**3``. (The wall-clock limit per cell is ``ExecutePreprocessor.timeout``.)
    """

    memory_bytes = Integer(2 * 1024**3, help="Address space of the kernel, in bytes").tag(config=True)
    cpu_seconds = Integer(300, help="CPU time of the whole kernel, in seconds").tag(config=True)
    processes = Integer(64, help="Processes per uid; threads count too (BLAS, ZeroMQ)").tag(config=True)
    open_files = Integer(256, help="Open files").tag(config=True)
    file_bytes = Integer(256 * 1024**2, help="Largest file the kernel may write, in bytes").tag(config=True)

    def rlimits(self):
        """{resource name: limit}: what ``prlimit`` and the fork server (autograder.forkserver) set."""
        return {"RLIMIT_AS": self.memory_bytes, "RLIMIT_CPU": self.cpu_seconds, "RLIMIT_NPROC": self.processes,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_FSIZE": self.file_bytes}


_PRLIMIT_OPTIONS = {"RLIMIT_AS": "--as", "RLIMIT_CPU": "--cpu", "RLIMIT_NPROC": "--nproc", "RLIMIT_NOFILE": "--nofile",
                    "RLIMIT_FSIZE": "--fsize"}


def kernel_environment(base, home):
    """
    The environment of a learner's kernel (and of the fork server that starts kernels): the few variables it
    needs from ``base``, ``home`` as its home and Matplotlib's folder, no user site-packages, and one BLAS
    thread (small matrices run many times faster on one thread; rnnlab sets the same when imported).
    """
    env = {key: value for key, value in base.items()
           if key in ("PATH", "LANG", "LC_ALL", "PYTHONHASHSEED", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(HOME=str(home), MPLCONFIGDIR=str(home), MPLBACKEND="module://matplotlib_inline.backend_inline",
               PYTHONNOUSERSITE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def bwrap_path():
    return shutil.which("bwrap")


def available():
    """True when kernels can be fully sandboxed here (bubblewrap present, running as root on Linux)."""
    return sys.platform.startswith("linux") and bwrap_path() is not None and os.geteuid() == 0


def _readable_roots():
    """Folders the kernel needs to read: the system, the Python installation, the environment, rnnlab."""
    roots = {"/usr", "/etc"}
    roots.update(name for name in ("/lib", "/lib64", "/lib32", "/bin", "/sbin") if os.path.exists(name))
    roots.add(os.path.realpath(sys.base_prefix))
    roots.add(os.path.realpath(sys.prefix))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.add(os.path.realpath(sysconfig.get_paths()[key]))
    roots.add(str(Path(rnnlab.__file__).resolve().parent))
    # drop folders inside others
    ordered = sorted(roots, key=len)
    kept = []
    for root in ordered:
        if not any(root == k or root.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(root)
    return kept


def wrap_command(command, workdir, slot=0, limits=None, root=None):
    """
    The command that runs ``command`` (a list) sandboxed in ``workdir``, with ``root`` (default:
    ``workdir`` itself; a folder holding it) as its only writable folder. Without bubblewrap: rlimits only.
    """
    workdir = os.path.realpath(workdir)
    bound = os.path.realpath(root or workdir)
    limits = limits or Limits()
    limit_args = ["prlimit", *(f"{_PRLIMIT_OPTIONS[name]}={value}" for name, value in limits.rlimits().items()), "--"]
    if not available():
        return limit_args + list(command)
    uid = FIRST_UID + slot
    args = _bwrap_args(bound, workdir)
    args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", "--"]
    # ipykernel exits when its parent's pid changes; in a new PID namespace it always looks changed
    args += limit_args + ["env", "-u", "JPY_PARENT_PID"] + list(command)
    # An interrupt (SIGINT to the process group) must stop the running cell, not kill bubblewrap and with it
    # the kernel: bwrap starts with SIGINT ignored; ipykernel catches it itself while a cell runs.
    return ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *args]


def _bwrap_args(bound, workdir, readable=()):
    """bubblewrap's arguments: new namespaces, the readable roots (and ``readable``) read-only, ``bound``
    writable, in ``workdir``."""
    args = [bwrap_path(), "--die-with-parent", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev"]
    made = {"/"}
    for path in _readable_roots() + list(readable) + [bound]:
        parts = Path(path).parts
        for depth in range(2, len(parts)):
            parent = str(Path(*parts[:depth]))
            if parent not in made:
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        if path == bound:
            args += ["--bind", path, path]
        elif os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        else:
            args += ["--ro-bind", path, path]
        made.add(path)
    args += ["--perms", "1777", "--tmpfs", "/tmp"] if not bound.startswith("/tmp/") else []
    return args + ["--chdir", workdir]


def wrap_readable(command, folder):
    """
    The command that runs ``command`` (root's, which becomes another user: autograder.reference) where this
    Python, its environment, rnnlab and the grader are readable whoever it becomes (a Python under root's home
    is not), ``folder`` (the course) is its only writable folder and its working folder; in namespaces of its
    own, without network, ended with its parent.
    """
    import autograder

    folder = os.path.realpath(folder)
    return _bwrap_args(folder, folder, readable=[str(Path(autograder.__file__).resolve().parent)]) + list(command)


def wrap_server(command, folder, script):
    """
    The command that runs a slot's fork server (``script``, autograder/forkserver.py, the only file of
    autograder/ the sandbox shows) in the same sandbox as a kernel, with ``folder`` its only writable
    folder. It stays root inside, to fork kernels that drop to the slot's uid.
    """
    folder = os.path.realpath(folder)
    return _bwrap_args(folder, folder, readable=[os.path.realpath(script)]) + list(command)


def prepare_workdir(workdir, slot=0):
    """Make ``workdir`` writable by the worker slot's uid (when sandboxing)."""
    os.makedirs(workdir, exist_ok=True)
    if available():
        uid = FIRST_UID + slot
        for root, dirs, files in os.walk(workdir):
            os.chown(root, uid, uid)
            for name in files:
                os.chown(os.path.join(root, name), uid, uid)


class SandboxedKernelManager(AsyncKernelManager):
    """An ipykernel manager whose kernel runs through :func:`wrap_command` in its working folder."""

    slot = 0
    root = None  # the folder to make writable, when it holds more than the kernel's working folder

    @property
    def limits(self):
        return Limits(config=self.config)  # nbgrader_config.py's c.Limits, as the grader passed it on

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"

    async def _async_pre_start_kernel(self, **kw):
        workdir = os.path.realpath(kw.get("cwd") or os.getcwd())
        self.ip = os.path.join(workdir, ".kernel")  # ipc socket prefix, visible inside and outside
        self.connection_file = os.path.join(workdir, ".kernel-connection.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        os.chmod(self.connection_file, 0o644)
        prepare_workdir(self.root or workdir, self.slot)
        env = kw["env"] = kernel_environment(kw.get("env", os.environ), workdir)
        return self.wrap(kernel_cmd, workdir, env), kw

    def wrap(self, kernel_cmd, workdir, env):
        """The command that starts the sandboxed kernel (autograder.forkserver forks it from a warm server instead)."""
        return wrap_command(kernel_cmd, workdir, self.slot, self.limits, self.root)


class ForkServerKernelManager(SandboxedKernelManager):
    """A sandboxed kernel forked by the slot's warm server (autograder.forkserver.SlotServer, ``server``)."""

    server = None

    def wrap(self, kernel_cmd, workdir, env):
        return self.server.kernel_command(kernel_cmd, workdir, env)
