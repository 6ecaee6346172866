"""Evaluation shared by the experiments: episodes and returns (``rollouts``), the random policy,
rliable statistics (``statistics``) and policy GIFs (``videos``)."""
