"""The skill-prior experiment's pieces: mazes, controller, data, DPMM, skill model, KL-SAC."""
import numpy as np
import pytest
import torch

from rlrepro.agents.algorithms import AgentConfig, make_agent
from rlrepro.agents.buffers import ReplayBuffer, sample_members
from rlrepro.agents.training import TrainConfig, train_seeds
from rlrepro.envs import make_env, point_maze
from rlrepro.models import skill_prior
from rlrepro.models.skill_prior import SkillModel, SkillModelConfig, fit_epochs
from rlrepro.skills import data as skill_data
from rlrepro.skills import maze_data
from rlrepro.skills.dpmm import DPMM


def test_random_layouts_have_their_wall_share_and_depend_only_on_the_seed():
    a, b = point_maze.sample_layout(3, 12), point_maze.sample_layout(3, 12)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, point_maze.sample_layout(4, 12))
    assert 0.25 <= a.mean() < 0.5
    layout = point_maze.target_layout(10)
    start, goal = point_maze.target_cells(layout)
    assert point_maze.distances(layout, start)[goal] >= 10, "the goal is far along the maze"
    assert point_maze.open_sides(layout)[goal] >= 2, "the goal is not in a dead end"
    corridor = np.array([[0, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]])  # farthest: a dead end
    assert point_maze.target_cells(corridor) == ((0, 0), (2, 1))


@pytest.mark.parametrize("task, near, at_goal, ends", [
    ("point_maze_10", 0.0, 1.0, True),  # ours: within 0.45 pays 1 and ends the episode
    ("point_maze_10_spirl", 1.0, 1.0, False)])  # SPiRL's: within 2.0 pays 1, it goes on
def test_the_target_maze_pays_as_its_measure_says(task, near, at_goal, ends):
    env = make_env(task)
    env.reset(seed=0)
    goal, point = env.unwrapped.goal, env.unwrapped.point_env
    rewards = []
    for offset in (1.5, 0.0):  # 1.5 from the goal, then on it
        point.set_state(np.array([goal[0] + offset, goal[1]]), np.zeros(2))
        _, reward, terminated, _, _ = env.step(np.zeros(2, np.float32))
        rewards.append(reward)
    assert rewards == [near, at_goal] and terminated == ends
    limit = point_maze.SPIRL_STEPS if task.endswith("_spirl") else point_maze.TARGET_SIZES[10]
    steps = 1
    env.reset(seed=1)
    while not env.step(np.zeros(2, np.float32))[3]:
        steps += 1
    assert steps == limit


def test_shortest_path_walks_free_neighbouring_cells_to_the_goal():
    layout = np.array([[0, 0, 0], [1, 1, 0], [0, 0, 0]])
    path = point_maze.shortest_path(layout, (0, 0), (2, 0))
    assert path == [(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0)]
    with pytest.raises(ValueError, match="no path"):
        point_maze.shortest_path(np.array([[0, 1, 0]]), (0, 0), (0, 2))


def test_the_observation_shows_the_walls_around_the_agent():
    layout = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    env = point_maze.make_maze(layout, (0, 0), (2, 2), 50)
    obs, _ = env.reset(seed=0)
    view = obs[4:].reshape(point_maze.VIEW, point_maze.VIEW)
    assert view[2, 2] == 0 and view[2, 3] == 1, "free where the agent is, wall to its right"
    assert view[1, 2] == 1 and view[2, 1] == 1, "the border above and to the left"


def test_the_waypoint_controller_reaches_its_goals():
    demos = maze_data.generate(maze_data.MazeDataConfig(episodes=6, layout_size=8,
                                                        episodes_per_layout=2), progress=False)
    assert demos.reached.all()
    assert len(demos.episode_ends) == 6 and demos.episode_ends[-1] == len(demos.actions)
    obs, actions = skill_data.windows(demos, 10, 16, np.random.default_rng(0))
    assert obs.shape == (16, 11, 4 + point_maze.VIEW ** 2) and actions.shape == (16, 10, 2)
    # a window never crosses into the next episode: positions move by less than a cell a step
    assert np.abs(np.diff(obs[:, :, :2], axis=1)).max() < 0.5


def test_demonstration_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        skill_data.load(tmp_path / "nothing.npz")
    np.savez(tmp_path / "bad.npz", observations=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"bad.npz.*missing \['actions'"):
        skill_data.load(tmp_path / "bad.npz")


