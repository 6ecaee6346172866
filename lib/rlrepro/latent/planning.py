"""MPC-CEM: planning in the latent model at every step (PlaNet, Hafner et al. 2019).

At each step, ``candidates`` action sequences of ``horizon`` steps are drawn from a diagonal
Gaussian (zero mean, unit std at first), rolled out open loop in the model's prior from the
current posterior, scored by the sum of the reward head's predictions, and the Gaussian is
refit to the ``top`` best; after ``iterations`` refits the first action of its mean is taken.
Nothing is learned but the world model (PlaNet: horizon 12, 1000 candidates, 10 iterations,
top 100; exploration noise 0.3 while collecting data).
"""
from __future__ import annotations

import torch

from rlrepro.latent.world_model import LatentPolicy
from rlrepro.models.rssm import RSSM


class MPCCEM(LatentPolicy):
    def __init__(self, model: RSSM, act_dim: int, horizon: int, candidates: int,
                 iterations: int, top: int, exploration_noise: float = 0.3):
        super().__init__(model, act_dim, exploration_noise)
        if not 1 <= top <= candidates:
            raise ValueError(f"top: expected between 1 and candidates ({candidates}), got {top}")
        self.horizon, self.candidates, self.iterations, self.top = (horizon, candidates,
                                                                    iterations, top)

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
