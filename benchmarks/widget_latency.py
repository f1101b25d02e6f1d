"""How long the vanishing-gradient explorer takes to answer each control, at H = 64 and T = 200.

    python benchmarks/widget_latency.py [--cells tanh lstm] [--moves 6] [--runs 3]    (every cell by default)

For every control, moves it the way a slider does (setting the control's value from Python
runs the same code as a move in the browser: compute, draw, encode) to values it has not
had before, so nothing comes from the explorer's cache of results (nor from its sequences,
see `move`).

The whole sweep runs --runs times, each in a fresh Python process (a new explorer: its first
visits of cells, labels and backgrounds cost the same in every run). Per control it prints the
median and the worst update in milliseconds, and the worst as a fraction of the 50 ms budget
(below 1.00: within budget), twice:
- "every run": over all the runs' moves, so a move that a busy moment of the machine slowed in
  one run counts (this is what a learner may wait for on a machine shared with others);
- "best of runs": each move's fastest run, then the median and the worst over the moves: what the
  move itself costs, without the moments when other programs took the processor (on a shared
  virtual machine the same move varies by a third from one run to the next, in CPU time too).
"first" is the very first move of a control, which may also have to draw axes it has not drawn
before; the later moves mostly reuse them.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

BUDGET_SECONDS = 0.050  # the worst update a learner should wait for (issue 24: on a quiet machine)
CELLS = ("linear", "tanh", "sigmoid", "relu", "gru", "lstm")  # rnnlab.widgets.CELLS, without importing it here
# Values each control visits in turn (none of them the starting value).
MOVES = {
    "cell": list(CELLS),
    "hidden_size": [60, 48, 64, 56, 40, 62, 52, 44],
    "T": [180, 150, 200, 120, 190, 170, 160, 140],
    "init": ["orthogonal", "identity"],
    "gain": [0.9, 1.1, 1.3, 0.8, 1.5, 0.7, 2.0, 0.6],
    "gain_by": ["singular value"],
    "input_scale": [0.5, 1.5, 2.0, 0.25, 0.75, 1.25, 3.0, 0.1],
    "gate_bias": [2.0, 3.0, 5.0, 0.0, -1.0, 4.0, 6.0, 1.5],
    "seed": [1, 2, 3, 4, 5, 6, 7, 8],
}


def move(explorer, name, value):
    """Set one control as a slider does; return the seconds until the new picture is ready."""
    from rnnlab import gradient_flow

    # A shorter T is cut from a longer sequence computed before (gradient_flow._sequence): forgotten, so that every
    # move, T's too, runs its sequence anew (the worst case: a T longer than any before).
    gradient_flow._SEQUENCES.clear()
    start = time.perf_counter()
    explorer.controls[name].value = value
    return time.perf_counter() - start


def one_run(cells, moves):
    """One sweep in this process: {"build": seconds, "moves": [[cell, control, value, seconds], ...], "revisit": s}."""
    import numpy as np

    from rnnlab.widgets import Explorer

    start = time.perf_counter()
    explorer = Explorer(hidden_size=64, T=200)
    build = time.perf_counter() - start
    timed = []
    for cell in cells:
        for name, values in MOVES.items():
            explorer.set(cell=cell, hidden_size=64, T=200, init="gaussian", gain=1.0, gain_by="spectral radius",
                         input_scale=1.0, gate_bias=1.0, seed=0)
            explorer._results.clear()  # every move computes anew
            if name == "cell":
                values = [c for c in CELLS if c != cell] + [cell]
            timed += [[cell, name, value, move(explorer, name, value)] for value in values[:moves]]
    revisit = [move(explorer, "gain", value) for value in (1.0, 1.1, 1.0, 1.1, 1.0)]
    return {"build": build, "moves": timed, "revisit": float(np.median(revisit[2:]))}


def _row(label, seconds):
    worst = max(seconds)
    return (f"{label} {1000 * seconds[0]:7.1f}  {1000 * statistics.median(seconds):7.1f}  {1000 * worst:7.1f}  "
            f"{worst / BUDGET_SECONDS:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--moves", type=int, default=6, help="moves per control")
    parser.add_argument("--runs", type=int, default=3, help="sweeps, each in a fresh process")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # a child: print one run as JSON
    args = parser.parse_args()
    if args.one_run:
        json.dump(one_run(args.cells, args.moves), sys.stdout)
        return
    runs = []
    for _ in range(args.runs):
        child = subprocess.run([sys.executable, __file__, "--one-run", "--moves", str(args.moves), "--cells",
                                *args.cells], check=True, capture_output=True, text=True)
        runs.append(json.loads(child.stdout))
    builds = ", ".join(f"{run['build']:.2f}" for run in runs)
    print(f"Explorer() at H = 64, T = 200: {builds} s to build and draw "
          f"({args.runs} runs, each in a fresh process)")
    print(f"{'':19s} {'every run':^34s}   {'best of runs':^34s}")
    print(f"{'cell':6s} {'control':12s}" + f" {'first':>7s}  {'median':>7s}  {'worst':>7s}  {'/50ms':>6s}  " * 2)
    every, best = [], []
    for cell in args.cells:
        for name in MOVES:
            times = [[seconds for c, n, _, seconds in run["moves"] if (c, n) == (cell, name)] for run in runs]
            all_runs = [seconds for per_run in zip(*times) for seconds in per_run]  # move by move, the runs side by side
            fastest = [min(per_run) for per_run in zip(*times)]
            every += all_runs
            best += fastest
            print(f"{_row(f'{cell:6s} {name:12s}', all_runs)}    {_row('', fastest)}")
    revisit = statistics.median(run["revisit"] for run in runs)
    print(f"going back to a setting already seen (cached result, drawn backgrounds): {1000 * revisit:.1f} ms")
    per_run = [max(seconds for *_, seconds in run["moves"]) for run in runs]
    print(f"every run: {len(every)} moves, median {1000 * statistics.median(every):.1f} ms, worst "
          f"{1000 * max(every):.1f} ms = {max(every) / BUDGET_SECONDS:.2f} of the budget "
          f"(each run's worst: {', '.join(f'{1000 * s:.1f}' for s in per_run)} ms)")
    print(f"best of {args.runs} runs: {len(best)} moves, median {1000 * statistics.median(best):.1f} ms, worst "
          f"{1000 * max(best):.1f} ms = {max(best) / BUDGET_SECONDS:.2f} of the {1000 * BUDGET_SECONDS:.0f} ms budget")


if __name__ == "__main__":
    main()
