"""PPO for continuous actions (Schulman et al. 2017): the generator of GAIL.

It reads top to bottom, like CleanRL's ``ppo_continuous_action.py``: the hyperparameters, the
network, the running normalisers, then the algorithm. One *round* collects a rollout batch of
``n_steps`` steps from each of ``n_envs`` environments stepped in lockstep (vectorised by hand),
computes GAE advantages, and takes ``epochs`` passes of clipped-surrogate steps over shuffled
minibatches.

Defaults are the generator of GAIL in imitation v0.1.1: stable-baselines 2.10 PPO2 with
imitation's ``FeedForward32Policy`` (policy and value share a [32, 32] tanh trunk) and the
hyperparameters of ``scripts/config/common.py`` and ``train_adversarial.py``, on 8 environments
wrapped in stable-baselines' ``VecNormalize`` with its defaults (observation *and* reward
normalisation: ``normalize_obs`` and ``normalize_reward`` below). Where we differ from PPO2:

- a time-limit truncation bootstraps from the value of the final observation, added to the
  last reward (SB3's PPO does this; PPO2 treats a truncation as a terminal state);
- actions are clipped to [-1, 1] before the environment sees them (PPO2 clips to the action
  space; ours is [-1, 1], ``make_env`` rescales it to the task's bounds as for every agent);
- a reward function given to a round is applied to the whole rollout once it is collected,
  not step by step (the same numbers for a reward that does not change during a rollout; GAIL's
  normalises observations with the running statistics of the rollout's end).

**Acting.** ``act(obs, state, deterministic)`` and ``initial_state()`` follow the agents'
interface (``rlrepro.evaluation.rollouts``): raw observations ``(n, obs_dim)`` in, normalised
with the current statistics, actions ``(n, act_dim)`` in [-1, 1] out (the Gaussian mean when
deterministic).

**Seeds.** The network is initialised from ``seed``; one torch generator seeded ``seed`` draws
every action sample and minibatch order; episode k of environment i starts from
``reset(seed=episode_seed(seed, i + n_envs * k))``. The same seed gives the same run.

**Checkpoints.** ``save(folder)`` writes ``ppo.pt``, plain state dicts and tensors that
``torch.load(..., weights_only=True)`` reads; ``load(folder)`` restores it into a PPO built
with the same configuration, seed and environments, and puts every environment back where its
episode was by replaying the episode's actions from its seed (``agents.training`` does the
same), so training continues exactly as if it had not stopped.
"""
from __future__ import annotations

import dataclasses
import math
import pathlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from rlrepro.agents.optim import FusedAdam
from rlrepro.evaluation.rollouts import episode_seed
from rlrepro.models.fitting import seeded
from rlrepro.models.mlp import mlp
from rlrepro.params import param
from rlrepro.runs import save

CHECKPOINT = "ppo.pt"


