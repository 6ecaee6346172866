"""Deep RLSP's estimator on MuJoCo: the batch of simulators and the backward-then-forward plumbing."""
import numpy as np
import pytest

from rlrepro.envs import make_env
from rlrepro.rlsp.mujoco import SimulatorBatch, estimate_gradient

HORIZON = 8


def linear_policy(gain):
    return lambda obs: np.clip(np.asarray(obs)[:, :1] * gain, -1.0, 1.0).astype(np.float32)


def recorded_episode(task, policy, steps, seed=3):
    env = make_env(task)
    obs, _ = env.reset(seed=seed)
    trajectory = [obs]
    for _ in range(steps):
        obs, *_ = env.step(policy(obs[None])[0])
        trajectory.append(obs)
    return np.array(trajectory)


class RecordedPast:
    """Exact inverse models of one recorded trajectory: each state's predecessor."""

    def __init__(self, trajectory):
        self.trajectory = trajectory

    def backward_step(self, t, next_states):
        rows = [int(np.argmin(np.abs(self.trajectory - s).sum(axis=1))) for s in next_states]
        return self.trajectory[np.array(rows) - 1]


def test_a_batch_of_simulators_steps_as_separate_environments():
    trajectory = recorded_episode("cheetah_fw", linear_policy(0.5), 20)
    batch = SimulatorBatch("cheetah_fw", 3)
    starts = trajectory[[5, 10, 15]]
    assert np.allclose(batch.set_states(starts), starts, atol=1e-6)
    actions = np.linspace(-1, 1, 18, dtype=np.float32).reshape(3, 6)
    stepped = batch.step(actions)
    for k in range(3):
        env = SimulatorBatch("cheetah_fw", 1, seed=k)
        env.set_states(starts[k:k + 1])
        assert np.array_equal(env.step(actions[k:k + 1])[0], stepped[k])
    with pytest.raises(ValueError, match="expected 3 rows"):
        batch.set_states(starts[:2])


def test_the_exact_past_and_the_policy_that_made_it_give_a_zero_gradient():
    """Walking back along the recorded trajectory and rolling the policy that recorded it
    forward visits the same states: backward and forward features cancel. Another policy
    rolls elsewhere, and the difference shows."""
    expert = linear_policy(2.0)
    trajectory = recorded_episode("inverted_pendulum", expert, HORIZON + 4)
    observed = trajectory[-2:]
    features = lambda states: np.asarray(states, dtype=np.float64)  # noqa: E731
    rng = np.random.default_rng(0)
    gradient, ends = estimate_gradient(observed, HORIZON, RecordedPast(trajectory),
                                       SimulatorBatch("inverted_pendulum", 4), expert, features,
                                       rng)
    assert np.abs(gradient).max() < 1e-4
    assert {tuple(e) for e in ends} == {tuple(trajectory[-2 - HORIZON]),
                                        tuple(trajectory[-1 - HORIZON])}  # both starts used
    pushed = lambda obs: np.ones((len(obs), 1), dtype=np.float32)  # noqa: E731
    gradient, _ = estimate_gradient(observed, HORIZON, RecordedPast(trajectory),
                                    SimulatorBatch("inverted_pendulum", 4), pushed, features, rng)
    assert np.abs(gradient).max() > 1e-2
    assert np.linalg.norm(gradient) <= 10.0 + 1e-9
