"""Partially observable control tasks of Yang & Nguyen (2021), and a factory for every
environment the off-policy agents train on.

Names (``make_env(name)``):

- ``pendulum``: Pendulum-v1 with full state (cos θ, sin θ, θ̇).
- ``pendulum_p`` (velocity removed: cos θ, sin θ), ``pendulum_v`` (position removed: θ̇),
  ``pendulum_va`` (θ̇ and the previous action).
- ``pendulum_random_length``: full state, but the pole length is drawn from {0.2, 1.0} each
  episode and never observed (system identification); ``pendulum_known_length`` observes it.
- ``cartpole``: continuous cart-pole (force 30 N, τ 0.02 s, ±12°, ±2.4 m, +1 per step, 1000
  steps); ``cartpole_p`` keeps (x, θ), ``cartpole_v`` keeps (ẋ, θ̇).
- ``dmc_cartpole_balance``, ``dmc_cartpole_swingup``: dm_control's cart-pole, and ``..._p``
  without velocities.
- any registered gymnasium id, e.g. ``HalfCheetah-v5``.

Every environment is rescaled to actions in [-1, 1] and float32 observations. ``concat=k``
turns any of them into the memoryless baseline that sees the last k observations.
"""
from __future__ import annotations

import collections

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv


class KeepObservations(gym.ObservationWrapper):
    """Observe only the given indices of a flat observation (e.g. drop velocities)."""

    def __init__(self, env, indices):
        super().__init__(env)
        self.indices = list(indices)
        box = env.observation_space
        self.observation_space = gym.spaces.Box(box.low[self.indices], box.high[self.indices],
                                                dtype=np.float32)

    def observation(self, obs):
        return np.asarray(obs, dtype=np.float32)[self.indices]


class LastAction(gym.Wrapper):
    """Append the previous action (zeros at the first step) to the observation."""

    def __init__(self, env):
        super().__init__(env)
        obs, act = env.observation_space, env.action_space
        self.observation_space = gym.spaces.Box(np.concatenate([obs.low, act.low]),
                                                np.concatenate([obs.high, act.high]),
                                                dtype=np.float32)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._join(obs, np.zeros(self.action_space.shape)), info

    def step(self, action):
        obs, *rest = self.env.step(action)
        return self._join(obs, action), *rest

    @staticmethod
    def _join(obs, action):
        return np.concatenate([obs, action]).astype(np.float32)


class ConcatObservations(gym.Wrapper):
    """A memoryless window: the last ``k`` observations side by side (zeros before the start)."""

    def __init__(self, env, k: int):
        super().__init__(env)
        self.k = k
        box = env.observation_space
        self.observation_space = gym.spaces.Box(np.tile(box.low, k), np.tile(box.high, k),
                                                dtype=np.float32)
        self.frames = collections.deque(maxlen=k)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.frames.extend([np.zeros_like(obs)] * (self.k - 1) + [obs])
        return np.concatenate(self.frames).astype(np.float32), info

    def step(self, action):
        obs, *rest = self.env.step(action)
        self.frames.append(obs)
        return np.concatenate(self.frames).astype(np.float32), *rest


class RandomLengthPendulum(PendulumEnv):
    """Pendulum whose pole length is drawn from ``lengths`` at every reset (unobserved)."""

    def __init__(self, lengths=(0.2, 1.0), observe_length=False, **kwargs):
        super().__init__(**kwargs)
        self.lengths, self.observe_length = lengths, observe_length
        if observe_length:  # the fully observed reference task
            low, high = self.observation_space.low, self.observation_space.high
            self.observation_space = gym.spaces.Box(np.append(low, min(lengths)),
                                                    np.append(high, max(lengths)), dtype=np.float32)

    def _get_obs(self):
        obs = super()._get_obs()
        return np.append(obs, np.float32(self.l)) if self.observe_length else obs

    def reset(self, *, seed=None, options=None):
        _, info = super().reset(seed=seed, options=options)
        self.l = float(self.np_random.choice(self.lengths))
        return self._get_obs(), info | {"length": self.l}


