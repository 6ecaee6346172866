"""The gridworld experiment: every method on every problem, and the two sensitivity sweeps.

Table: Shah et al. 2019, Table 1 / Figure 2 and Sec. 5.3 (uniform prior over s_-T); Appendix C
(MCMC sampling); Lindner et al. 2021, Sec. 3.2 (Deep RLSP on the same gridworlds).
Sweeps: Sec. 5.4 (the human's horizon T) and Appendix D (prior scale, additive vs bayesian).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rlrepro.envs.gridworlds import PROBLEMS, tabular_model
from rlrepro.params import param
from rlrepro.rlsp import tabular as rl

METHODS = ("specified", "deviation", "reachability", "average_features", "rlsp", "rlsp_uniform",
           "sampling", "deep_rlsp")
SEEDED_METHODS = ("rlsp", "rlsp_uniform", "sampling", "deep_rlsp")


@dataclass(frozen=True)
class Config:
    """Parameters of ``notebooks/gridworld_rlsp.ipynb`` (section ``gridworld_rlsp``)."""

    problems: list[str] = param("problems in the results table", choices=tuple(PROBLEMS))
    methods: list[str] = param("methods in the results table", choices=METHODS)
    seeds: int = param("seeds of the seeded methods (RLSP's theta_0, MCMC, Deep RLSP)", min=1)
    workers: int = param("worker processes for independent runs", min=1, max=64, operational=True)
    evaluation_horizon: int = param("steps the robot plans and is scored for (paper: 20)", min=1)
    temperature: float = param("Boltzmann temperature of the simulated human (paper: 1)", min=1e-6)
    learning_rate: float = param("RLSP gradient-ascent step size (paper: 0.1)", min=0.0)
    epochs: int = param("maximum RLSP gradient steps (paper: 50)", min=1)
    prior: str = param("prior over theta", choices=("gaussian", "laplace", "uniform"))
    prior_std: float = param("scale of the prior (paper: 0.5)", min=1e-6)
    deviation_weight: float = param("weight of the feature-deviation penalty (paper: 0.5)", min=0.0)
    reachability_weight: float = param("weight of the relative-reachability penalty (paper: 1)", min=0.0)
    mcmc_samples: int = param("MCMC samples per run (paper: 10000)", min=2)
    mcmc_burn_in: int = param("MCMC samples discarded at the start (paper: 1000)", min=0)
    mcmc_step_size: float = param("std of the Gaussian MCMC proposal (paper: 0.01)", min=1e-9)
    deep_trajectories: int = param("backward/forward trajectories per Deep RLSP gradient (paper: 200)", min=1)
    deep_hidden: int = param("hidden units of the inverse-model MLPs", min=1)
    deep_dynamics_samples: int = param("random transitions the inverse dynamics is fit to", min=1)
    deep_dynamics_epochs: int = param("passes over those transitions", min=1)
    deep_policy_samples: int = param("transitions of the current policy per inverse-policy refit", min=1)
    deep_policy_steps: int = param("Adam steps per inverse-policy refit (one per RLSP epoch)", min=1)
    horizon_sweep: list[int] = param("human horizons T of the Sec. 5.4 sweep", min=1)
    horizon_sweep_problems: list[str] = param("problems of the horizon sweep", choices=tuple(PROBLEMS))
    sweep_learning_rate: float = param("RLSP step size in both sweeps (paper: 0.001)", min=0.0)
    sweep_epochs: int = param("RLSP gradient steps in both sweeps (paper: 1000)", min=1)
    std_sweep: list[float] = param("prior scales of the Appendix D sweep", min=1e-6)
    std_sweep_horizons: dict[str, int] = param(
        "problem -> human horizon T in the Appendix D sweep (scored over T steps, as the original)",
        choices=tuple(PROBLEMS), min=1)

    def check(self):
        errors = []
        if self.mcmc_burn_in >= self.mcmc_samples:
            errors.append(f"'mcmc_burn_in': expected fewer than mcmc_samples ({self.mcmc_samples}), "
                          f"got {self.mcmc_burn_in}")
        if "apples" in self.std_sweep_horizons:
            errors.append("'std_sweep_horizons.apples': Apples has no specified reward, so additive "
                          "and bayesian coincide; leave it out")
        return errors


def _prior(cfg, center=0.0, std=None):
    return rl.Prior(cfg.prior, cfg.prior_std if std is None else std, center)


def planning_reward(problem: str, method: str, cfg: Config, seed: int = 0):
    """The reward the robot plans with after ``method`` has looked at the observed state.

    Returns ``(reward, theta)``: a state reward (or time-dependent for reachability) and the
    inferred weights (None for methods that infer none).
    """
    model = tabular_model(problem)
    spec, T = model.problem.r_spec, model.problem.horizon
    f = model.features
    common = dict(prior=_prior(cfg), temperature=cfg.temperature)
    if method == "specified":
        return f @ spec, None
    if method == "deviation":
        return f @ spec - cfg.deviation_weight * rl.deviation_penalty(model), None
    if method == "reachability":
        penalty = rl.relative_reachability_penalty(model, cfg.evaluation_horizon)
        return (f @ spec)[None] - cfg.reachability_weight * penalty, None
    if method == "average_features":
        theta = rl.average_features_reward(model)
    elif method in ("rlsp", "rlsp_uniform"):
        theta = rl.rlsp(model, T, uniform_initial=method == "rlsp_uniform", seed=seed,
                        learning_rate=cfg.learning_rate, epochs=cfg.epochs, **common).theta
    elif method == "sampling":
        theta = rl.mcmc_sampling(model, T, n_samples=cfg.mcmc_samples, burn_in=cfg.mcmc_burn_in,
                                 step_size=cfg.mcmc_step_size, seed=seed, **common).theta
    elif method == "deep_rlsp":
        from rlrepro.rlsp import deep  # torch: only Deep RLSP needs it

        inverse = deep.LearnedInverseModels(
            model, hidden=cfg.deep_hidden, dynamics_samples=cfg.deep_dynamics_samples,
            dynamics_epochs=cfg.deep_dynamics_epochs, policy_samples=cfg.deep_policy_samples,
            policy_steps=cfg.deep_policy_steps, seed=seed)
        rng = np.random.default_rng(seed)

        def sampled_gradient(theta, p0):
            return deep.estimate_gradient(model, theta, T, p0, inverse, rng=rng,
                                          n_trajectories=cfg.deep_trajectories,
                                          temperature=cfg.temperature)

        theta = rl.rlsp(model, T, seed=seed, learning_rate=cfg.learning_rate, epochs=cfg.epochs,
                        gradient_fn=sampled_gradient, **common).theta
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    return f @ (spec + theta), theta


def run_method(problem, method, cfg, seed=0):
    """One cell of the table for one seed: the score and what produced it."""
    start = time.perf_counter()
    reward, theta = planning_reward(problem, method, cfg, seed)
    score = rl.fraction_of_max_true_reward(tabular_model(problem), reward, cfg.evaluation_horizon)
    return {"problem": problem, "method": method, "seed": seed, "fraction": score,
            "theta": None if theta is None else theta.tolist(),
            "seconds": time.perf_counter() - start}


def table_jobs(cfg):
    return [dict(problem=p, method=m, cfg=cfg, seed=s) for p in cfg.problems for m in cfg.methods
            for s in (range(cfg.seeds) if m in SEEDED_METHODS else [0])]


def horizon_point(problem, horizon, cfg):
    """Sec. 5.4: RLSP with a uniform prior over s_-T, assuming the human acted for ``horizon``."""
    model = tabular_model(problem)
    theta = rl.rlsp(model, horizon, uniform_initial=True, prior=_prior(cfg),
                    temperature=cfg.temperature, learning_rate=cfg.sweep_learning_rate,
                    epochs=cfg.sweep_epochs).theta
    score = rl.fraction_of_max_true_reward(model, model.features @ (model.problem.r_spec + theta),
                                           cfg.evaluation_horizon)
    return {"problem": problem, "horizon": horizon, "fraction": score}


def horizon_jobs(cfg):
    return [dict(problem=p, horizon=T, cfg=cfg) for p in cfg.horizon_sweep_problems
            for T in cfg.horizon_sweep]


def std_point(problem, std, combination, cfg):
    """Appendix D: the prior scale, with theta added to r_spec (additive) or centred on it."""
    model = tabular_model(problem)
    horizon = cfg.std_sweep_horizons[problem]
    spec = model.problem.r_spec
    center = spec if combination == "bayesian" else 0.0
    theta = rl.rlsp(model, horizon, prior=_prior(cfg, center, std), temperature=cfg.temperature,
                    learning_rate=cfg.sweep_learning_rate, epochs=cfg.sweep_epochs).theta
    weights = theta if combination == "bayesian" else spec + theta
    score = rl.fraction_of_max_true_reward(model, model.features @ weights, horizon)
    return {"problem": problem, "std": std, "combination": combination, "fraction": score}


def std_jobs(cfg):
    return [dict(problem=p, std=s, combination=c, cfg=cfg) for p in cfg.std_sweep_horizons
            for s in cfg.std_sweep for c in ("additive", "bayesian")]


def summarize(records, reps=2000):
    """Per (problem, method): the point estimate over seeds and its interval (IQM and 95%
    bootstrap CI with >= 5 seeds, else the mean and the seeds' range; see
    ``rlrepro.evaluation.statistics``)."""
    from rlrepro.evaluation.statistics import aggregate

    mean, interval = {}, {}
    cells = sorted({(r["problem"], r["method"]) for r in records})
    scores = {f"{p}/{m}": [r["fraction"] for r in records if (r["problem"], r["method"]) == (p, m)]
              for p, m in cells}
    for key, (point, low, high) in aggregate(scores, reps=reps).items():
        problem, method = key.split("/")
        mean.setdefault(problem, {})[method] = point
        interval.setdefault(problem, {})[method] = [low, high]
    return mean, interval


def estimator_agreement(problems, n_trajectories=2000, seed=0):
    """Cosine between Deep RLSP's estimate with exact inverse models and the exact gradient.

    Evaluated at a random theta ~ N(0, 0.3^2 I) per problem: the check of Lindner et al.'s
    estimator that the paper reports as cosine ~ 1.000.
    """
    from rlrepro.rlsp import deep

    rng = np.random.default_rng(seed)
    cosines = {}
    for problem in problems:
        model = tabular_model(problem)
        theta = 0.3 * rng.standard_normal(model.n_features)
        p0 = rl.initial_distribution(model, uniform=False)
        exact = rl.rlsp_gradient(model, theta, model.problem.horizon, p0)
        estimate = deep.estimate_gradient(model, theta, model.problem.horizon, p0,
                                          deep.ExactInverseModels(model), rng=rng,
                                          n_trajectories=n_trajectories, max_norm=np.inf)
        cosines[problem] = float(exact @ estimate / (np.linalg.norm(exact) * np.linalg.norm(estimate)))
    return cosines

# Design deviations from the original that hold for every profile (params.deviations adds
# them to the table generated from the profile's overlays).
DEVIATIONS = [
    {"setting": "RLSP gradient at temperature τ", "original": "(∇Q − ∇V), the original code",
     "this run": "(∇Q − ∇V) / τ", "why": "the exact gradient of log π = (Q − V)/τ; the original "
                                        "omits 1/τ (no difference at τ = 1)"},
    {"setting": "Deep RLSP's policy on gridworlds", "original": "SAC",
     "this run": "exact Boltzmann-rational policy", "why": "soft value iteration is exact on the "
                                                          "enumerated states"},
]


def verdict_text(mean: dict, cosines: dict, cfg: Config, label: str) -> str:
    """The notebook's analysis of the results table, written from this run's numbers."""
    lines = [f"Cells are the {label} of the fraction of the maximum true reward (seeded methods: "
             f"{', '.join(m for m in SEEDED_METHODS if m in cfg.methods)}; the others are "
             "deterministic). A method counts as showing the desired behaviour at >= 0.95."]
    for problem, row in mean.items():
        good = [m for m in cfg.methods if row.get(m, 0.0) >= 0.95]
        parts = [f"{m} {row[m]:.2f}" for m in ("specified", "rlsp", "deep_rlsp", "sampling")
                 if m in row]
        lines.append(f"- **{problem}**: {', '.join(good) if good else 'no method'} reach 0.95 "
                     f"({'; '.join(parts)}).")
    deterministic = {p: c for p, c in cosines.items() if tabular_model(p).deterministic}
    stochastic = {p: c for p, c in cosines.items() if p not in deterministic}
    if deterministic:
        lines.append(f"Deep RLSP's estimator with exact inverse models has cosine "
                     f"{min(deterministic.values()):.3f} or more with the exact gradient on the "
                     "deterministic problems"
                     + (", " + ", ".join(f"{c:.3f} on {p}" for p, c in stochastic.items())
                        + " (stochastic: the telescoped estimator is slightly biased)"
                        if stochastic else "") + ".")
    if "sampling" in cfg.methods and cfg.mcmc_samples < 10_000:
        lines.append(f"MCMC ran {cfg.mcmc_samples} samples (paper: 10 000): its cells measure an "
                     "unconverged chain, not the method.")
    return "\n".join(lines)
