"""Whole-process time of one tabular RLSP run: ours against the original code, side by side.

One run is what a user starts from the shell: interpreter start, imports, building the problem,
RLSP's gradient ascent from the known s_-T (horizon T = 11, learning rate 0.1, at most 50 epochs,
Gaussian prior with std 0.5, temperature 1, seed 0), then optimal planning from s_0 for 20 steps
with r_spec + theta, scored by the fraction of the maximum true reward. The two commands, both
with their defaults for everything not given:

    ours:      python -m rlrepro.rlsp apples
               python -m rlrepro.rlsp batteries
    original:  python src/run.py -e apples -p default -c additive -i rlsp \\
                   -d true_reward,final_reward -s 0 -T 11 -x 20
               python src/run.py -e batteries -p default -c additive -i rlsp \\
                   -d true_reward,final_reward -s 0 -T 11 -x 20

(the original's commands of experiments.sh; its Batteries ``default`` is our ``batteries``, the
hard one). Each command runs once untimed, so that both start from cached bytecode as on a
user's second run, then ``--repeats`` times, alternating ours and the original; the table has
the median wall-clock seconds and the fraction each printed. The original is a checkout of
github.com/HumanCompatibleAI/rlsp with a Python that has numpy and scipy:

    python benchmarks/gridworld_rlsp_speed.py --original /tmp/rlsp-original \\
        --original-python /tmp/rlsp-venv/bin/python [--repeats 5]

Without ``--original`` only ours runs.
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

PROBLEMS = ("apples", "batteries")  # the same names in the original (-e), problem -p default
OUT = pathlib.Path(__file__).parent / "results" / "gridworld_rlsp_speed.md"


def ours(problem):
    return [sys.executable, "-m", "rlrepro.rlsp", problem], None


def original(problem, checkout, python):
    return ([python, "src/run.py", "-e", problem, "-p", "default", "-c", "additive",
             "-i", "rlsp", "-d", "true_reward,final_reward", "-s", "0", "-T", "11", "-x", "20"],
            checkout)


def timed(command, cwd):
    """Wall-clock seconds of the whole process, and the fraction of the true reward it printed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # Python's default: compiled modules are cached
    start = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - start
    # ours: "fraction of the maximum true reward: 0.9985"; the original: "[[[np.float64(0.9985...)"
    found = re.search(r"true reward: ([\d.]+)|\[\[\[(?:np\.float64\()?([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"{' '.join(command)} printed no fraction:\n{out[-1000:]}")
    return seconds, float(found.group(1) or found.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=pathlib.Path, help="checkout of HumanCompatibleAI/rlsp")
    parser.add_argument("--original-python", default="python",
                        help="a Python with numpy and scipy for the original")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.original is None or not (args.original / "src" / "run.py").is_file():
        print(f"original code not found (--original {args.original}): timing ours only")
        args.original = None

    rows = ["| problem | ours (s) | original (s) | speed-up | true-reward fraction: ours | original |",
            "|---|--:|--:|--:|--:|--:|"]
    for problem in PROBLEMS:
        commands = {"ours": ours(problem)}
        if args.original:
            commands["original"] = original(problem, args.original, args.original_python)
        runs = {name: [] for name in commands}
        for repeat in range(args.repeats + 1):
            for name, (command, cwd) in commands.items():
                result = timed(command, cwd)
                if repeat > 0:  # the first run warms the bytecode caches
                    runs[name].append(result)
        seconds = {name: statistics.median(s for s, _ in r) for name, r in runs.items()}
        fraction = {name: r[-1][1] for name, r in runs.items()}
        if args.original:
            rows.append(f"| {problem} | {seconds['ours']:.2f} | {seconds['original']:.2f} | "
                        f"{seconds['original'] / seconds['ours']:.1f}x | {fraction['ours']:.4f} | "
                        f"{fraction['original']:.4f} |")
        else:
            rows.append(f"| {problem} | {seconds['ours']:.2f} | — | — | {fraction['ours']:.4f} | — |")
        print(rows[-1], flush=True)

    command = "python " + " ".join(sys.argv)
    header = (f"<!-- {command}; median of {args.repeats} runs after one untimed run each, "
              f"{os.cpu_count()}-core machine shared with other work -->")
    text = "\n".join([
        header, "", "## Whole-process seconds of one tabular RLSP run and its evaluation",
        "`python -m rlrepro.rlsp <problem>` against the original's `python src/run.py -e <problem> "
        "-p default -c additive -i rlsp -d true_reward,final_reward -s 0 -T 11 -x 20`.", "", *rows])
    print(text)
    if args.original:
        OUT.write_text(text + "\n")
        print(f"written to {OUT}")


if __name__ == "__main__":
    main()
