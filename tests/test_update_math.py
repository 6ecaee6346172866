"""The update math of the off-policy agents, piece by piece: each test can fail."""
import numpy as np
import pytest
import torch
from torch.distributions import Normal, TanhTransform, TransformedDistribution

from rlrepro.agents.algorithms import ALGORITHMS, AgentConfig, make_agent
from rlrepro.agents.buffers import EpisodeBuffer, ReplayBuffer, sample_members
from rlrepro.agents.networks import squashed_gaussian_log_prob

SMALL = dict(hidden=(16, 16), summary_size=16, summary_layers=1, transitions_per_batch=8,
             sequences_per_batch=4, lr=1e-2)


def test_squashed_gaussian_log_prob_matches_torchs_tanh_transformed_normal():
    torch.manual_seed(0)
    mean, std = torch.randn(1000, 3).double(), torch.rand(1000, 3).double() + 0.1
    eps = torch.randn(1000, 3).double().clamp(-4, 4)
    u = mean + std * eps
    keep = (u.abs() < 4).all(-1)  # torch's atanh loses precision at |tanh(u)| -> 1
    reference = TransformedDistribution(Normal(mean, std), TanhTransform())
    expected = reference.log_prob(torch.tanh(u)).sum(-1)
    np.testing.assert_allclose(squashed_gaussian_log_prob(u, eps, std.log())[keep],
                               expected[keep], rtol=1e-8, atol=1e-6)


def test_the_log_probs_gradients_are_those_of_the_density_of_u():
    """Written with eps, the log-prob's gradients through mean and log std are the ones of
    log N(u; mean, std) with u = mean + std * eps (the reparameterised sample)."""
    torch.manual_seed(0)
    eps, mean0, log_std0 = torch.randn(3, 50, 2).double() * torch.tensor([1, 1, 0.3]).double()[:, None, None]
    grads = []
    for form in ("eps", "u"):
        mean, log_std = mean0.clone().requires_grad_(), log_std0.clone().requires_grad_()
        u = mean + log_std.exp() * eps
        if form == "eps":
            value = squashed_gaussian_log_prob(u, eps, log_std)
        else:
            value = (TransformedDistribution(Normal(mean, log_std.exp()), TanhTransform())
                     .log_prob(torch.tanh(u)).sum(-1))
        grads.append(torch.autograd.grad(value.sum(), (mean, log_std)))
    for ours, reference in zip(*grads):
        torch.testing.assert_close(ours, reference, rtol=1e-6, atol=1e-6)


def test_squashed_gaussian_log_prob_stays_finite_where_sb3s_epsilon_form_saturates():
    u, mean, std = torch.tensor([[12.0]]), torch.tensor([[12.0]]), torch.tensor([[1.0]])
    exact = squashed_gaussian_log_prob(u, torch.zeros(1, 1), std.log())
    sb3 = Normal(mean, std).log_prob(u).sum(-1) - torch.log(1 - torch.tanh(u) ** 2 + 1e-6).sum(-1)
    # log(1 - tanh(12)^2) = log(4 e^-24) ~ -22.6: the exact correction, SB3's is capped at ~13.8
    assert exact.item() == pytest.approx(Normal(12.0, 1.0).log_prob(torch.tensor(12.0)).item()
                                         + 24 - 2 * np.log(2), abs=1e-3)
    assert sb3.item() < exact.item() - 8


