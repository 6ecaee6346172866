"""Speed of Deep RLSP's gradient estimator on MuJoCo: simulated states per second of ours
(``rlsp.mujoco.estimate_gradient``: every step one batched network call for all trajectories,
the forward rollouts over a batch of simulators) against a per-sample loop with the same models
and simulators, the structure of the original's ``compute_grad`` (one network call per
trajectory and step).

Both estimate one gradient at the paper's sizes (VAE 2x512, inverse dynamics 5x1024, inverse
policy 3x512, SAC policy 256x256, 200 trajectories) on HalfCheetah with untrained networks (speed
does not depend on the weights); a simulated state is one backward or forward step of one
trajectory. One torch thread; each side is timed ``--repeats`` times, alternating which goes
first, and the ratio is the median over the repeats with its range.

    python benchmarks/deep_rlsp_speed.py [--horizon 30] [--trajectories 200] [--repeats 3]
"""
import argparse
import pathlib
import time

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.envs import make_env
from rlrepro.envs.mujoco import set_state
from rlrepro.models.inverse_dynamics import InverseDynamics
from rlrepro.models.inverse_policy import InversePolicy
from rlrepro.models.state_vae import StateVAE
from rlrepro.rlsp.mujoco import LearnedPast, SimulatorBatch, estimate_gradient

TASK = "cheetah_fw"


def models(seed=0):
    env = make_env(TASK)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    vae = StateVAE(obs_dim, seed=seed)
    past = LearnedPast(InversePolicy(obs_dim, env.action_space.low, env.action_space.high,
                                     seed=seed),
                       InverseDynamics(obs_dim, act_dim, seed=seed),
                       torch.Generator().manual_seed(seed))
    agent = make_agent(obs_dim, act_dim, AgentConfig(algorithm="sac", hidden=(256, 256)))
    observed = np.stack([env.reset(seed=k)[0] for k in range(50)]).astype(np.float32)
    return vae, past, agent, observed


def ours(vae, past, agent, observed, horizon, simulators):
    rng = np.random.default_rng(0)
    estimate_gradient(observed, horizon, past, simulators,
                      lambda obs: agent.act_on_states(obs[None])[0],
                      lambda states: vae.encode(states, sample=False).numpy(), rng)


def per_sample(vae, past, agent, observed, horizon, simulators):
    """The original's structure: each trajectory walked and rolled on its own."""
    env = simulators.envs[0]
    backward = forward = 0.0
    for k in range(len(simulators.envs)):
        obs = observed[k % len(observed)][None]
        total = vae.encode(obs, sample=False).numpy()
        for t in range(horizon):
            obs = past.backward_step(t, obs)
            total = total + vae.encode(obs, sample=False).numpy()
        backward = backward + total
        obs = set_state(env, obs[0])[None]
        total = vae.encode(obs, sample=False).numpy()
        for t in range(horizon):
            action = agent.act(obs)[0]
            obs = env.step(action[0])[0][None]
            total = total + vae.encode(obs, sample=False).numpy()
        forward = forward + total
    return backward - forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--trajectories", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" /
                                            "deep_rlsp_speed.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    vae, past, agent, observed = models()
    simulators = SimulatorBatch(TASK, args.trajectories)
    states = 2 * args.horizon * args.trajectories  # backward and forward steps
    rates = {"ours": [], "per-sample": []}
    for repeat in range(args.repeats):
        order = [("ours", ours), ("per-sample", per_sample)]
        for name, estimator in order if repeat % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            estimator(vae, past, agent, observed, args.horizon, simulators)
            rates[name].append(states / (time.perf_counter() - start))
            print(f"repeat {repeat}: {name} {rates[name][-1]:.0f} simulated states/s", flush=True)
    ratios = np.array(rates["ours"]) / np.array(rates["per-sample"])
    lines = [f"<!-- python benchmarks/deep_rlsp_speed.py --horizon {args.horizon} "
             f"--trajectories {args.trajectories} --repeats {args.repeats}, one run on the "
             f"2-core machine, one torch thread -->", "",
             "## Deep RLSP's gradient estimator: simulated states per second (HalfCheetah, "
             "paper-sized models)", "",
             "| estimator | states/s (median) |", "|---|--:|",
             f"| ours (batched over trajectories) | {np.median(rates['ours']):.0f} |",
             f"| per sample (the original's structure) | {np.median(rates['per-sample']):.0f} |",
             "", f"Ratio: **{np.median(ratios):.1f}x** [{ratios.min():.1f}, {ratios.max():.1f}]"
             f" (median [min, max] over {args.repeats} repeats)."]
    pathlib.Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
