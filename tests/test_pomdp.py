"""The partially observable tasks and the observation wrappers."""
import numpy as np
import pytest

from rlrepro.envs.pomdp import ENVS, FULL_STATE, make_env


def rollout(env, seed, steps=30, action=0.3):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, *_ = env.step(np.full(env.action_space.shape, action, dtype=np.float32))
        out.append(obs)
    return np.array(out)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_every_task_follows_the_gymnasium_api_with_actions_in_unit_box(name):
    env = make_env(name)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    obs, info = env.reset(seed=0)
    assert isinstance(info, dict)
    for _ in range(5):
        assert obs.dtype == np.float32 and env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(reward, float) and isinstance(terminated, bool)
    np.testing.assert_array_equal(rollout(env, seed=7), rollout(env, seed=7))


@pytest.mark.parametrize("pomdp, kept", [("pendulum_p", [0, 1]), ("pendulum_v", [2]),
                                         ("cartpole_p", [0, 2]), ("cartpole_v", [1, 3]),
                                         ("dmc_cartpole_balance_p", [0, 1, 2])])
def test_partial_observations_are_the_kept_part_of_the_full_state(pomdp, kept):
    full = rollout(make_env(FULL_STATE[pomdp]), seed=3)
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
    assert terminated and t < 100
    assert env.spec is None or env.spec.max_episode_steps in (None, 1000)


def test_unknown_environment_is_a_clear_error():
    with pytest.raises(ValueError, match="environment: expected one of"):
        make_env("pendulum_x")
