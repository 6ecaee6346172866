"""GAIL (Ho & Ermon 2016) as imitation v0.1.1 runs it, with our PPO (``agents.ppo``) as the
generator.

A discriminator MLP (32, 32, ReLU) on (observation, action) learns to tell the expert's
demonstration transitions from the generator's; the generator is trained by PPO on a reward that
is high where the discriminator takes its transitions for the expert's. Each *round* collects one
PPO rollout batch (2048 transitions) paid by the current discriminator, takes PPO's update, then
trains the discriminator on that batch (imitation's generator replay buffer holds exactly the
last batch): ``disc_batch_size / disc_minibatch_size`` Adam steps, each on
``disc_minibatch_size`` generator transitions and as many expert transitions, both drawn
uniformly with replacement (a demonstration of 1 or 10 transitions is so repeated within a
minibatch: each minibatch weighs the two classes equally), with binary cross-entropy.

**Sign convention.** Label 1 = expert. ``D(s, a) = sigmoid(logit(s, a))`` is the probability that
(s, a) is the expert's, and the generator is paid

    r(s, a) = -log(1 - D(s, a)) = -log sigmoid(-logit(s, a)) = softplus(logit(s, a)) >= 0,

since ``sigmoid(-x) = 1 - sigmoid(x)``: with ``logit = log D / (1 - D)``, ``sigmoid(-logit) =
1 / (1 + D / (1 - D)) = 1 - D``. It increases with D: transitions the discriminator calls expert
are paid more. imitation v0.1.1 labels the *generator* 1 (``disc_logits_gen_is_high`` =
-logit) and pays ``-log_sigmoid(disc_logits_gen_is_high)`` = ``-log sigmoid(-logit)``: the same
number (tested in ``tests/test_gail.py``).

**Survival bias.** That reward is positive for every transition, so on a task where a failure
ends the episode (the pendulum's fall) a longer episode earns more whatever the discriminator
thinks of its transitions: a policy learns to survive from any demonstration, even an
uninformative one (Kostrikov et al. 2019). ``reward="airl"`` pays the logit ``log D - log(1 - D)``
instead, negative on transitions the discriminator calls the generator's.

**Observations.** The generator's environments are normalised as VecNormalize did in the
original; the discriminator sees observations normalised with the generator's running
statistics, as the original trained it, and the generator's reward is computed from the same
normalised observations. imitation v0.1.1 computed the reward from *raw* observations (its
``RewardVecEnvWrapper`` sits below ``VecNormalize``) with the discriminator trained on normalised
ones; ``reward_on_raw_obs=True`` reproduces that mismatch. Actions are in [-1, 1] on both sides
(the demonstrations' and the clipped actions the generator's environments were given).

**Runs.** ``train_gail`` trains in a run folder (``rlrepro.runs.RunFolder``): ``checkpoint.pt``
every ``checkpoint_every`` rounds, resumed exactly; at the end ``policy.pt`` (the final state,
from which ``load_policy`` rebuilds the generator for evaluation and GIFs) and ``result.json``
(the round log: discriminator loss and accuracy on expert and on generator transitions, the
generator's true return; evaluations; the final deterministic return). A finished run with the
same configuration, seed, demonstrations and code is loaded, not retrained.
"""
from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from rlrepro import demonstrations as demonstration_files
from rlrepro.agents.optim import FusedAdam
from rlrepro.agents.ppo import PPO, PPOConfig
from rlrepro.agents.ppo import config_from_dict as ppo_config_from_dict
from rlrepro.demonstrations import Transitions
from rlrepro.evaluation.rollouts import episode_seed, evaluate
from rlrepro.models.fitting import seeded
from rlrepro.models.mlp import mlp
from rlrepro.params import param
from rlrepro.runs import CHECKPOINT, POLICY, RunFolder, load, save_checkpoints


# The generator's reward as a function of the discriminator's logit (GAILConfig.reward).
REWARDS = {"gail": F.softplus, "airl": lambda logits: logits}


