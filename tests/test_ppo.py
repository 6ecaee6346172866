"""PPO: it learns a task it must learn, is reproducible from its seed, resumes exactly from a
checkpoint, pays a given reward function instead of the environment's, and acts like an agent."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from rlrepro.agents.ppo import PPO, PPOConfig
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import evaluate

torch.set_num_threads(1)

# A small configuration for the tests that check bookkeeping rather than learning.
TINY = PPOConfig(n_envs=2, n_steps=64, minibatches=4, epochs=2)


def make_ppo(config=TINY, seed=0, env="Pendulum-v1"):
    return PPO([make_env(env) for _ in range(config.n_envs)], config, seed)


def parameters(ppo):
    return [p.detach().clone() for p in ppo.net.parameters()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_ppo_learns_to_balance_the_inverted_pendulum():
    """With the original's hyperparameters, 6 rounds (12288 steps, ~5 s) take the deterministic
    return from ~23 (falling at once) to ~100 (seeds 0-2: 113, 142, 106; 1000 after ~30k steps)."""
    ppo = make_ppo(PPOConfig(), seed=0, env="InvertedPendulum-v5")
    env = make_env("InvertedPendulum-v5")
    before = evaluate(ppo, [env], 5, [0]).mean()
    log = ppo.learn(12_288)
    after = evaluate(ppo, [env], 5, [0]).mean()
    assert len(log) == 6 and ppo.steps == 12_288
    assert after >= max(3 * before, 60.0), (before, after)


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    runs = []
    for seed in (0, 0, 1):
        ppo = make_ppo(seed=seed)
        log = ppo.learn(2 * TINY.batch_size)
        runs.append((parameters(ppo), log))
    assert_same(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert not torch.equal(runs[0][0][0], runs[2][0][0])


def test_a_resumed_run_continues_exactly_as_the_uninterrupted_one(tmp_path):
    """Pendulum episodes last 200 steps: the checkpoint after 2 rounds of 64 steps per
    environment is mid-episode, so resuming replays every environment's episode."""
    uninterrupted = make_ppo()
    uninterrupted.learn(2 * TINY.batch_size)
    uninterrupted.save(tmp_path)
    expected = uninterrupted.learn(4 * TINY.batch_size)

    state = torch.load(tmp_path / "ppo.pt", weights_only=True)  # plain state dicts and tensors
    assert state["steps"] == 2 * TINY.batch_size
    resumed = make_ppo()
    resumed.load(tmp_path)
    assert resumed.steps == 2 * TINY.batch_size
    assert resumed.learn(4 * TINY.batch_size) == expected
    assert_same(parameters(resumed), parameters(uninterrupted))


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    make_ppo().save(tmp_path)
    other = make_ppo(PPOConfig(n_envs=2, n_steps=64, minibatches=4, epochs=3))
    with pytest.raises(ValueError, match="different PPO run.*'epochs': 2.*'epochs': 3"):
        other.load(tmp_path)


def test_a_reward_function_replaces_the_reward_and_true_returns_are_logged():
    """Pendulum pays at most 0 a step; the reward function pays 1 for every step. The batch
    carries the paid rewards and the raw transitions, the log the true (negative) returns."""
    ppo = make_ppo(PPOConfig(n_envs=2, n_steps=128, minibatches=4, epochs=1))
    seen = []

    def reward_fn(obs, actions, next_obs):
        seen.append((obs.shape, actions.shape, next_obs.shape))
        assert np.all(np.abs(actions) <= 1.0)
        return np.ones(len(obs))

    batch, info = ppo.collect(reward_fn)
    assert seen == [((256, 3), (256, 1), (256, 3))]
    assert torch.all(batch["rewards"] == 1.0)
    batch, info = ppo.collect(reward_fn)  # 256 steps per environment: both episodes ended
    assert len(info["episode_returns"]) == 2 and all(r < 0 for r in info["episode_returns"])
    # a step's next_obs is the next step's obs, except where an episode ended (then a reset)
    obs, next_obs = batch["raw_obs"].view(128, 2, 3), batch["raw_next_obs"].view(128, 2, 3)
    end = 200 - 128 - 1  # the step of this batch that ends the first episodes
    assert torch.equal(obs[1:end + 1], next_obs[:end])
    assert not torch.equal(obs[end + 1], next_obs[end])


def test_ppo_acts_like_an_agent_in_the_evaluation_loop():
    ppo = make_ppo()
    obs = np.zeros((3, 3), np.float32)
    actions, state = ppo.act(obs, ppo.initial_state(), deterministic=True)
    assert actions.shape == (3, 1) and state is None
    sampled, _ = ppo.act(obs)
    assert np.all(np.abs(sampled) <= 1.0) and not np.array_equal(sampled, actions)
    returns = evaluate(ppo, [make_env("Pendulum-v1")], 2, [0])
    assert returns.shape == (1, 2)


def test_environments_must_act_in_minus_one_to_one():
    with pytest.raises(ValueError, match="rlrepro.envs.make_env"):
        PPO([gym.make("Pendulum-v1") for _ in range(2)], TINY)  # actions in [-2, 2]
    with pytest.raises(ValueError, match="must divide"):
        PPOConfig(n_envs=3, n_steps=10, minibatches=4)
