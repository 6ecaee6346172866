"""RLSP: tabular RLSP with the exact gradient, and Deep RLSP's sampled gradient estimator."""
