"""Deep RLSP on MuJoCo (Lindner et al., ICLR 2021, Sec. 3.3): the gradient estimator over a batch
of simulators and learned inverse models, and the loop that ascends it (``deep_rlsp``).

The features are the latent code of a state VAE (``models.state_vae``); the past is walked with
the inverse policy (``models.inverse_policy``) and the inverse dynamics
(``models.inverse_dynamics``); the future is rolled with the current policy from the walks' end
states, every trajectory in its own simulator (``SimulatorBatch``), every step one batched
network call for all trajectories (the original called the networks once per sample).

As in the original, a walk takes ``horizon`` steps back (``horizon + 1`` states), each
trajectory starts at one of the observed states (cycled in a shuffled order), walked
observations are clipped to +-300, and the gradient is normalised per step (divided by the
horizon) so that its scale does not change with the horizon curriculum. The loop follows the
original's: theta starts at the observed states' normalised mean feature; the policy (SAC,
``Solver``) trains on the current reward between gradient steps, on short episodes a share of
which start in a state of the last backward walks or an observed state (from the first training
on); the policy acts deterministically in the forward rollouts and the inverse policy's data
(stable-baselines 2's ``SAC.predict``); the inverse policy is rebuilt and refit every epoch;
the horizon grows when the mean of the last 10 (unclipped) gradients is short; theta is not
normalised during the ascent. The features are the VAE's posterior mean (the original drew a
sample).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.buffers import sample_members
from rlrepro.envs import make_env
from rlrepro.envs.mujoco import set_state
from rlrepro.evaluation.rollouts import episode_seed
from rlrepro.models.inverse_dynamics import InverseDynamics
from rlrepro.models.inverse_policy import InversePolicy, InversePolicyConfig
from rlrepro.models.inverse_policy import fit as fit_inverse_policy
from rlrepro.models.learned_reward import LatentReward
from rlrepro.models.state_vae import StateVAE
from rlrepro.params import param
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
    inverse dynamics, both for a whole batch in one call each. ``walked`` collects every state
    the walks reach (the solver's reset states, as the original's ``obs_backward``)."""

    inverse_policy: InversePolicy
    inverse_dynamics: InverseDynamics
    generator: torch.Generator
    walked: list = field(default_factory=list)

    def backward_step(self, t, next_states):
        actions = self.inverse_policy.sample(next_states, self.generator)
        states = self.inverse_dynamics.predict_previous(next_states, actions)
        states = states.clamp(-OBSERVATION_CLIP, OBSERVATION_CLIP).cpu().numpy()
        self.walked.append(states)
        return states


def estimate_gradient(observed, horizon: int, past, simulators: SimulatorBatch,
                      policy: Callable, features: Callable, rng: np.random.Generator,
                      max_norm: float = 10.0, weights: Callable | None = None):
    """Deep RLSP's gradient of ``log p(observed | theta)`` for a reward linear in ``features``:
    ``len(simulators.envs)`` trajectories, each from one of the ``observed`` states (cycled in a
    shuffled order), ``horizon`` steps walked back with ``past.backward_step`` and rolled forward
    with ``policy(observations) -> actions`` (a batch in, a batch out); ``weights(ends)``, if
    given, weighs the trajectories by their walks' ends. Returns the clipped per-step gradient
    and the walks' end states."""
    observed = np.asarray(observed, dtype=np.float32)
    n = len(simulators.envs)
    starts = observed[np.resize(rng.permutation(len(observed)), n)]
    backward, forward, ends = simulate_past_and_future(
        starts, horizon, past.backward_step,
        lambda t, states: simulators.step(policy(states)),
        features, begin_forward=simulators.set_states)
    gradient = clipped_gradient(np.asarray(backward) / horizon, np.asarray(forward) / horizon,
                                max_norm=max_norm,
                                weights=None if weights is None else weights(ends))
    return gradient, ends


