"""MB-SAC: soft actor-critic trained on transitions imagined in the world model (the
latent-dynamics thesis' model-based SAC, a Dyna-style agent; Sutton 1991, Janner et al. 2019).

Each round, from the posterior latent states of ``imagined_batches`` replayed batches of
sequences, the actor imagines ``horizon`` steps in the model's prior; each imagined step
``(f_t, a_t, r_{t+1}, f_{t+1})``, with the reward head's prediction as its reward, is one SAC
transition on the latent feature ``f = [h, z]``, kept in a replay buffer of imagined
transitions (the newest ``buffer`` of them). Then ``updates`` SAC updates on uniform batches of
that buffer: the updates are cheap (MLPs only), so MB-SAC can make many per collected episode,
as the thesis' (1000 per episode, batch 1024). The SAC is the package's (``agents.algorithms``),
unchanged: its observation is the latent feature. The world model is trained elsewhere
(``latent.world_model.train_model``).

Differences from the thesis: its imagined transitions come from every world-model training
batch (ours from ``imagined_batches`` fresh ones, so that the world model's training stays the
same for every agent; 10 at ``paper``, as the buffer takes one transition at a time), its
horizon grows over training (ours is fixed), and it can mix in real transitions (off by default
there, absent here).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.buffers import sample_members
from rlrepro.latent.replay import SequenceReplay
from rlrepro.latent.world_model import LatentPolicy, mean_feature, posteriors
from rlrepro.models.rssm import RSSM
from rlrepro.params import param


@dataclass(frozen=True)
class MBSACConfig:
    """MB-SAC's imagination and updates; the thesis' values are the defaults."""

    horizon: int = param("imagined steps from each replayed latent state (thesis: 15)",
                         default=15, min=1)
    imagined_batches: int = param("replayed batches of sequences imagined from per round "
                                  "(thesis: one per world-model update, 100)", default=100,
                                  min=1)
    updates: int = param("SAC updates per round (thesis: 1000 per collected episode)",
                         default=1000, min=0)
    batch: int = param("imagined transitions per SAC update (thesis: 1024)", default=1024,
                       min=1)
    buffer: int = param("imagined transitions kept, the newest (thesis: 1.5M)",
                        default=1_500_000, min=1)
    init_alpha: float = param("SAC's initial entropy temperature (thesis: 0.1)", default=0.1,
                              min=1e-8)


class MBSAC(LatentPolicy):
    """SAC on the latent feature, trained in imagination; acts by sampling its policy while
    training (no added noise) and by its mean when deterministic."""

    def __init__(self, model: RSSM, act_dim: int, agent: AgentConfig, config: MBSACConfig,
                 seed: int = 0):
        super().__init__(model, act_dim)
        self.config = config
        agent = dataclasses.replace(agent, transitions_per_batch=config.batch,
                                    buffer_size=config.buffer, init_alpha=config.init_alpha)
        self.sac = make_agent(model.config.feature_dim, act_dim, agent, seed)
        self.buffer = self.sac.make_buffer(seed)

    def choose(self, latent, deterministic):
        features = mean_feature(latent) if deterministic else self.model.feature(latent)
        action = self.sac.act_on_states(features[None], deterministic)[0]
        return torch.as_tensor(action, device=features.device)

    def train(self, replay: SequenceReplay, updates: int, batch: int, length: int) -> list[dict]:
        """Imagine from ``imagined_batches`` replayed batches of ``batch`` sequences of
        ``length`` steps (``batch * length * horizon`` transitions each), then make
        ``updates`` SAC updates (``MBSACConfig.updates`` in the experiment)."""
        for _ in range(self.config.imagined_batches):
            starts = posteriors(self.model, replay.sample(batch, length, self.device))
            self.remember(self.imagine({k: v.flatten(0, 1) for k, v in starts.items()}))
        history = []
        for _ in range(updates):
            info = self.sac.update(sample_members([self.buffer], self.config.batch,
                                                  self.sac.device))
            history.append({k: float(v.mean()) for k, v in info.items()})
        return history

    @torch.no_grad()
    def imagine(self, state: dict) -> dict:
        """The imagined transitions from latent states ``(N, .)``: ``feature``, ``action``,
        ``reward``, ``next_feature``, each ``(N * horizon, .)``."""
        features, actions, rewards = [self.model.feature(state)], [], []
        for _ in range(self.config.horizon):
            action = torch.as_tensor(self.sac.act_on_states(features[-1][None], False)[0],
                                     device=self.device)
            state = self.model.imagine_step(state, action)
            features.append(self.model.feature(state))
            actions.append(action)
            rewards.append(self.model.reward_head(features[-1]).squeeze(-1))
        return {"feature": torch.cat(features[:-1]), "action": torch.cat(actions),
                "reward": torch.cat(rewards), "next_feature": torch.cat(features[1:])}

    def remember(self, transitions: dict):
        """Add imagined transitions to the buffer (never terminal: the task has no end)."""
        columns = [transitions[k].cpu().numpy() for k in ("feature", "action", "reward",
                                                            "next_feature")]
        for feature, action, reward, next_feature in zip(*columns):
            self.buffer.add(feature, action, reward, next_feature, False, False)

    def state_dict(self) -> dict:
        """The SAC's networks and optimisers; not the buffer of imagined transitions (tens of
        MB): a resumed run refills it at its next round."""
        return self.sac.state_dict()

    def load_state_dict(self, state: dict):
        self.sac.load_state_dict(state)
