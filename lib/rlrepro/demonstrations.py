"""Observed states and demonstrations: transitions cut from an expert's episodes, in one format.

Deep RLSP is given *observed states* (n states, each the outcome ``next_observations`` of a
uniformly drawn step of a fresh episode of the expert acting stochastically) and GAIL
*demonstrations* (one trajectory of n transitions of the deterministic expert from
``env.reset()``). Both are saved as ``.npz`` files of n transitions:

| array               | shape            | meaning                                          |
|---------------------|------------------|--------------------------------------------------|
| `observations`      | (n, obs_dim)     | s_t, as ``make_env(task)`` observes it (float32) |
| `actions`           | (n, act_dim)     | the expert's action in [-1, 1]                   |
| `next_observations` | (n, obs_dim)     | s_{t+1}                                          |
| `rewards`           | (n,)             | the task's reward for the step                   |
| `terminations`      | (n,)             | 1 where s_{t+1} is terminal                      |
| `task`              | ()               | the task's registered name                       |
| `kind`              | ()               | `observed_states` or `demonstration`             |

``load`` checks a file against the task it is meant for before any training starts, and says
what is wrong with a malformed or foreign one.
"""
from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

KINDS = ("observed_states", "demonstration")
# The MuJoCo tasks with an expert (the mujoco_experts stage trains them; later stages read its
# policies, data sets and scores at the paths below).
TASKS = ("inverted_pendulum", "cheetah_fw", "cheetah_bw", "hopper", "cheetah_balancing",
         "cheetah_jumping")


@dataclass(frozen=True)
class Transitions:
    """n transitions of one task (see the module's table)."""

    task: str
    kind: str
    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray

    def __len__(self):
        return len(self.observations)

    def save(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # np.savez would append .npz to a name without it
            np.savez(f, task=self.task, kind=self.kind, observations=self.observations,
                     actions=self.actions, next_observations=self.next_observations,
                     rewards=self.rewards, terminations=self.terminations)
        return path


def load(path, task: str, kind: str | None = None, n: int | None = None) -> Transitions:
    """The transitions in ``path``, checked against ``task``'s observation and action sizes (and
    ``kind`` and the count ``n`` if given); a ``ValueError`` naming the file and what was
    expected otherwise."""
    from rlrepro.envs import make_env

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (expected transitions of {task!r})")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as error:  # numpy raises several types for files that are not .npz
        raise ValueError(f"{path}: not a .npz file of transitions ({type(error).__name__}: "
                         f"{error})") from None
    fields = ("task", "kind", "observations", "actions", "next_observations", "rewards",
              "terminations")
    missing = [key for key in fields if key not in arrays]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing}; a transitions file holds {list(fields)}")
    found_task, found_kind = str(arrays["task"]), str(arrays["kind"])
    if found_task != task:
        raise ValueError(f"{path}: transitions of task {found_task!r}, expected {task!r}")
    if kind is not None and found_kind != kind:
        raise ValueError(f"{path}: {found_kind!r} transitions, expected {kind!r}")
    env = make_env(task)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    count = len(arrays["observations"])
    expected = {"observations": (count, obs_dim), "actions": (count, act_dim),
                "next_observations": (count, obs_dim), "rewards": (count,),
                "terminations": (count,)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ValueError(f"{path}: '{key}' has shape {arrays[key].shape}, expected {shape} "
                             f"({count} transitions of {task!r}: observations of {obs_dim}, "
                             f"actions of {act_dim})")
        if not np.all(np.isfinite(arrays[key])):
            raise ValueError(f"{path}: '{key}' holds non-finite values")
    if n is not None and count != n:
        raise ValueError(f"{path}: {count} transitions, expected {n}")
    return Transitions(found_task, found_kind, *(arrays[key].astype(np.float32)
                                                 for key in fields[2:]))


# --- what the mujoco_experts stage hands to later stages -------------------------------------

def expert_dir(data_dir, profile, task, seed) -> pathlib.Path:
    """The run folder of an expert (its ``policy.pt``)."""
    return pathlib.Path(data_dir) / "policies" / "mujoco_experts" / profile / task / f"seed{seed}"


def dataset_dir(data_dir, profile, task) -> pathlib.Path:
    return pathlib.Path(data_dir) / "datasets" / "mujoco_experts" / profile / task


def observed_states_file(data_dir, profile, task, n, draw) -> pathlib.Path:
    return dataset_dir(data_dir, profile, task) / f"observed_states_n{n}_draw{draw}.npz"


def demonstration_file(data_dir, profile, task, n, seed) -> pathlib.Path:
    return dataset_dir(data_dir, profile, task) / f"demonstration_n{n}_seed{seed}.npz"


def expert_scores(data_dir, tasks=()) -> dict:
    """The experts stage's expert and random returns (``data/results/mujoco_experts.json``),
    which must include every one of ``tasks``."""
    path = pathlib.Path(data_dir) / "results" / "mujoco_experts.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run the mujoco_experts stage first "
                                f"(dvc repro mujoco_experts)")
    metrics = json.loads(path.read_text())
    missing = [t for t in tasks if t not in metrics["expert_return"]]
    if missing:
        raise ValueError(f"tasks: no expert of {missing} in {path}; add them to the "
                         f"mujoco_experts stage's tasks")
    return {key: metrics[key] for key in ("expert_return", "random_return")}


class TransitionRecorder(gym.Wrapper):
    """Keeps every transition of the episodes played through it."""

    def __init__(self, env):
        super().__init__(env)
        self.rows = []

    def reset(self, **kwargs):
        self.obs, info = self.env.reset(**kwargs)
        return self.obs, info

    def step(self, action):
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        self.rows.append((self.obs, np.asarray(action, np.float32), next_obs, reward, terminated))
        self.obs = next_obs
        return next_obs, reward, terminated, truncated, info


def transitions(task: str, kind: str, rows: list) -> Transitions:
    obs, actions, next_obs, rewards, terminated = (np.asarray(column) for column in zip(*rows))
    return Transitions(task, kind, obs.astype(np.float32), actions.astype(np.float32),
                       next_obs.astype(np.float32), rewards.astype(np.float32),
                       terminated.astype(np.float32))
