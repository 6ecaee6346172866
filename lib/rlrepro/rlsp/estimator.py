"""Deep RLSP's gradient estimator, one core for the gridworlds (``rlsp.deep``) and MuJoCo.

Deep RLSP (Lindner et al., ICLR 2021, Sec. 3) estimates ``d/dtheta log p(s_0 | theta)`` by
simulating the past and then the future: from each observed state it walks ``steps`` steps
backward with an inverse policy and inverse dynamics, summing the features it passes; from where
each walk ends it rolls the current policy ``steps`` steps forward with the real simulator,
summing features again. The estimate is the mean difference of the two sums (over the
temperature of the Boltzmann-rational policy), its norm clipped. What a state is (an index, an
observation vector), how a step is taken and what the features are is up to the caller.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def simulate_past_and_future(starts, steps: int, backward_step: Callable, forward_step: Callable,
                             features: Callable, begin_forward: Callable | None = None):
    """Feature sums ``(N, d)`` along the backward walks from ``starts`` and along the forward
    rollouts from their ends, and the ends. ``backward_step(t, s_{t+1}) -> s_t`` is called for
    t = steps - 1, ..., 0, then ``forward_step(t, s_t) -> s_{t+1}`` for t = 0, ..., steps - 1;
    both act on a whole batch of states at once. ``begin_forward(ends) -> states``, if given,
    puts the simulators in the walks' end states (and returns the states they are in)."""
    states = starts
    backward = features(states)
    for t in range(steps - 1, -1, -1):
        states = backward_step(t, states)
        backward = backward + features(states)
    ends = states
    if begin_forward is not None:
        states = begin_forward(ends)
    forward = features(states)
    for t in range(steps):
        states = forward_step(t, states)
        forward = forward + features(states)
    return backward, forward, ends


def clipped_gradient(backward, forward, *, temperature: float = 1.0, max_norm: float = 10.0,
                     weights=None) -> np.ndarray:
    """The (weighted) mean of ``backward - forward`` over trajectories, over ``temperature``,
    scaled down to norm ``max_norm`` if longer (Deep RLSP's gradient clipping)."""
    gradient = np.average(np.asarray(backward) - np.asarray(forward), axis=0,
                          weights=weights) / temperature
    norm = np.linalg.norm(gradient)
    return gradient * (max_norm / norm) if norm > max_norm else gradient
