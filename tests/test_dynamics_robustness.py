"""The robustness stage: the smoke notebook end to end, its parameter checks, and the analysis
on returns whose normalised values are known."""
import dataclasses
import json
import re

import numpy as np
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.agents.training import load_policy
from rlrepro.evaluation.statistics import seed_interval
from rlrepro.experiments import dynamics_robustness as rx

from helpers import copy_of, run_notebook, stage_outputs


def smoke_config(**overrides):
    return params.load("dynamics_robustness", rx.Config, "smoke", overrides)


def test_robustness_notebook_writes_curves_heatmap_gifs_and_trains_and_tests_once(
        pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = smoke_config()
    metrics = json.loads((data / "results/dynamics_robustness.json").read_text())
    factors = {str(float(f)) for f in cfg.factors}
    assert set(metrics["normalised_return"]) == set(cfg.methods)
    for method, limbs in metrics["normalised_return"].items():
        assert set(limbs) == set(cfg.limbs)
        for limb, values in limbs.items():
            assert set(values) == factors and values["1.0"] == 1.0
            for factor, value in values.items():
                low, high = metrics["normalised_return_ci"][method][limb][factor]
                assert low <= value <= high
    assert set(metrics["finetune"]) == set(cfg.finetune_bodies)
    figures = {p.name for p in (data / "figures/dynamics_robustness").iterdir()}
    assert {"degradation.png", "heatmap.png", "learning_curves.png", "hopper_body.gif",
            *(f"{b}.gif" for b in cfg.gif_bodies)} <= figures
    results = json.loads((data / "results/dynamics_robustness.json").read_text())
    assert len(results["tests"]) == cfg.seeds * (
        len(cfg.methods) * (len(rx.bodies_tested(cfg)) + len(rx.PACKER_RANGES_TESTED))
        + len(cfg.finetune_bodies))
    assert set(metrics["packer"]) == set(cfg.methods)
    for method, ranges in metrics["packer"].items():
        assert set(ranges) == {"moderate", "extreme"}
        assert all(low <= mean <= high for mean, low, high in ranges.values())

    # The policies of several runs as one agent's members act as each run's own policy.
    runs = rx.policy_runs(cfg, "smoke", "td3", data)
    members = rx.load_members(runs, copies=2)
    obs = np.random.default_rng(0).normal(size=(2 * len(runs), members.obs_dim))
    together, _ = members.act(obs, None, deterministic=True)
    for i, run in enumerate(runs):
        alone, _ = load_policy(run, copies=2)[0].act(obs[2 * i:2 * i + 2], None,
                                                     deterministic=True)
        np.testing.assert_allclose(together[2 * i:2 * i + 2], np.asarray(alone), atol=1e-6)

    stamps = {p: p.stat().st_mtime_ns for p in data.glob("policies/dynamics_robustness/**/*.*")}
    assert len(list(data.glob("policies/dynamics_robustness/smoke/hopper/tests/*.json"))) >= (
        len(cfg.methods) * len(rx.bodies_tested(cfg)))
    outputs = stage_outputs(data, "dynamics_robustness")
    run_notebook("dynamics_robustness", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "dynamics_robustness") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"limbs": ["wing_length"]}, "'limbs': 'wing_length' is not a factor of hopper"),
    ({"factors": [0.5, 1.5]}, "'factors': must include 1.0"),
    ({"heatmap": ["leg_length"]}, "'heatmap': expected two different factors"),
    ({"finetune_bodies": ["hopper_tall"]}, "'finetune_bodies[0]': expected one of"),
    ({"moderate": [1.1, 1.3]}, "'moderate': expected [low, high] with low < 1.0 < high"),
    ({"body": "walker2d", "limbs": ["leg_length"], "heatmap": []},
     "'finetune_bodies': 'hopper_short_legs' is a body of hopper, not of walker2d"),
])
def test_robustness_notebook_rejects_bad_parameters_before_any_work(tmp_path, overrides,
                                                                    message):
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("dynamics_robustness", tmp_path, profile="smoke", overrides=overrides,
                     data_dir=str(tmp_path / "data"))
    assert not (tmp_path / "data").exists()


def test_each_body_is_tested_once_whatever_its_spelling():
    cfg = smoke_config()
    bodies = rx.bodies_tested(cfg)
    assert bodies[0] == {}
    assert len({json.dumps(b, sort_keys=True) for b in bodies}) == len(bodies)
    # 2 limbs x 2 non-nominal factors + the 4 corners of the 3 x 3 grid (the short-legged
    # and long-legged bodies among them) + the nominal body
    assert len(bodies) == 1 + 4 + 4
    assert {"leg_length": 0.5, "thigh_length": 0.5} in bodies


