"""Fixtures shared by the tests that run the whole DVC pipeline.

The smoke `dvc repro` takes minutes, so one session runs it once (`smoke_repro`): the pipeline
test, the remote round trip (test_remote.py) and every notebook test (`pipeline_data`) work on
its outputs.
"""
import inspect
import re

import pytest

from helpers import Shell, copy_repository

PIPELINE_FIXTURES = {"smoke_repro", "pipeline_data"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group marks
def pytest_collection_modifyitems(items):
    """Mark ``pipeline`` every test that executes a notebook or the DVC pipeline (it uses a
    fixture above or calls ``run_notebook`` / ``run_stage``), so ``make test-fast`` (``-m "not
    pipeline"``) runs the rest in minutes. Tests that train for minutes carry the mark
    themselves.

    The tests on the smoke pipeline's outputs form one group that one worker runs
    (``pytest -n 2 --dist loadgroup``, as ``make test`` does): the pipeline runs once, on that
    worker, while the others take the remaining tests."""
    for item in items:
        source = inspect.getsource(item.function) if hasattr(item, "function") else ""
        on_pipeline = bool(PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())))
        if on_pipeline or re.search(r"\brun_(notebook|stage)\(", source):
            item.add_marker(pytest.mark.pipeline)
        if on_pipeline:
            item.add_marker(pytest.mark.xdist_group("smoke_repro"))


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
def pipeline_data(smoke_repro):
    """The outputs of the smoke `dvc repro` (every stage's runs, data, figures and metrics): a
    notebook test checks its stage's outputs there and re-runs the notebook on a copy
    (``helpers.copy_of``), which must find every run cached. The pipeline runs once for all."""
    return smoke_repro / "data"
