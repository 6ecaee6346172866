"""The GAIL baseline of ``notebooks/gail_baseline.ipynb`` (Lindner et al., ICLR 2021, Table 1):
GAIL sees state-action demonstrations of the same experts whose states Deep RLSP sees, 1, 10
or 50 transitions of one expert episode (the experts stage's ``demonstration_n<n>_seed<s>``),
and its policy is scored by the task's TRUE return, beside Deep RLSP and its ablations (read
from ``data/results/mujoco_rlsp.json``), the expert and the random policy.

Two checks of what GAIL's numbers mean, per task (``task_settings``): the *control*, GAIL on an
uninformative demonstration (one transition of random actions long after a fall: a fallen
pendulum), and *rewards* beside imitation's ``-log(1 - D)``, which pays every step it survives
(``imitation.gail``): the logit, which can be negative.

Each (task, demonstration, seed, reward) is one run folder of ``imitation.gail.train_gail`` in
``data/policies/gail_baseline/<profile>/<task>/<n<n> or control>_seed<s>[_<reward>]/``: cached,
resumable. A row's interval is over its training seeds (one per demonstration seed).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from dataclasses import dataclass

import gymnasium as gym

import numpy as np
import pandas as pd

from rlrepro.demonstrations import (TASKS, Transitions, TransitionRecorder, demonstration_file,
                                    expert_scores, transitions)
from rlrepro.demonstrations import load as load_transitions
from rlrepro.envs import make_env, spaces
from rlrepro.evaluation.rollouts import UniformPolicy, episode_seed, play, run_episodes
from rlrepro.evaluation.statistics import seed_interval
from rlrepro.imitation.gail import REWARDS, GAILConfig, load_policy, train_gail
from rlrepro.params import for_task, param, task_settings_problems
from rlrepro.runner import Launcher, run_parallel
from rlrepro.runs import POLICY, RESULT

FINAL_OFFSET, CONTROL_OFFSET = 8 * 10**6, 9 * 10**6  # episode seeds: final scores, control
CONTROL = "control"  # the uninformative demonstration, beside the sizes n
CONTROL_STEPS = 100  # random steps (termination ignored) before the control's transition
FAITHFUL = "gail"  # imitation v0.1.1's reward: its runs keep the plain folder and method names


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("policies",)
CURVES = {"learning_curves": "true return of GAIL's generator"}  # figures with their points, for `dvc plots show`
READS = ("data/results/mujoco_experts.json", "data/datasets/mujoco_experts",
         "data/results/mujoco_rlsp.json")


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
    gail: GAILConfig = param("GAIL and its PPO generator (their defaults: imitation's); its "
                             "reward is set per run from rewards", default=GAILConfig(),
                             per_run=("reward",))
    rewards: tuple[str, ...] = param("the generator's rewards, one run each (gail: imitation "
                               "v0.1.1's -log(1 - D), the original's, which pays every step "
                               "survived; airl: the logit, negative where the discriminator "
                               "rejects a step, so surviving earns nothing by itself)",
                               default=(FAITHFUL,), choices=tuple(REWARDS))
    control: bool = param("also train on an uninformative demonstration: one transition of "
                          "random actions after CONTROL_STEPS of them with termination "
                          "ignored (the pendulum's pole lies fallen); GAIL's result means "
                          "imitation only where the control stays low", default=False)
    task_settings: dict[str, dict] = param("task -> the keys above it sets for itself (a nested "
                                           "one key by key), e.g. its generator's steps",
                                           choices=TASKS, may_be_empty=True)
    final_episodes: int = param("deterministic episodes scoring each final policy (>= 20 for "
                                "an interval)", min=1)

    def check(self):
        errors = task_settings_problems(self)
        for task in self.tasks if not errors else ():
            settings = for_task(self, task)
            gail = settings.gail
            if FAITHFUL not in settings.rewards:
                errors.append(f"'rewards' of {task}: must include {FAITHFUL!r}, the original's "
                              f"(the others are compared with it), got {settings.rewards}")
            if gail.disc_batch_size % gail.disc_minibatch_size:
                errors.append(f"'gail.disc_minibatch_size' of {task}: "
                              f"{gail.disc_minibatch_size} must divide disc_batch_size "
                              f"{gail.disc_batch_size}")
        return errors


def run_folder(data_dir, profile, task, demonstration, seed, reward=FAITHFUL) -> pathlib.Path:
    """``demonstration``: a size n or CONTROL."""
    name = (CONTROL if demonstration == CONTROL else f"n{demonstration}") + f"_seed{seed}"
    return (pathlib.Path(data_dir) / "policies" / "gail_baseline" / profile / task /
            (name if reward == FAITHFUL else f"{name}_{reward}"))


def method_name(reward: str) -> str:
    """The method's name in tables and metrics: gail, or gail_<reward> for the variants."""
    return FAITHFUL if reward == FAITHFUL else f"gail_{reward}"


