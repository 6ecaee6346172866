"""The off-policy training loop: warm-up, one environment step and ``updates_per_step`` updates
at a time, periodic evaluation, checkpoints that resume where training stopped.

A run lives in one folder: ``checkpoint.pt`` while training (agent, optimizers, replay buffer,
random states), then ``policy.pt`` (the actor, for evaluation and GIFs) and ``result.json``
(learning curve and config). Checkpoints are written only at episode ends and every episode's
environment seed derives from (seed, episode), so a resumed run takes exactly the steps the
uninterrupted one would have taken.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from rlrepro.agents.algorithms import AgentConfig, config_from_dict, make_agent
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import episode_seed, evaluate
from rlrepro.params import param

CHECKPOINT, POLICY, RESULT = "checkpoint.pt", "policy.pt", "result.json"


class CheckpointError(RuntimeError):
    """A checkpoint is unreadable, or belongs to a different run configuration."""


@dataclass(frozen=True)
class TrainConfig:
    """How long and how an agent is trained and evaluated."""

    env: str = param("environment name (rlrepro.envs.make_env)")
    total_steps: int = param("environment steps", min=1)
    random_steps: int = param("uniform random actions before the first update (paper: 10k)",
                              default=10_000, min=0)
    updates_per_step: float = param("gradient updates per environment step (paper: 1); a "
                                    "fraction accumulates as credit", default=1.0, min=0.0)
    eval_every: int = param("environment steps between evaluations (paper: one epoch, 1000)",
                            default=1_000, min=1)
    eval_episodes: int = param("deterministic test episodes per evaluation (paper: 10)",
                               default=10, min=1)
    checkpoint_every: int = param("steps between checkpoints (written at the next episode end)",
                                  default=5_000, min=1)
    concat: int = param("memoryless baseline on a window of the last k observations (0: off)",
                        default=0, min=0)


def code_version() -> str:
    """Hash of the sources a trained policy depends on: a finished run is reused only if equal."""
    package = pathlib.Path(__file__).parents[1]
    sources = [path for path in sorted((package / "agents").glob("*.py"))
               if path.name != "experiment.py"]  # the experiment's analysis changes no policy
    sources += [package / "envs" / "registry.py", package / "envs" / "pomdp.py",
                package / "models" / "mlp.py", package / "evaluation" / "rollouts.py"]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _fingerprint(agent_config: AgentConfig, train_config: TrainConfig, seed: int) -> dict:
    return {"agent": dataclasses.asdict(agent_config), "train": dataclasses.asdict(train_config),
            "seed": seed, "code": code_version()}


def _load(path: pathlib.Path, expected: dict | None = None):
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: "
                              f"{error}); delete it to start this run again") from None
    if not isinstance(state, dict) or "fingerprint" not in state:
        raise CheckpointError(f"{path}: not an rlrepro checkpoint (no 'fingerprint' entry)")
    if expected is not None and state["fingerprint"] != expected:
        differences = _differences(state["fingerprint"], expected)
        raise CheckpointError(f"{path}: written by a different run configuration: "
                              + "; ".join(differences) + ". Delete it or use a new run folder")
    return state


def _differences(found: dict, expected: dict, prefix=""):
    out = []
    for key in sorted(set(found) | set(expected)):
        a, b = found.get(key), expected.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"'{prefix}{key}' is {a!r} in the checkpoint, {b!r} expected")
    return out


def _save(state, path: pathlib.Path):
    """Write atomically, so a run killed while saving keeps its previous checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _rng_states() -> dict:
    """torch's CPU and (when present) CUDA random states: SAC's sampling, TD3's smoothing."""
    return {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_states(states: dict):
    torch.set_rng_state(states["cpu"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def load_policy(run_dir):
    """The trained agent of a finished run folder (for evaluation and videos)."""
    path = pathlib.Path(run_dir) / POLICY
    state = _load(path)
    fingerprint = state["fingerprint"]
    agent = make_agent(state["obs_dim"], state["act_dim"], config_from_dict(fingerprint["agent"]),
                       fingerprint["seed"])
    agent.modules.load_state_dict(state["modules"])
    return agent, fingerprint


def train(run_dir, agent_config: AgentConfig, train_config: TrainConfig, seed: int = 0,
          progress: bool = True, stop_at: int | None = None, report=None) -> dict:
    """Train (or resume, or just load) the run in ``run_dir``; returns its result dict.

    A finished run with the same configuration is returned as is. ``progress`` shows a tqdm
    bar; ``report(n)``, if given, is called with the environment steps done since its last call
    (for one bar over many runs, see ``rlrepro.runner``). ``stop_at`` ends the process early at
    the first checkpoint at or after that step, as if killed (for tests).
    """
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    report = report or (lambda steps: None)
    fingerprint = _fingerprint(agent_config, train_config, seed)
    if (run_dir / RESULT).exists():
        result = json.loads((run_dir / RESULT).read_text())
        if result["fingerprint"] == json.loads(json.dumps(fingerprint)):
            report(train_config.total_steps)
            return result

    env = make_env(train_config.env, concat=train_config.concat)
    eval_env = make_env(train_config.env, concat=train_config.concat)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = make_agent(obs_dim, act_dim, agent_config, seed)
    buffer = agent.make_buffer(seed)
    # Everything the loop carries from one step to the next, so that a resumed run continues
    # exactly where the uninterrupted one would be (the fractional update credit included).
    step, episode, curve, episode_returns, seconds = 0, 0, [], [], 0.0
    update_credit, info = 0.0, {}
    if (run_dir / CHECKPOINT).exists():
        state = _load(run_dir / CHECKPOINT, fingerprint)
        agent.load_state_dict(state["agent"])
        buffer.load_state_dict(state["buffer"])
        _set_rng_states(state["rng"])
        step, episode = state["step"], state["episode"]
        curve, episode_returns = state["curve"], state["episode_returns"]
        update_credit, info = state["update_credit"], state["info"]
        seconds = state["seconds"]
    started = time.time()

    def checkpoint():
        _save({"fingerprint": fingerprint, "agent": agent.state_dict(),
               "buffer": buffer.state_dict(), "rng": _rng_states(), "step": step,
               "episode": episode, "curve": curve, "episode_returns": episode_returns,
               "update_credit": update_credit, "info": info,
               "seconds": seconds + time.time() - started},
              run_dir / CHECKPOINT)

    bar = tqdm(total=train_config.total_steps, initial=step, disable=not progress,
               desc=f"{agent_config.algorithm} {train_config.env} seed {seed}")
    last_checkpoint = step
    report(step)
    while step < train_config.total_steps:
        obs, _ = env.reset(seed=episode_seed(seed, episode))
        state, total, done = agent.initial_state(), 0.0, False
        while not done:
            if step < train_config.random_steps:
                action = agent.random_action()
            else:
                action, state = agent.act(obs, state)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            buffer.add(obs, action, reward, next_obs, terminated, truncated)
            obs, total, step = next_obs, total + float(reward), step + 1
            done = terminated or truncated or step >= train_config.total_steps
            if step >= train_config.random_steps and buffer.can_sample(agent.config.batch_size):
                update_credit += train_config.updates_per_step
                while update_credit >= 1.0:
                    info = agent.update(buffer.sample(agent.config.batch_size, agent.device))
                    update_credit -= 1.0
            if step % train_config.eval_every == 0:
                returns = evaluate(agent, eval_env, train_config.eval_episodes, seed)
                curve.append({"step": step, "return": float(returns.mean()),
                              **{k: float(v) for k, v in info.items()}})
                bar.set_postfix(eval=f"{returns.mean():.1f}")
            bar.update(1)
        report(step - episode_returns[-1]["step"] if episode_returns else step)
        episode += 1
        episode_returns.append({"step": step, "return": total})
        if step - last_checkpoint >= train_config.checkpoint_every or step >= train_config.total_steps:
            checkpoint()
            last_checkpoint = step
            if stop_at is not None and step >= stop_at and step < train_config.total_steps:
                bar.close()
                return {"stopped_at": step}
    bar.close()

    elapsed = seconds + time.time() - started
    _save({"fingerprint": fingerprint, "obs_dim": obs_dim, "act_dim": act_dim,
           "modules": agent.modules.state_dict()}, run_dir / POLICY)
    result = {"fingerprint": fingerprint, "curve": curve, "episode_returns": episode_returns,
              "final_return": curve[-1]["return"] if curve else None,
              "seconds": elapsed}
    (run_dir / RESULT).write_text(json.dumps(result, indent=1))
    (run_dir / CHECKPOINT).unlink(missing_ok=True)  # the replay buffer is no longer needed
    return result
