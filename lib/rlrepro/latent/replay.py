"""Whole episodes of pictures for the world model, and sequences sampled from them.

An episode is stored as PlaNet lays out its chunks: ``pictures (T+1, 3, S, S)`` as uint8 (the
pixel tasks' whole numbers, without loss), ``actions (T+1, A)`` where ``actions[t]`` is the
action that led to picture t (zeros before the first), ``rewards (T+1,)`` the reward of that
transition (0 before the first), and ``states (T+1, D)`` the task's true state vector (for the
probes only; no agent sees it).
"""
from __future__ import annotations

import pathlib

import gymnasium as gym
import numpy as np
import torch

from rlrepro.evaluation.rollouts import run_episodes


class EpisodeRecorder(gym.Wrapper):
    """Records a pixel task's episode in the layout above (``episode()`` after it ends)."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        act_dim = self.action_space.shape[0]
        self.pictures, self.states = [obs.astype(np.uint8)], [info["state"]]
        self.actions, self.rewards = [np.zeros(act_dim, np.float32)], [0.0]
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.pictures.append(obs.astype(np.uint8))
        self.states.append(info["state"])
        self.actions.append(np.asarray(action, np.float32))
        self.rewards.append(float(reward))
        return obs, reward, terminated, truncated, info

    def episode(self) -> dict:
        return {"pictures": np.stack(self.pictures), "actions": np.stack(self.actions),
                "rewards": np.array(self.rewards, np.float32),
                "states": np.stack(self.states).astype(np.float32)}


def collect(policy, make_env, seeds: list[int], deterministic: bool = False) -> list[dict]:
    """One recorded episode per seed, played in lockstep by ``policy`` (one member per seed;
    ``evaluation.rollouts.run_episodes``), each in a fresh task from ``make_env()``."""
    envs = [EpisodeRecorder(make_env()) for _ in seeds]
    run_episodes(policy, envs, seeds, deterministic=deterministic)
    episodes = [env.episode() for env in envs]
    for env in envs:
        env.close()
    return episodes


class SequenceReplay:
    """Episodes, and batches of ``length``-step sequences cut from random episodes at random
    offsets (PlaNet's and Dreamer's replay)."""

    KEYS = ("pictures", "actions", "rewards", "states")

    def __init__(self, seed: int = 0):
        self.episodes: list[dict] = []
        self.rng = np.random.default_rng(seed)

    def add(self, episodes: list[dict]):
        self.episodes += episodes

    @property
    def steps(self) -> int:
        """Agent steps (transitions) held."""
        return sum(len(e["rewards"]) - 1 for e in self.episodes)

    def sample(self, batch: int, length: int, device="cpu") -> dict:
        """Sequences ``(length, batch, ...)``: pictures as float 0-255, actions, rewards."""
        rows = []
        for k in self.rng.integers(0, len(self.episodes), batch):
            episode = self.episodes[k]
            start = self.rng.integers(0, len(episode["rewards"]) - length + 1)
            rows.append({key: episode[key][start:start + length] for key in self.KEYS[:3]})
        return {key: torch.as_tensor(np.stack([r[key] for r in rows], 1), device=device).float()
                for key in self.KEYS[:3]}

    def state_dict(self) -> dict:
        return {"episodes": self.episodes, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict):
        self.episodes = list(state["episodes"])
        self.rng.bit_generator.state = state["rng"]


def save_episodes(path, episodes: list[dict]):
    """Episodes as one ``.npz`` (their lengths and the arrays joined along time), written to a
    temporary file first, so that a reader never sees half a file."""
    path = pathlib.Path(path)
    partial = path.with_name(f"{path.stem}.partial.npz")
    np.savez_compressed(partial, lengths=[len(e["rewards"]) for e in episodes],
                        **{key: np.concatenate([e[key] for e in episodes])
                           for key in SequenceReplay.KEYS})
    partial.replace(path)


def load_episodes(path) -> list[dict]:
    with np.load(path) as saved:
        bounds = np.cumsum([0, *saved["lengths"]])
        arrays = {key: saved[key] for key in SequenceReplay.KEYS}
    return [{key: arrays[key][a:b] for key in arrays} for a, b in zip(bounds[:-1], bounds[1:])]
