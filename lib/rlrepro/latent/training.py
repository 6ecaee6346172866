"""A latent agent's run from a warm world model (``latent.warmup``): ``iterations`` rounds of
one episode collected by the agent, then ``model_updates_per_iteration`` updates of its world
model on everything collected and the agent's own updates; deterministic evaluations every
``eval_every`` rounds, each followed by a checkpoint the run resumes from exactly.

The run folder (``rlrepro.runs.RunFolder``) holds ``checkpoint.pt`` and ``episodes.npz`` (the
episodes collected) while it trains, then ``model.pt``, ``agent.pt`` and ``result.json``.
``cfg`` is the experiment's settings (``experiments.latent_dynamics.Config``).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from rlrepro.agents.algorithms import resolve_device
from rlrepro.evaluation.rollouts import (EVALUATION_EPISODE_OFFSET, TEST_EPISODE_OFFSET,
                                         episode_seed, run_episodes)
from rlrepro.latent import world_model as wm
from rlrepro.latent.dreamer import Dreamer
from rlrepro.latent.mb_sac import MBSAC
from rlrepro.latent.pixel_sac import PixelSAC
from rlrepro.latent.planning import MPCCEM
from rlrepro.latent.replay import SequenceReplay, collect, load_episodes, save_episodes
from rlrepro.latent.warmup import act_dim, random_episodes, rssm_config, task_env, torch_seed
from rlrepro.models.rssm import RSSM
from rlrepro.runs import RunFolder, save_checkpoints

MODEL_FREE = "sac_pixels"  # learns from pixels without a world model
RUN_OFFSET = 3 * 10**6  # episode seeds of the runs' episodes


def make_agent(cfg, task, agent, model, seed):
    """The agent ``agent`` acting through ``model`` (None for SAC from pixels)."""
    sac = dataclasses.replace(cfg.sac, algorithm="sac", device=cfg.device)
    dim = act_dim(task)
    if agent == "mb_sac":
        return MBSAC(model, dim, sac, cfg.mb_sac, seed)
    if agent == "dreamer":
        return Dreamer(model, dim, cfg.dreamer, seed)
    if agent == "mpc_cem":
        return MPCCEM(model, dim, cfg.mpc_cem)
    return PixelSAC(cfg.image_size, dim, sac, cfg.pixel_sac, seed)


def train_agent(agent, replay, cfg) -> None:
    """One round of the agent's own updates on the replay."""
    if isinstance(agent, PixelSAC):
        agent.train(replay, cfg.agent_updates_per_iteration, cfg.sac.transitions_per_batch)
    elif isinstance(agent, MBSAC):
        agent.train(replay, cfg.mb_sac.updates, cfg.batch, cfg.length)
    else:
        agent.train(replay, cfg.agent_updates_per_iteration, cfg.batch, cfg.length)


def evaluate(cfg, task, condition, agent, seed, episodes, offset,
             deterministic: bool = True) -> list[float]:
    """Returns of ``episodes`` episodes played in lockstep (fixed seeds), deterministic unless
    told otherwise."""
    envs = [task_env(cfg, task, condition) for _ in range(episodes)]
    seeds = [episode_seed(seed, offset + k) for k in range(episodes)]
    returns = run_episodes(agent, envs, seeds, deterministic=deterministic)
    for env in envs:
        env.close()
    return returns.tolist()


def run(cfg, task, condition, loss, agent_name, seed, folder: RunFolder, model_folder,
        data) -> dict:
    """One run (see the module docstring) from the warm model in ``model_folder`` (None for
    SAC from pixels) and the seed episodes in ``data``; its result once finished. A killed run
    resumes from its last evaluation."""
    torch.set_num_threads(1)
    result = folder.result()
    if result is not None:
        return result
    start = time.time()
    train, _ = random_episodes(cfg, task, condition, seed, data)
    model, optimizer, device = None, None, resolve_device(cfg.device)
    if agent_name != MODEL_FREE:
        model = RSSM(rssm_config(cfg, task, loss)).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.model_lr, eps=cfg.model_eps)
        warm = torch.load(model_folder / "model.pt", weights_only=True, map_location=device)
        model.load_state_dict(warm["model"])
        optimizer.load_state_dict(warm["optimizer"])
    agent = make_agent(cfg, task, agent_name, model, seed)
    replay = SequenceReplay(seed)
    replay.add(train)
    curve, first = [], 0
    saved = folder.checkpoint(map_location=device)
    if saved is not None:
        agent.load_state_dict(saved["agent"])
        if model is not None:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
        # One episode per round; a run killed after saving the episodes wrote one more.
        replay.add(load_episodes(folder.path / "episodes.npz")[:saved["iteration"]])
        replay.rng.bit_generator.state = saved["replay_rng"]
        torch.set_rng_state(saved["torch_rng"].cpu())
        curve, first = saved["curve"], saved["iteration"]
    else:
        torch_seed("run", task, condition, loss, agent_name, seed)
    collected = replay.episodes[len(train):]
    for iteration in range(first, cfg.iterations):
        played = collect(agent, lambda: task_env(cfg, task, condition),
                         [episode_seed(seed, RUN_OFFSET + iteration)])
        replay.add(played)
        collected += played
        if model is not None:
            wm.train_model(model, optimizer, replay, cfg.model_updates_per_iteration, cfg.batch,
                           cfg.length, cfg.grad_clip)
        train_agent(agent, replay, cfg)
        if (iteration + 1) % cfg.eval_every == 0:
            returns = evaluate(cfg, task, condition, agent, seed, cfg.eval_episodes,
                               EVALUATION_EPISODE_OFFSET)
            curve.append({"iteration": iteration + 1, "steps": replay.steps,
                          "return": float(np.mean(returns))})
            folder.path.mkdir(parents=True, exist_ok=True)
            save_episodes(folder.path / "episodes.npz", collected)
            save_checkpoints([folder], [{
                "agent": agent.state_dict(), "iteration": iteration + 1, "curve": curve,
                "model": model.state_dict() if model is not None else None,
                "optimizer": optimizer.state_dict() if model is not None else None,
                "replay_rng": replay.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}], iteration + 1)
    final = evaluate(cfg, task, condition, agent, seed, cfg.final_episodes, TEST_EPISODE_OFFSET)
    # The same episodes with the policy sampling its actions: an undertrained actor's mean
    # action can score far below its own samples (SAC from pixels at cpu: ~5 against ~160).
    sampled = evaluate(cfg, task, condition, agent, seed, cfg.final_episodes,
                       TEST_EPISODE_OFFSET, deterministic=False)
    result = {"task": task, "condition": condition, "loss": loss if model is not None else "none",
              "agent": agent_name, "seed": seed, "final_returns": final,
              "final_returns_sampled": sampled, "curve": curve, "seconds": time.time() - start}
    files = {"agent.pt": {"agent": agent.state_dict()}}
    if model is not None:
        files["model.pt"] = {"model": model.state_dict()}
    return folder.finish(result, **files)


def load_run(cfg, task, loss, agent_name, seed, folder: RunFolder):
    """A finished run's agent, acting through its world model."""
    model, device = None, resolve_device(cfg.device)
    if agent_name != MODEL_FREE:
        model = RSSM(rssm_config(cfg, task, loss)).to(device)
        model.load_state_dict(folder.load("model.pt", device)["model"])
    agent = make_agent(cfg, task, agent_name, model, seed)
    agent.load_state_dict(folder.load("agent.pt", device)["agent"])
    return agent
