"""Training throughput: notebook 05's NumPy training step against torch.nn.LSTM + torch.optim.Adam, CPU, float64.

    python benchmarks/training_vs_torch.py [--steps 200] [--repeat 3]

One step is what notebook 05's ``train`` does per batch: forward and backward through an LSTM
(H = 32, T = 50, batch 32, the adding problem's D = 2) and its readout, global-norm clipping, an
Adam update. The NumPy side is the reference solutions (05's model code on 01/03's cells, loaded
from the solution notebooks); the PyTorch side does the same with nn.LSTM, nn.Linear,
clip_grad_norm_ and Adam, on one thread as the grader's kernels run. Prints steps per second of
each (best of ``repeat`` runs) and the ratio.
"""

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402
from rnnlab.data import adding_problem  # noqa: E402

N, T, D, H = 32, 50, 2, 32


def numpy_steps_per_second(steps, repeat):
    ns = solution_namespace(REPO / "solutions" / "05_training" / "05_training.ipynb")
    batches = [adding_problem(N, T, seed=step) for step in range(steps)]
    best = float("inf")
    for _ in range(repeat):
        params = ns["init_params"]("lstm", D, H, 1)
        start = time.perf_counter()
        ns["train"](params, ns["regression_loss"]("lstm"), batches, lr=5e-3, max_norm=1.0)
        best = min(best, time.perf_counter() - start)
    return steps / best


def torch_steps_per_second(steps, repeat):
    batches = [tuple(torch.tensor(a) for a in adding_problem(N, T, seed=step)) for step in range(steps)]
    best = float("inf")
    for _ in range(repeat):
        torch.manual_seed(0)
        lstm, readout = torch.nn.LSTM(D, H, batch_first=True).double(), torch.nn.Linear(H, 1).double()
        parameters = [*lstm.parameters(), *readout.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=5e-3)
        start = time.perf_counter()
        for x, y in batches:
            optimizer.zero_grad()
            h, _ = lstm(x)
            loss = torch.nn.functional.mse_loss(readout(h[:, -1]), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
        best = min(best, time.perf_counter() - start)
    return steps / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ours = numpy_steps_per_second(args.steps, args.repeat)
    theirs = torch_steps_per_second(args.steps, args.repeat)
    print(f"LSTM H={H}, T={T}, batch {N}, float64, {args.steps} steps (best of {args.repeat})")
    print(f"  NumPy (notebook 05):          {ours:7.1f} steps/s")
    print(f"  torch.nn.LSTM + optim.Adam:   {theirs:7.1f} steps/s")
    print(f"  ratio NumPy / PyTorch:        {ours / theirs:7.2f}  (above 1: NumPy trains faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
