"""PointMaze tasks of the skill-prior experiment (SPiRL, GASP) on gymnasium-robotics' PointMaze.

- **Layouts**: SPiRL's random mazes (its D4RL fork's ``maze_layouts.sample_layout``): walls of
  random length, each with one door, placed where they overlap the walls already there least,
  until a share ``coverage`` of the cells is wall.
- **Planner and controller**: the D4RL waypoint controller that generated the maze data sets: a
  shortest path over free cells, one waypoint per cell (the non-final ones jittered), PD control
  ``a = clip(10 (waypoint - position) - velocity, -1, 1)``, the next waypoint once within 0.1.
- **Observation** ``(x, y, vx, vy)`` then the walls of the ``view x view`` cells around the
  agent's cell (1 = wall or outside): the substitute for the 32x32 top-down image SPiRL's prior
  and high-level policy see (which tells them where the walls are in a maze never seen before).
- **Target task** ``point_maze_<size>``: a held-out layout (a seed no data set uses) from the free
  cell nearest a corner to the free cell farthest from it along the maze that is not a dead end
  (``target_cells``); reward 1 and the end of the episode on reaching the goal (within 0.45,
  gymnasium-robotics' sparse reward).
- **SPiRL's measure** ``point_maze_<size>_spirl``: the same maze as SPiRL's D4RL fork scores it:
  reward 1 at every step within 2.0 of the goal, the episode going on for 2000 steps (its
  ``maze_model.py``; clvrai/spirl issue #32: an episode succeeds when it earns any reward).
"""
from __future__ import annotations

import collections
import contextlib
import functools
import io

import gymnasium as gym
import numpy as np
from scipy.signal import convolve2d

from rlrepro.envs.registry import register

VIEW = 5  # cells on a side of the local wall view
SPIRL_RADIUS, SPIRL_STEPS = 2.0, 2000  # SPiRL's maze reward: within 2.0 of the goal; episodes
POSITION_DIMS = 2  # an observation starts with the absolute (x, y)
TARGET_SEED = 1_000_003  # the held-out target layout's seed (data layouts use seeds < 1e6)
TARGET_SIZES = {10: 1000, 20: 1500, 40: 2000}  # registered target mazes: size -> episode steps


# --- layouts ----------------------------------------------------------------------------------

def sample_layout(seed: int, size: int = 20, coverage: float = 0.25, min_len: float = 0.3,
                  max_len: float = 0.5, temperature: float = 20.0) -> np.ndarray:
    """A random ``size x size`` layout (1 = wall), walls of ``min_len``-``max_len`` of the side."""
    rng = np.random.default_rng(seed)
    layout = np.zeros((size, size))
    while layout.mean() < coverage:
        _place_wall(layout, rng, min_len, max_len, temperature)
    return layout.astype(np.int8)


def _place_wall(layout, rng, min_len, max_len, temperature):
    """One wall with a door framed by two wall cells on each side, where the walls already in
    a 5-cell band around it are fewest (probability ~ exp(-temperature * overlap))."""
    length = int(max((max_len - min_len) * len(layout) * rng.random() + min_len * len(layout), 3))
    door = rng.integers(1, length - 1)
    vertical = rng.random() < 0.5
    band = np.ones((length, 5) if vertical else (5, length)) / (5 * length)
    overlap = convolve2d(layout, band, "valid")
    p = np.exp(-temperature * overlap).ravel()
    i, j = np.unravel_index(rng.choice(p.size, p=p / p.sum()), overlap.shape)
    view = layout if not vertical else layout.T  # a vertical wall is a horizontal one transposed
    row, col = (i + 2, j) if not vertical else (j + 2, i)
    view[row, col:col + length] = 1
    view[row, col + door] = 0
    view[[row - 1, row + 1, row - 1, row + 1], [col + door - 1] * 2 + [col + door + 1] * 2] = 1


def distances(layout: np.ndarray, start) -> np.ndarray:
    """Steps between free cells (4-neighbour moves) from ``start``; -1 where unreachable."""
    dist = np.full(layout.shape, -1, dtype=int)
    dist[tuple(start)] = 0
    queue = collections.deque([tuple(start)])
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if (0 <= nr < layout.shape[0] and 0 <= nc < layout.shape[1] and not layout[nr, nc]
                    and dist[nr, nc] < 0):
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def shortest_path(layout: np.ndarray, start, goal) -> list[tuple[int, int]]:
    """The cells from ``start`` (excluded) to ``goal`` (included) along a shortest path."""
    to_goal = distances(layout, goal)
    if to_goal[tuple(start)] < 0:
        raise ValueError(f"no path from cell {tuple(start)} to cell {tuple(goal)}")
    path, cell = [], tuple(start)
    while cell != tuple(goal):
        r, c = cell
        cell = min(((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)),
                   key=lambda n: (to_goal[n] if 0 <= n[0] < layout.shape[0]
                                  and 0 <= n[1] < layout.shape[1] and to_goal[n] >= 0
                                  else np.inf))
        path.append(cell)
    return path


def open_sides(layout: np.ndarray) -> np.ndarray:
    """How many of each cell's four neighbours are free (the outside counts as wall)."""
    free = np.pad(layout == 0, 1).astype(int)
    return free[:-2, 1:-1] + free[2:, 1:-1] + free[1:-1, :-2] + free[1:-1, 2:]


