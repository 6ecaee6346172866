"""The one MLP builder of the package: agents, inverse models and world models all use it."""
from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last).

    ``mlp([4, 64, 64, 2])`` maps 4 inputs through two hidden layers of 64 units to 2 outputs.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output size, got {sizes}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