class ContinuousCartPole(gym.Env):
    """Cart-pole with a continuous force in [-30, 30] N (gymnasium's CartPole dynamics)."""

    gravity, mass_cart, mass_pole, half_length = 9.8, 1.0, 0.1, 0.5
    force_scale, tau = 30.0, 0.02
    theta_limit, x_limit = 12 * 2 * np.pi / 360, 2.4

    def __init__(self):
        high = np.array([self.x_limit * 2, np.inf, self.theta_limit * 2, np.inf], dtype=np.float32)
        self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
        self.state = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.np_random.uniform(-0.05, 0.05, 4)
        return self.state.astype(np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_scale * float(np.clip(action, -1.0, 1.0)[0])
        total_mass = self.mass_cart + self.mass_pole
        pole_moment = self.mass_pole * self.half_length
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (force + pole_moment * theta_dot**2 * sin) / total_mass
        theta_acc = (self.gravity * sin - cos * temp) / (
            self.half_length * (4.0 / 3.0 - self.mass_pole * cos**2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        self.state = np.array([x + self.tau * x_dot, x_dot + self.tau * x_acc,
                               theta + self.tau * theta_dot, theta_dot + self.tau * theta_acc])
        terminated = bool(abs(self.state[0]) > self.x_limit or abs(self.state[2]) > self.theta_limit)
        return self.state.astype(np.float32), 1.0, terminated, False, {}


class DMControl(gym.Env):
    """A dm_control suite task behind the gymnasium API, observing only ``keys``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, domain: str, task: str, keys=None, render_mode=None):
        from dm_control import suite

        self._env = suite.load(domain, task)
        spec = self._env.observation_spec()
        self.keys = list(keys or spec)
        size = sum(int(np.prod(spec[k].shape)) for k in self.keys)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        action = self._env.action_spec()
        self.action_space = gym.spaces.Box(action.minimum.astype(np.float32),
                                           action.maximum.astype(np.float32), dtype=np.float32)
        self.render_mode = render_mode

    def _observe(self, time_step):
        return np.concatenate([np.ravel(time_step.observation[k]) for k in self.keys]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._env.task._random = np.random.RandomState(self.np_random.integers(2**31))
        return self._observe(self._env.reset()), {}

    def step(self, action):
        time_step = self._env.step(action)
        terminated = time_step.last() and time_step.discount == 0.0
        truncated = time_step.last() and not terminated
        return self._observe(time_step), float(time_step.reward), terminated, truncated, {}

    def render(self):
        return self._env.physics.render(height=240, width=320, camera_id=0)


def _pendulum(**kwargs):
    return gym.make("Pendulum-v1", **kwargs)


ENVS = {
    "pendulum": lambda: _pendulum(),
    "pendulum_p": lambda: KeepObservations(_pendulum(), [0, 1]),
    "pendulum_v": lambda: KeepObservations(_pendulum(), [2]),
    "pendulum_va": lambda: LastAction(KeepObservations(_pendulum(), [2])),
    "pendulum_random_length": lambda: gym.wrappers.TimeLimit(RandomLengthPendulum(), 200),
    "pendulum_known_length": lambda: gym.wrappers.TimeLimit(RandomLengthPendulum(observe_length=True), 200),
    "cartpole": lambda: gym.wrappers.TimeLimit(ContinuousCartPole(), 1000),
    "cartpole_p": lambda: KeepObservations(ENVS["cartpole"](), [0, 2]),
    "cartpole_v": lambda: KeepObservations(ENVS["cartpole"](), [1, 3]),
    "dmc_cartpole_balance": lambda: DMControl("cartpole", "balance"),
    "dmc_cartpole_balance_p": lambda: DMControl("cartpole", "balance", ["position"]),
    "dmc_cartpole_swingup": lambda: DMControl("cartpole", "swingup"),
    "dmc_cartpole_swingup_p": lambda: DMControl("cartpole", "swingup", ["position"]),
}


def make_env(name: str, concat: int = 0) -> gym.Env:
    """The environment ``name`` (see the module docstring), actions rescaled to [-1, 1]."""
    if name in ENVS:
        env = ENVS[name]()
    elif name in gym.registry:
        env = gym.make(name)
    else:
        raise ValueError(f"environment: expected one of {sorted(ENVS)} or a gymnasium id, got {name!r}")
    ones = np.ones(env.action_space.shape, dtype=np.float32)
    env = gym.wrappers.RescaleAction(env, -ones, ones)
    if concat > 1:
        env = ConcatObservations(env, concat)
    return gym.wrappers.TransformObservation(env, lambda o: np.asarray(o, dtype=np.float32),
                                             env.observation_space)


# The fully observed task behind every partially observed one (its reference score).
FULL_STATE = {
    "pendulum_p": "pendulum", "pendulum_v": "pendulum", "pendulum_va": "pendulum",
    "pendulum_random_length": "pendulum_known_length", "cartpole_p": "cartpole", "cartpole_v": "cartpole",
    "dmc_cartpole_balance_p": "dmc_cartpole_balance",
    "dmc_cartpole_swingup_p": "dmc_cartpole_swingup",
}
