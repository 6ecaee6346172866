"""The off-policy agents: buffers, learning on a small task, checkpoints, determinism."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlrepro.agents.algorithms import ALGORITHMS, AgentConfig, make_agent
from rlrepro.agents.buffers import EpisodeBuffer, ReplayBuffer, sample_members
from rlrepro.agents.training import CHECKPOINT, CheckpointError, load_policy, train
from rlrepro.evaluation.rollouts import EpsilonGreedy, evaluate

from helpers import SMALL, TASK, small_run


def test_replay_buffer_returns_transitions_as_length_one_sequences():
    buffer = ReplayBuffer(10, obs_dim=2, act_dim=1, seed=0)
    for t in range(15):  # wraps around: only t = 5..14 remain
        buffer.add([t, t], [t], t, [t + 1, t + 1], False, False)
    batch = buffer.sample(32)
    assert batch["obs"].shape == (32, 2, 2) and batch["actions"].shape == (32, 1, 1)
    assert batch["mask"] is None
    assert torch.all(batch["obs"][:, 1, 0] == batch["obs"][:, 0, 0] + 1)
    assert batch["rewards"].min() >= 5


@pytest.mark.parametrize("segment_len", [0, 3])
def test_episode_buffer_pads_masks_and_keeps_the_last_next_observation(segment_len):
    buffer = EpisodeBuffer(100, obs_dim=1, act_dim=1, seed=0, segment_len=segment_len)
    for length, offset in ((4, 0), (7, 100)):
        for t in range(length):
            buffer.add([offset + t], [t], 1.0, [offset + t + 1], t == length - 1, False)
    expected = [4, 7] if segment_len == 0 else [3, 1, 3, 3, 1]
    assert buffer.lengths == expected
    batch = buffer.sample(64)
    lengths = batch["mask"].sum(1).long()
    assert batch["obs"].shape[1] == batch["mask"].shape[1] + 1 == max(expected) + 1
    for b in range(64):
        n = lengths[b]
        obs = batch["obs"][b, : n + 1, 0]
        assert torch.all(obs[1:] == obs[:-1] + 1), "observations run on to the next one"
        assert batch["terminated"][b, n - 1] == float(obs[-1] in (4, 107))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("algorithm", ["sac", "td3", "rsac"])
def test_an_agent_on_cuda_updates_from_batches_its_buffers_keep_on_the_cpu(algorithm):
    """Buffers live on the CPU; ``update`` moves each batch to the agent's device."""
    config = AgentConfig(algorithm=algorithm, **(SMALL | {"device": "cuda"}))
    agent = make_agent(1, 1, config)
    buffer = agent.make_buffer(0)
    for t in range(40):
        buffer.add([t / 40], [0.5], 1.0, [(t + 1) / 40], False, t % 20 == 19)
    batch = sample_members([buffer], 8)
    assert batch["obs"].device.type == "cpu"
    info = agent.update(batch)
    assert all(torch.isfinite(v).all() and v.device.type == "cuda" for v in info.values())


@pytest.mark.parametrize("algorithm", [a for a, spec in ALGORITHMS.items() if not spec.prior])
def test_every_agent_learns_a_small_task(tmp_path, algorithm):  # sac_prior: test_skill_prior.py
    torch.set_num_threads(1)
    result = train(tmp_path, *small_run(algorithm, steps=2000), progress=False)
    returns = [c["return"] for c in result["curve"]]
    random_policy = returns[0]  # the first evaluation follows 250 random steps, no update
    # Random actions score about -15 per 25-step episode; holding the origin scores about -4.
    # The median of the last three evaluations: a deterministic policy (RDPG's) can collapse
    # for one evaluation and recover.
    final = np.median(returns[-3:])
    assert final > -7.0, returns
    assert final > random_policy + 3.0, returns


def test_same_seed_same_numbers(tmp_path):
    a = train(tmp_path / "a", *small_run("rsac", steps=600), progress=False)
    b = train(tmp_path / "b", *small_run("rsac", steps=600), progress=False)
    assert a["curve"] == b["curve"]


