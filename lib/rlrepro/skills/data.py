"""Demonstrations the skill models learn from: episodes flattened, the windows SPiRL samples
from them, and their npz file. Made by ``skills.maze_data`` (the maze controller) or read from a
Minari data set by ``skills.kitchen``."""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

import numpy as np


@dataclass
class Demonstrations:
    """Episodes flattened: ``observations (N, obs_dim)``, ``actions (N, act_dim)``, and
    ``episode_ends``: the index one past each episode's last step."""

    observations: np.ndarray
    actions: np.ndarray
    episode_ends: np.ndarray
    reached: np.ndarray  # per episode: did it reach its goal (Minari: its termination)
    layout_seeds: np.ndarray  # per episode: its maze layout's seed (-1: not a maze)

    def episodes(self):
        starts = np.concatenate([[0], self.episode_ends[:-1]])
        return [(self.observations[s:e], self.actions[s:e])
                for s, e in zip(starts, self.episode_ends)]

    def select(self, start: int, stop: int) -> "Demonstrations":
        """Episodes ``start`` to ``stop - 1`` as a data set of their own."""
        first = self.episode_ends[start - 1] if start else 0
        last = self.episode_ends[stop - 1]
        return Demonstrations(self.observations[first:last], self.actions[first:last],
                              self.episode_ends[start:stop] - first, self.reached[start:stop],
                              self.layout_seeds[start:stop])

    def save(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **dataclasses.asdict(self))
        return path


def load(path) -> Demonstrations:
    """Demonstrations saved by ``Demonstrations.save``, with a clear error otherwise."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no demonstrations (written by Demonstrations.save)")
    fields = [f.name for f in dataclasses.fields(Demonstrations)]
    with np.load(path) as saved:
        missing = sorted(set(fields) - set(saved.files))
        if missing:
            raise ValueError(f"{path}: expected arrays {fields}, missing {missing}")
        return Demonstrations(**{name: saved[name] for name in fields})


def windows(demos: Demonstrations, horizon: int, batch: int, rng: np.random.Generator):
    """``batch`` random windows of ``horizon + 1`` observations and ``horizon`` actions
    (SPiRL's samples), from episodes long enough: ``(B, H+1, obs_dim)``, ``(B, H, act_dim)``."""
    starts = np.concatenate([[0], demos.episode_ends[:-1]])
    room = demos.episode_ends - starts - horizon  # window starts per episode
    usable = np.flatnonzero(room > 0)
    if not len(usable):
        raise ValueError(f"no episode is longer than the skill horizon {horizon}")
    episodes = rng.choice(usable, size=batch, p=room[usable] / room[usable].sum())
    first = starts[episodes] + (rng.random(batch) * room[episodes]).astype(int)
    steps = first[:, None] + np.arange(horizon + 1)
    return demos.observations[steps], demos.actions[steps[:, :-1]]
