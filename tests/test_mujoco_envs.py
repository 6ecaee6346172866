"""The MuJoCo tasks of Deep RLSP: registration, time feature, set_state, skill rewards."""
import gymnasium as gym
import numpy as np
import pytest

from rlrepro.envs import make_env, names
from rlrepro.envs.mujoco import (BALANCE_PITCH, MUJOCO_IDS, balancing_reward, jumping_reward,
                                 observe, set_state)
from rlrepro.evaluation.videos import render

TASKS = list(MUJOCO_IDS)
WITH_TIME_FEATURE = {"cheetah_fw", "cheetah_bw", "hopper", "cheetah_balancing", "cheetah_jumping"}
OBS_SIZE = {"inverted_pendulum": 4, "cheetah_fw": 17, "cheetah_bw": 17, "hopper": 11,
            "cheetah_balancing": 17, "cheetah_jumping": 17}  # before the time feature


def run(env, steps, seed=0, action_seed=0):
    """Observations, rewards and infos of ``steps`` uniformly random actions after a reset."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], []
    for _ in range(steps):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, reward, *_, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
    return np.array(observations), np.array(rewards), infos


def run_from_here(env, steps):
    """Observations and truncation flags of ``steps`` zero actions, without a reset."""
    zero = np.zeros(env.action_space.shape, np.float32)
    transitions = [env.step(zero) for _ in range(steps)]
    return np.array([t[0] for t in transitions]), [t[3] for t in transitions]


def test_every_task_is_registered_by_name_and_gymnasium_id():
    assert set(TASKS) <= set(names())
    assert set(TASKS) == {"inverted_pendulum", "cheetah_fw", "cheetah_bw", "hopper",
                          "cheetah_balancing", "cheetah_jumping"}
    for name, (gym_id, _, _) in MUJOCO_IDS.items():
        size = OBS_SIZE[name] + (name in WITH_TIME_FEATURE)
        assert make_env(name).observation_space.shape == (size,)
        assert gym.make(gym_id).observation_space.shape == (size,)


@pytest.mark.parametrize("name", TASKS)
def test_a_task_builds_with_and_without_the_time_feature(name):
    gym_id = MUJOCO_IDS[name][0]
    with_feature, _, _ = run(gym.make(gym_id, time_feature=True), steps=5)
    env = gym.make(gym_id, time_feature=False)
    without, _, _ = run(env, steps=5)
    assert without.shape == (6, OBS_SIZE[name])
    np.testing.assert_array_equal(with_feature[:, :-1], without)
    np.testing.assert_allclose(with_feature[:, -1], 1 - np.arange(6) / 1000)
    np.testing.assert_array_equal(set_state(env, without[-1]), without[-1].astype(np.float32))


def test_the_time_feature_restarts_on_every_reset_and_ends_the_episode():
    env = make_env("cheetah_fw")
    obs, _, _ = run(env, steps=30)
    assert obs[-1, -1] == pytest.approx(1 - 30 / 1000)
    assert env.reset(seed=1)[0][-1] == 1.0
    obs, truncations = run_from_here(env, steps=1000)
    assert truncations == [False] * 999 + [True] and obs[-1, -1] == 0.0


@pytest.mark.parametrize("name", TASKS)
def test_set_state_inverts_the_observation_and_steps_as_the_original(name):
    original, copy = make_env(name), make_env(name)
    run(copy, steps=7, seed=3, action_seed=4)  # another history, which set_state forgets
    observations, _, _ = run(original, steps=10)
    state = observations[-1]
    np.testing.assert_array_equal(set_state(copy, state), state)
    np.testing.assert_array_equal(observe(copy), state)
    action = np.full(original.action_space.shape, 0.5, dtype=np.float32)
    next_original, reward_original, *_ = original.step(action)
    next_copy, reward_copy, *_ = copy.step(action)
    # the copy starts from float32 observations, at x = 0: equal up to float32 rounding
    np.testing.assert_allclose(next_copy, next_original, atol=1e-5)
    assert reward_copy == pytest.approx(reward_original, abs=1e-4)


def test_set_state_puts_x_at_zero_and_makes_the_future_a_function_of_the_observation():
    envs = [make_env("hopper") for _ in range(2)]
    state = run(make_env("hopper"), steps=15)[0][-1]
    futures = []
    for history, env in enumerate(envs):
        run(env, steps=5 * history, seed=history)
        set_state(env, state)
        assert env.unwrapped.data.qpos[0] == 0.0
        futures.append(run_from_here(env, steps=5)[0])
    np.testing.assert_array_equal(*futures)


def test_set_state_starts_a_new_episode_with_its_full_time_limit():
    state = run(make_env("inverted_pendulum"), steps=3)[0][-1]
    fresh = make_env("inverted_pendulum")  # never reset: set_state resets it
    np.testing.assert_array_equal(set_state(fresh, state), state)
    late = make_env("inverted_pendulum")
    run(late, steps=600)
    set_state(late, state)
    assert run_from_here(late, steps=1000)[1] == [False] * 999 + [True]


def test_set_state_sets_the_clock_from_the_time_feature():
    env = make_env("cheetah_jumping")
    state = env.reset(seed=0)[0].copy()
    state[-1] = 0.25  # 750 of 1000 steps done
    assert set_state(env, state)[-1] == 0.25
    obs, truncations = run_from_here(env, steps=250)
    np.testing.assert_allclose(obs[:3, -1], 1 - np.arange(751, 754) / 1000, rtol=1e-6)
    assert truncations == [False] * 249 + [True]
    state[-1] = 1.7  # out of [0, 1]: the nearest possible clock, t = 0
    assert set_state(env, state)[-1] == 1.0


def test_set_state_refuses_malformed_observations_and_other_envs():
    env = make_env("cheetah_fw")
    with pytest.raises(ValueError, match=r"observation: expected length 18 \(8 positions, 9 "
                                         r"velocities, the time feature\), got shape \(17,\)"):
        set_state(env, np.zeros(17))
    with pytest.raises(ValueError, match="observation: expected length 4"):
        set_state(make_env("inverted_pendulum"), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="observation: expected finite values"):
        set_state(env, np.full(18, np.nan))
    with pytest.raises(ValueError, match="env: expected single observations of length 18"):
        set_state(make_env("cheetah_fw", concat=2), np.zeros(36))
    with pytest.raises(ValueError, match="env: expected a MuJoCo task, got PendulumEnv"):
        set_state(make_env("pendulum"), np.zeros(3))


def test_backward_cheetah_is_paid_minus_the_forward_reward():
    _, forward_rewards, forward = run(make_env("cheetah_fw"), steps=20)
    _, backward_rewards, backward = run(make_env("cheetah_bw"), steps=20)
    velocity = np.array([i["x_velocity"] for i in forward])
    np.testing.assert_array_equal([i["x_velocity"] for i in backward], velocity)
    ctrl = np.array([i["reward_ctrl"] for i in forward])
    np.testing.assert_allclose(forward_rewards, velocity + ctrl)
    np.testing.assert_allclose(backward_rewards, -velocity + ctrl)


def skill_reward_from(name, pitch=0.0, upward_velocity=0.0, height=0.0):
    """The reward of one zero-action step of skill ``name`` from a set torso pose."""
    env = make_env(name)
    env.reset(seed=0)
    simulator = env.unwrapped
    qpos, qvel = np.zeros(simulator.model.nq), np.zeros(simulator.model.nv)
    qpos[1:3], qvel[1] = (height, pitch), upward_velocity
    simulator.set_state(qpos, qvel)
    _, reward, _, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert {"x_velocity", "reward_skill", "reward_ctrl"} <= set(info)
    assert reward == pytest.approx(info["reward_skill"])  # no control, no cost
    return reward


def test_balancing_pays_standing_on_the_front_legs():
    flat = skill_reward_from("cheetah_balancing")
    nose_down = skill_reward_from("cheetah_balancing", pitch=BALANCE_PITCH, height=0.1)
    nose_up = skill_reward_from("cheetah_balancing", pitch=-BALANCE_PITCH, height=0.1)
    assert nose_down > 0.95 and nose_down > flat + 0.5 and flat > nose_up
    assert balancing_reward(np.array([0, 0, BALANCE_PITCH]), np.zeros(3)) == 1.0


def test_jumping_pays_upward_torso_velocity_and_not_flips():
    still = skill_reward_from("cheetah_jumping")
    rising = skill_reward_from("cheetah_jumping", upward_velocity=2.0, height=0.1)
    assert rising > still + 1.0
    level, upside_down = np.zeros(3), np.array([0.0, 0.0, np.pi])
    up = np.array([0.0, 1.0, 0.0])
    assert jumping_reward(level, up) == 1.0 and jumping_reward(level, -up) == 0.0
    assert jumping_reward(upside_down, up) < jumping_reward(level, np.zeros(3))


def test_skill_rewards_subtract_the_control_cost():
    env = make_env("cheetah_balancing")
    _, rewards, infos = run(env, steps=10)
    np.testing.assert_allclose(rewards, [i["reward_skill"] + i["reward_ctrl"] for i in infos])
    assert all(i["reward_ctrl"] < 0 for i in infos)


@pytest.mark.parametrize("name", ["cheetah_fw", "hopper"])
def test_a_rendered_body_stays_in_view_far_from_its_start(name):
    """The camera follows the body: 20 m down the track it is still in the picture."""
    env = make_env(name, render_mode="rgb_array", width=96, height=96)
    env.reset(seed=0)
    start = render(env).astype(int)  # the first frame places the camera
    simulator = env.unwrapped
    qpos = simulator.data.qpos.copy()
    qpos[0] += 20.0
    simulator.set_state(qpos, simulator.data.qvel)
    far = render(env).astype(int)
    env.close()

    def body(frame):  # the bodies are tan or brown, the floor grey
        return ((frame[..., 0] - frame[..., 2]) > 40).sum()

    assert body(start) > 30 and body(far) > 0.5 * body(start)
