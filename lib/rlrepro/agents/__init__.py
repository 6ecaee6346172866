"""Off-policy agents (DDPG, TD3, SAC and their recurrent versions), their training loop, and
the recurrent off-policy experiment; PPO (``ppo``), the generator of GAIL."""
