"""Side-by-side work on this machine's cores, on Dask's threaded scheduler.

The track stage's heavy steps (compiled kernels, GEOS through shapely) release the GIL, so
threads share the input arrays without copying or pickling them; Dask's threaded scheduler runs
them (the project's rule: scale-out on Dask, not a home-made pool).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from ..errors import InputError

T = TypeVar("T")


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_workers(workers: int | None) -> int:
    """``workers`` as a count (None: every core), refusing zero and negatives."""
    w = default_workers() if workers is None else int(workers)
    if w < 1:
        raise InputError(f"workers must be >= 1, got {w}")
    return w


def run_threaded(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Each task's result, in order, from ``workers`` threads (in this thread when 1 or fewer
    tasks or workers).

    A plain task graph for Dask's threaded scheduler: ``dask.delayed`` + ``dask.compute`` cost
    ~3 ms more for ten tasks (graph objects, optimisation) and buy nothing for independent
    tasks.
    """
    workers = min(workers, len(tasks))
    if workers <= 1:
        return [t() for t in tasks]
    import dask.threaded

    keys = [("task", i) for i in range(len(tasks))]
    graph = {k: (tasks[k[1]],) for k in keys}
    return list(dask.threaded.get(graph, keys, num_workers=workers))


def map_shares(fn: Callable[..., T], items: Sequence[tuple[Any, ...]], workers: int) -> list[T]:
    """``[fn(*item) for item in items]``, each of ``workers`` threads taking one contiguous
    share of the items as a single task (items of about equal work): Dask's cost per task, ~0.1 ms
    of a thread waiting here, is paid once a thread rather than once an item."""
    shares = min(workers, len(items))
    cuts = [round(i * len(items) / max(shares, 1)) for i in range(shares + 1)]
    tasks = [partial(_run_share, fn, items[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    return [r for share in run_threaded(tasks, workers) for r in share]


def _run_share(fn: Callable[..., T], items: Sequence[tuple[Any, ...]]) -> list[T]:
    return [fn(*item) for item in items]
