"""Episodes with test-time adaptation (PAD, Hansen et al. 2021): while an agent with a
self-supervised branch (``td3_pad``, or our ablation ``td3_ssl``) acts on an environment it was
not trained on, its encoder follows the self-supervised loss on the transitions it has just
seen, without any reward.

Each member adapts on its own episode: load the policy with one member per episode
(``training.load_policy(run, copies=n)``) and every episode starts from the trained weights.
"""
from __future__ import annotations

import numpy as np


def run_adapting_episodes(agent, envs: list, seeds: list[int], episode_batch: int = 0,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One deterministic episode per environment in lockstep, as ``rollouts.run_episodes``,
    with one ``agent.adapt`` step after every environment step: on the latest transition
    (``episode_batch`` 0, PAD's: it adapts on 32 randomly cropped copies of the newest
    observation pair; a state has no crop, and identical copies give one transition's
    gradient), or on ``episode_batch`` transitions drawn with replacement from each member's
    episode so far. Returns the undiscounted returns ``(members,)`` and the self-supervised loss
    before each adaptation step ``(steps, members)``."""
    rng = np.random.default_rng(seed)
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)])
    seen = [[] for _ in envs]  # each member's (obs, action, next obs) of this episode
    totals, done, losses = np.zeros(len(envs)), np.zeros(len(envs), dtype=bool), []
    while not done.all():
        actions, _ = agent.act(obs, None, deterministic=True)
        for i in np.flatnonzero(~done):
            next_obs, reward, terminated, truncated, _ = envs[i].step(actions[i])
            seen[i].append((obs[i].copy(), actions[i].copy(), next_obs))
            obs[i], totals[i] = next_obs, totals[i] + float(reward)
            done[i] = terminated or truncated
        if episode_batch:
            drawn = [[member[k] for k in rng.integers(len(member), size=episode_batch)]
                     for member in seen]
        else:  # a finished member repeats its last transition, its episode already scored
            drawn = [member[-1:] for member in seen]
        losses.append(agent.adapt(*(np.stack([[t[part] for t in member] for member in drawn])
                                    for part in range(3))).cpu().numpy())
    return totals, np.array(losses)
