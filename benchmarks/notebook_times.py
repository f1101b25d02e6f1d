"""How long each solved notebook takes to run top to bottom in a fresh kernel (nbclient).

    python benchmarks/notebook_times.py

A one-cell notebook gives the cost of starting and stopping a kernel, so the "cells"
figure is what a learner waits for after "Restart Kernel and Run All Cells".
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent


def run(nb, path):
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path)}}).execute()
    return time.perf_counter() - start


def main():
    trivial = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    empty = run(trivial, REPO)
    print(f"kernel start + shutdown (one empty cell): {empty:6.2f} s")
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        seconds = run(nbformat.read(path, as_version=4), path.parent)
        print(f"{path.relative_to(REPO / 'solutions')!s:40s} {seconds:6.2f} s  (cells: {seconds - empty:5.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