@pytest.mark.parametrize("algorithm", ["td3", "rsac", "td3_ssl", "td3_pad"])
def test_a_stopped_run_resumes_at_its_checkpoint_and_matches_an_uninterrupted_one(tmp_path, algorithm):
    agent, run = small_run(algorithm, steps=1000)
    whole = train(tmp_path / "whole", agent, run, progress=False)
    stopped = train(tmp_path / "resumed", agent, run, progress=False, stop_at=500)
    assert stopped == {"stopped_at": 500}
    assert torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=False)["step"] == 500
    resumed = train(tmp_path / "resumed", agent, run, progress=False)
    assert resumed["curve"] == whole["curve"]
    policy, _ = load_policy(tmp_path / "resumed")
    reference, _ = load_policy(tmp_path / "whole")
    for p, q in zip(policy.modules.parameters(), reference.modules.parameters()):
        assert torch.equal(p, q)


def test_resume_keeps_the_fractional_update_credit(tmp_path):
    """With half an update per step the checkpoint at step 500 falls between two updates."""
    agent, run = small_run("sac", steps=1000, updates_per_step=0.5)
    whole = train(tmp_path / "whole", agent, run, progress=False)
    train(tmp_path / "resumed", agent, run, progress=False, stop_at=500)
    checkpoint = torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=False)
    assert checkpoint["update_credit"] == 0.5 and checkpoint["info"]
    resumed = train(tmp_path / "resumed", agent, run, progress=False)
    assert resumed["curve"] == whole["curve"]


def test_keep_best_saves_the_best_evaluations_policy_across_a_resume(tmp_path):
    """Re-evaluating the saved policy on the evaluation seeds gives the curve's best return."""
    agent, run = small_run("sac", steps=1000, keep_best=True)
    train(tmp_path / "run", agent, run, progress=False, stop_at=500)
    result = train(tmp_path / "run", agent, run, progress=False)
    returns = [c["return"] for c in result["curve"]]
    best = len(returns) - 1 - int(np.argmax(returns[::-1]))  # the latest of equals
    assert result["policy_step"] == result["curve"][best]["step"]
    policy, _ = load_policy(tmp_path / "run")
    again = evaluate(policy, [gym.make(TASK)], run.eval_episodes, [0])
    assert float(again.mean()) == pytest.approx(returns[best], abs=1e-6)
    last = train(tmp_path / "last", agent, dataclasses.replace(run, keep_best=False),
                 progress=False)
    assert last["policy_step"] == run.total_steps and last["curve"] == result["curve"]


def test_a_killed_process_resumes_from_its_last_checkpoint(tmp_path):
    script = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
              "from helpers import small_run; from rlrepro.agents.training import train; "
              f"train({str(tmp_path)!r}, *small_run('sac', steps=20000), progress=False)")
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while not (tmp_path / CHECKPOINT).exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    step = torch.load(tmp_path / CHECKPOINT, weights_only=False)["step"]
    assert 0 < step < 20000
    agent, run = small_run("sac", steps=step + 250)
    # Same configuration except the budget: resuming under a new budget is refused...
    with pytest.raises(CheckpointError, match="'train.total_steps' is 20000 in the checkpoint"):
        train(tmp_path, agent, run, progress=False)
    # ...and under the original one it continues from the checkpoint's step.
    agent, run = small_run("sac", steps=20000)
    stopped = train(tmp_path, agent, run, progress=False, stop_at=step + 1)
    assert stopped["stopped_at"] == step + 250


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="checkpoint.pt: not a readable checkpoint"):
        train(tmp_path, *small_run("sac", steps=300), progress=False)
    assert (tmp_path / CHECKPOINT).read_bytes() == b"not a checkpoint", "nothing is overwritten"


def test_a_checkpoint_of_another_configuration_is_a_clear_error(tmp_path):
    agent, run = small_run("sac", steps=1000)
    train(tmp_path, agent, run, progress=False, stop_at=250)
    other = AgentConfig(**{**agent.__dict__, "lr": 1e-4})
    with pytest.raises(CheckpointError, match="'agent.lr' is 0.003 in the checkpoint, 0.0001 expected"):
        train(tmp_path, other, run, progress=False)


