"""The shared settings of the Stable-Baselines3 comparisons: one set of hyperparameters, built
as our AgentConfig and as an SB3 model.

256x256 networks, batch 256 (the speed benchmark also uses 64x64, batch 100: the cpu
profiles' size), Adam (SAC 3e-4, TD3 1e-3, as both libraries' TD3 defaults),
tau 0.005, gamma 0.99, one update per environment step after the warm-up, TD3 exploration noise
0.1, target noise 0.2 clipped at 0.5, policy delay 2; SAC's temperature tuned from 1.0 towards
entropy -|A|. PPO (``our_ppo_config``, ``sb3_ppo``): GAIL's generator, see below.
"""
import numpy as np

from rlrepro.agents.algorithms import AgentConfig


def learning_rate(algorithm):
    return 3e-4 if algorithm == "sac" else 1e-3


def our_config(algorithm, hidden=256, batch=256, device="cpu") -> AgentConfig:
    return AgentConfig(algorithm=algorithm, hidden=(hidden, hidden), transitions_per_batch=batch,
                       lr=learning_rate(algorithm), polyak=0.995, device=device)


def sb3_model(algorithm, env_id, warmup, seed=0, hidden=256, batch=256, device="cpu"):
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.noise import NormalActionNoise

    env = gym.make(env_id)
    kwargs = dict(learning_rate=learning_rate(algorithm), buffer_size=1_000_000, batch_size=batch,
                  tau=0.005, gamma=0.99, learning_starts=warmup, train_freq=1, gradient_steps=1,
                  policy_kwargs=dict(net_arch=[hidden, hidden]), device=device, seed=seed)
    if algorithm == "td3":
        act_dim = env.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(act_dim), 0.1 * np.ones(act_dim))
    return getattr(sb3, algorithm.upper())("MlpPolicy", env, **kwargs)


# --- PPO (benchmarks/ppo_vs_sb3.py) -------------------------------------------------------------
# GAIL's generator (rlrepro.agents.ppo defaults: imitation v0.1.1's PPO2) on both sides, with
# separate policy and value networks: SB3 has no shared layers since 1.8, where ours defaults to
# the original's shared trunk. SB3's value loss has no factor 0.5, so its vf_coef is ours / 2;
# its ``clip_range_vf`` is PPO2's value clipping; VecNormalize normalises observations and
# rewards with the settings of ours.


def our_ppo_config():
    from rlrepro.agents.ppo import PPOConfig

    return PPOConfig(shared=False)


def sb3_ppo(env_id, seed=0):
    """SB3's PPO on ``n_envs`` copies of ``make_env(env_id)`` (actions in [-1, 1], as ours)
    wrapped in VecNormalize; the model's ``get_env()`` is the VecNormalize (its statistics
    normalise evaluation observations)."""
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from rlrepro.envs import make_env

    c = our_ppo_config()
    venv = VecNormalize(make_vec_env(lambda: make_env(env_id), n_envs=c.n_envs, seed=seed),
                        norm_obs=c.normalize_obs, norm_reward=c.normalize_reward,
                        clip_obs=c.clip_obs, clip_reward=c.clip_reward, gamma=c.gamma,
                        epsilon=1e-8)
    policy_kwargs = dict(net_arch=dict(pi=list(c.hidden), vf=list(c.hidden)),
                         activation_fn=torch.nn.Tanh, log_std_init=c.init_log_std, ortho_init=True)
    return sb3.PPO("MlpPolicy", venv, learning_rate=c.lr, n_steps=c.n_steps,
                   batch_size=c.batch_size // c.minibatches, n_epochs=c.epochs, gamma=c.gamma,
                   gae_lambda=c.gae_lambda, clip_range=c.clip, clip_range_vf=c.clip_value or None,
                   normalize_advantage=c.normalize_advantage, ent_coef=c.entropy_coef,
                   vf_coef=c.value_coef / 2, max_grad_norm=c.max_grad_norm,
                   policy_kwargs=policy_kwargs, device="cpu", seed=seed)
