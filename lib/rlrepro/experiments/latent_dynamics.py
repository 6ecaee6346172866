"""Latent dynamics models from pixels, reconstruction vs contrast, clean vs distracted pictures:
the experiment of ``notebooks/latent_dynamics.ipynb`` (the latent-dynamics thesis,
janwithb/thesis; PlaNet, Dreamer, CURL).

Per (task, condition, seed), cached in ``data/datasets/latent_dynamics/<profile>/``: episodes of
uniformly random actions, ``seed_episodes`` to start every run from and ``probe_episodes``
held out for the probes. ``condition`` is ``clean`` (the pixel task) or ``distracted`` (random
colours of sky, floor, body and light every episode: ``envs.pixels``).

Per (task, condition, loss, seed), in ``data/models/latent_dynamics/<profile>/``: the world model
(``models.rssm``) warmed up on the seed episodes for ``model_updates`` updates, and what its
latent state knows, measured directly on the held-out episodes: the R^2 of a linear probe to the
true state, the one-step reward prediction error, an open-loop video prediction.

Per (task, condition, loss, agent, seed), in ``data/policies/latent_dynamics/<profile>/``: the
agent's run from that warm model (``sac_pixels``: from nothing, its loss is ``none``):
``iterations`` rounds of one episode collected by the agent, then ``model_updates_per_iteration``
updates of its world model on everything collected and ``agent_updates_per_iteration`` of the
agent; deterministic evaluations every ``eval_every`` rounds; resumable from its last
evaluation.

Data and world models are made by ``latent.warmup``, the runs by ``latent.training``; each file
is named by the settings it is made from and the code of the module that makes it.
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

import numpy as np
import torch

from rlrepro import runs
from rlrepro.agents.algorithms import AgentConfig
from rlrepro.evaluation.statistics import mean_interval, seed_interval, seed_interval_label
from rlrepro.latent import training, warmup
from rlrepro.latent.dreamer import DreamerConfig
from rlrepro.latent.mb_sac import MBSACConfig
from rlrepro.latent.pixel_sac import PixelSACConfig
from rlrepro.latent.planning import MPCCEMConfig
from rlrepro.latent.training import MODEL_FREE
from rlrepro.models.rssm import RSSMConfig
from rlrepro.params import param
from rlrepro.runner import Launcher, run_parallel

TASKS = ("cartpole_swingup", "cheetah_run", "walker_walk")  # envs.pixels' tasks
CONDITIONS = ("clean", "distracted")
LOSSES = ("reconstruction", "contrastive")
AGENTS = ("mb_sac", "dreamer", "mpc_cem", "sac_pixels")


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("datasets", "models", "policies")
CURVES = {"learning_curves": "return of deterministic episodes"}  # figures with their points, for `dvc plots show`


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/latent_dynamics.ipynb`` (section ``latent_dynamics``)."""

    tasks: list[str] = param("dm_control tasks seen through pixels (envs.pixels)", choices=TASKS)
    conditions: list[str] = param("clean pictures and/or distracted ones (random colours of "
                                  "sky, floor, body and light each episode)", choices=CONDITIONS)
    losses: list[str] = param("representation losses of the world model", choices=LOSSES)
    agents: list[str] = param("agents trained on every (loss, condition); sac_pixels once per "
                              "condition", choices=AGENTS)
    seeds: int = param("independent runs of every combination", min=1)
    workers: int = param("processes (or Slurm jobs) at once", min=1, max=64, operational=True)
    device: str = param("auto (CUDA when present), cpu or cuda: where the world models and "
                        "agents compute", choices=("auto", "cpu", "cuda"), operational=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs "
                               "(rlrepro.runner.Launcher)", default=Launcher(), operational=True)
    image_size: int = param("picture height and width, a power of two (thesis: 64)", min=8)
    camera_jitter: float = param("distracted: std of the camera's random offset per episode, "
                                 "metres (0: fixed camera)", min=0.0)
    action_repeat: int = param("simulator steps per agent step (the thesis: 4 on every task; "
                               "0: PlaNet's per task, cheetah 4, walker 2, cartpole 8)", min=0)
    # The world model (PlaNet's sizes at paper: RSSMConfig's defaults).
    rssm: RSSMConfig = param("the world model (models.rssm); its picture size is image_size, "
                             "its action size the task's, its representation each of `losses`",
                             default=RSSMConfig(),
                             per_run=("image_size", "action_dim", "representation"))
    model_lr: float = param("Adam step size of the world model (PlaNet and the thesis: 1e-3)",
                            min=1e-7, max=1.0)
    model_eps: float = param("Adam's epsilon of the world model (the thesis: 1e-4; PlaNet "
                             "1e-4 too)", default=1e-4, min=1e-12, max=1.0)
    grad_clip: float = param("world model: the gradient's norm is clipped at this (the "
                             "thesis: 100; PlaNet: 1000)", min=0.0)
    batch: int = param("sequences per world-model update, and per agent update of MB-SAC and "
                       "Dreamer (PlaNet: 50)", min=1)
    length: int = param("steps per sequence (PlaNet: 50)", min=2)
    seed_episodes: int = param("episodes of random actions before training (PlaNet: 5)", min=1)
    probe_episodes: int = param("held-out episodes of random actions the probes are scored on",
                                min=1)
    model_updates: int = param("warm-up updates of each world model on the seed episodes",
                               min=0)
    # The runs.
    iterations: int = param("rounds of (collect one episode, train) per run (PlaNet: 1 episode "
                            "per 100 updates)", min=1)
    model_updates_per_iteration: int = param("world-model updates per round (PlaNet: 100)",
                                             min=0)
    agent_updates_per_iteration: int = param("Dreamer's and SAC from pixels' updates per round "
                                             "(Dreamer: 100; MB-SAC's: mb_sac.updates)", min=0)
    eval_every: int = param("rounds between evaluations", min=1)
    eval_episodes: int = param("deterministic episodes per evaluation while training", min=1)
    final_episodes: int = param("deterministic episodes scoring each run's final policy", min=1)
    # The agents.
    sac: AgentConfig = param("MB-SAC's and SAC from pixels' SAC (SAC: 256, 256 units, step 3e-4; "
                             "SAC-AE: batch 128)", default=AgentConfig(),
                             per_run=("algorithm", "device"))
    mb_sac: MBSACConfig = param("MB-SAC's imagination and SAC updates (latent.mb_sac)",
                                default=MBSACConfig())
    dreamer: DreamerConfig = param("Dreamer's actor-critic in imagination (latent.dreamer)",
                                   default=DreamerConfig())
    pixel_sac: PixelSACConfig = param("SAC from pixels: its encoder (latent.pixel_sac)",
                                      default=PixelSACConfig())
    mpc_cem: MPCCEMConfig = param("MPC-CEM's search (latent.planning)", default=MPCCEMConfig())
    # The pictures of the notebook.
    open_loop_context: int = param("open-loop video: pictures seen before predicting (PlaNet: "
                                   "5)", min=1)
    open_loop_horizon: int = param("open-loop video: steps predicted from actions alone", min=1)
    decoder_updates: int = param("contrastive models: updates of the decoder fit on their "
                                 "frozen latents to show their predictions", min=0)
    gif_steps: int = param("agent steps shown in each policy GIF", min=1, operational=True)

    def check(self):
        errors = []
        size = self.image_size
        if size & (size - 1):
            errors.append(f"'image_size': expected a power of two, got {size}")
        if self.mpc_cem.top > self.mpc_cem.candidates:
            errors.append(f"'mpc_cem.top': {self.mpc_cem.top} is more than the "
                          f"{self.mpc_cem.candidates} candidates")
        if self.device == "cuda" and not torch.cuda.is_available():
            errors.append("'device': cuda, but this machine has no CUDA device (use auto or cpu)")
        if self.eval_every > self.iterations:
            errors.append(f"'eval_every': {self.eval_every} is more than the {self.iterations} "
                          f"iterations: no evaluation would run")
        return errors


