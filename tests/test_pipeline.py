"""The notebooks under papermill and the whole DVC pipeline, with the smoke profile."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import papermill as pm
import pytest

from rlrepro.rlsp.experiment import METHODS

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROBLEMS = ["room", "room_bad", "train", "apples", "batteries", "batteries_easy"]
BIN = pathlib.Path(sys.executable).parent  # dvc and papermill of this environment


def run_notebook(name, tmp_path, **parameters):
    return pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"),
                               str(tmp_path / f"{name}.ipynb"), parameters=parameters,
                               kernel_name="python3", cwd=str(ROOT / "notebooks"), progress_bar=False)


def test_gridworld_notebook_writes_metrics_and_figures(tmp_path):
    data_dir = str(tmp_path / "data")
    run_notebook("gridworld_rlsp", tmp_path, profile="smoke", data_dir=data_dir)
    metrics = json.loads((tmp_path / "data/metrics/gridworld_rlsp.json").read_text())
    table = metrics["fraction_of_max_true_reward"]
    assert sorted(table) == sorted(PROBLEMS)
    for problem in PROBLEMS:
        assert sorted(table[problem]) == sorted(METHODS)
        assert all(0.0 <= v <= 1.0 + 1e-9 for v in table[problem].values())
    assert metrics["estimator_cosine"]["min_deterministic"] > 0.99
    figures = {p.name for p in (tmp_path / "data/figures/gridworld_rlsp").iterdir()}
    assert {"problems.png", "results_table.png", "inferred_weights.png", "horizon_sweep.png",
            "std_sweep.png"} <= figures


def test_notebook_rejects_a_bad_parameter_before_any_work(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="'seeds': expected a value >= 1"):
        run_notebook("gridworld_rlsp", tmp_path, profile="smoke", overrides={"seeds": 0},
                     data_dir=str(tmp_path / "data"))
    assert not (tmp_path / "data").exists()


def copy_repository(destination):
    """The repository's sources, as a fresh clone would have them (no outputs, no cache)."""
    ignore = shutil.ignore_patterns(".git", ".venv", "data", "cache", "tmp", "__pycache__",
                                    "*.egg-info", ".pytest_cache")
    shutil.copytree(ROOT, destination, ignore=ignore)


def dvc(*args, cwd):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=True).stdout


def test_dvc_repro_runs_the_pipeline_end_to_end(tmp_path):
    repo = tmp_path / "repo"
    copy_repository(repo)
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("\nprofile: cpu\n", "\nprofile: smoke\n"))
    dvc("config", "--local", "core.no_scm", "true", cwd=repo)
    dvc("repro", cwd=repo)
    assert (repo / "data/figures/gridworld_rlsp/results_table.png").exists()
    assert json.loads((repo / "data/metrics/gridworld_rlsp.json").read_text())["profile"] == "smoke"
    scorecard = (repo / "data/report/scorecard.md").read_text()
    assert "RLSP avoids breaking the vase (Room)" in scorecard and "| reproduced |" in scorecard
    assert (repo / "data/report/scorecard.png").exists()
    again = dvc("repro", cwd=repo)
    assert "didn't change" in again and "Running stage" not in again
