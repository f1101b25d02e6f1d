"""One BLAS thread against all of them, on notebook 05's small matrices.

    python benchmarks/blas_threads.py [--repeat 5] [--steps 200]

Times the reference ``lstm_backward`` (notebook 03) at H = 12, batch 32, T = 25, 50, 75 and 100 (the adding
problem's sizes in 05), and 05's ``adding_run("lstm", 100)`` training loop for ``steps`` steps, once with BLAS
limited to one thread (what ``import rnnlab`` and the grader's kernels set) and once with as many threads as the
machine has (the default of a multithreaded OpenBLAS), and prints the ratio. The limits are set explicitly with
threadpoolctl, so the result does not depend on what was imported before.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402
from rnnlab.data import adding_problem  # noqa: E402

N, D, H = 32, 2, 12


def best_of(repeat, function):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    lstm = solution_namespace(REPO / "solutions" / "03_lstm" / "03_lstm.ipynb")
    training = solution_namespace(REPO / "solutions" / "05_training" / "05_training.ipynb")
    threads = os.cpu_count()
    blas = [f"{info['internal_api']} {info['version']}" for info in threadpool_info() if info["user_api"] == "blas"]
    print(f"BLAS: {', '.join(blas) or 'none found'}; {threads} CPUs; best of {args.repeat}")
    rng = np.random.default_rng(0)
    for T in (25, 50, 75, 100):
        x, h0 = rng.normal(size=(N, T, D)), np.zeros((N, H))
        Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)) / np.sqrt(H), np.zeros(4 * H)
        h, cache = lstm["lstm_forward"](x, h0, Wx, Wh, b)
        dh = rng.normal(size=h.shape)
        seconds = {}
        for count in (threads, 1):
            with threadpool_limits(limits=count, user_api="blas"):
                seconds[count] = best_of(args.repeat, lambda: lstm["lstm_backward"](dh, cache))
        print(f"lstm_backward T = {T:3d}: {threads} threads {1e3 * seconds[threads]:7.2f} ms, "
              f"1 thread {1e3 * seconds[1]:6.2f} ms, ratio {seconds[threads] / seconds[1]:5.1f}")
    batches = [adding_problem(N, 100, seed=step) for step in range(args.steps)]

    def train():
        params = training["init_params"]("lstm", D, H, 1)
        training["train"](params, training["regression_loss"]("lstm"), batches, lr=5e-3, max_norm=1.0)

    seconds = {}
    for count in (threads, 1):
        with threadpool_limits(limits=count, user_api="blas"):
            seconds[count] = best_of(max(1, args.repeat // 2), train)
    print(f"train, LSTM at T = 100, {args.steps} steps: {threads} threads {seconds[threads]:6.2f} s, "
          f"1 thread {seconds[1]:6.2f} s, ratio {seconds[threads] / seconds[1]:5.1f} "
          f"(05's run of 1,000 steps: about {seconds[1] * 1000 / args.steps:.0f} s on one thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