def test_the_dpmm_recovers_the_components_of_a_mixture():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (3, 6))
    z = np.concatenate([c + rng.normal(0, 0.3, (800, 6)) for c in centres])
    labels = np.repeat(np.arange(3), 800)
    dpmm = DPMM(max_components=10, seed=0).fit(z)
    assert len(dpmm.active) == 3
    assigned = dpmm.assign(z)
    for k in range(3):  # each true component goes to one found component, a different one each
        assert np.mean(assigned[labels == k] == np.bincount(assigned[labels == k]).argmax()) > 0.99
    assert len({np.bincount(assigned[labels == k]).argmax() for k in range(3)}) == 3
    loaded = DPMM().load_state_dict(dpmm.state_dict())
    torch.testing.assert_close(loaded.responsibilities(z[:50]), dpmm.responsibilities(z[:50]))


def test_each_refit_can_add_and_drop_components():
    """GASP's mixture follows the latent (bnpy's birth and merge moves): fit to 2 clusters, then
    to 5, then to 3, it finds 2, 5, 3 (a warm-started refit keeps the 2 it began with)."""
    rng = np.random.default_rng(0)
    centres = np.array([[-6, 0], [6, 0], [0, 6], [0, -6], [6, 6]])
    dpmm = DPMM(max_components=10, concentration=1.0, seed=0)
    found = []
    for k in (2, 5, 3):
        dpmm.fit(np.concatenate([c + 0.5 * rng.normal(size=(300, 2)) for c in centres[:k]]))
        found.append(len(dpmm.active))
    assert found == [2, 5, 3]


def test_gasps_regulariser_is_the_kl_to_the_components_responsible_for_each_sample():
    """GASP pulls each posterior towards the mixture components responsible for its sample, not
    towards N(0, I): sum_k r_k(z) KL(q || N(mu_k, var_k)), averaged over the batch."""
    torch.manual_seed(0)
    model = SkillModel(6, 2, SkillModelConfig(horizon=3, latent_dim=2, hidden_size=16,
                                              decoder_layers=1, prior_layers=1,
                                              regulariser="dpmm"))
    dpmm = DPMM().load_state_dict({"weights": torch.tensor([0.5, 0.5]),
                                   "means": torch.tensor([[3.0, 0.0], [-3.0, 0.0]]),
                                   "variances": torch.full((2, 2), 0.25)})
    obs, actions = torch.randn(8, 4, 6), torch.rand(8, 3, 2) * 2 - 1
    gasp = model.losses(obs, actions, torch.Generator().manual_seed(0), dpmm)["regulariser"]
    gaussian = model.losses(obs, actions, torch.Generator().manual_seed(0))["regulariser"]
    q = model.posterior(obs, actions)
    z = q.mean + q.stddev * torch.randn(q.mean.shape, generator=torch.Generator().manual_seed(0))
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(q.mean[:, None], q.stddev[:, None]),
        torch.distributions.Normal(torch.as_tensor(dpmm.means),
                                   torch.as_tensor(dpmm.variances).sqrt()))  # (B, K, latent)
    expected = (dpmm.responsibilities(z)[..., None] * kl).sum(1).mean()
    torch.testing.assert_close(gasp, expected)
    assert gasp > gaussian + 1.0  # far from both components, close to the origin


def test_gasps_fit_schedule_is_dense_early():
    epochs = fit_epochs(100)
    assert len(epochs) == 33 and epochs[:5] == [0, 1, 2, 3, 4]
    assert np.all(np.diff(epochs) >= 1) and epochs[-1] - epochs[-2] > 10


@pytest.fixture(scope="module")
def small_demos():
    return maze_data.generate(maze_data.MazeDataConfig(episodes=24, layout_size=8,
                                                       episodes_per_layout=4), progress=False)


