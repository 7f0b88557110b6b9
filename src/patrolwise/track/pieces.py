"""Dosage over pings that arrive in pieces of whole devices, in memory bounded by a piece.

A year of a force's fixes is tens of millions of rows: about 1.2 KB each as a loaded frame,
more than a laptop holds. Cleaning needs each device's fixes in time order (the speed and jump
rules compare a fix with the device's kept fixes either side of it), and the dosage engine
already works chunk by chunk (:func:`~patrolwise.track.dosage.scan_chunks`, then one
:func:`~patrolwise.track.dosage.stitch` and :func:`~patrolwise.track.dosage.finalise`). So a
piece is a group of whole devices, every fix of each in the period: it is cleaned on its own,
scanned, and let go; only its runs (a few per visit) are kept for the one stitch at the end.

The answer is the one :func:`~patrolwise.track.cleaning.clean_pings` and
:func:`~patrolwise.track.dosage.compute_dosage` give on all the pings at once, whatever the
pieces: unit codes are made global before stitching (they follow the sorted (device, team)
order, as :func:`~patrolwise.track.dosage.unit_codes` numbers them), so runs, visit ids and
their order are the same; the cleaning counts are summed.

Pure library: the pieces come from any iterable of frames or of functions reading them (the
store's readers are :func:`patrolwise.store.pings.ping_pieces`; :mod:`patrolwise.stored_dosage`
ties them together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from .cleaning import FLAGS, CleaningRules, clean_pings
from .dosage import (
    ChunkScan,
    DosageParams,
    DosageResult,
    HotSpots,
    finalise,
    on_active_days,
    prepare_hotspots,
    scan_chunks,
    sort_pings,
    stitch,
    unit_codes,
)

#: pings per piece by default. Measured (benchmarks/stored_dosage.py: 1.35 M stored pings of
#: 420 trackers) as peak memory above the libraries' own: 0.45 GB in pieces of at most 1 M
#: (about 350 bytes a ping of the largest piece, plus ~0.1 GB for the hot spots' index and the
#: runs) and 0.22 GB in pieces of 250 k, against 1.35 GB all at once (1.8 GB on PostgreSQL);
#: smaller pieces were no slower
CHUNK_PINGS = 1_000_000

#: devices per piece at most: the store selects a piece's devices by name, and SQLite before
#: 3.32 allowed only 999 parameters in one statement
MAX_DEVICES = 500


def plan_pieces(
    counts: pd.Series, chunk_pings: int = CHUNK_PINGS, max_devices: int = MAX_DEVICES
) -> list[list[str]]:
    """Devices grouped into pieces of at most ``chunk_pings`` pings (``counts``: pings per
    device, indexed by device id), in sorted device order.

    A device is never split (cleaning needs all of its fixes in order), so a device with more
    pings than the budget is a piece of its own: memory is bounded by the larger of the budget
    and the busiest device's pings in the period. Devices without pings are left out.
    """
    if chunk_pings < 1:
        raise InputError(f"chunk_pings must be >= 1, got {chunk_pings}")
    c = counts[counts > 0]
    devices = sorted(str(d) for d in c.index)
    n = dict(zip((str(d) for d in c.index), c.to_numpy(np.int64).tolist(), strict=True))
    pieces: list[list[str]] = []
    size = 0
    for d in devices:  # one step per device, not per ping
        if pieces and size + n[d] <= chunk_pings and len(pieces[-1]) < max_devices:
            pieces[-1].append(d)
            size += n[d]
        else:
            pieces.append([d])
            size = n[d]
    return pieces


@dataclass
class PiecesDosage:
    """What :func:`dosage_in_pieces` measured.

    - ``result``: the dosage result (stats as :func:`compute_dosage` gives them)
    - ``cleaning``: the cleaning summary, as ``clean_pings(...).attrs["cleaning"]`` on all the
      pings at once (counts summed over the pieces)
    - ``rows``: pings read, set-aside ones included; ``first``/``last``: the earliest and latest
      believable times among them (cleaning's ``span``: a broken clock's 2031 or 1999 is not a
      day measured; naive UTC; None without such pings)
    - ``pieces``, ``largest``: how many pieces, and the rows of the largest (the memory bound)
    - ``devices``: every device read, sorted
    """

    result: DosageResult
    cleaning: dict[str, Any]
    rows: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    pieces: int = 0
    largest: int = 0
    devices: list[str] = field(default_factory=list)


def merge_cleaning(parts: list[dict[str, Any]], rules: CleaningRules) -> dict[str, Any]:
    """Cleaning summaries of pieces as the one summary of all their pings: counts summed, flags
    listed in :data:`~patrolwise.track.cleaning.FLAGS` order and only when some row has them.

    Every flag is decided within one device, so the flag counts are exact. ``out_of_order``
    counts rows that came out of (device, time) order within each piece: stored pings come in
    order, so it is 0 where the database orders device ids as Python does (SQLite; PostgreSQL
    in the C collation); under another collation the all-at-once read counted each place its
    device order differed, and pieces count those inside them.
    """
    flags = {f: sum(int(p.get("flags", {}).get(f, 0)) for p in parts) for f in FLAGS}
    return {
        "rows": sum(int(p.get("rows", 0)) for p in parts),
        "kept": sum(int(p.get("kept", 0)) for p in parts),
        "out_of_order": sum(int(p.get("out_of_order", 0)) for p in parts),
        "flags": {f: v for f, v in flags.items() if v},
        "rules": rules.as_dict(),
    }


def _ms(t: pd.Series) -> NDArray[np.int64]:
    """Naive-UTC times (as cleaning leaves them) in epoch milliseconds."""
    return np.asarray(t.to_numpy().astype("datetime64[ms]").astype(np.int64))


def dosage_in_pieces(
    pieces: Iterable[pd.DataFrame | Callable[[], pd.DataFrame]],
    hotspots: gpd.GeoDataFrame | HotSpots,
    params: DosageParams | None = None,
    *,
    rules: CleaningRules | None = None,
    device_since: dict[str, dt.date | dt.datetime] | None = None,
    now: dt.datetime | None = None,
    chunk_size: int = 1 << 20,
    workers: int | None = None,
) -> PiecesDosage:
    """Clean and measure pings piece by piece: the answer of ``compute_dosage(clean_pings(all))``.

    Each piece (device_id, team, t, x, y and what cleaning reads: accuracy, device_flag or attrs)
    must hold *whole* devices, every fix of each in the period: a device seen in two pieces is an
    InputError, as its cleaning would miss the fixes either side of the cut. A piece is a frame
    or a function that reads it: given readers, only the piece being measured is in memory (with
    the runs of those before it), and it is let go once cleaned. ``now`` fixes the clock of the
    ``future`` rule for every piece (default: when this is called).
    """
    params = params or DosageParams()
    rules = rules or CleaningRules()
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    hs = (
        hotspots
        if isinstance(hotspots, HotSpots)
        else prepare_hotspots(hotspots, params.buffer_m, workers)
    )
    seen: set[str] = set()
    cleaning: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []  # each piece's units (device_id, team), local code = row
    scans: list[list[ChunkScan]] = []
    rows = n_pieces = largest = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    for item in pieces:
        piece = item() if callable(item) else item
        del item  # a frame: held only here from now on
        n_pieces += 1
        rows += len(piece)
        largest = max(largest, len(piece))
        devs = set(piece["device_id"].astype(str).unique().tolist())
        again = seen & devs
        if again:
            raise InputError(
                f"device {sorted(again)[0]!r} is in two pieces: each piece must hold every "
                "ping of its devices, or cleaning cannot see the fixes either side of the cut"
            )
        seen |= devs
        cleaned = clean_pings(piece, rules, now=now, device_since=device_since, tz=params.tz)
        del piece  # the cleaned copy is all that is needed from here
        cleaning.append(cleaned.attrs["cleaning"])
        span = cleaned.attrs.get("span")
        if span is not None:
            lo, hi = span
            first = lo if first is None else min(first, lo)
            last = hi if last is None else max(last, hi)
        kept = cleaned.loc[cleaned["flag"].isna().to_numpy(), ["device_id", "team", "t", "x", "y"]]
        del cleaned
        unit, units = unit_codes(kept)
        t_ms = _ms(kept["t"])
        x = kept["x"].to_numpy(np.float64)
        y = kept["y"].to_numpy(np.float64)
        del kept
        order = sort_pings(unit, t_ms, x, y)
        if order is not None:
            unit, t_ms, x, y = unit[order], t_ms[order], x[order], y[order]
        scans.append(scan_chunks(unit, t_ms, x, y, hs, params, chunk_size, workers))
        tables.append(units)
        del unit, t_ms, x, y, order
    units, scans_all = _global_units(tables, scans)
    res = finalise(stitch(scans_all, params.max_gap_ms), params, units, hs.area_ids)
    return PiecesDosage(
        res,
        merge_cleaning(cleaning, rules),
        rows=rows,
        first=first,
        last=last,
        pieces=n_pieces,
        largest=largest,
        devices=sorted(seen),
    )


def _global_units(
    tables: list[pd.DataFrame], scans: list[list[ChunkScan]]
) -> tuple[pd.DataFrame, list[ChunkScan]]:
    """One unit table for all pieces, numbered as :func:`unit_codes` numbers all the pings at
    once (sorted device, then team), and every piece's scans renumbered to it."""
    local = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame({"device_id": [], "team": []}, dtype=object)
    )
    # unit_codes itself orders them, so the codes cannot drift from the all-at-once numbering
    code, units = unit_codes(local.assign(t=0, x=0.0, y=0.0))
    out: list[ChunkScan] = []
    at = 0
    for table, piece_scans in zip(tables, scans, strict=True):
        to_global = code[at : at + len(table)]
        at += len(table)
        for sc in piece_scans:
            sc.runs["unit"] = to_global[sc.runs["unit"]]
            sc.edges["unit"] = to_global[np.asarray(sc.edges["unit"], dtype=np.int64)]
            out.append(sc)
    return units, out


def keep_days(
    res: DosageResult, areas: pd.DataFrame, start: dt.date | None, end: dt.date | None
) -> DosageResult:
    """Visits on the local days asked for, and visits and unknown gaps only on the days their
    hot spot was active (:func:`~patrolwise.track.dosage.on_active_days`).

    The pings were read a day either side of the dates, so a visit across midnight is whole;
    its parts outside the dates go here. A retired hot spot's visits count only on its active
    days, else a redrawn one is counted twice. Changes ``res`` in place and returns it.
    """
    keep = pd.Series(True, index=res.visits.index)
    if start:
        keep &= res.visits["local_day"] >= start
    if end:
        keep &= res.visits["local_day"] <= end
    res.visits = on_active_days(res.visits[keep].reset_index(drop=True), areas)
    res.unknown = on_active_days(res.unknown, areas)
    return res