@dataclass(frozen=True)
class DeepRLSPConfig:
    """Deep RLSP's settings on MuJoCo; the defaults are the original's cheetah settings."""

    horizons: tuple[int, ...] = param("the horizon curriculum: walks of T steps for each T in "
                                      "turn, each until the gradient settles (paper: 1..30)",
                                      default=tuple(range(1, 31)), min=1)
    max_epochs_per_horizon: int = param("epochs before the next horizon even if the gradient "
                                        "has not settled (paper: 10)", default=10, min=1)
    threshold: float = param("the next horizon starts when the mean of the last 10 gradients "
                             "is shorter than this (paper: 2.0)", default=2.0, min=0.0)
    n_trajectories: int = param("simulated trajectories per gradient (paper: 200)", default=200,
                                min=1)
    learning_rate: float = param("step of the gradient ascent on theta (paper: 0.01)",
                                 default=0.01, min=0.0)
    max_gradient_norm: float = param("gradients are clipped to this norm (paper: 10)",
                                     default=10.0, min=0.0)
    reweight: bool = param("weigh each trajectory by the cosine similarity of its walk's end "
                           "with an initial state (paper: on)", default=True)
    solver_steps: int = param("SAC steps on the current reward after each gradient step "
                              "(paper: cheetah 10k, hopper 20k, pendulum 50k)", default=10_000,
                              min=1)
    reset_solver: bool = param("a fresh SAC, its replay buffer too, every epoch instead of "
                               "continuing (paper: pendulum only)", default=False)
    episode_steps: int = param("length of the policy's training episodes (paper: its "
                               "time_horizon, the largest horizon x policy_horizon_factor, + 1 "
                               "as its episodes end after more steps than that: 31, pendulum "
                               "3001)", default=31, min=1)
    reset_probability: float = param("share of training episodes that start in a state of the "
                                     "last backward walks or an observed state (paper: 0.2)",
                                     default=0.2, min=0.0, max=1.0)
    inverse_policy_pairs: int = param("(s', a) pairs the inverse policy is refit on each epoch, "
                                      "s from the feature data, a from the policy (paper: the "
                                      "100k-transition replay)", default=100_000, min=1)


class Solver:
    """The SAC policy Deep RLSP keeps improving on its current reward ``theta . phi(s')``.

    Its environment pays the reward (``make_env(reward=...)``; changing ``reward.weights``
    changes it in place), ignores termination, ends episodes after ``episode_steps`` and starts a
    ``reset_probability`` share of them in given states (the walked and the observed states).
    Unlike ``agents.training.train``, the run has no fixed length and no folder: it continues
    for ``learn(steps)`` at a time, each call from a fresh episode (stable-baselines 2's
    ``learn`` resets its environment). Transitions keep the reward they were paid, as in the
    original, unless ``restart`` empties the buffer.
    """

    def __init__(self, task: str, reward: LatentReward, agent_config: AgentConfig,
                 cfg: DeepRLSPConfig, seed: int = 0):
        self.env = gym.wrappers.TimeLimit(make_env(task, reward=reward, ignore_termination=True),
                                          cfg.episode_steps)
        obs_dim, act_dim = self.env.observation_space.shape[0], self.env.action_space.shape[0]
        self.reward, self.agent_config, self.cfg, self.seed = reward, agent_config, cfg, seed
        self.agent = make_agent(obs_dim, act_dim, agent_config, seeds=[seed])
        self.buffer = self.agent.make_buffer(seed)
        self.rng = np.random.default_rng([seed, 1])
        self.reset_states = np.zeros((0, obs_dim), dtype=np.float32)
        self.episodes, self.obs = 0, None

    def restart(self):
        """A fresh agent with an empty replay buffer (``reset_solver``: the original built a
        new SAC), in the same environment."""
        obs_dim, act_dim = self.env.observation_space.shape[0], self.env.action_space.shape[0]
        seed = self.seed + self.episodes
        self.agent = make_agent(obs_dim, act_dim, self.agent_config, seeds=[seed])
        self.buffer = self.agent.make_buffer(seed)

    def policy(self, observations) -> np.ndarray:
        """Deterministic actions for a batch of observations (stable-baselines 2's
        ``SAC.predict``, which the original called with its default ``deterministic=True``)."""
        return self.agent.act_on_states(np.asarray(observations)[None], deterministic=True)[0]

    def learn(self, steps: int):
        batch = self.agent.config.batch_size
        self.obs = None
        for _ in range(steps):
            if self.obs is None:
                self.obs = self._reset()
            action = self.agent.act(self.obs[None])[0][0]
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self.buffer.add(self.obs, action, reward, next_obs, terminated, truncated)
            self.obs = None if terminated or truncated else next_obs
            if self.buffer.can_sample(batch):
                self.agent.update(sample_members([self.buffer], batch, self.agent.device))

    def _reset(self):
        obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episodes))
        self.episodes += 1
        if len(self.reset_states) and self.rng.random() < self.cfg.reset_probability:
            obs = set_state(self.env, self.reset_states[self.rng.integers(len(self.reset_states))])
        return obs


