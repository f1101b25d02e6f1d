"""Notebook 06's search costs and how robust its genetic search is, from the reference solution.

    python benchmarks/cell_search.py                 # evaluations per second against node count
    python benchmarks/cell_search.py --seeds 0-4     # and the genetic search from several seeds
    python benchmarks/cell_search.py --repeat 0 --streams 100   # the graded search checks on 100 random streams

Part 1 trains cells of 1 to 10 nodes (random cells, the notebook's `random_cell`) with the
search's budget (`fit`: H = 8, T = 10, 100 Adam steps of 32 sequences) and prints candidate
evaluations per second, against the tanh RNN's rate measured in the same run (the ratio is what
a bigger graph costs). Part 2 runs the notebook's genetic search from each seed, with its
confirmation step (the five best cells retrained on three new seeds), and prints the winner's
mean loss, whether it has a gate and an additive path, and the seconds taken: that outcome hangs on
one random stream (another seed, or another correct order of random draws, is another run), so the
notebook shows it and does not grade it. Part 3 is what is graded instead: the worked examples of
`mutate`, `next_generation` and `next_generation_chained` (the catalogue's own runs, as the test cells
compute them) on many random streams, each with four correct orders of random draws (the
reference's, and mutate's and next_generation's draws reordered, alone and together), and prints
how many streams of each order would lose points.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.catalogue.cellsearch import CATALOGUE  # noqa: E402
from autograder.catalogue import Mutant  # noqa: E402
from autograder.examples import apply_mistake, solution_namespace  # noqa: E402

NOTEBOOK = REPO / "solutions" / "06_cell_search" / "06_cell_search.ipynb"
# correct reorderings of the reference's random draws (the text leaves the order free)
MUTATE_ORDER = Mutant("mutate", "the node drawn before the kind", "", """        kind = rng.choice(["op", "rewire", "add", "remove"])
        j = int(rng.integers(3, 3 + len(cell["nodes"])))""", """        j = int(rng.integers(3, 3 + len(cell["nodes"])))
        kind = ["op", "rewire", "add", "remove"][int(rng.integers(4))]""")
GENERATION_ORDER = Mutant("next_generation", "i drawn before the second parent", "", """            other = pick()
            i = int(rng.integers(3, 3 + len(parent["nodes"])))""", """            i = int(rng.integers(3, 3 + len(parent["nodes"])))
            other = pick()""")


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


def _namespace(reorderings):
    ns = solution_namespace(NOTEBOOK, reorderings[0] if reorderings else None)
    for mistake in reorderings[1:]:
        cell = next(c for c in json.loads(NOTEBOOK.read_text())["cells"]
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == mistake.function)
        exec(apply_mistake("".join(cell["source"]), mistake), ns)
    return ns


def graded_checks(streams):
    """The graded checks of the genetic algorithm on many random streams and four correct draw orders."""
    orders = {"reference": [], "mutate reordered": [MUTATE_ORDER], "next_generation reordered": [GENERATION_ORDER],
              "both reordered": [MUTATE_ORDER, GENERATION_ORDER]}
    examples = [e for e in CATALOGUE.examples if e.name in ("mutate", "next_generation", "next_generation_chained")]
    # the flags every test cell wants (all 1, but 0 for the flags of a mistake), as stored for the test cells
    expected = json.loads((NOTEBOOK.parent / "reference.json").read_text())
    expected = {e.name: {k: np.array(v) for k, v in expected[e.name]["expected"].items()} for e in examples}
    print(f"\ngraded checks of the genetic algorithm on {streams} random streams (worked-example inputs drawn "
          "from each stream's seed), per correct order of draws: streams that would lose points")
    print(f"{'draw order':28s}" + "".join(f"{e.name:>26s}" for e in examples) + f"{'seconds':>9s}")
    for order, reorderings in orders.items():
        ns, failed, start = _namespace(reorderings), {e.name: 0 for e in examples}, time.perf_counter()
        for stream in range(streams):
            for example in examples:
                inputs = example.inputs(np.random.default_rng(10_000 + stream))
                try:
                    got = example.run(ns, **{k: v.copy() for k, v in inputs.items()})
                    ok = all(np.array_equal(got[name], expected[example.name][name]) for name in got)  # the passing flags
                except Exception:  # noqa: BLE001 - an invalid cell stops the run: that stream would lose the points
                    ok = False
                failed[example.name] += not ok
        print(f"{order:28s}" + "".join(f"{failed[e.name]:26d}" for e in examples) + f"{time.perf_counter() - start:9.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cells timed per row")
    parser.add_argument("--seeds", type=_seeds, default=[], help="genetic-search seeds, e.g. 0-4 or 0,3")
    parser.add_argument("--streams", type=int, default=0, help="random streams for the graded checks (part 3)")
    args = parser.parse_args()
    ns = solution_namespace(NOTEBOOK)
    if args.repeat:
        evaluations_per_second(ns, args.repeat)
    if args.seeds:
        robustness(ns, args.seeds)
    if args.streams:
        graded_checks(args.streams)
    return 0


if __name__ == "__main__":
    sys.exit(main())