def _root(data_dir, kind, profile) -> pathlib.Path:
    return pathlib.Path(data_dir) / kind / "latent_dynamics" / profile


# --- data, world models and runs (made by latent.warmup and latent.training) ------------------

def data_file(cfg, profile, task, condition, seed, data_dir="data") -> pathlib.Path:
    """The random episodes of a (task, condition, seed)."""
    key = runs.key(task, condition, seed, cfg.image_size, cfg.camera_jitter, cfg.action_repeat,
                   cfg.seed_episodes, cfg.probe_episodes, runs.code_fingerprint(warmup))
    return _root(data_dir, "datasets", profile) / f"{task}-{condition}-seed{seed}-{key}.npz"


def make_random_episodes(cfg, profile, task, condition, seed, data_dir="data") -> None:
    """The random episodes made (and cached) once, before the world models that share them."""
    warmup.random_episodes(cfg, task, condition, seed,
                           data_file(cfg, profile, task, condition, seed, data_dir))


def model_folder(cfg, profile, task, condition, loss, seed, data_dir="data") -> pathlib.Path:
    key = runs.key(dataclasses.asdict(warmup.rssm_config(cfg, task, loss)), cfg.model_lr,
                   cfg.model_eps, cfg.grad_clip, cfg.batch, cfg.length, cfg.model_updates, cfg.seed_episodes,
                   cfg.probe_episodes, cfg.camera_jitter, cfg.action_repeat, cfg.decoder_updates,
                   cfg.open_loop_context, cfg.open_loop_horizon, runs.code_fingerprint(warmup))
    return _root(data_dir, "models", profile) / f"{task}-{condition}-{loss}-seed{seed}-{key}"


