"""Dosage measured over the stored pings, in memory bounded by a piece, not by the period.

What ``patrolwise dosage`` and the coming web dashboard both ask: the visits, unknown gaps and
tracked spans of every device over some local days, from the pings in the store, with the
registry's teams and start dates, cleaned, measured, and kept to the dates asked for and to the
days each hot spot was active. One function, so the two cannot give different answers.

Loading every ping of a period at once cost about 1.2 KB a ping (1.1 M pings peaked at 1.3 GB; a
year of 10 M would need 12 GB). Here the pings are read a group of whole devices at a time
(:func:`patrolwise.store.pings.ping_pieces`, planned from a per-device count) and each group is
cleaned and scanned before the next is read (:func:`patrolwise.track.pieces.dosage_in_pieces`);
the answer is the one the all-at-once path gave, to the visit id.

Like :mod:`patrolwise.track_import`, this sits over both the store and the track library: the
library stays free of the database, the CLI and web stay thin.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from .errors import InputError
from .store.db import Store
from .track.dosage import DosageParams, DosageResult
from .track.pieces import CHUNK_PINGS, dosage_in_pieces, keep_days, plan_pieces

#: progress of a run: (pieces done, pieces, pings done, pings)
Progress = Callable[[int, int, int, int], None]


@dataclass
class StoredDosage:
    """What :func:`measure_stored` measured.

    - ``result``: visits (on the dates asked for and their hot spots' active days), unknown gaps
      (active days), tracked spans; ``stats`` with the cleaning summary under ``"cleaning"``
    - ``hotspots``: every stored hot spot, retired ones included (as measured)
    - ``days``: the local days measured: the dates asked for, else the first and last day with
      pings (None when there are none)
    - ``pings``: pings read (a day either side of the dates, set-aside ones included)
    - ``pieces``, ``largest``: how the read was cut, and the pings of the largest piece
    """

    result: DosageResult
    hotspots: gpd.GeoDataFrame
    days: tuple[dt.date | None, dt.date | None]
    pings: int
    pieces: int
    largest: int


def measure_stored(
    store: Store,
    start: dt.date | None,
    end: dt.date | None,
    params: DosageParams,
    *,
    allow_empty: bool = False,
    chunk_pings: int = CHUNK_PINGS,
    workers: int | None = None,
    progress: Progress | None = None,
) -> StoredDosage:
    """Visits and minutes in the stored hot spots from the stored pings, local days ``start`` to
    ``end`` (inclusive, in ``params.tz``; None: open-ended).

    Pings are read a day either side, so a visit crossing midnight is whole, then its parts
    outside the dates are dropped. Pings are read, cleaned and scanned a piece at a time: whole
    devices, about ``chunk_pings`` pings a piece (a device with more is a piece of its own), so
    memory is bounded by the larger of ``chunk_pings`` and the busiest device's pings, not by
    the period. No pings at all is an InputError unless ``allow_empty`` (the daily summary of a
    day when every tracker stayed silent still has a plan to report on).
    """
    from .store.areas import load_areas
    from .store.devices import list_devices
    from .store.pings import device_ping_counts, ping_pieces, snapshot
    from .timeutil import local_days
    from .track.cleaning import device_start_dates

    tz = params.tz
    hs = load_areas(store, "hotspot")
    if hs.empty:
        raise InputError("no hot spots stored: import or detect hot spots first")
    lo = start - dt.timedelta(days=1) if start else None
    hi = end + dt.timedelta(days=1) if end else None
    # the registry's start dates: a fix from before a device existed is a broken clock
    since = device_start_dates(list_devices(store))
    with snapshot(store) as conn:
        counts = device_ping_counts(conn, lo, hi, tz=tz)
        total = int(counts.sum())
        if total == 0 and not allow_empty:
            raise InputError("no pings stored for those dates: run `patrolwise track import` first")
        groups = plan_pieces(counts, chunk_pings)
        sizes = [int(counts.loc[g].sum()) for g in groups]
        pieces = ping_pieces(conn, groups, lo, hi, tz=tz)
        if progress is not None:
            pieces = _reporting(pieces, sizes, total, progress)
        out = dosage_in_pieces(pieces, hs, params, device_since=since, workers=workers)
    if progress is not None:
        progress(len(groups), len(groups), total, total)
    res = keep_days(out.result, hs, start, end)
    cleaning: Any = out.cleaning  # stats are counts, and under "cleaning" the summary of them
    res.stats["cleaning"] = cleaning
    # the local days measured: the dates asked for, else every day with pings (a day whose
    # visits all drop out under new rules was still measured, and its old visits must go)
    first = last = None
    if out.first is not None and out.last is not None:
        first, last = local_days(pd.Series([out.first, out.last]), tz).tolist()
    return StoredDosage(res, hs, (start or first, end or last), out.rows, out.pieces, out.largest)


def _reporting(
    readers: list[Callable[[], pd.DataFrame]], sizes: list[int], total: int, progress: Progress
) -> list[Callable[[], pd.DataFrame]]:
    """The readers, each telling ``progress`` before it reads."""
    before = [0, *itertools.accumulate(sizes)]

    def told(i: int, read: Callable[[], pd.DataFrame]) -> Callable[[], pd.DataFrame]:
        def go() -> pd.DataFrame:
            progress(i, len(readers), before[i], total)
            return read()

        return go

    return [told(i, r) for i, r in enumerate(readers)]
