"""Training speed of our agents against Stable-Baselines3, of several seeds in one process, and
of the recurrent agents' updates.

1. Environment steps per second with one gradient update per step, one torch thread: ours and
   SB3's in the same process, as a ratio, at 256x256 (HalfCheetah-v5, batch 256) and at 64x64
   (Pendulum-v1, batch 100: the cpu profiles' size). Both take ``--warmup`` random steps, then
   ``--steps`` steps with updates; the warm-up time, measured by a warm-up-only run, is
   subtracted.
2. The floor: the 256x256 update's network passes alone (forward and backward through the
   critics, actor and targets on a fixed batch, no optimiser, environment or buffer).
3. Several seeds in one process: the same 64x64 SAC run for k seeds trained together
   (``train_seeds``) against one seed; time(k) / time(1).

The speed of this (virtual) machine drifts by up to ~25% over minutes, so every comparison is
measured ``--repeats`` times, alternating which side goes first, and reported as the median
ratio with its range over the repeats.
4. Updates per second of the recurrent agents, at the paper's size (2-layer LSTM 256, batches of
   10 whole 200-step episodes) and at the cpu profile's size (params.yaml).

    pip install -e .[bench]; python benchmarks/agents_speed.py [--steps 2000] [--device cuda]

``--device`` puts both libraries' networks there (the header names the card); the recurrent rows
follow it too.

Hyperparameters: benchmarks/peer.py.
"""
import argparse
import pathlib
import tempfile
import time

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.buffers import sample_members
from rlrepro.agents.training import TrainConfig, train_seeds

from peer import our_config, sb3_model

SIZES = {256: ("HalfCheetah-v5", 256), 64: ("Pendulum-v1", 100)}  # hidden: (task, batch)


def ours_seconds(algorithm, hidden, steps, warmup, seeds=1, device="cpu"):
    env, batch = SIZES[hidden]
    run = TrainConfig(env=env, total_steps=steps, random_steps=warmup, eval_every=10**9,
                      checkpoint_every=10**9)
    folders = [tempfile.mkdtemp() for _ in range(seeds)]
    return train_seeds(folders, our_config(algorithm, hidden, batch, device), run,
                       list(range(seeds)), progress=False)[0]["seconds"]


def sb3_seconds(algorithm, hidden, steps, warmup, device="cpu"):
    env, batch = SIZES[hidden]
    model = sb3_model(algorithm, env, warmup, hidden=hidden, batch=batch, device=device)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def updating_seconds(seconds_fn, steps, warmup, *args, **kwargs):
    """Seconds of the ``steps`` steps with updates (a warm-up-only run subtracted)."""
    warm = seconds_fn(*args, warmup, warmup, **kwargs)
    return seconds_fn(*args, warmup + steps, warmup, **kwargs) - warm


def network_floor(algorithm, obs_dim=17, act_dim=6, batch=256, seconds=5.0):
    """Updates/s of the forward and backward passes alone (the cost no implementation avoids)."""
    def net(n_in, n_out):
        return torch.nn.Sequential(torch.nn.Linear(n_in, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, n_out))
    q1, q2, t1, t2 = (net(obs_dim + act_dim, 1) for _ in range(4))
    actor = net(obs_dim, 2 * act_dim if algorithm == "sac" else act_dim)
    target_actor = net(obs_dim, act_dim)
    obs, next_obs, actions = torch.randn(batch, obs_dim), torch.randn(batch, obs_dim), torch.randn(batch, act_dim)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        with torch.no_grad():  # target: next action, then both target critics
            next_actions = (actor if algorithm == "sac" else target_actor)(next_obs)[:, :act_dim]
            x = torch.cat([next_obs, next_actions], 1)
            t1(x), t2(x)
        x = torch.cat([obs, actions], 1)
        (q1(x) + q2(x)).sum().backward()
        if algorithm == "sac" or n % 2 == 0:  # TD3 improves the actor every second update
            a = actor(obs)[:, :act_dim]
            x = torch.cat([obs, a], 1)
            (q1(x) + (q2(x) if algorithm == "sac" else 0)).sum().backward()
        n += 1
    return n / (time.perf_counter() - start)


