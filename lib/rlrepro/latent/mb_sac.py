"""MB-SAC: soft actor-critic trained on transitions imagined in the world model (the
latent-dynamics thesis' model-based SAC, a Dyna-style agent; Sutton 1991, Janner et al. 2019).

From the posterior latent states of replayed sequences, the actor imagines ``horizon`` steps in
the model's prior; each imagined step ``(f_t, a_t, r_{t+1}, f_{t+1})``, with the reward head's
prediction as its reward, is one SAC transition on the latent feature ``f = [h, z]``. The SAC is
the package's (``agents.algorithms``), unchanged: its observation is the latent feature.
The world model is trained elsewhere (``latent.world_model.train_model``).
"""
from __future__ import annotations

import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.latent.replay import SequenceReplay
from rlrepro.latent.world_model import LatentPolicy, mean_feature, posteriors
from rlrepro.models.rssm import RSSM


class MBSAC(LatentPolicy):
    """SAC on the latent feature, trained in imagination; acts by sampling its policy while
    training (no added noise) and by its mean when deterministic."""

    def __init__(self, model: RSSM, act_dim: int, agent: AgentConfig, horizon: int,
                 seed: int = 0):
        super().__init__(model, act_dim)
        if horizon < 1:
            raise ValueError(f"horizon: expected at least 1 imagined step, got {horizon}")
        self.horizon = horizon
        self.sac = make_agent(model.config.feature_dim, act_dim, agent, seed)

    def choose(self, latent, deterministic):
        features = mean_feature(latent) if deterministic else self.model.feature(latent)
        return torch.as_tensor(self.sac.act_on_states(features[None], deterministic)[0])

    def train(self, replay: SequenceReplay, updates: int, batch: int, length: int) -> list[dict]:
        """``updates`` SAC updates, each on the transitions imagined from the posterior states
        of ``batch`` sequences of ``length`` steps (``batch * length * horizon`` transitions)."""
        history = []
        for _ in range(updates):
            starts = posteriors(self.model, replay.sample(batch, length))
            transitions = self.imagine({k: v.flatten(0, 1) for k, v in starts.items()})
            info = self.sac.update(transitions)
            history.append({k: float(v.mean()) for k, v in info.items()})
        return history

    @torch.no_grad()
    def imagine(self, state: dict) -> dict:
        """A SAC batch (one member) of the imagined transitions from latent ``state (N, .)``."""
        features, actions, rewards = [self.model.feature(state)], [], []
        for _ in range(self.horizon):
            action = torch.as_tensor(self.sac.act_on_states(features[-1][None], False)[0])
            state = self.model.imagine_step(state, action)
            features.append(self.model.feature(state))
            actions.append(action)
            rewards.append(self.model.reward_head(features[-1]).squeeze(-1))
        obs = torch.stack([torch.cat(features[:-1]), torch.cat(features[1:])], 1)  # (NH, 2, F)
        reward = torch.cat(rewards)[:, None]
        return {"obs": obs[None], "actions": torch.cat(actions)[None, :, None],
                "rewards": reward[None], "terminated": torch.zeros_like(reward)[None],
                "mask": None}

    def state_dict(self) -> dict:
        return self.sac.state_dict()

    def load_state_dict(self, state: dict):
        self.sac.load_state_dict(state)
