# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Deep RLSP on MuJoCo: rewards inferred from a few states of the world
#
# Lindner, Shah, Abbeel & Dragan, *Learning What To Do by Simulating the Past* (ICLR 2021, Sec.
# 3.3-3.4, Table 1; code: HumanCompatibleAI/deep-rlsp). An expert has acted in the world; we
# see n of the states it left (n = 1, 10, 50, each where a uniformly drawn step of a fresh
# episode of the expert acting stochastically led, from `notebooks/mujoco_experts.ipynb`).
# Deep RLSP infers a reward linear in learned features, `theta . phi(s)`, by simulating the past that led to those states (backward, with a
# learned inverse policy and inverse dynamics) and the future the current policy makes of it
# (forward, in the simulator). Two ablations use the same features: **AverageFeatures** (theta =
# the observed states' normalised mean feature, Deep RLSP's starting point) and **Waypoints**
# (reward = the largest cosine between phi(s) and an observed state's feature). Each inferred
# reward is scored as in the paper: a fresh SAC trains on it and is scored by the task's TRUE
# return, beside the expert's and the uniformly random policy's.
#
# The cheetah skills (balancing, jumping: substitutes for the paper's DADS skills, see
# `notebooks/mujoco_experts.ipynb`) are scored twice: by their skill reward, and as in the paper
# by a discriminator that tells windows of the skill's observations from the learned policy's.
# Hopper runs at the `paper` profile only (its expert is the weakest at `cpu`).
#
# On the paper's numbers: the original repository's released evaluation script
# (`scripts/evaluate_policy.py`, line 78) replaces the policy's action with
# `env.action_space.sample()` before every step, so Table 1 cannot have come from it as shipped;
# our scores play the policy's own deterministic actions.

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 3}
data_dir = "data" # outputs, relative to the repository root

# %%
import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, Markdown, display

from rlrepro import claims, params, plots
from rlrepro.demonstrations import expert_scores
from rlrepro.agents.training import load_policy
from rlrepro.envs import make_env
from rlrepro.evaluation.statistics import aggregate, aggregate_label
from rlrepro.evaluation.videos import record_episode
from rlrepro.experiments import mujoco_rlsp as mx

