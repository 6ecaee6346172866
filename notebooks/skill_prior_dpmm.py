# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Skill priors: SPiRL's closed-loop prior, GASP's Dirichlet-process prior, and flat SAC
#
# Pertsch, Lee & Lim, *Accelerating Reinforcement Learning with Learned Skill Priors* (CoRL 2020,
# SPiRL) learn, from offline demonstrations, a *skill*: a latent code `z` that a closed-loop
# decoder turns into 10 actions, and a *prior* `p(z | s)` over the skills worth running from a
# state. A high-level SAC then acts every 10 steps in skill space, regularised towards the prior
# instead of towards maximum entropy. On a long-horizon maze with a sparse reward this solves
# what flat SAC cannot. GASP ("Generalized Adaptive Skill Prior") keeps the model and replaces
# the standard-normal regulariser of the skill posterior with a Dirichlet-process Gaussian
# mixture (DPMM) fitted to the skill codes during training: skills may form several clusters
# instead of one blob.
#
# Here: the D4RL waypoint controller's demonstrations on random PointMaze layouts, the two skill
# models, and four agents on a held-out maze: `spirl`, `gasp`, `skills_no_prior` (SAC with its
# entropy bonus in SPiRL's skill space) and `flat_sac`. Success = reaching the goal.

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 3}
data_dir = "data" # outputs, relative to the repository root

# %%
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from rlrepro import claims, params, plots
from rlrepro.envs import point_maze
from rlrepro.evaluation.statistics import aggregate_label
from rlrepro.models import skill_prior
from rlrepro.experiments import skill_prior_dpmm as sx
from rlrepro.skills import data as skill_data

