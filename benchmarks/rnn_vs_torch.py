"""Reference NumPy LSTM and GRU (forward + backward) against torch.nn.LSTM / torch.nn.GRU on the CPU, float64.

    python benchmarks/rnn_vs_torch.py [--repeat 20]

Prints the median time of each and the ratio NumPy / PyTorch (below 1.0: NumPy is faster).
The NumPy functions are the reference solutions, loaded from the solution notebooks.
PyTorch's GRU is the reset-after variant; the course's is reset-before: the same amount of work.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402
from timing import median_time  # noqa: E402

SIZES = [dict(N=32, T=50, D=64, H=128), dict(N=1, T=25, D=65, H=100)]


def numpy_run(ns, kind, N, T, D, H):
    gates = {"lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh = rng.normal(scale=0.1, size=(D, gates * H)), rng.normal(scale=0.1, size=(H, gates * H))
    b, dh = np.zeros(gates * H), rng.normal(size=(N, T, H))
    forward, backward = ns[f"{kind}_forward"], ns[f"{kind}_backward"]

    def run():
        _, cache = forward(x, h0, Wx, Wh, b)
        backward(dh, cache)

    return run


def torch_run(kind, N, T, D, H):
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](D, H, batch_first=True).double()
    x = torch.randn(N, T, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, N, H, dtype=torch.float64, requires_grad=True)
    dh = torch.randn(N, T, H, dtype=torch.float64)
    state = (h0, torch.zeros_like(h0)) if kind == "lstm" else h0

    def run():
        module.zero_grad()
        out, _ = module(x, state)
        out.backward(dh)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    notebooks = {"lstm": solution_namespace(REPO / "solutions/03_lstm/03_lstm.ipynb"),
                 "gru": solution_namespace(REPO / "solutions/04_gru/04_gru.ipynb")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"{'cell':5s} {'N':>3s} {'T':>3s} {'D':>3s} {'H':>4s} {'numpy ms':>9s} {'torch ms':>9s} {'numpy/torch':>12s}")
    for kind in ("lstm", "gru"):
        for size in SIZES:
            ours = median_time(numpy_run(notebooks[kind], kind, **size), args.repeat)
            theirs = median_time(torch_run(kind, **size), args.repeat)
            print(f"{kind:5s} {size['N']:3d} {size['T']:3d} {size['D']:3d} {size['H']:4d} "
                  f"{ours * 1e3:9.2f} {theirs * 1e3:9.2f} {ours / theirs:11.2f}x")


if __name__ == "__main__":
    main()
