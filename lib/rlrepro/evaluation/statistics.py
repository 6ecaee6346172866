"""Aggregate scores across seeds with rliable's stratified bootstrap (Agarwal et al., 2021)."""
from __future__ import annotations

import numpy as np
from rliable import library as rly
from rliable import metrics


def interval_estimates(scores: dict, aggregate="mean", reps=2000, seed=0):
    """Point estimate and 95% bootstrap interval per method.

    ``scores[method]`` has shape ``(runs, tasks)``; ``aggregate`` is ``mean`` or ``iqm``.
    Returns ``{method: (point, low, high)}`` with each entry of shape ``(tasks,)`` for ``mean``
    (one value per task) or a scalar for ``iqm`` (pooled over tasks).
    """
    if aggregate == "mean":
        def function(x):
            return x.mean(axis=0)
    elif aggregate == "iqm":
        def function(x):
            return np.array([metrics.aggregate_iqm(x)])
    else:
        raise ValueError(f"aggregate: expected 'mean' or 'iqm', got {aggregate!r}")
    np.random.seed(seed)  # rliable draws from numpy's global generator
    points, intervals = rly.get_interval_estimates(
        {k: np.asarray(v, dtype=float) for k, v in scores.items()}, function, reps=reps)
    return {k: (points[k], intervals[k][0], intervals[k][1]) for k in scores}


def iqm_curves(curves: dict, reps=500, seed=0):
    """IQM across runs at every evaluation point, with 95% stratified-bootstrap intervals.

    ``curves[method]`` has shape ``(runs, points)``; returns ``{method: (iqm, low, high)}``,
    each of shape ``(points,)``.
    """
    def per_point(x):
        return np.array([metrics.aggregate_iqm(x[:, [t]]) for t in range(x.shape[1])])

    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        {k: np.asarray(v, dtype=float) for k, v in curves.items()}, per_point, reps=reps)
    return {k: (points[k], intervals[k][0], intervals[k][1]) for k in curves}
