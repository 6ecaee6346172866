# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Latent dynamics models: reconstruction vs contrast, clean vs distracted pictures
#
# The latent-dynamics thesis (*Optimization of Latent Dynamics Models with Unsupervised
# Representation Learning*, code: janwithb/thesis) learns PlaNet's recurrent state-space model
# (RSSM) from pixels with one of two representation losses: **reconstruction** (decode the
# picture from the latent state) or **contrast** (the latent state must pick out the embedding
# of its own picture among the batch's, InfoNCE as CURL). Three agents act through the model:
# **MB-SAC** (SAC on transitions imagined in the latent space), **Dreamer** (an actor-critic
# trained by backpropagating λ-returns through imagined trajectories) and **MPC-CEM** (PlaNet's
# planner), beside **SAC from pixels** without a model. The claim: on clean pictures
# reconstruction does as well or better, but under visual distractors (here random colours of
# sky, floor, body and light every episode, `rlrepro.envs.pixels`) the contrastive model keeps
# working while reconstruction degrades, since reconstruction must spend its latent state on
# the colours.
#
# The representation is also measured directly, without any agent: a linear probe from the
# latent state to the true state of the task, and the error of the reward predicted one step
# ahead, on held-out episodes.

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 3}
data_dir = "data" # outputs, relative to the repository root

# %%
import gymnasium as gym
import pandas as pd
import torch
from IPython.display import Image, Markdown, display

from rlrepro import claims, params, plots
from rlrepro.evaluation.videos import record_episode
from rlrepro.experiments import latent_dynamics as lx
from rlrepro.latent.warmup import task_env

torch.set_num_threads(1)
experiment = params.notebook_setup("latent_dynamics", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## World models, then the agents
#
# Per (task, condition, loss, seed) a world model is warmed up on `seed_episodes` episodes of
# random actions (`data/models/latent_dynamics/`); each agent's run starts from it, collects one
# episode per round with its own policy and trains its model and itself on everything collected
# (`data/policies/latent_dynamics/`: finished runs are loaded, killed ones resume from their
# last evaluation). SAC from pixels starts from the same random episodes, without a model.

# %%
models, runs = lx.run_all(cfg, profile, data)
pd.DataFrame(runs)[["task", "condition", "loss", "agent", "seed", "seconds"]].assign(
    minutes=lambda f: (f.seconds / 60).round(1)).drop(columns="seconds")

# %% [markdown]
# ## What the latent state knows
#
# Each world model (after its warm-up) on the held-out random episodes of its condition: the
# R² of a ridge regression from the latent feature `[h, z]` to the task's true state (fit on
# the seed episodes), and the mean squared error of the reward predicted from the prior one
# step ahead.

# %%
measures = lx.measures_table(models)
display(measures.round(3))
plots.save(lx.measures_figure(measures, cfg), figures, "representation")

# %% [markdown]
# ### Open-loop predictions
#
# Seed 0's model on a held-out episode: the first `open_loop_context` pictures are seen, the
# rest predicted from the actions alone (a contrastive model has no decoder: one is fit on its
# frozen latent states to show what they keep).

# %%
strips = lx.open_loop_strip(cfg, profile, data)
plots.save(plots.image_grid(strips, columns=1, title="open-loop prediction: truth above model"),
           figures, "open_loop")
for path in lx.open_loop_gifs(cfg, profile, figures, data):
    print(path.stem, "(truth | model)")
    display(Image(filename=str(path)))

# %% [markdown]
# ## Returns
#
# Each run's final policy plays `final_episodes` deterministic episodes (the paper's protocol,
# `return`), and the same episodes sampling its actions (`sampled_return`): where an agent has
# not learned a mean action yet the two part (SAC from pixels at `cpu`: its mean action is near
# 0, which leaves the cartpole's pole hanging, while its samples swing it like random actions).

# %%
returns = lx.returns_table(runs)
display(returns.round(1))
plots.save(lx.returns_figure(returns, cfg), figures, "returns")
curves = pd.DataFrame([{**point, "agent": r["agent"], "loss": r["loss"],
                        "condition": r["condition"], "seed": r["seed"]}
                       for r in runs for point in r["curve"]])
curves = curves.assign(method=curves.agent + ", " + curves.loss)
fig = plots.line_sweep(curves, x="steps", y="return", hue="method", col="condition", logx=False,
                       ylim=None, title="return of deterministic episodes during training")
points = (curves.groupby(["condition", "method", "steps"])["return"].agg(["mean", "min", "max"])
          .reset_index().set_axis(["panel", "method", "step", "value", "low", "high"], axis=1))
plots.save(fig, figures, "learning_curves", data=points)  # mean over seeds [min, max]

# %% [markdown]
# ## The learned behaviour
#
# The first `gif_steps` steps of one deterministic episode of every agent's seed-0 policy.

# %%
task = cfg.tasks[0]
for row in [r for r in runs if r["seed"] == 0 and r["task"] == task]:
    agent = lx.load_run(cfg, profile, task, row["condition"], row["loss"], row["agent"], 0, data)
    env = gym.wrappers.TimeLimit(task_env(cfg, task, row["condition"],
                                          render_mode="rgb_array", width=128, height=128),
                                 cfg.gif_steps)
    name = f"{row['agent']}_{row['loss']}_{row['condition']}"
    episode_return = record_episode(agent, env, figures / f"{name}.gif", seed=12345)
    env.close()
    print(f"{name}: return {episode_return:.0f} over the first {cfg.gif_steps} steps")
    display(Image(filename=str(figures / f"{name}.gif")))

# %% [markdown]
# ## Metrics and verdict

# %%
metrics = lx.metrics(returns, measures, cfg)
details = metrics | {"profile": profile, "models": models, "runs": runs}
analysis = lx.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the thesis' settings (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
