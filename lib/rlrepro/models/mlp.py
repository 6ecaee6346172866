"""The one MLP builder of the package: agents, inverse models and world models all use it.

An MLP can also be an *ensemble* (``EnsembleMLP``): several independent networks of the same
sizes evaluated together, their weights stacked along a leading axis and every layer one batched
matmul. The agents use this for their twin critics and for several seeds trained in one process.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class EnsembleMLP(nn.Module):
    """Independent MLPs of the same sizes, one per index of ``shape`` (e.g. ``(members,
    critics)``), every layer one batched matmul; each layer is initialised like ``nn.Linear``.

    The weights are stored flat, ``(prod(shape), in, out)`` with the indices of ``shape`` in
    row-major order, and the forward pass is a plain loop of ``baddbmm`` and ReLU:
    ``x (prod(shape), N, in) -> (prod(shape), N, out)``. At the cpu profiles' sizes an update is
    dominated by per-op overhead; reshaping every input, weight and bias, and calling a module
    per layer, cost ~15% of it.
    """

    def __init__(self, sizes: list[int], shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)
        count = math.prod(self.shape)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(n_in)  # nn.Linear's default initialisation
            self.weights.append(nn.Parameter(torch.empty(count, n_in, n_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(count, 1, n_out).uniform_(-bound, bound)))

    def forward(self, x, first: int | None = None, layers: int | None = None):
        """All MLPs, or with ``first`` only the first ones along the last axis of ``shape``
        (TD3's actor is trained on its first critic alone): then ``x`` holds only those. With
        ``layers``, only the first ``layers`` layers (the output before their activation)."""
        for i, (weight, bias) in enumerate(zip(self.weights[:layers], self.biases[:layers])):
            if first is not None:
                weight, bias = (t.unflatten(0, self.shape)[..., :first, :, :].flatten(0, -3)
                                for t in (weight, bias))
            x = torch.baddbmm(bias, x if i == 0 else torch.relu(x), weight)
        return x


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last).

    ``mlp([4, 64, 64, 2])`` maps 4 inputs through two hidden layers of 64 units to 2 outputs.
    ``EnsembleMLP(sizes, shape)`` is ``prod(shape)`` of them evaluated together.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output size, got {sizes}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