def test_summary_normalises_by_each_seeds_nominal_return():
    cfg = smoke_config(limbs=["leg_length"], factors=[0.5, 1.0, 1.25, 1.5], heatmap=[],
                       finetune_bodies=["hopper_short_legs"], methods=["td3"], seeds=2)
    nominal = {0: 100.0, 1: 200.0}
    kept = {0.5: 0.2, 1.25: 0.9, 1.5: 0.4}  # the share of its nominal return a seed keeps
    rows = [{"method": "td3", "body": "{}", "seed": s, "return": r} for s, r in nominal.items()]
    rows += [{"method": "td3", "body": rx.body_label({"leg_length": f}), "seed": s,
              "return": k * nominal[s]} for f, k in kept.items() for s in nominal]
    short = rx.body_label({"leg_length": 0.5, "thigh_length": 0.5})
    rows += [{"method": m, "body": short, "seed": s, "return": k * nominal[s]}
             for m, k in (("td3", 0.1), (rx.FINETUNE, 0.8)) for s in nominal]
    frame, metrics = rx.summarize(rows, dataclasses.replace(cfg, packer_episodes=0))
    assert metrics["packer"] == {} and metrics["claims"] == metrics["limb_claims"]
    packer = {"moderate": 0.7, "extreme": 0.45}  # Packer's drawn bodies: the claims' ranges
    rows += [{"method": "td3", "body": rx.packer_label(r), "seed": s, "return": k * nominal[s]}
             for r, k in packer.items() for s in nominal]
    frame, metrics = rx.summarize(rows, cfg)
    assert metrics["packer"]["td3"]["extreme"] == pytest.approx([0.45] * 3)
    assert metrics["packer_returns"]["td3"]["moderate"] == pytest.approx([105.0, 70.0, 140.0])
    assert metrics["claims"]["td3_moderate_minus_extreme"] == pytest.approx(0.25)
    assert metrics["limb_claims"]["td3_moderate_minus_extreme"] == pytest.approx(0.6)
    curve = metrics["normalised_return"]["td3"]["leg_length"]
    assert curve == pytest.approx({"0.5": 0.2, "1.0": 1.0, "1.25": 0.9, "1.5": 0.4})
    assert metrics["ranges"]["td3"]["moderate"] == pytest.approx([0.9] * 3)
    assert metrics["ranges"]["td3"]["extreme"] == pytest.approx([0.3] * 3)
    assert metrics["range_returns"]["td3"]["moderate"] == pytest.approx([135.0, 90.0, 180.0])
    assert metrics["finetune"]["hopper_short_legs"][rx.FINETUNE] == pytest.approx([0.8] * 3)
    assert metrics["nominal_return"]["td3"] == pytest.approx([150.0, 100.0, 200.0])


def test_intervals_are_bootstrap_with_five_seeds_and_ranges_below():
    values = np.array([0.1, 0.5, 0.6, 0.7, 1.1])
    mean, low, high = seed_interval(values)
    assert mean == pytest.approx(0.6) and 0.1 < low < mean < high < 1.1
    assert seed_interval(values[:3]) == pytest.approx([0.4, 0.1, 0.6])


def test_the_robustness_tests_never_replay_the_episodes_that_selected_the_policy(
        monkeypatch, tmp_path):
    """keep_best picks each policy by its evaluations; scoring it on those same episodes biases
    every share's denominator (the nominal return) up. The test episodes must be others."""
    from rlrepro.evaluation import rollouts

    cfg = params.load("dynamics_robustness", rx.Config, "smoke", {})
    played = {"evaluate": [], "test": []}

    def record(into):
        def run_episodes(policy, envs, seeds, *args, **kwargs):
            played[into].extend(seeds)
            return np.zeros(len(seeds))
        return run_episodes

    folders = rx.policy_runs(cfg, "smoke", "td3", tmp_path)
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / rx.POLICY).write_bytes(b"stub")
    monkeypatch.setattr(rx, "load_members", lambda run_dirs, copies: None)
    monkeypatch.setattr(rx, "run_episodes", record("test"))
    rx.returns_on_body(cfg, "smoke", "td3", {}, tmp_path)
    monkeypatch.setattr(rollouts, "run_episodes", record("evaluate"))
    rollouts.evaluate(None, [None] * cfg.seeds, cfg.train.eval_episodes, list(range(cfg.seeds)))
    assert len(played["test"]) == cfg.seeds * cfg.test_episodes and played["evaluate"]
    assert not set(played["test"]) & set(played["evaluate"])


def test_packer_bodies_are_drawn_once_each_test_episode_on_its_own():
    """Every seed and method meets the same drawn bodies (a paired comparison), one per test
    episode, and an extreme body lies outside the moderate range."""
    cfg = smoke_config()
    extreme = rx.packer_bodies(cfg, "extreme")
    assert extreme == rx.packer_bodies(cfg, "extreme") != rx.packer_bodies(cfg, "moderate")
    assert len(extreme) == cfg.packer_episodes and len({json.dumps(b) for b in extreme}) == len(
        extreme)
    default, (low, high), _ = rx.PACKER_RANGES[cfg.body]["power"]
    assert all(not low <= b["power"] * default < high for b in extreme)


def test_each_packer_episode_plays_on_its_own_body(monkeypatch, tmp_path):
    cfg = smoke_config()
    bodies = rx.packer_bodies(cfg, "moderate")
    built = []
    monkeypatch.setattr(rx, "load_members", lambda run_dirs, copies: None)
    monkeypatch.setattr(rx, "run_episodes", lambda policy, envs, seeds: np.zeros(len(seeds)))
    for folder in rx.policy_runs(cfg, "smoke", "td3", tmp_path):
        folder.mkdir(parents=True)
        (folder / rx.POLICY).write_bytes(b"stub")
    monkeypatch.setattr(rx, "make_body", lambda base, scales: built.append(scales) or _Closable())
    returns = rx.returns_on_body(cfg, "smoke", "td3", bodies, tmp_path)
    assert returns.shape == (cfg.seeds, cfg.packer_episodes)
    assert built == bodies * cfg.seeds  # seed after seed, episode k on body k


class _Closable:
    def close(self):
        pass
