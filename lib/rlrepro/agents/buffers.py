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
    """A ring array of transitions, shared by both buffers.

    Each transition is one packed row ``obs | next_obs | action | reward | terminated``, so that
    adding is one write and sampling transitions one gather, the pair (o, o') of a row already
    the ``(2, obs_dim)`` sequence the agents train on. ``obs``, ``next_obs``, ``actions``,
    ``rewards`` and ``terminated`` are column views of it.
    """

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, seed: int):
        self.capacity, self.obs_dim = capacity, obs_dim
        self.rows = torch.zeros(capacity, 2 * obs_dim + act_dim + 2)
        self.obs = self.rows[:, :obs_dim]
        self.next_obs = self.rows[:, obs_dim:2 * obs_dim]
        self.actions = self.rows[:, 2 * obs_dim:-2]
        self.rewards = self.rows[:, -2]
        self.terminated = self.rows[:, -1]
        self.added = 0  # transitions ever added; the slot of transition k is k % capacity
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return min(self.added, self.capacity)

    def add(self, obs, action, reward, next_obs, terminated, truncated):
        row = np.concatenate([obs, next_obs, action, [reward, float(terminated)]])
        self.rows[self.added % self.capacity] = torch.from_numpy(row)
        self.added += 1

    def state_dict(self):
        return {"added": self.added, "rng": self.rng.bit_generator.state,
                "rows": self.rows[:len(self)].clone()}

    def load_state_dict(self, state):
        self.added = state["added"]
        self.rng.bit_generator.state = state["rng"]
        self.rows[: len(state["rows"])] = state["rows"]


class ReplayBuffer(_Storage):
    """Uniformly sampled transitions (DDPG, TD3, SAC)."""

    def can_sample(self, batch_size):
        return len(self) >= batch_size

    def sample(self, batch_size: int, device="cpu"):
        return self.split(self.sample_rows(batch_size).to(device))

    def sample_rows(self, batch_size: int):
        """``batch_size`` uniformly drawn packed rows ``(batch_size, width)``."""
        return self.rows[torch.from_numpy(self.rng.integers(0, len(self), batch_size))]

    def split(self, rows):
        """The batch of packed rows ``(..., B, width)``, as views: ``obs (..., B, 2, obs_dim)``..."""
        n = 2 * self.obs_dim
        return {"obs": rows[..., :n].unflatten(-1, (2, self.obs_dim)),
                "actions": rows[..., None, n:-2], "rewards": rows[..., -2:-1],
                "terminated": rows[..., -1:], "mask": None}


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
    if isinstance(buffers[0], ReplayBuffer):  # one gather per member, one stack, views
        return buffers[0].split(torch.stack([b.sample_rows(batch_size) for b in buffers]).to(device))
    batches = [buffer.sample(batch_size, device) for buffer in buffers]
    return {key: None if batches[0][key] is None else torch.stack([b[key] for b in batches])
            for key in batches[0]}
