"""Side-by-side work: results in order, whatever the threads, and one task a thread."""

from __future__ import annotations

import threading
import time

import pytest

from patrolwise.errors import InputError
from patrolwise.track.parallel import check_workers, map_shares, run_threaded


@pytest.mark.parametrize("workers", [1, 2, 3, 5, 16])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 8])
def test_map_shares_answers_in_item_order(workers: int, n: int) -> None:
    items = [(i, i * i) for i in range(n)]
    assert map_shares(lambda a, b: (a, b, a + b), items, workers) == [
        (a, b, a + b) for a, b in items
    ]


def test_map_shares_runs_one_contiguous_share_per_thread() -> None:
    """Eight items on two threads: two tasks of four items each, each share on one thread, and
    the two shares side by side (each item waits, so one thread alone would take twice as long
    as the overlap shows)."""
    seen: list[tuple[int, int, float, float]] = []
    lock = threading.Lock()

    def work(i: int) -> int:
        t0 = time.perf_counter()
        time.sleep(0.02)
        with lock:
            seen.append((i, threading.get_ident(), t0, time.perf_counter()))
        return -i

    assert map_shares(work, [(i,) for i in range(8)], 2) == [-i for i in range(8)]
    by_item = {i: tid for i, tid, _, _ in seen}
    assert len({by_item[i] for i in range(4)}) == 1 and len({by_item[i] for i in range(4, 8)}) == 1
    assert by_item[0] != by_item[4]
    first = {tid: min(t0 for _, t, t0, _ in seen if t == tid) for tid in set(by_item.values())}
    last = {tid: max(t1 for _, t, _, t1 in seen if t == tid) for tid in set(by_item.values())}
    assert max(first.values()) < min(last.values())  # the shares overlapped in time


def test_run_threaded_keeps_order_and_workers_are_checked() -> None:
    assert run_threaded([lambda i=i: i * 10 for i in range(5)], 2) == [0, 10, 20, 30, 40]
    assert check_workers(3) == 3
    with pytest.raises(InputError, match="workers must be >= 1"):
        check_workers(0)
