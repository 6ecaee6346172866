# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Learning what to do by simulating the past — gridworlds
#
# Reproduces the gridworld comparison of Shah et al., *Preferences Implicit in the State of the World*
# (ICLR 2019, Table 1 / Figure 2, Sec. 5.3, 5.4, Appendix C, D) and the gridworld check of
# Lindner et al., *Learning What To Do by Simulating the Past* (ICLR 2021, Sec. 3.2).
#
# A robot is given a specified reward and sees the world in state $s_0$, after a human has acted
# in it for $T$ steps from $s_{-T}$. RLSP infers reward weights $\theta$ that make $s_0$ likely for a
# Boltzmann-rational human, then plans with $r_\text{spec} + \theta$. We score every method by the
# **fraction of the maximum true reward** it collects in 20 steps of optimal planning from $s_0$
# (living reward 1 per step, as in the original code).
#
# One correction to the original code: the likelihood gradient of a Boltzmann-rational human,
# $\nabla_\theta \log \pi = (\nabla_\theta Q - \nabla_\theta V)/\tau$, carries a factor $1/\tau$
# that the original RLSP and Deep RLSP code omit (finite differences give twice the analytic
# gradient at $\tau = 0.5$ and half of it at $\tau = 2$). Both gradients here include it; at the
# papers' $\tau = 1$ nothing changes.

# %% tags=["parameters"]
profile = None    # smoke | cpu | paper; None takes `profile:` from params.yaml
overrides = {}    # single keys to replace, e.g. {"seeds": 5}
data_dir = "data" # outputs, relative to the repository root

# %%
import pandas as pd
from IPython.display import Markdown, display

from rlrepro import claims, params, plots
from rlrepro.envs.gridworlds import tabular_model
from rlrepro.envs.gridworld_env import render_rgb
from rlrepro.experiments import gridworld_rlsp as ex
from rlrepro.evaluation.statistics import aggregate_label
from rlrepro.runner import run_parallel

experiment = params.notebook_setup("gridworld_rlsp", profile, overrides, data_dir)
cfg, profile, figures = experiment.cfg, experiment.profile, experiment.figures
label = aggregate_label(cfg.seeds)
plots.setup()
display(Markdown(experiment.note))
cfg

# %% [markdown]
# ## The problems
#
# Left of each pair: the state the human started from, $s_{-T}$; right: the state the robot observes, $s_0$.
# Orange squares are the agent; green the vase (red once broken), gold the goals, purple the carpet,
# blue the train on its grey track, lime the batteries; in Apples dark green trees carry an apple,
# brown ones do not, tan is the bucket.

# %%
images = {}
for name in cfg.problems:
    model = tabular_model(name)
    images[f"{name}: s_-T"] = render_rgb(model, model.problem.initial_state)
    images[f"{name}: s_0 (T={model.problem.horizon})"] = render_rgb(model, model.problem.observed_state)
fig = plots.image_grid(images, columns=4, title="Initial and observed states")
plots.save(fig, figures, "problems")
for name in cfg.problems:
    model = tabular_model(name)
    print(f"{name}: {model.n_states} states, {model.n_features} features — {model.problem.description}")
    print(model.problem.world.text(model.problem.observed_state), end="\n\n")

# %% [markdown]
# ## Deep RLSP's gradient estimator with exact models
#
# Simulating $T$ steps backward from $s_0$ with the exact inverse policy and dynamics, then forward
# with the current policy, estimates the RLSP gradient. With exact models it must agree with the
# analytic gradient (Lindner et al. report a cosine of about 1.000 with 2000 trajectories). The
# argument is exact for deterministic dynamics; Apples is stochastic, where replacing
# $\mathbb{E}[F_{t+1}(s') \mid s_t, a_t]$ by the sampled successor's value leaves a small bias.

# %%
cosines = ex.estimator_agreement(cfg.problems, n_trajectories=2000)
pd.Series(cosines, name="cosine(estimate, exact gradient)").to_frame()

# %% [markdown]
# ## Results table
#
# Every method on every problem. Seeded methods (RLSP's random $\theta_0$, MCMC, Deep RLSP) run with
# several seeds; a cell shows their aggregate and, below it, its band (the 95% bootstrap interval
# of the IQM from 5 seeds on, else the range of the seeds).

