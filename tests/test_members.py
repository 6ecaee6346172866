"""Several seeds in one process: each member is the run its seed would be alone."""
import dataclasses

import numpy as np
import pytest
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.buffers import ReplayBuffer, sample_members
from rlrepro.agents.training import TrainConfig, load_policy, train, train_seeds

from helpers import small_run

SMALL = dict(hidden=(16, 16), transitions_per_batch=8, lr=1e-2, device="cpu")  # helpers.SMALL


def filled_buffer(seed):
    buffer = ReplayBuffer(200, 3, 2, seed=seed)
    rng = np.random.default_rng(seed)
    for t in range(100):
        buffer.add(rng.normal(size=3), rng.uniform(-1, 1, 2), rng.normal(), rng.normal(size=3),
                   rng.random() < 0.05, t % 20 == 19)
    return buffer


@pytest.mark.parametrize("algorithm", ["sac", "td3", "ddpg", "td3_ssl", "td3_pad"])
def test_each_members_update_equals_its_single_seed_update_on_the_same_batches(algorithm):
    config = AgentConfig(algorithm=algorithm, **SMALL)
    seeds = [3, 7, 11]
    together = make_agent(3, 2, config, seeds=seeds)
    alone = [make_agent(3, 2, config, seed) for seed in seeds]
    buffers = [filled_buffer(seed) for seed in seeds]
    for _ in range(6):  # TD3's delayed actor and target updates included
        batches = [sample_members([b], 8) for b in buffers]
        stacked = {k: None if batches[0][k] is None else torch.cat([b[k] for b in batches])
                   for k in batches[0]}
        info = together.update(stacked)
        for i, agent in enumerate(alone):
            single = agent.update(batches[i])
            for key, value in single.items():
                torch.testing.assert_close(info[key][i], value[0], rtol=1e-5, atol=1e-6)
    for i, agent in enumerate(alone):
        member = together.member_state_dict(i)["modules"]
        for name, value in agent.modules.state_dict().items():
            torch.testing.assert_close(member[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_members_start_from_their_seeds_weights_and_differ_from_each_other():
    config = AgentConfig(algorithm="sac", **SMALL)
    together = make_agent(3, 2, config, seeds=[0, 1])
    for i, seed in enumerate([0, 1]):
        alone = make_agent(3, 2, config, seed).modules.state_dict()
        member = together.member_state_dict(i)["modules"]
        assert all(torch.equal(member[k], v) for k, v in alone.items())
    weight = together.actor.net.weights[0]  # (members, in, out)
    assert not torch.equal(weight[0], weight[1])


def test_recurrent_agents_refuse_several_seeds():
    with pytest.raises(ValueError, match="one seed per process"):
        make_agent(3, 2, AgentConfig(algorithm="rsac", **SMALL), seeds=[0, 1])


def test_a_group_of_runs_learns_like_its_runs_alone_and_resumes_exactly(tmp_path):
    agent, run = small_run("sac", steps=1000)
    folders = [tmp_path / "group" / f"seed{s}" for s in (0, 1)]
    group = train_seeds(folders, agent, run, [0, 1], progress=False)
    alone = train(tmp_path / "alone", agent, run, seed=1, progress=False)
    # Same seed, same environment steps and batches: the curves agree up to rounding, which
    # 750 updates can amplify a little.
    np.testing.assert_allclose([c["return"] for c in group[1]["curve"]],
                               [c["return"] for c in alone["curve"]], rtol=0.05, atol=0.5)
    assert group[0]["curve"] != group[1]["curve"]
    # Killed after a mid-episode checkpoint (step 510 of 25-step episodes), then resumed.
    agent, run = small_run("sac", steps=1000, checkpoint_every=255)
    resumed_folders = [tmp_path / "resumed" / f"seed{s}" for s in (0, 1)]
    stopped = train_seeds(resumed_folders, agent, run, [0, 1], progress=False, stop_at=500)
    assert [s["stopped_at"] for s in stopped] == [510, 510]
    resumed = train_seeds(resumed_folders, agent, run, [0, 1], progress=False)
    uninterrupted = train_seeds([tmp_path / "whole" / f"seed{s}" for s in (0, 1)], agent, run,
                                [0, 1], progress=False)
    for r, u in zip(resumed, uninterrupted):
        assert r["curve"] == u["curve"] and r["episode_returns"] == u["episode_returns"]
    policy, fingerprint = load_policy(resumed_folders[1])
    assert fingerprint["seed"] == 1 and policy.members == 1


def test_runs_on_different_tasks_of_one_shape_train_together_as_they_would_alone(tmp_path):
    agent, run = small_run("td3", steps=500, eval_episodes=1)
    run = TrainConfig(**{**dataclasses.asdict(run), "env": "cheetah_fw", "eval_every": 500})
    group = train_seeds([tmp_path / "fw", tmp_path / "bw"], agent, run, [0, 0],
                        envs=["cheetah_fw", "cheetah_bw"], progress=False)
    alone = train(tmp_path / "bw_alone", agent, dataclasses.replace(run, env="cheetah_bw"), 0,
                  progress=False)
    assert group[1]["fingerprint"]["train"]["env"] == "cheetah_bw"
    # Equal up to the rounding of batched matmuls, which 250 updates amplify a little.
    np.testing.assert_allclose(group[1]["curve"][-1]["return"], alone["curve"][-1]["return"],
                               rtol=0.02)
    # The same seed, actions and updates on the mirrored task: different returns.
    assert group[0]["curve"][-1]["return"] != group[1]["curve"][-1]["return"]


def test_runs_trained_together_must_share_their_spaces(tmp_path):
    agent, run = small_run("sac", steps=100)
    with pytest.raises(ValueError, match="one observation and action shape"):
        train_seeds([tmp_path / "a", tmp_path / "b"], agent, run, [0, 1],
                    envs=["Pendulum-v1", "pendulum_p"], progress=False)
