"""Training speed of our SAC and TD3 against Stable-Baselines3, and recurrent update rates.

1. Environment steps per second on HalfCheetah-v5 with one gradient update per step, 256x256
   networks, batch 256, one torch thread: ours and SB3's in the same process, as a ratio. Both
   take ``--warmup`` random steps, then ``--steps`` steps with updates; the warm-up time, measured
   by a warm-up-only run, is subtracted.
2. The floor: the same update's network passes alone (forward and backward through the
   critics, actor and targets on a fixed batch, no optimiser, environment or buffer).
3. Updates per second of the recurrent agents, at the paper's size (2-layer LSTM 256, batches of
   10 whole 200-step episodes) and at the cpu profile's size (params.yaml).

    pip install -e .[bench]; python benchmarks/agents_speed.py [--steps 2000]

Hyperparameters: benchmarks/peer.py.
"""
import argparse
import tempfile
import time

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.training import TrainConfig, train

from peer import our_config, sb3_model


def ours_seconds(algorithm, env, steps, warmup):
    run = TrainConfig(env=env, total_steps=steps, random_steps=warmup, eval_every=10**9,
                      checkpoint_every=10**9)
    return train(tempfile.mkdtemp(), our_config(algorithm), run, progress=False)["seconds"]


def sb3_seconds(algorithm, env, steps, warmup):
    model = sb3_model(algorithm, env, warmup)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def rate(seconds_fn, algorithm, env, steps, warmup):
    """Steps per second of the updating phase."""
    warm = seconds_fn(algorithm, env, warmup, warmup)
    total = seconds_fn(algorithm, env, warmup + steps, warmup)
    return steps / (total - warm)


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


def recurrent_rate(algorithm, config: AgentConfig, obs_dim=3, act_dim=1, episode_len=200,
                   seconds=10.0):
    agent = make_agent(obs_dim, act_dim, config)
    buffer = agent.make_buffer(0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        for t in range(episode_len):
            buffer.add(rng.normal(size=obs_dim), rng.uniform(-1, 1, act_dim), 0.0,
                       rng.normal(size=obs_dim), False, t == episode_len - 1)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        agent.update(buffer.sample(config.batch_size))
        n += 1
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--skip-sb3", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print(f"## Steps/s with one update per step, {args.env}, 256x256, batch 256, 1 thread\n")
    print("| algorithm | ours | Stable-Baselines3 | ratio | network passes alone (updates/s) | ours / floor |")
    print("|---|---|---|---|---|---|")
    for algorithm in ("sac", "td3"):
        ours = rate(ours_seconds, algorithm, args.env, args.steps, args.warmup)
        peer = float("nan") if args.skip_sb3 else rate(sb3_seconds, algorithm, args.env,
                                                       args.steps, args.warmup)
        floor = network_floor(algorithm)
        print(f"| {algorithm} | {ours:.1f} | {peer:.1f} | {ours / peer:.2f}x | {floor:.1f} | "
              f"{ours / floor:.2f} |", flush=True)

    import yaml
    cpu = yaml.safe_load(open("params.yaml"))["recurrent_offpolicy"]["cpu"]
    sizes = {"paper (2x256 LSTM, 10 episodes)": dict(summary_size=256, summary_layers=2,
                                                     sequences_per_batch=10, segment_len=0),
             "cpu profile": dict(summary_size=cpu["summary_size"], cell=cpu["cell"],
                                 summary_layers=cpu["summary_layers"],
                                 sequences_per_batch=cpu["sequences_per_batch"],
                                 segment_len=cpu["segment_len"])}
    print("\n## Recurrent updates/s (pendulum-sized observations, 200-step episodes)\n")
    print("| size | rdpg | rtd3 | rsac | rsac_s |")
    print("|---|---|---|---|---|")
    for name, size in sizes.items():
        hidden = tuple(cpu["hidden"]) if name == "cpu profile" else (256, 256)
        rates = [recurrent_rate(a, AgentConfig(algorithm=a, hidden=hidden, **size))
                 for a in ("rdpg", "rtd3", "rsac", "rsac_s")]
        print(f"| {name} | " + " | ".join(f"{r:.1f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
