"""Deep RLSP's inverse policy on MuJoCo: a mixture density network ``pi^-1(a | s')``.

Simulating the past also needs the action that led to a state. Which one it was depends on the
current policy, so Deep RLSP (Lindner et al., ICLR 2021) builds a fresh network every RLSP
iteration (construct a new :class:`InversePolicy` with a new seed) and trains it one epoch on
pairs ``(s', a)``: ``a`` from the current SAC policy at a replay state ``s`` and ``s'`` from
the true simulator. Several actions can lead to similar states, so the output is a mixture of
Gaussians with a fixed standard deviation; only the component means and weights are learned.
The weights see both the last hidden layer and the input itself, as in the original.

Differences from the original: states are standardised with the training data's mean and
standard deviation (the original fed raw observations); the mixture log-likelihood is a
log-sum-exp of log-softmax weights, where the original clipped the weight logits to [0.1, 10]
to keep TensorFlow's mixture from returning NaNs (that clip also stopped the gradient of any
logit outside the range); weights start from PyTorch's default initialisation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rlrepro.models.fitting import as_tensor, device_of, mean_std, seeded, train
from rlrepro.models.mlp import mlp
from rlrepro.params import param


@dataclass(frozen=True)
class InversePolicyConfig:
    """Sizes and training of the inverse policy; the defaults are the original's MuJoCo
    settings."""

    components: int = param("Gaussian components of the mixture (paper: 5)", default=5, min=1)
    std: float = param("fixed standard deviation of every component, per action coordinate "
                       "(paper: 0.05)", default=0.05, min=1e-6)
    hidden_layers: int = param("hidden ReLU layers (paper: 3)", default=3, min=1)
    hidden_size: int = param("units per hidden layer (paper: 512)", default=512, min=1)
    lr: float = param("Adam step size (paper: 1e-4)", default=1e-4, min=1e-8, max=1.0)
    epochs: int = param("passes through the (s', a) pairs of an iteration (paper: 1)", default=1,
                        min=1)
    batch_size: int = param("pairs per gradient step (paper: 500)", default=500, min=1)


class InversePolicy(nn.Module):
    """Mixture of ``components`` Gaussians over actions given the next state ``s'``.

    Buffers: the state normalisation, set by :func:`fit`, and the action bounds that samples are
    clipped to.
    """

    def __init__(self, state_dim: int, action_low, action_high,
                 cfg: InversePolicyConfig = InversePolicyConfig(), seed: int = 0):
        super().__init__()
        self.cfg = cfg
        low, high = as_tensor(action_low, "cpu"), as_tensor(action_high, "cpu")
        self.action_dim = len(low)
        with seeded(seed):
            self.trunk = nn.Sequential(
                mlp([state_dim, *[cfg.hidden_size] * cfg.hidden_layers]), nn.ReLU())
            self.means = nn.Linear(cfg.hidden_size, cfg.components * self.action_dim)
            self.logits = nn.Linear(cfg.hidden_size + state_dim, cfg.components)
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))
        self.register_buffer("action_low", low)
        self.register_buffer("action_high", high)

    def mixture(self, next_states) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-weights ``(N, components)`` and means ``(N, components, action_dim)`` of the
        mixture for each of ``next_states (N, state_dim)``."""
        x = (as_tensor(next_states, device_of(self)) - self.state_mean) / self.state_std
        h = self.trunk(x)
        log_weights = self.logits(torch.cat([h, x], dim=-1)).log_softmax(dim=-1)
        return log_weights, self.means(h).unflatten(-1, (self.cfg.components, self.action_dim))

    def log_prob(self, next_states, actions) -> torch.Tensor:
        """``log pi^-1(a | s')`` of each row, ``(N,)``."""
        log_weights, means = self.mixture(next_states)
        a = as_tensor(actions, means.device).unsqueeze(-2)
        z = (a - means) / self.cfg.std
        log_normal = (-0.5 * z ** 2).sum(-1) - self.action_dim * (
            math.log(self.cfg.std) + 0.5 * math.log(2 * math.pi))
        return torch.logsumexp(log_weights + log_normal, dim=-1)

    @torch.no_grad()
    def sample(self, next_states, generator: torch.Generator | None = None) -> torch.Tensor:
        """One action ``(N, action_dim)`` per row of ``next_states``, drawn with ``generator``
        (on the model's device) and clipped to the action bounds."""
        log_weights, means = self.mixture(next_states)
        k = torch.multinomial(log_weights.exp(), 1, generator=generator)
        mean = means.gather(1, k.unsqueeze(-1).expand(-1, 1, self.action_dim)).squeeze(1)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        return (mean + self.cfg.std * noise).clamp(self.action_low, self.action_high)


def fit(model: InversePolicy, next_states, actions, cfg: InversePolicyConfig, seed: int = 0,
        *, progress: bool = False) -> list[float]:
    """Set ``model``'s state normalisation from ``next_states`` and train it on the negative
    log-likelihood of ``actions`` (rows of numpy or torch arrays); batches come from ``seed``.
    Returns the loss of every step."""
    device = device_of(model)
    next_states, actions = as_tensor(next_states, device), as_tensor(actions, device)
    model.state_mean[:], model.state_std[:] = mean_std(next_states)
    generator = torch.Generator(device).manual_seed(seed)
    return train(lambda batch: -model.log_prob(next_states[batch], actions[batch]).mean(),
                 model.parameters(), len(next_states), lr=cfg.lr, epochs=cfg.epochs,
                 batch_size=cfg.batch_size, generator=generator, desc="inverse policy",
                 progress=progress)
