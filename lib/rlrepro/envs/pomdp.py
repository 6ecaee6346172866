"""Partially observable control tasks of Yang & Nguyen (2021), registered in
``rlrepro.envs.registry`` (build them with ``rlrepro.envs.make_env(name)``):

- ``pendulum``: Pendulum-v1 with full state (cos θ, sin θ, θ̇).
- ``pendulum_p`` (velocity removed: cos θ, sin θ), ``pendulum_v`` (position removed: θ̇),
  ``pendulum_va`` (θ̇ and the previous action).
- ``pendulum_random_length``: full state, but the pole length is drawn from {0.2, 1.0} each
  episode and never observed (system identification); ``pendulum_known_length`` observes it.
- ``cartpole``: continuous cart-pole (force 30 N, τ 0.02 s, ±12°, ±2.4 m, +1 per step, 1000
  steps); ``cartpole_p`` keeps (x, θ), ``cartpole_v`` keeps (ẋ, θ̇).
- ``dmc_cartpole_balance``, ``dmc_cartpole_swingup``: dm_control's cart-pole, and ``..._p``
  without velocities.

Each partially observed task names its fully observed twin (``Task.full_state``), whose SAC
score normalises the experiment's results.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from rlrepro.envs.registry import register


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


def _pendulum():
    return gym.make("Pendulum-v1")


def _cartpole():
    return gym.wrappers.TimeLimit(ContinuousCartPole(), 1000)


def _register_tasks():
    full = [
        ("pendulum", _pendulum, "Pendulum-v1, full state (cos θ, sin θ, θ̇)"),
        ("pendulum_known_length",
         lambda: gym.wrappers.TimeLimit(RandomLengthPendulum(observe_length=True), 200),
         "pendulum with a random pole length per episode, length observed"),
        ("cartpole", _cartpole, "continuous cart-pole, full state (x, ẋ, θ, θ̇), 1000 steps"),
        ("dmc_cartpole_balance", lambda: DMControl("cartpole", "balance"),
         "dm_control cartpole-balance, full state"),
        ("dmc_cartpole_swingup", lambda: DMControl("cartpole", "swingup"),
         "dm_control cartpole-swingup, full state"),
    ]
    partial = [
        ("pendulum_p", lambda: KeepObservations(_pendulum(), [0, 1]), "pendulum",
         "pendulum without velocity (cos θ, sin θ)"),
        ("pendulum_v", lambda: KeepObservations(_pendulum(), [2]), "pendulum",
         "pendulum, velocity only (θ̇)"),
        ("pendulum_va", lambda: LastAction(KeepObservations(_pendulum(), [2])), "pendulum",
         "pendulum, velocity and the previous action"),
        ("pendulum_random_length",
         lambda: gym.wrappers.TimeLimit(RandomLengthPendulum(), 200), "pendulum_known_length",
         "pendulum with an unobserved pole length in {0.2, 1.0} per episode"),
        ("cartpole_p", lambda: KeepObservations(_cartpole(), [0, 2]), "cartpole",
         "continuous cart-pole, positions only (x, θ)"),
        ("cartpole_v", lambda: KeepObservations(_cartpole(), [1, 3]), "cartpole",
         "continuous cart-pole, velocities only (ẋ, θ̇)"),
        ("dmc_cartpole_balance_p", lambda: DMControl("cartpole", "balance", ["position"]),
         "dmc_cartpole_balance", "dm_control cartpole-balance without velocities"),
        ("dmc_cartpole_swingup_p", lambda: DMControl("cartpole", "swingup", ["position"]),
         "dmc_cartpole_swingup", "dm_control cartpole-swingup without velocities"),
    ]
    for name, factory, description in full:
        register(name, factory, description)
    for name, factory, full_state, description in partial:
        register(name, factory, description, full_state=full_state)


_register_tasks()
