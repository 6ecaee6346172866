# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Recurrent off-policy control on partially observable tasks
#
# Reproduces Yang & Nguyen, *Recurrent Off-policy Baselines for Memory-based Continuous Control*
# (arXiv 2110.12628; code: zhihanyang2022/off-policy-continuous-control).
#
# A memoryless agent acts on the current observation; when the observation leaves out part of the
# state (the pendulum's velocity in `pendulum_p`, its angle in `pendulum_v`) it cannot act
# optimally. The recurrent agents RDPG, RTD3 and RSAC put an LSTM summarizer of the observation
# history in front of each network and train on replayed whole episodes. The paper's claims:
# **recurrent agents beat memoryless ones on the POMDPs; RSAC is the most reliable and
# near-optimal; RDPG and RTD3 can fail; memoryless windows of the last k observations (concat-k)
# fall short.**
#
# Scores are the mean return of deterministic test episodes over a run's last evaluations,
# aggregated over seeds (the interquartile mean with a 95% stratified-bootstrap interval from 5
# seeds on; with fewer seeds the mean and the range of the seeds, since an interval from 3 runs
# means little), and normalised so that 0 is a uniformly random policy and 1 is SAC given the
# full state (`sac_full`).

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 5}
data_dir = "data" # outputs, relative to the repository root

# %%
import numpy as np, pandas as pd
from IPython.display import Image, Markdown, display

from rlrepro import claims, params, plots
from rlrepro.experiments import recurrent_offpolicy as ex
from rlrepro.agents.training import load_policy
from rlrepro.envs import make_env
from rlrepro.evaluation.statistics import aggregate, aggregate_label
from rlrepro.evaluation.videos import record_episode

experiment = params.notebook_setup("recurrent_offpolicy", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
label = aggregate_label(cfg.seeds)
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## Training
#
# Every (task, method, seed) trains in its own folder under
# `data/policies/recurrent_offpolicy/<profile>/` (`checkpoint.pt` while it runs, then `policy.pt`
# and `result.json`); the full-state reference is one run per full-state task, shared by its
# partially observed versions. A finished run is loaded instead of retrained (if its
# configuration and the agents' code are unchanged), and an interrupted one resumes from its last
# checkpoint, so adding a seed or a method trains only what is new. The bar counts environment
# steps over all runs.

# %%
results = ex.train_all(cfg, profile, experiment.root / data_dir)
runs, metrics = ex.summarize(results, cfg)
runs.groupby("method")["seconds"].agg(["count", "mean"]).rename(columns={"mean": "seconds per run"}).round(0)

# %% [markdown]
# ## Learning curves
#
# The test return at every evaluation, aggregated over seeds (line) with its band. The dashed
# line is the uniformly random policy.

# %%
curves = {}
for env in cfg.tasks:
    rows = [r for r in results if r["env"] == env]
    steps = rows[0]["steps"]
    curves[env] = (steps, aggregate({m: np.array([r["returns"] for r in rows if r["method"] == m])
                                     for m in cfg.methods_of(env)}, reps=500))
fig = plots.learning_curves(curves, baselines=metrics["random_return"], ylabel=f"test return, {label}",
                            title="Recurrent vs memoryless off-policy agents")
plots.save(fig, figures, "learning_curves", data=plots.curve_points(curves))

# %% [markdown]
# ## Final performance
#
# Normalised score per task and method (aggregate over seeds and, in brackets, its band), then
# every seed's score: a method is *reliable* when none of its seeds fails. Empty cells: methods
# a task does not run.

# %%
values, cells = ex.score_table(metrics, list(cfg.methods))
fig = plots.table_heatmap(values, cells, title=f"Normalised final score, {label}",
                          label="normalised score (1 = full-state SAC)")
plots.save(fig, figures, "final_table")
_, returns = ex.score_table(metrics, list(cfg.methods), key="final_return")
display(Markdown(f"**Final return, {label}**\n\n" + returns.replace("\n", " ", regex=True).to_markdown()))

# %%
fig = plots.seed_strip(runs, x="normalised", y="method", col="env", order=list(cfg.methods),
                       title="Every seed's normalised final score")
plots.save(fig, figures, "seeds")

# %% [markdown]
# ## Policies
#
# One test episode of the best seed of memoryless SAC and of RSAC on the first task.

# %%
env_name = cfg.tasks[0]
for method in [m for m in ("sac", "rsac") if m in cfg.methods_of(env_name)]:
    best = runs[(runs.env == env_name) & (runs.method == method)].sort_values("final").iloc[-1]
    agent, _ = load_policy(ex.run_dir(experiment.root / data_dir, profile, env_name, method, int(best.seed)))
    path = figures / f"{env_name}_{method}.gif"
    episode_return = record_episode(agent, make_env(env_name), path, seed=12345)
    print(f"{method} on {env_name} (seed {int(best.seed)}): return {episode_return:.0f}")
    display(Image(filename=str(path)))

# %% [markdown]
# ## Metrics and verdict
#
# `data/results/recurrent_offpolicy.json` holds every run and score, what the scorecard (`report` stage)
# checks among them; `data/metrics/recurrent_offpolicy.json` the verdict counts (`dvc metrics show`).

# %%
details = metrics | {"profile": profile, "runs": runs.to_dict("records")}
analysis = ex.verdict_text(metrics, cfg)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the paper (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
