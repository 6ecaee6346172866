"""GAIL: the discriminator separates expert from random transitions, the reward pays what it
calls expert more (imitation's sign convention), bad demonstrations stop a run before training,
and a run resumes exactly from its checkpoint."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rlrepro.agents.ppo import PPOConfig
from rlrepro.demonstrations import Transitions
from rlrepro.envs import make_env
from rlrepro.evaluation.rollouts import evaluate
from rlrepro.imitation.gail import (GAIL, GAILConfig, generator_reward, load_policy,
                                    train_gail)
from rlrepro.runs import POLICY, load

torch.set_num_threads(1)

TASK = "inverted_pendulum"  # 4 observations, 1 action
WEIGHTS = np.array([1.0, -1.0, 0.5, 2.0], np.float32)


def transitions(n, expert, seed, obs_dim=4, act_dim=1, task=TASK):
    """Observations ~ N(0, 1); the expert's action tanh(w . s), a random one uniform in [-1, 1]."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, obs_dim)).astype(np.float32)
    actions = (np.tanh(obs[:, :4] @ WEIGHTS)[:, None].repeat(act_dim, 1) if expert
               else rng.uniform(-1, 1, (n, act_dim))).astype(np.float32)
    return Transitions(task, "demonstration", obs, actions, obs.copy(), np.zeros(n, np.float32),
                       np.zeros(n, np.float32))


def env_factory():
    return make_env(TASK)


def test_the_discriminator_separates_expert_from_random_transitions_on_held_out_data():
    """Label 1 = expert: trained, the discriminator's loss falls below log 2 (the best a
    constant guess does on the balanced minibatches), and it calls most held-out expert
    transitions expert (logit > 0) and most random ones not; its logged accuracies say the same
    of its training minibatches. Either class alone at ~1 would be a constant classifier."""
    expert, random = transitions(500, True, 0), transitions(2048, False, 1)
    config = GAILConfig(disc_batch_size=512, disc_minibatch_size=128)
    gail = GAIL(expert, [env_factory()], config, seed=0)
    first = gail.train_discriminator(torch.from_numpy(random.observations),
                                     torch.from_numpy(random.actions))
    for _ in range(150):
        last = gail.train_discriminator(torch.from_numpy(random.observations),
                                        torch.from_numpy(random.actions))
    assert first["disc_loss"] > 0.6 and last["disc_loss"] < 0.4 < np.log(2), (first, last)
    assert last["disc_acc_expert"] > 0.75 and last["disc_acc_gen"] > 0.75, last

    test_expert, test_random = transitions(1000, True, 2), transitions(1000, False, 3)
    with torch.no_grad():
        on_expert = gail.logits(test_expert.observations, test_expert.actions)
        on_random = gail.logits(test_random.observations, test_random.actions)
    on_both = ((on_expert > 0).float().mean().item(), (on_random <= 0).float().mean().item())
    assert min(on_both) > 0.75, on_both  # a constant classifier: 0 on one class

    # The reward pays the expert's transitions more.
    rewards_expert = gail.reward(test_expert.observations, test_expert.actions)
    rewards_random = gail.reward(test_random.observations, test_random.actions)
    assert rewards_expert.mean() > rewards_random.mean() + 0.5


@pytest.mark.parametrize("kind", ["gail", "airl"])
def test_the_reward_is_the_configured_function_of_the_discriminator_on_normalised_or_raw_obs(
        kind):
    """``GAIL.reward`` is -log(1 - D) (gail) or the logit (airl) of the discriminator applied
    to the observations normalised by the generator's running statistics (clipped to
    +-clip_obs), or, with ``reward_on_raw_obs``, to the raw observations: with statistics far
    from identity the two differ."""
    expert, random = transitions(50, True, 0), transitions(200, False, 1)
    obs = random.observations * 3.0 + 1.0
    rewards = {}
    for raw in (False, True):
        gail = GAIL(expert, [env_factory()], GAILConfig(reward=kind, reward_on_raw_obs=raw),
                    seed=0)
        gail.ppo.obs_rms.mean = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64)
        gail.ppo.obs_rms.var = torch.tensor([4.0, 0.25, 1.0, 9.0], dtype=torch.float64)
        seen = obs if raw else np.clip(
            (obs - gail.ppo.obs_rms.mean.numpy()) / np.sqrt(gail.ppo.obs_rms.var.numpy() + 1e-8),
            -gail.config.ppo.clip_obs, gail.config.ppo.clip_obs)
        with torch.no_grad():
            logits = gail.discriminator(torch.as_tensor(seen, dtype=torch.float32),
                                        torch.as_tensor(random.actions)).double().numpy()
        expected = -np.log1p(-1 / (1 + np.exp(-logits))) if kind == "gail" else logits
        rewards[raw] = gail.reward(obs, random.actions)
        np.testing.assert_allclose(rewards[raw], expected, rtol=1e-5, atol=1e-6)
    assert np.abs(rewards[True] - rewards[False]).mean() > 1e-2


