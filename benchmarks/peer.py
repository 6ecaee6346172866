"""The shared settings of the Stable-Baselines3 comparisons: one set of hyperparameters, built
as our AgentConfig and as an SB3 model.

256x256 networks, batch 256 (the speed benchmark also uses 64x64, batch 100: the cpu
profiles' size), Adam (SAC 3e-4, TD3 1e-3, as both libraries' TD3 defaults),
tau 0.005, gamma 0.99, one update per environment step after the warm-up, TD3 exploration noise
0.1, target noise 0.2 clipped at 0.5, policy delay 2; SAC's temperature tuned from 1.0 towards
entropy -|A|.
"""
import numpy as np

from rlrepro.agents.algorithms import AgentConfig


def learning_rate(algorithm):
    return 3e-4 if algorithm == "sac" else 1e-3


def our_config(algorithm, hidden=256, batch=256) -> AgentConfig:
    return AgentConfig(algorithm=algorithm, hidden=(hidden, hidden), transitions_per_batch=batch,
                       lr=learning_rate(algorithm), polyak=0.995)


def sb3_model(algorithm, env_id, warmup, seed=0, hidden=256, batch=256):
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.noise import NormalActionNoise

    env = gym.make(env_id)
    kwargs = dict(learning_rate=learning_rate(algorithm), buffer_size=1_000_000, batch_size=batch,
                  tau=0.005, gamma=0.99, learning_starts=warmup, train_freq=1, gradient_steps=1,
                  policy_kwargs=dict(net_arch=[hidden, hidden]), device="cpu", seed=seed)
    if algorithm == "td3":
        act_dim = env.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(act_dim), 0.1 * np.ones(act_dim))
    return getattr(sb3, algorithm.upper())("MlpPolicy", env, **kwargs)