torch.set_num_threads(1)
experiment = params.notebook_setup("skill_prior_dpmm", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## Demonstrations
#
# The controller plans a shortest path over the cells of a random layout (SPiRL's generator:
# walls with a door each, a quarter of the cells), then follows jittered waypoints with PD
# control. Each observation is the point's position and velocity and the walls of the 5x5
# cells around it (our stand-in for the top-down image SPiRL's prior sees); the learned prior
# sees the velocity and the walls but not the position (`prior_sees_position`), as SPiRL's image
# prior does not, so that it carries over to a maze it never saw. The held-out
# episodes measure reconstruction.

# %%
train, held_out = sx.demonstrations(cfg, profile, data)
print(f"{len(train.episode_ends)} training episodes ({len(train.actions)} steps), "
      f"{len(held_out.episode_ends)} held out; the controller reached its goal in "
      f"{np.concatenate([train.reached, held_out.reached]).mean():.0%} of them")
fig = sx.data_figure(train, cfg)
plots.save(fig, figures, "demonstrations")

# %% [markdown]
# ## Skill models: SPiRL's Gaussian regulariser and GASP's DPMM
#
# Both closed-loop models train on the same windows of 11 states and 10 actions. GASP refits
# its mixture on the epoch's skill codes at the scheduled epochs (dense early) and pulls each
# posterior towards the components responsible for it.

# %%
models = sx.train_skill_models(cfg, profile, data)
history = pd.DataFrame([{**r, "model": name} for name, m in models.items() for r in m["history"]])
losses = history.melt(id_vars=["model", "epoch"], value_vars=["reconstruction", "regulariser",
                                                              "prior"], var_name="term")
fig = plots.line_sweep(losses, x="epoch", y="value", hue="model", col="term", logx=False,
                       ylim=None, sharey=False,
                       title="skill-model training: the loss terms per epoch")
plots.save(fig, figures, "skill_model_training")
dpmm = sx.load_dpmm(data, profile) if "gasp" in models else None
if dpmm is not None:
    fits = history.dropna(subset=["dpmm_components"])
    fig = plots.line_sweep(fits.assign(fit="GASP"), x="epoch", y="dpmm_components", hue="fit",
                           logx=False, ylim=None, title="DPMM components found at each fit")
    plots.save(fig, figures, "dpmm_components")

# %% [markdown]
# Reconstruction on held-out windows: the mean squared error of the actions decoded from each
# window's posterior mean, against predicting the data's mean action.

# %%
rng = np.random.default_rng(0)
windows = skill_data.windows(held_out, cfg.skills.horizon, 2000, rng)
mean_action = train.actions.mean(0)
reconstruction = {name: skill_prior.load(m["path"]).reconstruction_error(*windows)
                  for name, m in models.items()}
reconstruction["mean_predictor"] = float(((windows[1] - mean_action) ** 2).mean())
display(Markdown(pd.Series(reconstruction, name="held-out action MSE").to_frame()
                 .to_markdown(floatfmt=".4f")))

# %% [markdown]
# The skill codes of held-out windows, projected on their two principal directions: SPiRL's
# around the standard normal it is pulled towards, GASP's coloured by mixture component.

# %%
codes = {name: skill_prior.load(m["path"]).posterior(
    *(torch.as_tensor(w) for w in windows)).mean.detach().numpy() for name, m in models.items()}
if dpmm is not None:
    fig = sx.latent_figure(codes, dpmm)
    plots.save(fig, figures, "skill_latents")

# %% [markdown]
# ## Exploration before learning
#
# Why a skill prior should help on a sparse maze: before any reward, random choices must carry
# the agent to the goal at least once. Random episodes on the target maze, each explorer acting
# at random in its own action space: skills drawn from SPiRL's or GASP's learned prior (how
# `spirl` and `gasp` start), uniformly random skill codes (how `skills_no_prior` starts) and
# uniformly random actions (how `flat_sac` starts).

# %%
farthest = sx.exploration(cfg, models, cfg.exploration_episodes)
fig = sx.exploration_figure(farthest, cfg)
plots.save(fig, figures, "exploration")
far = sx.goal_distance(cfg)
pd.DataFrame({name: {"farthest cell, mean": reached.mean(),
                     f"share reaching the goal's distance ({far})": (reached >= far).mean()}
              for name, reached in farthest.items()}).T.round(2)

# %% [markdown]
# ## Reinforcement learning on the held-out maze
#
# The task: from the top-left free cell of a held-out layout to the cell farthest along the
# maze that is not a dead end (a cell open on one side is entered only on purpose; SPiRL's goal
# lies on a passage), reward 1 there. Every method gets `env_steps` environment steps (a skill
# is `horizon` of them); a method's
# seeds train together as the members of one agent, each a cached run folder in
# `data/policies/skill_prior_dpmm/` (finished ones are loaded, killed ones resume).

# %%
start, goal = point_maze.target_cells(point_maze.target_layout(cfg.target_size))
print(f"target: point_maze_{cfg.target_size}, from cell {tuple(map(int, start))} to cell "
      f"{tuple(map(int, goal))}, {sx.goal_distance(cfg)} cells along the maze, "
      f"{point_maze.TARGET_SIZES[cfg.target_size]} steps per episode")
rows = sx.run_all(cfg, profile, models, data)
pd.DataFrame(rows).assign(minutes=lambda r: (r.seconds / 60).round(1))[
    ["method", "seed", "minutes"]]

# %%
steps, lines = sx.curves(rows, cfg)
fig = plots.learning_curves({f"point_maze_{cfg.target_size}": (steps, lines)},
                            ylabel=f"success rate, {aggregate_label(cfg.seeds)}",
                            title="success on the held-out maze")
plots.save(fig, figures, "success_curves",
           data=plots.curve_points({f"point_maze_{cfg.target_size}": (steps, lines)}))

# %% [markdown]
# Final success: each final policy plays `final_episodes` deterministic episodes; the rate per
# seed, summarised over seeds. Ours: an episode succeeds when it comes within 0.45 of the goal,
# which ends it. SPiRL's (its D4RL fork, clvrai/spirl issue #32): reward 1 at every step within
# 2.0 of the goal, the episode going on for 2000 steps; it succeeds when it earns any reward.

# %%
success = sx.final_success(cfg, profile, models, data)
spirl_success = sx.final_success(cfg, profile, models, data, measure="spirl")
paths = {method: sx.trajectory(cfg, method, models, profile, data) for method in cfg.methods}
fig = sx.trajectories_figure(paths, cfg, dpmm)
plots.save(fig, figures, "trajectories")
if "gasp" in paths:
    fig = sx.allocation_figure(paths["gasp"], dpmm)
    plots.save(fig, figures, "skill_allocation")

# %% [markdown]
# ## Metrics and verdict

# %%
metrics = sx.metrics(success, models, reconstruction, dpmm, spirl_success)
details = metrics | {"profile": profile,
                     "runs": [{k: v for k, v in r.items() if k != "curve"} for r in rows]}
analysis = sx.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the original (from this run's configuration)
#
# The settings of this run that differ from the original's, then the design deviations that
# hold at every profile (`DEVIATIONS` in `rlrepro.experiments.skill_prior_dpmm`).

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
