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
# The SpatioTemporal-Predictions experiment: train TD3 on the nominal Hopper, test it on
# perturbed Hoppers, and ask whether a policy whose encoder also learns the dynamics is more
# robust. The self-supervised method is PAD's (Hansen et al. 2021, *Self-Supervised Policy
# Adaptation during Deployment*, nicklashansen/policy-adaptation-during-deployment) on states:
# beside the critic's encoder, a branch that shares all but its last layer with it and an
# inverse dynamics head (s, s' -> a) on it, trained every other update by its own optimizer
# (`td3_pad`); at test time the shared layers and the branch keep following the inverse
# dynamics loss on the latest transition, without any reward (`td3_pad_adapt`). Our ablation
# (`td3_ssl`, at `paper`) puts forward and inverse heads on the critic's own features and adapts
# the whole encoder. Fine-tuning each TD3 policy with reward on a perturbed body is the upper
# line a reward-free method could reach.
#
# We test as Packer et al. 2019 (*Assessing Generalization in Deep Reinforcement Learning*,
# sunblaze-ucb/rl-generalization) do: trained on the default body (D), tested on bodies whose
# torso density, friction and motor power are drawn from their moderate range (R) or from
# their extreme range outside it (E), one body per episode. Our extension scales the limbs:
# each of the torso, thigh, leg and foot shorter or longer (factors 0.5 to 1.5). The
# SpatioTemporal-Predictions repository publishes no numbers; the claims below are the
# hypothesis itself and Packer et al.'s finding that extrapolation is harder, judged on
# Packer's perturbations.
#
# Bodies (`rlrepro.envs.bodies`): Packer's parameters as factors of their defaults on every
# geom's friction, the torso's density and every motor's gear; each limb's capsule scaled about
# its joint with MuJoCo's `MjSpec`, the limbs below it moved with it, masses following the
# geometry, the start height keeping the feet on the floor and the healthy height range
# following the standing height.

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
plots.save(fig, figures, "learning_curves", data=plots.curve_points(curves))

# %% [markdown]
# ## Tests on perturbed bodies
#
# Each method plays `packer_episodes` deterministic episodes per seed on each of Packer et
# al.'s ranges, each episode on its own drawn body (the same bodies for every seed and method),
# and `test_episodes` on every body of the limb sweep: each swept factor alone, the two
# `heatmap` factors together, and the fine-tuning bodies. Every test uses the same episode
# seeds, never those of the evaluations that picked the policy. Returns are cached under
# `.../tests/`, named by the policies' content, the bodies and the code.

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
# Each seed's mean normalised return (the share of its nominal return it keeps) over its
# episodes on the drawn bodies of the moderate (R) and the extreme (E) range, and the same in
# plain return; then the mean over seeds with its interval. The claims are judged here.

# %%
if metrics["packer"]:
    display(rx.range_table(metrics, "packer"))

# %% [markdown]
# The limb sweep read the same way: the single-factor bodies of the moderate range (factors in
# `moderate`, nominal excluded) and of the extreme range (the others). Fine-tuning: the TD3
# policy on its test body before and after.

# %%
display(rx.range_table(metrics, "limbs"))
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
# `data/results/dynamics_robustness.json`: `packer[method][range]` (Packer et al.'s ranges),
# `normalised_return[method][factor name][factor]` (the limb sweep: mean over seeds;
# `normalised_return_ci` its interval), its ranges, the fine-tuning line and the claims; every
# test's returns are in `data/results/dynamics_robustness.json`.

# %%
details = metrics | {"profile": profile, "runs": runs.to_dict("records"), "tests": tests}
analysis = rx.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the original settings (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
