"""Notebook 07's stacked bidirectional encoder (forward + backward) against the same model in torch.nn.LSTM, on a
padded batch, float64, one thread.

    python benchmarks/encoder_vs_torch.py [--repeat 10]

One step is the encoder's forward and backward pass over a padded batch (as in a training step of 07's classifier):
the course's encoder_forward / encoder_backward built on 03's lstm_step_forward / lstm_step_backward, and
torch.nn.LSTM(num_layers=2, bidirectional=True, batch_first=True) on the batch packed with pack_padded_sequence.
Prints steps per second of each and their ratio (below 1.0: the NumPy encoder makes fewer steps per second).
The NumPy functions are the reference solutions, loaded from the solution notebook.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402
from timing import median_time  # noqa: E402

# 07's classifier (names: N = 64, T about 10, D = 8, H = 16) and a larger batch of longer sequences
SIZES = [dict(N=64, T=10, D=8, H=16, layers=2), dict(N=32, T=50, D=32, H=64, layers=2)]


def batch(N, T, D, H, layers):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    return rng, rng.normal(size=(N, T, D)), lengths


def numpy_run(ns, N, T, D, H, layers):
    rng, x, lengths = batch(N, T, D, H, layers)
    params = [[{"Wx": rng.normal(scale=0.1, size=(D if layer == 0 else 2 * H, 4 * H)),
                "Wh": rng.normal(scale=0.1, size=(H, 4 * H)), "b": np.zeros(4 * H)} for _ in range(2)]
              for layer in range(layers)]
    dh = rng.normal(size=(N, T, 2 * H))
    dh_n, dc_n = rng.normal(size=(2, 2 * layers, N, H))

    def run():
        *_, cache = ns["encoder_forward"](x, lengths, params)
        ns["encoder_backward"](dh, dh_n, dc_n, cache)

    return run


def torch_run(N, T, D, H, layers):
    rng, x, lengths = batch(N, T, D, H, layers)
    module = torch.nn.LSTM(D, H, num_layers=layers, bidirectional=True, batch_first=True).double()
    xt = torch.tensor(x, requires_grad=True)
    dh = torch.tensor(rng.normal(size=(N, T, 2 * H)))
    dh_n, dc_n = torch.tensor(rng.normal(size=(2, 2 * layers, N, H)))

    def run():
        module.zero_grad()
        packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = module(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        ((out * dh).sum() + (h_n * dh_n).sum() + (c_n * dc_n).sum()).backward()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = solution_namespace(REPO / "solutions/07_deep_bidirectional/07_deep_bidirectional.ipynb")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; numpy {np.__version__}")
    print(f"{'N':>3s} {'T':>3s} {'D':>3s} {'H':>3s} {'layers':>6s} {'numpy steps/s':>14s} {'torch steps/s':>14s} "
          f"{'numpy/torch':>12s}")
    for size in SIZES:
        ours = 1 / median_time(numpy_run(ns, **size), args.repeat)
        theirs = 1 / median_time(torch_run(**size), args.repeat)
        print(f"{size['N']:3d} {size['T']:3d} {size['D']:3d} {size['H']:3d} {size['layers']:6d} {ours:14.1f} "
              f"{theirs:14.1f} {ours / theirs:11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
