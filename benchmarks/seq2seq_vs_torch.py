"""Notebook 08's encoder–decoder with attention: training steps per second of the NumPy model against the same model
in PyTorch, float64, one thread.

    python benchmarks/seq2seq_vs_torch.py [--repeat 10]

One step is what notebook 08's training cell does per batch of 64 dates: the loss and every gradient (the course's
seq2seq_loss: 07's bidirectional encoder on 03's LSTM step, a decoder with scaled dot-product attention, 05's
temporal softmax loss), clipping and an Adam update (05's train, one batch). The PyTorch model is the same:
torch.nn.Embedding, torch.nn.LSTM(bidirectional=True) on the packed batch, torch.nn.LSTM for the decoder from the
encoder's final states, torch.nn.functional.scaled_dot_product_attention with the padding masked, a linear readout of
[state, context], cross-entropy over the target steps, clip_grad_norm_ and torch.optim.Adam. Prints steps per second
of each and their ratio (below 1.0: the NumPy model makes fewer steps per second). The NumPy functions are the
reference solutions, loaded from the solution notebook (and the earlier notebooks it reads).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402
from timing import median_time  # noqa: E402

BATCH, EMBED, HIDDEN, LR, MAX_NORM = 64, 16, 32, 0.01, 5.0  # notebook 08's training cell


def numpy_run(ns, batch):
    params = ns["init_seq2seq"](EMBED, HIDDEN, 0)

    def run():
        ns["train"](params, lambda params, batch: ns["seq2seq_loss"](params, batch, True), [batch], LR, MAX_NORM)

    return run


class Seq2seq(torch.nn.Module):
    def __init__(self, V_in, V_out):
        super().__init__()
        Hd = 2 * HIDDEN
        self.source, self.target = torch.nn.Embedding(V_in, EMBED), torch.nn.Embedding(V_out, EMBED)
        self.encoder = torch.nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=True)
        self.decoder = torch.nn.LSTM(EMBED, Hd, batch_first=True)
        self.keys = torch.nn.Linear(2 * HIDDEN, Hd, bias=False)
        self.readout = torch.nn.Linear(Hd + 2 * HIDDEN, V_out)

    def forward(self, x, lengths, y_in):
        packed = pack_padded_sequence(self.source(x), lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = self.encoder(packed)
        enc, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h0, c0 = torch.cat([h_n[0], h_n[1]], dim=1)[None], torch.cat([c_n[0], c_n[1]], dim=1)[None]
        s, _ = self.decoder(self.target(y_in), (h0, c0))
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None])[:, None, :].expand(-1, y_in.shape[1], -1)
        context = F.scaled_dot_product_attention(s, self.keys(enc), enc, attn_mask=mask)
        return self.readout(torch.cat([s, context], dim=2))


def torch_run(batch, V_in, V_out):
    x, lengths, y_in, y_out, y_mask = (torch.tensor(array) for array in batch)
    model = Seq2seq(V_in, V_out).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def run():
        optimizer.zero_grad()
        scores = model(x, lengths, y_in)
        each = F.cross_entropy(scores.reshape(-1, V_out), y_out.reshape(-1), reduction="none")
        loss = (each * y_mask.reshape(-1)).sum() / len(x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        optimizer.step()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    ns = solution_namespace(REPO / "solutions/08_seq2seq/08_seq2seq.ipynb")
    rng = np.random.default_rng(0)  # a batch as the notebook's batches() draws it
    pairs = [ns["train_pairs"][i] for i in rng.integers(0, len(ns["train_pairs"]), BATCH)]
    drawn = ns["encode_dates"](pairs, ns["source_vocab"], ns["target_vocab"])
    batch = (drawn["x"], drawn["x_lengths"], drawn["y_in"], drawn["y_out"], drawn["y_mask"])
    V_in, V_out = len(ns["source_vocab"]), len(ns["target_vocab"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; numpy {np.__version__}")
    print(f"a batch of {BATCH} dates, input length {batch[0].shape[1]}, embed {EMBED}, hidden {HIDDEN} per direction")
    ours = 1 / median_time(numpy_run(ns, batch), args.repeat)
    theirs = 1 / median_time(torch_run(batch, V_in, V_out), args.repeat)
    print(f"{'numpy steps/s':>14s} {'torch steps/s':>14s} {'numpy/torch':>12s}")
    print(f"{ours:14.1f} {theirs:14.1f} {ours / theirs:11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