def target_cells(layout: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The target task's start (the free cell nearest the top-left corner) and goal (the free
    cell farthest from it along the maze that is not a dead end). A dead end, a cell open on one
    side only, is entered by a walk that turns into it on purpose; SPiRL's maze goals lie on
    passages, so that reaching the goal measures how far an agent gets, not that luck."""
    free = np.argwhere(layout == 0)
    start = tuple(free[np.argmin(free.sum(axis=1))])
    dist = np.where((layout == 0) & (open_sides(layout) >= 2), distances(layout, start), -1)
    return start, tuple(np.unravel_index(np.argmax(dist), dist.shape))


# --- the environment --------------------------------------------------------------------------

class MazeObservation(gym.ObservationWrapper):
    """``(x, y, vx, vy)`` and the ``VIEW x VIEW`` walls around the agent's cell, float32."""

    def __init__(self, env, layout: np.ndarray):
        super().__init__(env)
        pad = VIEW // 2
        self.walls = np.pad(layout, pad, constant_values=1).astype(np.float32)
        self.maze = env.unwrapped.maze
        dim = 4 + VIEW * VIEW
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)

    def observation(self, observation):
        state = observation["observation"]
        row, col = self.maze.cell_xy_to_rowcol(state[:2])
        view = self.walls[row:row + VIEW, col:col + VIEW]  # centred on (row, col) after padding
        return np.concatenate([state, view.ravel()]).astype(np.float32)


def make_maze(layout: np.ndarray, start, goal, max_episode_steps: int,
              continuing_task: bool = False, **options) -> gym.Env:
    """PointMaze on ``layout`` (1 = wall; a wall border is added) starting in cell ``start``,
    reward 1 and the end of the episode within 0.45 of cell ``goal``'s centre (with
    ``continuing_task``, reward 1 at every such step, the episode going on)."""
    with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice on Adroit
        from gymnasium_robotics.envs.maze.point_maze import PointMazeEnv

    layout = np.asarray(layout)
    grid = np.pad(layout, 1, constant_values=1).astype(object)
    grid[start[0] + 1, start[1] + 1], grid[goal[0] + 1, goal[1] + 1] = "r", "g"
    env = PointMazeEnv(maze_map=grid.tolist(), reward_type="sparse",
                       continuing_task=continuing_task, **options)
    env = gym.wrappers.TimeLimit(env, max_episode_steps)
    return MazeObservation(env, np.pad(layout, 1, constant_values=1))


@functools.cache
def target_layout(size: int) -> np.ndarray:
    return sample_layout(TARGET_SEED, size)


def make_target(size: int, **options) -> gym.Env:
    layout = target_layout(size)
    return make_maze(layout, *target_cells(layout), TARGET_SIZES[size], **options)


class NearGoalReward(gym.Wrapper):
    """SPiRL's maze reward: 1 at every step within ``SPIRL_RADIUS`` of the goal, else 0."""

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        near = np.linalg.norm(obs[:2] - self.env.unwrapped.goal[:2]) <= SPIRL_RADIUS
        return obs, float(near), terminated, truncated, info


def make_spirl_target(size: int, **options) -> gym.Env:
    """The held-out maze of ``make_target`` scored as SPiRL scores its maze."""
    layout = target_layout(size)
    return NearGoalReward(make_maze(layout, *target_cells(layout), SPIRL_STEPS,
                                    continuing_task=True, **options))


def cell_centre(env, cell) -> np.ndarray:
    """The (x, y) of a layout cell's centre in ``env`` (a ``make_maze`` environment)."""
    return env.unwrapped.maze.cell_rowcol_to_xy(np.asarray(cell) + 1)


class WaypointController:
    """D4RL's maze controller: PD control through the centres of a shortest path's cells,
    the non-final ones jittered by up to 0.2 towards the lower left, as the original."""

    def __init__(self, env, layout: np.ndarray, start, goal, rng: np.random.Generator,
                 p_gain: float = 10.0, d_gain: float = -1.0, reached: float = 0.1):
        cells = shortest_path(layout, start, goal)
        self.waypoints = [cell_centre(env, c) - (rng.uniform(size=2) * 0.2 if i < len(cells) - 1
                                                 else 0.0) for i, c in enumerate(cells)]
        self.p_gain, self.d_gain, self.reached, self.index = p_gain, d_gain, reached, 0

    def __call__(self, observation) -> np.ndarray:
        position, velocity = observation[:2], observation[2:4]
        if (self.index < len(self.waypoints) - 1
                and np.linalg.norm(position - self.waypoints[self.index]) < self.reached):
            self.index += 1
        action = self.p_gain * (self.waypoints[self.index] - position) + self.d_gain * velocity
        return np.clip(action, -1.0, 1.0).astype(np.float32)


for _size, _steps in TARGET_SIZES.items():
    register(f"point_maze_{_size}", functools.partial(make_target, _size),
             f"PointMaze: the held-out {_size}x{_size} layout, sparse reward at the far goal, "
             f"{_steps} steps")
    register(f"point_maze_{_size}_spirl", functools.partial(make_spirl_target, _size),
             f"PointMaze: the held-out {_size}x{_size} layout scored as SPiRL's maze: reward 1 "
             f"at every step within {SPIRL_RADIUS} of the goal, {SPIRL_STEPS} steps")
