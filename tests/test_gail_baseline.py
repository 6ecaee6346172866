"""The GAIL baseline stage: the smoke notebook end to end on the experts' smoke data."""
import json
import re

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.demonstrations import demonstration_file
from rlrepro.experiments import gail_baseline as gx

from helpers import copy_of, file_stamps, run_notebook, stage_outputs


def test_gail_notebook_writes_table_metrics_and_gifs_and_trains_once(pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("gail_baseline", gx.Config, "smoke", {})
    metrics = json.loads((data / "results/gail_baseline.json").read_text())
    for task in cfg.tasks:
        settings = params.for_task(cfg, task)
        demonstrations = {str(n) for n in cfg.n_transitions} | (
            {gx.CONTROL} if settings.control else set())
        assert set(metrics["true_return"][task]) == {gx.method_name(r) for r in settings.rewards}
        for method, returns in metrics["true_return"][task].items():
            assert set(returns) == demonstrations
            for demonstration, value in returns.items():
                low, high = metrics["true_return_ci"][task][method][demonstration]
                seeds = metrics["seed_returns"][task][method][demonstration]
                assert len(seeds) == cfg.seeds and np.isclose(np.mean(seeds), value)
                assert low <= value <= high
    assert metrics["claims"]["gail_control_fails"] is not None  # the pendulum's control ran
    figures = {p.name for p in (data / "figures/gail_baseline").iterdir()}
    assert {"table1.png", "discriminator_accuracy.png"} <= figures
    assert {f"{t}_gail.gif" for t in cfg.tasks} <= figures
    results = json.loads((data / "results/gail_baseline.json").read_text())
    assert all(run["log"] and 0.0 <= run["log"][-1]["disc_acc_expert"] <= 1.0
               for run in results["runs"])
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("policies/gail_baseline/smoke/**/*.*")}
    assert len(stamps) >= 2 * len(cfg.tasks) * len(cfg.n_transitions)
    outputs = stage_outputs(data, "gail_baseline")
    run_notebook("gail_baseline", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "gail_baseline") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


def test_gail_notebook_rejects_a_demonstration_of_the_wrong_shape_before_training(
        pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)
    computed = file_stamps(data / "policies/gail_baseline")
    path = demonstration_file(data, "smoke", "cheetah_fw", 10, 0)
    with np.load(path) as saved:
        arrays = dict(saved)
    arrays["observations"] = arrays["observations"][:, :5]
    np.savez(path, **arrays)
    message = f"{path}: 'observations' has shape (10, 5), expected (10, 18)"
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("gail_baseline", tmp_path, profile="smoke", data_dir=str(data))
    assert computed and file_stamps(data / "policies/gail_baseline") == computed


def test_the_control_demonstration_is_a_fallen_pole_under_random_actions():
    """The uninformative demonstration: after CONTROL_STEPS random steps with termination
    ignored the pendulum lies past the angle where its episode would have ended (0.2 rad)."""
    controls = [gx.uninformative_demonstration("inverted_pendulum", seed) for seed in range(3)]
    assert all(len(c) == 1 and c.kind == "demonstration" for c in controls)
    assert all(abs(c.observations[0, 1]) > 0.2 for c in controls)
    assert len({c.observations.tobytes() for c in controls}) == 3  # one per seed
    again = gx.uninformative_demonstration("inverted_pendulum", 0)
    assert np.array_equal(again.observations, controls[0].observations)


def test_every_reward_and_the_control_train_their_own_runs_beside_the_faithful_ones():
    cfg = params.load("gail_baseline", gx.Config, "cpu", {})
    jobs = gx.jobs(cfg, "cpu", "data")
    folders = {gx.run_folder("data", "cpu", j["task"], j["demonstration"], j["seed"], j["reward"])
               for j in jobs}
    assert len(folders) == len(jobs)
    pendulum = [j for j in jobs if j["task"] == "inverted_pendulum"]
    assert len(pendulum) == (len(cfg.n_transitions) + 1) * cfg.seeds * 2  # + control, 2 rewards
    assert gx.run_folder("data", "cpu", "cheetah_fw", 10, 2).name == "n10_seed2"  # the faithful
    assert gx.run_folder("data", "cpu", "inverted_pendulum", gx.CONTROL, 0, "airl").name == (
        "control_seed0_airl")
    with pytest.raises(params.ParamsError, match="'rewards' of inverted_pendulum: must include"):
        params.load("gail_baseline", gx.Config, "cpu",
                    {"task_settings": {"inverted_pendulum": {"rewards": ["airl"]}}})


def test_the_single_transition_claim_leaves_out_tasks_where_the_control_scores_as_high():
    """Where GAIL on an uninformative demonstration reaches the task's score (the pendulum's
    survival bias), that score says nothing about learning from one transition."""
    rows = [("inverted_pendulum", "1", "gail", 1.0), ("inverted_pendulum", gx.CONTROL, "gail", 1.0),
            ("inverted_pendulum", "1", "gail_airl", 0.0), ("cheetah_fw", "1", "gail", 0.08)]
    frame = pd.DataFrame([dict(task=t, demonstration=d, method=m, n=1, normalised=v)
                          for t, d, m, v in rows])
    claims = gx.claims(frame, None, {})
    assert claims["gail_single_transition_best"] == pytest.approx(0.08)
    assert claims["gail_single_transition_best_all_tasks"] == pytest.approx(1.0)
    assert claims["tasks_where_gail_scores_survival"] == ["inverted_pendulum"]
    assert claims["gail_control_fails"] == pytest.approx(0.0)
    low_control = frame.assign(normalised=[1.0, 0.1, 0.0, 0.08])
    assert gx.claims(low_control, None, {})["gail_single_transition_best"] == pytest.approx(1.0)
