"""Time of one tabular RLSP run per gridworld problem, against the original implementation.

A run = enumerate the states and build the sparse model, then RLSP's gradient ascent with the
paper's settings (lr 0.1, up to 50 epochs, Gaussian prior sigma 0.5, known s_-T). The original
numpy code (HumanCompatibleAI/rlsp) took 3-13 s per run, Apples' state enumeration alone ~7 s
(measured when the project's research notes were written; see shared research deep_rlsp.md §6).
We report the median of ``--repeats`` runs in a fresh cache and the speed-up against the
*fastest* original run (3 s) for every problem, and against 13 s for the largest problems:

    python benchmarks/gridworld_rlsp_speed.py [--repeats 5]
"""
import argparse
import statistics
import time

from rlrepro.envs.gridworlds import PROBLEMS, tabular_model
from rlrepro.rlsp import tabular as rl

ORIGINAL_SECONDS = {"fastest run": 3.0, "slowest run (Apples/Batteries)": 13.0,
                    "Apples enumeration": 7.0}


def one_run(name):
    tabular_model.cache_clear()
    start = time.perf_counter()
    model = tabular_model(name)
    built = time.perf_counter()
    result = rl.rlsp(model, model.problem.horizon)
    done = time.perf_counter()
    return built - start, done - built, len(result.trace)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'problem':16s} {'states':>6s} {'build s':>8s} {'rlsp s':>8s} {'epochs':>6s} "
          f"{'total s':>8s} {'x vs 3 s':>9s} {'x vs 13 s':>9s}")
    for name in PROBLEMS:
        runs = [one_run(name) for _ in range(args.repeats)]
        build = statistics.median(r[0] for r in runs)
        solve = statistics.median(r[1] for r in runs)
        total = build + solve
        print(f"{name:16s} {tabular_model(name).n_states:6d} {build:8.3f} {solve:8.3f} "
              f"{runs[0][2]:6d} {total:8.3f} {3.0 / total:9.1f} {13.0 / total:9.1f}")
    print("original (research notes):", ORIGINAL_SECONDS)


if __name__ == "__main__":
    main()
