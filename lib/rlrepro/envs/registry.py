"""The package's one environment registry: every task registers here under a short name.

``make_env(name)`` builds any registered task (or any gymnasium id) the same way: continuous
actions rescaled to [-1, 1], float32 observations, and optionally a window of the last k
observations (the memoryless baseline of partially observable tasks). Modules of
``rlrepro.envs`` register their tasks when imported; the package imports them on the first use
of its names.
"""
from __future__ import annotations

import collections
import inspect
from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class Task:
    """A registered environment."""

    name: str
    factory: Callable[..., gym.Env]  # builds the raw environment (given make_env's options)
    description: str
    full_state: str | None = None  # the fully observed task behind a partially observed one
    source: str | None = None  # file of the module that registered it (part of a policy's code)


_TASKS: dict[str, Task] = {}


def register(name: str, factory: Callable[[], gym.Env], description: str,
             full_state: str | None = None):
    """Add a task; registering the same name twice is an error (two modules would disagree).
    The calling module's file is recorded as the task's source."""
    if name in _TASKS:
        raise ValueError(f"environment {name!r} is already registered")
    _TASKS[name] = Task(name, factory, description, full_state,
                        inspect.currentframe().f_back.f_code.co_filename)


def task(name: str) -> Task:
    if name not in _TASKS:
        raise ValueError(f"environment: expected one of {sorted(_TASKS)} or a gymnasium id, "
                         f"got {name!r}")
    return _TASKS[name]


def names(partially_observed: bool | None = None) -> list[str]:
    """Registered task names; ``partially_observed=True`` keeps those with a full-state twin."""
    return sorted(n for n, t in _TASKS.items()
                  if partially_observed is None or (t.full_state is not None) == partially_observed)


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


class LearnedReward(gym.Wrapper):
    """Pays ``reward(s')``, a learned function of the state after the step, instead of the task's
    reward (kept in ``info["true_reward"]``; None keeps paying it). With ``ignore_termination``
    an episode ends only at its time limit, as Deep RLSP trains on an inferred reward: where the
    task ends an episode (a fallen Hopper) would otherwise tell the policy about the true
    reward."""

    def __init__(self, env, reward: Callable | None, ignore_termination: bool = False):
        super().__init__(env)
        self.reward, self.ignore_termination = reward, ignore_termination

    def step(self, action):
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        reward = (true_reward if self.reward is None
                  else float(self.reward(np.asarray(obs)[None])[0]))
        return (obs, reward, terminated and not self.ignore_termination, truncated,
                {**info, "true_reward": true_reward})


class SkillActions(gym.Wrapper):
    """The high level of a hierarchical agent (SPiRL): an action in [-1, 1]^d names a skill at
    the skill's first observation (``skills.skill(obs, action)``), which the frozen low level
    ``skills.act(obs, skill)`` turns into the task's actions for ``skills.horizon`` steps (fewer
    if the episode ends); the reward is theirs summed and ``info["steps"]`` counts them (e.g.
    ``models.skill_prior.SkillSpace``)."""

    def __init__(self, env, skills):
        super().__init__(env)
        self.skills = skills
        self.action_space = gym.spaces.Box(-1.0, 1.0, (skills.latent_dim,), np.float32)

    def reset(self, **kwargs):
        self.obs, info = self.env.reset(**kwargs)
        return self.obs, info

    def step(self, action):
        skill, total = self.skills.skill(self.obs, action), 0.0
        for steps in range(1, self.skills.horizon + 1):
            self.obs, reward, terminated, truncated, info = self.env.step(
                self.skills.act(self.obs, skill))
            total += float(reward)
            if terminated or truncated:
                break
        return self.obs, total, terminated, truncated, {**info, "steps": steps}


def make_env(name: str, concat: int = 0, reward: Callable | None = None,
             ignore_termination: bool = False, skills=None, **options) -> gym.Env:
    """The task ``name`` (a registered name or a gymnasium id); continuous actions in [-1, 1],
    float32 observations; ``concat=k > 1`` observes the last k observations. ``reward`` (a
    function of a batch of next states, e.g. ``models.learned_reward.LatentReward``) replaces
    the task's reward (``LearnedReward``); with ``skills`` the actions are skills
    (``SkillActions``). ``options`` go to the task's constructor (e.g.
    ``render_mode="rgb_array"`` for GIFs of a MuJoCo task)."""
    if name in _TASKS:
        env = _TASKS[name].factory(**options)
    elif name in gym.registry:
        env = gym.make(name, **options)
    else:
        task(name)  # raises the error listing every registered name
    if isinstance(env.action_space, gym.spaces.Box):
        ones = np.ones(env.action_space.shape, dtype=np.float32)
        env = gym.wrappers.RescaleAction(env, -ones, ones)
    if reward is not None or ignore_termination:
        env = LearnedReward(env, reward, ignore_termination)
    if skills is not None:
        env = SkillActions(env, skills)
    if concat > 1:
        env = ConcatObservations(env, concat)
    if isinstance(env.observation_space, gym.spaces.Box):
        env = gym.wrappers.TransformObservation(env, lambda o: np.asarray(o, dtype=np.float32),
                                                env.observation_space)
    return env


def spaces(task: str):
    """The observation and action shapes of a task."""
    env = make_env(task)
    shapes = (env.observation_space.shape, env.action_space.shape)
    env.close()
    return shapes
