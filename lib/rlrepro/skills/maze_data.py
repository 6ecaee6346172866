"""The offline maze data the skills are learned from, as SPiRL's maze data set was made.

Episodes of the D4RL waypoint controller on random layouts (``envs.point_maze``): a new layout
every ``episodes_per_layout`` episodes, a start and a goal drawn among the free cells connected
to each other (at least ``min_distance`` cells apart), Gaussian noise of std ``action_noise``
on each action, an episode ends at the goal or after ``max_steps``. No layout is the target's.
The episodes are ``skills.data.Demonstrations``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from rlrepro.envs import point_maze
from rlrepro.params import param
from rlrepro.skills.data import Demonstrations


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


def generate(cfg: MazeDataConfig, seed: int = 0, progress: bool = True) -> Demonstrations:
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
    return Demonstrations(np.array(observations, np.float32), np.array(actions, np.float32),
                          np.array(ends), np.array(reached), np.array(layout_seeds))


def _start_and_goal(layout, min_distance, rng):
    """A free start cell and a goal cell reachable from it at least ``min_distance`` away."""
    free = np.argwhere(layout == 0)
    while True:
        start = tuple(free[rng.integers(len(free))])
        candidates = np.argwhere(point_maze.distances(layout, start) >= min_distance)
        if len(candidates):
            return start, tuple(candidates[rng.integers(len(candidates))])
