"""The GAIL baseline stage: the smoke notebook end to end on the experts' smoke data."""
import json
import re

import numpy as np
import papermill as pm
import pytest

from rlrepro import params
from rlrepro.demonstrations import demonstration_file
from rlrepro.experiments import gail_baseline as gx

from helpers import copy_of, file_stamps, run_notebook


def test_gail_notebook_writes_table_metrics_and_gifs_and_trains_once(pipeline_data, tmp_path):
    data = copy_of(pipeline_data, tmp_path)  # the smoke pipeline ran the stage
    cfg = params.load("gail_baseline", gx.Config, "smoke", {})
    metrics = json.loads((data / "metrics/gail_baseline.json").read_text())
    for task in cfg.tasks:
        returns = metrics["true_return"][task]["gail"]
        assert set(returns) == {str(n) for n in cfg.n_transitions}
        for n, value in returns.items():
            low, high = metrics["true_return_ci"][task]["gail"][n]
            assert low <= value <= high
    figures = {p.name for p in (data / "figures/gail_baseline").iterdir()}
    assert {"table1.png", "discriminator_accuracy.png"} <= figures
    assert {f"{t}_gail.gif" for t in cfg.tasks} <= figures
    results = json.loads((data / "results/gail_baseline.json").read_text())
    assert all(run["log"] and 0.0 <= run["log"][-1]["disc_acc_expert"] <= 1.0
               for run in results["runs"])
    stamps = {p: p.stat().st_mtime_ns for p in data.glob("policies/gail_baseline/smoke/**/*.*")}
    assert len(stamps) >= 2 * len(cfg.tasks) * len(cfg.n_transitions)
    run_notebook("gail_baseline", tmp_path, profile="smoke", data_dir=str(data))
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