def fill(buffer, episodes=3, length=5, terminated_last=True, obs_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        for t in range(length):
            last = t == length - 1
            buffer.add(rng.normal(size=obs_dim), rng.uniform(-1, 1, 1), rng.normal(),
                       rng.normal(size=obs_dim), last and terminated_last, last and not terminated_last)
    return buffer


@pytest.mark.parametrize("make_buffer", [
    lambda: ReplayBuffer(100, 2, 1, seed=0),
    lambda: EpisodeBuffer(100, 2, 1, seed=0, segment_len=0),
    lambda: EpisodeBuffer(100, 2, 1, seed=0, segment_len=2),
])
@pytest.mark.parametrize("terminated_last", [True, False])
def test_termination_stops_bootstrapping_and_truncation_does_not(make_buffer, terminated_last):
    buffer = fill(make_buffer(), terminated_last=terminated_last)
    assert buffer.terminated.sum() == (3 if terminated_last else 0), \
        "only a terminal next state is stored as terminal; a time limit is not"
    agent = make_agent(2, 1, AgentConfig(algorithm="sac", **SMALL), seed=0)
    batch = sample_members([buffer], 16)
    next_features = batch["obs"][:, :, 1:]
    target = agent.td_target(batch, next_features)
    bootstrapped = (target - batch["rewards"]).abs() > 1e-6
    np.testing.assert_array_equal(bootstrapped.numpy(), (batch["terminated"] == 0).numpy())


def padded_batch(seed):
    """Two sequences of lengths 2 and 4; the first padded by two steps."""
    buffer = EpisodeBuffer(100, 2, 1, seed=seed)
    fill(buffer, episodes=1, length=2, seed=seed)
    fill(buffer, episodes=1, length=4, seed=seed + 1)
    buffer.rng = np.random.default_rng(0)
    while True:  # a batch holding both lengths
        batch = sample_members([buffer], 2)
        if sorted(batch["mask"][0].sum(1).tolist()) == [2.0, 4.0]:
            return batch


@pytest.mark.parametrize("algorithm", ["rsac", "rtd3", "rdpg", "rsac_s"])
def test_padded_steps_change_no_loss_and_no_parameter(algorithm):
    batch = padded_batch(seed=3)
    changed = {k: (v.clone() if v is not None else None) for k, v in batch.items()}
    short = int(changed["mask"][0].sum(1).argmin())
    for key in ("actions", "rewards", "terminated"):  # garbage on the padded steps
        changed[key][0, short, 2:] = torch.randn_like(changed[key][0, short, 2:]) * 100
    changed["obs"][0, short, 3:] = torch.randn_like(changed["obs"][0, short, 3:]) * 100
    results = []
    for b in (batch, changed):
        agent = make_agent(2, 1, AgentConfig(algorithm=algorithm, **SMALL), seed=0)
        infos = [{k: v.tolist() for k, v in agent.update(b).items()} for _ in range(2)]
        results.append((infos, [p.detach().clone() for p in agent.modules.parameters()]))
    assert results[0][0] == results[1][0]
    for p, q in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("algorithm, every", [("sac", 1), ("ddpg", 1), ("td3", 2),
                                              ("rsac", 1), ("rtd3", 2)])
def test_target_networks_follow_at_the_algorithms_cadence(algorithm, every):
    buffer = fill(ReplayBuffer(100, 2, 1, seed=0) if not ALGORITHMS[algorithm].recurrent
                  else EpisodeBuffer(100, 2, 1, seed=0))
    agent = make_agent(2, 1, AgentConfig(algorithm=algorithm, **SMALL), seed=0)
    pairs = [(name, getattr(agent, name)) for name in ("critic_target", "actor_target")
             if hasattr(agent, name)]
    assert len(pairs) == (2 if agent.config.family != "sac" else 1)
    for k in range(1, 5):
        before = {name: [p.clone() for p in net.parameters()] for name, net in pairs}
        agent.update(sample_members([buffer], 8))
        for name, net in pairs:
            moved = any(not torch.equal(p, q) for p, q in zip(before[name], net.parameters()))
            assert moved == (k % every == 0), f"{name} after update {k}"
    expected = agent.config.polyak  # one soft update: target <- polyak target + (1-polyak) online
    online = [p.clone() for p in agent.critic.parameters()]
    target = [p.clone() for p in agent.critic_target.parameters()]
    agent.update_targets()
    for t, o, new in zip(target, online, agent.critic_target.parameters()):
        torch.testing.assert_close(new, expected * t + (1 - expected) * o)


def test_rsac_s_actor_loss_does_not_move_the_shared_summarizer():
    buffer = fill(EpisodeBuffer(100, 2, 1, seed=0))
    agent = make_agent(2, 1, AgentConfig(algorithm="rsac_s", **SMALL), seed=0)
    summarizer = agent.critic.encoders[0]
    assert agent.actor.encoder is summarizer, "one summarizer shared by actor and critics"
    assert not any(p is q for p in summarizer.parameters()
                   for q in agent.optimizers["actor"].parameters)
    batch = sample_members([buffer], 4)
    features = agent.critic.encode(batch["obs"])  # (members, critics, B, L+1, F)
    for p in summarizer.parameters():
        p.grad = None
    before = [p.clone() for p in summarizer.parameters()]
    agent.improve_actor(features[:, 0].detach()[..., :-1, :], features[..., :-1, :].detach(),
                        batch["mask"])
    assert all(p.grad is None for p in summarizer.parameters())
    assert all(torch.equal(p, q) for p, q in zip(before, summarizer.parameters()))


def test_the_algorithm_table_drives_the_networks():
    for name, spec in ALGORITHMS.items():
        agent = make_agent(2, 1, AgentConfig(algorithm=name, **SMALL))
        assert agent.critic.n == spec.critics
        recurrent = any(isinstance(m, torch.nn.LSTM) for m in agent.actor.modules())
        assert recurrent == spec.recurrent
        assert (agent.actor.encoder is agent.critic.encoders[0]) == spec.shared_summarizer


@pytest.mark.parametrize("tune", [True, False])
def test_sac_tunes_its_temperature_only_when_asked(tune):
    agent = make_agent(2, 1, AgentConfig(algorithm="sac", init_alpha=0.01, tune_alpha=tune,
                                         **SMALL), seed=0)
    buffer = fill(ReplayBuffer(100, 2, 1, seed=0))
    for _ in range(5):
        info = agent.update(sample_members([buffer], 8))
    assert (info["alpha"].item() != pytest.approx(0.01, rel=1e-6)) == tune
