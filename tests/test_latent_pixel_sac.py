"""SAC from pixels on hand-made pictures: the encoder learns from the critic's loss alone, the
agent learns a bandit it can only solve by looking, and a checkpoint restores it exactly."""
import copy
import io

import numpy as np
import torch

from rlrepro.agents.algorithms import AgentConfig
from rlrepro.latent.pixel_sac import PixelSAC, PixelSACConfig
from rlrepro.latent.replay import SequenceReplay

torch.set_num_threads(1)
SIZE = 16


def pictures_of(sides: np.ndarray, rng) -> np.ndarray:
    """Black pictures ``(n, 3, 16, 16)`` uint8 with a bright 4x4 square in the left half
    (side -1) or the right half (+1), at a random place away from the middle, so that a shift
    of up to 2 pixels keeps it in its half."""
    pictures = np.zeros((len(sides), 3, SIZE, SIZE), np.uint8)
    for picture, side in zip(pictures, sides):
        row, col = rng.integers(0, SIZE - 4), rng.integers(0, 3)
        col = col if side < 0 else SIZE - 4 - col
        picture[:, row:row + 4, col:col + 4] = 255
    return pictures


def bandit(episodes: int, seed: int) -> SequenceReplay:
    """One-step episodes: the square's side, a uniform action, reward +1 if the action's sign
    is the side, else -1; the episode then times out on a black picture."""
    rng = np.random.default_rng(seed)
    sides = rng.choice([-1, 1], episodes)
    firsts = pictures_of(sides, rng)
    replay = SequenceReplay(seed)
    for side, first in zip(sides, firsts):
        action = rng.uniform(-1, 1, 1).astype(np.float32)
        reward = 1.0 if np.sign(action[0]) == side else -1.0
        replay.add([{"pictures": np.stack([first, np.zeros_like(first)]),
                     "actions": np.stack([np.zeros(1, np.float32), action]),
                     "rewards": np.array([0.0, reward], np.float32),
                     "states": np.zeros((2, 1), np.float32)}])
    return replay


def tiny(seed=0, shift=2) -> PixelSAC:
    agent = AgentConfig(hidden=(32, 32), lr=1e-3, gamma=0.5, device="cpu")
    return PixelSAC(SIZE, 1, agent, PixelSACConfig(depth=4, feature_dim=16, shift=shift), seed)


def parameters(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_the_encoder_follows_the_critics_loss_and_not_the_actors():
    """One update, and the same update with the actor's step removed: the encoder must move,
    and move exactly alike (were the actor's gradient added, or kept instead of the critic's,
    the two would differ); its target follows by 1 - encoder_polyak."""
    replay = bandit(64, seed=1)
    agent = tiny()
    critic_only = copy.deepcopy(agent)
    critic_only.sac.improve_actor = lambda *args, **kwargs: {}
    before, actor_before = parameters(agent.encoder), parameters(agent.sac.actor)

    info = agent.train(copy.deepcopy(replay), updates=1, batch=32)
    critic_only.train(copy.deepcopy(replay), updates=1, batch=32)

    assert {"critic_loss", "actor_loss", "q", "alpha", "entropy"} <= set(info[0])
    assert any(not torch.equal(p, q) for p, q in zip(parameters(agent.sac.actor), actor_before))
    after = parameters(agent.encoder)
    for old, new, alone in zip(before, after, parameters(critic_only.encoder)):
        assert not torch.equal(old, new)
        torch.testing.assert_close(new, alone, rtol=0, atol=1e-7)
    polyak = agent.config.encoder_polyak
    for old, new, target in zip(before, after, parameters(agent.encoder_target)):
        torch.testing.assert_close(target, polyak * old + (1 - polyak) * new)


def test_the_td_target_reads_s_next_through_the_target_encoder_and_acting_through_the_encoder():
    """With the target encoder's weights zeroed, acting is unchanged but the TD target, and so
    the critic's loss, is not."""
    replay, agent = bandit(64, seed=1), tiny()
    blind = copy.deepcopy(agent)
    with torch.no_grad():
        for p in blind.encoder_target.parameters():
            p.zero_()
    pictures = pictures_of(np.array([-1, 1, 1]), np.random.default_rng(2))
    np.testing.assert_array_equal(blind.act(pictures, deterministic=True)[0],
                                  agent.act(pictures, deterministic=True)[0])
    loss = agent.train(copy.deepcopy(replay), updates=1, batch=32)[0]["critic_loss"]
    blind_loss = blind.train(copy.deepcopy(replay), updates=1, batch=32)[0]["critic_loss"]
    assert abs(loss - blind_loss) > 1e-4


def test_updates_see_shifted_pictures_unless_the_shift_is_zero():
    replay = bandit(64, seed=1)
    losses = [tiny(shift=shift).train(copy.deepcopy(replay), updates=1, batch=32)[0]
              ["critic_loss"] for shift in (0, 0, 2)]
    assert losses[0] == losses[1] != losses[2]


@torch.no_grad()
def matches(agent: PixelSAC, seed: int) -> float:
    """Share of fresh pictures on whose side the deterministic action's sign falls."""
    rng = np.random.default_rng(seed)
    sides = rng.choice([-1, 1], 200)
    actions, _ = agent.act(pictures_of(sides, rng), deterministic=True)
    return float(np.mean(np.sign(actions[:, 0]) == sides))


def test_sac_from_pixels_learns_which_way_to_push_from_the_picture():
    replay, agent = bandit(512, seed=2), tiny(seed=3)
    assert matches(agent, seed=4) < 0.75
    history = agent.train(replay, updates=300, batch=64)
    assert matches(agent, seed=4) > 0.95
    assert all(np.isfinite(list(h.values())).all() for h in history)


def test_actions_are_bounded_and_a_checkpoint_restores_the_agent_exactly():
    replay, agent = bandit(64, seed=5), tiny(seed=6)
    agent.train(replay, updates=5, batch=16)
    pictures = pictures_of(np.array([-1, 1, 1, -1, 1]), np.random.default_rng(7))
    actions, state = agent.act(pictures)
    assert actions.shape == (5, 1) and state is None
    assert np.all(np.abs(actions) <= 1.0)

    saved = io.BytesIO()
    torch.save(agent.state_dict(), saved)
    saved.seek(0)
    restored = tiny(seed=8)
    restored.load_state_dict(torch.load(saved, weights_only=True))
    np.testing.assert_array_equal(restored.act(pictures, deterministic=True)[0],
                                  agent.act(pictures, deterministic=True)[0])
    # Optimizer states and random streams too: training goes on as it would have.
    agent.train(copy.deepcopy(replay), updates=2, batch=16)
    restored.train(copy.deepcopy(replay), updates=2, batch=16)
    np.testing.assert_array_equal(restored.act(pictures)[0], agent.act(pictures)[0])
    for p, q in zip(parameters(restored.encoder_target), parameters(agent.encoder_target)):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