# %%
records = run_parallel(ex.run_method, ex.table_jobs(cfg), workers=cfg.workers, desc="table")
mean, interval = ex.summarize(records)
table = pd.DataFrame(mean).T.loc[cfg.problems, cfg.methods]
notes = table.copy().astype(object)
for p in cfg.problems:
    for m in cfg.methods:
        lo, hi = interval[p][m]
        notes.loc[p, m] = f"{mean[p][m]:.2f}" + (f"\n[{lo:.2f}, {hi:.2f}]" if hi - lo > 0.005 else "")
fig = plots.table_heatmap(table, notes, title=f"Fraction of max true reward; seeded methods: {label}")
plots.save(fig, figures, "results_table")
display(Markdown(table.round(3).to_markdown()))

# %% [markdown]
# ### Inferred reward weights
#
# $\theta$ inferred by RLSP (seed 0, known $s_{-T}$), added to the specified reward before planning.

# %%
weights = {r["problem"]: r["theta"] for r in records if r["method"] == "rlsp" and r["seed"] == 0}
names = {p: tabular_model(p).problem.world.feature_names for p in weights}
fig = plots.weight_bars(weights, names, title="RLSP's inferred reward weights θ")
plots.save(fig, figures, "inferred_weights")

# %% [markdown]
# ## Robustness to the assumed horizon $T$ (Sec. 5.4)
#
# RLSP with a uniform prior over $s_{-T}$ (the robot does not know where the human started),
# assuming the human acted for $T$ steps.

# %%
horizon = pd.DataFrame(run_parallel(ex.horizon_point, ex.horizon_jobs(cfg), workers=cfg.workers, desc="horizon sweep"))
fig = plots.line_sweep(horizon, x="horizon", y="fraction", hue="problem",
                       title="RLSP vs assumed horizon T (uniform prior over s_-T)")
plots.save(fig, figures, "horizon_sweep")
horizon.pivot(index="horizon", columns="problem", values="fraction").round(3)

# %% [markdown]
# ## Prior scale, additive vs bayesian combination (Appendix D)
#
# *Additive*: plan with $r_\text{spec} + \theta$, prior centred at 0. *Bayesian*: plan with $\theta$,
# prior centred at $r_\text{spec}$. Scored over $T$ steps, as in the original script.

# %%
stds = pd.DataFrame(run_parallel(ex.std_point, ex.std_jobs(cfg), workers=cfg.workers, desc="prior-scale sweep"))
fig = plots.line_sweep(stds, x="std", y="fraction", hue="combination", col="problem",
                       title="RLSP vs prior scale σ", ylim=(-0.05, 1.05))
plots.save(fig, figures, "std_sweep")
stds.pivot_table(index="std", columns=["problem", "combination"], values="fraction").round(3)

# %% [markdown]
# ## Metrics and verdict
#
# `data/results/gridworld_rlsp.json` holds every run and sweep point, what the scorecard (`report` stage)
# checks among them; `data/metrics/gridworld_rlsp.json` the verdict counts (`dvc metrics show`).

# %%
details = {
    "profile": profile,
    "fraction_of_max_true_reward": mean,
    "fraction_band": interval,
    "aggregate": label,
    "estimator_cosine": {"min_deterministic": min(c for p, c in cosines.items()
                                                  if tabular_model(p).deterministic), **cosines},
    "horizon_sweep": horizon.to_dict("records"),
    "std_sweep": stds.to_dict("records"),
    "runs": records,
}
analysis = ex.verdict_text(mean, cosines, cfg, label)
card = claims.write_experiment(details, experiment, analysis)
display(Markdown(card[["claim", "kind", "paper", "ours", "verdict"]].to_markdown(index=False)))

# %% [markdown]
# ### Analysis (computed from this run)

# %%
display(Markdown(analysis))

# %% [markdown]
# ### Deviations from the papers (from this run's configuration)

# %%
display(Markdown(pd.DataFrame(experiment.deviations()).to_markdown(index=False)))