@pytest.mark.parametrize("regulariser", ["gaussian", "dpmm"])
def test_the_skill_model_reconstructs_held_out_actions(small_demos, regulariser):
    torch.set_num_threads(1)
    train = small_demos.select(0, 20)
    held_out = small_demos.select(20, 24)  # the last 4 episodes, on a layout of their own
    obs, actions = skill_data.windows(held_out, 10, 400, np.random.default_rng(1))
    cfg = SkillModelConfig(epochs=6, steps_per_epoch=40, hidden_size=64, decoder_layers=3,
                           prior_layers=3, regulariser=regulariser)
    model = SkillModel(obs.shape[-1], 2, cfg)
    history = skill_prior.fit(model, lambda b, rng: skill_data.windows(train, 10, b, rng),
                              train.observations, dpmm=DPMM(max_components=5))
    mean_predictor = float(((actions - train.actions.mean(0)) ** 2).mean())
    assert model.reconstruction_error(obs, actions) < 0.5 * mean_predictor
    fits = [r for r in history if "dpmm_components" in r]
    assert len(fits) == (len(fit_epochs(6)) if regulariser == "dpmm" else 0)


def _prior_at(mean, std):
    """A learned prior stand-in, N(mean, std^2) everywhere: the KL of the policy's Gaussian
    before the tanh to it, as ``SkillSpace.divergence``."""
    prior = torch.distributions.Normal(mean, std)
    return lambda obs, mu, log_std: torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, log_std.exp()), prior).sum(-1)


def _buffer_paying(reward, size=500):
    """Transitions of random actions on random states, each paid ``reward(action)``."""
    buffer = ReplayBuffer(size, 2, 1, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(size):
        action = rng.uniform(-1, 1, 1)
        buffer.add(rng.normal(size=2), action, reward(action), rng.normal(size=2), False, False)
    return buffer


def test_kl_regularised_sac_follows_its_prior_where_rewards_are_equal():
    torch.manual_seed(0)
    buffer = _buffer_paying(lambda action: 0.0)  # only the regulariser shapes the policy
    means = {}
    for algorithm in ("sac_prior", "sac"):
        config = AgentConfig(algorithm=algorithm, hidden=(32, 32), lr=3e-3, init_alpha=1.0,
                             tune_alpha=False, transitions_per_batch=64)
        agent = make_agent(2, 1, config, seed=0, prior=_prior_at(np.arctanh(0.5), 0.1))
        for _ in range(400):
            agent.update(sample_members([buffer], 64))
        means[algorithm] = float(agent.act(np.zeros((1, 2)), deterministic=True)[0][0, 0])
    assert means["sac_prior"] == pytest.approx(0.5, abs=0.1)
    assert abs(means["sac"]) < 0.2, "plain SAC maximises entropy: the middle of [-1, 1]"
    with pytest.raises(ValueError, match="prior"):
        make_agent(2, 1, AgentConfig(algorithm="sac_prior", transitions_per_batch=8)).update(
            sample_members([buffer], 8))


@pytest.mark.parametrize("target", [0.5, 2.0])
def test_the_temperature_holds_the_divergence_at_its_target(target):
    """A reward for large actions pulls the policy away from a prior at 0; the tuned temperature
    settles where the divergence is ``target_divergence`` (SPiRL's automatic tuning)."""
    torch.manual_seed(0)
    buffer = _buffer_paying(lambda action: 5.0 * float(action[0]))
    config = AgentConfig(algorithm="sac_prior", hidden=(32, 32), lr=3e-3, init_alpha=1.0,
                         transitions_per_batch=64, target_divergence=target)
    agent = make_agent(2, 1, config, seed=0, prior=_prior_at(0.0, 0.3))
    divergences, alphas = [], []
    for _ in range(600):
        info = agent.update(sample_members([buffer], 64))
        if "divergence" in info:
            divergences.append(float(info["divergence"][0]))
            alphas.append(float(info["alpha"][0]))
    settled = np.mean(divergences[-100:])
    assert settled == pytest.approx(target, rel=0.3), (settled, alphas[-1])


class _Repeat:
    """Skills of 2 numbers, chosen at the first observation, that repeat the first number plus
    that observation's first coordinate as the pendulum's torque for 3 steps."""
    horizon, latent_dim = 3, 2

    def skill(self, obs, action):
        return np.asarray(action, np.float32) + obs[0]

    def act(self, obs, skill):
        return np.asarray(skill[:1], dtype=np.float32)


def test_a_skill_runs_its_horizon_and_sums_the_rewards():
    skills, flat = make_env("Pendulum-v1", skills=_Repeat()), make_env("Pendulum-v1")
    first, _ = skills.reset(seed=3)
    flat.reset(seed=3)
    obs, reward, *_, info = skills.step(np.array([0.1, 0.0], np.float32))
    torque = np.array([0.1 + first[0]], np.float32)  # fixed for the skill's 3 steps
    rewards = [flat.step(torque)[1] for _ in range(3)]
    assert info["steps"] == 3
    assert reward == pytest.approx(sum(rewards))


def test_prior_coordinates_start_at_the_prior_and_the_divergence_is_spirls():
    torch.manual_seed(0)
    model = SkillModel(6, 2, SkillModelConfig(latent_dim=3, hidden_size=16, prior_layers=1))
    box, relative = skill_prior.SkillSpace(model), skill_prior.SkillSpace(model, "prior")
    obs, action = torch.randn(5, 6), torch.rand(5, 3) * 2 - 1
    prior = model.prior(obs)
    assert np.allclose(relative.skill(obs, torch.zeros(5, 3)), prior.mean.detach().numpy())
    assert np.allclose(box.skill(obs, action), 2 * action.numpy())
    # SPiRL's KL: the policy's Gaussian before the tanh against the prior's (box), or against
    # N(0, I) in the prior's own coordinates, where a unit Gaussian policy is the prior.
    mean, log_std = torch.randn(5, 3), 0.3 * torch.randn(5, 3)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, log_std.exp()), prior).sum(-1)
    assert torch.allclose(box.divergence(obs, mean, log_std), expected, atol=1e-5)
    zero = torch.zeros(5, 3)
    assert torch.allclose(relative.divergence(obs, zero, zero), torch.zeros(5), atol=1e-6)
    assert relative.divergence(obs, mean, log_std).min() > 0
    with pytest.raises(ValueError, match="skill_coordinates"):
        skill_prior.SkillSpace(model, "polar")


