"""Fixtures shared by the tests that run the whole DVC pipeline, and their order.

The smoke `dvc repro` takes minutes, so a session runs it once (`smoke_repro`), shared by every
pytest-xdist worker: the pipeline test, the remote round trip (test_remote.py) and every notebook
test (`pipeline_data`) work on its outputs. With `make test` (`-n auto --dist loadgroup`) the two
tests that act in the repository itself come first and share one worker, which builds it while
the other workers take the remaining tests; the notebook tests come last, on every worker, each
waiting for the build if it is not done yet.
"""
import inspect
import os
import re

import pytest
from filelock import FileLock

from helpers import Shell, copy_repository

PIPELINE_FIXTURES = {"smoke_repro", "pipeline_data"}
IN_THE_REPOSITORY = "smoke_repro"  # tests that commit, push or re-run in the shared repository


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group marks
def pytest_collection_modifyitems(items):
    """Mark ``pipeline`` every test that executes a notebook or the DVC pipeline (it uses a
    fixture above or calls ``run_notebook`` / ``run_stage``), so ``make test-fast`` (``-m "not
    pipeline"``) runs the rest in minutes (tests that train for minutes carry the mark
    themselves); then order them: the tests in the repository, the others, the notebook tests."""
    def order(item):
        fixtures = set(getattr(item, "fixturenames", ()))
        return 0 if IN_THE_REPOSITORY in fixtures else 2 if fixtures & PIPELINE_FIXTURES else 1

    for item in items:
        source = inspect.getsource(item.function) if hasattr(item, "function") else ""
        if (PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ()))
                or re.search(r"\brun_(notebook|stage)\(", source)):
            item.add_marker(pytest.mark.pipeline)
        if order(item) == 0:
            item.add_marker(pytest.mark.xdist_group(IN_THE_REPOSITORY))
    items.sort(key=order)


@pytest.fixture(scope="session")
def shell(tmp_path_factory):
    return Shell(tmp_path_factory.mktemp("shell"))


@pytest.fixture(scope="session")
def smoke_repro(shell, tmp_path_factory):
    """A git repository of the current sources on the smoke profile, after one `dvc repro`,
    built by the first worker that asks for it (the others wait) in the folder they share.

    Tests may commit in it, configure it locally and push from it, but must not change its
    sources or outputs: the other tests of the session see the same repository.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    repo, built = shared / "smoke_repro" / "repo", shared / "smoke_repro" / "built"
    with FileLock(shared / "smoke_repro.lock"):
        if not built.exists():
            copy_repository(repo)
            params = repo / "params.yaml"
            text = params.read_text().replace("\nprofile: cpu\n", "\nprofile: smoke\n")
            assert "\nprofile: smoke\n" in text, "params.yaml: no top-level `profile:` line"
            params.write_text(text)
            shell.git("init", "-q", "-b", "main", cwd=repo)
            shell.git("add", "-A", cwd=repo)
            shell.git("commit", "-q", "-m", "sources", cwd=repo)
            shell.dvc("repro", cwd=repo)
            built.touch()
    return repo


@pytest.fixture(scope="session")
def pipeline_data(smoke_repro):
    """The outputs of the smoke `dvc repro` (every stage's runs, data, figures and metrics): a
    notebook test checks its stage's outputs there and re-runs the notebook on a copy
    (``helpers.copy_of``), which must find every run cached. The pipeline runs once for all."""
    return smoke_repro / "data"
