"""dm_control tasks from pixels: action repeat, episode length, and distractors that change the
picture and nothing else."""
import numpy as np
import pytest

from rlrepro.envs import make_env
from rlrepro.envs.pixels import PixelTask


@pytest.fixture
def envs():
    made = []

    def make(*args, **kwargs):
        made.append(PixelTask(*args, **kwargs))
        return made[-1]

    yield make
    for env in made:
        env.close()


def play(env, seed, steps):
    """Pictures, rewards and states of ``steps`` random actions from ``reset(seed)``."""
    obs, info = env.reset(seed=seed)
    pictures, rewards, states = [obs], [], [info["state"]]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(
            rng.uniform(-1, 1, env.action_space.shape))
        pictures.append(obs)
        rewards.append(reward)
        states.append(info["state"])
    return np.array(pictures), np.array(rewards), np.array(states)


def test_distractors_change_the_picture_and_nothing_else(envs):
    clean = envs("cheetah", "run", image_size=32, action_repeat=4)
    distracted = envs("cheetah", "run", image_size=32, action_repeat=4, distract=True,
                      camera_jitter=0.05)
    before, _, _ = play(clean, 0, 3)
    pictures, rewards, states = play(distracted, 0, 3)
    clean_pictures, clean_rewards, clean_states = play(clean, 0, 3)
    np.testing.assert_array_equal(states, clean_states)
    np.testing.assert_array_equal(rewards, clean_rewards)
    assert pictures.shape == clean_pictures.shape == (4, 3, 32, 32)
    assert np.array_equal(pictures, pictures.astype(np.uint8))  # whole numbers 0-255
    assert np.abs(pictures.astype(int) - clean_pictures).mean() > 10
    # the clean task's picture is not touched by a distracted one in the same process
    np.testing.assert_array_equal(before, clean_pictures)
    # the same seed looks the same, another seed otherwise
    again, _, _ = play(distracted, 0, 0)
    other, _, _ = play(distracted, 1, 0)
    np.testing.assert_array_equal(again[0], pictures[0])
    assert np.abs(other[0].astype(int) - pictures[0]).mean() > 10


def test_action_repeat_sums_rewards_and_shortens_the_episode(envs):
    single = envs("cartpole", "swingup", image_size=16, action_repeat=1)
    repeated = envs("cartpole", "swingup", image_size=16, action_repeat=8)
    single.reset(seed=3)
    repeated.reset(seed=3)
    action = np.array([0.7], dtype=np.float32)
    for _ in range(3):
        steps = [single.step(action) for _ in range(8)]
        _, reward, _, _, info = repeated.step(action)
        assert reward == pytest.approx(sum(step[1] for step in steps))
        np.testing.assert_array_equal(info["state"], steps[-1][4]["state"])
    steps, truncated = 3, False
    while not truncated:
        _, _, terminated, truncated, _ = repeated.step(action)
        assert not terminated
        steps += 1
    assert steps == 1000 // 8


def test_pixel_tasks_are_registered_and_bad_settings_named():
    env = make_env("walker_walk_distracted", image_size=16)
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 16, 16) and info["state"].shape == (24,)
    assert env.action_space.shape == (6,)
    env.close()
    with pytest.raises(ValueError, match="image_size: expected at least 8 pixels, got 4"):
        PixelTask("cheetah", "run", image_size=4)
    with pytest.raises(ValueError, match="action_repeat: expected a divisor of 1000, got 3"):
        PixelTask("cheetah", "run", action_repeat=3)
