"""The notebooks under papermill and the whole DVC pipeline, with the smoke profile."""
import hashlib
import json
import math
import re
import shutil
import subprocess

import papermill as pm
import pytest

from rlrepro import claims
from rlrepro.experiments.gridworld_rlsp import METHODS

from helpers import BIN, ROOT, copy_of, run_notebook

REFERENCES = ROOT / "references"

PROBLEMS = ["room", "room_bad", "train", "apples", "batteries", "batteries_easy"]


def test_gridworld_notebook_writes_metrics_and_figures(pipeline_data):
    results = json.loads((pipeline_data / "results/gridworld_rlsp.json").read_text())
    table = results["fraction_of_max_true_reward"]
    assert sorted(table) == sorted(PROBLEMS)
    for problem in PROBLEMS:
        assert sorted(table[problem]) == sorted(METHODS)
        assert all(0.0 <= v <= 1.0 + 1e-9 for v in table[problem].values())
    assert results["estimator_cosine"]["min_deterministic"] > 0.99
    metrics = json.loads((pipeline_data / "metrics/gridworld_rlsp.json").read_text())
    verdicts = [r["verdict"] for r in claims.claim_rows("gridworld_rlsp", results, REFERENCES)]
    assert metrics == {"profile": "smoke", "claims": len(verdicts),
                       "reproduced": verdicts.count("reproduced")}, \
        "the metrics file keeps only the verdict counts, under names every experiment shares"
    figures = {p.name for p in (pipeline_data / "figures/gridworld_rlsp").iterdir()}
    assert {"problems.png", "results_table.png", "inferred_weights.png", "horizon_sweep.png",
            "std_sweep.png"} <= figures


def test_notebook_rejects_a_bad_parameter_before_any_work(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="'seeds': expected a value >= 1"):
        run_notebook("gridworld_rlsp", tmp_path, profile="smoke", overrides={"seeds": 0},
                     data_dir=str(tmp_path / "data"))
    assert not (tmp_path / "data").exists()


def test_recurrent_notebook_trains_each_run_once_and_writes_metrics(pipeline_data, tmp_path):
    data_dir = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    results = json.loads((data_dir / "results/recurrent_offpolicy.json").read_text())
    methods = {"sac_full", "sac", "sac_concat", "rsac"}
    assert set(results["final_return"]["pendulum_p"]) == methods
    reference = results["normalised"]["pendulum_p"]["sac_full"]["point"]
    assert reference == pytest.approx(1.0) or math.isnan(reference)  # NaN: no better than random
    assert set(results["claims"]) >= {"rsac_normalised_min", "recurrent_margin_min",
                                      "memoryless_normalised_max", "concat_normalised_min"}
    figures = {p.name for p in (data_dir / "figures/recurrent_offpolicy").iterdir()}
    assert {"learning_curves.png", "final_table.png", "seeds.png", "pendulum_p_rsac.gif"} <= figures
    runs = data_dir / "policies/recurrent_offpolicy/smoke"  # <task>/<method>/seed<k>
    stamps = {p: p.stat().st_mtime_ns for p in runs.glob("*/*/seed*/result.json")}
    assert len(stamps) == 8
    # A third seed trains only the four new runs; the finished ones are loaded.
    run_notebook("recurrent_offpolicy", tmp_path, profile="smoke", data_dir=str(data_dir),
                 overrides={"seeds": 3})
    assert len(list(runs.glob("*/*/seed*/result.json"))) == 12
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"methods": ["sac_full", "lstm_sac"]}, "'methods[1]': expected one of"),
    ({"tasks": ["pendulum_p", "pendulum_v"], "task_settings": {"pendulum_v": {"train": {
        "total_steps": 800}}}}, "'train.total_steps': tasks sharing the full-state reference"),
    ({"methods": ["rsac"]}, "'methods': must include sac_full"),
])
def test_recurrent_notebook_rejects_bad_parameters_before_any_work(tmp_path, overrides, message):
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("recurrent_offpolicy", tmp_path, profile="smoke",
                     data_dir=str(tmp_path / "data"), overrides=overrides)
    assert not (tmp_path / "data").exists()


def test_dvc_repro_runs_the_pipeline_end_to_end(smoke_repro, shell):
    repo = smoke_repro  # the current sources on the smoke profile after `dvc repro` (conftest.py)
    assert (repo / "data/figures/gridworld_rlsp/results_table.png").exists()
    assert json.loads((repo / "data/metrics/gridworld_rlsp.json").read_text())["profile"] == "smoke"
    scorecard = (repo / "results/scorecard.md").read_text()
    assert "RLSP avoids breaking the vase (Room)" in scorecard and "| reproduced |" in scorecard
    assert (repo / "results/scorecard.png").exists()
    assert (repo / "data/figures/recurrent_offpolicy/learning_curves.png").exists()
    assert "RSAC is near-optimal on the POMDPs" in scorecard
    again = shell.dvc("repro", cwd=repo)
    assert "didn't change" in again and "Running stage" not in again


@pytest.mark.parametrize("command", [("repro",), ("repro", "-s", "gridworld_rlsp")])
def test_a_bad_value_stops_dvc_before_any_output_is_removed(smoke_repro, shell, tmp_path,
                                                            command):
    """Outputs persist and each stage's command validates params.yaml first: whichever way DVC
    reaches a stage with a bad value, every earlier output stays as it was."""
    repo = tmp_path / "repo"
    shutil.copytree(smoke_repro, repo, symlinks=True)
    params = repo / "params.yaml"
    text = params.read_text()
    start = text.index("\n  smoke:\n", text.index("\ngridworld_rlsp:"))
    smoke = text[start:text.index("\n\n", start)]  # the section's smoke overlay
    assert "\n    seeds: 2\n" in smoke
    bad = text.replace(smoke, smoke.replace("\n    seeds: 2\n", "\n    seeds: -1\n"), 1)
    params.write_text(bad)

    def outputs():
        return {p: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((repo / "data").rglob("*")) if p.is_file()}

    before = outputs()
    done = subprocess.run([str(BIN / "dvc"), *command], cwd=repo, env=shell.env,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "gridworld_rlsp.smoke" in done.stderr + done.stdout and "'seeds'" in (
        done.stderr + done.stdout)
    assert outputs() == before
