"""Patrol dosage: visits, officer-minutes and patrol-minutes in hot spots, from GPS pings.

The engine is array code in three steps, so the same answer comes from one process, from a file
streamed in chunks, or from Dask partitions (see :mod:`patrolwise.track.scaleout`):

1. :func:`scan_chunk` takes a slice of pings sorted by device and time and finds *runs*: maximal
   sequences of consecutive fixes of one device in one hot spot (or within ``buffer_m`` of it)
   with no gap longer than ``max_gap``; and *spans*: the same over any place (time the device
   was being tracked).
2. :func:`stitch` joins runs and spans that were cut at chunk boundaries.
3. :func:`finalise` drops runs shorter than ``min_visit`` (drive-through passes), splits what is
   left at local midnight, and names devices, teams and hot spots.

A visit lasts from its first fix inside to its last fix inside (entering at 14:02 and leaving at
14:42 is 40 minutes). A gap longer than ``max_gap`` between two fixes ends a visit: we do not know
where the device was, so those minutes count as *unknown*, never as present.

Defaults and why:

- ``buffer_m = 10``: smartphone and tracker fixes in streets are typically within 5-10 m of the
  truth, so an officer standing on a hot spot's edge should not drop in and out of it. A fix
  counts when it is within that distance of the polygon, exactly (``shapely.dwithin``), not in
  a GEOS buffer of it (whose round corners are chords: up to ~5 cm short at 10 m).
- ``max_gap_s = 300``: trackers report every 5-60 s; five silent minutes mean the phone stopped,
  not that the fixes were merely sparse. Raise it to twice the reporting interval for apps set to
  report less often (Traccar Client defaults to every 300 s: use 600).
- ``min_visit_s = 300``: walking through a 150 m hot spot takes about 2 minutes and driving through
  it well under one; five minutes separates a patrol from passing through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from . import kernels as _k
from . import run_kernels as _rk
from .localtime import local_days, local_midnights, offset_table
from .locate import locate_labels
from .parallel import check_workers, run_threaded
from .parallel import default_workers as default_workers  # re-exported: its old home
from .prepared import HotSpots as HotSpots  # re-exported: its old home
from .prepared import prepare_hotspots as prepare_hotspots

MS = 1000
MIN_MS = 60_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class DosageParams:
    """Rules of the dosage count (see the module docstring for why these defaults)."""

    buffer_m: float = 10.0
    max_gap_s: float = 300.0
    min_visit_s: float = 300.0
    tz: str = "Europe/London"

    def __post_init__(self) -> None:
        for opt, v in (
            ("--buffer", self.buffer_m),
            ("--max-gap", self.max_gap_s),
            ("--min-visit", self.min_visit_s),
        ):
            if not np.isfinite(v):
                raise InputError(f"{opt} must be a finite number, got {v}")
        if self.buffer_m < 0:
            raise InputError(f"--buffer must be >= 0 metres, got {self.buffer_m}")
        # in minutes, as the options are given: '--min-visit -1' was answered 'got -60.0 s'
        if self.max_gap_s <= 0:
            raise InputError(f"--max-gap must be more than 0 minutes, got {self.max_gap_s / 60:g}")
        if self.min_visit_s < 0:
            raise InputError(
                f"--min-visit must be 0 minutes or more, got {self.min_visit_s / 60:g}"
            )

    @property
    def max_gap_ms(self) -> int:
        return int(round(self.max_gap_s * MS))

    @property
    def min_visit_ms(self) -> int:
        return int(round(self.min_visit_s * MS))

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


@dataclass
class ChunkScan:
    """Runs and spans of one chunk, in chunk-local terms, ready to stitch."""

    chunk: int
    #: runs (poly >= 0) and tracked spans (poly == -1): unit, poly, t0, t1, n, at_first, at_last
    runs: dict[str, NDArray]
    #: pings per local day for runs that cross local midnight: run row, day, n
    run_days: dict[str, NDArray]
    #: per unit in the chunk: unit, first_t, last_t
    edges: dict[str, NDArray]
    n_pings: int = 0
    n_duplicates: int = 0


def local_day_numbers(t_ms: NDArray[np.int64], tz: str) -> NDArray[np.int64]:
    """Local calendar day (days since 1970-01-01 in ``tz``) of each UTC millisecond time.

    By a table of the zone's offset changes (:mod:`patrolwise.track.localtime`): pandas' answers
    for a small fraction of its per-call and per-value cost.
    """
    return local_days(t_ms, tz)


def local_midnights_ms(days: NDArray[np.int64], tz: str) -> NDArray[np.int64]:
    """UTC milliseconds of the start (local midnight) of each local day number."""
    return local_midnights(days, tz)


def _empty_runs() -> dict[str, NDArray]:
    return {
        "unit": np.zeros(0, np.int64),
        "poly": np.zeros(0, np.int32),
        "t0": np.zeros(0, np.int64),
        "t1": np.zeros(0, np.int64),
        "n": np.zeros(0, np.int64),
        "at_first": np.zeros(0, bool),
        "at_last": np.zeros(0, bool),
    }


def _argsort_keys(key: NDArray[np.int64]) -> NDArray[np.int64]:
    """Stable argsort of int64 keys.

    numpy sorts plain integers with vector instructions, about three times faster than it
    argsorts them; with each row's position packed into the low bits of its key (as uint64, so
    all 64 bits serve), the sorted values carry the order, stable by construction. Wider keys
    take numpy's fast unstable argsort when no two are equal (then any order is the stable one)
    and its stable argsort otherwise.
    """
    n = len(key)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    ib = int(n - 1).bit_length()
    lo = int(key.min())
    if int(key.max()) - lo < 1 << (64 - ib):
        packed = (key - lo).view(np.uint64) if lo else key.astype(np.uint64)
        packed <<= np.uint64(ib)
        packed |= np.arange(n, dtype=np.uint64)
        packed.sort()
        packed &= np.uint64((1 << ib) - 1)
        return packed.view(np.int64)
    o = np.argsort(key)
    ks = key[o]
    if (ks[1:] == ks[:-1]).any():
        return np.argsort(key, kind="stable")
    return o


def _join(head: NDArray[np.int64], order: NDArray[np.int64], tail: NDArray, dtype: type) -> NDArray:
    """``concatenate([head[order], tail]).astype(dtype)`` in one output array, no temporaries."""
    out: NDArray = np.empty(len(order) + len(tail), dtype=dtype)
    if out.dtype == head.dtype:
        np.take(head, order, out=out[: len(order)])
    else:
        out[: len(order)] = head[order]
    out[len(order) :] = tail
    return out


def scan_chunk(
    unit: NDArray[np.int64],
    t_ms: NDArray[np.int64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    hotspots: HotSpots,
    params: DosageParams,
    chunk: int = 0,
) -> ChunkScan:
    """Runs inside hot spots and tracked spans for pings sorted by (unit, time).

    ``unit`` is an integer code per device (and team); codes must mean the same in every chunk.
    Exact duplicate times of one unit keep their first fix. Safe to run on several threads at
    once: the compiled passes release the GIL and nothing is shared but read-only inputs.
    """
    n = len(t_ms)
    if n == 0:
        return ChunkScan(chunk, _empty_runs(), _empty_run_days(), _empty_edges())
    unit = np.ascontiguousarray(unit, dtype=np.int64)
    t_ms = np.ascontiguousarray(t_ms, dtype=np.int64)
    # which hot spot holds each ping, then the visit state machine: two compiled passes (one
    # pass locating as it went measured no faster: the labels stay in cache between them)
    index = hotspots.index
    first, e_ping, e_poly = locate_labels(index, x, y)
    status, r, s, e, n_dup = _k.scan_runs(
        unit, t_ms, first, e_ping, e_poly, params.max_gap_ms, index.depth
    )
    if status != _k.SORTED:
        raise InputError("pings must be sorted by device and time before scanning")
    n -= n_dup
    nr, ns = r.shape[1], s.shape[1]
    # runs in (polygon, first ping) order, as the array version produced them (keys unique),
    # then the spans: each column gathered straight into its place
    o = _argsort_keys(r[1] * (int(r[7].max(initial=0)) + 1) + r[7])
    allr = {
        "unit": _join(r[0], o, s[0], np.int64),
        "poly": _join(r[1], o, np.full(ns, -1), np.int32),
        "t0": _join(r[2], o, s[1], np.int64),
        "t1": _join(r[3], o, s[2], np.int64),
        "n": _join(r[4], o, s[3], np.int64),
        "at_first": _join(r[5], o, s[4], np.bool_),
        "at_last": _join(r[6], o, s[5], np.bool_),
    }
    p0, p1 = r[7][o], r[8][o]
    run_days = _empty_run_days()
    if nr:
        # pings per local day: needed for runs whose ends fall on different local days, and for
        # runs touching the chunk's edges (stitching may join them across midnight)
        t0, t1 = allr["t0"][:nr], allr["t1"][:nr]
        table = offset_table(params.tz, int(t0.min()), int(t1.max()))
        d0 = local_days(t0, params.tz, table)
        d1 = local_days(t1, params.tz, table)
        multi = np.flatnonzero(d0 != d1)
        edge = np.flatnonzero((d0 == d1) & (allr["at_first"][:nr] | allr["at_last"][:nr]))
        k_row, k_day, k_n = (np.zeros(0, np.int64) for _ in range(3))
        if len(multi):
            cnt = p1[multi] - p0[multi] + 1
            rows = np.repeat(multi, cnt)
            pp = np.repeat(p0[multi], cnt) + (
                np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            )
            if n_dup:  # a run's range of pings holds the duplicates skipped inside it
                dup = np.zeros(len(pp), dtype=bool)
                inner = pp > np.repeat(p0[multi], cnt)
                q = pp[inner]
                dup[inner] = (unit[q] == unit[q - 1]) & (t_ms[q] == t_ms[q - 1])
                rows, pp = rows[~dup], pp[~dup]
            days = local_days(t_ms[pp], params.tz, table)
            # rows ascend and each run's pings are in time order: count runs of equal (row, day)
            # (a day seen again after the clocks go back over midnight is a second entry, which
            # stitch sums)
            new = np.ones(len(rows), dtype=bool)
            new[1:] = (rows[1:] != rows[:-1]) | (days[1:] != days[:-1])
            at = np.flatnonzero(new)
            k_row, k_day = rows[at], days[at]
            k_n = np.diff(np.append(at, len(rows)))
        run_days = {
            "row": np.concatenate([k_row, edge]),
            "day": np.concatenate([k_day, d0[edge]]),
            "n": np.concatenate([k_n, allr["n"][edge]]),
        }
    edges = {"unit": e[0], "first_t": e[1], "last_t": e[2]}
    return ChunkScan(chunk, allr, run_days, edges, n_pings=n, n_duplicates=n_dup)


def _empty_run_days() -> dict[str, NDArray]:
    return {"row": np.zeros(0, np.int64), "day": np.zeros(0, np.int64), "n": np.zeros(0, np.int64)}


def _empty_edges() -> dict[str, NDArray]:
    return {
        "unit": np.zeros(0, np.int64),
        "first_t": np.zeros(0, np.int64),
        "last_t": np.zeros(0, np.int64),
    }


@dataclass
class Stitched:
    """Runs (poly >= 0) and spans (poly == -1) whole again, with pings per local day.

    Kept as int64 columns: :func:`finalise` reads arrays, and two pandas frames made here and
    taken apart there cost about a tenth of a cold dosage call at 1M pings. :attr:`runs` and
    :attr:`run_days` show them as frames."""

    run_cols: dict[str, NDArray[np.int64]]  # run, unit, poly, t0, t1, n
    day_cols: dict[str, NDArray[np.int64]]  # run, day, n  (only runs crossing local midnight)
    n_pings: int = 0
    n_duplicates: int = 0

    @property
    def runs(self) -> pd.DataFrame:
        """The runs and spans: run, unit, poly, t0, t1, n."""
        return pd.DataFrame(self.run_cols, columns=RUN_FRAME, copy=False)

    @property
    def run_days(self) -> pd.DataFrame:
        """Pings per (run, local day), for runs crossing local midnight: run, day, n."""
        return pd.DataFrame(self.day_cols, columns=DAY_FRAME, copy=False)


RUN_FRAME = ("run", "unit", "poly", "t0", "t1", "n")
DAY_FRAME = ("run", "day", "n")


def stitch(scans: Iterable[ChunkScan], max_gap_ms: int) -> Stitched:
    """Join runs and spans cut by chunk boundaries.

    Chunks must come in time order for each unit (as slices of a sorted file, or archive
    partitions ordered by day). A run ending on a unit's last fix in one chunk continues into the
    unit's next chunk if that chunk's first fix is in the same place within ``max_gap``.

    Runs are numbered in (unit, polygon, start) order: one sort of packed (unit, polygon) keys
    and one compiled pass over the rows in that order (:func:`run_kernels.join_runs`).
    """
    keys = ("unit", "poly", "t0", "t1", "n", "at_first", "at_last")
    cols: dict[str, list[NDArray]] = {k: [] for k in keys}
    lens, d_row, d_day, d_n, e_unit, e_chunk = [], [], [], [], [], []
    offset = n_pings = n_dup = 0
    for order, sc in enumerate(scans):
        m = len(sc.runs["t0"])
        for k in keys:
            cols[k].append(np.asarray(sc.runs[k]))
        lens.append(m)
        d_row.append(np.asarray(sc.run_days["row"], dtype=np.int64) + offset)
        d_day.append(np.asarray(sc.run_days["day"], dtype=np.int64))
        d_n.append(np.asarray(sc.run_days["n"], dtype=np.int64))
        e_unit.append(np.asarray(sc.edges["unit"], dtype=np.int64))
        e_chunk.append(np.full(len(sc.edges["unit"]), order, dtype=np.int64))
        offset += m
        n_pings += sc.n_pings
        n_dup += sc.n_duplicates
    if offset == 0:
        return Stitched(
            {c: np.zeros(0, np.int64) for c in RUN_FRAME},
            _empty_days(),
            n_pings=n_pings,
            n_duplicates=n_dup,
        )
    unit = np.concatenate(cols["unit"]).astype(np.int64, copy=False)
    poly = np.concatenate(cols["poly"]).astype(np.int64)
    t0 = np.concatenate(cols["t0"]).astype(np.int64, copy=False)
    args = (
        unit,
        poly,
        t0,
        np.concatenate(cols["t1"]).astype(np.int64, copy=False),
        np.concatenate(cols["n"]).astype(np.int64, copy=False),
        np.concatenate(cols["at_first"]).astype(bool, copy=False),
        np.concatenate(cols["at_last"]).astype(bool, copy=False),
        np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
        *_next_chunk_table(e_unit, e_chunk),
        max_gap_ms,
    )
    status, g, ng, run_of_row = _rk.join_runs(_group_order(unit, poly, t0), *args)
    if status != _rk.JOINED:  # chunks out of time order for some unit: sort by start too
        status, g, ng, run_of_row = _rk.join_runs(_order(unit, poly, t0), *args)
    out = {
        "run": np.arange(ng, dtype=np.int64),
        "unit": g[0, :ng],
        "poly": g[1, :ng],
        "t0": g[2, :ng],
        "t1": g[3, :ng],
        "n": g[4, :ng],
    }
    rows = np.concatenate(d_row)
    if len(rows):
        r, dd, nn = run_of_row[rows], np.concatenate(d_day), np.concatenate(d_n)
        o = np.lexsort((dd, r))
        r, dd, nn = r[o], dd[o], nn[o]
        new = np.ones(len(r), dtype=bool)
        new[1:] = (r[1:] != r[:-1]) | (dd[1:] != dd[:-1])
        st = np.flatnonzero(new)
        days = {"run": r[st], "day": dd[st], "n": np.add.reduceat(nn, st)}
    else:
        days = _empty_days()
    return Stitched(out, days, n_pings=n_pings, n_duplicates=n_dup)


def _empty_days() -> dict[str, NDArray[np.int64]]:
    return {c: np.zeros(0, np.int64) for c in DAY_FRAME}


def _next_chunk_table(
    e_unit: list[NDArray[np.int64]], e_chunk: list[NDArray[np.int64]]
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Each (unit, chunk) with pings, as sorted keys ``unit * n_chunks + chunk``, with the next
    chunk holding that unit's pings (or -1), and ``n_chunks``."""
    eu, ec = np.concatenate(e_unit), np.concatenate(e_chunk)
    n_chunks = int(ec.max(initial=0)) + 2
    eo = np.lexsort((ec, eu))
    eu, ec = eu[eo], ec[eo]
    nxt = np.full(len(eu), -1, dtype=np.int64)
    same = eu[1:] == eu[:-1]
    nxt[:-1][same] = ec[1:][same]
    return eu * n_chunks + ec, nxt, n_chunks


