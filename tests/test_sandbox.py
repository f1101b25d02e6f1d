"""autograder.sandbox's settings: the kernel's limits come from nbgrader_config.py, the environment from one place."""

from autograder import course, sandbox
from autograder.sandbox import Limits, kernel_environment


def test_the_limits_are_nbgrader_traits_with_the_documented_defaults():
    limits = Limits(config=course.load_config())
    assert limits.rlimits() == {"RLIMIT_AS": 2 * 1024**3, "RLIMIT_CPU": 300, "RLIMIT_NPROC": 64, "RLIMIT_NOFILE": 256,
                                "RLIMIT_FSIZE": 256 * 1024**2}
    more = Limits(config=course.load_config(**{"Limits.memory_bytes": 4 * 1024**3, "Limits.cpu_seconds": 60}))
    assert more.memory_bytes == 4 * 1024**3 and more.cpu_seconds == 60


def test_the_kernel_is_started_with_the_configured_limits(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: False)  # the rlimits part of the command, without bubblewrap
    limits = Limits(config=course.load_config(**{"Limits.memory_bytes": 123456789}))
    command = sandbox.wrap_command(["python", "-m", "ipykernel_launcher"], "/tmp", limits=limits)
    assert command[:7] == ["prlimit", "--as=123456789", "--cpu=300", "--nproc=64", "--nofile=256",
                           f"--fsize={256 * 1024**2}", "--"]
    manager = type("Manager", (sandbox.SandboxedKernelManager,), {})(config=course.load_config(
        **{"Limits.processes": 7}))
    assert manager.limits.processes == 7


def test_the_kernel_environment_keeps_little_and_pins_one_blas_thread(tmp_path):
    env = kernel_environment({"PATH": "/usr/bin", "SECRET_TOKEN": "x", "LANG": "C.UTF-8"}, tmp_path)
    assert "SECRET_TOKEN" not in env and env["PATH"] == "/usr/bin" and env["HOME"] == str(tmp_path)
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"


def test_one_cell_timeout_the_course_sets_once():
    assert course.cell_timeout() == 120  # nbgrader_config.py's ExecutePreprocessor.timeout
    assert course.cell_timeout(course.load_config(**{"ExecutePreprocessor.timeout": 7})) == 7
