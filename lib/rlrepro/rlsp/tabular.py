"""Tabular RLSP with the exact gradient, its baselines and the evaluation metric.

Everything works on a :class:`~rlrepro.envs.gridworlds.TabularModel`: its transitions ``P``
(``model.expect_next(v)`` is ``P @ v`` of shape ``(nS, nA)``, ``model.push_forward(w)`` is
``P.T @ w``) and a feature matrix ``F`` of shape ``(nS, nF)``. Time-indexed quantities are stacked
arrays (``policies[t]`` is ``pi_t(a|s)`` of shape ``(nS, nA)``). With a known ``s_-T``, inference
runs on the states reachable from it in ``T - 1`` steps, and the evaluation on those reachable
from ``s_0`` within its horizon (``model.reachable``): the same numbers, from a fraction of the
states, and without building the full transition matrix.

Reference: Shah et al., "Preferences Implicit in the State of the World", ICLR 2019, Sec. 4 and
Appendix A (the gradient); Algorithm 1 of Appendix C (MCMC sampling).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rlrepro.envs.gridworlds import STAY, TabularModel


# ----------------------------------------------------------------------------- planning

def value_iteration(model: TabularModel, reward, horizon: int, temperature: float = 1.0):
    """Finite-horizon (soft) value iteration with gamma = 1.

    ``reward`` is a state reward ``(nS,)`` or a time-dependent one ``(horizon, nS)``.
    ``temperature > 0`` gives the Boltzmann-rational policy ``exp((Q - V) / temperature)``;
    ``temperature == 0`` plans optimally, breaking ties towards the lower action index.
    Returns the policies ``(horizon - 1, nS, nA)`` for the decisions at t = 0 .. horizon-2.
    """
    nS, nA = model.n_states, model.n_actions
    reward = np.broadcast_to(reward, (horizon, nS))
    policies = np.empty((max(horizon - 1, 0), nS, nA))
    V = reward[horizon - 1].copy()
    for t in range(horizon - 2, -1, -1):
        Q = reward[t][:, None] + model.expect_next(V)
        if temperature == 0:
            policies[t] = np.eye(nA)[Q.argmax(axis=1)]
            V = Q.max(axis=1)
        else:
            best = Q.max(axis=1)
            weights = np.exp((Q - best[:, None]) / temperature)
            total = weights.sum(axis=1)
            V = best + temperature * np.log(total)
            policies[t] = weights / total[:, None]
            # With gamma = 1 the backup is invariant to a constant shift of V; removing the
            # minimum keeps the values from growing by log(nA) per step.
            V -= V.min()
    return policies


def state_distributions(model: TabularModel, policies, p0):
    """Forward dynamic programming: ``D[t](s)``, the distribution of s_t, for t = 0 .. T-1."""
    D = [p0]
    for pi in policies:
        D.append(model.push_forward(D[-1][:, None] * pi))
    return np.array(D)


def expected_return(model: TabularModel, policies, state_reward, start: int):
    """Expected sum of ``state_reward`` over ``len(policies) + 1`` states, starting at ``start``."""
    V = state_reward.copy()
    for pi in policies[::-1]:
        V = state_reward + (pi * model.expect_next(V)).sum(axis=1)
    return V[start]


# ----------------------------------------------------------------------------- priors

@dataclass(frozen=True)
class Prior:
    """Prior over the inferred reward weights theta; ``kind`` is gaussian, laplace or uniform."""

    kind: str = "gaussian"
    scale: float = 0.5
    center: np.ndarray | float = 0.0

    def log_density(self, theta):
        if self.kind == "uniform":
            return 0.0
        z = np.abs(theta - self.center) / self.scale
        if self.kind == "gaussian":
            return float(np.sum(-0.5 * z**2 - np.log(self.scale * np.sqrt(2 * np.pi))))
        return float(np.sum(-z - np.log(2 * self.scale)))

    def gradient(self, theta):
        if self.kind == "uniform":
            return np.zeros_like(theta)
        if self.kind == "gaussian":
            return (self.center - theta) / self.scale**2
        return -np.sign(theta - self.center) / self.scale


def initial_distribution(model: TabularModel, uniform: bool):
    """``p(s_-T)``: the known initial state, or uniform over all states."""
    if uniform:
        return np.full(model.n_states, 1.0 / model.n_states)
    p0 = np.zeros(model.n_states)
    p0[model.initial_state] = 1.0
    return p0


def inference_model(model: TabularModel, horizon: int, uniform_initial: bool):
    """The model and ``p(s_-T)`` the likelihood is computed on: with a known ``s_-T``, only the
    states reachable from it in ``horizon - 1`` steps (exact, and Apples keeps 524 of 7744)."""
    if uniform_initial:
        return model, initial_distribution(model, True)
    reachable = model.reachable([model.initial_state], horizon - 1)
    if reachable.observed_state is None:
        raise ZeroLikelihoodError(f"the observed state is unreachable from s_-T in {horizon - 1} "
                                  "steps (increase the horizon or use a uniform initial prior)")
    return reachable, initial_distribution(reachable, False)


# ----------------------------------------------------------------------------- RLSP

def log_likelihood(model, theta, horizon, p0, temperature=1.0):
    """``log p(s_0 = observed | theta)`` for a Boltzmann-rational human acting for ``horizon`` steps."""
    policies = value_iteration(model, model.features @ theta, horizon, temperature)
    return float(np.log(state_distributions(model, policies, p0)[-1][model.observed_state]))


def rlsp_gradient(model, theta, horizon, p0, temperature=1.0):
    """Exact ``d/dtheta log p(s_0 | theta)``, by differentiating the dynamic programs in reverse.

    Backward in time, ``lam_t(s) = dL/dD_t(s)`` for ``L = log D[T-1](s_0)`` (the probability of
    reaching s_0 from s at time t, over ``D[T-1](s_0)``); as ``log pi = (Q - V) / temperature``,
    ``dL/dQ_t(s, a) = D_t(s) pi_t(a|s) (E[lam_{t+1}(s') | s, a] - lam_t(s)) / temperature``.
    Forward in time, ``dL/dQ_t`` passes on to ``Q_{t+1}`` through ``V_{t+1}`` (``dV/dQ = pi``).
    The reward ``r = F theta`` enters every ``Q_t`` and ``V[T-1] = r``: the gradient is
    ``F^T dL/dr``. It equals Shah et al.'s Appendix A recursion, which carries nF expected
    feature counts per state through both passes where this carries one number. The original
    RLSP and Deep RLSP code omits the 1 / temperature (no difference at temperature 1).
    """
    if temperature <= 0:
        raise ValueError(f"temperature: the likelihood gradient needs a Boltzmann-rational human "
                         f"(temperature > 0), got {temperature}")
    policies = value_iteration(model, model.features @ theta, horizon, temperature)
    D = state_distributions(model, policies, p0)
    observed = model.observed_state
    if D[-1][observed] == 0:
        raise ZeroLikelihoodError(
            f"p(s_0 | theta) = 0: the observed state is unreachable in {horizon - 1} steps "
            "(increase the horizon or use a uniform initial prior), or its probability "
            "underflows under a near-deterministic policy")
    lam = np.zeros(model.n_states)
    lam[observed] = 1.0 / D[-1][observed]
    dQ = np.empty_like(policies)
    for t in range(len(policies) - 1, -1, -1):
        next_lam = model.expect_next(lam)
        lam = (policies[t] * next_lam).sum(axis=1)
        dQ[t] = D[t][:, None] * policies[t] * (next_lam - lam[:, None]) / temperature
    dV = np.zeros(model.n_states)  # dL/dV_t; V_0 feeds nothing
    dr = np.zeros(model.n_states)
    for t, pi in enumerate(policies):
        dQ[t] += dV[:, None] * pi
        dr += dQ[t].sum(axis=1)
        dV = model.push_forward(dQ[t])
    return model.features.T @ (dr + dV)


class ZeroLikelihoodError(ValueError):
    """The observed state has probability 0 under the current reward weights."""


@dataclass
class InferenceResult:
    """Inferred reward weights and the trace of the optimisation or sampling that produced them."""

    theta: np.ndarray
    trace: list = field(default_factory=list)


def rlsp(model, horizon, *, prior=Prior(), uniform_initial=False, temperature=1.0,
         learning_rate=0.1, epochs=50, threshold=1e-3, seed=0, gradient_fn=None):
    """Gradient ascent on ``log p(s_0 | theta) + log p(theta)`` from ``theta_0 = 0.01 N(0, I)``.

    ``gradient_fn(theta, p0)`` replaces the exact likelihood gradient (Deep RLSP plugs its
    sampled estimate in here); the prior's gradient is always added exactly.
    """
    rng = np.random.default_rng(seed)
    theta = 0.01 * rng.standard_normal(model.n_features)
    if gradient_fn is None:
        model, p0 = inference_model(model, horizon, uniform_initial)

        def gradient_fn(th, p):
            return rlsp_gradient(model, th, horizon, p, temperature)
    else:
        p0 = initial_distribution(model, uniform_initial)
    trace = []
    for epoch in range(epochs):
        try:
            grad = gradient_fn(theta, p0) + prior.gradient(theta)
        except ZeroLikelihoodError:
            if epoch == 0:
                raise  # unreachable from the start: a problem definition error
            break  # weights grew until p(s_0) underflowed: keep the last finite estimate
        theta = theta + learning_rate * grad
        trace.append(float(np.linalg.norm(grad)))
        if trace[-1] < threshold:
            break
    return InferenceResult(theta, trace)


def mcmc_sampling(model, horizon, *, prior=Prior(), uniform_initial=False, temperature=1.0,
                  n_samples=10_000, burn_in=1_000, step_size=0.01, seed=0, progress=None):
    """Metropolis sampling of ``p(theta | s_0)`` with Gaussian proposals (Appendix C).

    Returns the mean of the samples after ``burn_in``; the trace holds the acceptance rate.
    """
    if burn_in >= n_samples:
        raise ValueError(f"burn_in ({burn_in}) must be smaller than n_samples ({n_samples})")
    rng = np.random.default_rng(seed)
    model, p0 = inference_model(model, horizon, uniform_initial)

    def log_posterior(th):
        return log_likelihood(model, th, horizon, p0, temperature) + prior.log_density(th)

    if prior.kind == "uniform":
        theta = 0.01 * rng.standard_normal(model.n_features)
    else:
        theta = prior.center + 0.1 * prior.scale * rng.standard_normal(model.n_features)
    log_p = log_posterior(theta)
    samples, accepted = np.empty((n_samples, model.n_features)), 0
    for i in range(n_samples):
        proposal = rng.normal(theta, step_size)
        log_p_new = log_posterior(proposal)
        if np.log(rng.uniform()) < log_p_new - log_p:
            theta, log_p, accepted = proposal, log_p_new, accepted + 1
        samples[i] = theta
        if progress is not None:
            progress.update(1)
    return InferenceResult(samples[burn_in:].mean(axis=0), [accepted / n_samples])


# ----------------------------------------------------------------------------- baselines

def deviation_penalty(model):
    """Distance of every state's features from the observed state's features."""
    return np.linalg.norm(model.features - model.features[model.observed_state], axis=1)


def relative_reachability_penalty(model, horizon):
    """Undiscounted relative reachability against the STAY baseline (Krakovna et al., 2018).

    Coverage ``C(s, s_k)`` is the best probability of being in s_k after ``horizon`` steps; the
    penalty at time t of being in state s is ``E_{b ~ baseline_t} sum_k max(C(b, k) - C(s, k), 0)``,
    normalised to a maximum of 1. Returns ``(horizon, nS)``.
    """
    nS, nA = model.n_states, model.n_actions
    coverage = np.eye(nS, dtype=np.float32)
    P = model.transitions.astype(np.float32)
    chunk = max(1, 2**26 // (nS * nA))  # rows per block: keeps each block near 256 MB
    for _ in range(horizon):
        new = np.empty_like(coverage)
        for start in range(0, nS, chunk):
            stop = min(start + chunk, nS)
            block = P[start * nA:stop * nA] @ coverage
            new[start:stop] = block.reshape(stop - start, nA, nS).max(axis=1)
        coverage = new
    stay = model.transitions[np.arange(nS) * nA + STAY]  # baseline policy: do nothing
    baseline = np.zeros(nS)
    baseline[model.observed_state] = 1.0
    per_state = {}
    penalty = np.zeros((horizon, nS))
    for t in range(horizon):
        for b in np.flatnonzero(baseline):
            if b not in per_state:
                per_state[b] = np.maximum(coverage[b] - coverage, 0).sum(axis=1)
            penalty[t] += baseline[b] * per_state[b]
        baseline = stay.T @ baseline
    top = penalty.max()
    return penalty / top if top > 0 else penalty


def average_features_reward(model):
    """AverageFeatures baseline (Lindner et al. 2021): theta = normalised features of s_0."""
    phi = model.features[model.observed_state]
    norm = np.linalg.norm(phi)
    return phi / norm if norm > 0 else phi


# ----------------------------------------------------------------------------- evaluation

def fraction_of_max_true_reward(model, planning_reward, horizon=20, living_reward=1.0):
    """Plan optimally for ``horizon`` steps from s_0 and score the plan by the true reward.

    Returns ``(R + c h) / (R* + c h)``: R is the true return of the plan, R* the return of
    planning with the true reward itself, c the living reward that keeps the ratio positive.
    ``planning_reward`` is a state reward ``(nS,)`` or a time-dependent one ``(horizon, nS)``.
    """
    local = model.reachable([model.observed_state], horizon - 1)  # all a plan from s_0 can visit
    true_reward = local.features @ model.problem.r_true
    planning_reward = np.asarray(planning_reward)[..., local.full_index]

    def plan_return(reward):
        policies = value_iteration(local, reward, horizon, 0.0)
        return expected_return(local, policies, true_reward, local.observed_state)

    achieved = plan_return(planning_reward) + living_reward * horizon
    best = plan_return(true_reward) + living_reward * horizon
    return float(achieved / best)