def warm_model(cfg, profile, task, condition, loss, seed, data_dir="data") -> dict:
    """One world model and its measures (``latent.warmup.warm_model``)."""
    return warmup.warm_model(cfg, task, condition, loss, seed,
                             model_folder(cfg, profile, task, condition, loss, seed, data_dir),
                             data_file(cfg, profile, task, condition, seed, data_dir))


RUN_KEYS = ("iterations", "model_updates_per_iteration", "agent_updates_per_iteration",
            "eval_every", "eval_episodes", "final_episodes", "sac", "mb_sac", "dreamer",
            "pixel_sac", "mpc_cem",
            "batch", "length", "model_lr", "model_eps", "grad_clip", "action_repeat")


def run_folder(cfg, profile, task, condition, loss, agent, seed, data_dir="data") -> runs.RunFolder:
    """A run's folder, named by everything it depends on: its settings, its warm model's folder
    and the code of ``latent.training``."""
    config = {"agent": agent, "settings": {k: dataclasses.asdict(cfg)[k] for k in RUN_KEYS},
              "model": (None if agent == MODEL_FREE else
                        model_folder(cfg, profile, task, condition, loss, seed, data_dir).name)}
    key = runs.key(config, runs.code_fingerprint(training))
    name = f"{task}-{condition}-{loss}-{agent}-seed{seed}-{key}"
    return runs.RunFolder(_root(data_dir, "policies", profile) / name, config, [training])


def run(cfg, profile, task, condition, loss, agent_name, seed, data_dir="data") -> dict:
    """One agent's run (``latent.training.run``); its result."""
    model = (None if agent_name == MODEL_FREE else
             model_folder(cfg, profile, task, condition, loss, seed, data_dir))
    return training.run(cfg, task, condition, loss, agent_name, seed,
                        run_folder(cfg, profile, task, condition, loss, agent_name, seed, data_dir),
                        model, data_file(cfg, profile, task, condition, seed, data_dir))


def load_run(cfg, profile, task, condition, loss, agent_name, seed, data_dir="data"):
    """A finished run's agent, acting through its world model."""
    return training.load_run(cfg, task, loss, agent_name, seed, run_folder(
        cfg, profile, task, condition, loss, agent_name, seed, data_dir))


def model_jobs(cfg, profile, data_dir="data") -> list[dict]:
    """Every world model is warmed up and probed, even if only SAC from pixels runs."""
    return [dict(cfg=cfg, profile=profile, task=t, condition=c, loss=loss, seed=s,
                 data_dir=str(data_dir))
            for t in cfg.tasks for c in cfg.conditions for loss in cfg.losses
            for s in range(cfg.seeds)]


def run_jobs(cfg, profile, data_dir="data") -> list[dict]:
    jobs = []
    for t in cfg.tasks:
        for c in cfg.conditions:
            for agent in cfg.agents:
                for loss in (["none"] if agent == MODEL_FREE else cfg.losses):
                    jobs += [dict(cfg=cfg, profile=profile, task=t, condition=c, loss=loss,
                                  agent_name=agent, seed=s, data_dir=str(data_dir))
                             for s in range(cfg.seeds)]
    return jobs


