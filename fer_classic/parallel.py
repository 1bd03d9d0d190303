"""Running a function over many items in parallel chunks, with a progress bar on stderr."""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm


def effective_n_jobs(n_jobs: int | None) -> int:
    """joblib's convention: None or -1 is every core, -2 all but one, a positive number is itself."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return cores
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def map_in_chunks(func: Callable[[Sequence], Sequence], items: Sequence, *, n_jobs: int | None = None,
                  progress: bool = False, desc: str = "", chunk_size: int | None = None) -> list | np.ndarray:
    """``func`` applied to consecutive chunks of ``items`` in worker processes, results joined.

    ``func`` takes a chunk and returns one result per item (a list, or an array whose rows are the
    results), so results keep the items' order: a list, or one concatenated array.
    With one job (or one chunk) it runs in this process, without start-up cost.
    """
    from .cluster import current_cluster

    n = len(items)
    cluster = current_cluster()
    jobs = cluster["workers"] if cluster and n_jobs != 1 else effective_n_jobs(n_jobs)
    if chunk_size is None:
        # Several chunks per worker keep both cores busy and the progress bar moving.
        chunk_size = max(64, min(2000, -(-n // (jobs * 8)) if n else 1))
    chunks = [items[i:i + chunk_size] for i in range(0, n, chunk_size)]
    # A bar redraws itself with carriage returns: only on a terminal, never into a redirected log.
    bar = tqdm(total=n, desc=desc, unit="img", disable=not (progress and sys.stderr.isatty()), leave=False,
               dynamic_ncols=True)
    parts: list = []
    try:
        if jobs == 1 or len(chunks) <= 1:
            results = (func(c) for c in chunks)
        else:
            results = Parallel(n_jobs=jobs, return_as="generator")(delayed(call_unpacked)(func, (c,))
                                                                   for c in chunks)
        for chunk_result in results:
            parts.append(chunk_result)
            bar.update(len(chunk_result))
    finally:
        bar.close()
    if parts and all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    return [r for p in parts for r in p]


def call_unpacked(func, packed: tuple):
    """``func(*packed)``. Arguments travel packed in a tuple because joblib's Dask backend scatters
    large array arguments to a single worker, where they are lost if that worker dies; inside a
    tuple they stay part of the task, which Dask can then run again elsewhere."""
    _leave_interrupts_to_the_parent()
    return func(*packed)


def _leave_interrupts_to_the_parent() -> None:
    """In a joblib worker process, ignore Ctrl-C: the terminal sends it to every process of the job, and
    the parent alone should answer it (it stops the workers), not each worker with a traceback."""
    import multiprocessing
    import signal

    if multiprocessing.current_process().name.startswith("LokyProcess"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
