"""Neural network models shared by the agents and the experiments."""