def run_all(cfg: Config, profile: str, data_dir="data") -> tuple[list, list]:
    """The random episodes, every world model, then every run (``cfg.workers`` processes or
    Slurm jobs); the models' measures and the runs' results."""
    data_jobs = [dict(cfg=cfg, profile=profile, task=t, condition=c, seed=s, data_dir=str(data_dir))
                 for t in cfg.tasks for c in cfg.conditions for s in range(cfg.seeds)]
    run_parallel(make_random_episodes, data_jobs, workers=cfg.workers, launcher=cfg.launcher,
                 desc="random episodes", name=lambda j: f"{j['task']} {j['condition']} {j['seed']}")
    models = run_parallel(warm_model, model_jobs(cfg, profile, data_dir), workers=cfg.workers,
                          launcher=cfg.launcher, desc="world models",
                          name=lambda j: f"{j['task']} {j['condition']} {j['loss']} {j['seed']}")
    jobs = sorted(run_jobs(cfg, profile, data_dir), key=lambda j: j["agent_name"] != "mpc_cem")
    runs = run_parallel(run, jobs, workers=cfg.workers, launcher=cfg.launcher, desc="runs",
                        name=lambda j: f"{j['task']} {j['condition']} {j['loss']} "
                                       f"{j['agent_name']} {j['seed']}")
    return models, runs


# --- analysis -----------------------------------------------------------------------------------

# Design deviations from the thesis (janwithb/thesis: scripts/train_*.py, algos/algo_base.py,
# utils/misc.py) that hold for every profile (params.deviations adds them to the table
# generated from the profile's overlays).
DEVIATIONS = [
    {"setting": "picture augmentation (contrastive)", "original": "crop jitter: a random crop "
                                                               "of 4 replicated pixels and "
                                                               "kornia's ColorJitter(0.2, 0.3, "
                                                               "0.2, 0.3)",
     "this run": "the random shift (rssm.shift), then our ColorJitter with kornia 0.5's ranges "
                 "and random order (rssm.color_jitter)", "why": "kornia is not a dependency; "
                                                                "the thesis pins no version"},
]


def returns_table(runs: list[dict]):
    """One row per (task, agent, loss, condition): the final return of deterministic episodes
    (the paper's protocol) and of the same episodes with the policy sampling its actions, each
    the mean over all final episodes of all seeds with a 95% bootstrap interval over them (few
    seeds: the interval holds the episodes' spread, not the seeds')."""
    import pandas as pd

    frame = pd.DataFrame(runs)
    rows = []
    for (task, agent, loss, condition), group in frame.groupby(["task", "agent", "loss",
                                                                 "condition"]):
        row = {"task": task, "agent": agent, "loss": loss, "condition": condition}
        for column, prefix in (("final_returns", ""), ("final_returns_sampled", "sampled_")):
            returns = np.concatenate(group[column].tolist())
            mean, low, high = (float(v[0]) for v in mean_interval({"x": returns[:, None]})["x"])
            row |= {f"{prefix}return": mean, f"{prefix}low": low, f"{prefix}high": high}
        rows.append(row | {"seeds": len(group)})
    return pd.DataFrame(rows)


def measures_table(models: list[dict]):
    """One row per (task, loss, condition): the probe's R^2 and the reward prediction error,
    each mean over seeds with its interval."""
    import pandas as pd

    frame = pd.DataFrame(models)
    rows = []
    for (task, loss, condition), group in frame.groupby(["task", "loss", "condition"]):
        row = {"task": task, "loss": loss, "condition": condition}
        for column in ("probe_r2", "reward_error"):
            mean, low, high = seed_interval(group.sort_values("seed")[column])
            row |= {column: mean, f"{column}_low": low, f"{column}_high": high}
        rows.append(row)
    return pd.DataFrame(rows)


def _nested(frame, value, keys) -> dict:
    out = {}
    for row in frame.to_dict("records"):
        node = out
        for key in keys[:-1]:
            node = node.setdefault(row[key], {})
        node[row[keys[-1]]] = row[value] if isinstance(value, str) else [row[v] for v in value]
    return out


