"""Robustness of policies to perturbed bodies (``experiment``), on the scaled bodies of
``rlrepro.envs.bodies``."""
