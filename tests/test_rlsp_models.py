"""Deep RLSP's learned models (state VAE, inverse dynamics, inverse policy MDN) each fit a small
synthetic problem whose answer is known, and train deterministically under a seed."""
import numpy as np
import pytest
import torch

from rlrepro.models import inverse_dynamics as inv_dyn
from rlrepro.models import inverse_policy as inv_pol
from rlrepro.models import state_vae as vae
from rlrepro.models.fitting import mean_std

torch.set_num_threads(1)


def clustered_manifold(n, rng):
    """Three clusters on a curved 2-D manifold in 10-D: ``(points (n, 10), labels (n,))``."""
    centres = np.array([[-1.5, 0.0], [1.5, 0.0], [0.0, 1.8]])
    labels = rng.integers(3, size=n)
    z = centres[labels] + 0.3 * rng.standard_normal((n, 2))
    embedding = np.random.default_rng(123)  # the same manifold for every call
    w1, w2 = embedding.standard_normal((2, 8)), embedding.standard_normal((8, 10))
    return np.tanh(z @ w1) @ w2 + 0.01 * rng.standard_normal((n, 10)), labels


VAE_CFG = vae.StateVAEConfig(latent_dim=3, hidden_size=64, lr=3e-3, epochs=40, batch_size=100)


@pytest.fixture(scope="module")
def trained_vae():
    rng = np.random.default_rng(0)
    x, labels = clustered_manifold(2000, rng)
    model = vae.StateVAE(10, VAE_CFG, seed=0)
    losses = vae.fit(model, x, VAE_CFG, seed=0)
    return model, losses, x, labels


def test_state_vae_reconstructs_a_2d_manifold_and_separates_its_clusters(trained_vae):
    model, losses, x, labels = trained_vae
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    test, test_labels = clustered_manifold(500, np.random.default_rng(1))
    reconstruction = model.decode(model.encode(test, sample=False)).numpy()
    error = ((reconstruction - test) ** 2).mean()
    trivial = ((x.mean(axis=0) - test) ** 2).mean()  # predicting the training mean
    assert error < 0.01 * trivial
    # With the features Deep RLSP uses, posterior samples, the nearest training-cluster centre
    # recovers the cluster of held-out points (an untrained encoder's noise gets ~35%).
    generator = torch.Generator().manual_seed(0)
    phi = model.encode(x, generator=generator).numpy()
    centres = np.stack([phi[labels == k].mean(axis=0) for k in range(3)])
    test_phi = model.encode(test, generator=generator).numpy()
    nearest = ((test_phi[:, None] - centres) ** 2).sum(-1).argmin(axis=1)
    assert (nearest == test_labels).mean() > 0.97


