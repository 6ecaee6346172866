# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # GAIL on the experts' demonstrations, side by side with Deep RLSP
#
# Lindner, Shah, Abbeel & Dragan, *Learning What To Do by Simulating the Past* (ICLR 2021, Table
# 1) compare Deep RLSP, which sees only n states of the expert's world, with GAIL (Ho & Ermon
# 2016), which sees n state-action transitions of the same expert: one expert trajectory of
# n = 1, 10, 50 transitions from `env.reset()` (cut by `notebooks/mujoco_experts.ipynb`). GAIL's
# discriminator learns to tell the expert's transitions from its generator's; the generator, PPO
# with imitation v0.1.1's settings (`rlrepro.agents.ppo`), is paid `-log(1 - D(s, a))`
# (`rlrepro.imitation.gail`). Each GAIL policy is scored by the task's TRUE return, next to
# Deep RLSP, AverageFeatures and Waypoints (read from `data/results/mujoco_rlsp.json`), the
# expert and the uniformly random policy.
#
# That reward is positive on every step, so where a failure ends the episode (the pendulum's
# fall) a generator earns more by lasting longer, whatever the discriminator thinks of its
# steps. Two checks say what a high score means there: the **control**, GAIL on an
# uninformative demonstration (one transition of random actions long after a fall: a fallen
# pole), and **gail_airl**, the generator paid the discriminator's logit instead, negative on
# the steps it rejects, so that surviving earns nothing by itself.

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
from rlrepro.demonstrations import expert_scores
from rlrepro.envs import make_env
from rlrepro.evaluation.statistics import aggregate, aggregate_label
from rlrepro.evaluation.videos import record_episode
from rlrepro.experiments import gail_baseline as gx
from rlrepro.imitation.gail import load_policy

torch.set_num_threads(1)
experiment = params.notebook_setup("gail_baseline", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
experts = expert_scores(data)  # the experts stage's expert and random returns
gx.check_inputs(cfg, profile, data)  # every demonstration is there and well formed, before any work
rlsp = gx.rlsp_metrics(data)  # Deep RLSP and its ablations, if that stage has run
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## GAIL runs
#
# One run per (task, demonstration, seed, reward), `workers` at once, each a cached run folder
# in `data/policies/gail_baseline/` (finished ones are loaded, killed ones resume). Each
# demonstration seed is also the run's training seed.

# %%
rows = gx.run_all(cfg, profile, data)
runs = pd.DataFrame(rows)
runs.assign(minutes=lambda r: (r.seconds / 60).round(1))[
    ["task", "demonstration", "method", "seed", "minutes"]]

# %% [markdown]
# ## Training: the discriminator and the generator's true return
#
# Per round (one PPO batch): the discriminator's accuracy on the expert's transitions and on the
# generator's (both near 1: it tells them apart; near 0.5: the generator looks like the expert),
# and the generator's true return at the evaluations.

# %%
log = pd.DataFrame([{**entry, "task": r.task, "demonstration": r.demonstration,
                     "method": r.method, "seed": r.seed}
                    for r in runs.itertuples() for entry in r.log])
accuracy = log[log.method == "gail"].melt(id_vars=["task", "demonstration", "seed", "steps"],
                                          value_vars=["disc_acc_expert", "disc_acc_gen"],
                                          var_name="on")
fig = plots.line_sweep(accuracy, x="steps", y="value", hue="demonstration", col="task", row="on",
                       logx=False, ylim=(0.0, 1.05),
                       title="discriminator accuracy on the expert's and the generator's "
                             "transitions")
plots.save(fig, figures, "discriminator_accuracy")
evaluated = log.dropna(subset=["eval_return"]) if "eval_return" in log else log.iloc[:0]
curves = {}
for (task, demonstration), group in evaluated.groupby(["task", "demonstration"], sort=False):
    steps = sorted(group.steps.unique())
    curves[f"{task}, {demonstration}"] = (steps, aggregate(
        {method: runs_.pivot_table(index="seed", columns="steps", values="eval_return")[steps]
         .to_numpy() for method, runs_ in group.groupby("method")}, reps=500))
if curves:
    fig = plots.learning_curves(curves, baselines={k: experts["random_return"][k.split(",")[0]]
                                                   for k in curves},
                                ylabel=f"true return, {aggregate_label(cfg.seeds)}",
                                title="GAIL's generator")
    plots.save(fig, figures, "learning_curves", data=plots.curve_points(curves))

# %% [markdown]
# ## Table 1: GAIL next to Deep RLSP
#
# Each GAIL policy plays `final_episodes` deterministic episodes; a cell is the mean over the
# training seeds of their mean true return, with the interval over the seeds (the range of
# fewer than 5 seeds: the spread between seeds is what an interval over episodes hides). The
# Deep RLSP columns are that stage's numbers at the same n; `control` is the uninformative
# demonstration.

# %%
table = gx.table(cfg, profile, runs, experts, data)
display(Markdown(gx.side_by_side(table, rlsp, experts).to_markdown(index=False)))
cells = table.assign(row=lambda f: f.task + " (" + f.method + ")",
                     label=lambda f: [f"{m:.0f}\n[{lo:.0f}, {hi:.0f}]" for m, lo, hi in
                                      zip(f.true_return, f.low, f.high)])
fig = plots.table_heatmap(
    cells.pivot_table(index="row", columns="demonstration", values="normalised", sort=False),
    cells.pivot_table(index="row", columns="demonstration", values="label", aggfunc="first",
                      sort=False),
    title="GAIL: true return by demonstration (colour: 0 = random, 1 = expert)",
    vmin=0.0, vmax=1.0, label="normalised true return")
plots.save(fig, figures, "table1")

# %% [markdown]
# ## The learned behaviour
#
# One deterministic episode of the GAIL policy from the largest demonstration (first 300 steps).

# %%
n_largest = max(cfg.n_transitions)
for task in cfg.tasks:
    env = gym.wrappers.TimeLimit(make_env(task, render_mode="rgb_array", width=256, height=256),
                                 300)
    policy = load_policy(gx.run_folder(data, profile, task, n_largest, 0), make_env(task))
    path = figures / f"{task}_gail.gif"
    episode_return = record_episode(policy, env, path, seed=12345)
    env.close()
    print(f"{task}, GAIL, n={n_largest}: true return {episode_return:.0f} over the first 300 steps")
    display(Image(filename=str(path)))

# %% [markdown]
# ## Metrics and verdict

# %%
metrics = gx.metrics(table, experts, rlsp)
details = metrics | {"profile": profile, "runs": rows}
analysis = gx.verdict_text(metrics, rlsp)
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
