"""Returns of our SAC and TD3 against Stable-Baselines3 with the same hyperparameters and budget.

Both libraries train with the hyperparameters of ``benchmarks/peer.py`` (256x256, batch 256,
one update per step after ``--warmup`` random steps). Every final policy is
evaluated by the same function on the same 10 episode seeds; we report the mean over seeds with
a 95% bootstrap interval (rliable) and a curve figure.

    pip install -e .[bench]; python benchmarks/agents_vs_sb3.py [--seeds 5] [--workers 2]
"""
import argparse
import json
import pathlib
import tempfile

import numpy as np

from rlrepro.agents.training import TrainConfig, train
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import evaluate
from rlrepro.evaluation.statistics import mean_interval
from rlrepro.runner import run_parallel

from peer import our_config, sb3_model

BUDGETS = {"Pendulum-v1": 10_000, "InvertedPendulum-v5": 15_000}
EVAL_EPISODES, EVALUATIONS = 10, 5  # evaluations per run, evenly spaced


def run_ours(algorithm, env, seed, steps, warmup):
    run = TrainConfig(env=env, total_steps=steps, random_steps=warmup, eval_every=steps // EVALUATIONS,
                      eval_episodes=EVAL_EPISODES, checkpoint_every=10**9)
    result = train(tempfile.mkdtemp(), our_config(algorithm), run, seed=seed, progress=False)
    return [(c["step"], c["return"]) for c in result["curve"]]


class _SB3Actor:
    """Our evaluation interface around an SB3 model (which takes raw-scale actions)."""

    def __init__(self, model):
        self.model = model

    def initial_state(self):
        return None

    def act(self, obs, state=None, deterministic=True):
        action, _ = self.model.predict(obs, deterministic=True)
        low, high = self.model.action_space.low, self.model.action_space.high
        return 2 * (action - low) / (high - low) - 1, None  # our eval env takes [-1, 1]


def run_sb3(algorithm, env, seed, steps, warmup):
    from stable_baselines3.common.callbacks import BaseCallback

    model, eval_env = sb3_model(algorithm, env, warmup, seed), make_env(env)
    curve = []

    class Evaluate(BaseCallback):
        def _on_step(self):
            if self.num_timesteps % (steps // EVALUATIONS) == 0:
                returns = evaluate(_SB3Actor(model), [eval_env], EVAL_EPISODES, [seed])
                curve.append((self.num_timesteps, float(returns.mean())))
            return True

    model.learn(total_timesteps=steps, callback=Evaluate())
    return curve


def one(library, algorithm, env, seed, steps, warmup):
    fn = run_ours if library == "ours" else run_sb3
    return fn(algorithm, env, seed, steps, warmup)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--steps", type=int, help="one budget for every task (default: BUDGETS)")
    parser.add_argument("--envs", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--algorithms", nargs="+", default=["sac", "td3"], choices=["sac", "td3"])
    parser.add_argument("--out", default="benchmarks/results/agents_vs_sb3")
    args = parser.parse_args()
    budgets = {env: args.steps or BUDGETS[env] for env in args.envs}
    jobs = [dict(library=lib, algorithm=a, env=e, seed=s, steps=budgets[e], warmup=args.warmup)
            for e in args.envs for a in args.algorithms for lib in ("ours", "sb3")
            for s in range(args.seeds)]
    curves = run_parallel(one, jobs, workers=args.workers, desc="runs")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [job | {"curve": curve} for job, curve in zip(jobs, curves)]
    (out / "runs.json").write_text(json.dumps(records, indent=1))

    print("\n".join(table(records, budgets)))
    _plot(records, [(e, a) for e in args.envs for a in args.algorithms], out)


def table(records, budgets):
    """Markdown rows: the final return and the mean over all evaluations (the area under the
    learning curve, robust to a late jump), each the mean over seeds with a 95% bootstrap CI."""
    def cell(estimates, lib):
        mean, low, high = (estimates[lib][i][0] for i in range(3))
        return f"{mean:.1f} [{low:.1f}, {high:.1f}]"

    rows = ["| env | algorithm | steps | final: ours | final: SB3 | curve mean: ours | curve mean: SB3 |",
            "|---|---|--:|--:|--:|--:|--:|"]
    for env, steps in budgets.items():
        for algorithm in sorted({r["algorithm"] for r in records if r["env"] == env}):
            runs = {lib: [[v for _, v in r["curve"]] for r in records if r["library"] == lib
                          and r["env"] == env and r["algorithm"] == algorithm]
                    for lib in ("ours", "sb3")}
            final = mean_interval({k: [[c[-1]] for c in v] for k, v in runs.items()})
            area = mean_interval({k: [[np.mean(c)] for c in v] for k, v in runs.items()})
            rows.append(f"| {env} | {algorithm} | {steps} | {cell(final, 'ours')} | "
                        f"{cell(final, 'sb3')} | {cell(area, 'ours')} | {cell(area, 'sb3')} |")
    return rows


def _plot(records, panels, folder):
    from rlrepro import plots

    plots.setup()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.5), squeeze=False)
    for ax, (env, algorithm) in zip(axes[0], panels):
        for lib, color in (("ours", "C0"), ("sb3", "C1")):
            runs = [r["curve"] for r in records if r["library"] == lib and r["env"] == env
                    and r["algorithm"] == algorithm]
            steps = [s for s, _ in runs[0]]
            values = np.array([[v for _, v in run] for run in runs])
            ax.plot(steps, values.mean(0), color=color, label=lib)
            ax.fill_between(steps, values.min(0), values.max(0), color=color, alpha=0.2)
        ax.set(title=f"{algorithm.upper()} {env}", xlabel="environment steps", ylabel="return")
        ax.legend()
    plots.save(fig, folder, "curves")
    print(f"curves: {folder}/curves.png")


if __name__ == "__main__":
    main()
