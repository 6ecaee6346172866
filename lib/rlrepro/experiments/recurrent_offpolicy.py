"""The recurrent off-policy experiment (Yang & Nguyen 2021): memoryless vs recurrent agents on
partially observable tasks, every run cached in its own folder.

A *method* is an algorithm of ``rlrepro.agents.algorithms.ALGORITHMS``, or ``<algorithm>_concat``
(the memoryless agent on a window of the last ``concat_k`` observations), or ``sac_full`` (SAC on
the fully observed version of the task: the reference every score is normalised by).
"""
from __future__ import annotations

import dataclasses

import pathlib
from dataclasses import dataclass

import numpy as np

from rlrepro.agents.algorithms import ALGORITHMS, AgentConfig
from rlrepro.agents.training import TRAIN_PER_RUN, TrainConfig, finished_result, train_seeds
from rlrepro.envs import make_env, names, task
from rlrepro.evaluation.rollouts import random_return as policy_random_return
from rlrepro.params import for_task, param, task_settings_problems
from rlrepro.runner import Launcher, run_parallel

MEMORYLESS = tuple(a for a, spec in ALGORITHMS.items() if not spec.recurrent)
RECURRENT = tuple(a for a, spec in ALGORITHMS.items() if spec.recurrent)
METHODS = (*ALGORITHMS, *(f"{a}_concat" for a in MEMORYLESS), "sac_full")
POMDPS = tuple(names(partially_observed=True))


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("policies",)
CURVES = {"learning_curves": "test return"}  # figures with their points, for `dvc plots show`


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/recurrent_offpolicy.ipynb`` (section ``recurrent_offpolicy``)."""

    tasks: list[str] = param("partially observable tasks (rlrepro.envs.pomdp)", choices=POMDPS)
    methods: list[str] = param("agents; sac_full = SAC on the fully observed task (the reference)",
                               choices=METHODS)
    task_methods: dict[str, list[str]] = param(
        "task -> the methods run on it, for tasks that run fewer than `methods` ({}: all)",
        choices=POMDPS)
    seeds: int = param("independent runs per method and task", min=1)
    workers: int = param("runs trained at once: processes here, or jobs of the Slurm array",
                         min=1, max=64, operational=True)
    seeds_per_process: int = param("seeds of a memoryless method trained together in one "
                                   "process (rlrepro.agents.training.train_seeds); recurrent "
                                   "agents train one seed per process", min=1, max=64,
                                   operational=True)
    train: TrainConfig = param("how every run trains: steps, warm-up, evaluations, checkpoints "
                               "(its defaults are the paper's)", default=TrainConfig(),
                               per_run=TRAIN_PER_RUN)
    final_evaluations: int = param("last evaluations averaged into a run's final score", min=1)
    concat_k: int = param("observations in a *_concat window (paper: 5 or 10)", min=2)
    agent: AgentConfig = param("every agent's settings (its defaults are the paper's); the "
                               "algorithm is each method's", default=AgentConfig(),
                               per_run=("algorithm",))
    task_settings: dict[str, dict] = param(
        "task -> the keys above it sets for itself (a nested one key by key), e.g. the DMC "
        "tasks' longer budget", choices=POMDPS, may_be_empty=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs "
                               "(rlrepro.runner.Launcher)", default=Launcher(), operational=True)

    def methods_of(self, env: str) -> list[str]:
        return self.task_methods.get(env, self.methods)

    def check(self):
        errors = task_settings_problems(self)
        errors += [f"'task_methods.{env}': {env!r} is not in 'tasks'"
                   for env in self.task_methods if env not in self.tasks]
        errors += [f"'task_methods.{env}': expected methods among {list(METHODS)}, got {m!r}"
                   for env, methods in self.task_methods.items() for m in methods
                   if m not in METHODS]
        if any("sac_full" not in self.methods_of(env) for env in self.tasks):
            errors.append("'methods': must include sac_full, the reference scores are normalised by")
        if errors:
            return errors
        budgets = {}
        for env in self.tasks:
            budgets.setdefault(task(env).full_state, set()).add(self.budget(env))
        errors += [f"'train.total_steps': tasks sharing the full-state reference {full!r} share "
                   f"its run, so they need one budget, got {sorted(steps)}"
                   for full, steps in budgets.items() if len(steps) > 1]
        if self.final_evaluations * self.train.eval_every > min(map(self.budget, self.tasks)):
            errors.append("'final_evaluations': the last final_evaluations * train.eval_every "
                          "steps must fit in every task's budget")
        return errors

    def budget(self, env: str) -> int:
        """The environment steps of each run on ``env``."""
        return for_task(self, env).train.total_steps


def agent_config(cfg: Config, method: str) -> AgentConfig:
    return dataclasses.replace(cfg.agent, algorithm=method.removesuffix("_concat")
                               .removesuffix("_full"))


def train_config(cfg: Config, method: str, env: str) -> TrainConfig:
    return dataclasses.replace(for_task(cfg, env).train,
                               env=task(env).full_state if method == "sac_full" else env,
                               concat=cfg.concat_k if method.endswith("_concat") else 0)


def run_dir(data_dir, profile, env, method, seed) -> pathlib.Path:
    """A run's folder. The full-state reference of several partially observed versions of one
    task (pendulum_p, pendulum_v, ...) is one run, kept under the full-state task's name."""
    if method == "sac_full":
        env = task(env).full_state
    return (pathlib.Path(data_dir) / "policies" / "recurrent_offpolicy" / profile / env / method
            / f"seed{seed}")


