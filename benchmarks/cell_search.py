"""Notebook 06's search costs and how robust its genetic search is, from the reference solution.

    python benchmarks/cell_search.py                 # evaluations per second against node count
    python benchmarks/cell_search.py --seeds 0-4     # and the genetic search from several seeds

Part 1 trains cells of 1 to 10 nodes (random cells, the notebook's `random_cell`) with the
search's budget (`fit`: H = 8, T = 10, 100 Adam steps of 32 sequences) and prints candidate
evaluations per second, against the tanh RNN's rate measured in the same run (the ratio is what
a bigger graph costs). Part 2 runs the notebook's genetic search from each seed, with its
confirmation step (the five best cells retrained on three new seeds), and prints the winner's
mean loss, whether it has a gate and an additive path, and the seconds taken.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.examples import solution_namespace  # noqa: E402


def _seeds(text):
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",")]


def evaluations_per_second(ns, repeat):
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(repeat):
        ns["fit"](ns["RNN_CELL"])
    rnn_rate = repeat / (time.perf_counter() - start)
    print(f"candidate evaluations per second (one = {ns['STEPS']} Adam steps of {ns['BATCH']} sequences, "
          f"T = {ns['T_SEARCH']}, H = {ns['H']})")
    print(f"{'cell':>14s} {'nodes':>6s} {'eval/s':>8s} {'vs tanh RNN':>12s}")
    print(f"{'tanh RNN':>14s} {1:6d} {rnn_rate:8.2f} {1.0:12.2f}")
    for name in ("GRU", "LSTM"):
        cell = ns["CELLS"][name]
        start = time.perf_counter()
        for _ in range(repeat):
            ns["fit"](cell)
        rate = repeat / (time.perf_counter() - start)
        print(f"{name:>14s} {len(cell['nodes']):6d} {rate:8.2f} {rate / rnn_rate:12.2f}")
    for nodes in (2, 4, 6, 8, 10):
        cells = []
        while len(cells) < repeat:
            cell = ns["random_cell"](rng, nodes)
            if len(cell["nodes"]) == nodes:
                cells.append(cell)
        start = time.perf_counter()
        for cell in cells:
            ns["fit"](cell)
        rate = repeat / (time.perf_counter() - start)
        print(f"{'random':>14s} {nodes:6d} {rate:8.2f} {rate / rnn_rate:12.2f}")


def robustness(ns, seeds):
    print(f"\ngenetic search (population 10, 12 generations) from each seed; the winner retrained on 3 new seeds; "
          f"a memory is below {ns['MEMORY']:.3f}")
    print(f"{'seed':>4s} {'cells':>6s} {'seconds':>8s} {'winner mean':>12s}  {'gate':>5s} {'additive':>8s}  nodes")
    means = []
    for seed in seeds:
        start = time.perf_counter()
        history, seen = ns["genetic_search"](ns["fitness"], np.random.default_rng(seed))
        best = sorted(seen.values(), key=lambda entry: entry[1])[:5]
        winner = ns["confirm"]([cell for cell, _ in best])[0]
        seconds = time.perf_counter() - start
        paths = " ".join(ns["memory_paths"](winner["cell"]))
        means.append(winner["mean"])
        print(f"{seed:4d} {len(history):6d} {seconds:8.1f} {winner['mean']:12.4f}  {'yes' if 'gate' in paths else 'no':>5s} "
              f"{'yes' if 'additive path' in paths else 'no':>8s}  {len(winner['cell']['nodes'])}")
    print(f"winners that are a memory: {sum(m < ns['MEMORY'] for m in means)} of {len(means)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cells timed per row")
    parser.add_argument("--seeds", type=_seeds, default=[], help="genetic-search seeds, e.g. 0-4 or 0,3")
    args = parser.parse_args()
    ns = solution_namespace(REPO / "solutions" / "06_cell_search" / "06_cell_search.ipynb")
    evaluations_per_second(ns, args.repeat)
    if args.seeds:
        robustness(ns, args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
