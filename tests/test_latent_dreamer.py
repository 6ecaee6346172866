"""Dreamer's behaviour learning on a frozen world model: the λ-returns against hand-computed
values; on a world model whose latent state the action moves and whose reward is known, that
the actor learns the rewarded action (its only gradient runs through the imagined dynamics);
that the world model is left untouched; acting from pictures and the state_dict round trip."""
import io

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from rlrepro.latent.dreamer import Dreamer, DreamerConfig, lambda_returns
from rlrepro.latent.replay import SequenceReplay
from rlrepro.latent.world_model import posteriors
from rlrepro.models.rssm import RSSM, RSSMConfig

torch.set_num_threads(1)

CONFIG = RSSMConfig(image_size=16, action_dim=2, stoch=4, deter=16, hidden=16, depth=4)
SMALL = DreamerConfig(horizon=5, hidden=32, layers=2, actor_lr=1e-3, value_lr=1e-3)


def tiny() -> RSSM:
    torch.manual_seed(0)
    return RSSM(CONFIG)


class Drift(RSSM):
    """A world model whose deterministic state is moved by the action (``h' = h + [a, 0..]``)
    and whose reward is ``h[0] - h[1]``: the best action is (+1, -1), and only the dynamics
    tell the actor so."""

    def __init__(self):
        torch.manual_seed(0)
        super().__init__(CONFIG)
        self.reward_head = nn.Linear(CONFIG.feature_dim, 1)
        with torch.no_grad():
            self.reward_head.weight.zero_()
            self.reward_head.weight[0, :2] = torch.tensor([1.0, -1.0])
            self.reward_head.bias.zero_()

    def imagine_step(self, state, action):
        deter = state["deter"] + F.pad(action, (0, self.config.deter - action.shape[-1]))
        return self._gaussian(self.prior_net, deter, deter)


def random_replay(seed: int = 0, episodes: int = 4, steps: int = 10) -> SequenceReplay:
    """Episodes of random pictures and actions in ``replay``'s layout."""
    rng = np.random.default_rng(seed)
    replay = SequenceReplay(seed)
    replay.add([{"pictures": rng.integers(0, 256, (steps + 1, 3, 16, 16), dtype=np.uint8),
                 "actions": rng.uniform(-1, 1, (steps + 1, 2)).astype(np.float32),
                 "rewards": np.zeros(steps + 1, np.float32),
                 "states": np.zeros((steps + 1, 1), np.float32)} for _ in range(episodes)])
    return replay


@torch.no_grad()
def mean_mode(agent: Dreamer, replay: SequenceReplay) -> torch.Tensor:
    """The deterministic action averaged over posterior states of replayed sequences."""
    latent = posteriors(agent.model, replay.sample(8, 4))
    return agent.choose({k: v.flatten(0, 1) for k, v in latent.items()}, True).mean(0)


def test_lambda_returns_are_td_targets_at_0_and_monte_carlo_at_1():
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[10.0], [20.0], [30.0]])
    bootstrap = torch.tensor([100.0])

    def returns(lambda_):
        return lambda_returns(rewards, values, bootstrap, 0.5, lambda_)[:, 0].tolist()

    assert returns(0.0) == pytest.approx([1 + 0.5 * 20, 2 + 0.5 * 30, 3 + 0.5 * 100])
    assert returns(1.0) == pytest.approx([1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 100,
                                          2 + 0.5 * 3 + 0.25 * 100, 3 + 0.5 * 100])
    # halfway: R_t = r_t + 0.5 (0.5 v_{t+1} + 0.5 R_{t+1}), by hand from R_2 = 53
    assert returns(0.5) == pytest.approx([11.6875, 22.75, 53.0])


def test_the_actor_learns_the_rewarded_action_through_the_imagined_dynamics():
    agent = Dreamer(Drift(), 2, SMALL, seed=0)
    replay = random_replay()
    before = mean_mode(agent, replay)
    assert before.abs().max() < 0.5, before
    history = agent.train(replay, updates=150, batch=4, length=4)
    after = mean_mode(agent, replay)
    assert after[0] > 0.9 and after[1] < -0.9, (before, after)
    first = np.mean([h["imagined_return"] for h in history[:10]])
    last = np.mean([h["imagined_return"] for h in history[-10:]])
    assert last > first + 5, (first, last)
    assert set(history[0]) == {"actor_loss", "value_loss", "imagined_return"}


def test_training_leaves_the_world_model_untouched():
    model = tiny()
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    agent = Dreamer(model, 2, DreamerConfig(horizon=4, hidden=16, layers=1, starts=5), seed=0)
    actor = [p.clone() for p in agent.actor.parameters()]
    value = [p.clone() for p in agent.value.parameters()]
    agent.train(random_replay(), updates=3, batch=3, length=4)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    # ... while actor and value net did learn
    assert not all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(value, agent.value.parameters()))


def test_acting_from_pictures_and_the_state_dict_round_trip():
    model = tiny()
    agent = Dreamer(model, 2, SMALL, seed=0)
    agent.train(random_replay(), updates=2, batch=2, length=4)
    pictures = torch.randint(0, 256, (5, 3, 16, 16)).numpy()

    def actions(policy, deterministic):
        torch.manual_seed(1)  # the posterior's sample
        first, state = policy.act(pictures, deterministic=deterministic)
        second, _ = policy.act(pictures, state, deterministic=deterministic)
        return np.concatenate([first, second])

    for deterministic in (False, True):
        acted = actions(agent, deterministic)
        assert acted.shape == (10, 2) and np.abs(acted).max() <= 1.0
    saved = io.BytesIO()
    torch.save(agent.state_dict(), saved)
    saved.seek(0)
    other = Dreamer(model, 2, SMALL, seed=1)
    assert not np.array_equal(actions(other, True), actions(agent, True))
    other.load_state_dict(torch.load(saved, weights_only=True))
    assert np.array_equal(actions(other, True), actions(agent, True))
    # the optimizers' moments came along: one more update is the same for both
    for policy in (agent, other):
        torch.manual_seed(2)
        policy.train(random_replay(seed=3), updates=1, batch=2, length=4)
    for a, b in zip(agent.actor.parameters(), other.actor.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(agent.value.parameters(), other.value.parameters()):
        assert torch.equal(a, b)


def test_the_seed_fixes_the_initial_weights_and_not_the_callers_random_state():
    model = tiny()
    weights = lambda agent: torch.cat([p.flatten() for p in agent.actor.parameters()])  # noqa: E731
    torch.manual_seed(3)
    drawn = torch.rand(1)
    torch.manual_seed(3)
    first = Dreamer(model, 2, SMALL, seed=0)
    assert torch.equal(torch.rand(1), drawn)
    assert torch.equal(weights(first), weights(Dreamer(model, 2, SMALL, seed=0)))
    assert not torch.equal(weights(first), weights(Dreamer(model, 2, SMALL, seed=1)))
