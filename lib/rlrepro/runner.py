"""Run independent jobs in worker processes (one torch thread each) with one progress bar, or
as one Slurm job array through submitit (:class:`Launcher`, the ``launcher`` key of params.yaml).

A job that takes ``report`` gets a callable ``report(n)`` that advances the bar by ``n`` units
of work (e.g. environment steps) while the job runs, from any worker process; the bar then
counts ``total`` units instead of finished jobs.
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import pathlib
import queue as queues
from dataclasses import dataclass

from tqdm.auto import tqdm

from rlrepro.params import param


@dataclass(frozen=True)
class Launcher:
    """Where an experiment's runs execute: the ``launcher`` mapping of its params.yaml section
    (its keys default to one local process pool). The other keys are used by submitit only
    (``slurm`` and ``submitit_local``)."""

    kind: str = param("local: a process pool on this machine; slurm: one Slurm job per run, "
                      "submitted as a job array through submitit; submitit_local: the same "
                      "submitit jobs as local subprocesses (to test and debug without Slurm)",
                      default="local", choices=("local", "slurm", "submitit_local"))
    partition: str = param("Slurm partition ('': the cluster's default)", default="")
    time_minutes: int = param("time limit of each job, in minutes", default=60, min=1)
    cpus_per_task: int = param("CPUs of each job (its torch threads)", default=1, min=1)
    gpus_per_job: int = param("GPUs of each job", default=0, min=0)
    mem_gb: int = param("memory of each job, in GB", default=4, min=1)
    sbatch: dict[str, str] = param("more sbatch options, e.g. {account: lab, qos: high} "
                                   "(--account=lab --qos=high)", default={})
    logs: str = param("folder of submitit's pickled jobs and logs (relative: to the folder the "
                      "notebook runs in, the repository root)", default="data/submitit")


class JobsFailed(RuntimeError):
    """Submitted jobs failed; the message names each one with its logs."""


def _init_worker():
    import torch

    torch.set_num_threads(1)


def run_parallel(function, jobs, *, workers=1, launcher: Launcher | None = None, desc="jobs",
                 total=None, unit="job", name=None, finished=None):
    """``[function(**job) for job in jobs]`` in ``workers`` processes; results keep job order.

    With ``total`` (units of work over all jobs) every job is called with ``report=`` and the
    bar shows units (``unit``) as they are reported; otherwise it counts finished jobs.
    A ``launcher`` of another kind than local submits the jobs instead (:func:`submit`), with
    ``workers`` of them running at once; ``name(job)`` labels a job in messages, and jobs for
    which ``finished(job)`` is true only load their results, so they run here.
    """
    jobs = list(jobs)
    if launcher is not None and launcher.kind != "local":
        return submit(function, jobs, launcher, workers=workers, desc=desc, name=name,
                      finished=finished)
    bar = tqdm(total=total if total is not None else len(jobs), desc=desc,
               unit=unit if total is not None else "job")
    if workers <= 1:
        _init_worker()
        extra = {"report": bar.update} if total is not None else {}
        results = []
        for job in jobs:
            results.append(function(**job, **extra))
            if total is None:
                bar.update(1)
        bar.close()
        return results
    results = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker) as pool:
        progress = manager.Queue()
        extra = {"report": progress.put} if total is not None else {}
        pending = {pool.submit(function, **job, **extra): i for i, job in enumerate(jobs)}
        waiting = set(pending)
        while waiting:
            done, waiting = futures.wait(waiting, timeout=0.5,
                                         return_when=futures.FIRST_COMPLETED)
            for future in done:
                results[pending[future]] = future.result()
                if total is None:
                    bar.update(1)
            while True:
                try:
                    bar.update(progress.get_nowait())
                except queues.Empty:
                    break
    bar.close()
    return results


def _run_job(function, job, threads):
    """One submitted job: ``function(**job)`` with a torch thread per CPU the job was given."""
    import torch

    torch.set_num_threads(threads)
    return function(**job)


def _reason(job, error) -> str:
    """Why a job failed, in one line: its exception's last line ("ValueError: ..."; submitit
    frames the job's traceback between dashed lines), or its state if it left no result
    (killed at the time limit, out of memory, node failure)."""
    import submitit

    if isinstance(error, submitit.core.utils.FailedJobError):
        return str(error).split("----------------------\n")[1].strip().splitlines()[-1]
    return f"no result (job state {job.state})"


def submit(function, jobs, launcher: Launcher, *, workers=1, desc="jobs", name=None,
           finished=None):
    """``[function(**job) for job in jobs]``, one submitit job each, submitted as one array; blocks
    until all are done, the bar counting finished jobs. Jobs for which ``finished(job)`` is true
    run here instead (they only load their results), so a rerun submits only what is missing.

    Raises :class:`JobsFailed` listing every failed job (``name(job)``, its exception's last
    line and its log files) once all are done; jobs that save their results (run folders) and
    tell so through ``finished`` are then loaded by the next call, which submits only the rest.
    """
    import submitit

    results = [None] * len(jobs)
    todo = []
    for i, job in enumerate(jobs):
        if finished is not None and finished(job):
            results[i] = function(**job)
        else:
            todo.append(i)
    if not todo:
        return results
    cluster = "local" if launcher.kind == "submitit_local" else "slurm"
    executor = submitit.AutoExecutor(pathlib.Path(launcher.logs) / "%j", cluster=cluster)
    executor.update_parameters(
        name=f"{function.__module__}.{function.__name__}", timeout_min=launcher.time_minutes,
        nodes=1, tasks_per_node=1, cpus_per_task=launcher.cpus_per_task,
        gpus_per_node=launcher.gpus_per_job, mem_gb=launcher.mem_gb,
        slurm_partition=launcher.partition or None, slurm_array_parallelism=workers,
        slurm_additional_parameters=dict(launcher.sbatch))
    with executor.batch():
        submitted = {executor.submit(_run_job, function, jobs[i], launcher.cpus_per_task): i
                     for i in todo}
    failures = []
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo),
               desc=f"{desc}, {launcher.kind} jobs", unit="job")
    try:
        # Each poll looks into every job's folder (on a cluster, a shared file system):
        # Slurm jobs last minutes, so look there less often.
        poll = 1 if cluster == "local" else 15
        for job in submitit.helpers.as_completed(list(submitted), poll_frequency=poll):
            i, error = submitted[job], job.exception()
            if error is None:
                results[i] = job.result()
            else:
                label = name(jobs[i]) if name else f"job {i}"
                failures.append(f"  {label}: {_reason(job, error)}\n"
                                f"    stdout: {job.paths.stdout}\n    stderr: {job.paths.stderr}")
            bar.update(1)
    except BaseException:
        # An interrupted stage cancels its jobs: a rerun submits them again, and two jobs must
        # never train in one run folder.
        for job in submitted:
            job.cancel(check=False)
        raise
    finally:
        bar.close()
    if failures:
        raise JobsFailed(f"{len(failures)} of {len(todo)} submitted jobs failed:\n"
                         + "\n".join(failures))
    return results
