"""The recurrent off-policy experiment (Yang & Nguyen 2021): memoryless vs recurrent agents on
partially observable tasks, every run cached in its own folder.

A *method* is an algorithm of ``rlrepro.agents.algorithms.ALGORITHMS``, or ``<algorithm>_concat``
(the memoryless agent on a window of the last ``concat_k`` observations), or ``sac_full`` (SAC on
the fully observed version of the task: the reference every score is normalised by).
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np

from rlrepro.agents.algorithms import ALGORITHMS, AgentConfig
from rlrepro.agents.training import TrainConfig, UniformPolicy, evaluate, train
from rlrepro.envs.pomdp import ENVS, FULL_STATE, make_env
from rlrepro.params import param

MEMORYLESS = ("ddpg", "td3", "sac")
RECURRENT = ("rdpg", "rtd3", "rsac", "rsac_s")
METHODS = (*ALGORITHMS, *(f"{a}_concat" for a in MEMORYLESS), "sac_full")
POMDPS = tuple(sorted(FULL_STATE))


@dataclass(frozen=True)
class RecurrentOffPolicyConfig:
    """Parameters of ``notebooks/recurrent_offpolicy.ipynb`` (section ``recurrent_offpolicy``)."""

    envs: list[str] = param("partially observable tasks (rlrepro.envs.pomdp)", choices=POMDPS)
    methods: list[str] = param("agents; sac_full = SAC on the fully observed task (the reference)",
                               choices=METHODS)
    seeds: int = param("independent runs per method and task", min=1)
    workers: int = param("runs trained in parallel processes", min=1, max=64)
    steps: dict[str, int] = param("task -> environment steps per run", choices=POMDPS, min=1)
    random_steps: int = param("uniform random actions before learning starts (paper: 10000)", min=0)
    updates_per_step: float = param("gradient updates per environment step (paper: 1)", min=0.01)
    eval_every: int = param("steps between evaluations (paper: 1000)", min=1)
    eval_episodes: int = param("deterministic test episodes per evaluation (paper: 10)", min=1)
    final_evaluations: int = param("last evaluations averaged into a run's final score", min=1)
    checkpoint_every: int = param("steps between checkpoints a killed run resumes from", min=1)
    concat_k: int = param("observations in a *_concat window (paper: 5 or 10)", min=2)
    hidden: list[int] = param("hidden layers of the actor and critic MLPs (paper: 256, 256)", min=1)
    lr: float = param("Adam step size (paper: 3e-4)", min=1e-7, max=1.0)
    batch_size: int = param("transitions per update, memoryless agents (paper: 100)", min=1)
    sequence_batch_size: int = param("sequences per update, recurrent agents (paper: 10)", min=1)
    cell: str = param("summarizer cell (paper: lstm)", choices=("lstm", "gru", "rnn"))
    summary_size: int = param("summarizer hidden size (paper: 256)", min=1)
    summary_layers: int = param("stacked summarizer layers (paper: 2)", min=1, max=8)
    segment_len: int = param("replay segment length of the recurrent agents (0: whole episodes, "
                             "as the paper)", min=0)
    device: str = param("auto, cpu or cuda", choices=("auto", "cpu", "cuda"))

    def check(self):
        errors = [f"'steps': no budget for task {env!r}" for env in self.envs if env not in self.steps]
        if "sac_full" not in self.methods:
            errors.append("'methods': must include sac_full, the reference scores are normalised by")
        if self.final_evaluations * self.eval_every > min(self.steps.get(e, 0) for e in self.envs):
            errors.append("'final_evaluations': the last final_evaluations * eval_every steps "
                          "must fit in every task's budget")
        return errors


def agent_config(cfg: RecurrentOffPolicyConfig, method: str) -> AgentConfig:
    algorithm = method.removesuffix("_concat").removesuffix("_full")
    recurrent = algorithm in RECURRENT
    return AgentConfig(algorithm=algorithm, hidden=tuple(cfg.hidden), lr=cfg.lr,
                       batch_size=cfg.sequence_batch_size if recurrent else cfg.batch_size,
                       cell=cfg.cell, summary_size=cfg.summary_size,
                       summary_layers=cfg.summary_layers, segment_len=cfg.segment_len,
                       device=cfg.device)


def train_config(cfg: RecurrentOffPolicyConfig, method: str, env: str) -> TrainConfig:
    return TrainConfig(env=FULL_STATE[env] if method == "sac_full" else env,
                       total_steps=cfg.steps[env], random_steps=cfg.random_steps,
                       updates_per_step=cfg.updates_per_step, eval_every=cfg.eval_every,
                       eval_episodes=cfg.eval_episodes, checkpoint_every=cfg.checkpoint_every,
                       concat=cfg.concat_k if method.endswith("_concat") else 0)


def run_dir(data_dir, profile, env, method, seed) -> pathlib.Path:
    return (pathlib.Path(data_dir) / "policies" / "recurrent_offpolicy" / profile / env / method
            / f"seed{seed}")


def jobs(cfg: RecurrentOffPolicyConfig, profile: str, data_dir="data"):
    """One training job per (task, method, seed), longest (recurrent) first."""
    out = [dict(env=env, method=method, seed=seed, cfg=cfg, folder=str(run_dir(data_dir, profile, env, method, seed)))
           for env in cfg.envs for method in cfg.methods for seed in range(cfg.seeds)]
    return sorted(out, key=lambda job: job["method"] not in RECURRENT)


def run(env, method, seed, cfg, folder):
    """Train one run (or load it from ``folder``); returns its learning curve and score."""
    result = train(folder, agent_config(cfg, method),
                   train_config(cfg, method, env), seed=seed, progress=False)
    curve = result["curve"]
    final = float(np.mean([c["return"] for c in curve[-cfg.final_evaluations:]]))
    return {"env": env, "method": method, "seed": seed, "final": final,
            "steps": [c["step"] for c in curve], "returns": [c["return"] for c in curve],
            "seconds": result["seconds"]}


def random_return(env: str, episodes: int = 10, seed: int = 0) -> float:
    """Mean return of uniformly random actions (the 0 of the normalised score)."""
    environment = make_env(env)
    policy = UniformPolicy(environment.action_space.shape[0], seed)
    return float(evaluate(policy, environment, episodes, seed).mean())


def normalise(value, random, reference):
    """0 = random actions, 1 = SAC with the full state."""
    return (value - random) / (reference - random)


def summarize(results: list[dict], cfg: RecurrentOffPolicyConfig, reps: int = 2000):
    """Final scores per task and method (IQM over seeds, 95% intervals), normalised scores, and
    the numbers behind the paper's claims. Returns ``(runs DataFrame, metrics dict)``.

    ``metrics["final_return"][env][method]`` and ``metrics["normalised"][env][method]`` hold
    ``iqm``, ``low`` and ``high``; the first also every seed's score (``runs``).
    """
    import pandas as pd

    from rlrepro.evaluation.statistics import interval_estimates

    runs = pd.DataFrame([{k: r[k] for k in ("env", "method", "seed", "final", "seconds")}
                         for r in results])
    random = {env: random_return(env, cfg.eval_episodes) for env in cfg.envs}
    final, normalised = {}, {}
    for env, rows in runs.groupby("env"):
        scores = {m: g["final"].to_numpy()[:, None] for m, g in rows.groupby("method")}
        estimates = interval_estimates(scores, "iqm", reps=reps)
        reference = float(estimates["sac_full"][0][0])
        runs.loc[rows.index, "normalised"] = normalise(rows["final"], random[env], reference)
        final[env] = {m: {"iqm": float(p[0]), "low": float(lo[0]), "high": float(hi[0]),
                          "runs": scores[m][:, 0].tolist()} for m, (p, lo, hi) in estimates.items()}
        normalised[env] = {m: {k: normalise(v[k], random[env], reference) for k in ("iqm", "low", "high")}
                           for m, v in final[env].items()}
    metrics = {"final_return": final, "normalised": normalised, "random_return": random,
               "claims": _claims(runs, normalised, cfg)}
    return runs, metrics


def _claims(runs, normalised, cfg):
    """Numbers behind the paper's claims, each over every task (the worst case counts)."""
    normalised = {env: {m: v["iqm"] for m, v in n.items()} for env, n in normalised.items()}
    methods, claims = set(cfg.methods), {}
    memoryless = [m for m in MEMORYLESS if m in methods]
    concat = [m for m in methods if m.endswith("_concat")]
    if "rsac" in methods:
        claims["rsac_normalised_min"] = min(n["rsac"] for n in normalised.values())
        if memoryless:
            claims["recurrent_margin_min"] = min(
                n["rsac"] - max(n[m] for m in memoryless) for n in normalised.values())
    if memoryless:
        claims["memoryless_normalised_max"] = max(n[m] for n in normalised.values() for m in memoryless)
    if concat:
        claims["concat_normalised_max"] = max(n[m] for n in normalised.values() for m in concat)
    others = [m for m in ("rdpg", "rtd3") if m in methods]
    if others:
        worst = runs.groupby(["env", "method"])["normalised"].min()
        claims["rdpg_rtd3_worst_run"] = float(min(worst[env, m] for env in cfg.envs for m in others))
        if "rsac" in methods:
            claims["rsac_most_reliable"] = float(np.mean(
                [worst[env, "rsac"] >= max(worst[env, m] for m in others) - 0.05 for env in cfg.envs]))
    return {k: float(v) for k, v in claims.items()}


def score_table(metrics: dict, methods: list[str], key="normalised"):
    """``(values, annotations)`` DataFrames, methods x tasks: IQM and "IQM [low, high]"."""
    import pandas as pd

    scores = metrics[key]
    digits = 2 if key == "normalised" else 0
    values = pd.DataFrame({env: {m: v["iqm"] for m, v in s.items()} for env, s in scores.items()})
    text = pd.DataFrame({env: {m: f"{v['iqm']:.{digits}f}\n[{v['low']:.{digits}f}, {v['high']:.{digits}f}]"
                               for m, v in s.items()} for env, s in scores.items()})
    return values.loc[methods], text.loc[methods]
