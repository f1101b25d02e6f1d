"""environment.yml (conda) and pyproject.toml (pip) must describe the same dependencies."""

import os
import re
import tomllib

import yaml
from conftest import REPO

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def _normalise(requirement):
    name, spec = REQUIREMENT.match(requirement).groups()
    parts = sorted(part.strip() for part in spec.split(",") if part.strip())
    return re.sub(r"[-_.]+", "-", name).lower(), ",".join(parts)


def _pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return dict(_normalise(r) for r in requirements), project["requires-python"]


def _conda(text=None):
    environment = yaml.safe_load(text or (REPO / "environment.yml").read_text())
    requirements = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            requirements += entry["pip"]
        elif entry != "pip":
            requirements.append(entry)
    deps = dict(_normalise(r) for r in requirements)
    return deps, deps.pop("python")


def test_conda_and_pip_list_the_same_packages_and_versions():
    pip_deps, _ = _pyproject()
    conda_deps, _ = _conda()
    assert conda_deps == pip_deps, (
        f"only in environment.yml: {sorted(set(conda_deps.items()) - set(pip_deps.items()))}; "
        f"only in pyproject.toml: {sorted(set(pip_deps.items()) - set(conda_deps.items()))}"
    )


def test_python_versions_agree():
    _, requires_python = _pyproject()
    _, conda_python = _conda()
    assert conda_python == requires_python


def test_every_conda_dependency_says_why_it_is_there():
    lines = (REPO / "environment.yml").read_text().splitlines()
    in_dependencies = False
    for line in lines:
        if line.startswith("dependencies:"):
            in_dependencies = True
            continue
        stripped = line.strip()
        if in_dependencies and stripped.startswith("- ") and stripped not in ("- pip", "- pip:"):
            assert "#" in stripped and stripped.split("#", 1)[1].strip(), f"no comment on: {stripped}"


def test_sync_check_notices_a_changed_bound_and_a_missing_package():
    """The comparison above is not vacuous: edits to environment.yml show up as differences."""
    text = (REPO / "environment.yml").read_text()
    pip_deps, _ = _pyproject()
    changed, _ = _conda(text.replace("numpy>=1.26", "numpy>=2.0"))
    assert changed != pip_deps and changed["numpy"] == ">=2.0"
    missing, _ = _conda("\n".join(line for line in text.splitlines() if "nbgrader" not in line))
    assert "nbgrader" not in missing and "nbgrader" in pip_deps


BLAS_THREADS = ("import numpy, threadpoolctl\n"
                "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))\n")


def test_importing_rnnlab_leaves_numpy_one_blas_thread():
    """The course's matrices are small: several BLAS threads made 05's LSTM train 3.5 to 5.5 times slower than one."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", "import numpy\nimport rnnlab\n" + BLAS_THREADS], capture_output=True,
                         text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": ""}, check=True)
    assert run.stdout.split() == ["1"], run.stderr


def test_the_graders_kernels_have_one_blas_thread_without_importing_rnnlab(tmp_path):
    """A sandboxed grading kernel gets OPENBLAS_NUM_THREADS=1 (and OMP, MKL) from its environment."""
    import asyncio

    from autograder.sandbox import SandboxedKernelManager

    async def printed():
        manager = SandboxedKernelManager(kernel_name="python3")
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            outputs = []
            reply = await client.execute_interactive(BLAS_THREADS, timeout=60,
                                                     output_hook=lambda message: outputs.append(message["content"]))
            assert reply["content"]["status"] == "ok", reply["content"]
            return "".join(content.get("text", "") for content in outputs)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    assert asyncio.run(printed()).split() == ["1"]