def _group_order(
    unit: NDArray[np.int64], poly: NDArray[np.int64], t0: NDArray[np.int64]
) -> NDArray[np.int64]:
    """A stable order by (unit, poly): ``np.lexsort((t0, poly, unit))`` when, as usual, that
    leaves each (unit, poly) in start order already.

    Each chunk lists a unit's runs of one polygon in time order and chunks come in time order
    for each unit, so sorting by (unit, poly) alone is enough; :func:`join_runs` checks it and
    the caller falls back to the full sort (:func:`_order`) if not.
    """
    n = len(t0)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    npoly = int(poly.max()) + 2
    if unit.min() >= 0 and poly.min() >= -1 and (int(unit.max()) + 1) * npoly < 1 << 62:
        key = unit * npoly + (poly + 1)
        n_keys = (int(unit.max()) + 1) * npoly
        if n_keys <= 4 * n + (1 << 16):  # a counting sort: no comparisons at all
            return _rk.counting_order(key, n_keys)
        return _argsort_keys(key)
    return _order(unit, poly, t0)


def _order(
    unit: NDArray[np.int64], poly: NDArray[np.integer], t0: NDArray[np.int64]
) -> NDArray[np.int64]:
    """``np.lexsort((t0, poly, unit))`` (stable), as two single-key sorts when the keys pack into
    int64 (about twice as fast: lexsort makes three stable passes)."""
    n = len(t0)
    if n < 2:
        return np.arange(n)
    rel = t0 - t0.min()
    npoly = int(poly.max()) + 2
    ib = max(int(n - 1).bit_length(), 1)
    if (
        unit.min() < 0
        or int(rel.max()) >= 1 << (62 - ib)
        or (int(unit.max()) + 1) * npoly >= (1 << 62) // n
    ):
        return np.lexsort((t0, poly, unit))
    # rank of each row by (t0, position): ties keep their order, as lexsort's stable passes do
    by_t = np.argsort((rel << ib) | np.arange(n, dtype=np.int64))
    rank = np.empty(n, dtype=np.int64)
    rank[by_t] = np.arange(n, dtype=np.int64)
    key = (unit.astype(np.int64) * npoly + (poly.astype(np.int64) + 1)) * n + rank
    return np.argsort(key)


