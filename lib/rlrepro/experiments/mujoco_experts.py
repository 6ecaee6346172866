"""SAC experts on the MuJoCo tasks of Deep RLSP (Lindner et al. 2021), and the data cut from them.

Three later experiments stand on these experts: Deep RLSP on MuJoCo is given *observed states*
of the expert's world, GAIL *demonstrations* of it, and the robustness study its tasks. Every
expert trains in its own folder (resumable, reused when unchanged, like every run of
``rlrepro.agents.training``); tasks that share their observation and action spaces (the
cheetah's four) can train as members of one agent in one process (``group_tasks``).

Cut from each task's first expert (seed 0), in the format of ``rlrepro.demonstrations``:

- observed states: for each draw and each size n, n fresh episodes of the expert acting
  stochastically, the observation after one uniformly drawn step of each (the original's
  ``sample_obs_from_trajectory`` of a stochastic ``get_trajectory``); every set has its own
  episodes, so the sets of one draw are independent;
- demonstrations: one deterministic expert trajectory from ``env.reset()`` per demonstration
  seed, its first n transitions for each length n (continued from a new reset if the episode
  ends first, which only a failing expert's does).
"""
from __future__ import annotations

import dataclasses
import pathlib
import shutil
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rlrepro.agents.algorithms import AgentConfig
from rlrepro.agents.training import (TRAIN_PER_RUN, TrainConfig, finished_result, load_policy,
                                     train_seeds)
from rlrepro.demonstrations import (TASKS, TransitionRecorder, dataset_dir, demonstration_file,
                                    expert_dir, observed_states_file, transitions)
from rlrepro.envs import make_env, spaces
from rlrepro.evaluation.rollouts import UniformPolicy, episode_seed, play, run_episodes
from rlrepro.params import for_task, param, task_settings_problems
from rlrepro.runner import Launcher, run_parallel

# Seed offsets of the episodes the data are cut from: never an evaluation's or a training's.
OBSERVED_STATES_OFFSET, DEMONSTRATION_OFFSET, SCORE_OFFSET = 2 * 10**6, 3 * 10**6, 4 * 10**6


# The stage's data (rlrepro.pipeline): folders data/<kind>/<name> that persist across runs,
# folders rewritten each run, and the outputs of other stages it reads.
CACHES = ("policies",)
CURVES = {"learning_curves": "test return"}  # figures with their points, for `dvc plots show`
OUTPUTS = ("datasets",)


@dataclass(frozen=True, kw_only=True)
class Config:
    """Parameters of ``notebooks/mujoco_experts.ipynb`` (section ``mujoco_experts``);
    ``task_settings`` gives a task its own values of any key (the original's per-task
    rl-baselines-zoo settings)."""

    tasks: list[str] = param("tasks to train an expert on (rlrepro.envs.mujoco)", choices=TASKS)
    seeds: int = param("experts per task; the data are cut from seed 0's", min=1)
    workers: int = param("processes training at once, or jobs of the Slurm array", min=1,
                         max=64, operational=True)
    group_tasks: bool = param("train the tasks with the same observation and action spaces and "
                              "settings (the cheetah's) as members of one agent in one process",
                              operational=True)
    train: TrainConfig = param("how each expert trains: steps, warm-up, evaluations, "
                               "checkpoints (its defaults: rlrepro.agents.training.TrainConfig)",
                               default=TrainConfig(), per_run=TRAIN_PER_RUN)
    sac: AgentConfig = param("the SAC of every expert (paper: rl-baselines-zoo's)",
                             default=AgentConfig())
    task_settings: dict[str, dict] = param(
        "task -> the keys above it sets for itself (a nested one key by key), e.g. the "
        "original's fixed temperature on Hopper", choices=TASKS, may_be_empty=True)
    final_episodes: int = param("deterministic episodes scoring each expert and the random "
                                "policy (>= 20 for a 95% interval worth the name)", min=1)
    observed_states: list[int] = param("sizes n of Deep RLSP's observed-state sets (paper: 1, "
                                       "10, 50)", min=1)
    state_draws: int = param("independent draws of every observed-state set", min=1)
    demonstration_lengths: list[int] = param("transitions in GAIL's demonstrations (paper: 1, "
                                             "10, 50)", min=1)
    demonstration_seeds: int = param("demonstrations per length (paper: 3)", min=1)
    gif_steps: int = param("steps of each expert's GIF", min=1, operational=True)
    launcher: Launcher = param("where the runs train: this machine's processes or Slurm jobs "
                               "(rlrepro.runner.Launcher)", default=Launcher(), operational=True)

    def check(self):
        errors = task_settings_problems(self)
        if not errors:
            errors += [f"'train.total_steps' of {task}: eval_every ({t.eval_every}) must divide "
                       f"the budget ({t.total_steps}) so that the curve ends at the expert"
                       for task, t in ((t, for_task(self, t).train) for t in self.tasks)
                       if t.total_steps % t.eval_every]
        return errors


