"""Notebook 08's experiment over seeds: exact-match accuracy on the test dates with and without attention, by input
length, after the notebook's budget (and others), for the closing claims of its sections 4 and 5.

    python benchmarks/seq2seq_seeds.py [--seeds 0 1 2 3 4] [--steps 300] [--widths 1 3 5]

Trains exactly as the notebook's training cell does (the reference solutions, loaded from the solution notebook and
the earlier ones it reads), for each seed and with and without attention, then decodes the notebook's 1,000 test
dates greedily (and, for the model without attention, measures the exposure gap and decodes the first 300 with
beam search of each width). Prints one
table per seed and the range over seeds. Takes about a minute per seed and budget on this machine.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.examples import solution_namespace  # noqa: E402

BINS = [(6, 10), (10, 15), (15, 20), (20, 31)]
EMBED, HIDDEN, BATCH, LR, MAX_NORM = 16, 32, 64, 0.01, 5.0  # the notebook's


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    ns = solution_namespace(REPO / "solutions/08_seq2seq/08_seq2seq.ipynb")
    test, source, target = ns["test"], ns["source_vocab"], ns["target_vocab"]
    lengths = test["x_lengths"]
    exact = {}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)  # as the notebook's batches(train_pairs, steps, seed)
        batches = []
        for _ in range(args.steps):
            drawn = ns["encode_dates"]([ns["train_pairs"][i] for i in rng.integers(0, len(ns["train_pairs"]), BATCH)],
                                       source, target)
            batches.append((drawn["x"], drawn["x_lengths"], drawn["y_in"], drawn["y_out"], drawn["y_mask"]))
        for attention in (True, False):
            params = ns["init_seq2seq"](EMBED, HIDDEN, seed)
            start = time.perf_counter()
            ns["train"](params, lambda p, b, a=attention: ns["seq2seq_loss"](p, b, a), batches, LR, MAX_NORM)
            seconds = time.perf_counter() - start
            ids = ns["greedy_decode"](params, test["x"], lengths, 11, attention)[0]
            right = np.all(ids == test["y_out"], axis=1)
            exact[seed, attention] = [right[(lengths >= low) & (lengths < high)].mean() for low, high in BINS] + [right.mean()]
            print(f"seed {seed}, {'with' if attention else 'without'} attention: {args.steps} steps in {seconds:.0f} s; "
                  "exact by length " + ", ".join(f"{low}-{high - 1}: {value:.3f}" for (low, high), value
                                                  in zip(BINS, exact[seed, attention])) + f"; all {right.mean():.3f}",
                  flush=True)
            if not attention:  # the exposure gap: per-character accuracy given the true previous characters, and not
                enc, h0, c0, _ = ns["encode_source"](params, test["x"], lengths)
                forced = ns["decoder_forward"](test["y_in"], h0, c0, enc, lengths, params, False)[0].argmax(axis=2)
                print(f"    per-character accuracy: {ns['char_accuracy'](forced, test['y_out'], test['y_mask']):.3f} "
                      f"teacher-forced, {ns['char_accuracy'](ids, test['y_out'], test['y_mask']):.3f} reading its own",
                      flush=True)
                few = slice(0, 300)
                for k in args.widths:
                    beam_ids, _ = ns["beam_decode"](params, test["x"][few], lengths[few], k, False)
                    print(f"    beam width {k}: exact {np.all(beam_ids == test['y_out'][few], axis=1).mean():.3f} "
                          "on the first 300", flush=True)
    for attention in (True, False):
        rows = np.array([exact[seed, attention] for seed in args.seeds])
        print(f"{'with' if attention else 'without'} attention over seeds {args.seeds}: " + ", ".join(
            f"{label}: {low:.3f}-{high:.3f}" for label, low, high in
            zip([f"{a}-{b - 1}" for a, b in BINS] + ["all"], rows.min(axis=0), rows.max(axis=0))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