torch.set_num_threads(1)
experiment = params.notebook_setup("mujoco_rlsp", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
experts = expert_scores(data)  # the experts stage's expert and random returns
mx.check_inputs(cfg, profile, data)  # every observed-state set is there, before any work
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## Features, inverse dynamics, inferred rewards and their evaluation
#
# One job per task (`workers` at once): the feature data and models (cached in
# `data/models/mujoco_rlsp/`), every method's reward for every observed-state set, then one SAC
# per reward, all of a task's SACs trained together as members of one agent (cached run folders
# in `data/policies/mujoco_rlsp/`: finished ones are loaded, killed ones resume).

# %%
rows = mx.run_all(cfg, profile, data)
runs = pd.DataFrame(rows)
runs.assign(minutes=lambda r: (r.seconds / 60).round(1))[["task", "n", "draw", "method", "minutes"]]

# %% [markdown]
# ## Table 1: true return of the policies trained on the inferred rewards
#
# Each evaluation policy plays `final_episodes` deterministic episodes; the table gives the mean
# true return with a 95% bootstrap interval over all its episodes (and draws), and the figure
# the normalised score (0 = uniformly random actions, 1 = the expert).

# %%
table = mx.table(cfg, profile, runs, experts, data)
display(Markdown(mx.table_markdown(table, experts).to_markdown(index=False)))
fig = plots.table_heatmap(
    table.pivot_table(index=["task", "n"], columns="method", values="normalised"),
    table.pivot_table(index=["task", "n"], columns="method", values="label", aggfunc="first"),
    title="true return of SAC on the inferred reward (colour: 0 = random, 1 = expert)",
    vmin=0.0, vmax=1.0, label="normalised true return")
plots.save(fig, figures, "table1")

# %% [markdown]
# ## Learning curves of the evaluation policies, and Deep RLSP's ascent
#
# Left: the true return of each evaluation SAC as it trains on its inferred reward. Right:
# the norm of Deep RLSP's gradient at every epoch (the horizon grows when the mean of the last
# 10 is short).

# %%
curves = {f"{task}, n={n}": (group.iloc[0]["steps"],
                             aggregate({m: np.array(r.true_returns.tolist())
                                        for m, r in group.groupby("method")}, reps=500))
          for (task, n), group in runs.groupby(["task", "n"])}
fig = plots.learning_curves(curves, baselines={f"{t}, n={n}": experts["random_return"][t]
                                               for t, n in runs.groupby(["task", "n"]).groups},
                            ylabel=f"true return, {aggregate_label(cfg.seeds)}",
                            title="SAC on the inferred rewards")
plots.save(fig, figures, "evaluation_curves", data=plots.curve_points(curves))
ascent = pd.DataFrame([{**h, "task": r.task, "n": r.n, "draw": r.draw}
                       for r in runs[runs.method == "deep_rlsp"].itertuples()
                       for h in (r.history or [])])
if len(ascent):
    display(ascent.groupby(["task", "n"]).agg(epochs=("epoch", "max"),
                                              last_horizon=("horizon", "max"),
                                              last_gradient_norm=("gradient_norm", "last")))
    epochs = ascent.melt(id_vars=["task", "n", "draw", "epoch"],
                         value_vars=["true_return", "inferred_return"], var_name="return")
    fig = plots.line_sweep(epochs, x="epoch", y="value", hue="n", col="task", row="return",
                           logx=False, ylim=None, sharey=False,
                           title="Deep RLSP's policy over the epochs: true return and return "
                                 "under the current (normalised) inferred reward, one episode")
    plots.save(fig, figures, "deep_rlsp_epochs")

# %% [markdown]
# ## Where the inferred rewards peak
#
# Each method's reward along one coordinate (the pendulum's pole angle over its hinge's range),
# the other coordinates held at the observed states' mean: a policy trained on the reward goes
# where it peaks, so a reward that is not highest at the observed states cannot bring a policy
# back to them.

# %%
slices = mx.reward_slices(cfg, profile, data)
peaks = mx.reward_peaks(slices) if len(slices) else {}
if len(slices):
    fig = plots.line_sweep(slices, x="value", y="reward", hue="method", col="task", logx=False,
                           ylim=None, sharey=False,
                           title="inferred reward along one coordinate (dashes: observed states)")
    for ax, (task, group) in zip(fig.axes, slices.groupby("task")):
        ax.axvline(group.observed.iloc[0], color="k", linestyle="--")
        ax.set_xlabel(group.coordinate.iloc[0])
    plots.save(fig, figures, "reward_slices")
peaks

# %% [markdown]
# ## Probes: variants of the ascent on the pendulum
#
# Each probe (`probes`: a name and the `rlsp` keys it changes) runs Deep RLSP's ascent from the
# pendulum's largest observed set (draw 0). Per epoch: the solver's true return, and the
# inferred reward along the pole angle at the observed states' other coordinates: at the
# observed angle, averaged over fallen angles (|angle| > 0.2), the share of fallen angles paid
# more than the observed one, and where it peaks. The pendulum reproduces when the peak moves
# to the observed (upright) angle and the solver's return rises with it.

# %%
probes = {p["probe"]: mx.probe_table(cfg, profile, p, data)
          for p in mx.run_probes(cfg, profile, data)}
for name, frame in probes.items():
    display(Markdown(f"**{name}**: {cfg.probes[name]}\n\n"
                     + frame.round(3).to_markdown(index=False)))

# %% [markdown]
# ## The learned behaviour
#
# One deterministic episode of each method's policy for the largest observed-state set (the
# first `gif_steps` steps), next to what the expert does (`data/figures/mujoco_experts/`).

# %%
n_largest = max(cfg.n_states)
for task in cfg.tasks:
    for method in cfg.methods:
        policy, _ = load_policy(mx.eval_folder(data, profile, task, n_largest, 0, method))
        env = gym.wrappers.TimeLimit(make_env(task, render_mode="rgb_array", width=256,
                                              height=256), mx.GIF_STEPS)
        path = figures / f"{task}_{method}.gif"
        episode_return = record_episode(policy, env, path, seed=12345)
        env.close()
        print(f"{task}, {method}, n={n_largest}: true return {episode_return:.0f} over the "
              f"first {mx.GIF_STEPS} steps")
        display(Image(filename=str(path)))

# %% [markdown]
# ## Skills: can a discriminator tell the learned behaviour from the skill?
#
# For each skill, a classifier with one hidden layer of 10 units learns to tell windows of 50
# consecutive observations of the skill's episodes from the learned policy's, on half of the
# episodes, and is scored on the other half: accuracy 0.5 = indistinguishable from the skill.
# References (n = 0): the skill's own episodes under other seeds, and uniformly random actions.

# %%
skills = mx.skill_scores(cfg, profile, runs, data)
if len(skills):
    display(skills.pivot_table(index=["task", "n"], columns="method",
                               values="accuracy").round(2))
    fig = plots.table_heatmap(
        skills.pivot_table(index=["task", "n"], columns="method", values="accuracy"),
        skills.pivot_table(index=["task", "n"], columns="method", values="accuracy").round(2),
        title="discriminator accuracy, skill vs policy (0.5 = indistinguishable)",
        vmin=0.5, vmax=1.0, cmap="RdYlGn_r", label="held-out accuracy")
    plots.save(fig, figures, "skill_discriminator")

# %% [markdown]
# ## Metrics and verdict

# %%
metrics = mx.metrics(table, experts, skills, peaks)
details = metrics | {"profile": profile, "runs": rows,
                     "probes": {name: frame.to_dict("records") for name, frame in probes.items()}}
analysis = mx.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the original (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
