"""Deep RLSP on MuJoCo (Lindner et al., ICLR 2021, Sec. 3.3): the gradient estimator over a batch
of simulators and learned inverse models.

The features are the latent code of a state VAE (``models.state_vae``); the past is walked with
the inverse policy (``models.inverse_policy``) and the inverse dynamics
(``models.inverse_dynamics``); the future is rolled with the current policy from the walks' end
states, every trajectory in its own simulator (``SimulatorBatch``), every step one batched
network call for all trajectories (the original called the networks once per sample).

As in the original, a walk takes ``horizon`` steps back (``horizon + 1`` states), each
trajectory starts at one of the observed states (cycled in a shuffled order), walked
observations are clipped to +-300, and the gradient is normalised per step (divided by the
horizon) so that its scale does not change with the horizon curriculum.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from rlrepro.envs import make_env
from rlrepro.envs.mujoco import set_state
from rlrepro.models.inverse_dynamics import InverseDynamics
from rlrepro.models.inverse_policy import InversePolicy
from rlrepro.rlsp.estimator import clipped_gradient, simulate_past_and_future

OBSERVATION_CLIP = 300.0  # bound on walked observations (the original's clip_mujoco_obs)


class SimulatorBatch:
    """``n`` simulators of one task, set to given observations and stepped together: Deep RLSP's
    forward simulation. Termination is ignored, as Deep RLSP ignores it."""

    def __init__(self, task: str, n: int, seed: int = 0):
        self.envs = [make_env(task) for _ in range(n)]
        for k, env in enumerate(self.envs):
            env.reset(seed=seed + k)  # seeds the streams set_state's resets draw from

    def set_states(self, observations) -> np.ndarray:
        """Put simulator i in the state observation i shows; the observations they are in
        (clipped velocities and the clock rounded, see ``envs.mujoco.set_state``)."""
        observations = np.asarray(observations)
        if len(observations) != len(self.envs):
            raise ValueError(f"observations: expected {len(self.envs)} rows (one per simulator), "
                             f"got {len(observations)}")
        return np.stack([set_state(env, obs) for env, obs in zip(self.envs, observations)])

    def step(self, actions) -> np.ndarray:
        """One step of every simulator; their next observations ``(n, obs_dim)``."""
        return np.stack([env.step(a)[0] for env, a in zip(self.envs, np.asarray(actions))])

    def close(self):
        for env in self.envs:
            env.close()


@dataclass
class LearnedPast:
    """One backward step: an action from the inverse policy, then the previous state from the
    inverse dynamics, both for a whole batch in one call each."""

    inverse_policy: InversePolicy
    inverse_dynamics: InverseDynamics
    generator: torch.Generator

    def backward_step(self, t, next_states):
        actions = self.inverse_policy.sample(next_states, self.generator)
        states = self.inverse_dynamics.predict_previous(next_states, actions)
        return states.clamp(-OBSERVATION_CLIP, OBSERVATION_CLIP).cpu().numpy()


def estimate_gradient(observed, horizon: int, past, simulators: SimulatorBatch,
                      policy: Callable, features: Callable, rng: np.random.Generator,
                      max_norm: float = 10.0):
    """Deep RLSP's gradient of ``log p(observed | theta)`` for a reward linear in ``features``:
    ``len(simulators.envs)`` trajectories, each from one of the ``observed`` states (cycled in a
    shuffled order), ``horizon`` steps walked back with ``past.backward_step`` and rolled forward
    with ``policy(observations) -> actions`` (a batch in, a batch out). Returns the clipped
    per-step gradient and the walks' end states (Deep RLSP also resets its policy's training
    episodes to them)."""
    observed = np.asarray(observed, dtype=np.float32)
    n = len(simulators.envs)
    starts = observed[np.resize(rng.permutation(len(observed)), n)]
    backward, forward, ends = simulate_past_and_future(
        starts, horizon, past.backward_step,
        lambda t, states: simulators.step(policy(states)),
        features, begin_forward=simulators.set_states)
    gradient = clipped_gradient(np.asarray(backward) / horizon, np.asarray(forward) / horizon,
                                max_norm=max_norm)
    return gradient, ends