@dataclass
class DosageResult:
    """Everything the dosage engine knows, as tables with named devices, teams and hot spots.

    - ``visits``: device_id, team, area_id, start, end, minutes, n_pings, local_day, visit_id
      (one row per visit and local day; ``visit_id`` links the parts of a visit across midnight)
    - ``unknown``: device_id, team, area_id, start, end, minutes, local_day: a device went silent
      for longer than ``max_gap`` between two fixes inside the same hot spot
    - ``tracked``: device_id, team, start, end: spans when a device was reporting
    """

    visits: pd.DataFrame
    unknown: pd.DataFrame
    tracked: pd.DataFrame
    params: DosageParams
    stats: dict[str, int] = field(default_factory=dict)


VISIT_COLUMNS = [
    "device_id",
    "team",
    "area_id",
    "start",
    "end",
    "minutes",
    "n_pings",
    "local_day",
    "visit_id",
]


def _to_dt(ms: NDArray[np.int64]) -> NDArray[np.datetime64]:
    return np.asarray(ms, dtype=np.int64).astype("datetime64[ms]")


def split_by_local_day(
    t0: NDArray[np.int64], t1: NDArray[np.int64], tz: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Cut intervals at local midnight: (row, day, start, end) per part, in milliseconds."""
    t0 = np.asarray(t0, dtype=np.int64)
    t1 = np.asarray(t1, dtype=np.int64)
    if len(t0) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), e.copy(), e.copy()
    table = offset_table(tz, int(min(t0.min(), t1.min())), int(max(t0.max(), t1.max())))
    d0 = local_days(t0, tz, table)
    d1 = local_days(t1, tz, table)
    nd = d1 - d0 + 1
    if (nd == 1).all():  # the usual case: no interval crosses midnight
        row, day = np.arange(len(t0), dtype=np.int64), d0
    else:
        row = np.repeat(np.arange(len(t0)), nd)
        day = np.repeat(d0, nd) + (np.arange(int(nd.sum())) - np.repeat(np.cumsum(nd) - nd, nd))
    # midnights of the days and of the days after: one lookup per distinct day
    lo = int(day.min())
    span = int(day.max()) - lo + 2
    if span <= 4 * len(day) + 64:
        mid = local_midnights(np.arange(lo, lo + span, dtype=np.int64), tz)
        m0, m1 = mid[day - lo], mid[day - lo + 1]
    else:
        uniq, inv = np.unique(np.concatenate([day, day + 1]), return_inverse=True)
        both = local_midnights(uniq, tz)[inv]
        m0, m1 = both[: len(day)], both[len(day) :]
    if len(row) == len(t0):
        return row, day, np.maximum(t0, m0), np.minimum(t1, m1)
    return row, day, np.maximum(t0[row], m0), np.minimum(t1[row], m1)


def _as_dates(day: NDArray[np.int64]) -> NDArray[np.object_]:
    """Day numbers as ``datetime.date`` objects, made once per distinct day."""
    if len(day) == 0:
        return day.astype("datetime64[D]").astype(object)
    lo = int(day.min())
    span = int(day.max()) - lo + 1
    if span > 4 * len(day) + 64:
        return day.astype("datetime64[D]").astype(object)
    dates = np.arange(lo, lo + span, dtype=np.int64).astype("datetime64[D]").astype(object)
    return dates[day - lo]


class _Labels:
    """A names column (device ids or teams, by unit code), typed once per call.

    A frame built from an object array of strings inspects every row to infer its string type,
    and each conversion of the names costs ~0.2 ms: finalise builds six such columns (visits,
    tracked spans and gaps, each with devices and teams), so the names are converted once and
    each column is a take of them. When the names are not all strings the type is inferred, as
    pandas would, from those the rows use.
    """

    def __init__(self, values: NDArray) -> None:
        self.values = np.asarray(values, dtype=object)
        base = pd.Series(self.values)
        self.typed = base.array if isinstance(base.dtype, pd.StringDtype) else None

    def take(self, idx: NDArray[np.int64]) -> pd.api.extensions.ExtensionArray:
        """``values[idx]`` as the column pandas would make of that object array."""
        if len(idx) == 0:  # no rows: nothing to infer from, as an empty object array has not
            return pd.Series(self.values[idx]).array
        if self.typed is not None:
            return self.typed.take(idx)
        used = np.zeros(len(self.values), dtype=bool)
        used[idx] = True
        pos = np.cumsum(used) - 1
        return pd.Series(self.values[used]).array.take(pos[idx])


def _visit_order(
    start: NDArray[np.int64],
    dev: NDArray[np.object_],
    uc: NDArray[np.int64],
    aid: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Stable order by start, device name and hot spot: the device's rank among the names sorts
    as the names do, so no string comparisons per visit, and the three keys pack into one."""
    try:
        _, dev_rank = np.unique(dev, return_inverse=True)
    except TypeError:  # names of mixed types: let pandas order them
        return np.asarray(
            pd.DataFrame({"s": start, "d": dev[uc], "a": aid})
            .sort_values(["s", "d", "a"], kind="stable")
            .index.to_numpy()
        )
    dr = dev_rank.ravel().astype(np.int64)[uc]
    key = _pack([start, dr, aid])
    if key is not None:
        return _argsort_keys(key)
    return np.lexsort((aid, dr, start))


def finalise(
    st: Stitched,
    params: DosageParams,
    units: pd.DataFrame,
    area_ids: NDArray[np.int64],
) -> DosageResult:
    """Drop short runs, split at local midnight, and name devices, teams and hot spots.

    ``units`` maps each unit code (its row position) to ``device_id`` and ``team``. Works on the
    arrays and names things last: labels are taken from the few distinct names, not inferred
    per row.
    """
    runs = st.run_cols
    r_run, r_unit, r_poly = runs["run"], runs["unit"], runs["poly"]
    r_t0, r_t1, r_n = runs["t0"], runs["t1"], runs["n"]
    is_run = r_poly >= 0
    keep = np.flatnonzero(is_run & (r_t1 - r_t0 >= params.min_visit_ms))
    row, day, start, end = split_by_local_day(r_t0[keep], r_t1[keep], params.tz)
    src = keep if len(row) == len(keep) else keep[row]  # run row of each visit part
    uc = r_unit[src]
    aid = area_ids[r_poly[src]]
    dev = units["device_id"].to_numpy()
    dev_col, team_col = _Labels(dev), _Labels(units["team"].to_numpy())
    # sort once, then gather every column straight from the runs in that order
    o = _visit_order(start, dev, uc, aid)
    src, uc, aid, start, end, day = src[o], uc[o], aid[o], start[o], end[o], day[o]
    vid = r_run[src]
    n = r_n[src]
    if len(row) > len(keep):  # visits across midnight: their pings per day
        multi = np.flatnonzero(np.bincount(row, minlength=len(keep))[row[o]] > 1)
        n[multi] = _day_counts(st.day_cols, vid[multi], day[multi])
    visits = pd.DataFrame(
        {
            "device_id": dev_col.take(uc),
            "team": team_col.take(uc),
            "area_id": aid,
            "start": _to_dt(start),
            "end": _to_dt(end),
            "minutes": (end - start) / MIN_MS,
            "n_pings": n,
            "local_day": _as_dates(day),
            "visit_id": vid,
        },
        columns=VISIT_COLUMNS,
        copy=False,  # every column is a fresh array: a copy would only cost time
    )

    # tracked spans and the silent gaps between them
    sp = np.flatnonzero(~is_run)
    su, st0, st1 = r_unit[sp], r_t0[sp], r_t1[sp]
    if ((su[1:] < su[:-1]) | ((su[1:] == su[:-1]) & (st0[1:] < st0[:-1]))).any():
        so = np.lexsort((st0, su))  # stitch's order makes this rare
        su, st0, st1 = su[so], st0[so], st1[so]
    tracked = pd.DataFrame(
        {
            "device_id": dev_col.take(su),
            "team": team_col.take(su),
            "start": _to_dt(st0),
            "end": _to_dt(st1),
        },
        copy=False,
    )
    same = su[1:] == su[:-1]
    g_unit = su[1:][same]
    g0 = st1[:-1][same]
    g1 = st0[1:][same]
    # a silent gap is "unknown inside a hot spot" when the fixes either side are in the same one
    ri = np.flatnonzero(is_run) if len(g_unit) else np.zeros(0, dtype=np.int64)
    i_unit, i_g0, i_g1, i_poly = _gaps_inside(
        g_unit, g0, g1, r_unit[ri], r_poly[ri], r_t0[ri], r_t1[ri]
    )
    grow, gday, gstart, gend = split_by_local_day(i_g0, i_g1, params.tz)
    gu = i_unit[grow]
    unknown = pd.DataFrame(
        {
            "device_id": dev_col.take(gu),
            "team": team_col.take(gu),
            "area_id": area_ids[i_poly[grow]],
            "start": _to_dt(gstart),
            "end": _to_dt(gend),
            "minutes": (gend - gstart) / MIN_MS,
            "local_day": _as_dates(gday),
        },
        copy=False,
    )
    n_runs = int(is_run.sum())
    stats = {
        "pings": st.n_pings,
        "duplicates_ignored": st.n_duplicates,
        "runs": n_runs,
        "visits": int(len(keep)),
        "short_runs_dropped": n_runs - int(len(keep)),
    }
    return DosageResult(visits, unknown, tracked, params, stats)


def _day_counts(
    run_days: dict[str, NDArray[np.int64]], run: NDArray[np.int64], day: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Pings of each (run, day) in ``run_days`` (0 where it has none): a packed-key lookup."""
    rr, rd, rn = run_days["run"], run_days["day"], run_days["n"]
    if len(rr) == 0:
        return np.zeros(len(run), dtype=np.int64)
    ka = _pack([np.concatenate([rr, run]), np.concatenate([rd, day])])
    if ka is None:  # too wide to pack: pandas looks them up
        lookup = pd.Series(rn, index=pd.MultiIndex.from_arrays([rr, rd]))
        got = lookup.reindex(pd.MultiIndex.from_arrays([run, day])).fillna(0)
        return got.to_numpy(np.int64)
    have, want = ka[: len(rr)], ka[len(rr) :]
    o = np.argsort(have, kind="stable")
    have = have[o]
    pos = np.minimum(np.searchsorted(have, want), len(have) - 1)
    return np.where(have[pos] == want, rn[o][pos], 0)


def _gaps_inside(
    g_unit: NDArray[np.int64],
    g0: NDArray[np.int64],
    g1: NDArray[np.int64],
    r_unit: NDArray[np.int64],
    r_poly: NDArray[np.int64],
    r_t0: NDArray[np.int64],
    r_t1: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Silent gaps (unit, g0, g1) with a run of one hot spot ending at g0 and a run of the same
    hot spot starting at g1: ``(unit, g0, g1, poly)`` sorted by unit, g0 and poly.

    The inner join of gaps with the runs before and after them, on packed int64 keys: a gap is
    unique by (unit, g0) and a run by (unit, poly, t0), so each run before a gap matches once.
    """
    empty = np.zeros(0, dtype=np.int64)
    if not len(g_unit) or not len(r_unit):
        return empty, empty, empty, empty
    ka = _pack([np.concatenate([g_unit, r_unit]), np.concatenate([g0, r_t1])])
    if ka is None:  # keys too wide to pack: pandas joins them
        return _gaps_inside_pandas(g_unit, g0, g1, r_unit, r_poly, r_t0, r_t1)
    ng = len(g_unit)
    gk, rk = ka[:ng], ka[ng:]
    go = np.argsort(gk)
    pos = np.minimum(np.searchsorted(gk[go], rk), ng - 1)
    hit = np.flatnonzero(gk[go][pos] == rk)  # runs ending where a gap starts
    gap = go[pos[hit]]
    # does a run of the same unit and hot spot start where the gap ends?
    kb = _pack(
        [
            np.concatenate([r_unit, r_unit[hit]]),
            np.concatenate([r_poly, r_poly[hit]]),
            np.concatenate([r_t0, g1[gap]]),
        ]
    )
    if kb is None:
        return _gaps_inside_pandas(g_unit, g0, g1, r_unit, r_poly, r_t0, r_t1)
    start_k, want = np.sort(kb[: len(r_unit)]), kb[len(r_unit) :]
    at = np.minimum(np.searchsorted(start_k, want), len(start_k) - 1)
    ok = start_k[at] == want
    hit, gap = hit[ok], gap[ok]
    u, a0, a1, p = r_unit[hit], g0[gap], g1[gap], r_poly[hit]
    o = np.lexsort((p, a0, u))
    return u[o], a0[o], a1[o], p[o]


def _pack(cols: list[NDArray[np.int64]]) -> NDArray[np.int64] | None:
    """Columns packed into one int64 key that sorts as the columns do (lexicographically), or
    None if their ranges need more than 62 bits."""
    key = np.zeros(len(cols[0]), dtype=np.int64)
    bits = 0
    for c in cols:
        if not len(c):
            return key
        lo = int(c.min())
        b = max(int(int(c.max()) - lo).bit_length(), 1)
        bits += b
        if bits > 62:
            return None
        key = (key << b) | (c - lo)
    return key


def _gaps_inside_pandas(
    g_unit: NDArray[np.int64],
    g0: NDArray[np.int64],
    g1: NDArray[np.int64],
    r_unit: NDArray[np.int64],
    r_poly: NDArray[np.int64],
    r_t0: NDArray[np.int64],
    r_t1: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """:func:`_gaps_inside` by pandas joins (keys too wide to pack into an int64)."""
    gi = (
        pd.DataFrame({"unit": g_unit, "g0": g0, "g1": g1})
        .merge(pd.DataFrame({"unit": r_unit, "poly": r_poly, "g0": r_t1}), on=["unit", "g0"])
        .merge(
            pd.DataFrame({"unit": r_unit, "poly": r_poly, "g1": r_t0}), on=["unit", "poly", "g1"]
        )
        .sort_values(["unit", "g0", "poly"], kind="stable")
    )
    u, a0, a1, p = (gi[c].to_numpy(np.int64) for c in ("unit", "g0", "g1", "poly"))
    return u, a0, a1, p


def _as_ms(t: pd.Series | NDArray) -> NDArray[np.int64]:
    s = pd.to_datetime(pd.Series(t))
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(s.to_numpy().astype("datetime64[ms]").astype(np.int64))


def _codes(col: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Integer codes and sorted labels; free for categoricals, a hash pass otherwise."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cat = col.cat
        labels = np.asarray(cat.categories.astype(str), dtype=object)
        order = np.argsort(labels, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[cat.codes.to_numpy().astype(np.int64)], labels[order]
    codes, uniq = pd.factorize(col.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


def unit_codes(pings: pd.DataFrame) -> tuple[NDArray[np.int64], pd.DataFrame]:
    """Integer code per (device_id, team), and the table naming each code.

    Codes follow the sorted (device_id, team) order, so they are the same however the rows are
    ordered; the combination is remapped by counting (no sort, no hash) so 10M rows take ~0.1 s.
    """
    for col in ("device_id", "team", "t", "x", "y"):
        if col not in pings.columns:
            raise InputError(f"pings need a {col!r} column (have {', '.join(map(str, pings))})")
    dc, dl = _codes(pings["device_id"])
    tc, tl = _codes(pings["team"])
    if (dc < 0).any() or (tc < 0).any():
        raise InputError("pings need a device_id and a team on every row")
    key = dc * len(tl) + tc
    present = np.bincount(key, minlength=len(dl) * len(tl)) > 0
    remap = np.cumsum(present) - 1
    keys = np.flatnonzero(present)
    units = pd.DataFrame({"device_id": dl[keys // len(tl)], "team": tl[keys % len(tl)]})
    return remap[key].astype(np.int64), units


def sort_pings(
    unit: NDArray[np.int64], t_ms: NDArray[np.int64], x: NDArray, y: NDArray
) -> NDArray[np.int64] | None:
    """The order that sorts pings by (unit, time, x, y), or None if they are sorted already.

    Sorting on position too makes the fix kept among exact-time duplicates independent of the
    order the pings arrived in.
    """
    if len(unit) < 2:
        return None
    u = np.ascontiguousarray(unit, dtype=np.int64)
    t = np.ascontiguousarray(t_ms, dtype=np.int64)
    if _k.is_sorted(u, t):  # one compiled pass, no temporaries: sorted input is the usual case
        return None
    return np.lexsort((y, x, t_ms, unit))


#: smallest chunk worth cutting off to give another worker something to do: below this the
#: fixed cost of a chunk (two kernel calls, the run tables, a task) outweighs the parallel gain
MIN_SPLIT = 1 << 16


def chunk_bounds(
    unit: NDArray[np.int64], t_ms: NDArray[np.int64], chunk_size: int, workers: int = 1
) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of pings sorted by (unit, time).

    At most ``chunk_size`` pings each (a little more where a cut moves past duplicates). With
    several workers the number of chunks is rounded up to a multiple of ``workers`` (chunks of
    at least :data:`MIN_SPLIT` pings) so the last round keeps every worker busy: a million pings
    on two cores are two chunks of half a million, not one. A cut never falls between exact
    duplicates (same unit and time), so which fix is kept, and so the answer, is the same for
    every chunking.
    """
    n = len(t_ms)
    if n == 0:
        return []
    if chunk_size < 1:
        raise InputError(f"chunk size must be >= 1, got {chunk_size}")
    k = -(-n // chunk_size)
    if workers > 1 and k % workers:
        k = max(k, min(-(-k // workers) * workers, n // MIN_SPLIT))
    size = -(-n // k)
    cuts = [0]
    for c in range(size, n, size):
        c = _cut_past_duplicates(unit, t_ms, max(c, cuts[-1] + 1))
        if c < n:
            cuts.append(c)
    cuts.append(n)
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _cut_past_duplicates(unit: NDArray[np.int64], t_ms: NDArray[np.int64], c: int) -> int:
    """The first index from ``c`` whose fix is not an exact duplicate of the one before it."""
    n = len(t_ms)
    w = 64
    while c < n:
        hi = min(n, c + w)
        same = (unit[c:hi] == unit[c - 1 : hi - 1]) & (t_ms[c:hi] == t_ms[c - 1 : hi - 1])
        k = np.flatnonzero(~same)
        if len(k):
            return c + int(k[0])
        c, w = hi, w * 2
    return n


def scan_chunks(
    unit: NDArray[np.int64],
    t_ms: NDArray[np.int64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    hotspots: HotSpots,
    params: DosageParams,
    chunk_size: int = 1 << 20,
    workers: int | None = None,
) -> list[ChunkScan]:
    """:func:`scan_chunk` over pings sorted by (unit, time), cut by :func:`chunk_bounds`.

    ``workers`` (default: every core, never more than the chunks) scan chunks side by side on
    Dask's threaded scheduler: the compiled passes release the GIL, the chunks are views of the
    input (nothing is copied or pickled) and each result is small, so memory holds about
    ``workers`` chunks of working arrays. ``workers=1`` scans them one after another in this
    thread. The answer is the same for any number of workers.
    """
    workers = check_workers(workers)
    bounds = chunk_bounds(unit, t_ms, chunk_size, workers)
    tasks = [
        lambda a=a, b=b, i=i: scan_chunk(
            unit[a:b], t_ms[a:b], x[a:b], y[a:b], hotspots, params, chunk=i
        )
        for i, (a, b) in enumerate(bounds)
    ]
    return run_threaded(tasks, workers)


def compute_dosage(
    pings: pd.DataFrame,
    hotspots: gpd.GeoDataFrame | HotSpots,
    params: DosageParams | None = None,
    chunk_size: int = 1 << 20,
    workers: int | None = None,
) -> DosageResult:
    """Visits, unknown gaps and tracked spans from a pings frame (device_id, team, t, x, y).

    Pings should already be cleaned (:func:`patrolwise.track.cleaning.clean_pings`); rows with a
    non-empty ``flag`` column are ignored here. Chunks of at most ``chunk_size`` pings are
    scanned on ``workers`` threads (default: every core; see :func:`scan_chunks`), so memory
    stays bounded by about ``workers * chunk_size`` pings of working arrays beyond the input.
    """
    params = params or DosageParams()
    hs = (
        hotspots
        if isinstance(hotspots, HotSpots)
        else prepare_hotspots(hotspots, params.buffer_m, workers)
    )
    if "flag" in pings.columns:
        pings = pings[pings["flag"].isna()]
    unit, units = unit_codes(pings)
    t_ms = _as_ms(pings["t"])
    x = pings["x"].to_numpy(np.float64)
    y = pings["y"].to_numpy(np.float64)
    order = sort_pings(unit, t_ms, x, y)
    if order is not None:
        unit, t_ms, x, y = unit[order], t_ms[order], x[order], y[order]
    scans = scan_chunks(unit, t_ms, x, y, hs, params, chunk_size, workers)
    return finalise(stitch(scans, params.max_gap_ms), params, units, hs.area_ids)


def union_minutes(
    frame: pd.DataFrame, keys: list[str], start: str = "start", end: str = "end"
) -> pd.DataFrame:
    """Merge overlapping intervals within each key group: keys + start, end, minutes.

    Patrol-minutes are the length of the union of a team's visits: two officers walking together
    count once. Vectorised: sort by start, a running maximum of ends finds each merged block.
    """
    if frame.empty:
        return pd.DataFrame(columns=[*keys, start, end, "minutes"])
    f = frame.sort_values([*keys, start], kind="stable").reset_index(drop=True)
    s = f[start].to_numpy().astype("datetime64[ms]").astype(np.int64)
    e = f[end].to_numpy().astype("datetime64[ms]").astype(np.int64)
    grp = f.groupby(keys, sort=False).ngroup().to_numpy()
    # running max of ends within group (previous rows only)
    cm = pd.Series(e).groupby(grp).cummax().to_numpy()
    prev_end = np.empty_like(cm)
    prev_end[1:] = cm[:-1]
    new = np.ones(len(f), dtype=bool)
    new[1:] = (grp[1:] != grp[:-1]) | (s[1:] > prev_end[1:])
    block = np.cumsum(new) - 1
    out = f.loc[new, keys].reset_index(drop=True)
    b0 = s[new]
    b1 = pd.Series(e).groupby(block).max().to_numpy()
    out[start] = _to_dt(b0)
    out[end] = _to_dt(b1)
    out["minutes"] = (b1 - b0) / MIN_MS
    return out


def on_active_days(frame: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` (``area_id``, ``local_day``: visits or unknown gaps) that fall on
    days their hot spot was active (``areas``: ``area_id``, ``active_from``, ``active_to``;
    a missing date is open-ended).

    The engine measures every hot spot it is given, retired ones included. When a hot spot is
    redrawn (``hotspots replace``) the old and new polygons cover the same street, so without
    this a patrol there counted at both: the place listed twice and its minutes and visits
    double counted in the day's totals.
    """
    if frame.empty or not {"active_from", "active_to"} <= set(areas.columns):
        return frame
    dates = areas.drop_duplicates("area_id").set_index("area_id")
    ids = frame["area_id"]
    day = pd.to_datetime(frame["local_day"])
    lo = pd.to_datetime(ids.map(dates["active_from"]))
    hi = pd.to_datetime(ids.map(dates["active_to"]))
    keep = (lo.isna() | (day >= lo)) & (hi.isna() | (day <= hi))
    return frame[keep.to_numpy()].reset_index(drop=True)


def daily_dosage(visits: pd.DataFrame) -> pd.DataFrame:
    """The daily panel: per local day, hot spot and team, visits, devices, officer-minutes
    (summed over devices) and patrol-minutes (time with at least one of the team present)."""
    keys = ["local_day", "area_id", "team"]
    cols = [*keys, "visits", "devices", "officer_minutes", "patrol_minutes", "first", "last"]
    if visits.empty:
        return pd.DataFrame(columns=cols)
    agg = (
        visits.groupby(keys)
        .agg(
            visits=("visit_id", "nunique"),
            devices=("device_id", "nunique"),
            officer_minutes=("minutes", "sum"),
            first=("start", "min"),
            last=("end", "max"),
        )
        .reset_index()
    )
    pm = union_minutes(visits, keys).groupby(keys)["minutes"].sum().rename("patrol_minutes")
    out = agg.merge(pm.reset_index(), on=keys, how="left")
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)
