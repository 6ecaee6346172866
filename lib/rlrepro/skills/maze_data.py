"""The offline maze data the skills are learned from, as SPiRL's maze data set was made.

Episodes of the D4RL waypoint controller on random layouts (``envs.point_maze``): a new layout
every ``episodes_per_layout`` episodes, a start and a goal drawn among the free cells connected
to each other (at least ``min_distance`` cells apart), Gaussian noise of std ``action_noise``
on each action, an episode ends at the goal or after ``max_steps``. No layout is the target's.
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from rlrepro.envs import point_maze
from rlrepro.params import param


@dataclass(frozen=True)
class MazeDataConfig:
    """How the demonstrations are generated (SPiRL's maze data: 20x20 layouts, 500 steps)."""

    episodes: int = param("episodes of the controller", default=2000, min=1)
    layout_size: int = param("cells on a side of each random layout", default=20, min=5)
    coverage: float = param("share of a layout's cells that are wall", default=0.25, min=0.0,
                            max=0.6)
    episodes_per_layout: int = param("episodes on one layout before the next", default=10,
                                     min=1)
    min_distance: int = param("start and goal are at least this many cells apart along the maze",
                              default=3, min=1)
    max_steps: int = param("an episode that has not reached its goal ends here", default=500,
                           min=11)
    action_noise: float = param("std of the Gaussian noise on each action (clipped to [-1, 1])",
                                default=0.0, min=0.0)


@dataclass
class MazeDemonstrations:
    """Episodes flattened: ``observations (N, obs_dim)``, ``actions (N, 2)``, and
    ``episode_ends``: the index one past each episode's last step."""

    observations: np.ndarray
    actions: np.ndarray
    episode_ends: np.ndarray
    reached: np.ndarray  # per episode: did it reach its goal
    layout_seeds: np.ndarray  # per episode: the seed of its layout (envs.point_maze.sample_layout)

    def episodes(self):
        starts = np.concatenate([[0], self.episode_ends[:-1]])
        return [(self.observations[s:e], self.actions[s:e])
                for s, e in zip(starts, self.episode_ends)]

    def select(self, start: int, stop: int) -> "MazeDemonstrations":
        """Episodes ``start`` to ``stop - 1`` as a data set of their own."""
        first = self.episode_ends[start - 1] if start else 0
        last = self.episode_ends[stop - 1]
        return MazeDemonstrations(self.observations[first:last], self.actions[first:last],
                                  self.episode_ends[start:stop] - first,
                                  self.reached[start:stop], self.layout_seeds[start:stop])

    def save(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **dataclasses.asdict(self))
        return path


def load(path) -> MazeDemonstrations:
    """Demonstrations saved by ``MazeDemonstrations.save``, with a clear error otherwise."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no maze demonstrations (written by the data stage)")
    fields = [f.name for f in dataclasses.fields(MazeDemonstrations)]
    with np.load(path) as saved:
        missing = sorted(set(fields) - set(saved.files))
        if missing:
            raise ValueError(f"{path}: expected arrays {fields}, missing {missing}")
        return MazeDemonstrations(**{name: saved[name] for name in fields})


def generate(cfg: MazeDataConfig, seed: int = 0, progress: bool = True) -> MazeDemonstrations:
    rng = np.random.default_rng(seed)
    observations, actions, ends, reached, layout_seeds = [], [], [], [], []
    for episode in tqdm(range(cfg.episodes), desc="maze demonstrations", disable=not progress):
        if episode % cfg.episodes_per_layout == 0:
            layout_seed = int(rng.integers(1_000_000))  # never the target's TARGET_SEED
            layout = point_maze.sample_layout(layout_seed, cfg.layout_size, cfg.coverage)
        start, goal = _start_and_goal(layout, cfg.min_distance, rng)
        env = point_maze.make_maze(layout, start, goal, cfg.max_steps)
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        layout_seeds.append(layout_seed)
        controller = point_maze.WaypointController(env, layout, start, goal, rng)
        success = False
        for _ in range(cfg.max_steps):
            action = controller(obs)
            if cfg.action_noise:
                action = np.clip(action + rng.normal(0, cfg.action_noise, 2), -1, 1)
            observations.append(obs)
            actions.append(action.astype(np.float32))
            obs, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                success = reward > 0
                break
        env.close()
        ends.append(len(actions))
        reached.append(success)
    return MazeDemonstrations(np.array(observations, np.float32), np.array(actions, np.float32),
                              np.array(ends), np.array(reached), np.array(layout_seeds))


def _start_and_goal(layout, min_distance, rng):
    """A free start cell and a goal cell reachable from it at least ``min_distance`` away."""
    free = np.argwhere(layout == 0)
    while True:
        start = tuple(free[rng.integers(len(free))])
        candidates = np.argwhere(point_maze.distances(layout, start) >= min_distance)
        if len(candidates):
            return start, tuple(candidates[rng.integers(len(candidates))])


def windows(demos: MazeDemonstrations, horizon: int, batch: int, rng: np.random.Generator):
    """``batch`` random windows of ``horizon + 1`` observations and ``horizon`` actions
    (SPiRL's samples), from episodes long enough: ``(B, H+1, obs_dim)``, ``(B, H, 2)``."""
    starts = np.concatenate([[0], demos.episode_ends[:-1]])
    room = demos.episode_ends - starts - horizon  # window starts per episode
    usable = np.flatnonzero(room > 0)
    if not len(usable):
        raise ValueError(f"no episode is longer than the skill horizon {horizon}")
    episodes = rng.choice(usable, size=batch, p=room[usable] / room[usable].sum())
    first = starts[episodes] + (rng.random(batch) * room[episodes]).astype(int)
    steps = first[:, None] + np.arange(horizon + 1)
    return demos.observations[steps], demos.actions[steps[:, :-1]]