def test_gail_rounds_teach_the_discriminator_that_the_demonstrations_are_the_expert():
    """A few rounds (PPO's rollout, its update, the discriminator's steps on that rollout)
    against demonstrations far from the pendulum's states: the discriminator learns label 1 =
    expert (the round log's accuracies on both classes rise to ~1, the demonstrations get
    logit > 0 and a fresh rollout of the generator logit <= 0), so the generator's paid reward
    falls from its starting log 2."""
    demos = transitions(50, True, 0)
    config = GAILConfig(disc_batch_size=128, disc_minibatch_size=32, disc_lr=1e-2,
                        ppo=PPOConfig(n_envs=1, n_steps=128, minibatches=2, epochs=1))
    gail = GAIL(demos, [env_factory()], config, seed=0)
    log = [gail.round() for _ in range(5)]
    assert [entry["steps"] for entry in log] == [128, 256, 384, 512, 640]
    assert log[-1]["disc_acc_expert"] > 0.9 and log[-1]["disc_acc_gen"] > 0.9, log[-1]
    assert log[-1]["disc_loss"] < 0.5 * log[0]["disc_loss"]
    assert abs(log[0]["gail_reward"] - np.log(2)) < 0.1  # D ~ 1/2 before any training
    assert log[-1]["gail_reward"] < 0.75 * log[0]["gail_reward"]
    batch, _ = gail.ppo.collect()
    with torch.no_grad():
        on_demos = gail.logits(demos.observations, demos.actions)
        on_generator = gail.logits(batch["raw_obs"], batch["env_actions"])
    assert (on_demos > 0).float().mean() > 0.9 and (on_generator <= 0).float().mean() > 0.9


def test_the_reward_is_minus_log_one_minus_d_as_imitation_writes_it():
    """-log(1 - D), D = sigmoid(logit) = P(expert), is imitation v0.1.1's
    -log_sigmoid(disc_logits_gen_is_high) with its generator logit -logit, i.e.
    -log sigmoid(-logit)."""
    logits = torch.linspace(-8, 8, 101, dtype=torch.float64)
    d = torch.sigmoid(logits)
    ours = generator_reward(logits)
    torch.testing.assert_close(ours, -torch.log(1 - d))
    torch.testing.assert_close(ours, -F.logsigmoid(-logits))
    # Finite and right far out, where -log(1 - sigmoid(x)) written as is overflows:
    # softplus(x) ~ exp(x) for x << 0 and ~ x for x >> 0.
    torch.testing.assert_close(generator_reward(torch.tensor([-1e4, -30.0, 30.0, 1e4],
                                                             dtype=torch.float64)),
                               torch.tensor([0.0, np.exp(-30.0), 30.0, 1e4], dtype=torch.float64))
    torch.testing.assert_close(generator_reward(logits, "airl"), torch.log(d) - torch.log(1 - d))


