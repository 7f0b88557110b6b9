"""Run writers side by side, as two people or two service workers would, for concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def side_by_side(fn: Callable[[int], Any], n: int = 2) -> list[Any]:
    """``fn(0)`` ... ``fn(n - 1)`` on ``n`` threads started together; their results in order.

    Fails the test if any raised, showing what each one did (an error in one is often explained
    by what the other was doing).
    """
    done: dict[int, Any] = {}

    def run(k: int) -> None:
        try:
            done[k] = fn(k)
        except Exception as exc:  # reported below, with the others' results
            done[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [v for v in done.values() if isinstance(v, Exception)], done
    return [done[k] for k in range(n)]
