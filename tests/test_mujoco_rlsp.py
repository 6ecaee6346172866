"""The Deep RLSP on MuJoCo stage: the smoke notebook end to end on the experts' smoke data."""
import json
import re

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.experiments import mujoco_rlsp as mx
from rlrepro.models.learned_reward import load as load_reward

from helpers import copy_of, file_stamps, run_notebook, stage_outputs


def test_rlsp_notebook_writes_table_metrics_and_gifs_and_trains_once(pipeline_data,
                                                                   tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("mujoco_rlsp", mx.Config, "smoke", {})
    metrics = json.loads((data / "results/mujoco_rlsp.json").read_text())
    for task in cfg.tasks:
        for method in cfg.methods:
            returns = metrics["true_return"][task][method]
            assert set(returns) == {str(n) for n in cfg.n_states}
            for n, value in returns.items():
                low, high = metrics["true_return_ci"][task][method][n]
                assert low <= value <= high
    assert set(metrics["expert_return"]) >= set(cfg.tasks)
    figures = {p.name for p in (data / "figures/mujoco_rlsp").iterdir()}
    assert {"table1.png", "evaluation_curves.png", "deep_rlsp_epochs.png",
            "skill_discriminator.png"} <= figures
    skills = [t for t in cfg.tasks if t in mx.SKILLS]
    assert skills and set(metrics["skill_discriminator"]) == set(skills)
    for skill in skills:
        accuracy = metrics["skill_discriminator"][skill]
        assert set(accuracy["deep_rlsp"]) == {str(n) for n in cfg.n_states}
        assert set(accuracy["reference"]) == {"skill itself", "random"}
        assert all(0.0 <= a <= 1.0 for m in [*cfg.methods, "reference"]
                   for a in accuracy[m].values())
    assert {f"{t}_{m}.gif" for t in cfg.tasks for m in cfg.methods} <= figures
    assert "reward_slices.png" in figures
    peaks = metrics["reward_peak"]["inverted_pendulum"]
    assert set(peaks) == {"observed", *cfg.methods}
    # Recomputed from the saved files: the observed states' mean pole angle (coordinate 1), and
    # each method's saved reward along the pole angle over the hinge's range (the 61 points of
    # mx.reward_slices, the other coordinates at the observed states' mean): the reported peak
    # is one of those points, and the reward is highest there.
    observed = mx.observed_states("smoke", "inverted_pendulum", max(cfg.n_states), 0, data)
    assert peaks["observed"] == pytest.approx(float(observed[:, 1].mean()), abs=1e-6)
    states = np.repeat(observed.mean(0, keepdims=True), 61, 0)
    states[:, 1] = np.linspace(-np.pi / 2, np.pi / 2, 61)
    for method in cfg.methods:
        reward = load_reward(mx.runs_dir(data, "smoke", "inverted_pendulum", max(cfg.n_states), 0)
                             / method / "reward.pt")
        values = reward(states).numpy()
        at = np.abs(states[:, 1] - peaks[method]) < 1e-6
        assert at.sum() == 1, (method, peaks[method])
        assert values[at][0] >= values.max() - 1e-6 * (1 + np.abs(values).max()), method
    results = json.loads((data / "results/mujoco_rlsp.json").read_text())
    history = [r["history"] for r in results["runs"] if r["method"] == "deep_rlsp"]
    assert all(len(h) >= len(cfg.rlsp.horizons) for h in history)  # an epoch per horizon at least
    assert all(isinstance(e["true_return"], float) and isinstance(e["inferred_return"], float)
               for h in history for e in h)
    probe = results["probes"]["no_reweight"]  # smoke's probe: one record per epoch
    assert len(probe) >= len(cfg.rlsp.horizons)
    assert all(0.0 <= e["fallen_above_observed"] <= 1.0 and e["solver_true_return"] >= 0
               for e in probe)
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("policies/mujoco_rlsp/smoke/**/*.json")}
    stamps |= {p: p.stat().st_mtime_ns for p in data.glob("models/mujoco_rlsp/smoke/*/*.pt")}
    assert len(stamps) > len(cfg.tasks) * len(cfg.n_states) * len(cfg.methods)
    outputs = stage_outputs(data, "mujoco_rlsp")
    run_notebook("mujoco_rlsp", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "mujoco_rlsp") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"n_states": [1, 7]}, "observed_states_n7_draw0.npz: no such file"),
    ({"tasks": ["walker"]}, "'tasks[0]': expected one of"),
    ({"task_settings": {"inverted_pendulum": {"train": {"total_steps": 250}}}},
     "'train.total_steps' of inverted_pendulum: eval_every (100) must divide it (250)"),
    ({"task_settings": {"cheetah_fw": {"sac": {"gama": 0.9}}}},
     "'task_settings.cheetah_fw.sac.gama': unknown parameter"),
])
def test_rlsp_notebook_rejects_bad_inputs_before_any_work(pipeline_data, tmp_path, overrides,
                                                          message):
    data = copy_of(pipeline_data, tmp_path)
    computed = file_stamps(data / "models/mujoco_rlsp", data / "policies/mujoco_rlsp")
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("mujoco_rlsp", tmp_path, profile="smoke", data_dir=str(data),
                     overrides=overrides)
    assert computed and file_stamps(data / "models/mujoco_rlsp",
                                    data / "policies/mujoco_rlsp") == computed


def test_reward_peaks_finds_each_methods_maximum():
    values = np.linspace(-1.0, 1.0, 21)
    slices = pd.DataFrame(
        [{"task": "inverted_pendulum", "method": "tipping", "value": v, "reward": v,
          "observed": 0.0} for v in values] +
        [{"task": "inverted_pendulum", "method": "upright", "value": v, "reward": -v ** 2,
          "observed": 0.0} for v in values])
    peaks = mx.reward_peaks(slices)
    assert peaks == {"inverted_pendulum": {"observed": 0.0, "tipping": 1.0, "upright": 0.0}}
    text = mx.verdict_text({"normalised_return": {}, "velocity_in_expert_direction": {},
                            "claims": {"deep_rlsp_over_average_features_max": None},
                            "reward_peak": peaks},
                           params.load("mujoco_rlsp", mx.Config, "smoke", {}))
    assert "tipping +1.00" in text and "tips the pole" in text


def test_a_probe_may_change_only_keys_of_the_ascent():
    with pytest.raises(params.ParamsError, match=r"'probes.bad': expected a mapping of rlsp keys"):
        params.load("mujoco_rlsp", mx.Config, "smoke", {"probes": {"bad": {"epochs": 3}}})
    cfg = params.load("mujoco_rlsp", mx.Config, "smoke",
                      {"probes": {"long": {"horizons": [1, 2, 3], "reweight": False}}})
    rlsp = mx.probe_config(cfg, "long")
    assert rlsp.horizons == (1, 2, 3) and not rlsp.reweight
    assert rlsp.solver_steps == params.for_task(cfg, mx.PROBE_TASK).rlsp.solver_steps
