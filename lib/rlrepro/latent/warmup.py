"""What every latent agent starts from: episodes of uniformly random actions (the seed
episodes, and held-out ones for the probes) and a world model (``models.rssm``) warmed up on
them, with direct measures of what its latent state knows.

``cfg`` is the experiment's settings (``experiments.latent_dynamics.Config``); the caller names
the files by the settings they are made from and ``runs.code_fingerprint`` of this module.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import time

import numpy as np
import torch

from rlrepro import runs
from rlrepro.agents.algorithms import resolve_device
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import UniformPolicy, episode_seed
from rlrepro.latent import world_model as wm
from rlrepro.latent.replay import SequenceReplay, collect, load_episodes, save_episodes
from rlrepro.models.rssm import RSSM, RSSMConfig

PROBE_OFFSET = 2 * 10**6  # episode seeds of the probes' episodes


def task_env(cfg, task: str, condition: str, **options):
    """The pixel task ``task`` in ``condition``, at ``cfg.action_repeat`` (0: the task's own)."""
    if cfg.action_repeat:
        options["action_repeat"] = cfg.action_repeat
    if condition == "clean":
        return make_env(f"{task}_pixels", image_size=cfg.image_size, **options)
    return make_env(f"{task}_distracted", image_size=cfg.image_size,
                    camera_jitter=cfg.camera_jitter, **options)


@functools.cache
def act_dim(task: str) -> int:
    env = make_env(f"{task}_pixels", image_size=8)
    dim = env.action_space.shape[0]
    env.close()
    return dim


def rssm_config(cfg, task: str, loss: str) -> RSSMConfig:
    return dataclasses.replace(cfg.rssm, image_size=cfg.image_size, action_dim=act_dim(task),
                               representation=loss)


def torch_seed(*parts) -> None:
    """Seed torch's global generator (the RSSM's samples, the planner's) from a run's
    identity."""
    torch.manual_seed(int(runs.key(*parts), 16))


def random_episodes(cfg, task, condition, seed, path) -> tuple[list, list]:
    """The seed episodes and the held-out probe episodes of random actions (made once, in
    ``path``)."""
    episodes = cfg.seed_episodes + cfg.probe_episodes
    if not path.is_file():
        seeds = [episode_seed(seed, k) for k in range(cfg.seed_episodes)]
        seeds += [episode_seed(seed, PROBE_OFFSET + k) for k in range(cfg.probe_episodes)]
        policy = UniformPolicy(act_dim(task), seed)
        played = collect(policy, lambda: task_env(cfg, task, condition), seeds)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_episodes(path, played)
    played = load_episodes(path)
    assert len(played) == episodes
    return played[:cfg.seed_episodes], played[cfg.seed_episodes:]


def warm_model(cfg, task, condition, loss, seed, folder, data) -> dict:
    """One world model fit on the seed episodes (``data``), and the direct measures of its
    latent state on the probe episodes, made once in ``folder``: ``probe_r2``,
    ``reward_error``, the losses, and ``open_loop.npz`` (truth and prediction of a probe
    episode)."""
    torch.set_num_threads(1)
    if (folder / "measures.json").is_file():
        measures = json.loads((folder / "measures.json").read_text())
        runs.check_file_keys(folder, measures.get("files", {}),
                             f"delete {folder} to fit this world model again")
        return measures
    start = time.time()
    train, probe = random_episodes(cfg, task, condition, seed, data)
    torch_seed("model", task, condition, loss, seed)
    model = RSSM(rssm_config(cfg, task, loss)).to(resolve_device(cfg.device))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.model_lr, eps=cfg.model_eps)
    replay = SequenceReplay(seed)
    replay.add(train)
    losses = wm.train_model(model, optimizer, replay, cfg.model_updates, cfg.batch, cfg.length,
                            cfg.grad_clip)
    decoder = wm.fit_decoder(model, replay, cfg.decoder_updates, cfg.batch, cfg.length)
    truth, predicted = wm.open_loop(model, decoder, probe[0], cfg.open_loop_context,
                                    cfg.open_loop_horizon)
    measures = {"task": task, "condition": condition, "loss": loss, "seed": seed,
                "probe_r2": wm.probe(model, train, probe),
                "reward_error": wm.reward_error(model, probe),
                "losses": losses, "seconds": time.time() - start}
    runs.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
              folder / "model.pt")
    np.savez_compressed(folder / "open_loop.npz", truth=truth, predicted=predicted)
    measures["files"] = runs.file_keys(folder, ["model.pt", "open_loop.npz"])
    runs.write_json(measures, folder / "measures.json")  # last: the model is made
    return measures