def demonstrations(profile, task, demonstration, seed, data_dir="data") -> Transitions:
    """The experts stage's demonstration of ``demonstration`` transitions, checked against the
    task's shapes (a ValueError naming the file and the expected shape otherwise), or the
    control's (``uninformative_demonstration``)."""
    if demonstration == CONTROL:
        return uninformative_demonstration(task, seed)
    path = demonstration_file(data_dir, profile, task, demonstration, seed)
    return load_transitions(path, task, "demonstration", demonstration)


def uninformative_demonstration(task: str, seed: int) -> Transitions:
    """The control's demonstration: the last of CONTROL_STEPS + 1 steps of uniformly random
    actions with termination ignored, from ``reset`` (on the pendulum the pole has fallen to
    its hinge's limit by then): a demonstration of nothing the task asks for."""
    env = TransitionRecorder(gym.wrappers.TimeLimit(make_env(task, ignore_termination=True),
                                                    CONTROL_STEPS + 1))
    run_episodes(UniformPolicy(spaces(task)[1][0], seed), [env],
                 [episode_seed(seed, CONTROL_OFFSET)])
    env.close()
    return transitions(task, "demonstration", env.rows[-1:])


# What this section needs of another's outputs (params.cross_check): the demonstrations.
NEEDS = {"mujoco_experts": {"tasks": "tasks", "n_transitions": "demonstration_lengths",
                            "seeds": "demonstration_seeds"}}


def check_inputs(cfg: Config, profile: str, data_dir="data"):
    """Every demonstration file the run needs is there and of the right task and shape, and
    every task has an expert score, before any training."""
    expert_scores(data_dir, cfg.tasks)
    for task in cfg.tasks:
        for n in cfg.n_transitions:
            for seed in range(cfg.seeds):
                demonstrations(profile, task, n, seed, data_dir)


