"""Test-time adaptation (rlrepro.evaluation.adaptation): the encoder follows the
self-supervised loss on the episode it plays, each member on its own; PAD's variant steps only
the layers its branch shares with the policy, and the branch."""
import copy

import numpy as np
import pytest
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.envs import make_env
from rlrepro.evaluation.adaptation import run_adapting_episodes

# What adaptation may change: PAD's shared first encoder layer and its branch; our ablation's
# whole encoder and heads. Never the actor's or the critics' heads, nor the targets.
ADAPTED = {"td3_pad": ("actor.encoder.net.weights.0", "actor.encoder.net.biases.0", "ssl_heads"),
           "td3_ssl": ("actor.encoder", "ssl_heads")}


@pytest.mark.parametrize("algorithm, episode_batch", [("td3_pad", 0), ("td3_ssl", 16)])
def test_adapting_episodes_lower_the_self_supervised_loss_without_reward(algorithm,
                                                                         episode_batch):
    torch.manual_seed(0)
    config = AgentConfig(algorithm=algorithm, hidden=(32, 32), feature_dim=16,
                         encoder_hidden=(32,), ssl_hidden=(32, 32), adapt_lr=3e-3)
    agent = make_agent(11, 3, config, seeds=[0, 0])  # two copies of one policy
    before = copy.deepcopy(agent)
    envs = [make_env("hopper_short_legs", max_episode_steps=60,
                     terminate_when_unhealthy=False) for _ in range(2)]  # all 60 steps
    returns, losses = run_adapting_episodes(agent, envs, seeds=[1, 2],
                                            episode_batch=episode_batch)
    assert returns.shape == (2,) and losses.shape == (60, 2)
    assert np.all(losses[-10:].mean(0) < 0.5 * losses[:10].mean(0)), losses
    adapted = dict(agent.modules.named_parameters())
    for name, p in before.modules.named_parameters():
        changed = not torch.equal(p, adapted[name])
        assert changed == name.startswith(ADAPTED[algorithm]), name
    # The two copies started equal and adapted each on its own episode.
    first_layer = agent.actor.encoder.net.weights[0]
    assert not torch.equal(first_layer[0], first_layer[1])


def test_pad_adapts_on_the_latest_transition_alone():
    """With episode_batch 0 each step's loss is the newest transition's: replaying the episode's
    transitions one at a time through a copy of the agent gives the same losses."""
    config = AgentConfig(algorithm="td3_pad", hidden=(16, 16), feature_dim=8,
                         encoder_hidden=(16,), ssl_hidden=(16, 16))
    env = make_env("hopper_body", max_episode_steps=12, terminate_when_unhealthy=False)
    agent = make_agent(env.observation_space.shape[0], 3, config, seeds=[3])
    replay = copy.deepcopy(agent)
    recorded = []
    step = env.step

    def recording_step(action):
        out = step(action)
        recorded.append((obs_before[0].copy(), np.asarray(action, np.float32), out[0]))
        obs_before[0] = out[0]
        return out

    obs_before = [env.reset(seed=5)[0]]
    env.step = recording_step
    _, losses = run_adapting_episodes(agent, [env], seeds=[5])
    expected = [replay.adapt(o[None, None], a[None, None], n[None, None]).item()
                for o, a, n in recorded]
    np.testing.assert_allclose(losses[:, 0], expected, rtol=1e-5)
