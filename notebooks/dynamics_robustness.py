# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Robustness of TD3 to perturbed bodies, with and without self-supervised representations
#
# The SpatioTemporal-Predictions experiment: train TD3 on the nominal Hopper, test it on Hoppers
# whose torso, thigh, leg and foot are shorter or longer (factors 0.5 to 1.5), and ask whether a
# policy whose encoder also learns to predict the dynamics is more robust. The self-supervised
# encoder is PAD's (Hansen et al. 2021, *Self-Supervised Policy Adaptation during Deployment*):
# a shared encoder under the critic with an inverse dynamics head (s, s' -> a) and a forward
# head (s, a -> s'), trained with the critic; at test time PAD keeps following the
# self-supervised loss on the test episode's own transitions, without any reward
# (`td3_ssl_adapt`). Fine-tuning each TD3 policy with reward on a perturbed body is the upper
# line a reward-free method could reach.
#
# We report as Packer et al. 2019 (*Assessing Generalization in Deep Reinforcement Learning*)
# do: trained on the default body (D), tested on moderate (R) and extreme (E) perturbations.
# The SpatioTemporal-Predictions repository publishes no numbers; the claims below are the
# hypothesis itself and Packer et al.'s finding that extrapolation is harder.
#
# Bodies (`rlrepro.envs.bodies`): each limb's capsule is scaled about its joint with MuJoCo's
# `MjSpec`, the limbs below it move with it, masses follow the geometry, the start height keeps
# the feet on the floor and the healthy height range follows the standing height.

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 3}
data_dir = "data" # outputs, relative to the repository root

# %%
import numpy as np, pandas as pd
import gymnasium as gym
import torch
from IPython.display import Image, Markdown, display

from rlrepro import claims, params, plots
from rlrepro.agents.training import load_policy
from rlrepro.envs import make_env
from rlrepro.evaluation.statistics import aggregate, aggregate_label
from rlrepro.evaluation.videos import record_episode
from rlrepro.experiments import dynamics_robustness as rx

torch.set_num_threads(1)  # the GIFs play here: one thread, as every process
experiment = params.notebook_setup("dynamics_robustness", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## Training on the nominal body
#
# Every (algorithm, seed) run has its own folder under
# `data/policies/dynamics_robustness/<profile>/<body>/` (a finished run is loaded, a killed one
# resumes from its checkpoint); the seeds of one algorithm train together as the members of one
# agent. Then each TD3 policy is fine-tuned with reward on the named bodies, starting from its
# own weights.

# %%
runs = pd.DataFrame(rx.train_all(cfg, profile, data))
runs[["method", "body", "seed", "final", "policy_step", "seconds"]].assign(
    minutes=lambda r: (r.seconds / 60).round(1)).drop(columns="seconds")

# %%
label = aggregate_label(cfg.seeds)
curves = {}
for body, rows in runs.groupby("body", sort=False):
    steps = rows.iloc[0]["steps"]
    curves[body] = (steps, aggregate({m: np.array(g["returns"].tolist())
                                      for m, g in rows.groupby("method")}, reps=500))
fig = plots.learning_curves(curves, ylabel=f"test return, {label}",
                            title="Training on the nominal body; fine-tuning on perturbed ones")
plots.save(fig, figures, "learning_curves")

# %% [markdown]
# ## Tests on perturbed bodies
#
# Each method plays `test_episodes` deterministic episodes per seed on every body: each swept
# factor alone, the two `heatmap` factors together, and the fine-tuning bodies. Every body
# uses the same episode seeds. Returns are cached under `.../tests/`, named by the policies'
# content, the body and the code.

# %%
tests = rx.evaluate_all(cfg, profile, data)
frame, metrics = rx.summarize(tests, cfg)
fig = rx.degradation_figure(metrics, cfg)
plots.save(fig, figures, "degradation")

# %% [markdown]
# Two factors at once: the thigh and the leg scaled together (rows and columns; the corners
# are the short-legged and long-legged Hoppers).

# %%
if cfg.heatmap:
    fig = rx.heatmap_figure(metrics, cfg)
    plots.save(fig, figures, "heatmap")

# %% [markdown]
# ### Packer et al.'s ranges
#
# Each seed's mean normalised return (the share of its nominal return it keeps) over the
# single-factor bodies of the moderate range (factors in `moderate`, nominal excluded) and of the
# extreme range (the others), and the same in plain return; then the mean over seeds with its
# interval. Fine-tuning: the TD3 policy on its test body before and after.

# %%
table = rx.range_table(metrics)
display(table)
if metrics["finetune"]:
    display(pd.DataFrame({body: {m: rx.interval_text(v) for m, v in values.items()}
                          for body, values in metrics["finetune"].items()}))

# %% [markdown]
# ## The nominal TD3 policy on other bodies
#
# The first `gif_steps` steps of one deterministic episode of the seed-0 TD3 policy, trained on
# the nominal body, on each named body.

# %%
policy, _ = load_policy(rx.run_dir(data, profile, cfg.body, "td3", 0))
for name in [rx.nominal_env(cfg), *cfg.gif_bodies]:
    env = gym.wrappers.TimeLimit(make_env(name, render_mode="rgb_array", width=256, height=256),
                                 cfg.gif_steps)
    path = figures / f"{name}.gif"
    episode_return = record_episode(policy, env, path, seed=12345)
    env.close()
    print(f"{name}: return {episode_return:.0f} over the first {cfg.gif_steps} steps")
    display(Image(filename=str(path)))

# %% [markdown]
# ## Metrics and verdict
#
# `data/metrics/dynamics_robustness.json`: `normalised_return[method][factor name][factor]`
# (mean over seeds; `normalised_return_ci` its interval), the ranges, the fine-tuning line and
# the claims; every test episode's return is in `data/results/dynamics_robustness.json`.

# %%
shared = ("normalised_return", "normalised_return_ci", "nominal_return", "ranges",
          "range_returns", "heatmap", "finetune")
details = metrics | {"profile": profile, "runs": runs.to_dict("records"), "tests": tests}
card = claims.write_experiment(details, experiment, shared=shared)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(rx.verdict_text(metrics, cfg)))

# %% [markdown]
# ### Deviations from the original settings (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
