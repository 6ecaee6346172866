"""Deep RLSP's estimator on MuJoCo: the batch of simulators and the backward-then-forward plumbing."""
import numpy as np
import pytest
import torch

from rlrepro.agents.algorithms import AgentConfig
from rlrepro.envs import make_env
from rlrepro.models.inverse_dynamics import InverseDynamics, InverseDynamicsConfig
from rlrepro.models.inverse_dynamics import fit as fit_dynamics
from rlrepro.models.inverse_policy import InversePolicyConfig
from rlrepro.models.state_vae import StateVAE, StateVAEConfig
from rlrepro.models.state_vae import fit as fit_vae
from rlrepro.rlsp import mujoco as mujoco_rlsp
from rlrepro.rlsp.mujoco import (DeepRLSPConfig, SimulatorBatch, Solver, deep_rlsp,
                                estimate_gradient)

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



SOLVER_SAC = AgentConfig(algorithm="sac", hidden=(16, 16), transitions_per_batch=16)


def small_solver(**settings):
    from rlrepro.models.learned_reward import LatentReward

    vae = StateVAE(4, StateVAEConfig(latent_dim=2, hidden_layers=1, hidden_size=8))
    cfg = DeepRLSPConfig(episode_steps=20, **settings)
    return Solver("inverted_pendulum", LatentReward(vae, np.ones(2)), SOLVER_SAC, cfg, seed=0)


def test_a_restarted_solver_is_a_new_sac_with_an_empty_buffer():
    """The original built a new SAC every epoch (reset_solver): transitions paid under an
    older theta must not survive the restart."""
    solver = small_solver()
    solver.learn(60)
    old = [p.detach().clone() for p in solver.agent.actor.parameters()]
    assert len(solver.buffer) == 60
    solver.restart()
    assert len(solver.buffer) == 0
    assert any(not torch.equal(a, b) for a, b in zip(old, solver.agent.actor.parameters()))
    solver.learn(30)
    assert len(solver.buffer) == 30


def test_the_solver_starts_its_share_of_episodes_in_the_reset_states():
    solver = small_solver(reset_probability=0.5)
    solver.reset_states = np.array([[0.1, 0.05, 0.0, 0.0], [-0.1, -0.05, 0.0, 0.0]], np.float32)
    starts = np.array([solver._reset() for _ in range(400)])
    hits = [np.isclose(starts, state, atol=1e-6).all(axis=1).mean() for state in solver.reset_states]
    assert 0.2 < hits[0] < 0.3 and 0.2 < hits[1] < 0.3  # 0.5 of the episodes, uniformly
    solver.reset_states = solver.reset_states[:0]
    starts = np.array([solver._reset() for _ in range(50)])
    assert np.abs(starts).max() <= 0.01  # InvertedPendulum's own resets: U(-0.01, 0.01)


def test_deep_rlsp_resets_to_the_observed_states_then_to_every_walked_state(monkeypatch,
                                                                             pendulum_models):
    """As the original: the first training starts its resets in the observed states; after an
    epoch at horizon T, in the T states each of the n_trajectories walks reached, and the
    observed states."""
    vae, dynamics, states = pendulum_models
    seen = []
    learn = Solver.learn
    monkeypatch.setattr(Solver, "learn", lambda self, steps: (
        seen.append(np.array(self.reset_states)), learn(self, steps))[1])
    cfg = DeepRLSPConfig(horizons=(2,), max_epochs_per_horizon=1, n_trajectories=6,
                         solver_steps=20, episode_steps=10, inverse_policy_pairs=64)
    observed = states[:3]
    deep_rlsp("inverted_pendulum", observed, vae, dynamics, states, SOLVER_SAC, cfg,
              InversePolicyConfig(hidden_layers=1, hidden_size=8, batch_size=32))
    assert len(seen) == 2
    assert np.array_equal(seen[0], observed)
    assert seen[1].shape == (2 * 6 + 3, 4)
    assert np.array_equal(seen[1][-3:], observed)
    assert not np.isin(seen[1][:-3], observed).all()  # the walks' states, not observed ones

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
    # The gradient is past minus future: pushed right, the future is further right and faster
    # (x and its velocity, features 0 and 2), so those components are negative.
    assert gradient[0] < 0 and gradient[2] < 0


