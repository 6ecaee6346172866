"""Run independent jobs in worker processes (one torch thread each) with one progress bar.

A job that takes ``report`` gets a callable ``report(n)`` that advances the bar by ``n`` units
of work (e.g. environment steps) while the job runs, from any worker process; the bar then
counts ``total`` units instead of finished jobs.
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import queue as queues

from tqdm.auto import tqdm


def _init_worker():
    import torch

    torch.set_num_threads(1)


def run_parallel(function, jobs, *, workers=1, desc="jobs", total=None, unit="job"):
    """``[function(**job) for job in jobs]`` in ``workers`` processes; results keep job order.

    With ``total`` (units of work over all jobs) every job is called with ``report=`` and the
    bar shows units (``unit``) as they are reported; otherwise it counts finished jobs.
    """
    jobs = list(jobs)
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