def test_a_finished_run_is_loaded_not_retrained(tmp_path):
    agent, run = small_run("ddpg", steps=300)
    first = train(tmp_path, agent, run, progress=False)
    stamp = (tmp_path / "result.json").stat().st_mtime_ns
    assert train(tmp_path, agent, run, progress=False) == json.loads((tmp_path / "result.json").read_text())
    assert (tmp_path / "result.json").stat().st_mtime_ns == stamp
    assert not (tmp_path / CHECKPOINT).exists(), "the replay buffer is dropped when a run finishes"
    assert first["final_return"] is not None


def test_recurrent_acting_carries_state():
    agent = make_agent(2, 1, AgentConfig(algorithm="rsac", **SMALL))
    obs = np.ones(2, dtype=np.float32)
    a1, state = agent.act(obs, agent.initial_state(), deterministic=True)
    a2, _ = agent.act(obs, state, deterministic=True)
    assert not np.allclose(a1, a2), "the same observation after a different history acts differently"


@pytest.mark.parametrize("algorithm", ["sac", "td3"])
def test_acting_on_many_states_acts_on_each_alone(algorithm):
    agent = make_agent(3, 2, AgentConfig(algorithm=algorithm, **SMALL), seeds=[0, 1])
    obs = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    together = agent.act_on_states(obs, deterministic=True)
    assert together.shape == (2, 5, 2)
    for k in range(5):
        alone, _ = agent.act(obs[:, k], deterministic=True)
        assert np.allclose(together[:, k], alone, atol=1e-6)
    explored = agent.act_on_states(obs)
    assert np.all(np.abs(explored) <= 1.0) and not np.allclose(explored, together)
    with pytest.raises(ValueError, match="recurrent agent acts on its history"):
        make_agent(3, 2, AgentConfig(algorithm="rsac", **SMALL)).act_on_states(obs[:1])



def test_an_epsilon_greedy_expert_replaces_that_share_of_its_deterministic_actions():
    """The original's eps_greedy feature rollouts: the deterministic action, or with probability
    epsilon a uniformly random one."""
    agent = make_agent(3, 2, AgentConfig(algorithm="sac", **SMALL), seeds=list(range(400)))
    obs = np.random.default_rng(0).normal(size=(400, 3)).astype(np.float32)
    deterministic, _ = agent.act(obs, deterministic=True)
    for epsilon in (0.0, 0.3, 1.0):
        actions, _ = EpsilonGreedy(agent, epsilon, 2, seed=1).act(obs, deterministic=False)
        kept = np.isclose(actions, deterministic).all(axis=1)
        assert abs((1 - kept.mean()) - epsilon) < 0.07, epsilon
        assert np.all(np.abs(actions) <= 1.0)

def test_unknown_algorithm_is_a_clear_error():
    with pytest.raises(ValueError, match="algorithm: expected one of"):
        AgentConfig(algorithm="ppo")


