"""The MuJoCo experts stage: the smoke notebook end to end, the data it cuts, resuming experts."""
import json
import re

import numpy as np
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.experiments import mujoco_experts as ex
from rlrepro.agents.training import train_seeds
from rlrepro.demonstrations import demonstration_file, load, observed_states_file

from helpers import copy_of, run_notebook, stage_outputs


def test_experts_notebook_writes_metrics_data_and_gifs_and_trains_once(
        pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("mujoco_experts", ex.Config, "smoke", {})
    metrics = json.loads((data / "results/mujoco_experts.json").read_text())
    for key in ("expert_return", "expert_return_ci", "random_return"):
        assert set(metrics[key]) == set(ex.TASKS), key
    assert set(metrics["mean_forward_velocity"]) == set(ex.TASKS) - {"inverted_pendulum"}
    low, high = metrics["expert_return_ci"]["hopper"]
    assert low <= metrics["expert_return"]["hopper"] <= high
    figures = {p.name for p in (data / "figures/mujoco_experts").iterdir()}
    assert {"learning_curves.png"} | {f"{t}.gif" for t in ex.TASKS} <= figures
    for task in ex.TASKS:
        sets = [load(observed_states_file(data, "smoke", task, n, 1), task, "observed_states", n)
                for n in cfg.observed_states]
        assert [len(states) for states in sets] == cfg.observed_states
        # Each set from its own episodes (the original's independent sampling), never nested.
        assert not np.isin(sets[0].next_observations, sets[-1].next_observations).all()
        short, long = (load(demonstration_file(data, "smoke", task, n, 0), task, n=n)
                       for n in cfg.demonstration_lengths)
        assert (long.observations[:len(short)] == short.observations).all()  # one trajectory
    # The cheetah's four tasks trained as members of one process.
    results = json.loads((data / "results/mujoco_experts.json").read_text())
    assert {r["task"]: r["seeds_in_process"] for r in results["curves"]}["cheetah_bw"] == 4
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("policies/mujoco_experts/smoke/*/*/result.json")}
    assert len(stamps) == len(ex.TASKS)
    outputs = stage_outputs(data, "mujoco_experts")
    run_notebook("mujoco_experts", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "mujoco_experts") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"tasks": ["cheetah_fw", "walker"]}, "'tasks[1]': expected one of"),
    ({"task_settings": {"hopper": {"train": {"total_steps": 200}}}},
     "'train.total_steps' of hopper: eval_every (150) must divide the budget (200)"),
    ({"observed_states": [0, 10]}, "'observed_states"),
])
def test_experts_notebook_rejects_bad_parameters_before_any_work(tmp_path, overrides, message):
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("mujoco_experts", tmp_path, profile="smoke", data_dir=str(tmp_path / "data"),
                     overrides=overrides)
    assert not (tmp_path / "data").exists()


def test_a_killed_cheetah_group_resumes_exactly(tmp_path):
    """Mid-episode checkpoints of MuJoCo tasks resume by replaying the episode's actions: the
    simulator must reach the saved observation bit for bit."""
    cfg = params.load("mujoco_experts", ex.Config, "smoke", {})
    agent, run = params.for_task(cfg, "cheetah_fw").sac, ex.train_config(cfg, "cheetah_fw")
    tasks = ["cheetah_fw", "cheetah_jumping"]

    def folders(name):
        return [tmp_path / name / task for task in tasks]

    stopped = train_seeds(folders("resumed"), agent, run, [0, 0], envs=tasks, progress=False,
                          stop_at=150)
    assert all("stopped_at" in s for s in stopped)
    resumed = train_seeds(folders("resumed"), agent, run, [0, 0], envs=tasks, progress=False)
    whole = train_seeds(folders("whole"), agent, run, [0, 0], envs=tasks, progress=False)
    for r, w in zip(resumed, whole):
        assert r["curve"] == w["curve"]


def test_an_expert_is_scored_on_other_episodes_than_the_evaluations_that_picked_it(monkeypatch):
    """keep_best picks the expert by its evaluations: its score uses other episode seeds."""
    from rlrepro.evaluation import rollouts

    cfg = params.load("mujoco_experts", ex.Config, "smoke", {})
    scored, evaluated = [], []
    monkeypatch.setattr(ex, "load_policy", lambda folder, copies=1: (None, None))
    monkeypatch.setattr(ex, "play", lambda policy, task, seeds: scored.extend(seeds))
    monkeypatch.setattr(rollouts, "run_episodes",
                        lambda policy, envs, seeds, *a, **k: evaluated.extend(seeds) or
                        np.zeros(len(seeds)))
    ex.score(cfg, "smoke", "hopper", seed=0)
    rollouts.evaluate(None, [None], params.for_task(cfg, "hopper").train.eval_episodes, [0])
    assert scored and evaluated and not set(scored) & set(evaluated)
