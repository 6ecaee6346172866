"""Neural network models shared by the agents and the experiments.

``mlp`` builds every plain MLP. Deep RLSP's learned models on MuJoCo, one per module, each with
a config of the original's settings and a ``fit`` function: ``state_vae`` (the features phi),
``inverse_dynamics`` (the previous state) and ``inverse_policy`` (the previous action, an MDN);
``fitting`` holds what their training shares. ``skill_prior``: SPiRL's skill model and learned
prior; ``rssm``: the recurrent state-space world model from pixels (PlaNet), with a
reconstruction or a contrastive representation loss.
"""
