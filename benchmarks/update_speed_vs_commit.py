"""Updates per second of this working tree's agents against those of a past commit, side by side.

Each configuration (algorithm, network size, seeds in one process) is measured in a fresh
process for ``--seconds``, alternating the two versions ``--repeats`` times (the machine's speed
drifts over minutes); one iteration is sampling a batch from a filled replay buffer and one
update, one torch thread. Reports each version's median rate and the median ratio with its range.
The past commit's package is exported with ``git archive`` and put first on PYTHONPATH.

    python benchmarks/update_speed_vs_commit.py --commit ae412f7
"""
import argparse
import pathlib
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
# name: (algorithm, hidden, transitions or sequences per batch, members, extra AgentConfig)
CONFIGS = {
    "sac 64x64, batch 100": ("sac", 64, 100, 1, {}),
    "td3 64x64, batch 100": ("td3", 64, 100, 1, {}),
    "sac 64x64, batch 100, 4 seeds": ("sac", 64, 100, 4, {}),
    "sac 256x256, batch 256": ("sac", 256, 256, 1, {}),
    "td3 256x256, batch 256": ("td3", 256, 256, 1, {}),
    "rsac cpu profile (LSTM 64, 5 episodes)": ("rsac", 64, 5, 1, dict(summary_size=64,
                                                                      summary_layers=1)),
    "rtd3 cpu profile (LSTM 64, 5 episodes)": ("rtd3", 64, 5, 1, dict(summary_size=64,
                                                                      summary_layers=1)),
}


def measure(name: str, seconds: float) -> float:
    """Iterations per second of one configuration, with whichever rlrepro is importable."""
    import time

    import torch

    from rlrepro.agents.algorithms import AgentConfig, make_agent
    from rlrepro.agents.buffers import sample_members

    torch.set_num_threads(1)
    algorithm, hidden, batch, members, extra = CONFIGS[name]
    recurrent = algorithm.startswith("r")
    obs_dim, act_dim = (3, 1) if hidden == 64 else (17, 6)
    size = dict(sequences_per_batch=batch) if recurrent else dict(transitions_per_batch=batch)
    config = AgentConfig(algorithm=algorithm, hidden=(hidden, hidden), segment_len=0, **size,
                         **extra)
    agent = make_agent(obs_dim, act_dim, config, seeds=list(range(members)))
    buffers = [agent.make_buffer(i) for i in range(members)]
    rng = np.random.default_rng(0)
    for buffer in buffers:
        for t in range(4000):  # 20 episodes of 200 steps
            buffer.add(rng.normal(size=obs_dim), rng.uniform(-1, 1, act_dim), rng.normal(),
                       rng.normal(size=obs_dim), False, t % 200 == 199)
    for _ in range(5):
        agent.update(sample_members(buffers, batch))
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        agent.update(sample_members(buffers, batch))
        n += 1
    return n / (time.perf_counter() - start)


def rate(lib: pathlib.Path, name: str, seconds: float) -> float:
    out = subprocess.run([sys.executable, __file__, "--measure", name, "--seconds", str(seconds)],
                         env={"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", help="the past version (any git revision)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(measure(args.measure, args.seconds))
        return
    if not args.commit:
        parser.error("--commit: expected the git revision to compare against")
    with tempfile.TemporaryDirectory() as past:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.commit, "lib"],
                                 capture_output=True, check=True).stdout
        with tempfile.TemporaryFile() as f:
            f.write(archive)
            f.seek(0)
            tarfile.open(fileobj=f).extractall(past, filter="data")
        libs = {"now": REPO / "lib", args.commit: pathlib.Path(past) / "lib"}
        print(f"## Iterations/s (batch sampling + one update), this tree vs {args.commit} "
              f"(median of {args.repeats} repeats of {args.seconds:.0f} s; ratio: median "
              f"[min, max])\n")
        print(f"| configuration | now | {args.commit} | now / {args.commit} |\n|---|---|---|---|")
        for name in CONFIGS:
            rates = {version: [] for version in libs}
            for repeat in range(args.repeats):
                order = list(libs) if repeat % 2 == 0 else list(libs)[::-1]
                for version in order:
                    rates[version].append(rate(libs[version], name, args.seconds))
            ratios = [a / b for a, b in zip(rates["now"], rates[args.commit])]
            print(f"| {name} | {np.median(rates['now']):.1f} | "
                  f"{np.median(rates[args.commit]):.1f} | {np.median(ratios):.2f}x "
                  f"[{min(ratios):.2f}, {max(ratios):.2f}] |", flush=True)


if __name__ == "__main__":
    main()