def test_the_low_level_acts_as_the_decoder_and_the_prior_ignores_the_position():
    torch.manual_seed(0)
    model = SkillModel(6, 2, SkillModelConfig(latent_dim=3, hidden_size=16, decoder_layers=2,
                                              prior_layers=1, prior_skip=2))
    model.obs_mean[:], model.obs_std[:] = torch.randn(6), torch.rand(6) + 0.5
    obs, z = torch.randn(5, 6), 3 * torch.randn(5, 3)
    decoded = model.decode(obs, z).clamp(-1, 1).detach().numpy()
    acted = skill_prior.SkillSpace(model).act(obs.numpy(), z.numpy())
    assert np.allclose(acted, decoded, atol=1e-5) and (np.abs(acted) < 1).any()
    moved = obs.clone()
    moved[:, :2] += 5.0  # another place, the same velocity and surroundings
    assert torch.allclose(model.prior(moved).mean, model.prior(obs).mean)
    assert not torch.allclose(model.decode(moved, z), model.decode(obs, z))


def test_a_hierarchical_run_trains_in_skill_space(tmp_path, small_demos):
    torch.set_num_threads(1)
    model = SkillModel(small_demos.observations.shape[1], 2,
                       SkillModelConfig(epochs=1, steps_per_epoch=5, hidden_size=16,
                                        decoder_layers=1, prior_layers=1))
    skill_prior.fit(model, lambda b, rng: skill_data.windows(small_demos, 10, b, rng),
                    small_demos.observations)
    path = model.save(tmp_path / "skills.pt")
    train = TrainConfig(env="point_maze_10", total_steps=40, random_steps=10, eval_every=20,
                        eval_episodes=1, skills=str(path), skill_coordinates="prior")
    agent = AgentConfig(algorithm="sac_prior", hidden=(16, 16), transitions_per_batch=8)
    result, = train_seeds([tmp_path / "run"], agent, train, [0], progress=False)
    assert [c["step"] for c in result["curve"]] == [20, 40]
    assert "divergence" in result["curve"][-1]
    assert result["fingerprint"]["train"]["skills"] != str(path), "the model by its content"
    with pytest.raises(ValueError, match="needs TrainConfig.skills"):
        train_seeds([tmp_path / "flat"], agent, TrainConfig(env="point_maze_10", total_steps=5),
                    [0], progress=False)
    with pytest.raises(ValueError, match="not a skill model"):
        skill_prior.load(tmp_path / "run" / "result.json")
