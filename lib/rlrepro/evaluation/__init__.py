"""Evaluation helpers shared by the experiments."""