def metrics(returns, measures, cfg: Config) -> dict:
    """The scorecard's numbers for the first task (the issue's layout:
    ``return[agent][loss][condition]``, ``probe_r2[loss][condition]``), every task's under
    ``by_task``, and the claims' differences."""
    by_task = {}
    for task in cfg.tasks:
        r, m = returns[returns.task == task], measures[measures.task == task]
        by_task[task] = {
            "return": _nested(r, "return", ["agent", "loss", "condition"]),
            "return_ci": _nested(r, ["low", "high"], ["agent", "loss", "condition"]),
            "probe_r2": _nested(m, "probe_r2", ["loss", "condition"]),
            "probe_r2_ci": _nested(m, ["probe_r2_low", "probe_r2_high"], ["loss", "condition"]),
            "reward_error": _nested(m, "reward_error", ["loss", "condition"])}
        by_task[task]["claims"] = claims(by_task[task])
    return {**by_task[cfg.tasks[0]], "task": cfg.tasks[0], "by_task": by_task}


def claims(task_metrics: dict) -> dict:
    """The thesis' claims as differences (None where a part was not run): the probe's loss of
    R^2 from clean to distracted pictures, reconstruction's minus contrastive's; contrastive
    minus reconstruction under distractors (probe, and MB-SAC's return); reconstruction minus
    contrastive on clean pictures (MB-SAC's return). A probe claim is about a representation
    only where the winner's latent holds some of the true state: each probe difference is
    capped by the contrastive model's held-out R^2 under distractors (a negative R^2, worse
    than predicting the mean, fails the claim whatever the margin)."""
    def get(tree, *keys):
        for key in keys:
            if not isinstance(tree, dict) or key not in tree:
                return None
            tree = tree[key]
        return tree

    def diff(a, b):
        return None if a is None or b is None else a - b

    def informative(value):
        return None if value is None or winner is None else min(value, winner)

    probe, ret = task_metrics["probe_r2"], task_metrics["return"]
    winner = get(probe, "contrastive", "distracted")
    drop = {loss: diff(get(probe, loss, "clean"), get(probe, loss, "distracted"))
            for loss in LOSSES}
    return {"probe_drop_reconstruction_minus_contrastive": informative(
                diff(drop["reconstruction"], drop["contrastive"])),
            "probe_distracted_contrastive_minus_reconstruction": informative(diff(
                winner, get(probe, "reconstruction", "distracted"))),
            "mb_sac_clean_reconstruction_minus_contrastive": diff(
                get(ret, "mb_sac", "reconstruction", "clean"),
                get(ret, "mb_sac", "contrastive", "clean")),
            "mb_sac_distracted_contrastive_minus_reconstruction": diff(
                get(ret, "mb_sac", "contrastive", "distracted"),
                get(ret, "mb_sac", "reconstruction", "distracted"))}


def returns_figure(returns, cfg: Config):
    """Final return of every (agent, loss), clean beside distracted, with intervals."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    tasks = list(cfg.tasks)
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 3.6), squeeze=False)
    colours = dict(zip(cfg.conditions, sns.color_palette("tab10")))
    for ax, task in zip(axes.flat, tasks):
        frame = returns[returns.task == task].assign(
            label=lambda f: f.agent + "\n" + f.loss).sort_values(["agent", "loss"])
        labels = list(dict.fromkeys(frame.label))
        width = 0.8 / len(cfg.conditions)
        for k, condition in enumerate(cfg.conditions):
            part = frame[frame.condition == condition].set_index("label").reindex(labels)
            x = np.arange(len(labels)) + (k - (len(cfg.conditions) - 1) / 2) * width
            ax.bar(x, part["return"], width, color=colours[condition], label=condition,
                   yerr=[part["return"] - part["low"], part["high"] - part["return"]],
                   capsize=3)
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
        ax.set(title=task, ylabel="final return")
        ax.legend(fontsize=8)
    fig.suptitle(f"return after {cfg.iterations} episodes of each agent: mean over "
                 f"{cfg.seeds} seed(s) x {cfg.final_episodes} episodes [95% bootstrap CI]")
    fig.tight_layout()
    return fig


def measures_figure(measures, cfg: Config):
    """The direct measures of the representation: probe R^2 and reward error per loss,
    clean beside distracted."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    colours = dict(zip(cfg.conditions, sns.color_palette("tab10")))
    frame = measures[measures.task == cfg.tasks[0]]
    width = 0.8 / len(cfg.conditions)
    for ax, (column, title) in zip(axes, (("probe_r2", "linear probe to the true state, R^2"),
                                          ("reward_error", "one-step reward error (MSE)"))):
        for k, condition in enumerate(cfg.conditions):
            part = frame[frame.condition == condition].set_index("loss").reindex(cfg.losses)
            x = np.arange(len(cfg.losses)) + (k - (len(cfg.conditions) - 1) / 2) * width
            ax.bar(x, part[column], width, color=colours[condition], label=condition,
                   yerr=[part[column] - part[f"{column}_low"],
                         part[f"{column}_high"] - part[column]], capsize=3)
        ax.set_xticks(np.arange(len(cfg.losses)), cfg.losses)
        ax.set(title=title)
        ax.legend(fontsize=8)
    fig.suptitle(f"{cfg.tasks[0]}: what the world model's latent state knows, held-out random "
                 f"episodes, {seed_interval_label(cfg.seeds)}")
    fig.tight_layout()
    return fig


