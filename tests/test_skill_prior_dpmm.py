"""The skill-prior stage: the smoke notebook end to end, its caches, and bad inputs."""
import json
import re

import numpy as np
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.experiments import skill_prior_dpmm as sx

from helpers import copy_of, run_notebook, stage_outputs


def test_skill_prior_notebook_writes_metrics_and_figures_and_trains_once(
        pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("skill_prior_dpmm", sx.Config, "smoke", {})
    results = json.loads((data / "results/skill_prior_dpmm.json").read_text())
    assert set(results["final_success"]) == set(sx.METHODS)
    for method, value in results["final_success"].items():
        low, high = results["final_success_ci"][method]
        assert 0.0 <= low <= value <= high <= 1.0
    spirl = results["final_success_spirl"]  # SPiRL's measure: the claims'
    assert set(spirl) == set(sx.METHODS)
    assert results["claims"]["spirl_over_flat_sac"] == pytest.approx(
        spirl["spirl"] - spirl["flat_sac"])
    assert results["claims_our_measure"]["spirl_over_flat_sac"] == pytest.approx(
        results["final_success"]["spirl"] - results["final_success"]["flat_sac"])
    assert 1 <= results["dpmm_components"] <= cfg.skills.dpmm_components
    assert set(results["reconstruction_mse"]) == {"spirl", "gasp", "mean_predictor"}
    figures = {p.name for p in (data / "figures/skill_prior_dpmm").iterdir()}
    assert {"demonstrations.png", "skill_latents.png", "success_curves.png", "trajectories.png",
            "dpmm_components.png", "exploration.png"} <= figures
    skill_runs = [r for r in results["runs"] if r["method"] != "flat_sac"]
    assert all(r["steps"][-1] == cfg.env_steps for r in results["runs"])
    assert len(skill_runs) == 3 * cfg.seeds
    cached = [*data.glob("policies/skill_prior_dpmm/smoke/*/*/result.json"),
              *data.glob("models/skill_prior_dpmm/smoke/*.pt"),
              *data.glob("datasets/skill_prior_dpmm/smoke/*.npz")]
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    assert len(stamps) == len(sx.METHODS) * cfg.seeds + 4  # runs; 2 models, a mixture; data
    outputs = stage_outputs(data, "skill_prior_dpmm")
    run_notebook("skill_prior_dpmm", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "skill_prior_dpmm") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"methods": ["spirl", "dreamer"]}, "'methods[1]': expected one of"),
    ({"env_steps": 205}, "'env_steps': 205 is not a multiple of skills.horizon 10"),
    ({"target_size": 12}, "'target_size'"),
])
def test_skill_prior_notebook_rejects_bad_parameters_before_any_work(tmp_path, overrides,
                                                                     message):
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("skill_prior_dpmm", tmp_path, profile="smoke",
                     data_dir=str(tmp_path / "data"), overrides=overrides)
    assert not (tmp_path / "data").exists()


def test_a_data_set_missing_arrays_is_named_and_made_again(tmp_path, monkeypatch):
    cfg = params.load("skill_prior_dpmm", sx.Config, "smoke", {})
    path = sx.data_file(tmp_path, "smoke")
    path.parent.mkdir(parents=True)
    np.savez(path, observations=np.zeros((3, 29)))
    path.with_suffix(".key").write_text(sx.data_key(cfg))
    real_generate = sx.maze_data.generate
    monkeypatch.setattr(sx.maze_data, "generate",
                        lambda data_cfg: real_generate(data_cfg, progress=False))
    with pytest.warns(UserWarning, match=re.escape(str(path)) + ".*missing"):
        train, held_out = sx.demonstrations(cfg, "smoke", tmp_path)
    assert len(train.actions) and len(held_out.actions)


def test_a_truncated_demonstration_file_is_generated_again(tmp_path, monkeypatch):
    cfg = params.load("skill_prior_dpmm", sx.Config, "smoke", {})
    made = []
    real_generate = sx.maze_data.generate
    monkeypatch.setattr(sx.maze_data, "generate",
                        lambda data_cfg: made.append(1) or real_generate(data_cfg, progress=False))
    first = sx.demonstrations(cfg, "smoke", tmp_path)
    path = sx.data_file(tmp_path, "smoke")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match=f"{path}: unreadable"):
        again = sx.demonstrations(cfg, "smoke", tmp_path)
    assert len(made) == 2
    assert (again[0].actions == first[0].actions).all()