def test_weighted_trajectories_count_by_their_signed_weights():
    """Weights 2 on the trajectories from one observed state and -1 on those from the other
    give 2 g_a - g_b, each g the gradient from that state alone: the weighted mean is over the
    signed weights' sum (the original's reweighting; cosine weights can be negative)."""
    trajectory = recorded_episode("inverted_pendulum", linear_policy(2.0), HORIZON + 4)
    observed, past = trajectory[-2:], RecordedPast(trajectory)
    features = lambda states: np.asarray(states, dtype=np.float64)  # noqa: E731
    pushed = lambda obs: np.ones((len(obs), 1), dtype=np.float32)  # noqa: E731

    def gradient(states, weights=None):
        return estimate_gradient(states, HORIZON, past, SimulatorBatch("inverted_pendulum", 4),
                                 pushed, features, np.random.default_rng(0), max_norm=1e9,
                                 weights=weights)[0]

    end_of_a = trajectory[-2 - HORIZON]  # where the walk from observed[0] ends
    signed = lambda ends: np.array([2.0 if np.array_equal(e, end_of_a) else -1.0  # noqa: E731
                                    for e in ends])
    g_a, g_b = gradient(observed[:1]), gradient(observed[1:])
    assert not np.allclose(g_a, g_b)
    np.testing.assert_allclose(gradient(observed, signed), 2 * g_a - g_b, rtol=1e-9)


@pytest.fixture(scope="module")
def pendulum_models():
    """A small VAE and inverse dynamics fit to random InvertedPendulum transitions."""
    env, rng = make_env("inverted_pendulum"), np.random.default_rng(0)
    rows = []
    for episode in range(40):
        obs, _ = env.reset(seed=episode)
        for _ in range(100):
            action = rng.uniform(-1, 1, 1).astype(np.float32)
            next_obs, _, terminated, truncated, _ = env.step(action)
            rows.append((obs, action, next_obs))
            obs = next_obs
            if terminated or truncated:
                break
    states, actions, next_states = map(np.array, zip(*rows))
    vae_cfg = StateVAEConfig(latent_dim=4, hidden_layers=1, hidden_size=32, lr=1e-3, epochs=10,
                             batch_size=64)
    vae = StateVAE(4, vae_cfg)
    fit_vae(vae, states, vae_cfg)
    dynamics_cfg = InverseDynamicsConfig(hidden_layers=2, hidden_size=64, lr=1e-3, epochs=10,
                                         batch_size=64)
    dynamics = InverseDynamics(4, 1, dynamics_cfg)
    fit_dynamics(dynamics, states, actions, next_states, dynamics_cfg)
    return vae, dynamics, states


def initial_theta(vae, observed):
    """The observed states' mean VAE feature (posterior mean), normalised: where theta starts."""
    theta = vae.encode(observed, sample=False).numpy().astype(np.float64).mean(axis=0)
    return theta / np.linalg.norm(theta)


@pytest.mark.parametrize("threshold, horizons", [(float("inf"), [1, 2, 3]),
                                                 (0.0, [1, 1, 2, 2, 3, 3])])
def test_deep_rlsp_ascends_its_gradient_and_grows_the_horizon_when_it_settles(
        pendulum_models, threshold, horizons):
    """The loop with the real estimator: the horizon curriculum, theta's start, and steps of at
    most the learning rate times a max_gradient_norm small enough to bind, taken along the
    recorded (unclipped, nonzero) gradients."""
    vae, dynamics, states = pendulum_models
    cfg = DeepRLSPConfig(horizons=(1, 2, 3), max_epochs_per_horizon=2, threshold=threshold,
                         n_trajectories=16, learning_rate=0.5, max_gradient_norm=1e-3,
                         solver_steps=100, episode_steps=30, inverse_policy_pairs=128)
    history = deep_rlsp("inverted_pendulum", states[:3], vae, dynamics, states,
                        AgentConfig(algorithm="sac", hidden=(16, 16), transitions_per_batch=32),
                        cfg, InversePolicyConfig(hidden_layers=1, hidden_size=16, lr=1e-3,
                                                 batch_size=32))
    assert [h["horizon"] for h in history] == horizons
    thetas = np.array([initial_theta(vae, states[:3])] + [h["theta"] for h in history])
    gradients = np.array([h["gradient"] for h in history])
    norms = np.linalg.norm(gradients, axis=1)
    np.testing.assert_allclose([h["gradient_norm"] for h in history], norms, rtol=1e-6)
    # The real gradients are far longer than the bound: every step is clipped to it, and points
    # along the gradient recorded with it (the unclipped one, not a clipped copy).
    assert np.all(norms > 10 * cfg.max_gradient_norm), norms
    moves = np.diff(thetas, axis=0)
    np.testing.assert_allclose(np.linalg.norm(moves, axis=1),
                               cfg.learning_rate * cfg.max_gradient_norm, rtol=1e-3)
    cosines = np.sum(moves * gradients, axis=1) / (np.linalg.norm(moves, axis=1) * norms)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)


