"""Tabular RLSP: the exact gradient, Deep RLSP's estimator, baselines and the metric."""
import numpy as np
import pytest
import torch
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


@pytest.mark.parametrize("name", ["train", "apples", "batteries"])
def test_runs_on_the_reachable_states_give_the_same_numbers(name):
    """Inference from the known s_-T and plans from s_0 only need the states they can reach."""
    model = tabular_model(name)
    T = model.problem.horizon
    theta = 0.3 * np.random.default_rng(2).standard_normal(model.n_features)
    local, p0 = rl.inference_model(model, T, uniform_initial=False)
    assert local.n_states < model.n_states / 2
    exact = rl.rlsp_gradient(model, theta, T, rl.initial_distribution(model, False))
    np.testing.assert_allclose(rl.rlsp_gradient(local, theta, T, p0), exact, rtol=1e-12, atol=1e-12)
    reward = model.features @ theta
    here = model.reachable([model.observed_state], 19)
    full_plan = rl.expected_return(model, rl.value_iteration(model, reward, 20, 0.0), reward,
                                   model.observed_state)
    local_reward = reward[here.full_index]
    local_plan = rl.expected_return(here, rl.value_iteration(here, local_reward, 20, 0.0),
                                    local_reward, here.observed_state)
    assert local_plan == pytest.approx(full_plan, rel=1e-12)


def test_command_line_run(capsys):
    from rlrepro.rlsp.__main__ import main

    main(["room"])
    assert "fraction of the maximum true reward: 1.0000" in capsys.readouterr().out


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
    with pytest.raises(ValueError, match="unreachable"):
        rl.rlsp(model, 2)


def test_learned_inverse_models_fit_and_sample_valid_states():
    model = tabular_model("room")
    inverse = deep.LearnedInverseModels(model, hidden=32, dynamics_samples=2000, dynamics_epochs=3,
                                        policy_samples=256, policy_steps=5, seed=0)
    p0 = rl.initial_distribution(model, False)
    gradient = deep.estimate_gradient(model, np.zeros(4), 7, p0, inverse, n_trajectories=20,
                                      rng=np.random.default_rng(0))
    assert gradient.shape == (4,) and np.isfinite(gradient).all()
    assert inverse.losses["inverse_dynamics"][-1] < np.log(model.n_states)  # better than chance


def exact_backward_action_kernel(model, policies, D, t):
    """p(a_t | s_{t+1}) ∝ sum_s D_t(s) pi_t(a|s) P(s_{t+1}|s,a): ``(nS, nA)`` and D_{t+1}."""
    nS, nA = model.n_states, model.n_actions
    joint = np.zeros((nA, nS))
    for a in range(nA):
        joint[a] = model.transitions[a::nA].T @ (D[t] * policies[t][:, a])
    marginal = joint.sum(axis=0)
    return (joint / np.maximum(marginal, 1e-300)).T, marginal


def test_learned_inverse_policy_matches_the_exact_time_indexed_backward_kernel():
    """Fit on D_t-distributed, time-indexed data, the inverse policy recovers p(a_t | s_{t+1})."""
    model = tabular_model("room")
    theta = np.array([-1.0, 0.5, 0.3, 0.0])
    T = model.problem.horizon
    policies = rl.value_iteration(model, model.features @ theta, T)
    p0 = rl.initial_distribution(model, False)
    D = rl.state_distributions(model, policies, p0)
    inverse = deep.LearnedInverseModels(model, hidden=64, dynamics_samples=500, dynamics_epochs=1,
                                        policy_samples=8192, policy_steps=800, seed=0)
    inverse.policy_optimizer.param_groups[0]["lr"] = 3e-3
    inverse.prepare(policies, p0)
    distances = []
    for t in range(T - 1):
        exact, marginal = exact_backward_action_kernel(model, policies, D, t)
        learned = inverse.action_probabilities(t, np.arange(model.n_states))
        distances.append(marginal @ (0.5 * np.abs(exact - learned).sum(axis=1)))
    assert max(distances) < 0.1, distances
    # The kernel does change with t: a time-blind model could not match every step.
    first, _ = exact_backward_action_kernel(model, policies, D, 0)
    last, marginal = exact_backward_action_kernel(model, policies, D, T - 2)
    assert marginal @ (0.5 * np.abs(first - last).sum(axis=1)) > 0.2


def test_rejection_sampling_and_its_fallback_draw_the_renormalised_factored_distribution():
    """Both samplers of the learned inverse dynamics draw previous states from the factored
    model's probabilities renormalised over the enumerated states."""
    model = tabular_model("train")
    inverse = deep.LearnedInverseModels(model, hidden=32, dynamics_samples=20000, dynamics_epochs=3,
                                        policy_samples=64, policy_steps=1, seed=0)
    next_state, action, n = 5, 2, 4000
    parts = inverse.inverse_dynamics(inverse._dynamics_input(np.array([next_state]),
                                                             np.array([action]), np.array([0])))
    probabilities = [torch.softmax(p.double(), 1).detach().numpy()[0]
                     for p in parts.split(inverse.sizes, dim=1)]
    expected = np.prod([probabilities[j][inverse.codes[:, j]] for j in range(len(inverse.sizes))],
                       axis=0)
    expected /= expected.sum()
    inverse.inverse_policy = lambda x: torch.zeros(len(x), model.n_actions) + torch.nn.functional.one_hot(
        torch.full((len(x),), action), model.n_actions) * 50.0  # always the chosen action
    rng = np.random.default_rng(1)

    def distance(drawn):
        return 0.5 * np.abs(np.bincount(drawn, minlength=model.n_states) / n - expected).sum()

    noise = distance(rng.choice(model.n_states, size=n, p=expected))  # n exact draws
    wrong = distance(rng.choice(model.n_states, size=n))  # a sampler that ignores the model
    for max_rejections in (20, 0):
        inverse.max_rejections = max_rejections
        drawn = inverse.backward_step(0, np.full(n, next_state), rng)
        assert distance(drawn) < 1.5 * noise + 0.01 < wrong, (max_rejections, noise, wrong)