@dataclass(frozen=True)
class PPOConfig:
    """Hyperparameters of PPO. Defaults: GAIL's generator in imitation v0.1.1 (PPO2)."""

    hidden: tuple[int, ...] = param("hidden layers of tanh units (imitation's "
                                    "FeedForward32Policy: [32, 32])", default=(32, 32), min=1)
    shared: bool = param("policy and value share the hidden layers and differ only in their "
                         "output layer (FeedForward32Policy); False: two MLPs of these sizes "
                         "(SB3's MlpPolicy, which has no shared layers since SB3 1.8)",
                         default=True)
    init_log_std: float = param("initial log standard deviation of the Gaussian policy, a "
                                "state-independent parameter (PPO2, SB3: 0)", default=0.0)
    lr: float = param("Adam step size (imitation: 3e-4, constant)", default=3e-4, min=1e-8,
                      max=1.0)
    adam_eps: float = param("Adam epsilon (PPO2 and SB3: 1e-5)", default=1e-5, min=0.0)
    n_envs: int = param("environments stepped in lockstep (imitation's num_vec: 8)", default=8,
                        min=1)
    n_steps: int = param("steps per environment per rollout batch; the batch is n_envs * "
                         "n_steps (imitation: gen_batch_size 2048 = 8 * 256)", default=256, min=1)
    minibatches: int = param("minibatches per pass through a batch (imitation's nminibatches: "
                             "32, i.e. 64 transitions each)", default=32, min=1)
    epochs: int = param("passes through each batch (imitation's noptepochs: 10)", default=10,
                        min=1)
    gamma: float = param("discount (PPO2: 0.99)", default=0.99, min=0.0, max=1.0)
    gae_lambda: float = param("GAE lambda (PPO2: 0.95)", default=0.95, min=0.0, max=1.0)
    clip: float = param("clip range of the probability ratio (PPO2: 0.2)", default=0.2, min=0.0)
    clip_value: float = param("the value is clipped to this distance from its rollout value, "
                              "and the larger of the clipped and unclipped losses is taken "
                              "(PPO2's cliprange_vf=None uses the ratio's clip range, 0.2); 0: no "
                              "value clipping (SB3's default)", default=0.2, min=0.0)
    value_coef: float = param("weight of the value loss 0.5 (V - R)^2, as PPO2 writes it (PPO2: "
                              "0.5; SB3's loss has no 0.5: its vf_coef = value_coef / 2)",
                              default=0.5, min=0.0)
    entropy_coef: float = param("weight of the entropy bonus (imitation: 0)", default=0.0,
                                min=0.0)
    max_grad_norm: float = param("gradients are clipped to this global norm (PPO2: 0.5)",
                                 default=0.5, min=0.0)
    normalize_advantage: bool = param("standardise advantages within each minibatch (PPO2, "
                                      "SB3)", default=True)
    normalize_obs: bool = param("observations normalised by their running mean and std, as "
                                "VecNormalize (imitation v0.1.1 wraps the generator's envs in "
                                "VecNormalize with its defaults)", default=True)
    normalize_reward: bool = param("rewards divided by the running std of the discounted "
                                   "return, as VecNormalize (its default, so imitation's too)",
                                   default=True)
    clip_obs: float = param("normalised observations are clipped to +-clip_obs (VecNormalize: "
                            "10)", default=10.0, min=0.0)
    clip_reward: float = param("normalised rewards are clipped to +-clip_reward (VecNormalize: "
                               "10)", default=10.0, min=0.0)

    def __post_init__(self):
        if (self.n_envs * self.n_steps) % self.minibatches:
            raise ValueError(f"minibatches: {self.minibatches} must divide the batch of n_envs * "
                             f"n_steps = {self.n_envs * self.n_steps} transitions")

    @property
    def batch_size(self) -> int:
        return self.n_envs * self.n_steps


# --- the network --------------------------------------------------------------------------------
class ActorCritic(nn.Module):
    """A Gaussian policy with a state-independent log std, and a value function.

    ``shared``: one tanh MLP whose output layer gives the action mean and the value (policy and
    value share every weight but their output layer's, FeedForward32Policy); otherwise two MLPs.
    Orthogonal initialisation as PPO2 and SB3: hidden layers gain sqrt(2), the mean's outputs
    0.01, the value's 1, biases 0.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden, shared: bool, init_log_std: float):
        super().__init__()
        self.act_dim, self.shared = act_dim, shared
        if shared:
            self.body = mlp([obs_dim, *hidden, act_dim + 1], nn.Tanh)
            heads = [(self.body[-1], slice(0, act_dim), 0.01),
                     (self.body[-1], slice(act_dim, act_dim + 1), 1.0)]
        else:
            self.pi, self.vf = mlp([obs_dim, *hidden, act_dim], nn.Tanh), mlp([obs_dim, *hidden, 1], nn.Tanh)
            heads = [(self.pi[-1], slice(None), 0.01), (self.vf[-1], slice(None), 1.0)]
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        with torch.no_grad():
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.orthogonal_(layer.weight, math.sqrt(2))
                    layer.bias.zero_()
            for layer, rows, gain in heads:
                nn.init.orthogonal_(layer.weight[rows], gain)

    def forward(self, obs):
        """Action means ``(n, act_dim)`` and values ``(n,)`` of normalised observations."""
        if self.shared:
            out = self.body(obs)
            return out[:, :self.act_dim], out[:, self.act_dim]
        return self.pi(obs), self.vf(obs).squeeze(-1)

    def log_prob(self, actions, mean):
        """log N(actions; mean, exp(log_std)) summed over the action dimensions."""
        z = (actions - mean) / self.log_std.exp()
        return (-0.5 * z ** 2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self):
        return (self.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()


# --- running normalisers ------------------------------------------------------------------------
class RunningMeanStd:
    """Mean and variance of a stream of batches (the parallel update of Chan et al.), in float64,
    starting like VecNormalize's from mean 0, variance 1 and a count of 1e-4."""

    def __init__(self, shape=()):
        self.mean = torch.zeros(shape, dtype=torch.float64)
        self.var = torch.ones(shape, dtype=torch.float64)
        self.count = 1e-4

    def update(self, x):
        x = torch.as_tensor(x, dtype=torch.float64)
        n, batch_mean, batch_var = x.shape[0], x.mean(0), x.var(0, correction=0)
        delta, total = batch_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta ** 2 * self.count * n / total) / total
        self.count = total

    def state_dict(self):
        return {"mean": self.mean.clone(), "var": self.var.clone(), "count": self.count}

    def load_state_dict(self, state):
        self.mean, self.var, self.count = state["mean"].clone(), state["var"].clone(), state["count"]


