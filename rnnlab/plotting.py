"""Matplotlib pictures the notebooks use. Each function draws on ``ax`` (a new
figure when ``ax`` is None) and returns the Axes, so pictures can be combined."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def _axes(ax, figsize=(6, 3.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_heatmap(values, ax=None, title=None, xlabel="time step t", ylabel="unit", cmap="RdBu_r", vmin=-1, vmax=1):
    """
    A units x time picture of hidden states or gate activations.

    Inputs:
    - values: Array of shape (T, H), one row per time step (e.g. h[0] of an (N, T, H) array)
    - vmin, vmax: Colour range; (-1, 1) suits tanh states, use (0, 1) for sigmoid gates
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must have shape (T, H), got {values.shape}")
    ax = _axes(ax, figsize=(7, 3))
    image = ax.imshow(values.T, aspect="auto", origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def plot_gradient_norms(norms, ax=None, label=None, steps_back=True):
    """
    Gradient norm against how far back in time it has flowed, on a log scale,
    where vanishing shows as a straight line going down.

    Inputs:
    - norms: Array of shape (T,); norms[t] is ||dL/dh_t|| for t = 0 .. T-1,
      with the loss at the last step T-1
    - steps_back: Plot against k = T-1-t (steps back from the loss) instead of t
    """
    norms = np.asarray(norms, dtype=np.float64)
    ax = _axes(ax)
    T = len(norms)
    if steps_back:
        ax.plot(np.arange(T), norms[::-1], marker=".", label=label)
        ax.set_xlabel("k, steps back from the loss")
    else:
        ax.plot(np.arange(T), norms, marker=".", label=label)
        ax.set_xlabel("time step t")
    ax.set_yscale("log")
    ax.set_ylabel("gradient norm")
    if label:
        ax.legend()
    return ax


def draw_unrolled_rnn(T=4, ax=None, cell="RNN", state="h"):
    """
    Diagram of a recurrent cell unrolled over T steps: the same cell (same weights)
    at every step, the input x_t coming in from below, the state passed to the right.
    """
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    ax = _axes(ax, figsize=(1.8 * T + 1.5, 2.6))
    for t in range(T):
        left = 1.8 * t + 0.9
        ax.add_patch(FancyBboxPatch((left, 1.0), 1.0, 0.8, boxstyle="round,pad=0.05", facecolor="#dbe9f6", edgecolor="#1f4e79"))
        ax.text(left + 0.5, 1.4, cell, ha="center", va="center", fontsize=11)
        ax.text(left + 0.5, 0.05, f"$x_{t + 1}$", ha="center", va="center", fontsize=12)
        ax.text(left + 0.5, 2.75, f"${state}_{t + 1}$", ha="center", va="center", fontsize=12)
        ax.add_patch(FancyArrowPatch((left + 0.5, 0.25), (left + 0.5, 0.95), arrowstyle="-|>", mutation_scale=12))
        ax.add_patch(FancyArrowPatch((left + 0.5, 1.85), (left + 0.5, 2.55), arrowstyle="-|>", mutation_scale=12))
        ax.add_patch(FancyArrowPatch((left - 0.75, 1.4), (left - 0.05, 1.4), arrowstyle="-|>", mutation_scale=12))
    ax.text(0.1, 1.6, f"${state}_0$", ha="center", va="center", fontsize=12)
    ax.set_xlim(-0.2, 1.8 * T + 1.0)
    ax.set_ylim(-0.2, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{cell} unrolled over {T} steps: one set of weights, used at every step")
    return ax
