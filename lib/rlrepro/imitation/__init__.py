"""Imitation learning baselines: GAIL (``gail``), on the demonstrations of
``rlrepro.demonstrations`` with PPO (``rlrepro.agents.ppo``) as its generator."""
