"""Aggregate scores across seeds, as strongly as the number of seeds supports.

With at least :data:`MIN_RUNS_FOR_INTERVALS` runs a method is summarised by rliable's
interquartile mean with a 95% stratified-bootstrap interval (Agarwal et al., 2021). With fewer,
the IQM is just the mean and a percentile bootstrap interval under-covers badly, so the summary
is the mean with the range (min, max) of the runs, and its label says so.
"""
from __future__ import annotations

import numpy as np
from rliable import library as rly
from rliable import metrics

MIN_RUNS_FOR_INTERVALS = 5


def aggregate_label(runs: int) -> str:
    """How :func:`aggregate` summarises ``runs`` runs, for figure titles and tables."""
    if runs >= MIN_RUNS_FOR_INTERVALS:
        return f"IQM over {runs} seeds [95% bootstrap CI]"
    return f"mean over {runs} seed{'s' if runs != 1 else ''} [min, max]"


def aggregate(scores: dict, reps: int = 2000, seed: int = 0) -> dict:
    """``{method: (point, low, high)}`` for ``scores[method]`` of shape ``(runs,)`` or
    ``(runs, points)`` (e.g. a learning curve: one summary per evaluation point).

    Methods with >= MIN_RUNS_FOR_INTERVALS runs get IQM and a 95% bootstrap interval; others
    the mean and the min/max of their runs.
    """
    out, bootstrapped = {}, {}
    for method, values in scores.items():
        values = np.asarray(values, dtype=float)
        values = values[:, None] if values.ndim == 1 else values
        if len(values) >= MIN_RUNS_FOR_INTERVALS:
            bootstrapped[method] = values
        else:
            out[method] = (values.mean(0), values.min(0), values.max(0))
    if bootstrapped:
        def per_point(x):
            return np.array([metrics.aggregate_iqm(x[:, [t]]) for t in range(x.shape[1])])

        np.random.seed(seed)  # rliable draws from numpy's global generator
        points, intervals = rly.get_interval_estimates(bootstrapped, per_point, reps=reps)
        out |= {m: (points[m], intervals[m][0], intervals[m][1]) for m in bootstrapped}
    squeeze = {m: np.asarray(v).ndim == 1 for m, v in scores.items()}
    return {m: tuple(float(x[0]) if squeeze[m] else x for x in out[m]) for m in scores}


def mean_interval(scores: dict, reps: int = 2000, seed: int = 0) -> dict:
    """Mean and 95% stratified-bootstrap interval per method, ``scores[method]`` of shape
    ``(runs, tasks)``; for peer comparisons with enough seeds (``benchmarks/``)."""
    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        {k: np.asarray(v, dtype=float) for k, v in scores.items()}, lambda x: x.mean(axis=0),
        reps=reps)
    return {k: (points[k], intervals[k][0], intervals[k][1]) for k in scores}


def seed_interval(values) -> list[float]:
    """[mean, low, high] over seeds: a 95% bootstrap interval of the mean with at least
    MIN_RUNS_FOR_INTERVALS seeds, else the range of the seeds (as :func:`aggregate`)."""
    values = np.asarray(values, dtype=float)
    if len(values) < MIN_RUNS_FOR_INTERVALS:
        return [float(values.mean()), float(values.min()), float(values.max())]
    mean, low, high = mean_interval({"x": values[:, None]})["x"]
    return [float(mean[0]), float(low[0]), float(high[0])]


def seed_interval_label(seeds: int) -> str:
    """What :func:`seed_interval` reports for ``seeds`` seeds, for titles and tables."""
    if seeds >= MIN_RUNS_FOR_INTERVALS:
        return f"mean over {seeds} seeds [95% bootstrap CI]"
    return f"mean over {seeds} seed{'s' if seeds != 1 else ''} [min, max]"


def interval_text(interval, digits: int = 2) -> str:
    """[mean, low, high] as "mean [low, high]"."""
    return f"{interval[0]:.{digits}f} [{interval[1]:.{digits}f}, {interval[2]:.{digits}f}]"
