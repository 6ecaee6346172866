"""Launchers: the recurrent experiment's smoke runs through submitit (its local executor: the
real pickled jobs, subprocesses and logs, without Slurm) equal those of the process pool; a
rerun submits nothing; a failed job is named with its logs; bad launcher keys are named."""
import dataclasses
import shutil

import pytest

from rlrepro import params
from rlrepro.experiments import recurrent_offpolicy as ex
from rlrepro.runner import JobsFailed

def config(kind, logs):
    cfg = params.load("recurrent_offpolicy", ex.Config, "smoke",
                      {"train": {"total_steps": 400}})
    return dataclasses.replace(cfg, launcher=dataclasses.replace(cfg.launcher, kind=kind,
                                                                 logs=str(logs)))


def submitted_jobs(logs):
    return sorted(path.name for path in logs.iterdir() if path.name != "%j")


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The smoke runs, trained once through submitit's local executor: (cfg, data, logs, rows)."""
    data, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    cfg = config("submitit_local", logs)
    return cfg, data, logs, ex.train_all(cfg, "smoke", data)


def test_submitit_jobs_give_the_results_of_the_process_pool(trained, tmp_path):
    cfg, data, logs, rows = trained
    assert len(submitted_jobs(logs)) == len(ex.jobs(cfg, "smoke", data))
    pool = ex.train_all(config("local", tmp_path / "unused"), "smoke", tmp_path)
    assert without_seconds(rows) == without_seconds(pool)


def test_finished_runs_are_loaded_not_resubmitted(trained):
    cfg, data, logs, rows = trained
    before = submitted_jobs(logs)
    assert ex.train_all(cfg, "smoke", data) == rows
    assert submitted_jobs(logs) == before


def test_a_failed_job_is_named_with_its_logs(trained, tmp_path):
    _, data, _, _ = trained
    shutil.copytree(data, tmp_path / "data")
    folder = ex.run_dir(tmp_path / "data", "smoke", "pendulum_p", "rsac", 0)
    (folder / "result.json").unlink()
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    logs = tmp_path / "logs"
    with pytest.raises(JobsFailed) as error:
        ex.train_all(config("submitit_local", logs), "smoke", tmp_path / "data")
    message = str(error.value)
    assert message.startswith("1 of 1 submitted jobs failed:")
    assert "\n  rsac on pendulum_p, seed" in message
    assert f"CheckpointError: {folder / 'checkpoint.pt'}: not a readable checkpoint" in message
    [job] = submitted_jobs(logs)
    [stderr] = (logs / job).glob("*_log.err")
    assert f"stderr: {stderr}" in message
    assert "CheckpointError" in stderr.read_text()


LAUNCHER = {"kind": "slurm", "partition": "gpu", "time_minutes": 60, "cpus_per_task": 1,
            "gpus_per_job": 1, "mem_gb": 8, "sbatch": {}, "logs": "data/submitit"}


@pytest.mark.parametrize("launcher, message", [
    (LAUNCHER | {"kind": "sge"},
     "'launcher.kind': expected one of ['local', 'slurm', 'submitit_local'], got 'sge'"),
    (LAUNCHER | {"gpus_per_job": -1}, "'launcher.gpus_per_job': expected a value >= 0, got -1"),
    (LAUNCHER | {"time_minutes": "1h"}, "'launcher.time_minutes': expected int, got str '1h'"),
    (LAUNCHER | {"sbatch": {"nice": 10}}, "'launcher.sbatch.nice': expected str, got int 10"),
    ({**LAUNCHER, "gpus": 1}, "'launcher.gpus': unknown parameter; expected one of"),
    ({"partition": 3}, "'launcher.partition': expected str, got int 3"),
    ("slurm", "'launcher': expected a mapping with keys ['kind', 'partition',"),
])
def test_bad_launcher_values_name_the_key(launcher, message):
    with pytest.raises(params.ParamsError) as error:
        params.load("recurrent_offpolicy", ex.Config, "smoke",
                    {"launcher": launcher})
    assert message in str(error.value)
