"""Rewards inferred from observed states, to train a policy on: Deep RLSP's linear reward over
the state VAE's features and the Waypoints ablation's (Lindner et al., ICLR 2021, Sec. 3.3-3.4).

A reward is a function of the state after the step, ``r(s') = combine_i <w_i, phi(s')>``:

- ``linear``: one weight vector, ``theta . phi(s')`` (Deep RLSP; AverageFeatures, whose theta is
  the normalised mean feature of the observed states);
- ``max``: one row per observed state ``s_i``, ``w_i = phi(s_i) / |phi(s_i)|``, and the reward is
  the largest ``<w_i, phi(s')>`` (Waypoints: be like the closest observed state).

``phi`` is the VAE's posterior mean, so the reward is a deterministic function of the state (the
original used one posterior sample per call: a noisy reward, and one that a resumed run could
not replay). A reward is saved with its VAE in one file (:meth:`LatentReward.save`) that the
training loop loads by path (``TrainConfig.reward``).
"""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import torch
from torch import nn

from rlrepro.models.state_vae import StateVAE, StateVAEConfig

COMBINES = ("linear", "max")


class LatentReward(nn.Module):
    """``r(s') = combine_i <weights_i, phi(s')>`` over the features of ``vae``."""

    def __init__(self, vae: StateVAE, weights, combine: str = "linear"):
        super().__init__()
        if combine not in COMBINES:
            raise ValueError(f"combine: expected one of {list(COMBINES)}, got {combine!r}")
        weights = torch.as_tensor(np.asarray(weights), dtype=torch.float32).reshape(
            -1, vae.cfg.latent_dim)
        if combine == "linear" and len(weights) != 1:
            raise ValueError(f"weights: a linear reward has one weight vector, got {len(weights)}")
        self.vae, self.combine = vae, combine
        self.register_buffer("weights", weights)

    @torch.no_grad()
    def forward(self, next_states) -> torch.Tensor:
        """The reward of each row of ``next_states (N, state_dim)``, ``(N,)``."""
        values = self.vae.encode(next_states, sample=False) @ self.weights.T
        return values.max(dim=1).values if self.combine == "max" else values[:, 0]

    def save(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dim": len(self.vae.state_mean),
                    "vae_config": dataclasses.asdict(self.vae.cfg),
                    "vae": self.vae.state_dict(), "weights": self.weights,
                    "combine": self.combine}, path)
        return path


def load(path) -> LatentReward:
    """The reward saved in ``path``, with a clear error for a file that is not one."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        vae = StateVAE(saved["state_dim"], StateVAEConfig(**saved["vae_config"]))
        vae.load_state_dict(saved["vae"])
        return LatentReward(vae, saved["weights"], saved["combine"])
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such reward file (written by "
                                f"LatentReward.save)") from None
    except Exception as error:
        raise ValueError(f"{path}: not a reward saved by LatentReward.save "
                         f"({type(error).__name__}: {error})") from None
