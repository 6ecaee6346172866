"""Deep RLSP's inverse dynamics on MuJoCo: the previous state ``s`` from ``(s', a)``.

Simulating the past needs ``T^-1(s | s', a)``, which a simulator does not offer. Deep RLSP
(Lindner et al., ICLR 2021) regresses it with a deterministic MLP fit once, before RLSP starts,
to random-rollout transitions. The network predicts the standardised change ``s - s'`` rather
than ``s`` (one step changes a state little, so the change is the informative part), and the
prediction is clipped to the range of changes seen in training, so that chaining it backward for
many steps cannot run off to states no transition ever reached.

Differences from the original: mini-batches are shuffled passes through the data (the original
drew each batch independently); weights start from PyTorch's default initialisation, not
Glorot's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlrepro.models.fitting import as_tensor, device_of, mean_std, seeded, train
from rlrepro.models.mlp import mlp
from rlrepro.params import param


@dataclass(frozen=True)
class InverseDynamicsConfig:
    """Sizes and training of the inverse dynamics; the defaults are the original's MuJoCo
    settings."""

    hidden_layers: int = param("hidden ReLU layers (paper: 5)", default=5, min=1)
    hidden_size: int = param("units per hidden layer (paper: 1024)", default=1024, min=1)
    noise: float = param("standard deviation of the Gaussian noise added during training to the "
                         "standardised inputs and targets, a smoothness regulariser (paper: "
                         "0.001)", default=0.001, min=0.0)
    lr: float = param("Adam step size (paper: 1e-5)", default=1e-5, min=1e-8, max=1.0)
    epochs: int = param("passes through the training transitions (paper: 100)", default=100,
                        min=1)
    batch_size: int = param("transitions per gradient step (paper: 500)", default=500, min=1)


class InverseDynamics(nn.Module):
    """MLP from standardised ``(s', a)`` to the standardised change ``s - s'``.

    Its buffers, set by :func:`fit` from the training transitions, carry the normalisation with
    the weights: state statistics over both ``s`` and ``s'``, action statistics, and the mean,
    standard deviation, minimum and maximum of ``s - s'``.
    """

    def __init__(self, state_dim: int, action_dim: int,
                 cfg: InverseDynamicsConfig = InverseDynamicsConfig(), seed: int = 0):
        super().__init__()
        with seeded(seed):
            self.net = mlp([state_dim + action_dim, *[cfg.hidden_size] * cfg.hidden_layers,
                            state_dim])
        for name, dim in [("state", state_dim), ("action", action_dim), ("delta", state_dim)]:
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))
        self.register_buffer("delta_min", torch.full((state_dim,), -torch.inf))
        self.register_buffer("delta_max", torch.full((state_dim,), torch.inf))

    def _inputs(self, next_states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.cat([(next_states - self.state_mean) / self.state_std,
                          (actions - self.action_mean) / self.action_std], dim=-1)

    @torch.no_grad()
    def predict_previous(self, next_states, actions) -> torch.Tensor:
        """The states ``(N, state_dim)`` that ``actions (N, action_dim)`` led from to
        ``next_states (N, state_dim)``: ``s' + clip(predicted s - s')``."""
        device = device_of(self)
        next_states, actions = as_tensor(next_states, device), as_tensor(actions, device)
        delta = self.net(self._inputs(next_states, actions)) * self.delta_std + self.delta_mean
        return next_states + delta.clamp(self.delta_min, self.delta_max)


def fit(model: InverseDynamics, states, actions, next_states, cfg: InverseDynamicsConfig,
        seed: int = 0, *, progress: bool = False) -> list[float]:
    """Set ``model``'s normalisation from the transitions ``(states, actions, next_states)``
    (rows of numpy or torch arrays) and train it on the squared error of the standardised
    change, with ``cfg.noise`` on inputs and targets; batches and noise come from ``seed``.
    Returns the loss of every step."""
    device = device_of(model)
    states, actions, next_states = (as_tensor(x, device) for x in (states, actions, next_states))
    deltas = states - next_states
    model.state_mean[:], model.state_std[:] = mean_std(torch.cat([states, next_states]))
    model.action_mean[:], model.action_std[:] = mean_std(actions)
    model.delta_mean[:], model.delta_std[:] = mean_std(deltas)
    model.delta_min[:], model.delta_max[:] = deltas.amin(dim=0), deltas.amax(dim=0)
    inputs = model._inputs(next_states, actions)
    targets = (deltas - model.delta_mean) / model.delta_std
    generator = torch.Generator(device).manual_seed(seed)

    def loss(batch):
        x, y = inputs[batch], targets[batch]
        x = x + cfg.noise * torch.randn(x.shape, generator=generator, device=device)
        y = y + cfg.noise * torch.randn(y.shape, generator=generator, device=device)
        return nn.functional.mse_loss(model.net(x), y)

    return train(loss, model.parameters(), len(inputs), lr=cfg.lr, epochs=cfg.epochs,
                 batch_size=cfg.batch_size, generator=generator, desc="inverse dynamics",
                 progress=progress)
