"""Test-time adaptation (rlrepro.evaluation.adaptation): the encoder follows the
self-supervised loss on the episode it plays, each member on its own."""
import copy

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.envs import make_env
from rlrepro.evaluation.adaptation import run_adapting_episodes


def test_adapting_episodes_lower_the_self_supervised_loss_without_reward():
    torch.manual_seed(0)
    config = AgentConfig(algorithm="td3_ssl", hidden=(32, 32), feature_dim=16,
                         encoder_hidden=(32,), ssl_hidden=(32,), adapt_lr=3e-3)
    agent = make_agent(11, 3, config, seeds=[0, 0])  # two copies of one policy
    before = copy.deepcopy(agent)
    envs = [make_env("hopper_short_legs", max_episode_steps=60,
                     terminate_when_unhealthy=False) for _ in range(2)]  # all 60 steps
    returns, losses = run_adapting_episodes(agent, envs, seeds=[1, 2], batch=16)
    assert returns.shape == (2,) and losses.shape == (60, 2)
    assert np.all(losses[-10:].mean(0) < 0.5 * losses[:10].mean(0)), losses
    adapted = dict(agent.modules.named_parameters())
    for name, p in before.modules.named_parameters():
        changed = not torch.equal(p, adapted[name])
        assert changed == name.startswith(("actor.encoder", "ssl_heads")), name  # shared
    # The two copies started equal and adapted each on its own episode.
    first_layer = agent.actor.encoder.net.weights[0]
    assert not torch.equal(first_layer[0], first_layer[1])
