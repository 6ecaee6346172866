"""Learned rewards: the reward models, the environment paying them, and agents trained on them."""
import dataclasses

import numpy as np
import pytest
import torch

from rlrepro.agents.training import finished_result, train
from rlrepro.envs import make_env
from rlrepro.models import learned_reward
from rlrepro.models.learned_reward import LatentReward
from rlrepro.models.state_vae import StateVAE, StateVAEConfig
from helpers import small_run

SMALL_VAE = StateVAEConfig(latent_dim=3, hidden_layers=1, hidden_size=16)


def vae(state_dim=1, seed=0):
    return StateVAE(state_dim, SMALL_VAE, seed=seed)


def test_linear_and_waypoint_rewards_combine_the_features_as_documented():
    model = vae(state_dim=4)
    states = torch.randn(5, 4)
    phi = model.encode(states, sample=False)
    theta = torch.tensor([1.0, -2.0, 0.5])
    assert torch.allclose(LatentReward(model, theta)(states), phi @ theta)
    waypoints = torch.randn(2, 3)
    expected = torch.maximum(phi @ waypoints[0], phi @ waypoints[1])
    assert torch.allclose(LatentReward(model, waypoints, "max")(states), expected)
    with pytest.raises(ValueError, match="one weight vector"):
        LatentReward(model, waypoints, "linear")
    with pytest.raises(ValueError, match="combine"):
        LatentReward(model, theta, "sum")


def test_a_saved_reward_loads_equal_and_a_foreign_file_is_a_clear_error(tmp_path):
    reward = LatentReward(vae(state_dim=4), torch.tensor([1.0, 0.0, -1.0]))
    path = reward.save(tmp_path / "reward.pt")
    states = torch.randn(7, 4)
    assert torch.equal(learned_reward.load(path)(states), reward(states))
    (tmp_path / "foreign.pt").write_bytes(b"not a reward")
    with pytest.raises(ValueError, match="foreign.pt: not a reward saved by LatentReward.save"):
        learned_reward.load(tmp_path / "foreign.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt: no such reward file"):
        learned_reward.load(tmp_path / "missing.pt")


def test_the_environment_pays_the_learned_reward_and_keeps_the_true_one():
    reward = LatentReward(vae(state_dim=12), torch.tensor([0.3, -1.0, 2.0]))
    env = make_env("hopper", reward=reward)
    env.reset(seed=0)
    obs, paid, _, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert paid == pytest.approx(float(reward(obs[None])[0]), abs=1e-6)
    assert info["true_reward"] != paid


def test_ignoring_termination_keeps_a_fallen_hopper_going_to_its_time_limit():
    falling = np.array([1.0, -1.0, 1.0], dtype=np.float32)
    ended_at = {}
    for ignore in (False, True):
        env = make_env("hopper", ignore_termination=ignore)
        env.reset(seed=0)
        for t in range(1, 1001):
            _, reward, terminated, truncated, info = env.step(falling)
            assert not ignore or reward == info["true_reward"]  # the task's own reward
            if terminated or truncated:
                ended_at[ignore] = (t, terminated)
                break
    assert ended_at[False][1] and ended_at[False][0] < 200  # the task ends the fall
    assert ended_at[True] == (1000, False)


def test_an_agent_trains_on_the_learned_reward_and_is_scored_by_the_true_return(tmp_path):
    """A reward of zero everywhere: every training episode returns exactly 0, while the
    evaluations score PointMass's own (negative) reward."""
    path = LatentReward(vae(), torch.zeros(3)).save(tmp_path / "zero.pt")
    agent, run = small_run("sac", steps=500)
    result = train(tmp_path / "run", agent, dataclasses.replace(run, reward=str(path)),
                   progress=False)
    assert {e["return"] for e in result["episode_returns"]} == {0.0}
    assert all(c["return"] < 0 for c in result["curve"])
    changed = LatentReward(vae(), torch.ones(3)).save(path)  # same file, another reward
    assert finished_result(tmp_path / "run", agent,
                           dataclasses.replace(run, reward=str(changed)), 0) is None
    with pytest.raises(FileNotFoundError, match="no learned reward file"):
        train(tmp_path / "other", agent, dataclasses.replace(run, reward="nowhere.pt"),
              progress=False)