@dataclass(frozen=True)
class GAILConfig:
    """GAIL's settings. Defaults: imitation v0.1.1's ``train_adversarial`` for HalfCheetah."""

    total_steps: int = param("generator environment steps over all its environments "
                             "(imitation's half_cheetah: 2e6)", default=2_000_000, min=1)
    disc_hidden: tuple[int, ...] = param("hidden ReLU layers of the discriminator (imitation's "
                                         "build_and_apply_mlp: (32, 32))", default=(32, 32),
                                         min=1)
    disc_lr: float = param("discriminator's Adam step size (tf.train.AdamOptimizer's default, "
                           "which imitation used: 1e-3)", default=1e-3, min=1e-8, max=1.0)
    disc_batch_size: int = param("generator transitions the discriminator trains on per round "
                                 "(imitation: 2048, drawn from the last rollout batch)",
                                 default=2048, min=1)
    disc_minibatch_size: int = param("generator transitions per discriminator step, each with "
                                     "as many expert transitions (imitation: 512, so 4 steps a "
                                     "round)", default=512, min=1)
    reward: str = param("the generator's reward from the discriminator: gail, -log(1 - D) >= 0 "
                        "(imitation v0.1.1; where a failure ends the episode, as the pendulum's "
                        "fall, every surviving step pays, whatever the discriminator thinks of "
                        "it); airl, log D - log(1 - D), the logit (Fu et al. 2018's form), "
                        "negative where the discriminator calls the transition the generator's",
                        default="gail", choices=tuple(REWARDS))
    reward_on_raw_obs: bool = param("pay the generator from the discriminator applied to raw "
                                    "observations, as imitation v0.1.1 did although it trained "
                                    "the discriminator on normalised ones (False: normalised "
                                    "in both)", default=False)
    eval_every: int = param("rounds between deterministic evaluations of the generator's true "
                            "return (0: only at the end; 50 rounds are ~1e5 steps)", default=50, min=0)
    eval_episodes: int = param("episodes per evaluation", default=10, min=1)
    checkpoint_every: int = param("rounds between checkpoints", default=10, min=1,
                                  operational=True)
    ppo: PPOConfig = param("the generator's PPO (defaults: imitation's)", default=PPOConfig())

    def __post_init__(self):
        if self.reward not in REWARDS:
            raise ValueError(f"reward: expected one of {list(REWARDS)}, got {self.reward!r}")
        if self.disc_batch_size % self.disc_minibatch_size:
            raise ValueError(f"disc_minibatch_size: {self.disc_minibatch_size} must divide "
                             f"disc_batch_size {self.disc_batch_size}")