def train_config(cfg: Config, task: str) -> TrainConfig:
    return dataclasses.replace(for_task(cfg, task).train, env=task)


def jobs(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """One job per seed and group of tasks trained together (one task each without
    ``group_tasks``: tasks of one observation and action space and the same settings), the
    longest first."""
    groups = {}
    for task in cfg.tasks:
        same = (spaces(task), for_task(cfg, task).sac,
                dataclasses.replace(train_config(cfg, task), env=""))
        key = same if cfg.group_tasks else task
        groups.setdefault(key, []).append(task)
    todo = [dict(tasks=tasks, seed=seed, cfg=cfg,
                 folders=[str(expert_dir(data_dir, profile, t, seed)) for t in tasks])
            for tasks in groups.values() for seed in range(cfg.seeds)]
    return sorted(todo, key=lambda job: -for_task(cfg, job["tasks"][0]).train.total_steps * len(job["tasks"]))


def run(tasks, seed, folders, cfg, report=None) -> list[dict]:
    """Train (or load) the experts of one job; each one's learning curve."""
    results = train_seeds(folders, for_task(cfg, tasks[0]).sac, train_config(cfg, tasks[0]),
                          [seed] * len(tasks), progress=False, report=report, envs=tasks)
    return [{"task": task, "seed": seed, "steps": [c["step"] for c in result["curve"]],
             "returns": [c["return"] for c in result["curve"]], "seconds": result["seconds"],
             "seeds_in_process": result["seeds_in_process"], "policy_step": result["policy_step"]}
            for task, result in zip(tasks, results)]


def finished(job) -> bool:
    cfg = job["cfg"]
    return all(finished_result(folder, for_task(cfg, task).sac, train_config(cfg, task),
                               job["seed"])
               is not None for task, folder in zip(job["tasks"], job["folders"]))


def train_all(cfg: Config, profile: str, data_dir="data") -> list[dict]:
    """Every expert's learning curve, training what is not trained yet."""
    todo = jobs(cfg, profile, data_dir)
    total = sum(for_task(cfg, job["tasks"][0]).train.total_steps * len(job["tasks"]) for job in todo)
    results = run_parallel(run, todo, workers=cfg.workers, launcher=cfg.launcher,
                           desc="training experts", total=total, unit="step", finished=finished,
                           name=lambda j: f"{', '.join(j['tasks'])}, seed {j['seed']}")
    return [row for rows in results for row in rows]


def score(cfg: Config, profile: str, task: str, data_dir="data",
          seed: int = 0) -> dict:
    """The expert's and the uniformly random policy's episodes (``final_episodes`` each, the
    same environment seeds)."""
    seeds = [episode_seed(seed, SCORE_OFFSET + k) for k in range(cfg.final_episodes)]
    expert, _ = load_policy(expert_dir(data_dir, profile, task, seed), copies=len(seeds))
    act_dim = spaces(task)[1][0]
    return {"expert": play(expert, task, seeds), "random": play(UniformPolicy(act_dim, seed),
                                                                  task, seeds)}


def cut_data(cfg: Config, profile: str, task: str, data_dir="data") -> list:
    """Write the task's observed-state sets and demonstrations (see the module's docstring),
    cut from its expert of seed 0, in place of any the task had; the files written."""
    shutil.rmtree(dataset_dir(data_dir, profile, task), ignore_errors=True)  # no stale sizes
    written = []
    for draw in range(cfg.state_draws):
        first = 0  # the episodes of the sets so far: each set plays its own
        for n in cfg.observed_states:
            seeds = [episode_seed(draw, OBSERVED_STATES_OFFSET + first + k) for k in range(n)]
            first += n
            expert, _ = load_policy(expert_dir(data_dir, profile, task, 0), copies=n)
            envs = [TransitionRecorder(make_env(task)) for _ in seeds]
            run_episodes(expert, envs, seeds, deterministic=False)
            rng = np.random.default_rng([draw, OBSERVED_STATES_OFFSET, n])
            drawn = [env.rows[rng.integers(len(env.rows))] for env in envs]
            path = observed_states_file(data_dir, profile, task, n, draw)
            written.append(transitions(task, "observed_states", drawn).save(path))
    longest = max(cfg.demonstration_lengths)
    for seed in range(cfg.demonstration_seeds):
        expert, _ = load_policy(expert_dir(data_dir, profile, task, 0))
        env = TransitionRecorder(gym.wrappers.TimeLimit(make_env(task), longest))
        episode = 0
        while len(env.rows) < longest:  # a failing expert's episode may end first
            run_episodes(expert, [env], [episode_seed(seed, DEMONSTRATION_OFFSET + episode)])
            episode += 1
        for n in cfg.demonstration_lengths:
            path = demonstration_file(data_dir, profile, task, n, seed)
            written.append(transitions(task, "demonstration", env.rows[:n]).save(path))
    return written


def reference_scores(path) -> dict:
    """``{task: [(steps, return, label), ...]}``: published SAC scores from the
    ``reference_scores`` list of ``references/mujoco_experts.yaml``."""
    import yaml

    scores = {}
    for row in yaml.safe_load(pathlib.Path(path).read_text()).get("reference_scores", []):
        scores.setdefault(row["task"], []).append((row["steps"], row["return"], row["label"]))
    return scores


EPISODE_STEPS = 1000  # every task's time limit


def verdict_text(metrics: dict, cfg: Config) -> str:
    """The notebook's analysis, written from this run's numbers (Markdown)."""
    returns, random = metrics["expert_return"], metrics["random_return"]
    velocity, lengths = metrics["mean_forward_velocity"], metrics["expert_episode_length"]
    lines = []
    for task in cfg.tasks:
        line = (f"- **{task}**: expert {returns[task]:.0f} against random {random[task]:.0f} over "
                f"{cfg.final_episodes} episodes")
        if task == "inverted_pendulum":
            line += (", balancing the whole episode." if returns[task] >= EPISODE_STEPS else
                     f": it drops the pole (a balanced episode returns {EPISODE_STEPS}).")
        elif task in ("cheetah_fw", "cheetah_bw"):
            wanted = 1 if task == "cheetah_fw" else -1
            direction = "forward" if velocity[task] > 0 else "backward"
            ok = np.sign(velocity[task]) == wanted and returns[task] >= 2000
            line += (f"; it runs {direction} at {abs(velocity[task]):.1f} m/s: "
                     f"{'a usable expert' if ok else 'short of the bar (>= 2000 the right way)'}.")
        elif task == "hopper":
            fraction = lengths[task] / EPISODE_STEPS
            line += (f"; it stays up for {fraction:.0%} of an episode on average, moving at "
                     f"{velocity[task]:.1f} m/s: "
                     f"{'it hops' if fraction > 0.5 and velocity[task] > 0 else 'it falls early'}.")
        else:
            line += (f" in its skill reward (forward velocity {velocity[task]:.1f} m/s); whether "
                     f"it is recognisably the skill is for the GIF to show.")
        lines.append(line)
    if cfg.seeds < 5:
        lines.append(f"Learning curves aggregate {cfg.seeds} seed(s): the mean and the range of "
                     "the seeds, not an interval.")
    return "\n".join(lines)