def jobs(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every (task, demonstration, seed, reward) run, the longest tasks first."""
    out = []
    for task in sorted(cfg.tasks, key=lambda t: -for_task(cfg, t).gail.total_steps):
        settings = for_task(cfg, task)
        for demonstration in [*cfg.n_transitions, *([CONTROL] if settings.control else [])]:
            out += [dict(task=task, demonstration=demonstration, seed=seed, reward=reward,
                         cfg=cfg, profile=profile, data_dir=str(data_dir))
                    for seed in range(cfg.seeds) for reward in settings.rewards]
    return out


def run_one(task, demonstration, seed, reward, cfg: Config, profile, data_dir) -> dict:
    """One GAIL run (trained, resumed or loaded): its round log and final evaluation."""
    gail = dataclasses.replace(for_task(cfg, task).gail, reward=reward)
    result = train_gail(demonstrations(profile, task, demonstration, seed, data_dir),
                        lambda: make_env(task), gail, seed,
                        run_folder(data_dir, profile, task, demonstration, seed, reward),
                        task=task, progress=False)
    return {"task": task, "demonstration": str(demonstration), "seed": seed,
            "method": method_name(reward), "reward": reward, "log": result["log"],
            "seconds": result["seconds"]}


def finished(job) -> bool:
    """Whether the job's run folder holds a finished result (then it only loads)."""
    folder = run_folder(job["data_dir"], job["profile"], job["task"], job["demonstration"],
                        job["seed"], job["reward"])
    return (folder / RESULT).is_file() and (folder / POLICY).is_file()


def run_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every run's row, training what is not trained yet."""
    return run_parallel(run_one, jobs(cfg, profile, data_dir), workers=cfg.workers,
                        launcher=cfg.launcher, desc="GAIL runs",
                        name=lambda j: (f"{j['task']} {j['demonstration']} seed {j['seed']} "
                                        f"{j['reward']}"),
                        finished=finished)


def score(cfg: Config, profile: str, task, demonstration, seed, reward, data_dir="data") -> dict:
    """``final_episodes`` deterministic episodes of one GAIL policy on the true task."""
    folder = run_folder(data_dir, profile, task, demonstration, seed, reward)
    policy = load_policy(folder, make_env(task))
    seeds = [episode_seed(seed, FINAL_OFFSET + k) for k in range(cfg.final_episodes)]
    return play(policy, task, seeds)


def table(cfg: Config, profile: str, runs, experts_: dict, data_dir="data"):
    """One row per (task, demonstration, method): the mean true return of each training seed
    over its final episodes, their mean and interval over the seeds (``seed_interval``: the
    range below 5 seeds), normalised (0 random, 1 expert)."""
    out = []
    for (task, demonstration, method, reward), group in runs.groupby(
            ["task", "demonstration", "method", "reward"], sort=False):
        key = int(demonstration) if demonstration != CONTROL else CONTROL
        per_seed = [float(np.mean(score(cfg, profile, task, key, seed, reward, data_dir)["returns"]))
                    for seed in group.seed]
        mean, low, high = seed_interval(per_seed)
        expert, random = experts_["expert_return"][task], experts_["random_return"][task]
        out.append({"task": task, "demonstration": demonstration, "method": method,
                    "n": 1 if key == CONTROL else key, "true_return": mean, "low": low,
                    "high": high, "seed_returns": per_seed,
                    "normalised": (mean - random) / (expert - random)})
    return pd.DataFrame(out)


def side_by_side(frame, rlsp_metrics: dict | None, experts_: dict) -> pd.DataFrame:
    """One row per (task, demonstration): each GAIL method, then Deep RLSP, AverageFeatures and
    Waypoints (``data/results/mujoco_rlsp.json``, at the same n where it has them), the expert
    and random; each cell the true return with its interval."""
    rows = {}
    for row in frame.to_dict("records"):
        task, demonstration = row["task"], row["demonstration"]
        cells = rows.setdefault((task, demonstration), {"task": task,
                                                        "demonstration": demonstration})
        cells[row["method"]] = f"{row['true_return']:.0f} [{row['low']:.0f}, {row['high']:.0f}]"
    for (task, demonstration), cells in rows.items():
        if rlsp_metrics and demonstration != CONTROL:
            for method, values in rlsp_metrics["true_return"].get(task, {}).items():
                if demonstration in values:
                    low, high = rlsp_metrics["true_return_ci"][task][method][demonstration]
                    cells[method] = f"{values[demonstration]:.0f} [{low:.0f}, {high:.0f}]"
        cells |= {"expert": f"{experts_['expert_return'][task]:.0f}",
                  "random": f"{experts_['random_return'][task]:.0f}"}
    return pd.DataFrame(list(rows.values())).fillna("")


def rlsp_metrics(data_dir) -> dict | None:
    """The Deep RLSP stage's metrics, or None if that stage has not run (GAIL alone then)."""
    path = pathlib.Path(data_dir) / "results" / "mujoco_rlsp.json"
    return json.loads(path.read_text()) if path.is_file() else None


def metrics(frame, experts_: dict, rlsp: dict | None) -> dict:
    """The numbers the scorecard reads: ``[task][method][demonstration]``, the demonstration
    a size n as a string or ``control``."""
    def nested(column):
        out = {}
        for row in frame.to_dict("records"):
            out.setdefault(row["task"], {}).setdefault(row["method"], {})[
                row["demonstration"]] = row[column]
        return out

    frame = frame.assign(ci=[[low, high] for low, high in zip(frame.low, frame.high)])
    out = {"true_return": nested("true_return"), "true_return_ci": nested("ci"),
           "seed_returns": nested("seed_returns"), "normalised_return": nested("normalised"),
           "expert_return": experts_["expert_return"], "random_return": experts_["random_return"]}
    out["claims"] = claims(frame, rlsp, experts_)
    return out


def claims(frame, rlsp: dict | None, experts_: dict) -> dict:
    """The paper's pattern: GAIL from a single transition does not recover the task (its best
    normalised return at n = 1 over the tasks where a score means imitation: those whose
    control, if run, stays below 0.5), and the largest normalised margin of Deep RLSP over GAIL
    at the smallest n both ran; and the control: GAIL on the uninformative demonstration stays
    low (None where not run)."""
    faithful = frame[frame.method == FAITHFUL]
    sizes = faithful[faithful.demonstration != CONTROL]
    control = faithful[faithful.demonstration == CONTROL]
    uninformative = set(control[control.normalised >= 0.5].task)
    single = sizes[sizes.demonstration == "1"]
    informative = single[~single.task.isin(uninformative)]
    gail_one = float(informative.normalised.max()) if len(informative) else None
    margins = []
    smallest = str(min(sizes.n)) if len(sizes) else None
    if rlsp:
        for row in sizes[sizes.demonstration == smallest].to_dict("records"):
            value = rlsp["true_return"].get(row["task"], {}).get("deep_rlsp", {}).get(smallest)
            if value is not None:
                expert = experts_["expert_return"][row["task"]]
                random = experts_["random_return"][row["task"]]
                margins.append((value - random) / (expert - random) - row["normalised"])
    control_best = float(control.normalised.max()) if len(control) else None
    return {"gail_single_transition_best": gail_one,
            "gail_single_transition_best_all_tasks": (float(single.normalised.max())
                                                      if len(single) else None),
            "tasks_where_gail_scores_survival": sorted(uninformative),
            "gail_single_transition_fails": None if gail_one is None else 1.0 - gail_one,
            "deep_rlsp_over_gail_smallest_n_max": max(margins) if margins else None,
            "gail_control_best": control_best,
            "gail_control_fails": None if control_best is None else 1.0 - control_best}


def verdict_text(metrics_: dict, rlsp: dict | None) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    lines = []
    for task, methods in metrics_["normalised_return"].items():
        for method, values in methods.items():
            cells = ", ".join(f"{'n = ' + d if d != CONTROL else d}: {v:.2f}"
                              for d, v in values.items())
            lines.append(f"- **{task}**, {method}'s normalised true return (0 random, 1 "
                         f"expert), mean over seeds: {cells}.")
    claims_ = metrics_["claims"]
    if claims_["gail_single_transition_best"] is not None:
        best = claims_["gail_single_transition_best"]
        outcome = ("it does not recover the task" if best < 0.5 else
                   "it recovers the task somewhere")
        excluded = claims_["tasks_where_gail_scores_survival"]
        lines.append(f"- From one transition GAIL reaches at best {best:.2f} of the expert's "
                     f"normalised return ({outcome})" + (
                         f", over the tasks where its control stays low; left out: "
                         f"{', '.join(excluded)}, where the uninformative demonstration scores "
                         "as high (all tasks: "
                         f"{claims_['gail_single_transition_best_all_tasks']:.2f})"
                         if excluded else "") + ".")
    if claims_["gail_control_best"] is not None:
        control = claims_["gail_control_best"]
        lines.append(f"- On the uninformative demonstration (the control) GAIL reaches "
                     f"{control:.2f}: " + (
                         "as high as from the expert's transitions, so a high score there is no "
                         "evidence of imitation (the reward pays every step survived)"
                         if control >= 0.5 else "low, so its scores from the expert's "
                         "transitions are imitation") + ".")
    if claims_["deep_rlsp_over_gail_smallest_n_max"] is not None:
        lines.append(f"- Deep RLSP over GAIL at the smallest n, largest margin: "
                     f"{claims_['deep_rlsp_over_gail_smallest_n_max']:+.2f} normalised.")
    elif rlsp is None:
        lines.append("- No Deep RLSP metrics yet (run the mujoco_rlsp stage): GAIL alone.")
    return "\n".join(lines)
