"""rlrepro: reproductions of deep-RL papers as DVC + papermill pipelines."""
