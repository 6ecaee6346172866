"""MB-SAC and MPC-CEM on a toy latent model whose reward is known: the next latent state is the
action, and the reward is the first coordinate of the latent state, so the best action is
(+1, ...) at every step. Both must find it; neither must touch the model."""
import types

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig
from rlrepro.latent.mb_sac import MBSAC, MBSACConfig
from rlrepro.latent.planning import MPCCEM, MPCCEMConfig

ACT_DIM = 2


class ActionIsState(torch.nn.Module):
    """The parts of an RSSM the agents use: the next deterministic state is the action taken,
    the reward head reads the first coordinate."""

    config = types.SimpleNamespace(feature_dim=ACT_DIM + 1)

    def __init__(self):
        super().__init__()
        self.reward_weights = torch.nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))

    def initial(self, n):
        zeros = torch.zeros(n, ACT_DIM)
        return {"deter": zeros, "stoch": torch.zeros(n, 1), "mean": torch.zeros(n, 1),
                "std": torch.ones(n, 1)}

    def imagine_step(self, state, action):
        return {**self.initial(len(action)), "deter": action}

    def imagine(self, state, actions):
        states = [state := self.imagine_step(state, a) for a in actions]
        return {k: torch.stack([s[k] for s in states]) for k in states[0]}

    @staticmethod
    def feature(state):
        return torch.cat([state["deter"], state["stoch"]], -1)

    def reward_head(self, features):
        return (features * self.reward_weights).sum(-1, keepdim=True)


def test_mpc_cem_plans_the_rewarded_action_and_trains_nothing():
    torch.manual_seed(0)
    model = ActionIsState()
    planner = MPCCEM(model, ACT_DIM,
                     MPCCEMConfig(horizon=3, candidates=200, iterations=4, top=20))
    action = planner.choose(model.initial(5), deterministic=True)
    assert action.shape == (5, ACT_DIM)
    assert (action[:, 0] > 0.8).all()  # the rewarded direction, for every episode
    assert planner.train(None, 10, 4, 4) == [] and planner.state_dict() == {}


class StartsFromZero:
    """A replay whose every sequence's posterior is the toy model's initial state."""

    def sample(self, batch, length, device="cpu"):
        return {"pictures": torch.zeros(length, batch, 1), "actions": torch.zeros(length, batch,
                                                                                 ACT_DIM)}


def test_mb_sac_learns_the_rewarded_action_from_its_buffer_of_imagined_transitions():
    torch.manual_seed(0)
    model = ActionIsState()
    model.encoder = lambda pictures: pictures
    model.observe = lambda embedded, actions: ({k: v.expand(*embedded.shape[:2], -1) for k, v
                                                in model.initial(1).items()}, None)
    config = MBSACConfig(horizon=2, imagined_batches=2, updates=300, batch=64, buffer=500)
    agent = MBSAC(model, ACT_DIM, AgentConfig(algorithm="sac", hidden=(32, 32), lr=3e-3,
                                              gamma=0.5, device="cpu"), config, seed=0)
    start = model.initial(64)
    before = agent.choose(start, deterministic=True)[:, 0].mean()
    history = agent.train(StartsFromZero(), config.updates, batch=4, length=8)
    assert len(history) == 300 and len(agent.buffer) == 2 * 4 * 8 * 2  # batches x B x L x H
    after = agent.choose(start, deterministic=True)[:, 0]
    assert after.mean() > 0.6 and after.mean() > before + 0.5  # SAC keeps some entropy
    assert torch.equal(model.reward_weights.detach(), torch.tensor([1.0, 0.0, 0.0]))
    copy = MBSAC(model, ACT_DIM, agent.sac.config, config, seed=1)
    copy.load_state_dict(agent.state_dict())
    np.testing.assert_array_equal(copy.choose(start, True), agent.choose(start, True))
