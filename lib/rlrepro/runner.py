"""Run independent jobs in worker processes (one torch thread each) with a progress bar."""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing

from tqdm.auto import tqdm


def _init_worker():
    import torch

    torch.set_num_threads(1)


def run_parallel(function, jobs, *, workers=1, desc="jobs"):
    """``[function(**job) for job in jobs]``, in ``workers`` processes; results keep job order."""
    jobs = list(jobs)
    if workers <= 1:
        _init_worker()
        return [function(**job) for job in tqdm(jobs, desc=desc)]
    results = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        pending = {pool.submit(function, **job): i for i, job in enumerate(jobs)}
        for done in tqdm(futures.as_completed(pending), total=len(jobs), desc=desc):
            results[pending[done]] = done.result()
    return results
