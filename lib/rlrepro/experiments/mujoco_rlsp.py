"""Deep RLSP on MuJoCo, the experiment of ``notebooks/mujoco_rlsp.ipynb`` (Lindner et al., ICLR
2021, Sec. 3.3-3.4, Table 1): infer a reward from a few observed states of an expert's world,
train a fresh SAC on it, and score that policy by the task's TRUE return.

Per task, cached in ``data/models/mujoco_rlsp/<profile>/<task>/``:

1. feature data: random rollouts with termination ignored (and, for the pendulum, rollouts of
   the expert, deterministic with an epsilon share of random actions: the original's mix);
2. the state VAE (features ``phi``) and the inverse dynamics, fit once on them.

Per (task, n observed states, draw), in ``data/policies/mujoco_rlsp/<profile>/<task>/n<n>_draw<d>/``:

3. the inferred reward of each method (``<method>/reward.pt``): Deep RLSP's ``theta`` (the
   ascent of ``rlsp.mujoco.deep_rlsp``; its epochs in ``deep_rlsp/history.json``),
   AverageFeatures' normalised mean feature of the observed states, Waypoints' max over them;
4. an evaluation SAC trained on each reward (``<method>/eval/``, a run folder of
   ``agents.training``: cached, resumable), its curve scored on the true return.

The observed states come from the experts stage (``data/datasets/mujoco_experts/<profile>/``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from rlrepro import demonstrations, runs
from rlrepro.agents.algorithms import AgentConfig
from rlrepro.agents.training import (POLICY, TRAIN_PER_RUN, TrainConfig, finished_result, load_policy,
                                     train_seeds)
from rlrepro.demonstrations import load as load_transitions
from rlrepro.envs import make_env, spaces
from rlrepro.evaluation.rollouts import (EpsilonGreedy, UniformPolicy, episode_seed, play,
                                         run_episodes)
from rlrepro.evaluation.statistics import mean_interval
from rlrepro.models import inverse_dynamics as dynamics_model
from rlrepro.models import state_vae
from rlrepro.models.inverse_policy import InversePolicyConfig
from rlrepro.models.learned_reward import LatentReward
from rlrepro.models.learned_reward import load as load_reward
from rlrepro.models.policy_discriminator import DiscriminatorConfig, discriminator_score
from rlrepro.params import for_task, param, task_settings_problems
from rlrepro.rlsp.mujoco import DeepRLSPConfig, deep_rlsp
from rlrepro.runner import Launcher, run_parallel

TASKS = demonstrations.TASKS  # the experts stage's tasks
SKILLS = ("cheetah_balancing", "cheetah_jumping")  # scored by a discriminator too (Sec. 3.4)
METHODS = ("deep_rlsp", "average_features", "waypoints")
FEATURE_OFFSET, FINAL_OFFSET, EPOCH_OFFSET = 5 * 10**6, 6 * 10**6, 7 * 10**6  # episode seeds


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("models", "policies")
CURVES = {"evaluation_curves": "true return of SAC on the inferred reward"}  # figures with their points, for `dvc plots show`
READS = ("data/results/mujoco_experts.json", "data/datasets/mujoco_experts",
         "data/policies/mujoco_experts")


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/mujoco_rlsp.ipynb`` (section ``mujoco_rlsp``). The models'
    settings are their own configurations, whose defaults are the original's; ``task_settings``
    gives a task its own values of any key (the original's per-task settings)."""

    tasks: list[str] = param("tasks whose expert's states are observed", choices=TASKS)
    n_states: list[int] = param("sizes of the observed-state sets (paper: 1, 10, 50; the "
                                "experts stage's observed_states)", min=1)
    seeds: int = param("observed-state sets per size (the experts' draws), each a seed of every "
                       "method (paper: 3)", min=1)
    methods: list[str] = param("reward inference methods", choices=METHODS)
    workers: int = param("processes at once, or jobs of the Slurm array", min=1, max=64,
                         operational=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs",
                               default=Launcher(), operational=True)
    # Feature data and models (the original's scripts/train_vae.py, train_inverse_dynamics.py).
    feature_episodes: int = param("random rollouts the VAE and inverse dynamics learn from "
                                  "(paper: 100)", min=1)
    expert_episodes: int = param("rollouts of the task's expert added to the feature data per "
                                 "value of expert_epsilons (paper: the pendulum's 12 random + "
                                 "3 x 12 expert rollouts; other tasks none)", default=0, min=0)
    expert_epsilons: tuple[float, ...] = param("the expert acts deterministically, each action "
                                               "replaced by a uniformly random one with this "
                                               "probability: one set of expert_episodes rollouts per "
                                               "value (paper: 0, 0.12, 0.3)",
                                               default=(0.0, 0.12, 0.3),
                                               min=0.0, max=1.0)
    feature_steps: int = param("steps per feature rollout at most (paper: 1000)", min=1)
    vae: state_vae.StateVAEConfig = param("the state VAE, the features phi(s)",
                                          default=state_vae.StateVAEConfig())
    dynamics: dynamics_model.InverseDynamicsConfig = param(
        "the inverse dynamics", default=dynamics_model.InverseDynamicsConfig())
    inverse_policy: InversePolicyConfig = param("the inverse policy, refit every epoch",
                                                default=InversePolicyConfig())
    rlsp: DeepRLSPConfig = param("Deep RLSP's ascent on theta and its solver",
                                 default=DeepRLSPConfig())
    # The SACs: the solver inside Deep RLSP and the evaluation policy on each inferred reward.
    sac: AgentConfig = param("every SAC (the solver's and the evaluation's; paper: rl-baselines-"
                             "zoo's, as the experts')", default=AgentConfig())
    train: TrainConfig = param("how the evaluation SAC trains on an inferred reward: steps, "
                               "warm-up, evaluations of the true return, checkpoints; episodes "
                               "end only at the time limit (the original's evaluation)",
                               default=TrainConfig(), per_run=TRAIN_PER_RUN)
    final_episodes: int = param("deterministic episodes scoring each final policy (paper: 10; "
                                ">= 20 for an interval)", min=1)
    task_settings: dict[str, dict] = param("task -> the keys above it sets for itself (a nested "
                                           "one key by key), e.g. the pendulum's smaller SAC",
                                           choices=TASKS, may_be_empty=True)
    probes: dict[str, dict] = param("named variants of Deep RLSP's ascent on the pendulum (the "
                                    "largest n, draw 0): name -> the rlsp keys it changes; "
                                    "each gets a table of its epochs (the reward along the pole "
                                    "angle, the solver's true return)", may_be_empty=True)

    def check(self):
        errors = task_settings_problems(self)
        fields = {f.name for f in dataclasses.fields(DeepRLSPConfig)}
        for name, changes in self.probes.items():
            unknown = sorted(set(changes) - fields) if isinstance(changes, dict) else changes
            if unknown:
                errors.append(f"'probes.{name}': expected a mapping of rlsp keys "
                              f"({sorted(fields)}), got {unknown}")
        if self.probes and PROBE_TASK not in self.tasks:
            errors.append(f"'probes': they run on {PROBE_TASK}, which is not in 'tasks'")
        if not errors:
            errors += [f"'train.total_steps' of {task}: eval_every ({t.eval_every}) must divide "
                       f"it ({t.total_steps})"
                       for task, t in ((t, for_task(self, t).train) for t in self.tasks)
                       if t.total_steps % t.eval_every]
        return errors


