"""Run folders (``rlrepro.runs``): code fingerprints that see code but not prose, finished runs
reused only when their fingerprint matches, checkpoints written atomically, and errors that
name the file and a fix that works."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from rlrepro import runs
from rlrepro.agents.training import load_policy, train
from rlrepro.runs import CHECKPOINT, POLICY, RESULT, CheckpointError, RunFolder

from helpers import small_run

LIB = pathlib.Path(runs.__file__).parent
# The modules each kind of cached artifact is computed by.
ARTIFACTS = {"off-policy run": ["rlrepro.agents.training"],
             "GAIL run": ["rlrepro.imitation.gail"],
             "latent world model": ["rlrepro.latent.warmup"],
             "latent agent run": ["rlrepro.latent.training"],
             "skill models": ["rlrepro.models.skill_prior", "rlrepro.skills.dpmm",
                              "rlrepro.skills.data"]}


def fingerprints(package: pathlib.Path) -> dict:
    """The code fingerprint of every artifact, computed by the package copy in ``package``."""
    script = ("import json, sys; from rlrepro import runs; print(json.dumps({k: "
              "runs.code_fingerprint(*m) for k, m in json.loads(sys.argv[1]).items()}))")
    out = subprocess.run([sys.executable, "-c", script, json.dumps(ARTIFACTS)],
                         capture_output=True, text=True, check=True, cwd=package.parent,
                         env={**os.environ, "PYTHONPATH": str(package.parent)})
    return json.loads(out.stdout)


@pytest.fixture
def package(tmp_path) -> pathlib.Path:
    """A copy of the rlrepro package to edit."""
    return pathlib.Path(shutil.copytree(LIB, tmp_path / "rlrepro",
                                        ignore=shutil.ignore_patterns("__pycache__")))


def edit(path: pathlib.Path, old: str, new: str):
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_docstrings_comments_and_formatting_do_not_change_a_fingerprint(package):
    before = fingerprints(package)
    mlp = package / "models" / "mlp.py"
    edit(mlp, '"""The one MLP builder of the package', '"""The only MLP builder in the package')
    edit(mlp, "first critic alone): then", "first critic only): then")
    edit(mlp, "# nn.Linear's default initialisation", "# as nn.Linear initialises")
    edit(mlp, "    layers = []\n", "    # one Linear per pair of sizes\n    layers = [\n    ]\n")
    assert fingerprints(package) == before


def test_a_changed_line_of_code_changes_every_fingerprint_that_imports_it(package):
    before = fingerprints(package)
    edit(package / "models" / "mlp.py", "bound = 1.0 / math.sqrt(n_in)",
         "bound = 2.0 / math.sqrt(n_in)")
    after = fingerprints(package)
    assert all(after[k] != before[k] for k in ARTIFACTS), (before, after)


def test_a_lazy_import_inside_a_function_is_followed():
    # rlrepro.envs imports its task modules in __getattr__, on first use.
    closure = runs._closure("rlrepro.agents.training")
    assert {"rlrepro.envs.mujoco", "rlrepro.envs.pixels", "rlrepro.models.mlp"} <= closure
    assert not any(name.startswith("rlrepro.experiments") for name in closure)


def test_a_finished_run_is_reused_only_with_its_configuration_and_code(tmp_path):
    config = {"lr": 0.1, "seed": 0}
    run = RunFolder(tmp_path, config, ["rlrepro.models.mlp"])
    assert run.result() is None
    result = run.finish({"final_return": 1.0}, **{POLICY: {"weights": torch.ones(2)}})
    assert RunFolder(tmp_path, dict(config), ["rlrepro.models.mlp"]).result() == result
    assert RunFolder(tmp_path, {**config, "lr": 0.2}, ["rlrepro.models.mlp"]).result() is None
    assert RunFolder(tmp_path, config, ["rlrepro.models.rssm"]).result() is None


def test_a_checkpoint_is_replaced_atomically(tmp_path, monkeypatch):
    run = RunFolder(tmp_path, {"seed": 0}, ["rlrepro.models.mlp"])
    runs.save_checkpoints([run], [{"step": 1}], step=1)

    def killed_while_writing(state, path):
        pathlib.Path(path).write_bytes(b"half a checkp")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        runs.save_checkpoints([run], [{"step": 2}], step=2)
    assert run.checkpoint()["step"] == 1


def test_stop_at_ends_at_the_first_checkpoint_at_or_after_it(tmp_path):
    run = RunFolder(tmp_path, {"seed": 0}, ["rlrepro.models.mlp"])
    assert not runs.save_checkpoints([run], [{}], step=100, stop_at=150)
    assert runs.save_checkpoints([run], [{}], step=200, stop_at=150)
    assert not runs.save_checkpoints([run], [{}], step=200)


def test_a_corrupt_checkpoint_names_the_file_and_deleting_it_restarts_the_run(tmp_path):
    agent, config = small_run("ddpg", steps=300)
    expected = train(tmp_path / "uninterrupted", agent, config, progress=False)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / CHECKPOINT).write_bytes(b"not a checkpoint")
    message = re.escape(f"{folder / CHECKPOINT}: not a readable checkpoint")
    with pytest.raises(CheckpointError, match=message + ".*delete it to start this run again"):
        train(folder, agent, config, progress=False)
    (folder / CHECKPOINT).unlink()
    assert train(folder, agent, config, progress=False)["curve"] == expected["curve"]


def test_an_unreadable_policy_of_a_finished_run_says_to_delete_the_run_folder(tmp_path):
    agent, config = small_run("ddpg", steps=300)
    train(tmp_path / "run", agent, config, progress=False)
    (tmp_path / "run" / POLICY).write_bytes(b"truncated")
    fix = f"delete the run folder {tmp_path / 'run'} to train this run again"
    with pytest.raises(CheckpointError, match=re.escape(fix)):
        load_policy(tmp_path / "run")
    assert (tmp_path / "run" / RESULT).exists()
    shutil.rmtree(tmp_path / "run")
    train(tmp_path / "run", agent, config, progress=False)
    load_policy(tmp_path / "run")


def test_no_module_keeps_a_list_of_source_files():
    for path in LIB.rglob("*.py"):
        assert not re.search(r"^[A-Z_]*SOURCES\s*=", path.read_text(), re.M), path


def test_a_finished_runs_damaged_file_is_named_with_a_fix_that_works(tmp_path):
    """A trained file truncated after the run finished is not used: the error names it and
    says to delete the run folder, after which the run trains again."""
    run = runs.RunFolder(tmp_path / "run", {"seed": 0}, [])
    run.finish({"return": 1.0}, **{runs.POLICY: {"weights": torch.ones(3)}})
    assert run.result()["return"] == 1.0
    policy = run.path / runs.POLICY
    policy.write_bytes(policy.read_bytes()[:40])
    with pytest.raises(runs.CheckpointError, match=f"{policy}: not the file that was written.*"
                                                   f"delete the run folder {run.path}"):
        run.result()
    policy.unlink()
    with pytest.raises(runs.CheckpointError, match="missing"):
        run.result()
    shutil.rmtree(run.path)  # the fix the message gives
    assert run.result() is None


def test_a_damaged_cache_is_made_again_with_a_warning(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.arange(3))
    assert runs.read_cache(path, runs.read_npz)["x"].tolist() == [0, 1, 2]
    path.write_bytes(path.read_bytes()[:30])
    with pytest.warns(UserWarning, match=f"{path}: unreadable .*making it again"):
        assert runs.read_cache(path, runs.read_npz) is None
    assert runs.read_cache(tmp_path / "missing.npz", runs.read_npz) is None
