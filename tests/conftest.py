"""Fixtures shared by the tests that run the whole DVC pipeline.

The smoke `dvc repro` takes minutes, so one session runs it once (`smoke_repro`) and both the
pipeline test and the remote round trip (test_remote.py) work on that repository.
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent  # dvc and papermill of this environment


def copy_repository(destination):
    """The repository's sources, as a fresh clone would have them (no outputs, no cache, no
    machine-local DVC config such as a developer's remote)."""
    ignore = shutil.ignore_patterns(".git", ".venv", "data", "cache", "tmp", "config.local",
                                    "__pycache__", "*.egg-info", ".pytest_cache")
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


@pytest.fixture(scope="session")
def shell(tmp_path_factory):
    return Shell(tmp_path_factory.mktemp("shell"))


@pytest.fixture(scope="session")
def smoke_repro(shell, tmp_path_factory):
    """A git repository of the current sources on the smoke profile, after one `dvc repro`.

    Tests may commit in it, configure it locally and push from it, but must not change its
    sources or outputs: the other tests of the session see the same repository.
    """
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    copy_repository(repo)
    params = repo / "params.yaml"
    text = params.read_text().replace("\nprofile: cpu\n", "\nprofile: smoke\n")
    assert "\nprofile: smoke\n" in text, "params.yaml: no top-level `profile:` line to switch"
    params.write_text(text)
    shell.git("init", "-q", "-b", "main", cwd=repo)
    shell.git("add", "-A", cwd=repo)
    shell.git("commit", "-q", "-m", "sources", cwd=repo)
    shell.dvc("repro", cwd=repo)
    return repo


@pytest.fixture(scope="session")
def experts_data(tmp_path_factory):
    """The experts stage's smoke outputs (experts, observed states, demonstrations), made once
    for the session: the Deep RLSP and GAIL notebooks start from them."""
    from test_pipeline import run_notebook

    tmp = tmp_path_factory.mktemp("experts")
    run_notebook("mujoco_experts", tmp, profile="smoke", data_dir=str(tmp / "data"))
    return tmp / "data"


def copy_of(experts_data, tmp_path):
    """A test's own copy of the experts' outputs."""
    data = tmp_path / "data"
    shutil.copytree(experts_data, data)
    return data
