"""The GAIL baseline of ``notebooks/gail_baseline.ipynb`` (Lindner et al., ICLR 2021, Table 1):
GAIL sees state-action demonstrations of the same experts whose states Deep RLSP sees, 1, 10
or 50 transitions of one expert episode (the experts stage's ``demonstration_n<n>_seed<s>``),
and its policy is scored by the task's TRUE return, beside Deep RLSP and its ablations (read
from ``data/metrics/mujoco_rlsp.json``), the expert and the random policy.

Each (task, n, demonstration seed) is one run folder of ``imitation.gail.train_gail`` in
``data/policies/gail_baseline/<profile>/<task>/n<n>_seed<s>/``: cached, resumable.
"""
from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlrepro.demonstrations import TASKS, demonstration_file, expert_scores
from rlrepro.demonstrations import load as load_transitions
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import episode_seed, play
from rlrepro.evaluation.statistics import mean_interval
from rlrepro.imitation.gail import GAILConfig, load_policy, train_gail
from rlrepro.params import for_task, param, task_settings_problems
from rlrepro.runner import Launcher, run_parallel
from rlrepro.runs import POLICY, RESULT

FINAL_OFFSET = 8 * 10**6  # episode seeds of the final scores


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("policies",)
READS = ("data/metrics/mujoco_experts.json", "data/datasets/mujoco_experts",
         "data/metrics/mujoco_rlsp.json")


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/gail_baseline.ipynb`` (section ``gail_baseline``)."""

    tasks: list[str] = param("tasks whose expert's demonstrations GAIL imitates",
                             choices=TASKS)
    n_transitions: list[int] = param("demonstration sizes (paper: 1, 10, 50 transitions of one "
                                     "expert episode; the experts stage's demonstrations)", min=1)
    seeds: int = param("demonstration seeds per size, each a GAIL run (paper: 3)", min=1)
    workers: int = param("processes at once, or jobs of the Slurm array", min=1, max=64,
                         operational=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs",
                               default=Launcher(), operational=True)
    gail: GAILConfig = param("GAIL and its PPO generator (their defaults: imitation's)",
                             default=GAILConfig())
    task_settings: dict[str, dict] = param("task -> the keys above it sets for itself (a nested "
                                           "one key by key), e.g. its generator's steps",
                                           choices=TASKS, may_be_empty=True)
    final_episodes: int = param("deterministic episodes scoring each final policy (>= 20 for "
                                "an interval)", min=1)

    def check(self):
        errors = task_settings_problems(self)
        for task in self.tasks if not errors else ():
            gail = for_task(self, task).gail
            if gail.disc_batch_size % gail.disc_minibatch_size:
                errors.append(f"'gail.disc_minibatch_size' of {task}: "
                              f"{gail.disc_minibatch_size} must divide disc_batch_size "
                              f"{gail.disc_batch_size}")
        return errors


def run_folder(data_dir, profile, task, n, seed) -> pathlib.Path:
    return (pathlib.Path(data_dir) / "policies" / "gail_baseline" / profile / task /
            f"n{n}_seed{seed}")


def demonstrations(profile, task, n, seed, data_dir="data"):
    """The experts stage's demonstration of ``n`` transitions, checked against the task's
    shapes (a ValueError naming the file and the expected shape otherwise)."""
    path = demonstration_file(data_dir, profile, task, n, seed)
    return load_transitions(path, task, "demonstration", n), path


def check_inputs(cfg: Config, profile: str, data_dir="data"):
    """Every demonstration file the run needs is there and of the right task and shape, and
    every task has an expert score, before any training."""
    expert_scores(data_dir, cfg.tasks)
    for task in cfg.tasks:
        for n in cfg.n_transitions:
            for seed in range(cfg.seeds):
                demonstrations(profile, task, n, seed, data_dir)


def run_one(task, n, seed, cfg: Config, profile, data_dir) -> dict:
    """One GAIL run (trained, resumed or loaded): its round log and final evaluation."""
    demos, _ = demonstrations(profile, task, n, seed, data_dir)
    result = train_gail(demos, lambda: make_env(task), for_task(cfg, task).gail, seed,
                        run_folder(data_dir, profile, task, n, seed), task=task, progress=False)
    return {"task": task, "n": n, "seed": seed, "log": result["log"],
            "seconds": result["seconds"]}


def finished(job) -> bool:
    """Whether the job's run folder holds a finished result (then it only loads)."""
    folder = run_folder(job["data_dir"], job["profile"], job["task"], job["n"], job["seed"])
    return (folder / RESULT).is_file() and (folder / POLICY).is_file()


def run_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every run's row, training what is not trained yet (the longest first)."""
    jobs = [dict(task=task, n=n, seed=seed, cfg=cfg, profile=profile, data_dir=str(data_dir))
            for task in sorted(cfg.tasks, key=lambda t: -for_task(cfg, t).gail.total_steps)
            for n in cfg.n_transitions for seed in range(cfg.seeds)]
    return run_parallel(run_one, jobs, workers=cfg.workers, launcher=cfg.launcher,
                        desc="GAIL runs", name=lambda j: f"{j['task']} n={j['n']} seed {j['seed']}",
                        finished=finished)


