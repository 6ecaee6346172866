"""The one MLP builder of the package: agents, inverse models and world models all use it.

An MLP can also be an *ensemble*: several independent networks of the same sizes evaluated
together, their weights stacked along leading axes and every layer one batched matmul. The
agents use this for their twin critics and for several seeds trained in one process.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class EnsembleLinear(nn.Module):
    """Independent linear layers, one per index of ``shape``, evaluated in one batched matmul.

    ``x (*shape, N, in) -> (*shape, N, out)``; each member is initialised like ``nn.Linear``.
    """

    def __init__(self, shape: tuple[int, ...], in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(*shape, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(*shape, 1, out_features).uniform_(-bound, bound))

    def forward(self, x, first: int | None = None):
        """All members, or with ``first`` only the first ones along the last member axis (TD3's
        actor is trained on its first critic alone)."""
        weight, bias = self.weight, self.bias
        if first is not None:
            weight, bias = weight[..., :first, :, :], bias[..., :first, :, :]
        members = weight.shape[:-2]
        out = torch.baddbmm(bias.reshape(-1, *bias.shape[-2:]), x.reshape(-1, *x.shape[-2:]),
                            weight.reshape(-1, *weight.shape[-2:]))
        return out.view(*members, *out.shape[-2:])


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU,
        members: tuple[int, ...] | None = None) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last).

    ``mlp([4, 64, 64, 2])`` maps 4 inputs through two hidden layers of 64 units to 2 outputs.
    With ``members``, an ensemble of independent MLPs (``EnsembleLinear`` layers) that maps
    ``(*members, N, 4)`` to ``(*members, N, 2)``.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output size, got {sizes}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out) if members is None
                      else EnsembleLinear(members, n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
