"""How long the vanishing-gradient explorer takes to answer each control, at H = 64 and T = 200.

    python benchmarks/widget_latency.py [--cells tanh lstm] [--moves 6]    (every cell by default)

For every control, moves it the way a slider does (setting the control's value from Python
runs the same code as a move in the browser: compute, draw, encode) to values it has not
had before, so nothing comes from the explorer's cache of results (nor from its sequences,
see `move`). Prints the median and the worst update in milliseconds and the worst as a
fraction of the 50 ms budget (below 1.00: within budget), per control and over all moves, in
wall-clock and in CPU time (CPU time is what a busy machine changes least). "first" is the
very first move of a control, which may also have to draw axes it has not drawn before; the
later moves mostly reuse them.
"""

import argparse
import statistics
import time

import numpy as np

from rnnlab import gradient_flow
from rnnlab.widgets import CELLS, Explorer

BUDGET_SECONDS = 0.050  # the worst update a learner should wait for (issue 24: on a quiet machine)
# Values each control visits in turn (none of them the starting value).
MOVES = {
    "cell": [c for c in CELLS],
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
    """Set one control as a slider does; return the seconds until the new picture is ready, and the CPU seconds."""
    # A shorter T is cut from a longer sequence computed before (gradient_flow._sequence): forgotten, so that every
    # move, T's too, runs its sequence anew (the worst case: a T longer than any before).
    gradient_flow._SEQUENCES.clear()
    start, cpu = time.perf_counter(), time.process_time()
    explorer.controls[name].value = value
    return time.perf_counter() - start, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--moves", type=int, default=6, help="moves per control")
    parser.add_argument("--verbose", action="store_true", help="print every move")
    args = parser.parse_args()
    start = time.perf_counter()
    explorer = Explorer(hidden_size=64, T=200)
    print(f"Explorer() at H = 64, T = 200: {time.perf_counter() - start:.2f} s to build and draw")
    print(f"{'cell':6s} {'control':12s} {'first':>8s} {'median':>8s} {'worst':>8s} {'worst/budget':>13s}"
          f"  (worst in CPU time, the same without other programs)")
    every_move, every_cpu = [], []
    for cell in args.cells:
        for name, values in MOVES.items():
            explorer.set(cell=cell, hidden_size=64, T=200, init="gaussian", gain=1.0, gain_by="spectral radius",
                         input_scale=1.0, gate_bias=1.0, seed=0)
            explorer._results.clear()  # every move computes anew
            if name == "cell":
                values = [c for c in CELLS if c != cell] + [cell]
            seconds, cpu_seconds = zip(*(move(explorer, name, value) for value in values[:args.moves]))
            worst = max(seconds)
            every_move += seconds
            every_cpu += cpu_seconds
            if args.verbose:
                print("  ", ", ".join(f"{value}: {1000 * s:.0f} ms" for value, s in zip(values, seconds)))
            print(f"{cell:6s} {name:12s} {1000 * seconds[0]:7.1f}  {1000 * statistics.median(seconds):7.1f}  "
                  f"{1000 * worst:7.1f}  {worst / BUDGET_SECONDS:12.2f}  ({1000 * max(cpu_seconds):.1f} ms CPU)")
    revisit = [move(explorer, "gain", value)[0] for value in (1.0, 1.1, 1.0, 1.1, 1.0)]
    print(f"going back to a setting already seen (cached result, drawn backgrounds): "
          f"{1000 * np.median(revisit[2:]):.1f} ms")
    worst_overall = max(every_move)
    print(f"all {len(every_move)} moves: median {1000 * statistics.median(every_move):.1f} ms, worst "
          f"{1000 * worst_overall:.1f} ms (CPU time: median {1000 * statistics.median(every_cpu):.1f} ms, "
          f"worst {1000 * max(every_cpu):.1f} ms)")
    print(f"worst update: {1000 * worst_overall:.1f} ms = {worst_overall / BUDGET_SECONDS:.2f} "
          f"of the {1000 * BUDGET_SECONDS:.0f} ms budget")


if __name__ == "__main__":
    main()
