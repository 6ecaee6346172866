"""The latent-dynamics stage: the smoke notebook end to end, and bad settings named first."""
import json
import re

import papermill as pm
import pytest
import torch

from rlrepro import params
from rlrepro.experiments import latent_dynamics as lx

from helpers import copy_of, run_notebook, stage_outputs


def test_latent_notebook_writes_every_measure_figure_and_gif_and_trains_once(
        pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("latent_dynamics", lx.Config, "smoke", {})
    metrics = json.loads((data / "results/latent_dynamics.json").read_text())
    for agent in cfg.agents:
        losses = ["none"] if agent == lx.MODEL_FREE else cfg.losses
        assert set(metrics["return"][agent]) == set(losses)
        for loss in losses:
            for condition in cfg.conditions:
                value = metrics["return"][agent][loss][condition]
                low, high = metrics["return_ci"][agent][loss][condition]
                assert low <= value <= high
    for loss in cfg.losses:
        assert set(metrics["probe_r2"][loss]) == set(cfg.conditions)
        for condition, r2 in metrics["probe_r2"][loss].items():  # its interval over episodes
            low, high = metrics["probe_r2_ci"][loss][condition]
            assert low <= r2 <= high
    results = json.loads((data / "results/latent_dynamics.json").read_text())
    drop = results["claims"]["probe_drop_reconstruction_minus_contrastive"]
    loss_of_r2 = {loss: r2["clean"] - r2["distracted"] for loss, r2 in metrics["probe_r2"].items()}
    winner = metrics["probe_r2"]["contrastive"]["distracted"]
    assert drop == pytest.approx(min(loss_of_r2["reconstruction"] - loss_of_r2["contrastive"],
                                     winner))
    for run in results["runs"]:  # an evaluation every round, and the final episodes
        assert len(run["curve"]) == cfg.iterations // cfg.eval_every
        assert len(run["final_returns"]) == len(run["final_returns_sampled"]) == cfg.final_episodes
    figures = {p.name for p in (data / "figures/latent_dynamics").iterdir()}
    assert {"representation.png", "open_loop.png", "returns.png", "learning_curves.png"} <= figures
    policy_gifs = [f for f in figures if f.endswith(".gif") and not f.startswith("open_loop")]
    assert len(policy_gifs) == len(results["runs"])
    assert {f"open_loop_{c}_{loss}.gif" for c in cfg.conditions for loss in cfg.losses} <= figures
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("*/latent_dynamics/smoke/**/*")
              if p.is_file()}
    outputs = stage_outputs(data, "latent_dynamics")
    run_notebook("latent_dynamics", tmp_path, profile="smoke", data_dir=str(data))
    assert stage_outputs(data, "latent_dynamics") == outputs  # byte for byte the same
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize("overrides, message", [
    ({"image_size": 24}, "'image_size': expected a power of two, got 24"),
    ({"mpc_cem": {"top": 50}}, "'mpc_cem.top': 50 is more than the 20 candidates"),
    ({"agents": ["planet"]}, "'agents[0]': expected one of"),
    ({"eval_every": 5}, "'eval_every': 5 is more than the 2 iterations"),
    pytest.param({"device": "cuda"}, "'device': cuda, but this machine has no CUDA device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here")),
])
def test_latent_notebook_rejects_bad_settings_before_any_work(tmp_path, overrides, message):
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(message)):
        run_notebook("latent_dynamics", tmp_path, profile="smoke", overrides=overrides,
                     data_dir=str(tmp_path / "data"))
    assert not (tmp_path / "data").exists()


def test_a_probe_claim_fails_when_the_winning_latent_predicts_worse_than_the_mean():
    """Held-out R^2 of -0.24 against -0.49 is a margin between two useless representations."""
    useless = {"reconstruction": {"clean": 0.5, "distracted": -0.49},
               "contrastive": {"clean": 0.3, "distracted": -0.24}}
    claims = lx.claims({"probe_r2": useless, "return": {}})
    assert claims["probe_distracted_contrastive_minus_reconstruction"] == pytest.approx(-0.24)
    assert claims["probe_drop_reconstruction_minus_contrastive"] == pytest.approx(-0.24)
    useful = {"reconstruction": {"clean": 0.8, "distracted": 0.1},
              "contrastive": {"clean": 0.7, "distracted": 0.6}}
    claims = lx.claims({"probe_r2": useful, "return": {}})
    assert claims["probe_distracted_contrastive_minus_reconstruction"] == pytest.approx(0.5)
    assert claims["probe_drop_reconstruction_minus_contrastive"] == pytest.approx(0.6)
