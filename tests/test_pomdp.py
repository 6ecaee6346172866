"""The partially observable tasks and the observation wrappers."""
import gymnasium as gym
import numpy as np
import pytest

from rlrepro.envs import make_env, names, register, task


def rollout(env, seed, steps=30, action=0.3):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, *_ = env.step(np.full(env.action_space.shape, action, dtype=np.float32))
        out.append(obs)
    return np.array(out)


@pytest.mark.parametrize("name", names())
def test_every_registered_task_follows_the_gymnasium_api(name):
    env = make_env(name)
    continuous = isinstance(env.action_space, gym.spaces.Box)
    if continuous:  # rescaled to the unit box, float32 observations
        assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    obs, info = env.reset(seed=0)
    assert isinstance(info, dict)
    for _ in range(5):
        assert env.observation_space.contains(obs)
        assert not continuous or obs.dtype == np.float32
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(float(reward), float) and isinstance(terminated, bool)
    if continuous:
        np.testing.assert_array_equal(rollout(env, seed=7), rollout(env, seed=7))


def test_the_registry_holds_every_family_of_tasks_and_refuses_duplicates():
    assert {"room", "apples", "pendulum_p", "cartpole", "dmc_cartpole_swingup_p"} <= set(names())
    assert set(names(partially_observed=True)) >= {"pendulum_p", "cartpole_v"}
    assert "room" not in names(partially_observed=True)
    with pytest.raises(ValueError, match="'pendulum' is already registered"):
        register("pendulum", lambda: None, "a second pendulum")


@pytest.mark.parametrize("pomdp, kept", [("pendulum_p", [0, 1]), ("pendulum_v", [2]),
                                         ("cartpole_p", [0, 2]), ("cartpole_v", [1, 3]),
                                         ("dmc_cartpole_balance_p", [0, 1, 2])])
def test_partial_observations_are_the_kept_part_of_the_full_state(pomdp, kept):
    full = rollout(make_env(task(pomdp).full_state), seed=3)
    partial = rollout(make_env(pomdp), seed=3)
    np.testing.assert_allclose(partial, full[:, kept], rtol=1e-6)


def test_velocity_and_last_action_appends_the_previous_action():
    obs = rollout(make_env("pendulum_va"), seed=0, steps=3, action=0.5)
    assert obs[0, 1] == 0.0 and np.all(obs[1:, 1] == 1.0)  # the torque: 0.5 of the maximum, 2
    np.testing.assert_allclose(obs[:, 0], rollout(make_env("pendulum_v"), seed=0, steps=3, action=0.5)[:, 0])


def test_concat_window_holds_the_last_k_observations():
    k = 3
    window = rollout(make_env("pendulum_p", concat=k), seed=1, steps=5)
    single = rollout(make_env("pendulum_p"), seed=1, steps=5)
    assert window.shape == (6, 2 * k)
    np.testing.assert_allclose(window[0], np.concatenate([np.zeros(4), single[0]]))
    for t in range(2, 6):
        np.testing.assert_allclose(window[t], single[t - 2:t + 1].ravel())


def test_random_length_pendulum_draws_an_unobserved_length_per_episode():
    env = make_env("pendulum_random_length")
    lengths = {env.reset(seed=s)[1]["length"] for s in range(20)}
    assert lengths == {0.2, 1.0}
    assert env.observation_space.shape == (3,)
    known = make_env("pendulum_known_length")
    obs, info = known.reset(seed=5)
    assert obs[-1] == pytest.approx(info["length"])


def test_continuous_cartpole_terminates_when_the_pole_falls():
    env = make_env("cartpole")
    env.reset(seed=0)
    for t in range(1000):
        *_, terminated, truncated, _ = env.step(np.array([1.0], dtype=np.float32))
        if terminated:
            break
    assert terminated and not truncated and t < 100


def test_continuous_cartpole_is_truncated_after_1000_steps_not_before():
    env = make_env("cartpole")
    env.reset(seed=0)
    for t in range(1, 1001):
        env.unwrapped.state = np.zeros(4)  # held upright at the centre: never terminates
        *_, terminated, truncated, _ = env.step(np.array([0.0], dtype=np.float32))
        assert not terminated and truncated == (t == 1000)


def test_unknown_environment_is_a_clear_error():
    with pytest.raises(ValueError, match="environment: expected one of"):
        make_env("pendulum_x")