# --- feature data and models ----------------------------------------------------------------

def models_dir(data_dir, profile, task) -> pathlib.Path:
    return pathlib.Path(data_dir) / "models" / "mujoco_rlsp" / profile / task


def runs_dir(data_dir, profile, task, n, draw) -> pathlib.Path:
    return (pathlib.Path(data_dir) / "policies" / "mujoco_rlsp" / profile / task /
            f"n{n}_draw{draw}")


def feature_data(cfg: Config, profile: str, task: str, data_dir="data") -> dict:
    """Transitions (s, a, s') of random rollouts and of the task's expert (``expert_episodes``
    per epsilon of ``expert_epsilons``: deterministic, an epsilon share of its actions random),
    every rollout ``feature_steps`` long with termination ignored, as the original's: the VAE
    and the inverse dynamics must know the states a policy
    reaches after a fall (a fallen pendulum), or the linear reward on their out-of-distribution
    features is unbounded there and the evaluation SAC learns to fall; cached, by the settings,
    the expert's policy and the code that plays the rollouts."""
    cfg = for_task(cfg, task)
    path = models_dir(data_dir, profile, task) / "feature_data.npz"
    expert_file = demonstrations.expert_dir(data_dir, profile, task, 0) / POLICY
    key = runs.key(cfg.feature_episodes, cfg.expert_episodes, cfg.expert_epsilons,
                   cfg.feature_steps,
                   "termination ignored",
                   runs.file_key(expert_file) if cfg.expert_episodes else None,
                   runs.code_fingerprint(demonstrations, "rlrepro.agents.training",
                                         "rlrepro.evaluation.rollouts"))
    saved = runs.read_cache(path, runs.read_npz)
    if saved is not None and str(saved["key"]) == key:
        return {name: saved[name] for name in ("states", "actions", "next_states")}
    act_dim = spaces(task)[1][0]
    policies = [(UniformPolicy(act_dim, 0), cfg.feature_episodes)]
    if cfg.expert_episodes:
        expert, _ = load_policy(demonstrations.expert_dir(data_dir, profile, task, 0),
                                copies=cfg.expert_episodes)
        policies += [(EpsilonGreedy(expert, epsilon, act_dim, k), cfg.expert_episodes)
                     for k, epsilon in enumerate(cfg.expert_epsilons, start=1)]
    rows = []
    for k, (policy, episodes) in enumerate(policies):  # episodes in lockstep
        envs = [demonstrations.TransitionRecorder(gym.wrappers.TimeLimit(
            make_env(task, ignore_termination=True), cfg.feature_steps)) for _ in range(episodes)]
        seeds = [episode_seed(k, FEATURE_OFFSET + i) for i in range(episodes)]
        run_episodes(policy, envs, seeds)
        rows += [row for env in envs for row in env.rows]
    data = {"states": np.array([r[0] for r in rows], np.float32),
            "actions": np.array([r[1] for r in rows], np.float32),
            "next_states": np.array([r[2] for r in rows], np.float32)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=key, **data)
    return data


