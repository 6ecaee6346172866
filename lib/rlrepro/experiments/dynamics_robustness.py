"""Robustness to perturbed bodies (the SpatioTemporal-Predictions experiment, reported with
Packer et al. 2019's protocol): TD3 policies trained on the nominal body are tested on bodies
whose torso density, friction and motor power are drawn from Packer et al.'s ranges, and on
bodies whose limbs are shorter, longer, thinner or thicker (our extension;
``rlrepro.envs.bodies``).

Methods:

- ``td3``: TD3 on the state, as trained on the nominal body;
- ``td3_pad``: TD3 with PAD's self-supervised branch (Hansen et al. 2021): an encoder sharing
  all but its last layer with the critic's, an inverse dynamics head on it
  (``agents.algorithms``), the actor acting on the critic encoder's features;
- ``td3_pad_adapt``: the same policies, the shared layers and the branch following the inverse
  dynamics loss on the latest transition during each test episode (no reward on the test body;
  ``evaluation.adaptation``);
- ``td3_ssl``, ``td3_ssl_adapt`` (our ablation): forward and inverse dynamics heads on the
  critic encoder's own features; the whole encoder adapts, on transitions drawn from the episode;
- ``td3_finetune`` (optional, the upper line): each TD3 policy trained on with reward on a named
  test body (``envs.bodies.NAMED_BODIES``).

Every score is normalised per seed by that seed's return on the nominal body (1.0 = no loss).
Packer et al. train on the default parameters (D) and test on a moderate range (R) and an
extreme one (E): each test episode on its own body, every parameter drawn from R, or from E
outside R (``packer_episodes``). The limb sweep reads the same way: the factors within
``moderate`` and those outside it.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import pathlib
from dataclasses import dataclass

import numpy as np

from rlrepro import runs
from rlrepro.agents.algorithms import AgentConfig, concat_members, config_from_dict, make_agent
from rlrepro.agents.training import (POLICY, TRAIN_PER_RUN, TrainConfig, finished_result,
                                     load_policy, train_seeds)
from rlrepro.envs.bodies import (BASES, NAMED_BODIES, PACKER_RANGES, make_body, packer_body,
                                 scale_keys)
from rlrepro.evaluation.adaptation import run_adapting_episodes
from rlrepro.evaluation.rollouts import TEST_EPISODE_OFFSET, episode_seed, run_episodes
from rlrepro.evaluation.statistics import (MIN_RUNS_FOR_INTERVALS, interval_text,
                                           seed_interval, seed_interval_label)
from rlrepro.params import param
from rlrepro.runner import Launcher, run_parallel

METHODS = ("td3", "td3_pad", "td3_pad_adapt", "td3_ssl", "td3_ssl_adapt")
TRAINED = {"td3": "td3", "td3_pad": "td3_pad", "td3_pad_adapt": "td3_pad",
           "td3_ssl": "td3_ssl", "td3_ssl_adapt": "td3_ssl"}  # whose policies each method plays
ADAPTING = ("td3_pad_adapt", "td3_ssl_adapt")
FINETUNE = "td3_finetune"
PACKER_RANGES_TESTED = ("moderate", "extreme")


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("policies",)
CURVES = {"learning_curves": "test return on the nominal body"}  # figures with their points, for `dvc plots show`


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/dynamics_robustness.ipynb`` (section ``dynamics_robustness``)."""

    body: str = param("the body trained on (nominal) and perturbed (rlrepro.envs.bodies)",
                      choices=tuple(BASES))
    methods: list[str] = param("methods tested on the perturbed bodies", choices=METHODS)
    seeds: int = param("independent training runs per trained algorithm", min=1)
    workers: int = param("processes (or Slurm jobs) at once", min=1, max=64, operational=True)
    seeds_per_process: int = param("seeds of one algorithm trained together in one process "
                                   "(members of one agent, rlrepro.agents.training.train_seeds)",
                                   min=1, max=64, operational=True)
    train: TrainConfig = param("training on the nominal body: steps, warm-up (TD3: 10000, its "
                               "default), evaluations, checkpoints; fine-tuning keeps all but "
                               "the steps and starts from the policy", default=TrainConfig(),
                               per_run=TRAIN_PER_RUN)
    agent: AgentConfig = param("TD3's settings, and the encoder and self-supervised heads of "
                               "td3_pad and td3_ssl (TD3: 400, 300 units, step 1e-3; PAD: 100 "
                               "features, an inverse head of two hidden layers, adaptation "
                               "step 1e-3); the algorithm is each method's",
                               default=AgentConfig(), per_run=("algorithm",))
    adapt_batch: int = param("td3_ssl_adapt: transitions drawn from the episode so far per "
                             "adaptation step (td3_pad_adapt adapts on the latest, as PAD)",
                             min=1)
    packer_episodes: int = param("test episodes per seed on each of Packer et al.'s moderate and "
                                 "extreme ranges, each on its own drawn body (the same bodies "
                                 "for every seed and method); 0 for none", min=0)
    limbs: list[str] = param("factors swept one at a time: <limb>_length or <limb>_width of "
                             "the body (rlrepro.envs.bodies.scale_keys)")
    factors: list[float] = param("scale factors tested; must include 1.0, the nominal body",
                                 min=0.01)
    moderate: list[float] = param("[low, high]: factors in this range are Packer et al.'s "
                                  "moderate perturbations (R), the others extreme (E)", min=0.01)
    heatmap: list[str] = param("two factors tested together over `factors` x `factors` "
                               "(e.g. thigh_length, leg_length); [] for none", may_be_empty=True)
    test_episodes: int = param("deterministic test episodes per seed and body", min=1)
    finetune_bodies: list[str] = param("named bodies each TD3 policy is fine-tuned on with "
                                       "reward (the upper line); [] for none",
                                       choices=tuple(NAMED_BODIES), may_be_empty=True)
    finetune_steps: int = param("environment steps of fine-tuning", min=1)
    gif_bodies: list[str] = param("named bodies of the nominal policy's GIFs (besides the "
                                  "nominal one)", choices=tuple(NAMED_BODIES), may_be_empty=True,
                                  operational=True)
    gif_steps: int = param("steps shown in each GIF", min=1, operational=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs "
                               "(rlrepro.runner.Launcher)", default=Launcher(), operational=True)

    def check(self):
        known = scale_keys(self.body)
        errors = [f"'limbs': {key!r} is not a factor of {self.body}; expected some of {known}"
                  for key in self.limbs if key not in known]
        errors += [f"'heatmap': {key!r} is not a factor of {self.body}; expected some of {known}"
                   for key in self.heatmap if key not in known]
        if self.heatmap and (len(self.heatmap) != 2 or self.heatmap[0] == self.heatmap[1]):
            errors.append(f"'heatmap': expected two different factors or [], got {self.heatmap}")
        if 1.0 not in self.factors:
            errors.append(f"'factors': must include 1.0 (the nominal body), got {self.factors}")
        if len(self.moderate) != 2 or not self.moderate[0] < 1.0 < self.moderate[1]:
            errors.append(f"'moderate': expected [low, high] with low < 1.0 < high, got "
                          f"{self.moderate}")
        errors += [f"'{key}': {name!r} is a body of {NAMED_BODIES[name][0]}, not of {self.body}"
                   for key in ("finetune_bodies", "gif_bodies") for name in getattr(self, key)
                   if NAMED_BODIES[name][0] != self.body]
        if self.packer_episodes and self.body not in PACKER_RANGES:
            errors.append(f"'packer_episodes': Packer et al.'s ranges exist for "
                          f"{list(PACKER_RANGES)}, not {self.body}; set 0")
        if self.train.eval_every > self.train.total_steps:
            errors.append(f"'train.eval_every': {self.train.eval_every} is more than the "
                          f"{self.train.total_steps} steps of training: no evaluation would run")
        return errors