def inverse_policy_data(solver: Solver, states, simulators: SimulatorBatch, n: int, rng):
    """``n`` pairs (s', a) for the inverse policy: s drawn from ``states`` (the feature data),
    a from the current policy at s, s' from the true simulator."""
    chunk = len(simulators.envs)
    next_states, actions = [], []
    for start in range(0, n, chunk):
        s = simulators.set_states(states[rng.integers(len(states), size=chunk)])
        a = solver.policy(s)
        next_states.append(simulators.step(a))
        actions.append(a)
    return np.concatenate(next_states)[:n], np.concatenate(actions)[:n]


def deep_rlsp(task: str, observed, vae: StateVAE, inverse_dynamics: InverseDynamics,
              feature_states, agent_config: AgentConfig, cfg: DeepRLSPConfig,
              inverse_policy_config: InversePolicyConfig, seed: int = 0, on_epoch=None) -> list:
    """Infer ``theta`` from the ``observed`` states (Deep RLSP's loop): start from their
    normalised mean feature, train the policy on it, then per epoch refit the inverse policy,
    estimate the gradient, step theta, and train the policy on the new reward; the horizon
    grows when the gradient settles. Returns one record per epoch (theta, the unclipped gradient
    and its norms, horizon); ``on_epoch(record, solver)`` is called after each (e.g. to score the policy)."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    observed = np.asarray(observed, dtype=np.float32)
    features = lambda states: vae.encode(states, sample=False).cpu().numpy()  # noqa: E731
    theta = features(observed).sum(axis=0)
    theta /= np.linalg.norm(theta)
    reward = LatentReward(vae, theta)
    solver = Solver(task, reward, agent_config, cfg, seed)
    simulators = SimulatorBatch(task, cfg.n_trajectories, seed)
    low, high = simulators.envs[0].action_space.low, simulators.envs[0].action_space.high
    initial = simulators.envs[0].reset(seed=seed)[0]
    solver.reset_states = observed
    solver.learn(cfg.solver_steps)
    history = []
    for horizon in cfg.horizons:
        gradients = []
        for _ in range(cfg.max_epochs_per_horizon):
            inverse_policy = InversePolicy(observed.shape[1], low, high, inverse_policy_config,
                                           seed=seed + len(history))
            fit_inverse_policy(inverse_policy, *inverse_policy_data(
                solver, feature_states, simulators, cfg.inverse_policy_pairs, rng),
                inverse_policy_config, seed=seed + len(history))
            past = LearnedPast(inverse_policy, inverse_dynamics, generator)
            weights = (lambda ends: cosine_similarity(ends, initial)) if cfg.reweight else None
            gradient, _ = estimate_gradient(observed, horizon, past, simulators,
                                            solver.policy, features, rng,
                                            max_norm=float("inf"), weights=weights)
            gradients.append(gradient)
            norm = np.linalg.norm(gradient)
            step = gradient * min(1.0, cfg.max_gradient_norm / norm) if norm > 0 else gradient
            theta = theta + cfg.learning_rate * step
            reward.weights[:] = torch.as_tensor(theta, dtype=torch.float32)
            solver.reset_states = np.concatenate([*past.walked, observed]).astype(np.float32)
            if cfg.reset_solver:
                solver.restart()
            solver.learn(cfg.solver_steps)
            settled = float(np.linalg.norm(np.mean(gradients[-10:], axis=0)))
            history.append({"epoch": len(history) + 1, "horizon": horizon,
                            "theta": theta.tolist(), "gradient": gradient.tolist(),
                            "gradient_norm": float(norm), "mean_gradient_norm": settled})
            if on_epoch is not None:
                on_epoch(history[-1], solver)
            if settled <= cfg.threshold:
                break
    simulators.close()
    return history


def cosine_similarity(rows, vector) -> np.ndarray:
    """Cosine similarity of each row with ``vector`` (the original's trajectory weights)."""
    rows, vector = np.asarray(rows, dtype=np.float64), np.asarray(vector, dtype=np.float64)
    return rows @ vector / (np.linalg.norm(rows, axis=1) * np.linalg.norm(vector) + 1e-12)