def feature_models(cfg: Config, profile: str, task: str, data_dir="data"):
    """The task's state VAE and inverse dynamics, fit once on its feature data (cached, by their
    configurations, the data and their code), and the losses of their training (None when
    loaded)."""
    data = feature_data(cfg, profile, task, data_dir)
    obs_dim, act_dim = data["states"].shape[1], data["actions"].shape[1]
    path = models_dir(data_dir, profile, task) / "models.pt"
    cfg = for_task(cfg, task)
    key = runs.key(dataclasses.asdict(cfg.vae), dataclasses.asdict(cfg.dynamics),
                   hashlib.sha256(data["states"].tobytes()).hexdigest(),
                   runs.code_fingerprint(state_vae, dynamics_model))
    vae = state_vae.StateVAE(obs_dim, cfg.vae)
    dynamics = dynamics_model.InverseDynamics(obs_dim, act_dim, cfg.dynamics)
    saved = runs.read_cache(path, lambda p: torch.load(p, map_location="cpu", weights_only=True))
    if saved is not None and saved["key"] == key:
        vae.load_state_dict(saved["vae"])
        dynamics.load_state_dict(saved["dynamics"])
        return vae, dynamics, None
    losses = {"vae": state_vae.fit(vae, data["states"], cfg.vae),
              "inverse_dynamics": dynamics_model.fit(dynamics, data["states"], data["actions"],
                                                     data["next_states"], cfg.dynamics)}
    runs.save({"key": key, "vae": vae.state_dict(), "dynamics": dynamics.state_dict()}, path)
    (path.parent / "losses.json").write_text(json.dumps(losses))
    return vae, dynamics, losses


# --- reward inference -----------------------------------------------------------------------

def observed_states(profile, task, n, draw, data_dir="data") -> np.ndarray:
    """The n observed states: where the expert's drawn steps led (see ``demonstrations``)."""
    path = demonstrations.observed_states_file(data_dir, profile, task, n, draw)
    return load_transitions(path, task, "observed_states", n).next_observations


def infer_rewards(cfg: Config, profile: str, task: str, n: int, draw: int,
                  data_dir="data") -> dict:
    """Each method's reward file for one observed-state set (cached), and Deep RLSP's epochs."""
    folder = runs_dir(data_dir, profile, task, n, draw)
    observed = observed_states(profile, task, n, draw, data_dir)
    vae, dynamics, _ = feature_models(cfg, profile, task, data_dir)
    phi = vae.encode(observed, sample=False)
    settings = for_task(cfg, task)
    out = {}
    for method in cfg.methods:
        path = folder / method / "reward.pt"
        deep = method == "deep_rlsp"
        key = runs.key(method, observed.tolist(), _model_key(data_dir, profile, task),
                       *([dataclasses.asdict(settings.rlsp), dataclasses.asdict(settings.sac),
                          dataclasses.asdict(settings.inverse_policy)] if deep else []),
                       runs.code_fingerprint("rlrepro.models.learned_reward",
                                             *(["rlrepro.rlsp.mujoco"] if deep else [])))
        done = path.with_name("key.txt")
        history_file = path.with_name("history.json")
        if not (path.is_file() and done.is_file() and done.read_text() == key):
            if method == "average_features":
                theta = phi.sum(0) / phi.sum(0).norm()
                LatentReward(vae, theta).save(path)
            elif method == "waypoints":
                LatentReward(vae, phi / phi.norm(dim=1, keepdim=True), "max").save(path)
            else:
                history = deep_rlsp(task, observed, vae, dynamics,
                                    feature_data(cfg, profile, task, data_dir)["states"],
                                    settings.sac, settings.rlsp, settings.inverse_policy,
                                    seed=draw, on_epoch=score_epoch(task, draw))
                theta = np.array(history[-1]["theta"]) if history else phi.sum(0).numpy()
                LatentReward(vae, theta / np.linalg.norm(theta)).save(path)
                history_file.write_text(json.dumps(history))
            done.write_text(key)
        out[method] = {"reward": str(path),
                       "history": (json.loads(history_file.read_text())
                                   if history_file.is_file() else None)}
    return out


