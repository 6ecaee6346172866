"""Episodes, returns and the random policy: the one episode loop every evaluation goes through.

A *policy* here is anything with the agents' acting interface: ``initial_state()`` and
``act(obs, state, deterministic) -> (actions, next_state)`` on a leading member axis (one
member per environment: ``obs (members, obs_dim)``, ``actions (members, act_dim)``).
"""
from __future__ import annotations

import numpy as np

EVALUATION_EPISODE_OFFSET = 10**6  # evaluation seeds never coincide with training episodes'
# The episodes that score a final policy: never the evaluations that may have selected it
# (keep_best, early stopping).
TEST_EPISODE_OFFSET = 2 * EVALUATION_EPISODE_OFFSET


def episode_seed(seed: int, episode: int) -> int:
    """The environment seed of ``episode`` of a run seeded ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def run_episodes(policy, envs: list, seeds: list[int], deterministic: bool = True,
                 on_step=None) -> np.ndarray:
    """One episode per environment, played in lockstep: member i of ``policy`` acts in
    ``envs[i]`` from ``reset(seed=seeds[i])``. Returns the undiscounted returns ``(members,)``.

    The policy acts on all members' observations at once (one batched network call a step); a
    member whose episode has ended waits for the others. ``on_step(t, infos)`` is called after
    reset (t = 0) and after every step (t = 1, 2, ...) with the environments' info dicts of that
    step (None for those whose episode had ended), e.g. to render a frame or record a velocity.
    """
    starts = [env.reset(seed=seed) for env, seed in zip(envs, seeds, strict=True)]
    obs = np.stack([o for o, _ in starts])
    state, t = policy.initial_state(), 0
    totals, done = np.zeros(len(envs)), np.zeros(len(envs), dtype=bool)
    if on_step is not None:
        on_step(t, [info for _, info in starts])
    while not done.all():
        actions, state = policy.act(obs, state, deterministic=deterministic)
        infos = [None] * len(envs)
        for i in np.flatnonzero(~done):
            obs[i], reward, terminated, truncated, infos[i] = envs[i].step(actions[i])
            totals[i] += float(reward)
            done[i] = terminated or truncated
        t += 1
        if on_step is not None:
            on_step(t, infos)
    return totals


def evaluate(policy, envs: list, episodes: int, seeds: list[int]) -> np.ndarray:
    """Returns ``(members, episodes)`` of deterministic episodes with fixed environment seeds
    (member i's from ``seeds[i]``)."""
    return np.stack([run_episodes(policy, envs, [episode_seed(seed, EVALUATION_EPISODE_OFFSET + k)
                                                 for seed in seeds])
                     for k in range(episodes)], axis=1)


class UniformPolicy:
    """Uniformly random actions in [-1, 1] (the 0 of normalised scores), acting like an agent."""

    def __init__(self, act_dim: int, seed: int = 0):
        self.act_dim, self.rng = act_dim, np.random.default_rng(seed)

    def initial_state(self):
        return None

    def act(self, obs, state=None, deterministic=True):
        return self.rng.uniform(-1.0, 1.0, (len(obs), self.act_dim)), None


class EpsilonGreedy:
    """``policy`` acting deterministically, each member's action replaced with probability
    ``epsilon`` by a uniformly random one (the original Deep RLSP's ``eps_greedy`` rollouts of
    its expert for the feature data)."""

    def __init__(self, policy, epsilon: float, act_dim: int, seed: int = 0):
        self.policy, self.epsilon = policy, epsilon
        self.random, self.rng = UniformPolicy(act_dim, seed), np.random.default_rng([seed, 1])

    def initial_state(self):
        return self.policy.initial_state()

    def act(self, obs, state=None, deterministic=True):
        actions, state = self.policy.act(obs, state, deterministic=True)
        replace = self.rng.random(len(obs)) < self.epsilon
        actions = np.array(actions, copy=True)
        actions[replace] = self.random.act(obs[replace])[0]
        return actions, state


def random_return(env, episodes: int = 10, seed: int = 0) -> float:
    """Mean return of uniformly random actions on ``env``."""
    policy = UniformPolicy(env.action_space.shape[0], seed)
    return float(evaluate(policy, [env], episodes, [seed]).mean())


def play(policy, task: str, seeds: list[int], **options) -> dict:
    """One episode per seed, all in lockstep (``policy`` has one member per episode): each
    episode's return, length and mean forward velocity (NaN for tasks without one)."""
    from rlrepro.envs import make_env

    envs = [make_env(task, **options) for _ in seeds]
    lengths = np.zeros(len(seeds), dtype=int)
    velocities = np.zeros(len(seeds))

    def record(t, infos):
        for i, info in enumerate(infos):
            if t > 0 and info is not None:
                lengths[i] += 1
                velocities[i] += info.get("x_velocity", np.nan)

    returns = run_episodes(policy, envs, seeds, on_step=record)
    for env in envs:
        env.close()
    return {"returns": returns, "lengths": lengths, "forward_velocity": velocities / lengths}
