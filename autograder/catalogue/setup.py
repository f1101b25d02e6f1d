"""00_setup: the two warm-up exercises. Their test cells hold their own numbers (no worked
examples file); the catalogue lists their common mistakes and how the grader re-checks them."""

import numpy as np

from autograder.catalogue import Catalogue, Mutant
from autograder.recheck import Probe
from rnnlab import data


def _targets(rng):
    return {"y": rng.normal(rng.normal(), rng.uniform(0.5, 3), size=(int(rng.integers(2, 30)), 1))}


def _adding_targets(rng):
    _, y = data.adding_problem(N=20000, T=20, seed=int(rng.integers(2**31)))
    return {"y": y}


def _mse(ns, y):
    return {"mse": ns["mean_baseline_mse"](y)}


def _ids(rng):
    V = int(rng.integers(2, 8))
    return {"ids": rng.integers(0, V, size=tuple(rng.integers(1, 5, size=2))), "V": np.array(V)}


def _one_hot(ns, ids, V):
    return {"out": ns["one_hot"](ids.astype(int), int(V))}


CATALOGUE = Catalogue(
    notebook="00_setup/00_setup.ipynb",
    depends={},
    examples=[],
    mistakes=[
        Mutant("mean_baseline_mse", "square root taken (that is the RMSE)",
                "Return the mean of the squared errors, without np.sqrt.",
                "float(np.mean((y - y.mean()) ** 2))", "float(np.sqrt(np.mean((y - y.mean()) ** 2)))"),
        Mutant("mean_baseline_mse", "the mean was never subtracted",
                "The prediction is the mean of y: square y - y.mean(), not y.", "(y - y.mean())", "y"),
        Mutant("one_hot", "the 1 is one column too far right",
                "Id 0 goes in column 0: index with the id itself, not id + 1.", "np.eye(V)", "np.eye(V, k=1)"),
    ],
    probes={
        "mean_baseline_mse_example": [Probe("values", "mean_baseline_mse on new targets", _targets, _mse)],
        # the cell accepts 1/6 +- 0.01 on 20,000 targets; so does its probe
        "mean_baseline_mse_adding": [Probe("values", "mean_baseline_mse on new adding-problem targets",
                                           _adding_targets, _mse, atol=0.01)],
        "one_hot_shape": [Probe("shapes", "one_hot on new ids", _ids, _one_hot)],
        "one_hot_values": [Probe("values", "one_hot on new ids", _ids, _one_hot)],
    },
)
