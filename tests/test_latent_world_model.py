"""Replay of picture episodes, the linear probe, and acting through a world model."""
import numpy as np
import pytest
import torch

from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import UniformPolicy, run_episodes
from rlrepro.latent import world_model as wm
from rlrepro.latent.planning import MPCCEM, MPCCEMConfig
from rlrepro.latent.replay import SequenceReplay, collect, load_episodes, save_episodes
from rlrepro.models.rssm import RSSM, RSSMConfig


def test_collect_records_aligned_episodes_and_replay_cuts_sequences(tmp_path):
    make = lambda: make_env("cartpole_swingup_pixels", image_size=16)  # noqa: E731
    episodes = collect(UniformPolicy(1, 0), make, [3, 4])
    again = run_episodes(UniformPolicy(1, 0), [make(), make()], [3, 4], deterministic=False)
    for episode, total in zip(episodes, again):
        assert episode["pictures"].shape == (126, 3, 16, 16)  # 1000 steps / repeat 8, + reset
        assert episode["pictures"].dtype == np.uint8
        assert episode["actions"].shape == (126, 1) and not episode["actions"][0].any()
        assert episode["rewards"][0] == 0 and episode["rewards"].sum() == pytest.approx(total)
        assert episode["states"].shape == (126, 5)
    save_episodes(tmp_path / "e.npz", episodes)
    loaded = load_episodes(tmp_path / "e.npz")
    for a, b in zip(loaded, episodes):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    replay = SequenceReplay(0)
    replay.add(loaded)
    assert replay.steps == 250
    batch = replay.sample(6, 10)
    assert batch["pictures"].shape == (10, 6, 3, 16, 16)
    assert batch["actions"].shape == (10, 6, 1) and batch["rewards"].shape == (10, 6)
    # each sequence is a contiguous cut of one episode
    for b in range(6):
        pictures = batch["pictures"][:, b].numpy().astype(np.uint8)
        assert any(np.array_equal(pictures, e["pictures"][s:s + 10]) for e in episodes
                   for s in range(117))


def test_linear_probe_scores_a_linear_readout_near_one_and_noise_near_zero():
    rng = np.random.default_rng(0)
    x, weights = rng.normal(size=(2000, 8)), rng.normal(size=(8, 3))
    y = x @ weights + 0.01 * rng.normal(size=(2000, 3))
    assert wm.linear_probe(x[:1000], y[:1000], x[1000:], y[1000:]) > 0.99
    noise = rng.normal(size=(2000, 3))
    assert abs(wm.linear_probe(x[:1000], noise[:1000], x[1000:], noise[1000:])) < 0.05


def test_a_planner_acts_on_pictures_through_the_filter():
    torch.manual_seed(0)
    model = RSSM(RSSMConfig(image_size=16, action_dim=1, stoch=4, deter=8, hidden=8, depth=4))
    planner = MPCCEM(model, 1, MPCCEMConfig(horizon=2, candidates=10, iterations=2, top=3))
    env = make_env("cartpole_swingup_pixels", image_size=16)
    returns = run_episodes(planner, [env, make_env("cartpole_swingup_pixels", image_size=16)],
                           [0, 1])
    assert returns.shape == (2,) and np.isfinite(returns).all()
    actions, (latent, previous) = planner.act(np.zeros((3, 3, 16, 16)), None)
    assert actions.shape == (3, 1) and np.abs(actions).max() <= 1
    assert latent["deter"].shape == (3, 8) and torch.equal(previous, torch.as_tensor(actions))