def agent_config(cfg: Config, algorithm: str) -> AgentConfig:
    return dataclasses.replace(cfg.agent, algorithm=algorithm)


def nominal_env(cfg: Config) -> str:
    """The registered name of the nominal body (every factor 1.0: the gymnasium task itself)."""
    return f"{cfg.body}_body"


def train_config(cfg: Config, finetune_on: str = "",
                 initial_policy: str = "") -> TrainConfig:
    """Training on the nominal body, or fine-tuning on the named body ``finetune_on`` from
    ``initial_policy`` (acting with the policy from the first step)."""
    if finetune_on:
        return dataclasses.replace(cfg.train, env=finetune_on, total_steps=cfg.finetune_steps,
                                   random_steps=0, initial_policy=initial_policy)
    return dataclasses.replace(cfg.train, env=nominal_env(cfg))


def run_dir(data_dir, profile, body, method, seed, finetune_on="") -> pathlib.Path:
    folder = pathlib.Path(data_dir) / "policies" / "dynamics_robustness" / profile / body / method
    return (folder / finetune_on if finetune_on else folder) / f"seed{seed}"


# --- training ---------------------------------------------------------------------------------

def training_jobs(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """One job per group of seeds of each trained algorithm (``seeds_per_process``), the
    slower td3_ssl first."""
    algorithms = {TRAINED[m] for m in cfg.methods} | ({"td3"} if cfg.finetune_bodies else set())
    jobs = []
    for algorithm in sorted(algorithms, reverse=True):
        for start in range(0, cfg.seeds, cfg.seeds_per_process):
            seeds = list(range(start, min(cfg.seeds, start + cfg.seeds_per_process)))
            jobs.append(dict(algorithm=algorithm, seeds=seeds, cfg=cfg, finetune_on="", folders=[
                str(run_dir(data_dir, profile, cfg.body, algorithm, s)) for s in seeds]))
    return jobs


def finetune_jobs(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """One job per (named body, seed): each starts from its own seed's nominal TD3 policy."""
    return [dict(algorithm="td3", seeds=[seed], cfg=cfg, finetune_on=body, folders=[
                str(run_dir(data_dir, profile, cfg.body, FINETUNE, seed, body))])
            for body in cfg.finetune_bodies for seed in range(cfg.seeds)]


def _job_train_config(job) -> TrainConfig:
    """A job's TrainConfig; a fine-tuning job (one seed) starts from that seed's TD3 policy,
    ``<body>/td3/seed<k>/policy.pt`` beside ``<body>/td3_finetune/<named body>/seed<k>``."""
    if not job["finetune_on"]:
        return train_config(job["cfg"])
    folder = pathlib.Path(job["folders"][0])
    nominal = folder.parents[2] / "td3" / folder.name / POLICY
    return train_config(job["cfg"], job["finetune_on"], str(nominal))


def _train_job(algorithm, seeds, folders, cfg, finetune_on, report=None):
    job = dict(algorithm=algorithm, seeds=seeds, folders=folders, cfg=cfg,
               finetune_on=finetune_on)
    return train_seeds(folders, agent_config(cfg, algorithm), _job_train_config(job), seeds,
                       progress=False, report=report)


def _job_finished(job) -> bool:
    agent, train = agent_config(job["cfg"], job["algorithm"]), _job_train_config(job)
    return all(finished_result(folder, agent, train, seed) is not None
               for folder, seed in zip(job["folders"], job["seeds"]))


def train_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every nominal run, then every fine-tuning run, trained where not already finished
    (``cfg.workers`` processes or Slurm jobs, one progress bar of environment steps each);
    one row per run with its learning curve."""
    rows = []
    for desc, jobs in (("training", training_jobs(cfg, profile, data_dir)),
                       ("fine-tuning", finetune_jobs(cfg, profile, data_dir))):
        if not jobs:
            continue
        total = sum(len(job["seeds"]) * _job_train_config(job).total_steps for job in jobs)
        results = run_parallel(_train_job, jobs, workers=cfg.workers, launcher=cfg.launcher,
                               desc=desc, total=total, unit="step", finished=_job_finished,
                               name=lambda j: f"{j['algorithm']} seeds {j['seeds']} "
                                              f"{j['finetune_on']}")
        for job, results_of_job in zip(jobs, results):
            rows += [{"method": FINETUNE if job["finetune_on"] else job["algorithm"],
                      "body": job["finetune_on"] or nominal_env(cfg), "seed": seed,
                      "final": r["final_return"], "policy_step": r["policy_step"],
                      "steps": [c["step"] for c in r["curve"]],
                      "returns": [c["return"] for c in r["curve"]], "seconds": r["seconds"]}
                     for seed, r in zip(job["seeds"], results_of_job)]
    return rows


# --- tests on perturbed bodies ------------------------------------------------------------------

def canonical(scales: dict) -> dict:
    """A body's factors without the 1.0 entries, sorted: one spelling per body."""
    return {key: float(value) for key, value in sorted(scales.items()) if value != 1.0}


def body_label(scales: dict) -> str:
    """The name of a body of the limb sweep in the tables: its canonical factors as JSON ("{}"
    is the nominal body)."""
    return json.dumps(canonical(scales), sort_keys=True)


def packer_label(range_name: str) -> str:
    return f"packer {range_name}"


def packer_bodies(cfg: Config, range_name: str) -> list[dict]:
    """The ``packer_episodes`` test bodies of Packer et al.'s ``moderate`` or ``extreme`` range,
    one per test episode, drawn from a stream of their own: the same bodies for every seed and
    method."""
    rng = np.random.default_rng([PACKER_DRAWS, PACKER_RANGES_TESTED.index(range_name)])
    return [packer_body(cfg.body, range_name == "extreme", rng)
            for _ in range(cfg.packer_episodes)]


PACKER_DRAWS = 2019  # the random stream of Packer bodies (any constant: the draws are fixed)


def bodies_tested(cfg: Config) -> list[dict]:
    """The bodies of the limb sweep every method is tested on: the nominal one, each of
    ``limbs`` at each factor, the ``heatmap`` grid, and the named fine-tuning and GIF bodies;
    each once."""
    bodies = [{}]
    bodies += [{key: f} for key in cfg.limbs for f in cfg.factors]
    if cfg.heatmap:
        bodies += [dict(zip(cfg.heatmap, pair)) for pair in itertools.product(cfg.factors,
                                                                              repeat=2)]
    bodies += [NAMED_BODIES[name][1] for name in (*cfg.finetune_bodies, *cfg.gif_bodies)]
    unique = {}
    for scales in bodies:
        unique.setdefault(body_label(scales), canonical(scales))
    return list(unique.values())


def load_members(run_dirs: list, copies: int):
    """The policies of several finished runs as the members of one agent, run after run, each
    ``copies`` times: ``len(run_dirs) * copies`` episodes in lockstep, one network call a
    step."""
    loaded = [load_policy(folder) for folder in run_dirs]
    first, fingerprint = loaded[0]
    agent = make_agent(first.obs_dim, first.act_dim, config_from_dict(fingerprint["agent"]),
                       seeds=[f["seed"] * copies + k for _, f in loaded for k in range(copies)])
    agent.modules.load_state_dict(concat_members([a.modules.state_dict() for a, _ in loaded
                                                  for _ in range(copies)]))
    return agent


def policy_runs(cfg, profile, method, data_dir="data", body="") -> list[pathlib.Path]:
    """The run folders whose policies ``method`` tests, one per seed."""
    if method == FINETUNE:
        return [run_dir(data_dir, profile, cfg.body, FINETUNE, s, body) for s in range(cfg.seeds)]
    return [run_dir(data_dir, profile, cfg.body, TRAINED[method], s) for s in range(cfg.seeds)]


def _episode_batch(cfg: Config, method: str) -> int:
    """What an adapting method adapts on (``run_adapting_episodes``): PAD the latest
    transition (0), our ablation ``adapt_batch`` transitions of the episode."""
    return cfg.adapt_batch if method == "td3_ssl_adapt" else 0


def _evaluation_file(cfg, profile, method, bodies, data_dir, folders) -> pathlib.Path:
    """Where a test's returns are kept, named by everything they depend on: the policies (by
    content), the bodies, the episodes, the adaptation settings and the code that loads and
    plays them (the loading, rollouts, bodies and adaptation)."""
    key = runs.key(method, cfg.body, bodies,
                   _episode_batch(cfg, method) if method in ADAPTING else None,
                   [runs.file_key(pathlib.Path(r) / POLICY) for r in folders],
                   runs.code_fingerprint(__name__, "rlrepro.agents.training",
                                         "rlrepro.evaluation.adaptation", "rlrepro.envs.bodies"))
    return (pathlib.Path(data_dir) / "policies" / "dynamics_robustness" / profile / cfg.body
            / "tests" / f"{method}-{key}.json")


def returns_on_body(cfg, profile, method, scales, data_dir="data", body="") -> np.ndarray:
    """Returns ``(seeds, episodes)`` of ``method`` on the body ``scales`` (``test_episodes``
    episodes) or on one body per episode (``scales`` a list), cached. Every test uses the same
    episode seeds, never those of the evaluations that picked the policy (keep_best); an
    adapting method adapts in every episode from the trained weights."""
    folders = policy_runs(cfg, profile, method, data_dir, body)
    bodies = scales if isinstance(scales, list) else [scales] * cfg.test_episodes
    path = _evaluation_file(cfg, profile, method, bodies, data_dir, folders)
    if path.is_file():
        return np.array(json.loads(path.read_text())["returns"])
    agent = load_members(folders, len(bodies))
    envs = [make_body(cfg.body, b) for _ in folders for b in bodies]
    seeds = [episode_seed(s, TEST_EPISODE_OFFSET + k) for s in range(cfg.seeds)
             for k in range(len(bodies))]
    if method in ADAPTING:
        returns, _ = run_adapting_episodes(agent, envs, seeds,
                                           episode_batch=_episode_batch(cfg, method))
    else:
        returns = run_episodes(agent, envs, seeds)
    for env in envs:
        env.close()
    returns = returns.reshape(cfg.seeds, len(bodies))
    runs.write_json({"method": method, "body": cfg.body, "bodies": bodies,
                     "returns": returns.tolist()}, path)
    return returns


def _evaluation_job(tests, cfg, profile, data_dir, report):
    """The returns of a chunk of (method, bodies, fine-tuning body, label) tests, in one
    process; ``report(1)`` after each (the progress bar counts tests)."""
    out = []
    for method, scales, body, _ in tests:
        out.append(returns_on_body(cfg, profile, method, scales, data_dir, body))
        report(1)
    return out


def evaluate_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every method on Packer et al.'s two ranges and on every body of the limb sweep
    (fine-tuned policies on their own body only), in ``cfg.workers`` processes; one row per
    (method, body, seed) with its mean return, the body named by ``body_label`` or
    ``packer_label``."""
    tests = [(m, packer_bodies(cfg, r), "", packer_label(r)) for m in cfg.methods
             for r in PACKER_RANGES_TESTED if cfg.packer_episodes]
    tests += [(m, scales, "", body_label(scales)) for m in cfg.methods
              for scales in bodies_tested(cfg)]
    tests += [(FINETUNE, canonical(NAMED_BODIES[b][1]), b, body_label(NAMED_BODIES[b][1]))
              for b in cfg.finetune_bodies]
    if cfg.finetune_bodies and "td3" not in cfg.methods:  # the line fine-tuning starts from
        tests += [("td3", scales, "", body_label(scales)) for scales in
                  ({}, *(canonical(NAMED_BODIES[b][1]) for b in cfg.finetune_bodies))]
    chunks = [tests[i::cfg.workers * 4] for i in range(min(len(tests), cfg.workers * 4))]
    jobs = [dict(tests=chunk, cfg=cfg, profile=profile, data_dir=data_dir) for chunk in chunks]
    results = run_parallel(_evaluation_job, jobs, workers=cfg.workers, desc="testing",
                           total=len(tests), unit="test")
    rows = []
    for chunk, returns_of_chunk in zip(chunks, results):
        for (method, _, _, label), returns in zip(chunk, returns_of_chunk):
            rows += [{"method": method, "body": label, "seed": seed,
                      "return": float(r.mean())} for seed, r in enumerate(returns)]
    return rows


# --- analysis -----------------------------------------------------------------------------------

def factor_name(factor: float) -> str:
    """A factor as a metrics key: "0.5", "1.0", "1.25"."""
    return str(float(factor))


def normalised_table(rows: list[dict]):
    """The test rows as a DataFrame with each return divided by its seed's nominal return
    (a fine-tuned policy by its TD3 seed's, the policy it started from); NaN for a seed whose
    nominal return is not positive (e.g. a cheetah that has not learned to run), where the
    ratio means nothing."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    nominal = frame[frame.body == "{}"].set_index(["method", "seed"])["return"]
    reference = frame["method"].replace(FINETUNE, "td3")
    frame["normalised"] = [r / nominal[m, s] if nominal[m, s] > 0 else np.nan for r, m, s in
                           zip(frame["return"], reference, frame["seed"])]
    return frame


def _per_seed(frame, method, body: str, column="normalised") -> np.ndarray:
    rows = frame[(frame.method == method) & (frame.body == body)]
    return rows.sort_values("seed")[column].to_numpy()


def summarize(rows: list[dict], cfg: Config) -> tuple:
    """``(frame, metrics)``: every test normalised by its seed's nominal return, and the
    numbers of the figures and claims. ``metrics["packer"][method][range]`` is Packer et al.'s
    protocol: each seed's mean normalised return over its episodes on the range's drawn bodies,
    as [mean, low, high] over seeds (``packer_returns`` the same in return).
    ``metrics["normalised_return"][method][limb][factor]`` is the limb sweep's mean over seeds
    (``..._ci`` its 95% interval); ``ranges`` its moderate and extreme factors, each seed's mean
    over the single-factor bodies in that range (``range_returns`` in return). The claims are
    judged on Packer et al.'s ranges when they were tested (``limb_claims``: the same on the
    limb sweep)."""
    frame = normalised_table(rows)
    low, high = cfg.moderate
    curves, intervals, ranges, range_returns, nominal = {}, {}, {}, {}, {}
    packer, packer_returns = {}, {}
    for method in cfg.methods:
        nominal[method] = seed_interval(_per_seed(frame, method, "{}", "return"))
        if cfg.packer_episodes:
            for column, table in (("normalised", packer), ("return", packer_returns)):
                table[method] = {r: seed_interval(_per_seed(frame, method, packer_label(r),
                                                            column))
                                 for r in PACKER_RANGES_TESTED}
        curves[method], intervals[method] = {}, {}
        for key in cfg.limbs:
            points = {factor_name(f): seed_interval(_per_seed(frame, method,
                                                              body_label({key: f})))
                      for f in sorted(cfg.factors)}
            curves[method][key] = {f: v[0] for f, v in points.items()}
            intervals[method][key] = {f: v[1:] for f, v in points.items()}
        bodies = {"moderate": [], "extreme": []}
        for key, f in itertools.product(cfg.limbs, cfg.factors):
            if f != 1.0:
                bodies["moderate" if low <= f <= high else "extreme"].append({key: f})
        for column, table in (("normalised", ranges), ("return", range_returns)):
            table[method] = {name: seed_interval(np.mean(
                [_per_seed(frame, method, body_label(b), column) for b in scales], axis=0))
                             for name, scales in bodies.items() if scales}
    metrics = {"packer": packer, "packer_returns": packer_returns,
               "normalised_return": curves, "normalised_return_ci": intervals,
               "nominal_return": nominal, "ranges": ranges, "range_returns": range_returns,
               "heatmap": heatmap_values(frame, cfg), "finetune": _finetune(frame, cfg)}
    metrics["claims"] = _claims(packer or ranges)
    metrics["limb_claims"] = _claims(ranges)
    return frame, metrics


def heatmap_values(frame, cfg) -> dict:
    """``{method: [[mean normalised return]]}``, rows the first heatmap factor, columns the
    second, both over ``sorted(factors)``."""
    if not cfg.heatmap:
        return {}
    first, second = cfg.heatmap
    factors = sorted(cfg.factors)
    return {method: [[float(np.mean(_per_seed(frame, method, body_label({first: a, second: b}))))
                      for b in factors] for a in factors] for method in cfg.methods}


def _finetune(frame, cfg) -> dict:
    """Per fine-tuning body: the nominal TD3 policy on it and the fine-tuned one, normalised
    by the nominal return ([mean, low, high] over seeds)."""
    out = {}
    for name in cfg.finetune_bodies:
        scales = NAMED_BODIES[name][1]
        out[name] = {"td3": seed_interval(_per_seed(frame, "td3", body_label(scales))),
                     FINETUNE: seed_interval(_per_seed(frame, FINETUNE, body_label(scales)))}
    return out


def _claims(ranges) -> dict:
    """The numbers behind the references' claims: how much the moderate range keeps over the
    extreme one (Packer et al.: extrapolation is harder), and what SSL and adaptation add on
    the extreme range."""
    extreme = {m: r["extreme"][0] for m, r in ranges.items() if "extreme" in r}
    claims = {}
    if "td3" in ranges and {"moderate", "extreme"} <= set(ranges["td3"]):
        claims["td3_moderate_minus_extreme"] = ranges["td3"]["moderate"][0] - extreme["td3"]
        claims["td3_extreme"] = extreme["td3"]
    if {"td3", "td3_pad"} <= set(extreme):
        claims["ssl_minus_td3_extreme"] = extreme["td3_pad"] - extreme["td3"]
    if {"td3_pad", "td3_pad_adapt"} <= set(extreme):
        claims["adapt_minus_ssl_extreme"] = extreme["td3_pad_adapt"] - extreme["td3_pad"]
    return claims


# --- figures and verdict --------------------------------------------------------------------------

def degradation_figure(metrics: dict, cfg: Config):
    """One panel per swept factor: each method's normalised return over the scale factor with
    its 95% interval over seeds; the moderate range shaded."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(cfg.limbs), figsize=(3.6 * len(cfg.limbs), 3.4),
                             squeeze=False, sharey=True)
    for ax, key in zip(axes.flat, cfg.limbs):
        ax.axvspan(*cfg.moderate, color="0.92", zorder=0)
        ax.axhline(1.0, color="gray", ls="--", lw=1)
        for i, method in enumerate(cfg.methods):
            factors = sorted(cfg.factors)
            mean = [metrics["normalised_return"][method][key][factor_name(f)] for f in factors]
            low, high = zip(*(metrics["normalised_return_ci"][method][key][factor_name(f)]
                              for f in factors))
            colour = sns.color_palette("tab10")[i]
            ax.plot(factors, mean, marker="o", color=colour, label=method)
            ax.fill_between(factors, low, high, color=colour, alpha=0.2)
        ax.set(title=key.replace("_", " "), xlabel="scale factor")
    axes.flat[0].set_ylabel("return / nominal return")
    axes.flat[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.suptitle(f"{cfg.body}: return on scaled bodies, {seed_interval_label(cfg.seeds)}; "
                 "shaded: the moderate range")
    fig.tight_layout()
    return fig


def heatmap_figure(metrics: dict, cfg: Config):
    """One grid per method over the two ``heatmap`` factors: the mean normalised return."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    factors = [f"{f:g}" for f in sorted(cfg.factors)]
    fig, axes = plt.subplots(1, len(cfg.methods), figsize=(4.2 * len(cfg.methods), 3.6),
                             squeeze=False)
    for ax, method in zip(axes.flat, cfg.methods):
        sns.heatmap(np.array(metrics["heatmap"][method]), annot=True, fmt=".2f", vmin=0,
                    vmax=1.2, cmap="RdYlGn", xticklabels=factors, yticklabels=factors, ax=ax,
                    cbar=method == cfg.methods[-1])
        ax.invert_yaxis()
        ax.set(title=method, xlabel=cfg.heatmap[1].replace("_", " "),
               ylabel=cfg.heatmap[0].replace("_", " "))
    fig.suptitle(f"{cfg.body}: return / nominal return (mean over {cfg.seeds} seeds)")
    fig.tight_layout()
    return fig


def _ranges_of(metrics: dict, sweep: str) -> tuple[dict, dict]:
    """(share kept, return) per method and range of ``sweep``: "packer" (Packer et al.'s drawn
    bodies) or "limbs" (the limb sweep's factors)."""
    if sweep == "packer":
        return metrics["packer"], metrics["packer_returns"]
    return metrics["ranges"], metrics["range_returns"]


def range_table(metrics: dict, sweep: str):
    """Per method: the nominal return, and on each range of ``sweep`` the share of it kept and
    the return ("mean [low, high]" over seeds)."""
    import pandas as pd

    shares, returns = _ranges_of(metrics, sweep)
    return pd.DataFrame({method: {
        "nominal return": interval_text(metrics["nominal_return"][method], 0),
        **{f"{name}, share kept": interval_text(v) for name, v in shares[method].items()},
        **{f"{name}, return": interval_text(v, 0) for name, v in returns[method].items()}}
        for method in shares}).T


def _relation(first, second) -> str:
    """How two [mean, low, high] intervals compare, in words."""
    if first[1] <= second[2] and second[1] <= first[2]:
        return "the intervals overlap: no difference this run can resolve"
    return f"{'above' if first[0] > second[0] else 'below'}, the intervals apart"


def _compare(metrics, sweep, a, b, name) -> str:
    """Sentences comparing methods ``a`` and ``b`` on the extreme range of ``sweep``, in the
    share of the nominal return kept and in return."""
    shares, returns = _ranges_of(metrics, sweep)
    share = [shares[m]["extreme"] for m in (a, b)]
    ret = [returns[m]["extreme"] for m in (a, b)]
    return (f"- {name}: on extreme bodies {a} keeps {share[0][0]:.2f} of its nominal return, "
            f"{b} {share[1][0]:.2f} ({_relation(*share)}); in return {ret[0][0]:.0f} "
            f"against {ret[1][0]:.0f} ({_relation(*ret)}).")


def _range_lines(metrics: dict, sweep: str, claims: dict) -> list[str]:
    """The verdict's lines on one sweep: each method's shares, then the three claims."""
    shares, lines = _ranges_of(metrics, sweep)[0], []
    for method, r in shares.items():
        lines.append(f"- **{method}**: "
                     + "; ".join(f"{name} {interval_text(v)}" for name, v in r.items()) + ".")
    if "td3_moderate_minus_extreme" in claims:
        drop = claims["td3_moderate_minus_extreme"]
        lines.append(f"- TD3 keeps {drop:+.2f} more of its return on moderate than on extreme "
                     "bodies: " + ("the degradation grows with the perturbation, as in Packer "
                                   "et al." if drop > 0 else "no degradation with distance."))
    if "ssl_minus_td3_extreme" in claims:
        lines.append(_compare(metrics, sweep, "td3_pad", "td3", "**Hypothesis: self-supervised "
                                                               "representations improve "
                                                               "robustness**"))
    if "adapt_minus_ssl_extreme" in claims:
        lines.append(_compare(metrics, sweep, "td3_pad_adapt", "td3_pad",
                              "Test-time adaptation (PAD)"))
    if {"td3_ssl", "td3_pad"} <= set(shares):
        lines.append(_compare(metrics, sweep, "td3_ssl", "td3_pad", "Our ablation (forward and "
                                                                   "inverse heads on the "
                                                                   "critic's features)"))
    return lines


def verdict_text(metrics: dict, cfg: Config) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    lines = [f"Returns are divided by each seed's return on the nominal {cfg.body} "
             f"(1.0 = no loss); {seed_interval_label(cfg.seeds)}. Nominal returns: "
             + "; ".join(f"{m} {interval_text(v, 0)}"
                         for m, v in metrics["nominal_return"].items()) + "."]
    if metrics["packer"]:
        lines.append(f"\n**Packer et al.'s perturbations** (torso density, friction, motor "
                     f"power; {cfg.packer_episodes} drawn bodies per range; the claims):")
        lines += _range_lines(metrics, "packer", metrics["claims"])
    lines.append(f"\n**Limb lengths** (our extension; moderate: factors in "
                 f"[{cfg.moderate[0]:g}, {cfg.moderate[1]:g}], extreme: the others):")
    lines += _range_lines(metrics, "limbs", metrics["limb_claims"])
    for name, v in metrics["finetune"].items():
        lines.append(f"- Fine-tuned with reward on {name} for {cfg.finetune_steps} steps: "
                     f"{interval_text(v[FINETUNE])}, against {interval_text(v['td3'])} without "
                     "(the upper line a reward-free method could reach).")
    if cfg.seeds < MIN_RUNS_FOR_INTERVALS:
        lines.append(f"\nWith {cfg.seeds} seeds the brackets are the seeds' range, not "
                     "confidence intervals: differences of a few hundredths are noise.")
    return "\n".join(lines)


# Design deviations from PAD and Packer et al. that no setting expresses (the notebook's table).
DEVIATIONS = [
    {"setting": "observations", "original": "PAD: pixels (84x84 crops, 3 stacked frames)",
     "this run": "the state", "why": "the SpatioTemporal-Predictions experiment is on states; "
     "PAD's conv layers become an MLP encoder, its shared layers the encoder's hidden layers"},
    {"setting": "td3_pad_adapt: adaptation batch", "original": "32 randomly cropped copies of "
     "the latest transition", "this run": "the latest transition", "why": "a state has no "
     "crop; identical copies give one transition's gradient"},
    {"setting": "td3_pad: the agent", "original": "PAD: SAC", "this run": "TD3",
     "why": "the SpatioTemporal-Predictions experiment compares TD3 policies"},
    {"setting": "Packer et al.'s bodies", "original": "Roboschool Hopper (Bullet); friction "
     "and density set in the XML, power Roboschool's torque factor",
     "this run": "gymnasium Hopper-v5 (MuJoCo): each parameter a factor of Packer's default "
                 "(value / D), on every geom's friction, the torso's density and every gear",
     "why": "Roboschool is unmaintained; the factors keep Packer's ranges relative to their "
            "defaults"},
    {"setting": "Packer et al.'s test protocol", "original": "success rates over episodes "
     "(Hopper: a distance reached)", "this run": "the share of the nominal return kept",
     "why": "the SpatioTemporal-Predictions experiment reports returns"},
]