def jobs(cfg: Config, profile: str, data_dir="data"):
    """The training jobs, longest (recurrent) first: one per group of run folders trained in one
    process (up to ``seeds_per_process`` seeds of a memoryless method, one recurrent seed).
    ``tasks`` lists the tasks whose tables a run enters."""
    runs = {}
    for env in cfg.tasks:
        for method in cfg.methods_of(env):
            for seed in range(cfg.seeds):
                folder = str(run_dir(data_dir, profile, env, method, seed))
                run = runs.setdefault(folder, dict(env=env, method=method, seed=seed, tasks=[]))
                run["tasks"].append(env)
    groups = {}
    for folder, run in runs.items():
        algorithm = agent_config(cfg, run["method"]).algorithm
        size = 1 if ALGORITHMS[algorithm].recurrent else cfg.seeds_per_process
        key = (run["env"], run["method"], run["seed"] // size)
        group = groups.setdefault(key, dict(env=run["env"], method=run["method"], seeds=[],
                                            folders=[], tasks=run["tasks"], cfg=cfg))
        group["seeds"].append(run["seed"])
        group["folders"].append(folder)
    return sorted(groups.values(), key=lambda job: job["method"] not in RECURRENT)


def run(env, method, seeds, folders, tasks, cfg, report=None):
    """Train one group of runs (or load them from their ``folders``); returns each run's learning
    curve and score, once per task in ``tasks``. ``report(n)`` is told the environment steps
    as they are done."""
    results = train_seeds(folders, agent_config(cfg, method), train_config(cfg, method, env),
                          seeds, progress=False, report=report)
    rows = []
    for seed, result in zip(seeds, results):
        curve = result["curve"]
        final = float(np.mean([c["return"] for c in curve[-cfg.final_evaluations:]]))
        rows += [{"env": name, "method": method, "seed": seed, "final": final,
                  "steps": [c["step"] for c in curve], "returns": [c["return"] for c in curve],
                  "seconds": result["seconds"]} for name in tasks]
    return rows


def finished(job) -> bool:
    """Whether every run of a job has its result for this configuration and code (the check
    ``train_seeds`` makes before loading it): such a job is loaded here, never submitted."""
    cfg, method, env = job["cfg"], job["method"], job["env"]
    agent, train = agent_config(cfg, method), train_config(cfg, method, env)
    return all(finished_result(folder, agent, train, seed) is not None
               for folder, seed in zip(job["folders"], job["seeds"]))


def train_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every (task, method, seed) result, training what is not already trained in
    ``cfg.workers`` processes, or Slurm jobs (``cfg.launcher``); one progress bar counts
    environment steps over all runs (or finished jobs)."""
    todo = jobs(cfg, profile, data_dir)
    total = sum(cfg.budget(job["env"]) * len(job["seeds"]) for job in todo)
    results = run_parallel(run, todo, workers=cfg.workers, launcher=cfg.launcher,
                           desc="training", total=total, unit="step", finished=finished,
                           name=lambda j: f"{j['method']} on {j['env']}, seeds {j['seeds']}")
    return [row for rows in results for row in rows]


def random_return(env: str, episodes: int = 10, seed: int = 0) -> float:
    """Mean return of uniformly random actions (the 0 of the normalised score)."""
    return policy_random_return(make_env(env), episodes, seed)


def normalise(value, random, reference):
    """0 = random actions, 1 = SAC with the full state; NaN when that SAC is no better than
    random (e.g. the seconds-long smoke runs), where the scale is meaningless."""
    if reference <= random:
        return value * float("nan")
    return (value - random) / (reference - random)


def summarize(results: list[dict], cfg: Config, reps: int = 2000):
    """Final scores per task and method over seeds, normalised scores, and the numbers behind
    the paper's claims. Returns ``(runs DataFrame, metrics dict)``.

    ``metrics["final_return"][env][method]`` and ``metrics["normalised"][env][method]`` hold
    ``point``, ``low`` and ``high`` (IQM and 95% CI with >= 5 seeds, else mean and range, see
    ``rlrepro.evaluation.statistics``); the first also every seed's score (``runs``).
    """
    import pandas as pd

    from rlrepro.evaluation.statistics import aggregate, aggregate_label

    runs = pd.DataFrame([{k: r[k] for k in ("env", "method", "seed", "final", "seconds")}
                         for r in results])
    random = {env: random_return(env, cfg.train.eval_episodes) for env in cfg.tasks}
    final, normalised = {}, {}
    for env, rows in runs.groupby("env"):
        scores = {m: g["final"].to_numpy() for m, g in rows.groupby("method")}
        estimates = aggregate(scores, reps=reps)
        reference = estimates["sac_full"][0]
        runs.loc[rows.index, "normalised"] = normalise(rows["final"], random[env], reference)
        final[env] = {m: {"point": p, "low": lo, "high": hi, "runs": scores[m].tolist()}
                      for m, (p, lo, hi) in estimates.items()}
        normalised[env] = {m: {k: normalise(v[k], random[env], reference)
                               for k in ("point", "low", "high")} for m, v in final[env].items()}
    metrics = {"final_return": final, "normalised": normalised, "random_return": random,
               "aggregate": aggregate_label(cfg.seeds), "claims": _claims(runs, normalised)}
    return runs, metrics


# How each claim's per-task values combine over the tasks: the worst case counts.
CLAIM_OVER_TASKS = {"rsac_normalised_min": np.min, "recurrent_margin_min": np.min,
                    "memoryless_normalised_max": np.max, "concat_normalised_min": np.min,
                    "rdpg_rtd3_worst_run": np.min, "rsac_most_reliable": np.mean}


def _claims(runs, normalised):
    """Numbers behind the paper's claims over the tasks that ran the methods involved; None
    where the normalised scale is undefined (reference no better than random)."""
    worst = runs.groupby(["env", "method"])["normalised"].min()
    per_task = {name: [] for name in CLAIM_OVER_TASKS}
    for env, scores in normalised.items():
        n = {m: v["point"] for m, v in scores.items()}
        memoryless = [n[m] for m in MEMORYLESS if m in n]
        concat = [v for m, v in n.items() if m.endswith("_concat")]
        others = [worst[env, m] for m in ("rdpg", "rtd3") if m in n]
        if "rsac" in n:
            per_task["rsac_normalised_min"].append(n["rsac"])
            if memoryless:
                per_task["recurrent_margin_min"].append(n["rsac"] - max(memoryless))
            if others:
                per_task["rsac_most_reliable"].append(worst[env, "rsac"] >= max(others) - 0.05)
        if memoryless:
            per_task["memoryless_normalised_max"].append(max(memoryless))
        if concat:
            per_task["concat_normalised_min"].append(max(concat))
        if others:
            per_task["rdpg_rtd3_worst_run"].append(min(others))
    claims = {k: float(CLAIM_OVER_TASKS[k](v)) for k, v in per_task.items() if v}
    return {k: None if np.isnan(v) else v for k, v in claims.items()}


def score_table(metrics: dict, methods: list[str], key="normalised"):
    """``(values, annotations)`` DataFrames, methods x tasks: the point estimate, and
    "point [low, high]" as text (methods a task did not run are left empty)."""
    import pandas as pd

    scores = metrics[key]
    digits = 2 if key == "normalised" else 0
    values = pd.DataFrame({env: {m: v["point"] for m, v in s.items()} for env, s in scores.items()})
    def cell(v):
        if np.isnan(v["point"]):
            return "n/a"
        return f"{v['point']:.{digits}f}\n[{v['low']:.{digits}f}, {v['high']:.{digits}f}]"

    text = pd.DataFrame({env: {m: cell(v) for m, v in s.items()} for env, s in scores.items()})
    return values.reindex(methods), text.reindex(methods).fillna("")


def verdict_text(metrics: dict, cfg: Config) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    lines = [f"Scores are the {metrics['aggregate']} of each method's final return, normalised "
             "per task (0 = uniformly random actions, 1 = SAC given the full state)."]
    for env, scores in metrics["normalised"].items():
        points = {m: v["point"] for m, v in scores.items()}
        if any(np.isnan(v) for v in points.values()):
            lines.append(f"- **{env}**: SAC with the full state is no better than random actions "
                         "in this run, so normalised scores are undefined (too short a run to "
                         "judge any claim).")
            continue
        ranked = ", ".join(f"{m} {v:.2f}" for m, v in sorted(points.items(), key=lambda kv: -kv[1])
                           if m != "sac_full")
        memoryless = [m for m in MEMORYLESS if m in points]
        recurrent = [m for m in RECURRENT if m in points]
        line = f"- **{env}**: {ranked}."
        if memoryless and recurrent:
            best_memoryless = max(memoryless, key=points.get)
            worst_recurrent = min(recurrent, key=points.get)
            relation = "above" if points[worst_recurrent] > points[best_memoryless] else "not above"
            line += (f" The weakest recurrent agent ({worst_recurrent}, {points[worst_recurrent]:.2f})"
                     f" is {relation} the best memoryless one ({best_memoryless}, "
                     f"{points[best_memoryless]:.2f}).")
        concat = [m for m in points if m.endswith("_concat")]
        if concat and "rsac" in points:
            best = max(concat, key=points.get)
            gap = points["rsac"] - points[best]
            line += (f" RSAC is {abs(gap):.2f} {'above' if gap >= 0 else 'below'} the best "
                     f"window of the last {cfg.concat_k} observations ({best}).")
        lines.append(line)
    if cfg.seeds < 5:
        lines.append(f"With {cfg.seeds} seeds these are means with the range of the seeds, not "
                     "IQMs with confidence intervals: differences of a few hundredths are noise.")
    return "\n".join(lines)
