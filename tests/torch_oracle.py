"""What the PyTorch oracle tests share (tests/test_oracles.py, test_training.py, test_deep.py): float64 leaves that
record gradients, and their values back as NumPy arrays."""

import torch


def torch_leaf(array):
    """A float64 tensor of ``array`` that autograd computes gradients for."""
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def to_numpy(tensor):
    return tensor.detach().numpy()
