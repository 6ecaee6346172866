"""Helpers the tests share (the fixtures are in conftest.py): running a notebook as its stage
does, a copy of the repository as a fresh clone has it, dvc and git kept off the user's setup,
and a small off-policy run on a point mass."""
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

import gymnasium as gym
import jupytext
import numpy as np
import papermill as pm
import pytest

from rlrepro.agents.algorithms import AgentConfig
from rlrepro.agents.training import TrainConfig

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent  # dvc and papermill of this environment


def copy_repository(destination):
    """The repository's sources, as a fresh clone would have them (no outputs, no cache, no
    machine-local DVC config such as a developer's remote)."""
    ignore = shutil.ignore_patterns(".git", ".venv", "data", "cache", "tmp", "config.local",
                                    "__pycache__", "*.egg-info", ".pytest_cache", "site",
                                    "dvc_plots", ".cpu-run")
    shutil.copytree(ROOT, destination, ignore=ignore)


class Shell:
    """dvc and git of this environment, kept off the user's config, caches and the network.

    GIT_* variables inherited from a hook (GIT_DIR, GIT_INDEX_FILE) would point git at the real
    checkout, and a user's global DVC config could add a remote or a shared cache: both are dropped.
    """

    def __init__(self, home):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
        env.update(
            PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
            DVC_NO_ANALYTICS="1",
            DVC_SITE_CACHE_DIR=str(home / "dvc_site_cache"),
            DVC_GLOBAL_CONFIG_DIR=str(home / "dvc_global_config"),
            DVC_SYSTEM_CONFIG_DIR=str(home / "dvc_system_config"),
            GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="rlrepro tests", GIT_AUTHOR_EMAIL="tests@rlrepro.invalid",
            GIT_COMMITTER_NAME="rlrepro tests", GIT_COMMITTER_EMAIL="tests@rlrepro.invalid",
        )
        self.env = env

    def run(self, *command, cwd):
        done = subprocess.run([str(c) for c in command], cwd=cwd, env=self.env, check=False,
                              capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"`{' '.join(map(str, command))}` in {cwd} exited {done.returncode}\n"
                        f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
        return done.stdout

    def dvc(self, *args, cwd):
        return self.run(BIN / "dvc", *args, cwd=cwd)

    def git(self, *args, cwd):
        return self.run("git", *args, cwd=cwd)


def run_notebook(name, tmp_path, **parameters):
    """Execute the notebook's tracked source (notebooks/<name>.py) as the DVC stage does."""
    source = tmp_path / f"{name}.source.ipynb"
    jupytext.write(jupytext.read(ROOT / "notebooks" / f"{name}.py"), source)
    return pm.execute_notebook(str(source), str(tmp_path / f"{name}.ipynb"), parameters=parameters,
                               kernel_name="python3", language="python",
                               cwd=str(ROOT / "notebooks"), progress_bar=False)


def file_stamps(*folders) -> dict:
    """Every file under ``folders`` with its modification time: equal before and after a step
    that must not write there."""
    return {p: p.stat().st_mtime_ns for folder in folders for p in pathlib.Path(folder).rglob("*")
            if p.is_file()}


def stage_outputs(data, name) -> dict:
    """The sha256 of every file a stage writes but its executed notebook (which holds cell
    timings): figures and GIFs, metrics, results. The same seed on the same machine must give
    the same bytes, or a notebook re-run would leave `dvc status` dirty."""
    data = pathlib.Path(data)
    files = [*sorted((data / "figures" / name).rglob("*")), data / "metrics" / f"{name}.json",
             data / "results" / f"{name}.json"]
    return {f.relative_to(data).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in files if f.is_file()}


def copy_of(pipeline_data, tmp_path):
    """A test's own copy of the smoke pipeline's outputs (conftest.pipeline_data)."""
    data = tmp_path / "data"
    shutil.copytree(pipeline_data, data)
    return data


class PointMass(gym.Env):
    """Push a unit mass to the origin and hold it there; only the position is observed."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.v = self.np_random.uniform(-1, 1), 0.0
        return np.array([self.x], dtype=np.float32), {}

    def step(self, action):
        self.v = 0.8 * self.v + 0.2 * float(action[0])
        self.x += self.v
        return np.array([self.x], dtype=np.float32), -abs(self.x), False, False, {}


gym.register("rlrepro-test/PointMass-v0", entry_point=PointMass, max_episode_steps=25)
TASK = "rlrepro-test/PointMass-v0"
# On the CPU even with CUDA present: the tests that compare runs bit for bit test a CPU property
# (a GPU's kernels round differently, and some are not deterministic: README).
SMALL = dict(hidden=(32, 32), summary_size=32, summary_layers=1, lr=3e-3,
             transitions_per_batch=64, sequences_per_batch=8, feature_dim=16,
             encoder_hidden=(32,), ssl_hidden=(32, 32), device="cpu")


def small_run(algorithm, steps=1500, **train_kwargs):
    """An agent and training configuration that learn the point mass in seconds."""
    agent = AgentConfig(algorithm=algorithm, **SMALL)
    run = TrainConfig(env=TASK, total_steps=steps, **({"random_steps": 250, "eval_every": 250,
                      "eval_episodes": 5, "checkpoint_every": 250} | train_kwargs))
    return agent, run