def test_deep_rlsp_follows_the_estimators_gradients_clipped_and_settles_on_their_mean(
        pendulum_models, monkeypatch):
    """Deep RLSP's loop around a stub estimator whose gradients are known: theta starts at the
    observed states' normalised mean feature and moves by the learning rate times each gradient
    clipped to max_gradient_norm (a short one unchanged); the estimator is asked for the current
    horizon's unclipped gradient, with the VAE's features and weights of the walks' ends by
    their cosine with the initial state; the policy trains on the new theta, resetting to the
    states the walks reached and the observed states; the horizon grows once the norm of the mean of this
    horizon's gradients is within the threshold (not the last gradient's norm, and not a mean
    over earlier horizons), or after max_epochs_per_horizon epochs."""
    vae, dynamics, states = pendulum_models
    observed, ends = states[:3], states[10:14]
    e = np.eye(4)
    #  horizon 1: norms 3 and 3, mean 0: settles after 2 epochs although the last norm is 3;
    #  horizon 2: norm 4 three times: moves on after max_epochs_per_horizon = 3;
    #  horizon 3: norm 0.5 (the mean over all six would be ~2): settles at once.
    gradients = [3 * e[0], -3 * e[0], 4 * e[1], 4 * e[1], 4 * e[1], 0.5 * e[2]]
    steps = [e[0], -e[0], e[1], e[1], e[1], 0.5 * e[2]]  # clipped to norm 1 (the last is shorter)
    calls = []

    def estimator(observed_, horizon, past, simulators, policy, features, rng, max_norm=10.0,
                  weights=None):
        calls.append({"observed": np.array(observed_), "horizon": horizon, "max_norm": max_norm,
                      "dynamics": past.inverse_dynamics, "features": features(ends),
                      "weights": None if weights is None else weights(ends)})
        k = len(calls) - 1
        past.walked.append(ends.copy())  # the states its walks reached (a one-step walk)
        return (gradients[k] if k < len(gradients) else 10 * e[3]).copy(), ends.copy()

    monkeypatch.setattr(mujoco_rlsp, "estimate_gradient", estimator)
    trained_on = []
    cfg = DeepRLSPConfig(horizons=(1, 2, 3), max_epochs_per_horizon=3, threshold=1.0,
                         n_trajectories=4, learning_rate=0.1, max_gradient_norm=1.0,
                         solver_steps=5, episode_steps=30, inverse_policy_pairs=32)
    history = deep_rlsp("inverted_pendulum", observed, vae, dynamics, states,
                        AgentConfig(algorithm="sac", hidden=(16, 16), transitions_per_batch=32),
                        cfg, InversePolicyConfig(hidden_layers=1, hidden_size=16, lr=1e-3,
                                                 batch_size=32),
                        on_epoch=lambda record, solver: trained_on.append(
                            (solver.reward.weights.numpy().ravel().copy(),
                             solver.reset_states.copy())))

    assert [h["horizon"] for h in history] == [1, 1, 2, 2, 2, 3]
    assert [c["horizon"] for c in calls] == [1, 1, 2, 2, 2, 3]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    expected = initial_theta(vae, observed) + cfg.learning_rate * np.cumsum(steps, axis=0)
    np.testing.assert_allclose([h["theta"] for h in history], expected, atol=1e-6)
    np.testing.assert_array_equal([h["gradient"] for h in history], gradients)
    np.testing.assert_allclose([h["gradient_norm"] for h in history], [3, 3, 4, 4, 4, 0.5])
    np.testing.assert_allclose([h["mean_gradient_norm"] for h in history],
                               [3, 0, 4, 4, 4, 0.5], atol=1e-12)

    initial = make_env("inverted_pendulum").reset(seed=0)[0].astype(np.float64)
    cosines = ends @ initial / (np.linalg.norm(ends, axis=1) * np.linalg.norm(initial))
    for call in calls:
        np.testing.assert_array_equal(call["observed"], observed)
        assert call["max_norm"] == float("inf") and call["dynamics"] is dynamics
        np.testing.assert_allclose(call["features"],
                                   vae.encode(ends, sample=False).numpy(), rtol=1e-6)
        np.testing.assert_allclose(call["weights"], cosines, rtol=1e-6)
    for (weights, reset_states), record in zip(trained_on, history):
        np.testing.assert_allclose(weights, record["theta"], atol=1e-6)
        np.testing.assert_array_equal(reset_states, np.concatenate([ends, observed]))
