"""Replay buffers. Both return batches in the sequence layout the agents train on:

``obs (B, L+1, obs_dim)``, ``actions (B, L, act_dim)``, ``rewards (B, L)``,
``terminated (B, L)`` (1 where the next state is terminal: no bootstrapping) and
``mask (B, L)`` (1 on real steps, 0 on padding). A transition is a sequence with L = 1.
Every member of an agent (one per seed) has its own buffer; ``sample_members`` stacks their
batches along a leading member axis.
"""
from __future__ import annotations

import numpy as np
import torch


class _Storage:
    """Ring arrays of transitions, shared by both buffers."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, seed: int):
        self.capacity = capacity
        self.obs = torch.zeros(capacity, obs_dim)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.actions = torch.zeros(capacity, act_dim)
        self.rewards = torch.zeros(capacity)
        self.terminated = torch.zeros(capacity)
        self.added = 0  # transitions ever added; the slot of transition k is k % capacity
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return min(self.added, self.capacity)

    def add(self, obs, action, reward, next_obs, terminated, truncated):
        i = self.added % self.capacity
        self.obs[i] = torch.as_tensor(obs)
        self.actions[i] = torch.as_tensor(action)
        self.rewards[i] = float(reward)
        self.next_obs[i] = torch.as_tensor(next_obs)
        self.terminated[i] = float(terminated)
        self.added += 1

    _ARRAYS = ("obs", "next_obs", "actions", "rewards", "terminated")

    def state_dict(self):
        n = len(self)
        return {"added": self.added, "rng": self.rng.bit_generator.state,
                **{name: getattr(self, name)[:n].clone() for name in self._ARRAYS}}

    def load_state_dict(self, state):
        self.added = state["added"]
        self.rng.bit_generator.state = state["rng"]
        for name in self._ARRAYS:
            getattr(self, name)[: len(state[name])] = state[name]


class ReplayBuffer(_Storage):
    """Uniformly sampled transitions (DDPG, TD3, SAC)."""

    def can_sample(self, batch_size):
        return len(self) >= batch_size

    def sample(self, batch_size: int, device="cpu"):
        idx = torch.from_numpy(self.rng.integers(0, len(self), batch_size))
        batch = {"obs": torch.stack([self.obs[idx], self.next_obs[idx]], dim=1),
                 "actions": self.actions[idx, None],
                 "rewards": self.rewards[idx, None],
                 "terminated": self.terminated[idx, None],
                 "mask": None}
        return {k: None if v is None else v.to(device) for k, v in batch.items()}


class EpisodeBuffer(_Storage):
    """Whole episodes, or non-overlapping segments of them, for the recurrent agents.

    A batch holds ``batch_size`` sequences drawn with probability proportional to their length,
    padded to the longest and masked (Yang & Nguyen's buffer). ``segment_len = 0`` keeps whole
    episodes; otherwise every episode is cut into segments of at most ``segment_len`` steps, each
    replayed from a zero hidden state.
    """

    def __init__(self, capacity, obs_dim, act_dim, seed, segment_len: int = 0):
        super().__init__(capacity, obs_dim, act_dim, seed)
        self.segment_len = segment_len
        self.starts: list[int] = []  # first transition (absolute index) of every stored sequence
        self.lengths: list[int] = []
        self.episode_start = 0

    def add(self, obs, action, reward, next_obs, terminated, truncated):
        super().add(obs, action, reward, next_obs, terminated, truncated)
        if terminated or truncated:
            length = self.added - self.episode_start
            step = self.segment_len or length
            for start in range(0, length, step):
                self.starts.append(self.episode_start + start)
                self.lengths.append(min(step, length - start))
            self.episode_start = self.added

    def can_sample(self, batch_size):
        return len(self.starts) > 0

    def sample(self, batch_size: int, device="cpu"):
        oldest = self.added - self.capacity  # sequences starting before this were overwritten
        while self.starts and self.starts[0] < oldest:
            self.starts.pop(0)
            self.lengths.pop(0)
        starts, lengths = np.asarray(self.starts), np.asarray(self.lengths)
        pick = self.rng.choice(len(starts), batch_size, p=lengths / lengths.sum())
        starts, lengths = torch.from_numpy(starts[pick]), torch.from_numpy(lengths[pick])
        steps = torch.arange(int(lengths.max()))
        mask = (steps[None] < lengths[:, None]).float()
        idx = (starts[:, None] + torch.minimum(steps[None], lengths[:, None] - 1)) % self.capacity
        obs = torch.cat([self.obs[idx], torch.zeros(len(pick), 1, self.obs.shape[1])], dim=1)
        last = (starts + lengths - 1) % self.capacity
        obs[torch.arange(len(pick)), lengths] = self.next_obs[last]
        # Padding repeats an episode's last step; the mask keeps it out of every loss.
        batch = {"obs": obs, "actions": self.actions[idx], "rewards": self.rewards[idx],
                 "terminated": self.terminated[idx], "mask": mask}
        return {k: v.to(device) for k, v in batch.items()}

    def state_dict(self):
        return super().state_dict() | {"starts": list(self.starts), "lengths": list(self.lengths),
                                       "episode_start": self.episode_start}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.starts, self.lengths = list(state["starts"]), list(state["lengths"])
        self.episode_start = state["episode_start"]


def sample_members(buffers: list, batch_size: int, device="cpu") -> dict:
    """One batch from each member's buffer, stacked: ``obs (members, B, L+1, obs_dim)``, ..."""
    batches = [buffer.sample(batch_size, device) for buffer in buffers]
    return {key: None if batches[0][key] is None else torch.stack([b[key] for b in batches])
            for key in batches[0]}