@pytest.mark.parametrize("algorithm", ["td3_pad", "td3_ssl"])
def test_self_supervised_heads_learn_a_known_dynamics_and_adapt_needs_no_reward(algorithm):
    """s' = s + B a: the inverse head can recover a from (s, s') (and td3_ssl's forward head s'
    from (s, a)). ``adapt`` alone (no reward, no critic) must cut the self-supervised loss."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    coupling = rng.normal(size=(2, 4))
    agent = make_agent(4, 2, AgentConfig(algorithm=algorithm, feature_dim=16,
                                         encoder_hidden=(64,), ssl_hidden=(64, 64),
                                         adapt_lr=3e-3), seeds=[0, 1])

    def batch(n=64):
        obs = rng.normal(size=(2, n, 4))
        actions = rng.uniform(-1, 1, (2, n, 2))
        return obs, actions, obs + actions @ coupling

    def features(*obs):  # the heads' features of each observation, (members, n, len(obs), F)
        with torch.no_grad():
            return agent.ssl_features(torch.stack([torch.as_tensor(o, dtype=torch.float32)
                                                   for o in obs], 2))

    held_out = batch(256)
    spread_before = features(held_out[0])[:, :, 0].std(dim=1).mean(-1)
    first = agent.adapt(*batch())
    for _ in range(300):
        last = agent.adapt(*batch())
    assert torch.all(last < 0.25 * first), (first, last)
    # Not by collapse (one feature for every observation makes the forward loss trivial): the
    # features stay apart (they narrow as they drop what the action does not need) and the
    # inverse head recovers held-out actions (variance 1/3).
    assert torch.all(features(held_out[0])[:, :, 0].std(dim=1).mean(-1) > 0.3 * spread_before)
    pair = features(held_out[0], held_out[2])
    with torch.no_grad():
        predicted = agent.ssl_heads["inverse_model"](torch.cat([pair[:, :, 0], pair[:, :, 1]],
                                                               -1))
    if algorithm == "td3_ssl":
        predicted = torch.tanh(predicted)
    assert ((predicted - torch.as_tensor(held_out[1], dtype=torch.float32)) ** 2).mean() < 0.25 / 3
    encoder = agent.actor.encoder
    assert encoder is agent.critic.encoders[0], "the actor acts on the adapted features"
    with pytest.raises(ValueError, match="adapt: td3 has no self-supervised encoder"):
        make_agent(4, 2, AgentConfig(algorithm="td3")).adapt(*batch())


def test_pads_branch_trains_every_other_update_by_its_own_optimizer():
    """PAD's branch steps every ``ssl_update_every`` updates (its ss_update_freq): its own
    encoder layer moves only then; the critic encoder's last layer is the critic's alone."""
    agent = make_agent(3, 2, AgentConfig(algorithm="td3_pad", **SMALL), seed=0)
    buffer = ReplayBuffer(200, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    for t in range(100):
        buffer.add(rng.normal(size=3), rng.uniform(-1, 1, 2), rng.normal(), rng.normal(size=3),
                   False, t % 20 == 19)
    head = agent.ssl_heads["encoder_head"].weights[0]
    for update in range(1, 5):
        before = head.detach().clone()
        info = agent.update(sample_members([buffer], 8))
        assert ("ssl_loss" in info) == (update % 2 == 0)
        assert torch.equal(head, before) == (update % 2 == 1)
    for parameter in agent.modules.parameters():
        parameter.grad = None
    loss = agent.ssl_loss(agent.ssl_features(torch.randn(1, 8, 2, 3)), torch.rand(1, 8, 1, 2))
    loss.sum().backward()
    shared, critics_own = agent.critic.encoders[0].net.weights
    assert shared.grad is not None and critics_own.grad is None  # the branch has its own


def test_fine_tuning_starts_from_the_given_policy_and_names_a_mismatch(tmp_path):
    agent, run = small_run("td3", steps=500)
    train(tmp_path / "nominal", agent, run, progress=False)
    source = tmp_path / "nominal" / "policy.pt"
    # No update (all steps random): the fine-tuned run's policy is the one it started from.
    still = dataclasses.replace(run, total_steps=250, random_steps=251, eval_every=250,
                                initial_policy=str(source))
    result = train(tmp_path / "tuned", agent, still, progress=False)
    start, _ = load_policy(tmp_path / "nominal")
    tuned, _ = load_policy(tmp_path / "tuned")
    for p, q in zip(start.modules.parameters(), tuned.modules.parameters(), strict=True):
        assert torch.equal(p, q)
    assert result["fingerprint"]["train"]["initial_policy"] != str(source), "by its content"
    other = dataclasses.replace(agent, lr=1e-3)
    with pytest.raises(ValueError, match=r"initial_policy: .* 'lr' is 0\.003"):
        train(tmp_path / "bad", other, still, progress=False)
    with pytest.raises(FileNotFoundError, match="initial_policy: no policy file"):
        train(tmp_path / "bad", agent, dataclasses.replace(still, initial_policy="none.pt"),
              progress=False)
