"""The transitions file format: a round trip, and clear errors for malformed or foreign files."""
import numpy as np
import pytest

from rlrepro.demonstrations import Transitions, load


def transitions(task="inverted_pendulum", n=3, obs_dim=4, act_dim=1, kind="demonstration"):
    rng = np.random.default_rng(0)
    return Transitions(task, kind, rng.normal(size=(n, obs_dim)).astype(np.float32),
                       rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
                       rng.normal(size=(n, obs_dim)).astype(np.float32),
                       np.ones(n, np.float32), np.zeros(n, np.float32))


def test_saved_transitions_load_as_they_were(tmp_path):
    saved = transitions()
    loaded = load(saved.save(tmp_path / "demo.npz"), "inverted_pendulum", "demonstration", n=3)
    assert loaded.task == "inverted_pendulum" and len(loaded) == 3
    np.testing.assert_array_equal(loaded.observations, saved.observations)
    np.testing.assert_array_equal(loaded.actions, saved.actions)


@pytest.mark.parametrize("make, load_as, message", [
    (lambda p: transitions().save(p), dict(task="hopper"),
     "transitions of task 'inverted_pendulum', expected 'hopper'"),
    (lambda p: transitions(obs_dim=5).save(p), {},
     r"'observations' has shape \(3, 5\), expected \(3, 4\)"),
    (lambda p: transitions(act_dim=2).save(p), {}, r"'actions' has shape \(3, 2\), expected \(3, 1\)"),
    (lambda p: transitions().save(p), dict(kind="observed_states"),
     "'demonstration' transitions, expected 'observed_states'"),
    (lambda p: transitions().save(p), dict(n=10), "3 transitions, expected 10"),
    (lambda p: np.savez(p, observations=np.zeros((3, 4))), {}, r"missing arrays \['task', 'kind'"),
    (lambda p: p.write_text("not numpy"), {}, "not a .npz file"),
])
def test_a_wrong_file_is_refused_with_what_was_expected(tmp_path, make, load_as, message):
    path = tmp_path / "file.npz"
    make(path)
    with pytest.raises(ValueError, match=message) as error:
        load(path, **({"task": "inverted_pendulum"} | load_as))
    assert str(path) in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load(tmp_path / "absent.npz", "hopper")
