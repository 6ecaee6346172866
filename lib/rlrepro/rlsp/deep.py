"""Deep RLSP's gradient estimator on the gridworlds (Lindner et al., ICLR 2021, Sec. 3).

Deep RLSP never computes ``p(s_0 | theta)``. It estimates the RLSP gradient by simulating the
past: from the observed state it samples ``T - 1`` steps backward with an inverse policy and
inverse dynamics, summing the features it passes; from where that ends it rolls the current
policy ``T - 1`` steps forward with the real simulator, summing features again. The estimate is
``mean(sum phi_backward - sum phi_forward) / temperature`` (Deep RLSP also divides by T; we
keep the scale of the exact gradient so that both share one learning rate; the original omits
the 1 / temperature). For deterministic dynamics and the exact inverse
models this is an unbiased estimate of the exact gradient (telescoping the per-step terms of
:func:`rlsp.tabular.rlsp_gradient`), which is what the tests check.

Two sources of inverse models plug into :func:`estimate_gradient`:

* :class:`ExactInverseModels`: the exact time-dependent posterior
  ``p(s_t, a_t | s_{t+1}) ∝ D_t(s) pi_t(a|s) P(s_{t+1}|s,a)`` from forward dynamic programming.
* :class:`LearnedInverseModels`: torch classifiers ``pi^-1(a | s')`` and ``T^-1(s | s', a)`` fit
  to transitions sampled from the simulator, as Deep RLSP does; the policy is the exact
  Boltzmann-rational one (the gridworld stand-in for Deep RLSP's SAC).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlrepro.envs.gridworlds import TabularModel
from rlrepro.models.mlp import mlp
from rlrepro.rlsp.estimator import clipped_gradient, simulate_past_and_future
from rlrepro.rlsp.tabular import state_distributions, value_iteration


def sample_rows(indptr, indices, weights, rows, rng):
    """For each row index in ``rows``, draw one column of a CSR matrix with the given weights."""
    cumulative = np.cumsum(weights)
    start, stop = indptr[rows], indptr[rows + 1]
    before = np.where(start > 0, cumulative[start - 1], 0.0)
    total = cumulative[stop - 1] - before
    if np.any(total <= 0):
        raise ValueError("cannot sample from a row with no probability mass")
    j = np.searchsorted(cumulative, before + rng.random(len(rows)) * total, side="right")
    return indices[np.clip(j, start, stop - 1)]


def sample_actions(probabilities, rng):
    """One action per row of ``probabilities`` ``(N, nA)``."""
    u = rng.random((len(probabilities), 1))
    return np.minimum((probabilities.cumsum(axis=1) < u).sum(axis=1), probabilities.shape[1] - 1)


def step(model: TabularModel, states, actions, rng):
    """Simulate one step of the true dynamics for a batch of states and actions."""
    if model.deterministic:
        return model.next_state[states, actions]
    P = model.transitions
    return sample_rows(P.indptr, P.indices, P.data, states * model.n_actions + actions, rng)


class ExactInverseModels:
    """The exact backward kernel of the Boltzmann-rational human, for testing the estimator."""

    def __init__(self, model: TabularModel):
        self.model = model
        PT = model.transitions_T  # row s' lists the (s, a) pairs that lead to it
        self._pairs = PT.indices
        self._state, self._action = np.divmod(PT.indices, model.n_actions)

    def prepare(self, policies, p0):
        self.policies = policies
        self.D = state_distributions(self.model, policies, p0)

    def backward_step(self, t, next_states, rng):
        """Sample ``s_t`` given ``s_{t+1}``: weights ``D_t(s) pi_t(a|s) P(s'|s,a)``."""
        PT = self.model.transitions_T
        weights = PT.data * self.D[t][self._state] * self.policies[t][self._state, self._action]
        pair = sample_rows(PT.indptr, self._pairs, weights, next_states, rng)
        return pair // self.model.n_actions


def state_codes(model: TabularModel):
    """Every scalar of every state tuple as a small integer code: ``(codes (nS, k), sizes (k,))``.

    E.g. Batteries' ``(x, y, train_pos, life, batteries, carrying)`` flattens to 8 scalars.
    """
    def flatten(x):
        return [v for item in x for v in flatten(item)] if isinstance(x, tuple) else [int(x)]

    raw = np.array([flatten(s) for s in model.states])
    codes = np.stack([np.unique(col, return_inverse=True)[1] for col in raw.T], axis=1)
    return codes, codes.max(axis=0) + 1


def one_hot_codes(codes, sizes):
    """The network input of each state: the one-hot codes of its scalars, concatenated."""
    return np.concatenate([np.eye(n, dtype=np.float32)[codes[:, j]] for j, n in enumerate(sizes)],
                          axis=1)


class LearnedInverseModels:
    """Inverse policy and inverse dynamics learned from simulated transitions.

    The inverse dynamics ``T^-1_t(s | s', a)`` predicts each scalar of the previous state tuple
    with its own softmax (a factored model, the gridworld analogue of Deep RLSP regressing the
    state change); sampling renormalises the factored probabilities over the enumerated states.

    Both models are time-indexed, as the true backward kernel
    ``p(s_t, a_t | s_{t+1}) ∝ D_t(s) pi_t(a|s) P(s_{t+1}|s,a)`` is: D_t, the distribution of
    s_t from the initial-state distribution, changes with t. Each RLSP epoch both are refit
    (warm-started) to transitions of the current policy rolled from s ~ p0, every transition
    paired with its own time index, so their data follow exactly D_t and pi_t. Before the first
    epoch the inverse dynamics is fit to random transitions from uniformly drawn states (random
    time indices), a warm start that knows only the dynamics. Fit on that uniform prior alone,
    Deep RLSP misses Apples' implicit reward: with stochastic regrowth many predecessors explain
    an observed state, and the uniform prior picks the wrong ones.
    """

    def __init__(self, model: TabularModel, *, hidden=128, learning_rate=1e-3, batch_size=512,
                 dynamics_samples=50_000, dynamics_epochs=5, policy_samples=4_096,
                 policy_steps=50, horizon=None, seed=0):
        self.model, self.rng = model, np.random.default_rng(seed)
        torch.manual_seed(seed)
        codes, sizes = state_codes(model)
        self.codes, self.sizes = codes, [int(n) for n in sizes]
        self._code_targets = torch.from_numpy(codes)
        self.x = torch.from_numpy(one_hot_codes(codes, sizes))
        self.state_of_code = np.full(int(np.prod(sizes)), -1)  # flat code -> state index
        self.state_of_code[np.ravel_multi_index(codes.T, sizes)] = np.arange(model.n_states)
        self.max_rejections = 20
        nA, d = model.n_actions, self.x.shape[1]
        # One-hot time index of the decision a_t, t < horizon - 1 (the human's horizon T).
        self.time_steps = max(1, (horizon or model.problem.horizon) - 1)
        self.inverse_policy = mlp([d + self.time_steps, hidden, hidden, nA])
        self.inverse_dynamics = mlp([d + nA + self.time_steps, hidden, hidden, sum(self.sizes)])
        self.batch_size, self.policy_samples, self.policy_steps = batch_size, policy_samples, policy_steps
        self.policy_optimizer = torch.optim.Adam(self.inverse_policy.parameters(), lr=learning_rate)
        self.dynamics_optimizer = torch.optim.Adam(self.inverse_dynamics.parameters(), lr=learning_rate)
        self.losses = {"inverse_dynamics": [], "inverse_policy": []}
        s = self.rng.integers(model.n_states, size=dynamics_samples)
        a = self.rng.integers(nA, size=dynamics_samples)
        s_next = step(model, s, a, self.rng)
        times = self.rng.integers(self.time_steps, size=dynamics_samples)
        n_steps = dynamics_epochs * max(1, dynamics_samples // batch_size)
        self._fit(self.inverse_dynamics, self.dynamics_optimizer,
                  self._dynamics_input(s_next, a, times), torch.from_numpy(s), n_steps,
                  self.losses["inverse_dynamics"], self._dynamics_loss)

    def _dynamics_input(self, next_states, actions, times):
        one_hot = torch.eye(self.model.n_actions)[torch.from_numpy(actions)]
        return torch.cat([self._policy_input(next_states, times), one_hot], dim=1)

    def _dynamics_loss(self, logits, previous_states):
        targets = self._code_targets[previous_states]
        return sum(nn.functional.cross_entropy(part, targets[:, j])
                   for j, part in enumerate(logits.split(self.sizes, dim=1)))

    def _fit(self, net, optimizer, inputs, targets, n_steps, losses,
             loss_fn=nn.functional.cross_entropy):
        for _ in range(n_steps):
            batch = torch.from_numpy(self.rng.integers(len(targets), size=self.batch_size))
            loss = loss_fn(net(inputs[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(loss.item())

    def _policy_input(self, next_states, times):
        one_hot = torch.eye(self.time_steps)[torch.from_numpy(np.asarray(times))]
        return torch.cat([self.x[torch.from_numpy(next_states)], one_hot], dim=1)

    def prepare(self, policies, p0):
        """Refit the inverse policy to ``(s_{t+1}, t) -> a_t`` of the current policy from p0."""
        model, rng = self.model, self.rng
        if len(policies) > self.time_steps:
            raise ValueError(f"the inverse policy was built for {self.time_steps} decisions "
                             f"(horizon={self.time_steps + 1}), got {len(policies)}")
        if not len(policies):
            return
        n = max(1, self.policy_samples // len(policies))  # rollouts: ~policy_samples pairs
        s = rng.choice(model.n_states, size=n, p=p0)
        states, next_states, actions, times = [], [], [], []
        for t, pi in enumerate(policies):
            a = sample_actions(pi[s], rng)
            states.append(s)
            s = step(model, s, a, rng)
            next_states.append(s)
            actions.append(a)
            times.append(np.full(n, t))
        states, next_states, actions, times = map(np.concatenate,
                                                  (states, next_states, actions, times))
        self._fit(self.inverse_policy, self.policy_optimizer,
                  self._policy_input(next_states, times), torch.from_numpy(actions),
                  self.policy_steps, self.losses["inverse_policy"])
        self._fit(self.inverse_dynamics, self.dynamics_optimizer,
                  self._dynamics_input(next_states, actions, times), torch.from_numpy(states),
                  self.policy_steps, self.losses["inverse_dynamics"], self._dynamics_loss)

    @torch.no_grad()
    def action_probabilities(self, t, next_states):
        """``pi^-1_t(a | s_{t+1})`` for a batch of next states, ``(N, nA)``."""
        logits = self.inverse_policy(self._policy_input(next_states, np.full(len(next_states), t)))
        return torch.softmax(logits, 1).numpy()

    @torch.no_grad()
    def backward_step(self, t, next_states, rng):
        a = sample_actions(self.action_probabilities(t, next_states), rng)
        parts = self.inverse_dynamics(
            self._dynamics_input(next_states, a, np.full(len(next_states), t))).split(self.sizes, dim=1)
        probabilities = [torch.softmax(part.double(), 1).numpy() for part in parts]
        # Rejection sampling: draw every scalar independently and keep draws that form an
        # enumerated state; this samples the factored model renormalised over valid states.
        previous = np.full(len(next_states), -1)
        for _ in range(self.max_rejections):
            pending = np.flatnonzero(previous < 0)
            if not len(pending):
                break
            codes = [sample_actions(p[pending], rng) for p in probabilities]
            previous[pending] = self.state_of_code[np.ravel_multi_index(codes, self.sizes)]
        pending = np.flatnonzero(previous < 0)
        if len(pending):
            # Rare (s', a) pairs (often ones no state leads to) put little mass on valid
            # states: sample them from the same renormalised distribution, computed directly.
            log_p = sum(np.log(p[pending][:, self.codes[:, j]] + 1e-300)
                        for j, p in enumerate(probabilities))
            weights = np.exp(log_p - log_p.max(axis=1, keepdims=True))
            previous[pending] = sample_actions(weights / weights.sum(axis=1, keepdims=True), rng)
        return previous


def estimate_gradient(model, theta, horizon, p0, inverse_models, *, n_trajectories=200,
                      temperature=1.0, max_norm=10.0, rng=None):
    """Deep RLSP's estimate of ``d/dtheta log p(s_0 | theta)``: backward minus forward features
    (``rlsp.estimator``); log pi = (Q - V) / temperature, so the feature difference estimates
    the gradient of Q - V."""
    rng = rng if rng is not None else np.random.default_rng()
    policies = value_iteration(model, model.features @ theta, horizon, temperature)
    inverse_models.prepare(policies, p0)
    backward, forward, _ = simulate_past_and_future(
        np.full(n_trajectories, model.observed_state), len(policies),
        lambda t, states: inverse_models.backward_step(t, states, rng),
        lambda t, states: step(model, states, sample_actions(policies[t][states], rng), rng),
        lambda states: model.features[states])
    return clipped_gradient(backward, forward, temperature=temperature, max_norm=max_norm)
