"""Aggregation over seeds says what it is: IQM with a CI only with enough seeds."""
import numpy as np
import pytest

from rlrepro.evaluation.statistics import MIN_RUNS_FOR_INTERVALS, aggregate, aggregate_label


def test_few_seeds_give_the_mean_and_the_range_not_a_bootstrap_interval():
    point, low, high = aggregate({"m": [1.0, 2.0, 6.0]})["m"]
    assert (point, low, high) == (3.0, 1.0, 6.0)
    assert aggregate_label(3) == "mean over 3 seeds [min, max]"


def test_enough_seeds_give_the_iqm_and_an_interval_inside_the_range():
    scores = np.array([0.0, 1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0])
    point, low, high = aggregate({"m": scores}, reps=500)["m"]
    middle = np.sort(scores)[2:6]  # the interquartile runs
    assert point == pytest.approx(middle.mean())
    assert scores.min() <= low <= point <= high <= scores.max()
    assert "IQM over 8 seeds" in aggregate_label(len(scores))
    assert MIN_RUNS_FOR_INTERVALS == 5


def test_curves_are_aggregated_point_by_point():
    curves = {"few": np.array([[0.0, 1.0], [2.0, 3.0]]), "many": np.arange(12.0).reshape(6, 2)}
    out = aggregate(curves, reps=200)
    np.testing.assert_allclose(out["few"][0], [1.0, 2.0])
    assert out["many"][0].shape == (2,)