EPSILON = 1e-8  # VecNormalize's, under every square root


# --- the algorithm ------------------------------------------------------------------------------
class PPO:
    """PPO training on ``envs`` (``config.n_envs`` of them, actions in [-1, 1]: built with
    ``rlrepro.envs.make_env``); see the module's docstring. A PPO that only acts (a loaded
    policy) may be given a single environment, for its shapes."""

    def __init__(self, envs: list, config: PPOConfig = PPOConfig(), seed: int = 0):
        if not envs:
            raise ValueError("envs: expected at least one environment")
        spaces = {(env.observation_space.shape, env.action_space.shape) for env in envs}
        if len(spaces) > 1:
            raise ValueError(f"envs: one observation and action shape expected, got {spaces}")
        space = envs[0].action_space
        if not (np.allclose(space.low, -1.0) and np.allclose(space.high, 1.0)):
            raise ValueError(f"envs: PPO acts in [-1, 1] but the action space is {space}; build "
                             f"the environments with rlrepro.envs.make_env, which rescales it")
        self.envs, self.config, self.seed = envs, config, seed
        self.obs_dim = envs[0].observation_space.shape[0]
        self.act_dim = space.shape[0]
        with seeded(seed):
            self.net = ActorCritic(self.obs_dim, self.act_dim, config.hidden, config.shared,
                                   config.init_log_std)
        self.optimizer = FusedAdam(self.net.parameters(), lr=config.lr, eps=config.adam_eps)
        self.generator = torch.Generator().manual_seed(seed)  # action samples, minibatch orders
        self.obs_rms = RunningMeanStd((self.obs_dim,))
        self.return_rms = RunningMeanStd()
        self.discounted_return = torch.zeros(config.n_envs, dtype=torch.float64)  # of the rewards
        self.steps = 0  # environment steps over all environments
        self.rounds = 0
        # Where each environment is: its episodes started, the current episode's actions (to
        # replay it after a checkpoint) and true return, and the raw observation (None: reset).
        self.episodes = [0] * config.n_envs
        self.episode_actions = [[] for _ in envs]
        self.episode_returns = [0.0] * config.n_envs
        self.obs = None

    # --- acting ---------------------------------------------------------------------------------
    def normalize(self, obs) -> torch.Tensor:
        """Raw observations ``(n, obs_dim)`` as the network sees them (float32)."""
        obs = torch.as_tensor(np.asarray(obs), dtype=torch.float64)
        if self.config.normalize_obs:
            obs = ((obs - self.obs_rms.mean) / (self.obs_rms.var + EPSILON).sqrt()).clamp(
                -self.config.clip_obs, self.config.clip_obs)
        return obs.float()

    def initial_state(self):
        return None

    @torch.no_grad()
    def act(self, obs, state=None, deterministic=False):
        """Actions ``(n, act_dim)`` in [-1, 1] for raw observations ``(n, obs_dim)`` (a sample
        of the policy, or its mean when ``deterministic``), and the state (None)."""
        mean, _ = self.net(self.normalize(obs))
        if not deterministic:
            mean = mean + self.net.log_std.exp() * torch.randn(mean.shape, generator=self.generator)
        return mean.clamp(-1.0, 1.0).numpy(), None

    # --- one round: collect a batch, then learn from it ---------------------------------------
    def _reset(self, i: int) -> np.ndarray:
        obs, _ = self.envs[i].reset(seed=episode_seed(self.seed, i + self.config.n_envs * self.episodes[i]))
        self.episode_actions[i], self.episode_returns[i] = [], 0.0
        return np.asarray(obs, dtype=np.float32)

    @torch.no_grad()
    def collect(self, reward_fn=None) -> tuple[dict, dict]:
        """A rollout batch of ``n_envs * n_steps`` transitions, and what happened in it.

        ``reward_fn(obs, actions, next_obs) -> rewards``, if given, replaces the environments'
        rewards (GAIL's generator reward): it gets raw observations ``(B, obs_dim)``, the
        actions the environments were given ``(B, act_dim)`` and the observations after the
        step (the final one where an episode ended). The info's ``episode_returns`` are the
        environments' (true) returns of the episodes that ended in this batch.

        The batch, flattened over (step, environment): what ``update`` trains on (``obs``
        normalised, ``actions`` as sampled, before clipping, ``log_probs``, ``values``,
        ``advantages``, ``returns``) and the raw transitions (``raw_obs``, ``env_actions``,
        ``raw_next_obs``, ``rewards`` as paid before normalisation).
        """
        c = self.config
        T, N = c.n_steps, c.n_envs
        if len(self.envs) != N:
            raise ValueError(f"envs: PPO with n_envs={N} trains on as many environments, got "
                             f"{len(self.envs)}")
        if self.obs is None:  # (stable-baselines 2.10's VecNormalize.reset updates no statistics)
            self.obs = np.stack([self._reset(i) for i in range(N)])
        obs = torch.zeros(T, N, self.obs_dim)
        raw_obs, raw_next_obs = np.zeros((T, N, self.obs_dim), np.float32), np.zeros((T, N, self.obs_dim), np.float32)
        actions, env_actions = torch.zeros(T, N, self.act_dim), torch.zeros(T, N, self.act_dim)
        log_probs, values = torch.zeros(T, N), torch.zeros(T, N)
        env_rewards, dones = torch.zeros(T, N, dtype=torch.float64), torch.zeros(T, N, dtype=torch.bool)
        bootstrap = torch.zeros(T, N)  # gamma V(final observation) where a time limit ended an episode
        finished = []

        for t in range(T):
            obs[t] = self.normalize(self.obs)
            raw_obs[t] = self.obs
            mean, values[t] = self.net(obs[t])
            actions[t] = mean + self.net.log_std.exp() * torch.randn(mean.shape, generator=self.generator)
            log_probs[t] = self.net.log_prob(actions[t], mean)
            env_actions[t] = actions[t].clamp(-1.0, 1.0)
            next_obs, truncated = np.zeros((N, self.obs_dim), np.float32), []
            for i, env in enumerate(self.envs):
                action = env_actions[t, i].numpy()
                o, reward, terminated, truncation, _ = env.step(action)
                raw_next_obs[t, i] = next_obs[i] = o
                env_rewards[t, i] = float(reward)
                self.episode_actions[i].append(action.copy())
                self.episode_returns[i] += float(reward)
                if terminated or truncation:
                    dones[t, i] = True
                    finished.append(self.episode_returns[i])
                    if not terminated:
                        truncated.append(i)
                    self.episodes[i] += 1
                    next_obs[i] = self._reset(i)
            if c.normalize_obs:  # as VecNormalize: the statistics first, then normalise
                self.obs_rms.update(next_obs)
            if truncated:
                bootstrap[t, truncated] = c.gamma * self.net(self.normalize(raw_next_obs[t, truncated]))[1]
            self.obs = next_obs
        next_value = self.net(self.normalize(self.obs))[1]
        self.steps += T * N

        rewards = env_rewards
        if reward_fn is not None:
            paid = reward_fn(raw_obs.reshape(T * N, -1), env_actions.reshape(T * N, -1).numpy(),
                             raw_next_obs.reshape(T * N, -1))
            rewards = torch.as_tensor(np.asarray(paid), dtype=torch.float64).reshape(T, N)
        scaled = rewards.clone()
        if c.normalize_reward:  # as VecNormalize: scaled by the std of the discounted return
            for t in range(T):
                self.discounted_return = self.discounted_return * c.gamma + rewards[t]
                self.return_rms.update(self.discounted_return)
                scaled[t] = (rewards[t] / (self.return_rms.var + EPSILON).sqrt()).clamp(
                    -c.clip_reward, c.clip_reward)
                self.discounted_return[dones[t]] = 0.0
        scaled = scaled.float() + bootstrap

        # Generalised advantage estimation (Schulman et al. 2016); an episode's end cuts it.
        advantages, last = torch.zeros(T, N), torch.zeros(N)
        for t in reversed(range(T)):
            following = next_value if t == T - 1 else values[t + 1]
            alive = (~dones[t]).float()
            delta = scaled[t] + c.gamma * following * alive - values[t]
            last = delta + c.gamma * c.gae_lambda * alive * last
            advantages[t] = last

        batch = {"obs": obs, "actions": actions, "log_probs": log_probs, "values": values,
                 "advantages": advantages, "returns": advantages + values,
                 "raw_obs": torch.from_numpy(raw_obs), "env_actions": env_actions,
                 "raw_next_obs": torch.from_numpy(raw_next_obs), "rewards": rewards.float()}
        batch = {k: v.reshape(T * N, *v.shape[2:]) for k, v in batch.items()}
        return batch, {"steps": self.steps, "episode_returns": finished,
                       "reward": float(rewards.mean())}

    def update(self, batch: dict) -> dict:
        """``epochs`` passes of clipped-surrogate steps over shuffled minibatches of ``batch``;
        the mean losses and statistics."""
        c = self.config
        size = c.batch_size // c.minibatches
        stats = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": [],
                 "clip_fraction": []}
        for _ in range(c.epochs):
            order = torch.randperm(c.batch_size, generator=self.generator)
            for idx in order.view(c.minibatches, size):
                mean, value = self.net(batch["obs"][idx])
                log_prob = self.net.log_prob(batch["actions"][idx], mean)
                log_ratio = log_prob - batch["log_probs"][idx]
                ratio = log_ratio.exp()
                advantages = batch["advantages"][idx]
                if c.normalize_advantage:  # population std, as PPO2 (numpy)
                    advantages = (advantages - advantages.mean()) / (advantages.std(correction=0) + 1e-8)
                policy_loss = torch.max(-advantages * ratio,
                                        -advantages * ratio.clamp(1 - c.clip, 1 + c.clip)).mean()
                returns, old_values = batch["returns"][idx], batch["values"][idx]
                value_error = (value - returns) ** 2
                if c.clip_value > 0:
                    clipped = old_values + (value - old_values).clamp(-c.clip_value, c.clip_value)
                    value_error = torch.max(value_error, (clipped - returns) ** 2)
                value_loss = 0.5 * value_error.mean()
                entropy = self.net.entropy()
                loss = policy_loss - c.entropy_coef * entropy + c.value_coef * value_loss
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.optimizer.parameters, c.max_grad_norm, foreach=True)
                self.optimizer.step()
                with torch.no_grad():
                    stats["policy_loss"].append(policy_loss.detach())
                    stats["value_loss"].append(value_loss.detach())
                    stats["entropy"].append(entropy.detach())
                    stats["approx_kl"].append(((ratio - 1) - log_ratio).mean())
                    stats["clip_fraction"].append(((ratio - 1).abs() > c.clip).float().mean())
        self.rounds += 1
        return {k: float(torch.stack(v).mean()) for k, v in stats.items()} | {
            "std": float(self.net.log_std.detach().exp().mean())}

    def learn(self, total_steps: int, reward_fn=None, callback=None, progress: bool = False) -> list[dict]:
        """Rounds of ``collect`` and ``update`` until ``total_steps`` environment steps (over
        all environments) are done, counting those of earlier calls and of a loaded checkpoint.
        ``callback(ppo, info)`` is called after every round. Returns each round's info
        (``mean_return``: of the episodes that ended in it, None if none did)."""
        log = []
        bar = tqdm(total=total_steps, initial=min(self.steps, total_steps), disable=not progress,
                   desc="PPO", unit="step")
        while self.steps < total_steps:
            batch, info = self.collect(reward_fn)
            info |= self.update(batch)
            returns = info["episode_returns"]
            info["mean_return"] = float(np.mean(returns)) if returns else None
            log.append(info)
            if callback is not None:
                callback(self, info)
            bar.update(self.config.batch_size)
            if info["mean_return"] is not None:
                bar.set_postfix(ret=f"{info['mean_return']:.1f}")
        bar.close()
        return log

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything the next round depends on, as plain types and tensors."""
        return {"config": dataclasses.asdict(self.config), "seed": self.seed,
                "obs_dim": self.obs_dim, "act_dim": self.act_dim,
                "net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
                "obs_rms": self.obs_rms.state_dict(), "return_rms": self.return_rms.state_dict(),
                "discounted_return": self.discounted_return.clone(),
                "steps": self.steps, "rounds": self.rounds, "episodes": list(self.episodes),
                "episode_actions": [torch.as_tensor(np.array(a, np.float32).reshape(-1, self.act_dim))
                                    for a in self.episode_actions],
                "episode_returns": list(self.episode_returns),
                "obs": None if self.obs is None else torch.from_numpy(self.obs.copy())}

    def load_state_dict(self, state: dict, restore_envs: bool = True, source="state"):
        """Restore ``state`` (of a PPO with this configuration, seed and shapes; else a
        ValueError naming the differences). ``restore_envs`` replays each environment's current
        episode so that training continues exactly; without it only acting is restored."""
        mine = {"config": dataclasses.asdict(self.config), "seed": self.seed,
                "obs_dim": self.obs_dim, "act_dim": self.act_dim}
        differences = [f"{k}: {state[k]!r} saved, {v!r} here" for k, v in mine.items() if state[k] != v]
        if differences:
            raise ValueError(f"{source}: written by a different PPO run: " + "; ".join(differences))
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.obs_rms.load_state_dict(state["obs_rms"])
        self.return_rms.load_state_dict(state["return_rms"])
        self.discounted_return = state["discounted_return"].clone()
        self.steps, self.rounds = state["steps"], state["rounds"]
        self.episodes = list(state["episodes"])
        self.episode_returns = list(state["episode_returns"])
        self.episode_actions = [list(a.numpy()) for a in state["episode_actions"]]
        self.obs = None if state["obs"] is None else state["obs"].numpy().copy()
        if restore_envs and self.obs is not None:
            if len(self.envs) != self.config.n_envs:
                raise ValueError(f"{source}: resuming training needs the run's "
                                 f"{self.config.n_envs} environments, got {len(self.envs)}")
            for i in range(self.config.n_envs):
                self._replay(i, source)

    def _replay(self, i: int, source):
        """Put environment i where its current episode was: reset from the episode's seed and
        replay its actions; a different observation at the end is an error."""
        actions = self.episode_actions[i]
        obs = self.envs[i].reset(seed=episode_seed(self.seed, i + self.config.n_envs * self.episodes[i]))[0]
        for action in actions:
            obs = self.envs[i].step(action)[0]
        if not np.array_equal(np.asarray(obs, dtype=np.float32), self.obs[i]):
            raise ValueError(f"{source}: replaying environment {i}'s episode does not reach the "
                             f"saved observation (is the environment deterministic given its "
                             f"seed?); delete the checkpoint to restart")

    def save(self, folder) -> pathlib.Path:
        """Write ``folder/ppo.pt`` (atomically: a run killed while saving keeps the old one)."""
        return save(self.state_dict(), pathlib.Path(folder) / CHECKPOINT)

    def load(self, folder, restore_envs: bool = True):
        """Restore ``folder/ppo.pt`` (see ``load_state_dict``)."""
        path = pathlib.Path(folder) / CHECKPOINT
        self.load_state_dict(torch.load(path, weights_only=True), restore_envs, source=path)


def config_from_dict(values: dict) -> PPOConfig:
    """A PPOConfig from a plain mapping (a saved one, or params.yaml's; lists become tuples);
    unknown keys are an error."""
    names = {f.name for f in dataclasses.fields(PPOConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown PPO parameters {unknown}; expected some of {sorted(names)}")
    return PPOConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
