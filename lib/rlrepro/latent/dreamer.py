"""Dreamer (Hafner et al. 2020, "Dream to Control"): behaviour learned in imagination, by
backpropagating λ-returns through the world model's latent dynamics.

From posterior states of replayed sequences, the actor's reparameterised actions roll the
world model's prior forward ``horizon`` steps; the imagined rewards (the model's reward head)
and the value net's estimates make λ-returns. The actor maximises them by gradient through the
imagined transitions and rewards (the actor reads detached features, so that is its only
gradient); the value net regresses on them. As in Dreamer v1: a tanh-transformed Gaussian actor
(mean ``5 tanh(m / 5)``, std ``softplus(s + softplus⁻¹(init_std)) + min_std``), ELU MLPs, every
posterior state of the batch a start, both losses weighted by the cumulative discount, Adam with
gradients clipped at 100, and Gaussian noise of std 0.3 on the acting samples.

Differences: the world model is trained separately (``latent.world_model.train_model``) and is
frozen here, where Dreamer interleaves one update of each; the deterministic action is the tanh
of the mean (Dreamer's mode is the likeliest of 100 samples); actor and value share one size
(``layers``), where Dreamer's actor has 4 hidden layers and its value net 3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from rlrepro.agents.algorithms import frozen
from rlrepro.latent.replay import SequenceReplay
from rlrepro.latent.world_model import LatentPolicy, posteriors
from rlrepro.models.fitting import seeded
from rlrepro.models.mlp import mlp
from rlrepro.models.rssm import RSSM
from rlrepro.params import param

MEAN_SCALE = 5.0  # Dreamer v1's bound on the pre-tanh mean: 5 tanh(m / 5)


@dataclass(frozen=True)
class DreamerConfig:
    """Behaviour learning of Dreamer v1; its values are the defaults."""

    horizon: int = param("imagined steps from each start (Dreamer: 15)", default=15, min=2)
    gamma: float = param("discount (Dreamer: 0.99)", default=0.99, min=0.0, max=1.0)
    lambda_: float = param("λ of the λ-return: 0 one-step TD targets, 1 Monte-Carlo returns "
                           "(Dreamer: 0.95)", default=0.95, min=0.0, max=1.0)
    hidden: int = param("units per hidden layer of the actor and the value net (Dreamer: 400)",
                        default=400, min=1)
    layers: int = param("hidden layers of the actor and the value net (Dreamer: 4 and 3)",
                        default=3, min=1)
    actor_lr: float = param("actor's Adam learning rate (Dreamer: 8e-5)", default=8e-5, min=0.0)
    value_lr: float = param("value net's Adam learning rate (Dreamer: 8e-5)", default=8e-5,
                            min=0.0)
    grad_clip: float = param("gradient norms of actor and value net are clipped at this "
                             "(Dreamer: 100)", default=100.0, min=0.0)
    exploration_noise: float = param("std of the Gaussian noise added to training-time actions "
                                     "(Dreamer: 0.3)", default=0.3, min=0.0)
    init_std: float = param("std of the actor's Gaussian (before tanh) at zero output "
                            "(Dreamer: 5)", default=5.0, min=1e-6)
    min_std: float = param("lower bound of the actor's std (Dreamer: 1e-4)", default=1e-4,
                           min=0.0)
    starts: int = param("posterior states imagined from per update, drawn from the batch's "
                        "B*L (0: all of them, as Dreamer)", default=0, min=0)


def lambda_returns(rewards: torch.Tensor, values: torch.Tensor, bootstrap: torch.Tensor,
                   gamma: float, lambda_: float) -> torch.Tensor:
    """λ-returns ``(H, N)`` of imagined states ``0..H-1`` given their rewards and values
    ``(H, N)`` and the value ``bootstrap (N,)`` of state H (Dreamer's eq. 6, computed backwards):
    ``R_t = r_t + gamma ((1 - lambda_) v_{t+1} + lambda_ R_{t+1})`` with ``v_H = R_H =
    bootstrap``. ``values[0]`` is not used."""
    next_values = torch.cat([values[1:], bootstrap[None]])
    returns, last = [], bootstrap
    for t in reversed(range(len(rewards))):
        last = rewards[t] + gamma * ((1 - lambda_) * next_values[t] + lambda_ * last)
        returns.append(last)
    return torch.stack(returns[::-1])


class Dreamer(LatentPolicy):
    """An actor and a value net on the latent features of a frozen world model, trained in its
    imagination; acts from pictures through the model (``LatentPolicy``)."""

    def __init__(self, model: RSSM, act_dim: int, config: DreamerConfig, seed: int = 0):
        super().__init__(model, act_dim, config.exploration_noise)
        self.config = c = config
        hidden = [c.hidden] * c.layers
        with seeded(seed):
            self.actor = mlp([model.config.feature_dim, *hidden, 2 * act_dim], nn.ELU)
            self.value = mlp([model.config.feature_dim, *hidden, 1], nn.ELU)
        device = next(model.parameters()).device
        self.actor.to(device)
        self.value.to(device)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr)
        self.value_optimizer = torch.optim.Adam(self.value.parameters(), lr=c.value_lr)
        self.raw_init_std = math.log(math.expm1(c.init_std))  # softplus of it is init_std

    def gaussian(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of the actor's Gaussian before the tanh."""
        mean, std = self.actor(features).chunk(2, -1)
        mean = MEAN_SCALE * torch.tanh(mean / MEAN_SCALE)
        return mean, F.softplus(std + self.raw_init_std) + self.config.min_std

    def sample(self, features: torch.Tensor) -> torch.Tensor:
        """Reparameterised actions in (-1, 1): gradients reach the mean and std."""
        mean, std = self.gaussian(features)
        return torch.tanh(mean + std * torch.randn_like(std))

    @torch.no_grad()
    def choose(self, latent: dict, deterministic: bool) -> torch.Tensor:
        features = self.model.feature(latent)
        return torch.tanh(self.gaussian(features)[0]) if deterministic else self.sample(features)

    def imagine(self, start: dict) -> torch.Tensor:
        """Features ``(horizon, N, F)`` of the states the actor's actions lead to from
        ``start``; the actor sees detached features, so its gradient comes only through the
        actions' effect on the model's dynamics."""
        state, features = start, []
        for _ in range(self.config.horizon):
            action = self.sample(self.model.feature(state).detach())
            state = self.model.imagine_step(state, action)
            features.append(self.model.feature(state))
        return torch.stack(features)

    def train(self, replay: SequenceReplay, updates: int, batch: int, length: int,
              progress: bool = False) -> list[dict]:
        """``updates`` steps of actor and value net, each imagining from the posterior states
        of ``batch`` sequences of ``length`` steps from ``replay``. Returns each step's
        ``actor_loss``, ``value_loss`` and ``imagined_return`` (the mean λ-return of the first
        imagined state)."""
        c, history = self.config, []
        device = next(self.actor.parameters()).device
        for _ in tqdm(range(updates), desc="dreamer", disable=not progress, leave=False):
            data = replay.sample(batch, length, device)
            start = {k: v.flatten(0, 1) for k, v in posteriors(self.model, data).items()}
            if c.starts:
                keep = torch.randperm(batch * length, device=device)[:c.starts]
                start = {k: v[keep] for k, v in start.items()}

            # The actor: λ-returns of its imagined trajectories, differentiated through the
            # model's dynamics, reward head and the value net, none of which it updates.
            with frozen([*self.model.parameters(), *self.value.parameters()]):
                features = self.imagine(start)
                rewards = self.model.reward_head(features).squeeze(-1)
                values = self.value(features).squeeze(-1)
                returns = lambda_returns(rewards[:-1], values[:-1], values[-1], c.gamma,
                                         c.lambda_)
            # step t weighs gamma^t, the cumulative discount (Dreamer v1)
            discount = c.gamma ** torch.arange(len(returns), device=device)[:, None]
            actor_loss = -(discount * returns).mean()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            nn.utils.clip_grad_norm_(self.actor.parameters(), c.grad_clip)
            self.actor_optimizer.step()

            # The value net: regression on the λ-returns (a unit Gaussian's log-likelihood).
            predicted = self.value(features[:-1].detach()).squeeze(-1)
            value_loss = 0.5 * (discount * (predicted - returns.detach()) ** 2).mean()
            self.value_optimizer.zero_grad()
            value_loss.backward()
            nn.utils.clip_grad_norm_(self.value.parameters(), c.grad_clip)
            self.value_optimizer.step()

            history.append({"actor_loss": actor_loss.item(), "value_loss": value_loss.item(),
                            "imagined_return": returns[0].mean().item()})
        return history

    def state_dict(self) -> dict:
        """Weights and optimizer states of actor and value net (tensors and numbers only)."""
        return {"actor": self.actor.state_dict(), "value": self.value.state_dict(),
                "actor_optimizer": self.actor_optimizer.state_dict(),
                "value_optimizer": self.value_optimizer.state_dict()}

    def load_state_dict(self, state: dict):
        self.actor.load_state_dict(state["actor"])
        self.value.load_state_dict(state["value"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.value_optimizer.load_state_dict(state["value_optimizer"])
