"""Tabular RLSP: the exact gradient, Deep RLSP's estimator, baselines and the metric."""
import numpy as np
import pytest
from scipy.optimize import approx_fprime

from rlrepro.envs.gridworlds import tabular_model
from rlrepro.rlsp import deep
from rlrepro.rlsp import tabular as rl


@pytest.mark.parametrize("name", ["room", "train", "apples"])
@pytest.mark.parametrize("uniform", [False, True])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_gradient_matches_finite_differences(name, uniform, temperature):
    model = tabular_model(name)
    theta = 0.3 * np.random.default_rng(1).standard_normal(model.n_features)
    p0 = rl.initial_distribution(model, uniform)
    T = model.problem.horizon
    exact = rl.rlsp_gradient(model, theta, T, p0, temperature)
    numeric = approx_fprime(theta, lambda th: rl.log_likelihood(model, th, T, p0, temperature), 1e-6)
    np.testing.assert_allclose(exact, numeric, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("kind", ["gaussian", "laplace"])
def test_prior_gradient_matches_finite_differences(kind):
    prior = rl.Prior(kind, 0.7, np.array([0.5, -1.0, 0.0]))
    theta = np.array([0.2, 0.3, -0.4])
    numeric = approx_fprime(theta, prior.log_density, 1e-7)
    np.testing.assert_allclose(prior.gradient(theta), numeric, atol=1e-5)


@pytest.mark.parametrize("name", ["room", "room_bad", "train", "batteries"])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_backward_forward_estimator_with_exact_models_agrees(name, temperature):
    model = tabular_model(name)
    rng = np.random.default_rng(0)
    theta = 0.3 * rng.standard_normal(model.n_features)
    p0 = rl.initial_distribution(model, False)
    exact = rl.rlsp_gradient(model, theta, model.problem.horizon, p0, temperature)
    estimate = deep.estimate_gradient(model, theta, model.problem.horizon, p0,
                                      deep.ExactInverseModels(model), n_trajectories=2000,
                                      max_norm=np.inf, rng=rng, temperature=temperature)
    cosine = exact @ estimate / (np.linalg.norm(exact) * np.linalg.norm(estimate))
    assert cosine >= 0.99
    # Same direction and the same scale: the 1 / temperature is in both.
    assert np.linalg.norm(estimate) / np.linalg.norm(exact) == pytest.approx(1.0, abs=0.1)


def test_hard_value_iteration_breaks_ties_towards_lower_actions():
    model = tabular_model("room")
    policies = rl.value_iteration(model, np.zeros(model.n_states), 3, temperature=0.0)
    assert (policies.argmax(axis=2) == 0).all()  # all actions tie: NORTH everywhere


def test_soft_policies_are_distributions():
    model = tabular_model("apples")
    policies = rl.value_iteration(model, model.features @ np.ones(model.n_features), 5)
    np.testing.assert_allclose(policies.sum(axis=2), 1.0)


def test_rlsp_reproduces_the_qualitative_result():
    score = {}
    for name in ["room", "room_bad", "train"]:
        model = tabular_model(name)
        theta = rl.rlsp(model, model.problem.horizon).theta
        score[name] = rl.fraction_of_max_true_reward(model, model.features @ (model.problem.r_spec + theta))
        assert theta[0] < 0 or name == "room_bad"  # broken vases are inferred to be bad
    assert score["room"] == pytest.approx(1.0) and score["train"] == pytest.approx(1.0)
    assert score["room_bad"] < 0.9


def test_specified_reward_breaks_the_vase_and_true_reward_is_optimal():
    model = tabular_model("room")
    assert rl.fraction_of_max_true_reward(model, model.features @ model.problem.r_spec) < 0.6
    assert rl.fraction_of_max_true_reward(model, model.features @ model.problem.r_true) == 1.0


def test_reachability_penalises_irreversible_changes():
    model = tabular_model("room")
    penalty = rl.relative_reachability_penalty(model, 20)
    broken = [i for i, s in enumerate(model.states) if s[2] == (False,)]
    intact = [i for i, s in enumerate(model.states) if s[2] == (True,)]
    assert penalty.max() == 1.0
    assert penalty[:, broken].min() > penalty[:, intact].max()


def test_mcmc_accepts_some_proposals_and_checks_burn_in():
    model = tabular_model("room")
    result = rl.mcmc_sampling(model, 7, n_samples=200, burn_in=50, seed=0)
    assert 0.05 < result.trace[0] < 1.0 and result.theta.shape == (4,)
    with pytest.raises(ValueError, match="burn_in"):
        rl.mcmc_sampling(model, 7, n_samples=10, burn_in=10)


def test_unreachable_observation_is_a_clear_error():
    model = tabular_model("train")
    with pytest.raises(ValueError, match="unreachable"):
        rl.rlsp_gradient(model, np.zeros(model.n_features), 2, rl.initial_distribution(model, False))


def test_learned_inverse_models_fit_and_sample_valid_states():
    model = tabular_model("room")
    inverse = deep.LearnedInverseModels(model, hidden=32, dynamics_samples=2000, dynamics_epochs=3,
                                        policy_samples=256, policy_steps=5, seed=0)
    p0 = rl.initial_distribution(model, False)
    gradient = deep.estimate_gradient(model, np.zeros(4), 7, p0, inverse, n_trajectories=20,
                                      rng=np.random.default_rng(0))
    assert gradient.shape == (4,) and np.isfinite(gradient).all()
    assert inverse.losses["inverse_dynamics"][-1] < np.log(model.n_states)  # better than chance


@pytest.mark.parametrize("max_rejections", [0, 20])
def test_learned_inverse_dynamics_samples_only_enumerated_states(max_rejections):
    """Rejection sampling and its direct fallback draw from the same valid-state distribution."""
    model = tabular_model("train")
    inverse = deep.LearnedInverseModels(model, hidden=16, dynamics_samples=500, dynamics_epochs=1,
                                        policy_samples=64, policy_steps=1, seed=0)
    inverse.max_rejections = max_rejections
    rng = np.random.default_rng(0)
    states = rng.integers(model.n_states, size=300)
    previous = inverse.backward_step(0, states, rng)
    assert previous.shape == states.shape
    assert ((0 <= previous) & (previous < model.n_states)).all()