def score_epoch(task: str, draw: int):
    """Deep RLSP's ``on_epoch``: one deterministic episode of the current policy on the task,
    adding to the epoch's record its true return and its return under the current reward
    normalised as the evaluation uses it (``theta / |theta|``): the curves of Sec. 3.3."""
    def on_epoch(record, solver):
        env = make_env(task, reward=solver.reward)
        true_return = []
        seed = episode_seed(draw, EPOCH_OFFSET + record["epoch"])
        inferred = run_episodes(solver.agent, [env], [seed], on_step=lambda t, infos: (
            true_return.append(infos[0]["true_reward"]) if t and infos[0] else None))[0]
        env.close()
        record["true_return"] = float(np.sum(true_return))
        record["inferred_return"] = float(inferred / np.linalg.norm(record["theta"]))
    return on_epoch


# --- probes: variants of the ascent on the pendulum ------------------------------------------

PROBE_TASK = "inverted_pendulum"


def probe_config(cfg: Config, name: str) -> DeepRLSPConfig:
    """The pendulum's rlsp settings with probe ``name``'s changes."""
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.probes[name].items()}
    return dataclasses.replace(for_task(cfg, PROBE_TASK).rlsp, **changes)


def run_probe(name: str, cfg: Config, profile: str, data_dir="data") -> dict:
    """Deep RLSP's ascent with probe ``name``'s settings from the largest observed set of the
    pendulum (draw 0), cached like ``infer_rewards``: ``{"probe", "history"}``, each epoch's
    record with the solver's true return (``score_epoch``)."""
    n, settings = max(cfg.n_states), for_task(cfg, PROBE_TASK)
    folder = runs_dir(data_dir, profile, PROBE_TASK, n, 0) / "probes" / name
    observed = observed_states(profile, PROBE_TASK, n, 0, data_dir)
    rlsp = probe_config(cfg, name)
    vae, dynamics, _ = feature_models(cfg, profile, PROBE_TASK, data_dir)  # trained if missing
    key = runs.key("probe", observed.tolist(), _model_key(data_dir, profile, PROBE_TASK),
                   dataclasses.asdict(rlsp), dataclasses.asdict(settings.sac),
                   dataclasses.asdict(settings.inverse_policy),
                   runs.code_fingerprint("rlrepro.rlsp.mujoco"))
    history_file, done = folder / "history.json", folder / "key.txt"
    if not (history_file.is_file() and done.is_file() and done.read_text() == key):
        history = deep_rlsp(PROBE_TASK, observed, vae, dynamics,
                            feature_data(cfg, profile, PROBE_TASK, data_dir)["states"],
                            settings.sac, rlsp, settings.inverse_policy, seed=0,
                            on_epoch=score_epoch(PROBE_TASK, 0))
        folder.mkdir(parents=True, exist_ok=True)
        history_file.write_text(json.dumps(history))
        done.write_text(key)
    return {"probe": name, "history": json.loads(history_file.read_text())}