def recurrent_rate(config: AgentConfig, obs_dim=3, act_dim=1, episode_len=200, seconds=10.0):
    agent = make_agent(obs_dim, act_dim, config)
    buffer = agent.make_buffer(0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        for t in range(episode_len):
            buffer.add(rng.normal(size=obs_dim), rng.uniform(-1, 1, act_dim), 0.0,
                       rng.normal(size=obs_dim), False, t == episode_len - 1)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        agent.update(sample_members([buffer], config.batch_size))
        n += 1
    return n / (time.perf_counter() - start)


def median_and_range(values):
    return f"{np.median(values):.2f}x [{min(values):.2f}, {max(values):.2f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=4, help="k of the several-seeds row")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-sb3", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where both train")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = args.device
    where = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"

    print(f"## Steps/s with one update per step, 1 thread, networks on {where} (median of "
          f"{args.repeats} repeats; ratios: median [min, max] of the repeats' ratios)\n")
    print("| network | task, batch | algorithm | ours | Stable-Baselines3 | ours / SB3 | "
          "network passes alone (updates/s) | ours / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for hidden, (env, batch) in SIZES.items():
        for algorithm in ("sac", "td3"):
            ours, peer, floor = [], [], []
            for repeat in range(args.repeats):
                sides = ["ours", "sb3"] if repeat % 2 == 0 else ["sb3", "ours"]
                for side in sides:
                    if side == "ours":
                        ours.append(args.steps / updating_seconds(
                            ours_seconds, args.steps, args.warmup, algorithm, hidden,
                            device=device))
                    elif not args.skip_sb3:
                        peer.append(args.steps / updating_seconds(
                            sb3_seconds, args.steps, args.warmup, algorithm, hidden,
                            device=device))
                if hidden == 256 and device == "cpu":  # the floor is a CPU measure
                    floor.append(network_floor(algorithm))
            vs_peer = median_and_range([o / p for o, p in zip(ours, peer)]) if peer else "n/a"
            vs_floor = median_and_range([o / f for o, f in zip(ours, floor)]) if floor else "n/a"
            print(f"| {hidden}x{hidden} | {env}, {batch} | {algorithm} | {np.median(ours):.1f} | "
                  f"{np.median(peer) if peer else float('nan'):.1f} | {vs_peer} | "
                  f"{np.median(floor) if floor else float('nan'):.1f} | {vs_floor} |", flush=True)

    print(f"\n## Several seeds in one process (SAC 64x64, Pendulum-v1, batch 100, "
          f"{args.warmup} + {args.steps} steps)\n")
    one, several = [], []
    for repeat in range(args.repeats):
        for k in ([1, args.seeds] if repeat % 2 == 0 else [args.seeds, 1]):
            (one if k == 1 else several).append(
                ours_seconds("sac", 64, args.warmup + args.steps, args.warmup, seeds=k,
                             device=device))
    total = args.warmup + args.steps
    print(f"| seeds | seconds (median) | time / time of one seed | steps/s over all seeds |\n"
          f"|---|---|---|---|\n"
          f"| 1 | {np.median(one):.1f} | 1.00 | {total / np.median(one):.1f} |\n"
          f"| {args.seeds} | {np.median(several):.1f} | "
          f"{median_and_range([s / o for s, o in zip(several, one)])} | "
          f"{args.seeds * total / np.median(several):.1f} |", flush=True)

    from rlrepro import params
    from rlrepro.experiments.recurrent_offpolicy import Config

    cpu = params.load("recurrent_offpolicy", Config, "cpu",
                      path=pathlib.Path(__file__).parents[1] / "params.yaml").agent
    sizes = {"paper (2x256 LSTM, 10 episodes)": dict(summary_size=256, summary_layers=2,
                                                     sequences_per_batch=10, segment_len=0),
             "cpu profile": dict(summary_size=cpu.summary_size, cell=cpu.cell,
                                 summary_layers=cpu.summary_layers,
                                 sequences_per_batch=cpu.sequences_per_batch,
                                 segment_len=cpu.segment_len)}
    print("\n## Recurrent updates/s (pendulum-sized observations, 200-step episodes)\n")
    print("| size | rdpg | rtd3 | rsac | rsac_s |")
    print("|---|---|---|---|---|")
    for name, size in sizes.items():
        hidden = cpu.hidden if name == "cpu profile" else (256, 256)
        rates = [recurrent_rate(AgentConfig(algorithm=a, hidden=hidden, device=device, **size))
                 for a in ("rdpg", "rtd3", "rsac", "rsac_s")]
        print(f"| {name} | " + " | ".join(f"{r:.1f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
