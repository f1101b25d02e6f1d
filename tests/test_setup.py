"""`make test` tests everything: scripts/system-deps installs or names what is missing, and a test whose
system requirement is missing fails unless the explicit opt-out RNNLAB_ALLOW_SKIPS=1 is set."""

import os
import shutil
import subprocess
import sys
import textwrap

from conftest import REPO

SCRIPT = REPO / "scripts" / "system-deps"


def _run_without_system_programs(tmp_path, **env):
    """scripts/system-deps on a PATH that has only the shell's basics: no chromium, no bwrap, no apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "bash"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return subprocess.run(["bash", str(SCRIPT)], env={"PATH": str(bin_dir), **env},
                          capture_output=True, text=True, timeout=60)


def test_system_deps_names_what_is_missing_and_fails(tmp_path):
    run = _run_without_system_programs(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "chromium" in run.stderr and "bubblewrap" in run.stderr and "RNNLAB_ALLOW_SKIPS=1" in run.stderr
    assert "configurable-http-proxy" in run.stderr and "passwd" in run.stderr  # the hub test's proxy and accounts


def test_system_deps_goes_on_when_skips_are_allowed(tmp_path):
    run = _run_without_system_programs(tmp_path, RNNLAB_ALLOW_SKIPS="1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "chromium" in run.stderr and "skipped" in run.stderr


def test_system_deps_passes_where_everything_is_installed():
    run = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def test_make_test_and_ci_call_the_one_script():
    makefile = (REPO / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/system-deps" in test_recipe and "pytest" in test_recipe
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and "apt-get" not in ci


def _pytest(tmp_path, **env):
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_needs.py").write_text(textwrap.dedent("""
        from conftest import require

        def test_needs_a_missing_program():
            require(False, "the frobnicator is not installed")
    """))
    environment = {key: value for key, value in os.environ.items() if key != "RNNLAB_ALLOW_SKIPS"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
                          cwd=tmp_path, env={**environment, **env}, capture_output=True, text=True, timeout=120)


def test_a_missing_requirement_fails_the_run_naming_it(tmp_path):
    run = _pytest(tmp_path)
    assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout
    assert "the frobnicator is not installed" in run.stdout and "RNNLAB_ALLOW_SKIPS=1" in run.stdout


def test_with_the_opt_out_it_is_skipped_and_the_summary_says_so(tmp_path):
    run = _pytest(tmp_path, RNNLAB_ALLOW_SKIPS="1")
    assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout
    assert "did not test everything" in run.stdout and "the frobnicator is not installed" in run.stdout
