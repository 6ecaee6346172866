"""The kitchen data interface: a Minari-format file read into the skills' demonstrations."""
import h5py
import numpy as np
import pytest
import torch

from rlrepro.models import skill_prior
from rlrepro.models.skill_prior import SkillModel, SkillModelConfig
from rlrepro.skills import data, kitchen


def write_minari(folder, episodes, obs_dim=59, act_dim=9, dict_obs=True, seed=0):
    """A small data set in Minari's layout: data/main_data.hdf5, one group per episode."""
    rng = np.random.default_rng(seed)
    path = folder / "data" / "main_data.hdf5"
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        for i, steps in enumerate(episodes):
            group = f.create_group(f"episode_{i}")
            obs = rng.normal(size=(steps + 1, obs_dim))
            if dict_obs:
                observations = group.create_group("observations")
                observations["observation"] = obs
                goals = observations.create_group("achieved_goal")
                goals["microwave"] = rng.normal(size=(steps + 1, 1))
            else:
                group["observations"] = obs
            group["actions"] = rng.uniform(-1, 1, (steps, act_dim))
            group["rewards"] = np.zeros(steps)
            group["terminations"] = np.arange(steps) == steps - 1
            group["truncations"] = np.zeros(steps, bool)
    return path


def test_a_minari_data_set_becomes_demonstrations(tmp_path):
    write_minari(tmp_path, [30, 12, 20])
    demos = kitchen.load_minari(tmp_path)
    assert demos.observations.shape == (62, 59) and demos.actions.shape == (62, 9)
    assert demos.episode_ends.tolist() == [30, 42, 62]
    assert demos.reached.all() and (demos.layout_seeds == -1).all()
    obs, actions = data.windows(demos, 10, 8, np.random.default_rng(0))
    assert obs.shape == (8, 11, 59) and actions.shape == (8, 10, 9)
    ends = demos.episode_ends
    for window_obs, window_actions in zip(obs, actions):  # 10 consecutive steps of one episode
        start = int(np.flatnonzero((demos.actions == window_actions[0]).all(1))[0])
        episode_end = ends[np.searchsorted(ends, start, side="right")]
        assert start + 10 <= episode_end
        np.testing.assert_array_equal(window_actions, demos.actions[start:start + 10])
        np.testing.assert_array_equal(window_obs[0], demos.observations[start])
    torch.manual_seed(0)  # the skill model learns the data as it is
    model = SkillModel(59, 9, SkillModelConfig(state_dim=59, hidden_size=16, decoder_layers=1,
                                               prior_layers=1, epochs=20, steps_per_epoch=10,
                                               batch_size=16))
    before = model.reconstruction_error(obs, actions)
    skill_prior.fit(model, lambda b, rng: data.windows(demos, 10, b, rng), demos.observations)
    assert model.reconstruction_error(obs, actions) < 0.7 * before


@pytest.mark.parametrize("damage, message", [
    ("missing", "no Minari data set (expected a folder holding data/main_data.hdf5"),
    ("not_hdf5", "not an HDF5 file"),
    ("no_actions", "episode_0 has no ['actions']"),
    ("short_obs", "episode_0 has observations (10, 59) and actions (10, 9); expected (T + 1"),
    ("key", "episode_0/observations has keys ['achieved_goal', 'observation'], not 'state'"),
])
def test_a_malformed_minari_file_names_the_path_and_what_was_expected(tmp_path, damage,
                                                                       message):
    key = "observation"
    if damage == "missing":
        target = tmp_path / "nowhere"
    else:
        target = write_minari(tmp_path, [10])
        if damage == "not_hdf5":
            target.write_text("not hdf5")
        elif damage == "no_actions":
            with h5py.File(target, "a") as f:
                del f["episode_0/actions"]
        elif damage == "short_obs":
            with h5py.File(target, "a") as f:
                obs = f["episode_0/observations/observation"][:10]
                del f["episode_0/observations/observation"]
                f["episode_0/observations/observation"] = obs
        elif damage == "key":
            key = "state"
    with pytest.raises((FileNotFoundError, ValueError), match=str(target.name)) as error:
        kitchen.load_minari(target, observation_key=key)
    assert message in str(error.value)
