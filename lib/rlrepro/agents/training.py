"""The off-policy training loop: warm-up, one environment step and ``updates_per_step`` updates
at a time, periodic evaluation, checkpoints that resume where training stopped.

A run lives in one folder (``rlrepro.runs.RunFolder``): ``checkpoint.pt`` while training (agent,
optimizers, replay buffer, random states, where the episode is), then ``policy.pt`` (the actor,
for evaluation and GIFs) and ``result.json`` (learning curve and config). Every episode's
environment seed derives from (seed, episode), and a checkpoint taken mid-episode is resumed by
replaying the episode's actions from its seed, so a resumed run takes exactly the steps the
uninterrupted one would have taken.
Several seeds of one configuration can train in one process (``train_seeds``).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from rlrepro.agents.algorithms import AgentConfig, concat_members, config_from_dict, make_agent
from rlrepro.agents.buffers import sample_members
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import episode_seed, evaluate
from rlrepro.models import learned_reward, skill_prior
from rlrepro.params import param
from rlrepro.runs import (CHECKPOINT, POLICY, CheckpointError, RunFolder, differences, file_key,
                          load, save_checkpoints)


@dataclass(frozen=True)
class TrainConfig:
    """How long and how an agent is trained and evaluated. An experiment's config nests it
    (``train``) and sets the keys of ``TRAIN_PER_RUN`` itself for each run."""

    env: str = param("environment name (rlrepro.envs.make_env)", default="")
    total_steps: int = param("environment steps (1M: the MuJoCo benchmarks' budget)",
                             default=1_000_000, min=1)
    random_steps: int = param("uniform random actions before the first update",
                              default=10_000, min=0)
    updates_per_step: float = param("gradient updates per environment step; a fraction "
                                    "accumulates as credit", default=1.0, min=0.01)
    eval_every: int = param("environment steps between evaluations of the learning curve",
                            default=1_000, min=1)
    eval_episodes: int = param("deterministic test episodes per evaluation", default=10, min=1)
    checkpoint_every: int = param("steps between checkpoints a killed run resumes from (written "
                                  "at the next episode end)", default=5_000, min=1,
                                  operational=True)
    concat: int = param("memoryless baseline on a window of the last k observations (0: off)",
                        default=0, min=0)
    keep_best: bool = param("save the policy of the best evaluation (the latest of equals) "
                            "instead of the last one, as RL Zoo's best_model: for experts that "
                            "short runs leave oscillating; learning curves are unchanged",
                            default=False)
    reward: str = param("file of a learned reward to train on instead of the task's "
                        "(rlrepro.models.learned_reward; '' = the task's); evaluations still "
                        "score the task's true return", default="")
    ignore_termination: bool = param("episodes end only at the time limit (Deep RLSP trains on "
                                     "an inferred reward so)", default=False)
    skills: str = param("file of a skill model (rlrepro.models.skill_prior): the agent acts in "
                        "its skill space, each skill run by the frozen decoder for H steps, and "
                        "sac_prior is regularised towards its prior (SPiRL's high level); steps "
                        "count skills; '' = act directly", default="")
    skill_coordinates: str = param("what a high-level action a in [-1, 1]^d names "
                                   "(models.skill_prior.SkillSpace): box, the skill 2a (SPiRL); "
                                   "prior, 2a of the prior's standard deviations from its mean, "
                                   "where a fresh policy starts near the prior (as SPiRL's, "
                                   "initialised with the prior's weights)", default="box",
                                   choices=skill_prior.COORDINATES)
    initial_policy: str = param("policy.pt of a finished run to start from instead of fresh "
                                "weights (fine-tuning, e.g. on a perturbed body), with its agent "
                                "configuration and spaces; optimizers and replay start empty; "
                                "'' = fresh weights", default="")


# What an experiment sets for each run (rejected in params.yaml, e.g. `train.env`).
TRAIN_PER_RUN = ("env", "concat", "reward", "ignore_termination", "skills", "skill_coordinates",
                 "initial_policy")


def run_folder(run_dir, agent_config: AgentConfig, train_config: TrainConfig,
               seed: int) -> RunFolder:
    """A run's folder and fingerprint: its configurations, seed and the code of this module's
    imports (agents, environments, models); the learned reward, skill model or initial policy it
    starts from by its content, not its path (a moved folder still holds finished runs)."""
    train = dataclasses.asdict(train_config)
    for key in ("reward", "skills", "initial_policy"):
        if train[key]:
            train[key] = file_key(train[key])
    return RunFolder(run_dir, {"agent": dataclasses.asdict(agent_config), "train": train,
                               "seed": seed}, [__name__])


def finished_result(run_dir, agent_config: AgentConfig, train_config: TrainConfig,
                    seed: int) -> dict | None:
    """The result of the run in ``run_dir`` if it finished with this configuration and code,
    else None: the check that decides whether a run is loaded instead of trained."""
    return run_folder(run_dir, agent_config, train_config, seed).result()


def load_policy(run_dir, copies: int = 1):
    """The trained agent of a finished run folder (for evaluation and videos), and its
    fingerprint. With ``copies`` > 1 the agent has that many identical members, to play as many
    episodes in lockstep with one network call a step (``rollouts.run_episodes``)."""
    state = load(pathlib.Path(run_dir) / POLICY)
    fingerprint = state["fingerprint"]
    agent = make_agent(state["obs_dim"], state["act_dim"], config_from_dict(fingerprint["agent"]),
                       seeds=[fingerprint["seed"] + k for k in range(copies)])
    if copies == 1:
        agent.modules.load_state_dict(state["modules"])
    else:
        agent.modules.load_state_dict(concat_members([state["modules"]] * copies))
    return agent, fingerprint


def train(run_dir, agent_config: AgentConfig, train_config: TrainConfig, seed: int = 0,
          progress: bool = True, stop_at: int | None = None, report=None) -> dict:
    """Train (or resume, or just load) the run in ``run_dir``; returns its result dict.
    One run of :func:`train_seeds`."""
    return train_seeds([run_dir], agent_config, train_config, [seed], progress, stop_at,
                       report)[0]


@dataclass
class _Member:
    """One run of a group: its folder, environments, replay buffer and where its episode is."""

    run: RunFolder
    seed: int
    config: TrainConfig  # its task and reward
    env: object = None
    eval_env: object = None
    buffer: object = None
    episode: int = 0  # episodes started before the current one
    episode_step: int = 0  # steps taken in the current episode (0: it must be reset)
    episode_return: float = 0.0
    obs: object = None
    curve: list = dataclasses.field(default_factory=list)
    episode_returns: list = dataclasses.field(default_factory=list)
    best: dict | None = None  # with keep_best: {"step", "return", "modules"} of the best evaluation

    def loop_state(self):
        return {name: getattr(self, name) for name in ("episode", "episode_step", "episode_return",
                                                       "obs", "curve", "episode_returns", "best")}


def train_seeds(run_dirs: list, agent_config: AgentConfig, train_config: TrainConfig,
                seeds: list[int], progress: bool = True, stop_at: int | None = None,
                report=None, envs: list[str] | None = None,
                rewards: list[str] | None = None) -> list[dict]:
    """Train (or resume, or just load) one run per seed, all in this process; their results.

    The runs are the members of one agent (``rlrepro.agents.algorithms``), each with its own
    folder, environments, replay buffer, random streams, optimizer state and checkpoint; they
    step their environments in lockstep and update in one batched pass, each member as its
    single run would (up to floating-point rounding). Finished runs with the same configuration
    are loaded; runs checkpointed at different steps (e.g. trained in other groups) resume in
    separate groups. ``progress`` shows a tqdm bar; ``report(n)``, if given, is told the
    environment steps (over all members) as they are done, for one bar over many processes
    (``rlrepro.runner``). ``stop_at`` ends early at the first checkpoint at or after that step,
    as if the process were killed (for tests). ``envs`` gives each run its own task (default:
    ``train_config.env`` for all): runs of one agent configuration on tasks with the same
    observation and action shapes (the cheetah's tasks) train together in the same way;
    ``rewards`` gives each its own learned reward (``TrainConfig.reward``).
    """
    report = report or (lambda steps: None)
    envs = envs or [train_config.env] * len(seeds)
    rewards = rewards or [train_config.reward] * len(seeds)
    configs = [dataclasses.replace(train_config, env=env, reward=reward)
               for env, reward in zip(envs, rewards, strict=True)]
    for config in configs:
        if config.reward and not pathlib.Path(config.reward).is_file():
            raise FileNotFoundError(f"reward: no learned reward file {config.reward}")
        if config.skills and not pathlib.Path(config.skills).is_file():
            raise FileNotFoundError(f"skills: no skill model file {config.skills}")
    if train_config.initial_policy:
        _check_initial_policy(train_config.initial_policy, agent_config)
    if train_config.skill_coordinates not in skill_prior.COORDINATES:
        raise ValueError(f"skill_coordinates: expected one of {list(skill_prior.COORDINATES)}, "
                         f"got {train_config.skill_coordinates!r}")
    if agent_config.spec.prior and not train_config.skills:
        raise ValueError(f"{agent_config.algorithm}: needs TrainConfig.skills, the skill model "
                         f"whose prior it is regularised towards")
    members = [_Member(run_folder(d, agent_config, config, seed), seed, config)
               for d, seed, config in zip(run_dirs, seeds, configs, strict=True)]
    results = {}  # run folder -> result
    for m in members:
        m.run.path.mkdir(parents=True, exist_ok=True)
        result = m.run.result()
        if result is not None:
            results[m.run.path] = result
            report(train_config.total_steps)
    todo = [m for m in members if m.run.path not in results]
    checkpoints = {m.run.path: m.run.checkpoint() for m in todo}
    groups = {}
    for m in todo:
        step = checkpoints[m.run.path]["step"] if checkpoints[m.run.path] is not None else 0
        groups.setdefault(step, []).append(m)
    for group in groups.values():
        states = [checkpoints[m.run.path] for m in group]
        results |= _train_group(group, states, agent_config, train_config, progress, stop_at,
                                report)
    return [results[m.run.path] for m in members]


def _check_initial_policy(path, agent_config: AgentConfig):
    """The initial policy file exists and was trained with ``agent_config``."""
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"initial_policy: no policy file {path}")
    trained_with = load(path)["fingerprint"]["agent"]
    found = differences(trained_with, json.loads(json.dumps(dataclasses.asdict(agent_config))))
    if found:
        raise ValueError(f"initial_policy: {path} was trained with another agent "
                         f"configuration: " + "; ".join(found))


def _train_group(members: list[_Member], states: list, agent_config, train_config, progress,
                 stop_at, report) -> dict:
    """Train members that start (or resume) at the same step; ``{run folder: result}``."""
    skills = (skill_prior.load_space(train_config.skills, train_config.skill_coordinates)
              if train_config.skills else None)
    for m in members:
        reward = learned_reward.load(m.config.reward) if m.config.reward else None
        m.env = make_env(m.config.env, concat=train_config.concat, reward=reward,
                         ignore_termination=train_config.ignore_termination, skills=skills)
        m.eval_env = make_env(m.config.env, concat=train_config.concat, skills=skills)
    shapes = {m.config.env: (m.env.observation_space.shape, m.env.action_space.shape)
              for m in members}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"envs: runs trained together need one observation and action shape, "
                         f"got {shapes}")
    obs_dim = members[0].env.observation_space.shape[0]
    act_dim = members[0].env.action_space.shape[0]
    agent = make_agent(obs_dim, act_dim, agent_config, seeds=[m.seed for m in members],
                       prior=skills.divergence if skills is not None else None)
    if train_config.initial_policy and states[0] is None:
        start = load(train_config.initial_policy)
        if (start["obs_dim"], start["act_dim"]) != (obs_dim, act_dim):
            raise ValueError(f"initial_policy: {train_config.initial_policy} acts on "
                             f"{start['obs_dim']} observations and {start['act_dim']} actions, "
                             f"the task on {obs_dim} and {act_dim}")
        agent.modules.load_state_dict(concat_members([start["modules"]] * len(members)))
    for m in members:
        m.buffer = agent.make_buffer(m.seed)
    # Everything the loop carries from one step to the next, so that a resumed run continues
    # exactly where the uninterrupted one would be (the fractional update credit included).
    step, update_credit, info, seconds, acting_state = 0, 0.0, {}, 0.0, agent.initial_state()
    if states[0] is not None:
        agent.load_member_state_dicts([s["agent"] for s in states])
        for m, s in zip(members, states):
            m.buffer.load_state_dict(s["buffer"])
            for name, value in s["loop"].items():
                setattr(m, name, value)
            _restore_episode(m)
        step, update_credit, seconds = states[0]["step"], states[0]["update_credit"], states[0]["seconds"]
        info = {k: torch.tensor([s["info"][k] for s in states]) for k in states[0]["info"]}
        acting_state = states[0]["acting_state"]
    started = time.time()

    def checkpoint() -> bool:
        """Every member's checkpoint; True if ``stop_at`` ends the run here."""
        elapsed = seconds + time.time() - started
        states = [{"agent": agent.member_state_dict(i), "buffer": m.buffer.state_dict(),
                   "loop": m.loop_state(), "step": step, "update_credit": update_credit,
                   "seconds": elapsed, "info": {k: float(v[i]) for k, v in info.items()},
                   "acting_state": acting_state} for i, m in enumerate(members)]
        return save_checkpoints([m.run for m in members], states, step, stop_at)

    runs = ", ".join(f"{m.config.env} seed {m.seed}" for m in members)
    bar = tqdm(total=train_config.total_steps, initial=step, disable=not progress,
               desc=f"{agent_config.algorithm} {runs}")
    last_checkpoint, unreported = step, step * len(members)
    while step < train_config.total_steps:
        for m in members:
            if m.episode_step == 0:
                m.obs, _ = m.env.reset(seed=episode_seed(m.seed, m.episode))
                m.episode_return = 0.0
        if agent.config.recurrent and members[0].episode_step == 0:
            acting_state = agent.initial_state()
        if step < train_config.random_steps:
            actions = agent.random_action()
        else:
            actions, acting_state = agent.act(np.stack([m.obs for m in members]), acting_state)
        for m, action in zip(members, actions):
            next_obs, reward, terminated, truncated, _ = m.env.step(action)
            m.buffer.add(m.obs, action, reward, next_obs, terminated, truncated)
            m.obs, m.episode_return, m.episode_step = next_obs, m.episode_return + float(reward), m.episode_step + 1
            if terminated or truncated:
                m.episode_returns.append({"step": step + 1, "return": m.episode_return})
                m.episode, m.episode_step = m.episode + 1, 0
        step += 1
        if step >= train_config.random_steps and members[0].buffer.can_sample(agent.config.batch_size):
            update_credit += train_config.updates_per_step
            while update_credit >= 1.0:
                info = agent.update(sample_members([m.buffer for m in members],
                                                   agent.config.batch_size, agent.device))
                update_credit -= 1.0
        if step % train_config.eval_every == 0:
            returns = evaluate(agent, [m.eval_env for m in members], train_config.eval_episodes,
                               [m.seed for m in members])
            for i, m in enumerate(members):
                m.curve.append({"step": step, "return": float(returns[i].mean()),
                                **{k: float(v[i]) for k, v in info.items()}})
                if train_config.keep_best and (m.best is None
                                               or m.curve[-1]["return"] >= m.best["return"]):
                    modules = agent.member_state_dict(i)["modules"]
                    m.best = {"step": step, "return": m.curve[-1]["return"],
                              "modules": {k: v.clone() for k, v in modules.items()}}
            bar.set_postfix(eval=" ".join(f"{r:.1f}" for r in returns.mean(1)))
        bar.update(1)
        unreported += len(members)
        if unreported >= 1000 or step == train_config.total_steps:  # a bar update is an IPC message
            report(unreported)
            unreported = 0
        if step - last_checkpoint >= train_config.checkpoint_every and step < train_config.total_steps:
            last_checkpoint = step
            if checkpoint():
                bar.close()
                return {m.run.path: {"stopped_at": step} for m in members}
    bar.close()

    elapsed = seconds + time.time() - started
    results = {}
    for i, m in enumerate(members):
        policy = m.best if m.best is not None else {"step": step,
                                                    **agent.member_state_dict(i)}
        result = {"curve": m.curve, "episode_returns": m.episode_returns,
                  "final_return": m.curve[-1]["return"] if m.curve else None,
                  "policy_step": policy["step"],
                  "seconds": elapsed, "seeds_in_process": len(members)}
        results[m.run.path] = m.run.finish(result, **{POLICY: {
            "obs_dim": obs_dim, "act_dim": act_dim, "modules": policy["modules"]}})
    return results


def _restore_episode(m: _Member):
    """Put a resumed member's environment where its unfinished episode was: reset with the
    episode's seed and replay the episode's actions (the last ones in its replay buffer).
    Environments are deterministic given the seed and the actions; a mismatch is an error."""
    if m.episode_step == 0:
        return
    m.env.reset(seed=episode_seed(m.seed, m.episode))
    buffer = m.buffer
    for k in range(buffer.added - m.episode_step, buffer.added):
        obs, *_ = m.env.step(buffer.actions[k % buffer.capacity].numpy())
    if not np.array_equal(np.asarray(obs, dtype=np.float32), np.asarray(m.obs, dtype=np.float32)):
        raise CheckpointError(f"{m.run.path / CHECKPOINT}: replaying episode {m.episode}'s "
                              f"actions does not reach the saved observation (is "
                              f"{m.env.spec.id if m.env.spec else 'the environment'} "
                              f"deterministic given its seed?); delete the checkpoint to restart")
