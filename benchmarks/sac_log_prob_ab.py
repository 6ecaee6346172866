"""A/B: our SAC with its exact squashed-Gaussian log-prob vs the same SAC with SB3's form.

SB3 computes log pi = log N(u) - sum log(1 - tanh(u)^2 + 1e-6); ours uses the exact
2 (log 2 - u - softplus(-2u)). The two differ only where |u| is large (a saturated action), where
SB3's correction is capped at log(1e-6) per dimension. On InvertedPendulum-v5 our SAC reached
1000 one evaluation later than SB3's on 2 of 5 seeds (`results/agents_vs_sb3.md`); this checks
whether the log-prob explains it: same seeds, same everything else, first step at which the
deterministic test return reaches 1000.

    python benchmarks/sac_log_prob_ab.py [--seeds 5] [--steps 16000] [--workers 2]
"""
import argparse
import json
import pathlib
import tempfile

import numpy as np
import torch

from rlrepro.agents.training import TrainConfig, train
from rlrepro.runner import run_parallel

from peer import our_config

EVAL_EVERY, EVAL_EPISODES = 1000, 10


def sb3_log_prob(u, eps, log_std):
    """Stable-Baselines3's squashed-Gaussian log-prob (1e-6 inside the log)."""
    std = log_std.exp()
    gaussian = torch.distributions.Normal(u - std * eps, std).log_prob(u).sum(-1)
    return gaussian - torch.log(1 - torch.tanh(u) ** 2 + 1e-6).sum(-1)


def run(variant, seed, steps, warmup):
    if variant == "sb3_log_prob":
        from rlrepro.agents import networks

        networks.squashed_gaussian_log_prob = sb3_log_prob
    config = TrainConfig(env="InvertedPendulum-v5", total_steps=steps, random_steps=warmup,
                         eval_every=EVAL_EVERY, eval_episodes=EVAL_EPISODES,
                         checkpoint_every=10**9)
    result = train(tempfile.mkdtemp(), our_config("sac"), config, seed=seed, progress=False)
    return [(c["step"], c["return"]) for c in result["curve"]]


def first_solved(curve, level=1000.0):
    return next((step for step, value in curve if value >= level), None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=16_000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/sac_log_prob_ab.json")
    args = parser.parse_args()
    jobs = [dict(variant=v, seed=s, steps=args.steps, warmup=args.warmup)
            for s in range(args.seeds) for v in ("exact_log_prob", "sb3_log_prob")]
    curves = run_parallel(run, jobs, workers=args.workers, desc="runs")
    records = [job | {"curve": curve, "first_1000": first_solved(curve)}
               for job, curve in zip(jobs, curves)]
    pathlib.Path(args.out).write_text(json.dumps(records, indent=1))
    print("| seed | first step at 1000: exact | first step at 1000: SB3's log-prob |")
    print("|---|--:|--:|")
    for seed in range(args.seeds):
        cells = [next(r["first_1000"] for r in records if r["seed"] == seed and r["variant"] == v)
                 for v in ("exact_log_prob", "sb3_log_prob")]
        print(f"| {seed} | " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    for variant in ("exact_log_prob", "sb3_log_prob"):
        final = [r["curve"][-1][1] for r in records if r["variant"] == variant]
        print(f"{variant}: final return mean {np.mean(final):.1f} over {len(final)} seeds")


if __name__ == "__main__":
    main()