def test_only_the_airl_reward_charges_the_steps_the_discriminator_rejects():
    """GAIL's survival bias: -log(1 - D) pays even a transition the discriminator is sure is
    the generator's, so where a failure ends the episode a policy earns more by lasting longer
    on any demonstration. The logit charges such steps: lasting longer on them earns less."""
    rejected, accepted = torch.tensor([-6.0, -0.5]), torch.tensor([0.5, 6.0])  # D < or > 1/2
    assert (generator_reward(rejected, "gail") > 0).all()
    assert (generator_reward(rejected, "airl") < 0).all()
    assert (generator_reward(accepted, "airl") > 0).all()
    expert, random = transitions(50, True, 0), transitions(50, False, 1)
    for kind, sign in (("gail", 1.0), ("airl", -1.0)):
        gail = GAIL(expert, [env_factory()], GAILConfig(reward=kind), seed=0)
        with torch.no_grad():
            gail.discriminator.net[-1].bias.fill_(-20.0)  # rejects everything: D ~ 0
        paid = gail.reward(random.observations, random.actions)
        assert np.all(np.sign(paid) == sign), kind  # each step of a longer episode adds this
    with pytest.raises(ValueError, match="reward: expected one of"):
        GAILConfig(reward="wgan")


@pytest.mark.parametrize("demos, as_file, message", [
    (transitions(3, True, 0, obs_dim=5), False,
     r"demonstrations of task 'inverted_pendulum': 'observations' has shape \(3, 5\), "
     r"expected \(3, 4\)"),
    (transitions(3, True, 0, act_dim=2), False, r"'actions' has shape \(3, 2\), expected \(3, 1\)"),
    (transitions(3, True, 0, task="hopper"), False,
     "transitions of task 'hopper', expected 'inverted_pendulum'"),
    (transitions(3, True, 0, obs_dim=5), True, r"demo.npz: 'observations' has shape \(3, 5\), "
                                               r"expected \(3, 4\)"),
    (transitions(3, True, 0, task="hopper"), True,
     "demo.npz: transitions of task 'hopper', expected 'inverted_pendulum'"),
])
def test_bad_demonstrations_stop_the_run_before_training(tmp_path, demos, as_file, message):
    source = demos.save(tmp_path / "demo.npz") if as_file else demos
    folder = tmp_path / "run"
    with pytest.raises(ValueError, match=message):
        train_gail(source, env_factory, GAILConfig(total_steps=10), 0, folder, task=TASK,
                   progress=False)
    assert not folder.exists()


def test_a_resumed_run_ends_as_the_uninterrupted_one_and_a_finished_run_is_loaded(tmp_path):
    config = GAILConfig(total_steps=4 * 256, disc_batch_size=128, disc_minibatch_size=64,
                        eval_every=2, eval_episodes=2, checkpoint_every=1,
                        ppo=PPOConfig(n_envs=2, n_steps=128, minibatches=4, epochs=2))
    demos = transitions(10, True, 0)
    run = dict(demonstrations=demos, env_factory=env_factory, cfg=config, seed=3,
               task=TASK, progress=False)
    expected = train_gail(folder=tmp_path / "a", **run)
    assert [entry["round"] for entry in expected["log"]] == [1, 2, 3, 4]
    assert [entry["steps"] for entry in expected["log"]] == [256, 512, 768, 1024]
    assert "eval_return" in expected["log"][1] and "eval_return" not in expected["log"][0]

    assert train_gail(folder=tmp_path / "b", stop_at=2 * 256, **run) == {"stopped_at": 512}
    resumed = train_gail(folder=tmp_path / "b", **run)
    assert resumed["log"] == expected["log"]
    assert resumed["final_returns"] == expected["final_returns"]
    assert train_gail(folder=tmp_path / "a", **run) == expected  # loaded, not retrained

    policy = load_policy(tmp_path / "a", env_factory())
    returns = evaluate(policy, [env_factory()], config.eval_episodes, [3])[0]
    assert returns.tolist() == expected["final_returns"]

    # The final states, discriminator and its optimiser included, are the same bit for bit,
    # and the discriminator is not the one the run started from.
    final = {name: load(tmp_path / name / POLICY)["gail"] for name in ("a", "b")}
    for part in ("discriminator", "optimizer"):
        assert_same(final["a"][part], final["b"][part])
    untrained = GAIL(demos, [env_factory()], config, seed=3).discriminator.state_dict()
    assert any(not torch.equal(untrained[k], final["a"]["discriminator"][k]) for k in untrained)


def assert_same(a, b):
    """Nested dicts, lists and tensors equal bit for bit."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        assert a == b
