"""Deep RLSP's feature function on MuJoCo: a state VAE whose latent code is ``phi(s)``.

Deep RLSP (Lindner et al., ICLR 2021) infers a linear reward ``theta . phi(s)``. On MuJoCo the
features are the latent code of a variational autoencoder fit once, before RLSP starts, to
states of random rollouts, so that a linear reward over them can express a preference for a
posture rather than for a raw coordinate. The original's encoder hands out a *sample* of the
posterior, so its features are noisy; :meth:`StateVAE.encode` does the same by default and
gives the posterior mean with ``sample=False``.

Differences from the original: states are standardised with the training data's mean and
standard deviation (the original fed raw observations, so its unit-variance decoder weighed
coordinates by their raw scale, velocities far above angles); weights start from PyTorch's
default initialisation, not Glorot's.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from rlrepro.models.fitting import as_tensor, device_of, mean_std, seeded, train
from rlrepro.models.mlp import mlp
from rlrepro.params import param


@dataclass(frozen=True)
class StateVAEConfig:
    """Sizes and training of the state VAE; the defaults are the original's MuJoCo settings."""

    latent_dim: int = param("size of phi(s), the latent code (paper: 30)", default=30, min=1)
    hidden_layers: int = param("hidden layers of the encoder and of the decoder (paper: 2)",
                               default=2, min=1)
    hidden_size: int = param("units per hidden layer (paper: 512)", default=512, min=1)
    negative_slope: float = param("slope of the leaky ReLUs below 0 (paper: 0.2, TensorFlow's "
                                  "default)", default=0.2, min=0.0, max=1.0)
    kl_weight: float = param("beta, the weight of the KL term of the ELBO (paper: 0.001)",
                             default=0.001, min=0.0)
    prior_std: float = param("standard deviation of the Gaussian prior over the latent code "
                             "(paper: 1)", default=1.0, min=1e-6)
    lr: float = param("Adam step size (paper: 1e-5)", default=1e-5, min=1e-8, max=1.0)
    epochs: int = param("passes through the training states (paper: 100)", default=100, min=1)
    batch_size: int = param("states per gradient step (paper: 500)", default=500, min=1)


class StateVAE(nn.Module):
    """Gaussian encoder ``q(z | s)`` and unit-variance Gaussian decoder ``p(s | z)`` over
    standardised states, with a ``N(0, prior_std^2)`` prior on ``z``.

    ``state_mean`` / ``state_std`` are buffers set by :func:`fit` from its training states, so a
    saved state dict carries the normalisation with the weights.
    """

    def __init__(self, state_dim: int, cfg: StateVAEConfig = StateVAEConfig(), seed: int = 0):
        super().__init__()
        self.cfg = cfg
        hidden = [cfg.hidden_size] * cfg.hidden_layers
        activation = functools.partial(nn.LeakyReLU, cfg.negative_slope)
        with seeded(seed):
            self.encoder = mlp([state_dim, *hidden, 2 * cfg.latent_dim], activation)
            self.decoder = mlp([cfg.latent_dim, *hidden, state_dim], activation)
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))

    def posterior(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of ``q(z | s)``, each ``(N, latent_dim)``."""
        mean, raw_std = self.encoder((states - self.state_mean) / self.state_std).chunk(2, dim=-1)
        return mean, nn.functional.softplus(raw_std).clamp(min=1e-10)

    @torch.no_grad()
    def encode(self, states, *, sample: bool = True, generator: torch.Generator | None = None):
        """The features ``phi(s) (N, latent_dim)`` of ``states (N, state_dim)``: a posterior
        sample as in the original (drawn with ``generator``, on the model's device), or with
        ``sample=False`` the posterior mean, a deterministic feature."""
        mean, std = self.posterior(as_tensor(states, device_of(self)))
        if not sample:
            return mean
        return mean + std * torch.randn(mean.shape, generator=generator, device=mean.device)

    @torch.no_grad()
    def decode(self, latents) -> torch.Tensor:
        """The decoder's mean state ``(N, state_dim)`` for ``latents (N, latent_dim)``."""
        z = as_tensor(latents, device_of(self))
        return self.decoder(z) * self.state_std + self.state_mean

    def negative_elbo(self, states: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss, averaged over the batch: the negative log-likelihood of the
        standardised states under one posterior sample, plus ``kl_weight`` times
        ``KL(q(z | s) || prior)``."""
        x = (states - self.state_mean) / self.state_std
        mean, std = self.posterior(states)
        z = mean + std * torch.randn(mean.shape, generator=generator, device=mean.device)
        nll = 0.5 * ((x - self.decoder(z)) ** 2).sum(-1) + 0.5 * x.shape[-1] * math.log(2 * math.pi)
        ratio = std / self.cfg.prior_std
        kl = (0.5 * (ratio ** 2 + (mean / self.cfg.prior_std) ** 2 - 1) - ratio.log()).sum(-1)
        return (nll + self.cfg.kl_weight * kl).mean()


def fit(model: StateVAE, states, cfg: StateVAEConfig, seed: int = 0, *,
        progress: bool = False) -> list[float]:
    """Set ``model``'s normalisation from ``states (N, state_dim)`` (numpy or torch) and train it
    for ``cfg.epochs`` passes of ``cfg.batch_size`` states; mini-batches and posterior samples
    come from ``seed``. Returns the loss of every step."""
    device = device_of(model)
    states = as_tensor(states, device)
    model.state_mean[:], model.state_std[:] = mean_std(states)
    generator = torch.Generator(device).manual_seed(seed)
    return train(lambda batch: model.negative_elbo(states[batch], generator),
                 model.parameters(), len(states), lr=cfg.lr, epochs=cfg.epochs,
                 batch_size=cfg.batch_size, generator=generator, desc="state VAE",
                 progress=progress)
