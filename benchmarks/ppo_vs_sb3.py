"""Returns of our PPO (GAIL's generator) against Stable-Baselines3's PPO with the same
hyperparameters and budget.

Both libraries train GAIL's generator settings (imitation v0.1.1's PPO2: [32, 32] tanh, 8
environments x 256 steps, 32 minibatches, 10 epochs, lr 3e-4, clip 0.2 on the ratio and the
value, VecNormalize observations and rewards; ``benchmarks/peer.py``) with separate policy and
value networks (SB3 has no shared layers), on the same ``make_env`` environments (actions in
[-1, 1]). Every policy is evaluated deterministically by the same function on the same episode
seeds at ``EVALUATIONS`` evenly spaced points (SB3's with its VecNormalize statistics); we report
the final return and the mean over the evaluations, each the mean over seeds with a 95%
bootstrap interval (rliable; with fewer than 5 seeds it under-covers), the training time per
run, and a curve figure.

    pip install -e .[bench]
    python benchmarks/ppo_vs_sb3.py [--seeds 5] [--workers 2] [--envs ...] [--steps N]
"""
import argparse
import json
import pathlib
import time

import numpy as np

from rlrepro.agents.ppo import PPO
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import evaluate
from rlrepro.runner import run_parallel

from agents_vs_sb3 import _plot, _SB3Actor, table
from peer import our_ppo_config, sb3_ppo

BUDGETS = {"InvertedPendulum-v5": 40_960, "HalfCheetah-v5": 307_200}  # 20 and 150 rounds
EVALUATIONS = 5  # per run, evenly spaced


class _Clock:
    """Seconds spent outside evaluations: the training time of a run."""

    def __init__(self):
        self.started, self.paused = time.time(), 0.0

    def evaluate(self, policy, env, episodes, seed):
        start = time.time()
        value = float(evaluate(policy, [env], episodes, [seed]).mean())
        self.paused += time.time() - start
        return value

    def seconds(self):
        return time.time() - self.started - self.paused


def run_ours(env, seed, steps, eval_every, episodes):
    config, eval_env, curve, clock = our_ppo_config(), make_env(env), [], _Clock()
    ppo = PPO([make_env(env) for _ in range(config.n_envs)], config, seed)

    def on_round(ppo, info):
        if ppo.steps % eval_every == 0:
            curve.append((ppo.steps, clock.evaluate(ppo, eval_env, episodes, seed)))

    ppo.learn(steps, callback=on_round)
    return {"curve": curve, "seconds": clock.seconds()}


class _NormalizedSB3Actor(_SB3Actor):
    """An SB3 model acting on observations normalised by its VecNormalize's statistics."""

    def act(self, obs, state=None, deterministic=True):
        return super().act(self.model.get_env().normalize_obs(obs), state, deterministic)


def run_sb3(env, seed, steps, eval_every, episodes):
    from stable_baselines3.common.callbacks import BaseCallback

    clock = _Clock()
    model, eval_env, curve = sb3_ppo(env, seed), make_env(env), []
    actor = _NormalizedSB3Actor(model)

    class Evaluate(BaseCallback):
        """Evaluates when a rollout starts, i.e. after the previous batch's update (as ours)."""

        def _on_rollout_start(self):
            if self.num_timesteps and self.num_timesteps % eval_every == 0:
                curve.append((self.num_timesteps, clock.evaluate(actor, eval_env, episodes, seed)))

        def _on_step(self):
            return True

    model.learn(total_timesteps=steps, callback=Evaluate())
    curve.append((model.num_timesteps, clock.evaluate(actor, eval_env, episodes, seed)))
    return {"curve": curve, "seconds": clock.seconds()}


def one(library, env, seed, steps, eval_every, episodes, algorithm="ppo"):
    fn = run_ours if library == "ours" else run_sb3
    return fn(env, seed, steps, eval_every, episodes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, help="one budget for every task, rounded up to "
                        "whole rollout batches (default: BUDGETS)")
    parser.add_argument("--envs", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/ppo_vs_sb3",
                        help="folder of runs.json and curves.png")
    parser.add_argument("--md", default="benchmarks/results/ppo_vs_sb3.md",
                        help="the markdown table")
    args = parser.parse_args()
    batch = our_ppo_config().batch_size
    budgets = {env: -(-(args.steps or BUDGETS[env]) // batch) * batch for env in args.envs}
    jobs = [dict(library=lib, algorithm="ppo", env=e, seed=s, steps=budgets[e],
                 eval_every=max(1, budgets[e] // batch // EVALUATIONS) * batch,
                 episodes=args.eval_episodes)
            for e in args.envs for lib in ("ours", "sb3") for s in range(args.seeds)]
    started = time.time()
    runs = run_parallel(one, jobs, workers=args.workers, desc="runs")
    minutes = (time.time() - started) / 60
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [job | run for job, run in zip(jobs, runs)]
    (out / "runs.json").write_text(json.dumps(records, indent=1))

    rows = table(records, budgets)
    seconds = ["| env | seconds per run (training): ours | SB3 |", "|---|--:|--:|"] + [
        f"| {env} | " + " | ".join(f"{np.mean([r['seconds'] for r in records if r['env'] == env and r['library'] == lib]):.0f}"
                                   for lib in ("ours", "sb3")) + " |" for env in args.envs]
    evaluations = len(records[0]["curve"])
    command = (f"python benchmarks/ppo_vs_sb3.py --seeds {args.seeds} --workers {args.workers} "
               f"--envs {' '.join(args.envs)}" + (f" --steps {args.steps}" if args.steps else ""))
    text = "\n".join([
        f"<!-- {command}; {minutes:.0f} min -->",
        f"Deterministic test return ({args.eval_episodes} episodes, the same episode seeds for both "
        f"libraries) at the end of training, and the mean over the {evaluations} evenly spaced "
        f"evaluations; mean over {args.seeds} seed{'s' if args.seeds > 1 else ''} [95% bootstrap CI]"
        + (" (fewer than 5 seeds: the interval under-covers)" if args.seeds < 5 else "") + ".",
        "Hyperparameters: GAIL's generator (benchmarks/peer.py, rlrepro.agents.ppo), separate "
        "policy and value networks on both sides.",
        f"Curves: `{out.name}/curves.png`, every run: `{out.name}/runs.json`.", "",
        *rows, "", *seconds, ""])
    md = pathlib.Path(args.md)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(text)
    print(text)
    _plot(records, [(e, "ppo") for e in args.envs], out)


if __name__ == "__main__":
    main()
