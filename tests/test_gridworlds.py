"""The gridworlds: state counts, transitions traced by hand, the gymnasium interface."""
import gymnasium as gym
import numpy as np
import pytest

from rlrepro.envs import GRIDWORLD_IDS  # registers the environments
from rlrepro.envs.gridworlds import PROBLEMS, tabular_model

NORTH, SOUTH, EAST, WEST, STAY, INTERACT = range(6)


@pytest.mark.parametrize("name, n_states", [("room", 29), ("room_bad", 29), ("train", 384),
                                            ("apples", 7744), ("batteries", 7840),
                                            ("batteries_easy", 7840)])
def test_state_counts_match_the_original(name, n_states):
    assert tabular_model(name).n_states == n_states


@pytest.mark.parametrize("name", PROBLEMS)
def test_transition_rows_are_distributions(name):
    model = tabular_model(name)
    np.testing.assert_allclose(np.asarray(model.transitions.sum(axis=1)).ravel(), 1.0)
    assert model.features.shape == (model.n_states, len(model.problem.r_true))
    assert len(model.problem.world.feature_names) == model.n_features


def trace(name, start, actions):
    world = PROBLEMS[name].world
    state = start
    for a in actions:
        (p, state), = world.transitions(state, a)
        assert p == 1.0
    return state


def test_room_vase_breaks_when_stepped_on():
    start = PROBLEMS["room"].initial_state
    assert trace("room", start, [NORTH]) == (2, 1, (False,))
    assert trace("room", start, [EAST, NORTH, NORTH, WEST]) == (2, 0, (True,))
    assert trace("room", start, [SOUTH, WEST, WEST, WEST]) == (0, 2, (True,))  # walls hold


def test_train_loops_and_breaks_when_entered():
    start = PROBLEMS["train"].initial_state
    looped = trace("train", start, [STAY] * 4)
    assert looped[3:] == ((2, 1), True)
    assert trace("train", start, [STAY])[3] == (3, 1)
    # The agent walks up to (2, 3) below the track; stepping north into (2, 2) just as the
    # train moves there (from (3, 2)) breaks it.
    state = trace("train", start, [EAST, EAST, NORTH])
    assert state[:2] == (2, 3) and state[3:] == ((2, 2), True)
    broken = trace("train", state, [STAY, STAY, STAY, NORTH])
    assert broken[4] is False and broken[:2] == (2, 2)
    assert trace("train", broken, [STAY, STAY])[3] == broken[3]  # a broken train stays put


def test_batteries_pickup_feeding_and_death():
    start = PROBLEMS["batteries"].initial_state
    dead = trace("batteries", start, [STAY] * 8)
    assert dead[3] == 0
    assert trace("batteries", dead, [STAY])[2] == dead[2]  # a dead train stops
    carrying = trace("batteries", start, [EAST] * 4)
    assert carrying[:2] == (4, 4) and carrying[5] is True and carrying[4] == (True, False)
    # Walk to the track and wait for the train to pass over the agent's cell.
    state = trace("batteries", carrying, [NORTH, NORTH])  # at (4, 2), next to track (3, 2)
    for _ in range(4):
        state_next = trace("batteries", state, [WEST])
        if state_next[5] is False:
            break
        state = trace("batteries", state, [STAY])
    assert state_next[5] is False and state_next[3] == 9  # fed: life 10, minus this step


def test_apples_pick_drop_and_regrow():
    world = PROBLEMS["apples"].world
    start = PROBLEMS["apples"].initial_state  # facing north at (0, 2), tree (0, 0) above (0, 1)
    (_, s), = world.transitions(start, NORTH)
    (_, s), = world.transitions(s, INTERACT)
    assert s[5] is True and s[3] == (False, True, True)

    def stay_empty(state, action):  # the picked tree stays empty (probability 0.9)
        outcomes = dict((t[3], (p, t)) for p, t in world.transitions(state, action))
        assert sorted(p for p, _ in outcomes.values()) == pytest.approx([0.1, 0.9])
        return outcomes[(False, True, True)][1]

    s = stay_empty(s, SOUTH)  # back to (0, 2), facing south
    s = stay_empty(s, EAST)  # blocked by the bucket: only turns east
    assert s[:3] == (2, 0, 2)
    s = stay_empty(s, INTERACT)
    assert s[4] == (1,) and s[5] is False


@pytest.mark.parametrize("env_id", sorted(GRIDWORLD_IDS.values()))
def test_gymnasium_interface(env_id):
    env = gym.make(env_id, render_mode="ansi")
    model = env.unwrapped.model
    obs, info = env.reset(seed=0)
    assert obs == model.initial_state and len(info["features"]) == model.n_features
    obs, _ = env.reset(options={"state": "observed"})
    assert obs == model.observed_state
    obs, reward, terminated, truncated, _ = env.step(STAY)
    assert env.observation_space.contains(obs) and not terminated
    assert reward == pytest.approx(model.features[obs] @ model.problem.r_true)
    assert "A" in env.render() or any(c in env.render() for c in "^v<>")
    image = gym.make(env_id, render_mode="rgb_array").unwrapped.render()
    assert image.ndim == 3 and image.dtype == np.uint8


def test_bad_options_are_named():
    env = gym.make("rlrepro/Room-v0")
    with pytest.raises(ValueError, match="options\\['state'\\]"):
        env.reset(options={"state": "middle"})
    with pytest.raises(ValueError, match="unknown gridworld problem"):
        tabular_model("kitchen")
