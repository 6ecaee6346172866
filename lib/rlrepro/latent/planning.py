"""MPC-CEM: planning in the latent model at every step (PlaNet, Hafner et al. 2019).

At each step, ``candidates`` action sequences of ``horizon`` steps are drawn from a diagonal
Gaussian (zero mean, unit std at first), rolled out open loop in the model's prior from the
current posterior, scored by the sum of the reward head's predictions, and the Gaussian is
refit to the ``top`` best; after ``iterations`` refits the first action of its mean is taken.
Nothing is learned but the world model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from rlrepro.latent.world_model import LatentPolicy
from rlrepro.models.rssm import RSSM
from rlrepro.params import param


@dataclass(frozen=True)
class MPCCEMConfig:
    """The planner's search; PlaNet's values are the defaults."""

    horizon: int = param("steps of each planned action sequence", default=12, min=1)
    candidates: int = param("action sequences drawn per refit", default=1000, min=1)
    iterations: int = param("refits of the Gaussian per step", default=10, min=1)
    top: int = param("best sequences the Gaussian is refit to", default=100, min=1)
    exploration_noise: float = param("std of the Gaussian noise on the actions it collects "
                                     "data with", default=0.3, min=0.0)


class MPCCEM(LatentPolicy):
    def __init__(self, model: RSSM, act_dim: int, config: MPCCEMConfig = MPCCEMConfig()):
        super().__init__(model, act_dim, config.exploration_noise)
        if not 1 <= config.top <= config.candidates:
            raise ValueError(f"top: expected between 1 and candidates ({config.candidates}), "
                             f"got {config.top}")
        self.horizon, self.candidates, self.iterations, self.top = (
            config.horizon, config.candidates, config.iterations, config.top)

    def choose(self, latent, deterministic):
        n, c = len(latent["deter"]), self.candidates
        start = {k: v.repeat_interleave(c, 0) for k, v in latent.items()}  # (n * c, .)
        mean = torch.zeros(self.horizon, n, 1, self.act_dim, device=self.device)
        std = torch.ones_like(mean)
        for _ in range(self.iterations):
            noise = torch.randn(self.horizon, n, c, self.act_dim, device=self.device)
            plans = (mean + std * noise).clamp(-1, 1)
            imagined = self.model.imagine(start, plans.flatten(1, 2))
            returns = self.model.reward_head(self.model.feature(imagined)).sum((0, 2)).view(n, c)
            best = returns.topk(self.top, dim=1).indices  # (n, top)
            elite = plans.gather(2, best[None, :, :, None].expand(self.horizon, n, self.top,
                                                                  self.act_dim))
            mean, std = elite.mean(2, keepdim=True), elite.std(2, keepdim=True, correction=0)
        return mean[0, :, 0]

    def train(self, replay, updates: int, batch: int, length: int) -> list[dict]:
        """Nothing to learn beside the world model."""
        return []

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict):
        pass
