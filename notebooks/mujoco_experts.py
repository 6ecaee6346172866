# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # SAC experts on the MuJoCo tasks of Deep RLSP
#
# Lindner, Shah, Abbeel & Dragan, *Learning What To Do by Simulating the Past* (ICLR 2021; code:
# HumanCompatibleAI/deep-rlsp) infer a task from a few states of a world an expert has acted in.
# The states come from SAC experts trained with the rl-baselines-zoo hyperparameters on
# InvertedPendulum, HalfCheetah running forward and backward, and Hopper, and from skills of a
# cheetah (balancing, jumping). This notebook trains those experts, scores them against the
# uniformly random policy, and cuts from them what the later stages are given:
#
# - **observed states** for Deep RLSP (`notebooks/mujoco_rlsp.ipynb`): sets of n = 1, 10, 50
#   states, each where a uniformly drawn step of a fresh episode of the expert acting
#   stochastically led (the original's), every set from its own episodes;
# - **demonstrations** for GAIL (`notebooks/gail_baseline.ipynb`): one expert trajectory of
#   1, 10, 50 transitions from `env.reset()`.
#
# **The skills are substitutes.** The paper's balancing and jumping rollouts came from DADS skills
# whose policies the original repository does not ship (one 100-step rollout of each, on
# HalfCheetah-v1), so here SAC experts learn them from hand-written skill rewards
# (`rlrepro.envs.mujoco`: balancing on the front legs, jumping). Their GIFs below show what they
# do.

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
from rlrepro.experiments import mujoco_experts as ex
from rlrepro.agents.training import load_policy
from rlrepro.demonstrations import expert_dir, load
from rlrepro.envs import make_env
from rlrepro.evaluation.statistics import aggregate, aggregate_label, mean_interval
from rlrepro.evaluation.videos import record_episode

torch.set_num_threads(1)  # the experts play their episodes here: one thread, as every process
experiment = params.notebook_setup("mujoco_experts", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
data = experiment.root / data_dir
references = ex.reference_scores(experiment.root / "references" / "mujoco_experts.yaml")
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## Training
#
# Every (task, seed) expert trains in its own folder under
# `data/policies/mujoco_experts/<profile>/` (`checkpoint.pt` while it runs, then `policy.pt` and
# `result.json`): a finished expert is loaded instead of retrained when its configuration and the
# agents' code are unchanged, and a killed one resumes from its last checkpoint. With
# `group_tasks`, the cheetah's tasks (one observation and action space) train as members of one
# agent in one process, each with its own environment, replay buffer and optimizer state. With
# `train.keep_best` the expert is the policy of its best evaluation (`policy_step`), not the last
# one.

# %%
results = ex.train_all(cfg, profile, data)
runs = pd.DataFrame(results)
runs[["task", "seed", "seconds", "seeds_in_process", "policy_step"]].assign(
    minutes=lambda r: (r.seconds / 60).round(1)).drop(columns="seconds")

# %% [markdown]
# ## Learning curves
#
# The deterministic test return at every evaluation (aggregated over the seeds), the uniformly
# random policy (dashed) and published SAC scores on the same task at a given step budget
# (markers; `references/mujoco_experts.yaml` names their sources and gymnasium versions).

# %%
label = aggregate_label(cfg.seeds)
curves = {}
for task in cfg.tasks:
    rows = runs[runs.task == task]
    curves[task] = (rows.iloc[0]["steps"],
                    aggregate({"SAC (ours)": np.array(rows["returns"].tolist())}, reps=500))
scores = {task: ex.score(cfg, profile, task, data) for task in cfg.tasks}
random_return = {task: float(s["random"]["returns"].mean()) for task, s in scores.items()}
budget = {task: params.for_task(cfg, task).train.total_steps for task in cfg.tasks}
published = {task: [r for r in references.get(task, []) if r[0] <= budget[task]]
             for task in cfg.tasks}  # the scores at budgets this run reaches
fig = plots.learning_curves(curves, baselines=random_return, references=published,
                            ylabel=f"test return, {label}", title="SAC experts")
plots.save(fig, figures, "learning_curves", data=plots.curve_points(curves))

# %% [markdown]
# ## Experts against the random policy
#
# Each expert (seed 0) and the uniformly random policy play the same `final_episodes` episodes
# (same environment seeds): mean return with a 95% bootstrap interval over episodes, episode
# length, and the cheetah's mean forward velocity (m/s; negative is backward).

# %%
rows = []
for task, s in scores.items():
    ci = mean_interval({"expert": s["expert"]["returns"][:, None],
                        "random": s["random"]["returns"][:, None]})
    rows.append({"task": task, "expert return": ci["expert"][0][0],
                 "expert 95% CI": [float(ci["expert"][1][0]), float(ci["expert"][2][0])],
                 "random return": ci["random"][0][0],
                 "random 95% CI": [float(ci["random"][1][0]), float(ci["random"][2][0])],
                 "expert episode length": float(s["expert"]["lengths"].mean()),
                 "mean forward velocity": float(np.nanmean(s["expert"]["forward_velocity"]))})
table = pd.DataFrame(rows).set_index("task")
display(table.round(2))

# %% [markdown]
# ## The experts at work
#
# The first `gif_steps` steps of one deterministic episode of each expert.

# %%
for task in cfg.tasks:
    expert, _ = load_policy(expert_dir(data, profile, task, 0))
    env = gym.wrappers.TimeLimit(make_env(task, render_mode="rgb_array", width=256, height=256),
                                 cfg.gif_steps)
    path = figures / f"{task}.gif"
    episode_return = record_episode(expert, env, path, seed=12345)
    env.close()
    print(f"{task}: return {episode_return:.0f} over the first {cfg.gif_steps} steps")
    display(Image(filename=str(path)))

# %% [markdown]
# ## Observed states and demonstrations
#
# Cut from each task's seed-0 expert into `data/datasets/mujoco_experts/<profile>/<task>/`
# (format: `rlrepro.demonstrations`), each file checked by the loader the later stages use.

# %%
written = {task: ex.cut_data(cfg, profile, task, data) for task in cfg.tasks}
pd.DataFrame([{"task": task, "file": path.name, "transitions": len(load(path, task)),
               "mean reward": float(load(path, task).rewards.mean())}
              for task, paths in written.items() for path in paths])

# %% [markdown]
# ## Metrics and verdict
#
# `data/results/mujoco_experts.json` holds every number: what the scorecard checks, what the
# later stages read (returns, intervals, forward velocities) and every episode;
# `data/metrics/mujoco_experts.json` the verdict counts (`dvc metrics show`).

# %%
metrics = {
    "expert_return": table["expert return"].to_dict(),
    "expert_return_ci": table["expert 95% CI"].to_dict(),
    "random_return": table["random return"].to_dict(),
    "random_return_ci": table["random 95% CI"].to_dict(),
    "expert_episode_length": table["expert episode length"].to_dict(),
    "mean_forward_velocity": {t: v for t, v in table["mean forward velocity"].items()
                              if np.isfinite(v)},
    "minutes": {t: float(runs[runs.task == t].seconds.max() / 60) for t in cfg.tasks},
}
details = metrics | {"profile": profile, "curves": results,
                     "episodes": {t: {k: {m: v.tolist() for m, v in s[k].items()}
                                      for k in s} for t, s in scores.items()}}
analysis = ex.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the original experts (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