def test_state_vae_features_are_posterior_samples_by_default(trained_vae):
    model, _, x, _ = trained_vae
    mean = model.encode(x[:200], sample=False)
    first = model.encode(x[:200], generator=torch.Generator().manual_seed(5))
    again = model.encode(x[:200], generator=torch.Generator().manual_seed(5))
    other = model.encode(x[:200], generator=torch.Generator().manual_seed(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    _, std = model.posterior(torch.as_tensor(x[:200], dtype=torch.float32))
    z = ((first - mean) / std).detach()
    assert z.std().item() == pytest.approx(1.0, abs=0.1)


def test_state_vae_loss_is_the_beta_weighted_negative_elbo():
    cfg = vae.StateVAEConfig(latent_dim=2, hidden_size=8, kl_weight=0.3, prior_std=2.0)
    model = vae.StateVAE(4, cfg, seed=0)
    model.state_mean[:], model.state_std[:] = 0.5, 2.0
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    loss = model.negative_elbo(x, torch.Generator().manual_seed(1))
    mean, std = model.posterior(x)
    z = mean + std * torch.randn(mean.shape, generator=torch.Generator().manual_seed(1))
    D = torch.distributions
    likelihood = D.Normal(model.decoder(z), 1.0).log_prob((x - 0.5) / 2.0).sum(-1)
    kl = D.kl_divergence(D.Normal(mean, std), D.Normal(0.0, 2.0)).sum(-1)
    assert loss.item() == pytest.approx((-likelihood + 0.3 * kl).mean().item(), rel=1e-5)


def test_inverse_dynamics_inverts_a_linear_system_and_clips_to_the_observed_change():
    rng = np.random.default_rng(0)
    state_dim, action_dim = 4, 2
    A = np.eye(state_dim) + 0.3 * rng.standard_normal((state_dim, state_dim))
    B = rng.standard_normal((state_dim, action_dim))

    def transitions(n):
        s, a = rng.standard_normal((n, state_dim)), rng.uniform(-1, 1, (n, action_dim))
        return s, a, s @ A.T + a @ B.T

    s, a, s_next = transitions(3000)
    cfg = inv_dyn.InverseDynamicsConfig(hidden_layers=2, hidden_size=64, lr=3e-3, epochs=30,
                                        batch_size=100)
    model = inv_dyn.InverseDynamics(state_dim, action_dim, cfg, seed=0)
    losses = inv_dyn.fit(model, s, a, s_next, cfg, seed=0)
    assert np.mean(losses[-30:]) < 0.01 * np.mean(losses[:5])

    s_test, a_test, s_next_test = transitions(500)
    predicted = model.predict_previous(s_next_test, a_test).numpy()
    error = ((predicted - s_test) ** 2).mean()
    assert error < 0.005 * ((s_next_test - s_test) ** 2).mean()  # vs. "nothing changed"

    deltas = s - s_next
    np.testing.assert_allclose(model.delta_min.numpy(), deltas.min(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.delta_max.numpy(), deltas.max(axis=0), rtol=1e-5)
    far = torch.as_tensor(20 * s_next_test[:50], dtype=torch.float32)  # far outside the data
    change = model.predict_previous(far, 20 * a_test[:50]) - far
    assert (change >= model.delta_min - 1e-5).all() and (change <= model.delta_max + 1e-5).all()
    at_bound = torch.isclose(change, model.delta_min) | torch.isclose(change, model.delta_max)
    assert at_bound.float().mean() > 0.5  # the clip is what holds these in range


def bimodal_actions(next_states, rng):
    """Action ~ 0.5 + 0.2 s'_0 with probability 0.2 (s'_0 < 0) or 0.6 (s'_0 >= 0), else -0.4;
    each mode has the model's own spread, 0.05."""
    upper = rng.random(len(next_states)) < np.where(next_states[:, 0] < 0, 0.2, 0.6)
    mode = np.where(upper, 0.5 + 0.2 * next_states[:, 0], -0.4)
    return (mode + 0.05 * rng.standard_normal(len(next_states)))[:, None]


def test_inverse_policy_recovers_a_state_dependent_bimodal_distribution():
    rng = np.random.default_rng(0)
    next_states = rng.uniform(-1, 1, (8000, 2))
    actions = bimodal_actions(next_states, rng)
    cfg = inv_pol.InversePolicyConfig(hidden_layers=2, hidden_size=64, lr=1e-3, epochs=20,
                                      batch_size=100)
    model = inv_pol.InversePolicy(2, [-0.45], [1.0], cfg, seed=0)
    inv_pol.fit(model, next_states, actions, cfg, seed=0)

    calls = []
    model.trunk.register_forward_hook(lambda *_: calls.append(1))
    generator = torch.Generator().manual_seed(0)
    for s0, upper_weight in [(-0.5, 0.2), (0.5, 0.6)]:
        sampled = model.sample(np.tile([s0, 0.3], (4000, 1)), generator).numpy()[:, 0]
        upper, lower = sampled[sampled > 0.05], sampled[sampled <= 0.05]
        assert len(upper) / len(sampled) == pytest.approx(upper_weight, abs=0.06)
        assert upper.mean() == pytest.approx(0.5 + 0.2 * s0, abs=0.05)
        assert lower.mean() == pytest.approx(-0.4, abs=0.05)
        assert upper.std() < 0.1 and lower.std() < 0.1  # concentrated, not smeared between modes
        assert sampled.min() == pytest.approx(-0.45)  # clipped to the lower action bound
    assert len(calls) == 2  # one network call per batch


def test_inverse_policy_log_prob_is_the_mixture_density():
    cfg = inv_pol.InversePolicyConfig(components=3, std=0.2, hidden_layers=1, hidden_size=8)
    model = inv_pol.InversePolicy(4, -np.ones(2), np.ones(2), cfg, seed=0)
    s, a = torch.randn(16, 6, generator=torch.Generator().manual_seed(0)).split([4, 2], dim=-1)
    log_weights, means = model.mixture(s)
    D = torch.distributions
    mixture = D.MixtureSameFamily(D.Categorical(logits=log_weights),
                                  D.Independent(D.Normal(means, 0.2), 1))
    torch.testing.assert_close(model.log_prob(s, a), mixture.log_prob(a))


def test_normalisation_leaves_constant_coordinates_unscaled():
    x = torch.tensor([[1.0, 5.0], [5.0, 5.0]])  # the second: a joint that never moves
    mean, std = mean_std(x)
    torch.testing.assert_close(mean, torch.tensor([3.0, 5.0]))
    torch.testing.assert_close(std, torch.tensor([2.0, 1.0]))


def make_vae(seed):
    cfg = vae.StateVAEConfig(latent_dim=2, hidden_size=16, lr=1e-3, epochs=2, batch_size=50)
    x = np.random.default_rng(0).standard_normal((200, 5))
    model = vae.StateVAE(5, cfg, seed=seed)
    return model, vae.fit(model, x, cfg, seed=seed)


def make_inverse_dynamics(seed):
    cfg = inv_dyn.InverseDynamicsConfig(hidden_layers=2, hidden_size=16, lr=1e-3, epochs=2,
                                        batch_size=50)
    s, a = np.random.default_rng(0).standard_normal((2, 200, 3))
    model = inv_dyn.InverseDynamics(3, 3, cfg, seed=seed)
    return model, inv_dyn.fit(model, s, a, s + a, cfg, seed=seed)


def make_inverse_policy(seed):
    cfg = inv_pol.InversePolicyConfig(hidden_layers=2, hidden_size=16, lr=1e-3, epochs=2,
                                      batch_size=50)
    s, a = np.random.default_rng(0).standard_normal((2, 200, 3))
    model = inv_pol.InversePolicy(3, -np.ones(3), np.ones(3), cfg, seed=seed)
    return model, inv_pol.fit(model, s, a, cfg, seed=seed)


@pytest.mark.parametrize("make", [make_vae, make_inverse_dynamics, make_inverse_policy])
def test_training_is_deterministic_under_a_seed(make):
    torch.manual_seed(999)  # the global random state must not matter
    model, losses = make(seed=3)
    torch.manual_seed(1000)
    again, same_losses = make(seed=3)
    _, other_losses = make(seed=4)
    assert losses == same_losses and losses != other_losses
    for (name, value), other in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(value, other), name
