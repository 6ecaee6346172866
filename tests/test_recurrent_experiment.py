"""Scores and claims of the recurrent off-policy experiment, on synthetic results."""
import pytest

from rlrepro import params
from rlrepro.experiments import recurrent_offpolicy as ex


def config(**overrides):
    return params.load("recurrent_offpolicy", ex.Config, "smoke",
                       {"methods": ["sac_full", "sac", "sac_concat", "rdpg", "rtd3", "rsac"],
                        "train": {"eval_episodes": 3}} | overrides)


def results(finals: dict):
    return [{"env": "pendulum_p", "method": m, "seed": s, "final": v, "steps": [1], "returns": [v],
             "seconds": 1.0} for m, values in finals.items() for s, v in enumerate(values)]


def test_scores_are_normalised_between_random_and_full_state_sac():
    cfg = config()
    random = ex.random_return("pendulum_p", cfg.train.eval_episodes)
    full = [-150.0, -150.0, -150.0]
    half = (random - 150.0) / 2
    runs, metrics = ex.summarize(results({
        "sac_full": full, "sac": [random] * 3, "sac_concat": [half] * 3,
        "rdpg": [-150.0, -150.0, random], "rtd3": [-150.0] * 3, "rsac": [-160.0] * 3}), cfg, reps=200)
    scores = {m: v["point"] for m, v in metrics["normalised"]["pendulum_p"].items()}
    assert scores["sac_full"] == pytest.approx(1.0)
    assert scores["sac"] == pytest.approx(0.0, abs=1e-9)
    assert scores["sac_concat"] == pytest.approx(0.5)
    claims = metrics["claims"]
    assert claims["recurrent_margin_min"] == pytest.approx(scores["rsac"] - 0.0)
    assert claims["concat_normalised_min"] == pytest.approx(0.5)
    assert claims["rdpg_rtd3_worst_run"] == pytest.approx(0.0, abs=1e-9)  # one RDPG seed failed
    assert claims["rsac_most_reliable"] == 1.0
    assert set(runs.columns) >= {"env", "method", "seed", "final", "normalised"}


def test_rsac_is_not_most_reliable_when_its_worst_seed_is_below_the_others():
    cfg = config()
    random = ex.random_return("pendulum_p", cfg.train.eval_episodes)
    _, metrics = ex.summarize(results({
        "sac_full": [-150.0] * 3, "sac": [random] * 3, "sac_concat": [random] * 3,
        "rdpg": [-150.0] * 3, "rtd3": [-150.0] * 3, "rsac": [-150.0, -150.0, random]}), cfg, reps=200)
    assert metrics["claims"]["rsac_most_reliable"] == 0.0