def open_loop_strip(cfg, profile, data_dir="data", frames: int = 8):
    """Truth above prediction for each (loss, condition) of the first task's seed 0: the
    first pictures seen, the rest predicted open loop (``open_loop.npz`` of each model)."""
    rows = {}
    task = cfg.tasks[0]
    for condition in cfg.conditions:
        for loss in cfg.losses:
            folder = model_folder(cfg, profile, task, condition, loss, 0, data_dir)
            with np.load(folder / "open_loop.npz") as saved:
                truth, predicted = saved["truth"], saved["predicted"]
            pick = np.linspace(0, len(truth) - 1, frames).astype(int)
            rows[f"{condition}, {loss}: truth"] = np.concatenate(truth[pick], 1)
            rows[f"{condition}, {loss}: model"] = np.concatenate(predicted[pick], 1)
    return rows


def open_loop_gifs(cfg, profile, folder, data_dir="data", scale: int = 4) -> list[pathlib.Path]:
    """One GIF per (condition, loss) of the first task's seed-0 model: the true pictures on the
    left, the model's open-loop prediction on the right (``open_loop.npz``), ``scale`` times
    enlarged."""
    import imageio.v2 as imageio

    paths = []
    for condition in cfg.conditions:
        for loss in cfg.losses:
            model = model_folder(cfg, profile, cfg.tasks[0], condition, loss, 0, data_dir)
            with np.load(model / "open_loop.npz") as saved:
                frames = np.concatenate([saved["truth"], saved["predicted"]], 2)
            frames = frames.repeat(scale, 1).repeat(scale, 2)
            path = pathlib.Path(folder) / f"open_loop_{condition}_{loss}.gif"
            imageio.mimsave(path, list(frames), duration=200, loop=0)
            paths.append(path)
    return paths


def verdict_text(metrics_: dict, cfg: Config) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    lines = []
    for task, m in metrics_["by_task"].items():
        probe = m["probe_r2"]
        lines.append(f"- **{task}**, linear probe R^2 (clean / distracted): " + "; ".join(
            f"{loss} {v.get('clean', float('nan')):.2f} / {v.get('distracted', float('nan')):.2f}"
            for loss, v in probe.items()) + ".")
        if all(c in probe.get(loss, {}) for loss in LOSSES for c in ("clean", "distracted")):
            drop = {loss: probe[loss]["clean"] - probe[loss]["distracted"] for loss in LOSSES}
            margin = drop["reconstruction"] - drop["contrastive"]
            winner = probe["contrastive"]["distracted"]
            lines.append(f"  Reconstruction loses {margin:+.2f} more R^2 than contrast under the "
                         "distractors; " + (
                             "the contrastive latent then predicts worse than the mean "
                             f"(R^2 {winner:.2f}), so no representation claim holds."
                             if winner <= 0 else
                             "the thesis' claim shows in the representation." if margin > 0
                             else "the thesis' claim does not show in the representation here."))
        for agent, losses in m["return"].items():
            lines.append(f"  - {agent}: " + "; ".join(
                f"{loss} " + " / ".join(f"{v:.0f}" for v in conds.values())
                for loss, conds in losses.items()) + " (" + " / ".join(cfg.conditions) + ")")
    return "\n".join(lines)
