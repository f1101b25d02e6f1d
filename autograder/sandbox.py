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
the rlimits only, as the current user: say ``Sandbox.available()`` -> False, and the
grade command prints a warning. Install it with ``apt-get install bubblewrap``.
"""

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

import rnnlab

FIRST_UID = 61000  # worker slot k runs kernels as uid/gid FIRST_UID + k


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * 1024**3  # address space of the kernel
    cpu_seconds: int = 300  # CPU time of the whole kernel
    processes: int = 64  # per uid: threads count too (BLAS, ZeroMQ)
    open_files: int = 256
    file_bytes: int = 256 * 1024**2  # largest file the kernel may write


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


def wrap_command(command, workdir, slot=0, limits=Limits(), root=None):
    """
    The command that runs ``command`` (a list) sandboxed in ``workdir``, with ``root`` (default:
    ``workdir`` itself; a folder holding it) as its only writable folder. Without bubblewrap: rlimits only.
    """
    workdir = os.path.realpath(workdir)
    bound = os.path.realpath(root or workdir)
    limit_args = [
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--nproc={limits.processes}",
        f"--nofile={limits.open_files}",
        f"--fsize={limits.file_bytes}",
        "--",
    ]
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
    limits = Limits()
    root = None  # the folder to make writable, when it holds more than the kernel's working folder

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
        env = {key: value for key, value in kw.get("env", os.environ).items()
               if key in ("PATH", "LANG", "LC_ALL", "PYTHONHASHSEED", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env.update(HOME=workdir, MPLCONFIGDIR=workdir, MPLBACKEND="module://matplotlib_inline.backend_inline",
                   PYTHONNOUSERSITE="1", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        kw["env"] = env
        return self.wrap(kernel_cmd, workdir, env), kw

    def wrap(self, kernel_cmd, workdir, env):
        """The command that starts the sandboxed kernel (autograder.forkserver forks it from a warm server instead)."""
        return wrap_command(kernel_cmd, workdir, self.slot, self.limits, self.root)


class ForkServerKernelManager(SandboxedKernelManager):
    """A sandboxed kernel forked by the slot's warm server (autograder.forkserver.SlotServer, ``server``)."""

    server = None

    def wrap(self, kernel_cmd, workdir, env):
        return self.server.kernel_command(kernel_cmd, workdir, env)
