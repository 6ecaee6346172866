"""Latent dynamics from pixels: replay of picture sequences, the world model's training and
probes, and the agents that act through it (MB-SAC, Dreamer, MPC-CEM) beside SAC from pixels."""
