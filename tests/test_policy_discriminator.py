"""The skill discriminator: chance on indistinguishable behaviour, far above it otherwise."""
import numpy as np
import pytest

from rlrepro.models.policy_discriminator import discriminator_score, windows


def episodes(rng, count, offset=0.0, length=300, dim=5):
    """Random walks, optionally drifting (``offset`` per step along every coordinate)."""
    return [np.cumsum(rng.normal(offset, 1.0, (length, dim)), axis=0).astype(np.float32)
            for _ in range(count)]


def test_windows_are_consecutive_observations_flattened():
    episode = np.arange(24, dtype=np.float32).reshape(12, 2)
    out = windows([episode], 5)
    assert out.shape == (2, 10)  # the tail of 2 observations is left out
    np.testing.assert_array_equal(out[1], episode[5:10].reshape(-1))
    with pytest.raises(ValueError, match="no episode has 50 observations"):
        windows([episode], 50)


def test_discriminator_is_at_chance_on_the_same_behaviour_and_separates_different_ones():
    rng = np.random.default_rng(0)
    skill = episodes(rng, 10)
    same = discriminator_score(skill, episodes(rng, 10))
    different = discriminator_score(skill, episodes(rng, 10, offset=1.0))
    assert 0.3 <= same["accuracy"] <= 0.7
    assert different["accuracy"] >= 0.9
    assert different["loss"] < same["loss"]