def score(cfg: Config, profile: str, task, n, seed, data_dir="data") -> dict:
    """``final_episodes`` deterministic episodes of one GAIL policy on the true task."""
    folder = run_folder(data_dir, profile, task, n, seed)
    policy = load_policy(folder, make_env(task))
    seeds = [episode_seed(seed, FINAL_OFFSET + k) for k in range(cfg.final_episodes)]
    return play(policy, task, seeds)


def table(cfg: Config, profile: str, runs, experts_: dict, data_dir="data"):
    """One row per (task, n): GAIL's true return over all final episodes of its seeds (mean and
    95% bootstrap interval), normalised (0 random, 1 expert)."""
    out = []
    for (task, n), group in runs.groupby(["task", "n"]):
        returns = np.concatenate([score(cfg, profile, task, n, seed, data_dir)["returns"]
                                  for seed in group.seed])
        mean, low, high = (float(v[0]) for v in mean_interval({"x": returns[:, None]})["x"])
        expert, random = experts_["expert_return"][task], experts_["random_return"][task]
        out.append({"task": task, "n": int(n), "method": "gail", "true_return": mean,
                    "low": low, "high": high, "normalised": (mean - random) / (expert - random)})
    return pd.DataFrame(out)


def side_by_side(frame, rlsp_metrics: dict | None, experts_: dict) -> pd.DataFrame:
    """GAIL next to Deep RLSP, AverageFeatures and Waypoints (``data/metrics/mujoco_rlsp.json``,
    at the same n where it has them), the expert and random: one row per (task, n), each cell
    the true return with its 95% interval."""
    rows = []
    for row in frame.to_dict("records"):
        task, n = row["task"], str(row["n"])
        cells = {"gail": f"{row['true_return']:.0f} [{row['low']:.0f}, {row['high']:.0f}]"}
        if rlsp_metrics:
            for method, values in rlsp_metrics["true_return"].get(task, {}).items():
                if n in values:
                    low, high = rlsp_metrics["true_return_ci"][task][method][n]
                    cells[method] = f"{values[n]:.0f} [{low:.0f}, {high:.0f}]"
        rows.append({"task": task, "n": row["n"], **cells,
                     "expert": f"{experts_['expert_return'][task]:.0f}",
                     "random": f"{experts_['random_return'][task]:.0f}"})
    return pd.DataFrame(rows)


def rlsp_metrics(data_dir) -> dict | None:
    """The Deep RLSP stage's metrics, or None if that stage has not run (GAIL alone then)."""
    path = pathlib.Path(data_dir) / "metrics" / "mujoco_rlsp.json"
    return json.loads(path.read_text()) if path.is_file() else None


def metrics(frame, experts_: dict, rlsp: dict | None) -> dict:
    """The numbers the scorecard reads (n as strings, as the issue asks)."""
    nested = lambda column: {t: {"gail": {str(n): v for n, v in zip(g.n, g[column])}}  # noqa: E731
                             for t, g in frame.groupby("task")}
    out = {"true_return": nested("true_return"),
           "true_return_ci": {t: {"gail": {str(n): [lo, hi] for n, lo, hi in
                                           zip(g.n, g.low, g.high)}}
                              for t, g in frame.groupby("task")},
           "normalised_return": nested("normalised"),
           "expert_return": experts_["expert_return"], "random_return": experts_["random_return"]}
    out["claims"] = claims(frame, rlsp, experts_)
    return out


def claims(frame, rlsp: dict | None, experts_: dict) -> dict:
    """The paper's pattern: GAIL from a single transition does not recover the task (its best
    normalised return over tasks at n = 1), and the largest normalised margin of Deep RLSP over
    GAIL at the smallest n both ran (None where not run)."""
    single = frame[frame.n == 1]
    gail_one = float(single.normalised.max()) if len(single) else None
    margins = []
    if rlsp:
        for row in frame.to_dict("records"):
            value = rlsp["true_return"].get(row["task"], {}).get("deep_rlsp", {}).get(str(row["n"]))
            if value is not None and row["n"] == frame.n.min():
                expert = experts_["expert_return"][row["task"]]
                random = experts_["random_return"][row["task"]]
                margins.append((value - random) / (expert - random) - row["normalised"])
    return {"gail_single_transition_best": gail_one,
            "gail_single_transition_fails": None if gail_one is None else 1.0 - gail_one,
            "deep_rlsp_over_gail_smallest_n_max": max(margins) if margins else None}


def verdict_text(metrics_: dict, rlsp: dict | None) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    lines = []
    for task, values in metrics_["normalised_return"].items():
        gail = ", ".join(f"n = {n}: {v:.2f}" for n, v in values["gail"].items())
        lines.append(f"- **{task}**, GAIL's normalised true return (0 random, 1 expert): {gail}.")
    claims_ = metrics_["claims"]
    if claims_["gail_single_transition_best"] is not None:
        best = claims_["gail_single_transition_best"]
        outcome = ("it does not recover the task" if best < 0.5 else
                   "it recovers the task somewhere")
        lines.append(f"- From one transition GAIL reaches at best {best:.2f} of the expert's "
                     f"normalised return ({outcome}).")
    if claims_["deep_rlsp_over_gail_smallest_n_max"] is not None:
        lines.append(f"- Deep RLSP over GAIL at the smallest n, largest margin: "
                     f"{claims_['deep_rlsp_over_gail_smallest_n_max']:+.2f} normalised.")
    elif rlsp is None:
        lines.append("- No Deep RLSP metrics yet (run the mujoco_rlsp stage): GAIL alone.")
    return "\n".join(lines)