def run_probes(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every probe (trained or loaded), ``workers`` at once."""
    jobs = [dict(name=name, cfg=cfg, profile=profile, data_dir=str(data_dir))
            for name in cfg.probes]
    return run_parallel(run_probe, jobs, workers=cfg.workers, launcher=cfg.launcher,
                        desc="Deep RLSP probes", name=lambda j: j["name"])


def probe_table(cfg: Config, profile: str, probe: dict, data_dir="data",
                upright: float = 0.2) -> pd.DataFrame:
    """One row per epoch of a probe: its horizon and gradient norm, the solver's true return,
    and the reward ``theta . phi / |theta|`` along the pole angle (the other coordinates at the
    observed states' mean): at the observed angle, the mean over fallen angles (|angle| >
    ``upright``), the share of fallen angles paid more than the observed one, and where it
    peaks. Deep RLSP reproduces on the pendulum when the observed angle becomes the peak."""
    observed = observed_states(profile, PROBE_TASK, max(cfg.n_states), 0, data_dir)
    vae, _, _ = feature_models(cfg, profile, PROBE_TASK, data_dir)
    angles, states = slice_states(PROBE_TASK, observed, 121)
    at_observed = observed.mean(0, keepdims=True)
    fallen = np.abs(angles) > upright
    rows = []
    for record in probe["history"]:
        theta = np.asarray(record["theta"])
        reward = LatentReward(vae, theta / np.linalg.norm(theta))
        along, here = reward(states).numpy(), float(reward(at_observed)[0])
        rows.append({"epoch": record["epoch"], "horizon": record["horizon"],
                     "gradient_norm": record["gradient_norm"],
                     "solver_true_return": record["true_return"],
                     "reward_observed": here, "reward_fallen_mean": float(along[fallen].mean()),
                     "fallen_above_observed": float((along[fallen] > here).mean()),
                     "peak_angle": float(angles[along.argmax()])})
    return pd.DataFrame(rows)


def _model_key(data_dir, profile, task) -> str:
    return runs.file_key(models_dir(data_dir, profile, task) / "models.pt")


# --- evaluation -------------------------------------------------------------------------------

def eval_config(cfg: Config, task: str) -> TrainConfig:
    """A fresh SAC on an inferred reward, termination ignored (the original's evaluation)."""
    return dataclasses.replace(for_task(cfg, task).train, env=task, ignore_termination=True)


def eval_folder(data_dir, profile, task, n, draw, method) -> pathlib.Path:
    return runs_dir(data_dir, profile, task, n, draw) / method / "eval"


def run_task(task, cfg: Config, profile, data_dir, report=None) -> list[dict]:
    """One task's job: its models, every reward, and the evaluation SACs on them, trained as
    the members of one agent; one row per (n, draw, method) with the true-return curve."""
    rewards = {(n, draw): infer_rewards(cfg, profile, task, n, draw, data_dir)
               for n in cfg.n_states for draw in range(cfg.seeds)}
    runs = [(n, draw, method, rewards[n, draw][method])
            for (n, draw) in rewards for method in cfg.methods]
    folders = [eval_folder(data_dir, profile, task, n, draw, method)
               for n, draw, method, _ in runs]
    results = train_seeds(folders, for_task(cfg, task).sac, eval_config(cfg, task),
                          [draw for _, draw, _, _ in runs], progress=False, report=report,
                          rewards=[r["reward"] for *_, r in runs])
    return [{"task": task, "n": n, "draw": draw, "method": method, "history": r["history"],
             "steps": [c["step"] for c in result["curve"]],
             "true_returns": [c["return"] for c in result["curve"]],
             "seconds": result["seconds"]}
            for (n, draw, method, r), result in zip(runs, results)]


def finished(job) -> bool:
    """Whether every evaluation policy of the job is trained on its current reward file."""
    cfg, task = job["cfg"], job["task"]
    for n in cfg.n_states:
        for draw in range(cfg.seeds):
            for method in cfg.methods:
                folder = eval_folder(job["data_dir"], job["profile"], task, n, draw, method)
                reward = folder.parent / "reward.pt"
                if not reward.is_file() or finished_result(
                        folder, for_task(cfg, task).sac,
                        dataclasses.replace(eval_config(cfg, task), reward=str(reward)),
                        draw) is None:
                    return False
    return True


def run_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every task's rows, training what is not trained yet (one job per task, the longest
    first)."""
    tasks = sorted(cfg.tasks, key=lambda t: -for_task(cfg, t).train.total_steps)
    jobs = [dict(task=task, cfg=cfg, profile=profile, data_dir=str(data_dir)) for task in tasks]
    results = run_parallel(run_task, jobs, workers=cfg.workers, launcher=cfg.launcher,
                           desc="Deep RLSP and evaluation", name=lambda j: j["task"],
                           finished=finished)
    return [row for rows in results for row in rows]


def score(cfg: Config, profile: str, row: dict, data_dir="data") -> dict:
    """``final_episodes`` deterministic episodes of one evaluation policy on the true task:
    their returns, lengths and forward velocities (``evaluation.rollouts.play``)."""
    folder = eval_folder(data_dir, profile, row["task"], row["n"], row["draw"], row["method"])
    seeds = [episode_seed(row["draw"], FINAL_OFFSET + k) for k in range(cfg.final_episodes)]
    policy, _ = load_policy(folder, copies=len(seeds))
    return play(policy, row["task"], seeds)


def observations(policy, task: str, seeds: list[int]) -> list[np.ndarray]:
    """The observations of one deterministic episode per seed (``policy`` has a member per
    seed), each ``(T, obs_dim)``."""
    envs = [demonstrations.TransitionRecorder(make_env(task)) for _ in seeds]
    run_episodes(policy, envs, seeds)
    for env in envs:
        env.close()
    return [np.array([row[0] for row in env.rows], np.float32) for env in envs]


def skill_scores(cfg: Config, profile: str, runs, data_dir="data"):
    """For each skill task run: how well a discriminator tells the skill's episodes (its
    expert's, ``final_episodes`` of them) from each evaluation policy's, pooled over draws
    (``models.policy_discriminator``); with the references a second set of the skill's own
    episodes (~0.5) and the uniformly random policy (~1). One row per (skill, n, method)."""
    out = []
    episodes = cfg.final_episodes
    for task in [t for t in cfg.tasks if t in SKILLS]:
        skill_seeds = [episode_seed(0, FINAL_OFFSET + k) for k in range(episodes)]
        expert, _ = load_policy(demonstrations.expert_dir(data_dir, profile, task, 0), copies=episodes)
        skill = observations(expert, task, skill_seeds)
        others = {(0, 0, "skill itself"): (expert, 1),  # the references, as n = 0
                  (0, 0, "random"): (UniformPolicy(spaces(task)[1][0], 0), 1)}
        for row in runs[runs.task == task].to_dict("records"):
            folder = eval_folder(data_dir, profile, task, row["n"], row["draw"], row["method"])
            others[row["n"], row["draw"], row["method"]] = (
                load_policy(folder, copies=episodes)[0], row["draw"] + 2)
        played = {}
        for (n, draw, method), (policy, stream) in others.items():
            seeds = [episode_seed(stream, FINAL_OFFSET + k) for k in range(episodes)]
            played.setdefault((n, method), []).extend(observations(policy, task, seeds))
        for (n, method), policy_episodes in played.items():
            score = discriminator_score(skill, policy_episodes, DiscriminatorConfig())
            out.append({"task": task, "n": n, "method": method, **score})
    return pd.DataFrame(out)


# --- analysis -------------------------------------------------------------------------------

# Design deviations from the original that hold for every profile (params.deviations adds
# them to the table generated from the profile's overlays).
DEVIATIONS = [
    {"setting": "simulator", "original": "gym's -v2 tasks on mujoco-py",
     "this run": "gymnasium's -v5 tasks on mujoco 3", "why": "mujoco-py and the -v2 tasks do "
                                                           "not install on current Python"},
    {"setting": "features phi(s)", "original": "a sample of the VAE's posterior",
     "this run": "the posterior mean", "why": "a deterministic reward; the sample's noise "
                                              "(prior_stdev 1 x divergence 0.001) is small"},
    {"setting": "forward simulation's clock", "original": "never restarted by set-state",
     "this run": "restarted from the observed time feature", "why": "the time feature is part "
                                                                    "of the state"},
    {"setting": "skill demonstrations", "original": "one 100-step rollout of a DADS skill "
                                                    "(HalfCheetah-v1, no time feature)",
     "this run": "SAC experts of hand-written skill rewards, with the time feature",
     "why": "the DADS policies are not shipped; one rollout is too few to draw fresh states"},
    {"setting": "skill discriminator", "original": "windows of 5 observations of 100-step "
                                                   "rollouts, lr 1e-4, batch 40, 1000 epochs, "
                                                   "its training loss over 10 seeds",
     "this run": "windows of 50 of final_episodes 1000-step episodes, lr 1e-3, batch 32, 100 "
                 "epochs, accuracy on held-out episodes",
     "why": "a held-out accuracy says whether the behaviours differ; a training loss can "
            "fall on noise"},
    {"setting": "final scores", "original": "episodes of the SAC acting stochastically "
                                            "(evaluate_policy: predict(deterministic=False))",
     "this run": "deterministic episodes", "why": "the experts stage's reference returns, "
                                                  "which normalise them, are deterministic"},
]


GIF_STEPS = 300  # steps of an evaluation policy's GIF
DIRECTION = {"cheetah_fw": 1.0, "cheetah_bw": -1.0}  # the way the expert runs


# What this section needs of another's outputs (params.cross_check): the observed-state sets.
NEEDS = {"mujoco_experts": {"tasks": "tasks", "n_states": "observed_states",
                            "seeds": "state_draws"}}


def check_inputs(cfg: Config, profile: str, data_dir="data"):
    """Every observed-state set the run needs exists and is well formed (a clear error naming
    the file otherwise), and every task has an expert score."""
    demonstrations.expert_scores(data_dir, cfg.tasks)
    for task in cfg.tasks:
        for n in cfg.n_states:
            for draw in range(cfg.seeds):
                observed_states(profile, task, n, draw, data_dir)


# One coordinate per task along which to read the inferred rewards: the pendulum's pole angle
# over its hinge's range (+-90 degrees), the cart and the velocities held at the observed states'.
REWARD_SLICES = {"inverted_pendulum": (1, "pole angle (rad)", (-np.pi / 2, np.pi / 2))}


def slice_states(task: str, observed, points: int):
    """``points`` values of the task's ``REWARD_SLICES`` coordinate over its range, and states
    that have them there and the observed states' mean elsewhere: ``(values, states)``."""
    coordinate, _, (low, high) = REWARD_SLICES[task]
    values = np.linspace(low, high, points)
    states = np.repeat(np.asarray(observed).mean(0, keepdims=True), points, 0)
    states[:, coordinate] = values
    return values, states


def reward_slices(cfg: Config, profile: str, data_dir="data", points=61):
    """Each method's inferred reward (as the evaluation uses it: normalised) along the task's
    coordinate of ``REWARD_SLICES``, the other coordinates at the mean observed state of the
    largest set (first draw): where the reward peaks says what a policy maximising it does.
    One row per (task, method, value), with the observed states' value of the coordinate."""
    out = []
    n = max(cfg.n_states)
    for task in [t for t in cfg.tasks if t in REWARD_SLICES]:
        coordinate, name, _ = REWARD_SLICES[task]
        observed = observed_states(profile, task, n, 0, data_dir)
        values, states = slice_states(task, observed, points)
        for method in cfg.methods:
            reward = load_reward(runs_dir(data_dir, profile, task, n, 0) / method / "reward.pt")
            out += [{"task": task, "method": method, "coordinate": name, "value": v,
                     "reward": r, "observed": float(observed[:, coordinate].mean())}
                    for v, r in zip(values, reward(states).tolist())]
    return pd.DataFrame(out)


def reward_peaks(slices) -> dict:
    """Where each method's reward slice peaks, ``{task: {method: value}}``, and the observed
    states' value, ``{task: {"observed": value}}``."""
    out = {}
    for (task, method), group in slices.groupby(["task", "method"]):
        out.setdefault(task, {"observed": float(group.observed.iloc[0])})[method] = float(
            group.value.iloc[group.reward.argmax()])
    return out


def table(cfg: Config, profile: str, runs, experts_: dict, data_dir="data"):
    """One row per (task, n, method): the final policies' true return over all their episodes
    (mean and 95% bootstrap interval, pooled over draws), normalised (0 random, 1 expert), and
    the mean forward velocity."""
    out = []
    for (task, n, method), group in runs.groupby(["task", "n", "method"]):
        played = [score(cfg, profile, row, data_dir) for row in group.to_dict("records")]
        returns = np.concatenate([p["returns"] for p in played])
        velocity = float(np.nanmean(np.concatenate([p["forward_velocity"] for p in played])))
        mean, low, high = (float(v[0]) for v in mean_interval({"x": returns[:, None]})["x"])
        expert, random = experts_["expert_return"][task], experts_["random_return"][task]
        out.append({"task": task, "n": int(n), "method": method, "true_return": mean,
                    "low": low, "high": high,
                    "normalised": (mean - random) / (expert - random),
                    "forward_velocity": velocity if np.isfinite(velocity) else None,
                    "label": f"{mean:.0f}\n[{low:.0f}, {high:.0f}]"})
    return pd.DataFrame(out)


def table_markdown(frame, experts_: dict):
    """Table 1 as text: a column per method, the expert and random policy beside them."""
    cells = frame.assign(cell=lambda f: [f"{r:.0f} [{lo:.0f}, {hi:.0f}]" for r, lo, hi in
                                         zip(f.true_return, f.low, f.high)])
    wide = cells.pivot(index=["task", "n"], columns="method", values="cell").reset_index()
    wide["expert"] = [f"{experts_['expert_return'][t]:.0f}" for t in wide.task]
    wide["random"] = [f"{experts_['random_return'][t]:.0f}" for t in wide.task]
    return wide


def metrics(frame, experts_: dict, skills=None, peaks=None) -> dict:
    """The numbers the scorecard and later stages read (n as strings, as the issue asks); with
    ``skills`` (``skill_scores``) the discriminator's held-out accuracy and loss per skill, with
    ``peaks`` (``reward_peaks``) where each reward slice peaks."""
    def nested(column):
        out = {}
        for row in frame.to_dict("records"):
            out.setdefault(row["task"], {}).setdefault(row["method"], {})[str(row["n"])] = \
                row[column]
        return out

    directed = frame[frame.task.isin(list(DIRECTION))].assign(
        directed=lambda f: [v * DIRECTION[t] for t, v in zip(f.task, f.forward_velocity)])
    out = {"true_return": nested("true_return"),
           "true_return_ci": {t: {m: {n: [lo, hi] for n, lo, hi in zip(
               g.n.astype(str), g.low, g.high)} for m, g in tg.groupby("method")}
               for t, tg in frame.groupby("task")},
           "normalised_return": nested("normalised"),
           "velocity_in_expert_direction": {
               t: {m: {str(n): v for n, v in zip(g.n, g.directed)} for m, g in tg.groupby("method")}
               for t, tg in directed.groupby("task")},
           "expert_return": experts_["expert_return"], "random_return": experts_["random_return"]}
    for key, column in (("skill_discriminator", "accuracy"), ("skill_discriminator_loss", "loss")):
        out[key] = {}
        if skills is not None and len(skills):
            for row in skills.to_dict("records"):
                method, n = ((row["method"], str(row["n"])) if row["n"] else
                             ("reference", row["method"]))
                out[key].setdefault(row["task"], {}).setdefault(method, {})[n] = row[column]
    out["reward_peak"] = peaks or {}
    out["claims"] = claims(frame, skills)
    return out


def claims(frame, skills=None) -> dict:
    """Deep RLSP against AverageFeatures at the largest observed-state set: the largest margin
    in normalised true return over the cheetah tasks run, and in the discriminator's accuracy
    (AverageFeatures' minus Deep RLSP's) over the skills run (None where not run)."""
    largest = frame[(frame.n == frame.n.max()) & frame.task.isin(list(DIRECTION))]
    margins = []
    for _, group in largest.groupby("task"):
        score = dict(zip(group.method, group.normalised))
        if {"deep_rlsp", "average_features"} <= set(score):
            margins.append(score["deep_rlsp"] - score["average_features"])
    skill_margins = []
    if skills is not None and len(skills):
        largest = skills[skills.n == skills.n.max()]
        for _, group in largest.groupby("task"):
            accuracy = dict(zip(group.method, group.accuracy))
            if {"deep_rlsp", "average_features"} <= set(accuracy):
                skill_margins.append(accuracy["average_features"] - accuracy["deep_rlsp"])
    return {"deep_rlsp_over_average_features_max": max(margins) if margins else None,
            "skill_deep_rlsp_over_average_features_max":
                max(skill_margins) if skill_margins else None}


def verdict_text(metrics_: dict, cfg: Config) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    n = str(max(cfg.n_states))
    lines = []
    for task, methods in metrics_["normalised_return"].items():
        scores = ", ".join(f"{m} {v[n]:.2f}" for m, v in methods.items() if n in v)
        line = f"- **{task}**, n = {n}, normalised true return: {scores}"
        velocities = metrics_["velocity_in_expert_direction"].get(task)
        if velocities:
            moving = {m: v[n] for m, v in velocities.items() if n in v}
            line += ("; speed in the expert's direction (m/s): "
                     + ", ".join(f"{m} {v:.2f}" for m, v in moving.items()))
        lines.append(line + ".")
    margin = metrics_["claims"]["deep_rlsp_over_average_features_max"]
    if margin is not None:
        outcome = "Deep RLSP better" if margin > 0.1 else "no clear difference"
        lines.append(f"- Deep RLSP over AverageFeatures on the cheetah, largest margin: "
                     f"{margin:+.2f} normalised ({outcome}).")
    for skill, methods in metrics_.get("skill_discriminator", {}).items():
        scores = ", ".join(f"{m} {v[n]:.2f}" for m, v in methods.items() if n in v)
        reference = ", ".join(f"{k} {v:.2f}" for k, v in methods.get("reference", {}).items())
        lines.append(f"- **{skill}**, n = {n}, discriminator accuracy (0.5 = indistinguishable "
                     f"from the skill): {scores}; references: {reference}.")
    for task, peaks in metrics_.get("reward_peak", {}).items():
        observed = peaks["observed"]
        name = REWARD_SLICES[task][1]
        at = ", ".join(f"{m} {v:+.2f}" for m, v in peaks.items() if m != "observed")
        apart = max(abs(v - observed) for m, v in peaks.items() if m != "observed")
        lines.append(f"- **{task}**: along the {name}, the rewards peak at {at}; the observed "
                     f"states sit at {observed:+.2f}. " + (
                         "A policy that maximises a reward peaking away from them leaves the "
                         "observed states (for the pendulum: tips the pole)."
                         if apart > 0.2 else "Every reward peaks at the observed states."))
    return "\n".join(lines)
