"""Fixtures shared by the tests that run the whole DVC pipeline.

The smoke `dvc repro` takes minutes, so one session runs it once (`smoke_repro`) and both the
pipeline test and the remote round trip (test_remote.py) work on that repository.
"""
import pytest

from helpers import Shell, copy_repository, run_notebook


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
    tmp = tmp_path_factory.mktemp("experts")
    run_notebook("mujoco_experts", tmp, profile="smoke", data_dir=str(tmp / "data"))
    return tmp / "data"