def config_from_dict(values: dict) -> GAILConfig:
    """A GAILConfig from a plain mapping (``ppo`` a mapping too; lists become tuples)."""
    names = {f.name for f in dataclasses.fields(GAILConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown GAIL parameters {unknown}; expected some of {sorted(names)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    if isinstance(values.get("ppo"), dict):
        values["ppo"] = ppo_config_from_dict(values["ppo"])
    return GAILConfig(**values)


# --- demonstrations -----------------------------------------------------------------------------
def check_demonstrations(demos: Transitions, obs_dim: int, act_dim: int, task: str | None = None,
                         source=None) -> Transitions:
    """``demos`` if they fit an environment of ``obs_dim`` observations and ``act_dim`` actions
    (and are of ``task``, if given); else a ValueError naming the file (``source``, if known) and
    the expected shapes."""
    where = str(source) if source is not None else f"demonstrations of task {demos.task!r}"
    if task is not None and demos.task != task:
        raise ValueError(f"{where}: transitions of task {demos.task!r}, expected {task!r}")
    n = len(demos)
    if n == 0:
        raise ValueError(f"{where}: no transitions")
    expected = {"observations": (n, obs_dim), "actions": (n, act_dim)}
    for key, shape in expected.items():
        found = np.shape(getattr(demos, key))
        if found != shape:
            raise ValueError(f"{where}: '{key}' has shape {found}, expected {shape} (the "
                             f"environment observes {obs_dim} numbers and takes {act_dim} "
                             f"actions)")
        if not np.all(np.isfinite(getattr(demos, key))):
            raise ValueError(f"{where}: '{key}' holds non-finite values")
    return demos


def _read_demonstrations(demonstrations, task):
    """``(Transitions, source file or None)`` from a Transitions or the path of a file."""
    if isinstance(demonstrations, Transitions):
        return demonstrations, None
    if task is None:
        raise ValueError(f"{demonstrations}: give the task a demonstration file is meant for "
                         f"(task=...), to check it before training")
    return demonstration_files.load(demonstrations, task, kind="demonstration"), demonstrations


def _digest(demos: Transitions) -> str:
    digest = hashlib.sha256(f"{demos.task}/{demos.kind}".encode())
    for key in ("observations", "actions", "next_observations"):
        digest.update(np.ascontiguousarray(getattr(demos, key), dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


# --- the discriminator and the reward -----------------------------------------------------------
class Discriminator(nn.Module):
    """``logit(s, a)`` of the probability that (s, a) is the expert's (label 1 = expert)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden):
        super().__init__()
        self.net = mlp([obs_dim + act_dim, *hidden, 1])

    def forward(self, obs, actions):
        return self.net(torch.cat([obs, actions], dim=-1)).squeeze(-1)


def generator_reward(logits: torch.Tensor, kind: str = "gail") -> torch.Tensor:
    """The generator's reward for discriminator logits (``GAILConfig.reward``): ``gail``,
    ``-log(1 - D) = -log sigmoid(-logit) = softplus(logit)`` (see the module's docstring, written
    with softplus: finite for any logit); ``airl``, ``log D - log(1 - D)``, the logit itself."""
    return REWARDS[kind](logits)


class GAIL:
    """One GAIL run: the generator (``ppo``) on ``envs`` and the discriminator; ``round()``
    trains both once. The demonstrations must fit the environments (``check_demonstrations``)."""

    def __init__(self, demos: Transitions, envs: list, config: GAILConfig = GAILConfig(),
                 seed: int = 0):
        self.config, self.seed = config, seed
        self.ppo = PPO(envs, config.ppo, seed)
        check_demonstrations(demos, self.ppo.obs_dim, self.ppo.act_dim)
        self.expert_obs = torch.as_tensor(demos.observations, dtype=torch.float32)
        self.expert_actions = torch.as_tensor(demos.actions, dtype=torch.float32)
        with seeded(episode_seed(seed, 2 ** 32 - 1)):  # a stream apart from the generator's
            self.discriminator = Discriminator(self.ppo.obs_dim, self.ppo.act_dim, config.disc_hidden)
        self.optimizer = FusedAdam(self.discriminator.parameters(), lr=config.disc_lr)
        self.generator = torch.Generator().manual_seed(seed)  # which transitions each step sees
        self.log: list[dict] = []  # one entry per round

    @property
    def rounds(self) -> int:
        return len(self.log)

    def logits(self, obs, actions, raw: bool = False) -> torch.Tensor:
        """The discriminator's logits for raw observations ``(n, obs_dim)`` and actions, the
        observations normalised as the generator sees them (``raw``: as they are)."""
        obs = torch.as_tensor(np.asarray(obs), dtype=torch.float32) if raw else self.ppo.normalize(obs)
        return self.discriminator(obs, torch.as_tensor(np.asarray(actions), dtype=torch.float32))

    @torch.no_grad()
    def reward(self, obs, actions, next_obs=None) -> np.ndarray:
        """The generator's reward (``GAILConfig.reward``) of raw transitions ``(n, ...)``: the
        ``reward_fn`` of its PPO (``next_obs`` is not used by GAIL)."""
        return generator_reward(self.logits(obs, actions, self.config.reward_on_raw_obs),
                                self.config.reward).numpy()

    def train_discriminator(self, gen_obs, gen_actions) -> dict:
        """Adam steps on expert vs ``gen_obs``/``gen_actions`` (raw, the last rollout batch);
        the mean loss and accuracies over the steps, each measured on the step's minibatch
        before the step (as imitation logs them)."""
        c = self.config
        m, stats = c.disc_minibatch_size, []
        labels = torch.cat([torch.ones(m), torch.zeros(m)])
        for _ in range(c.disc_batch_size // m):
            g = torch.randint(len(gen_obs), (m,), generator=self.generator)
            e = torch.randint(len(self.expert_obs), (m,), generator=self.generator)
            logits = self.logits(torch.cat([self.expert_obs[e], gen_obs[g]]),
                                 torch.cat([self.expert_actions[e], gen_actions[g]]))
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            with torch.no_grad():
                stats.append(torch.stack([loss, (logits[:m] > 0).float().mean(),
                                          (logits[m:] <= 0).float().mean()]))
        loss, acc_expert, acc_gen = torch.stack(stats).mean(0).tolist()
        return {"disc_loss": loss, "disc_acc_expert": acc_expert, "disc_acc_gen": acc_gen}

    def round(self) -> dict:
        """One PPO rollout paid by the discriminator and PPO's update, then the discriminator's
        training on that rollout. Returns the round's log entry (``train_return``: the mean true
        return of the generator's episodes that ended in it, None if none did)."""
        batch, info = self.ppo.collect(self.reward)
        self.ppo.update(batch)
        entry = {"round": self.rounds + 1, "steps": info["steps"], "gail_reward": info["reward"],
                 "train_return": (float(np.mean(info["episode_returns"]))
                                  if info["episode_returns"] else None),
                 **self.train_discriminator(batch["raw_obs"], batch["env_actions"])}
        self.log.append(entry)
        return entry

    def state_dict(self) -> dict:
        return {"ppo": self.ppo.state_dict(), "discriminator": self.discriminator.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                "log": [dict(entry) for entry in self.log]}

    def load_state_dict(self, state: dict, restore_envs: bool = True, source="state"):
        self.ppo.load_state_dict(state["ppo"], restore_envs, source)
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.log = [dict(entry) for entry in state["log"]]


# --- a run in a folder --------------------------------------------------------------------------
def train_gail(demonstrations, env_factory: Callable, cfg: GAILConfig, seed: int, folder, *,
               task: str | None = None, progress: bool = True,
               stop_at: int | None = None) -> dict:
    """Train (or resume, or load) the GAIL run in ``folder``; its result dict.

    ``demonstrations``: a ``Transitions``, or the path of a demonstration file (then ``task``
    is required: the file is checked with ``rlrepro.demonstrations.load``). ``env_factory()``
    builds one environment of the task (``make_env``); ``cfg.ppo.n_envs`` of them train the
    generator and one more evaluates it. Demonstrations of another task (if ``task`` is given)
    or of other observation or action shapes than the environment's stop the run with a
    ValueError naming the file and the expected shapes, before any training. ``stop_at`` ends
    at the first checkpoint at or after that step, as if the process were killed (for tests).
    """
    folder = pathlib.Path(folder)
    demos, source = _read_demonstrations(demonstrations, task)
    envs = [env_factory() for _ in range(cfg.ppo.n_envs)]
    check_demonstrations(demos, envs[0].observation_space.shape[0], envs[0].action_space.shape[0],
                         task, source)
    run = RunFolder(folder, {"config": dataclasses.asdict(cfg), "seed": seed,
                             "demonstrations": _digest(demos), "task": demos.task}, [__name__])
    result = run.result()
    if result is not None:
        return result
    gail, eval_env = GAIL(demos, envs, cfg, seed), env_factory()
    seconds = 0.0
    state = run.checkpoint()
    if state is not None:
        gail.load_state_dict(state["gail"], source=run.path / CHECKPOINT)
        seconds = state["seconds"]
    started = time.time()

    bar = tqdm(total=cfg.total_steps, initial=min(gail.ppo.steps, cfg.total_steps),
               disable=not progress, desc=f"GAIL {demos.task} n={len(demos)} seed {seed}",
               unit="step")
    while gail.ppo.steps < cfg.total_steps:
        entry = gail.round()
        if cfg.eval_every and gail.rounds % cfg.eval_every == 0:
            entry["eval_return"] = float(evaluate(gail.ppo, [eval_env], cfg.eval_episodes,
                                                  [seed]).mean())
        bar.update(cfg.ppo.batch_size)
        bar.set_postfix(acc_e=f"{entry['disc_acc_expert']:.2f}",
                        acc_g=f"{entry['disc_acc_gen']:.2f}",
                        **({"ret": f"{entry['train_return']:.0f}"}
                           if entry["train_return"] is not None else {}))
        if gail.rounds % cfg.checkpoint_every == 0 and gail.ppo.steps < cfg.total_steps:
            state = {"gail": gail.state_dict(), "seconds": seconds + time.time() - started}
            if save_checkpoints([run], [state], gail.ppo.steps, stop_at):
                bar.close()
                return {"stopped_at": gail.ppo.steps}
    bar.close()
    returns = evaluate(gail.ppo, [eval_env], cfg.eval_episodes, [seed])[0]
    result = {"log": gail.log, "final_return": float(returns.mean()),
              "final_returns": returns.tolist(), "steps": gail.ppo.steps,
              "seconds": seconds + time.time() - started}
    return run.finish(result, **{POLICY: {"gail": gail.state_dict()}})  # what load_policy rebuilds


def load_policy(folder, env) -> PPO:
    """The generator of the GAIL run in ``folder`` (its last saved state), acting in ``env``'s
    shapes: for ``rlrepro.evaluation.rollouts.evaluate`` and videos."""
    path = pathlib.Path(folder) / POLICY
    state = load(path)["gail"]["ppo"]
    ppo = PPO([env], ppo_config_from_dict(state["config"]), state["seed"])
    ppo.load_state_dict(state, restore_envs=False, source=path)
    return ppo
