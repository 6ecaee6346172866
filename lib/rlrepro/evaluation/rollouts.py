"""Episodes, returns and the random policy: the one episode loop every evaluation goes through.

A *policy* here is anything with the agents' acting interface: ``initial_state()`` and
``act(obs, state, deterministic) -> (action, next_state)``.
"""
from __future__ import annotations

import numpy as np

EVALUATION_EPISODE_OFFSET = 10**6  # evaluation seeds never coincide with training episodes'


def episode_seed(seed: int, episode: int) -> int:
    """The environment seed of ``episode`` of a run seeded ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def run_episode(policy, env, seed: int, deterministic: bool = True, on_step=None) -> float:
    """Play one episode from ``env.reset(seed=seed)``; returns its undiscounted return.

    ``on_step(t)`` is called after reset (t = 0) and after every step (t = 1, 2, ...), e.g. to
    render a frame.
    """
    obs, _ = env.reset(seed=seed)
    state, total, done, t = policy.initial_state(), 0.0, False, 0
    if on_step is not None:
        on_step(t)
    while not done:
        action, state = policy.act(obs, state, deterministic=deterministic)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done, t = total + float(reward), terminated or truncated, t + 1
        if on_step is not None:
            on_step(t)
    return total


def evaluate(policy, env, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` deterministic episodes with fixed environment seeds."""
    return np.array([run_episode(policy, env, episode_seed(seed, EVALUATION_EPISODE_OFFSET + k))
                     for k in range(episodes)])


class UniformPolicy:
    """Uniformly random actions in [-1, 1] (the 0 of normalised scores), acting like an agent."""

    def __init__(self, act_dim: int, seed: int = 0):
        self.act_dim, self.rng = act_dim, np.random.default_rng(seed)

    def initial_state(self):
        return None

    def act(self, obs, state=None, deterministic=True):
        return self.rng.uniform(-1.0, 1.0, self.act_dim), None


def random_return(env, episodes: int = 10, seed: int = 0) -> float:
    """Mean return of uniformly random actions on ``env``."""
    return float(evaluate(UniformPolicy(env.action_space.shape[0], seed), env, episodes, seed).mean())
