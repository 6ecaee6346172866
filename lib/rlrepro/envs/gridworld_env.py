"""The RLSP gridworlds as gymnasium environments that also expose their tabular model.

``gymnasium.make("rlrepro/Room-v0")`` starts in the problem's initial state ``s_-T``;
``reset(options={"state": "observed"})`` starts in the observed state ``s_0`` instead.
Observations are state indices into ``env.unwrapped.model.states``; ``info["features"]`` holds
the feature vector. Rewards are the true reward (``reward="true"``) or the specified one.
Importing this module registers every problem under its name (``make_env("apples")``) and its
gymnasium id (``GRIDWORLD_IDS``).
"""
from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np

from rlrepro.envs.gridworlds import TabularModel, tabular_model
from rlrepro.envs.registry import register

GRIDWORLD_IDS = {
    "room": "rlrepro/Room-v0",
    "room_bad": "rlrepro/RoomBad-v0",
    "train": "rlrepro/Train-v0",
    "apples": "rlrepro/Apples-v0",
    "batteries": "rlrepro/Batteries-v0",
    "batteries_easy": "rlrepro/BatteriesEasy-v0",
}

PALETTE = {  # RGB of each symbol in image renderings
    ".": (245, 245, 245), "G": (250, 210, 60), "C": (170, 120, 200), "V": (60, 170, 80),
    "x": (220, 60, 60), "t": (200, 200, 200), "T": (50, 110, 220), "X": (220, 60, 60),
    "B": (150, 220, 60), "agent": (240, 140, 30), "apple tree": (40, 140, 60),
    "empty tree": (140, 100, 60), "bucket": (230, 190, 130),
}


def _colour(symbol):
    if symbol.isdigit():
        return PALETTE["bucket"]
    return PALETTE.get(symbol, PALETTE["."])


def render_rgb(model: TabularModel, state, cell=24):
    """An ``(H*cell, W*cell, 3)`` uint8 picture: objects as coloured cells, the agent inset."""
    world = model.problem.world
    image = np.zeros((world.height * cell, world.width * cell, 3), np.uint8)
    image[:] = PALETTE["."]
    symbols = world.symbols(state)
    trees = getattr(world, "trees", [])
    for (x, y), symbol in symbols.items():
        colour = _colour(symbol)
        if (x, y) in trees:
            colour = PALETTE["apple tree" if symbol == "T" else "empty tree"]
        image[y * cell:(y + 1) * cell, x * cell:(x + 1) * cell] = colour
    x, y, _ = world.agent(state)
    pad = cell // 4
    image[y * cell + pad:(y + 1) * cell - pad, x * cell + pad:(x + 1) * cell - pad] = PALETTE["agent"]
    image[::cell] = image[:, ::cell] = image[-1] = image[:, -1] = 90  # grid lines
    return image


class GridworldEnv(gym.Env):
    """One RLSP problem as a gymnasium environment (episodes never terminate by themselves)."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, problem: str, reward: str = "true", render_mode: str | None = None):
        if reward not in ("true", "specified"):
            raise ValueError(f"reward: expected 'true' or 'specified', got {reward!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode: expected one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.model = tabular_model(problem)
        weights = self.model.problem.r_true if reward == "true" else self.model.problem.r_spec
        self.state_reward = self.model.features @ weights
        self.observation_space = gym.spaces.Discrete(self.model.n_states)
        self.action_space = gym.spaces.Discrete(self.model.n_actions)
        self.render_mode = render_mode
        self.state = self.model.initial_state

    def _info(self):
        return {"features": self.model.features[self.state], "state": self.model.states[self.state]}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        start = (options or {}).get("state", "initial")
        if start not in ("initial", "observed"):
            raise ValueError(f"options['state']: expected 'initial' or 'observed', got {start!r}")
        self.state = self.model.initial_state if start == "initial" else self.model.observed_state
        return self.state, self._info()

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action: expected an integer in [0, {self.model.n_actions}), got {action!r}")
        P = self.model.transitions
        row = self.state * self.model.n_actions + int(action)
        lo, hi = P.indptr[row], P.indptr[row + 1]
        self.state = int(self.np_random.choice(P.indices[lo:hi], p=P.data[lo:hi]))
        return self.state, float(self.state_reward[self.state]), False, False, self._info()

    def render(self):
        state = self.model.states[self.state]
        if self.render_mode == "ansi":
            return self.model.problem.world.text(state)
        if self.render_mode == "rgb_array":
            return render_rgb(self.model, state)
        return None


for _problem, _id in GRIDWORLD_IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point="rlrepro.envs.gridworld_env:GridworldEnv",
                     kwargs={"problem": _problem})
    register(_problem, functools.partial(gym.make, _id),
             f"RLSP gridworld {_problem} (true reward, starts in s_-T)")
