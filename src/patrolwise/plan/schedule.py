"""Daily patrol schedules: which hot spot when, with walking time, inside a local time window.

Each day the team walks a route through the day's hot spots (an efficient order, or a random one
so patrols are not predictable), spending ``visit_minutes`` at each. Slack left in the window is
spread evenly between visits so a late start or an abstraction can be absorbed. Dosage caps
(minimum and maximum visits or minutes per hot spot and day) decide how many rounds fit; asking
for more than the window holds is refused with the arithmetic that shows why.

When ``avoid`` (another team's visits) is given, each visit is pushed to the earliest time at
least ``separation_minutes`` away from that team's visits at the same hot spot ("never together").
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..timeutil import local_window_utc
from .randomise import check_seed
from .routing import (
    WALK_M_PER_MIN,
    anchor_points,
    efficient_order,
    route_cost,
    straight_line_minutes,
)
from .separation import DEFAULT_GAP_MINUTES, check_gap, earliest_fit, merge_intervals

TEAMS = ("outreach", "police")
#: default visit length per team: outreach stays for conversations; police use the Koper curve
DEFAULT_VISIT_MINUTES = {"outreach": 40.0, "police": 15.0}
VISIT_COLUMNS = ["team", "area_id", "name", "date", "start", "end", "order"]


class InfeasiblePlanError(InputError):
    """The requested visits and walking do not fit in the window."""


@dataclass
class PlanRequest:
    """Everything that defines a plan; stored as the plan's ``params`` so it can be re-made."""

    team: str
    start_date: dt.date
    end_date: dt.date
    window: tuple[dt.time, dt.time] = (dt.time(14, 0), dt.time(20, 0))
    visit_minutes: float | None = None
    order: Literal["efficient", "random"] = "efficient"
    seed: int | None = None
    min_visits: int = 1
    max_visits: int | None = None
    min_minutes: float | None = None
    max_minutes: float | None = None
    speed_m_per_min: float = WALK_M_PER_MIN
    separation_minutes: float = DEFAULT_GAP_MINUTES
    spread: bool = True
    tz: str = "Europe/London"
    extra: dict[str, Any] = field(default_factory=dict)

    def resolved_visit_minutes(self) -> float:
        if self.visit_minutes is not None:
            return float(self.visit_minutes)
        return DEFAULT_VISIT_MINUTES.get(self.team, 15.0)

    def to_params(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_date"] = self.start_date.isoformat()
        d["end_date"] = self.end_date.isoformat()
        d["window"] = [self.window[0].strftime("%H:%M"), self.window[1].strftime("%H:%M")]
        d["visit_minutes"] = self.resolved_visit_minutes()
        return d


@dataclass
class PlanResult:
    """Visits (naive UTC start/end, local ``date``), per-day arithmetic, and the seed used."""

    visits: pd.DataFrame
    daily: pd.DataFrame
    seed: int
    params: dict[str, Any]


def rounds_range(req: PlanRequest) -> tuple[int, int]:
    """Visits per hot spot per day allowed by the dosage caps (minimum, maximum)."""
    v = req.resolved_visit_minutes()
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"visit length must be a positive number of minutes, got {v}")
    for what, m in (("minimum", req.min_minutes), ("maximum", req.max_minutes)):
        if m is not None and not math.isfinite(m):
            raise InputError(f"{what} minutes per hot spot and day must be a number, got {m}")
    # a plan visits every hot spot at least once a day: a minimum below that ('-1', a typo for
    # 1 or 10) was taken as one visit without a word
    if int(req.min_visits) < 1:
        raise InputError(
            f"minimum visits per hot spot and day must be 1 or more, got {req.min_visits}"
        )
    if req.min_minutes is not None and req.min_minutes < 0:
        raise InputError(
            f"minimum minutes per hot spot and day must be 0 or more, got {req.min_minutes:g}"
        )
    lo = max(int(req.min_visits), math.ceil((req.min_minutes or 0) / v - 1e-9), 1)
    hi = req.max_visits if req.max_visits is not None else lo
    if req.max_minutes is not None:
        hi = min(hi, math.floor(req.max_minutes / v + 1e-9))
    if hi < lo:
        raise InputError(
            f"dosage caps contradict: at least {lo} visit(s) of {v:g} min per hot spot and day "
            f"are required but at most {hi} allowed (max visits {req.max_visits}, "
            f"max minutes {req.max_minutes}); relax one of them"
        )
    return lo, hi


def _window_minutes(day: dt.date, req: PlanRequest) -> tuple[dt.datetime, float]:
    a, b = local_window_utc(day, req.window[0], req.window[1], req.tz)
    return a.replace(tzinfo=None), (b - a).total_seconds() / 60.0


def _legs(seq: list[int], travel: NDArray[np.float64]) -> NDArray[np.float64]:
    """Whole minutes walked before each stop (0 before the first), rounded up for a readable plan."""
    s = np.asarray(seq, dtype=int)
    legs = np.zeros(len(s))
    if len(s) > 1:
        legs[1:] = np.ceil(travel[s[:-1], s[1:]] - 1e-9)
    return legs


def _candidate_orders(
    idx: list[int],
    travel: NDArray[np.float64],
    mode: str,
    rng: np.random.Generator,
    *,
    exhaustive: bool,
    cache: dict[tuple[Any, ...], Any],
    tries: int = 500,
) -> Iterator[list[int]]:
    """Orders to try. Efficient: the shortest walk, then (only when another team's visits must
    be dodged) every permutation by walking cost for up to 7 stops, else random ones. Random:
    random permutations, then the shortest walk. Orders and permutation rankings are cached per
    set of stops because most days repeat the same set."""
    key = tuple(idx)
    n = len(idx)
    sub = travel[np.ix_(idx, idx)]
    if ("best", key) not in cache:
        cache[("best", key)] = [idx[i] for i in efficient_order(sub)]
    best = cache[("best", key)]
    if mode == "random":
        for _ in range(tries):
            yield [idx[i] for i in rng.permutation(n)]
        yield best  # when no random order fits, the shortest walk still might
        return
    yield best
    if not exhaustive:
        return
    if n <= 7:
        for row in _ranked_permutations(idx, travel, cache):
            yield [int(i) for i in row]
        return
    for _ in range(tries):
        yield [idx[i] for i in rng.permutation(n)]


def _ranked_permutations(
    idx: list[int], travel: NDArray[np.float64], cache: dict[tuple[Any, ...], Any]
) -> NDArray[np.int64]:
    """Every order of the stops ``idx`` (up to 7), shortest walk first (ties in
    lexicographic order), one per row; cached per set of stops."""
    key = tuple(idx)
    if ("perms", key) not in cache:
        n = len(idx)
        sub = travel[np.ix_(idx, idx)]
        perms = np.array(list(itertools.permutations(range(n))), dtype=int)
        costs = sub[perms[:, :-1], perms[:, 1:]].sum(axis=1) if n > 1 else np.zeros(1)
        cache[("perms", key)] = np.asarray(idx)[perms[np.argsort(costs, kind="stable")]]
    table: NDArray[np.int64] = cache[("perms", key)]
    return table


def _fit_day(
    seq: list[int],
    travel: NDArray[np.float64],
    visit: float,
    window: float,
    spread: bool,
    blocked: dict[int, list[tuple[float, float]]] | None,
    area_ids: NDArray[np.int64],
) -> NDArray[np.float64] | None:
    """Start offsets (minutes from window start) for ``seq``, or None if it does not fit."""
    legs = _legs(seq, travel)
    need = visit * len(seq) + legs.sum()
    if need > window + 1e-9:
        return None
    if not blocked:
        starts = np.cumsum(legs) + visit * np.arange(len(seq))
        if spread and len(seq) > 1:
            slack = math.floor(window - need)
            gaps = np.floor(slack * np.arange(len(seq)) / (len(seq) - 1))
            starts = starts + gaps
        return starts
    out = np.zeros(len(seq))
    t = 0.0
    for k, stop in enumerate(seq):
        t += legs[k]
        s = earliest_fit(t, visit, blocked.get(int(area_ids[stop]), []))
        if s + visit > window + 1e-9:
            return None
        out[k] = s
        t = s + visit
    return out


def _fits(
    cols: NDArray[np.int64],
    travel: NDArray[np.float64],
    visit: float,
    window: float,
    blocked: dict[int, list[tuple[float, float]]] | None,
    area_ids: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Which candidate sequences of stops :func:`_fit_day` would place, one per column of
    ``cols`` (row k: every candidate's k-th stop): the same arithmetic in the same order, a stop
    at a time for every candidate still fitting, so a day tests thousands of orders at once
    instead of one Python loop each."""
    length, n_seq = cols.shape
    legs = np.ceil(travel[cols[:-1], cols[1:]] - 1e-9)  # walked before stops 2, 3, ...
    ok: NDArray[np.bool_] = ~(visit * length + legs.sum(axis=0) > window + 1e-9)
    if not blocked:
        return ok
    # each stop's merged blocked intervals, padded with (inf, inf), which never block
    lists = [blocked.get(int(a), []) for a in area_ids]
    width = max(len(v) for v in lists)
    lo = np.full((width, len(area_ids)), np.inf)
    hi = np.full_like(lo, np.inf)
    for i, v in enumerate(lists):
        if v:
            lo[: len(v), i], hi[: len(v), i] = np.asarray(v).T
    alive = np.flatnonzero(ok)
    t = np.zeros(len(alive))
    for k in range(length):
        if k:
            t = t + legs[k - 1, alive]
        s = t
        stop = cols[k, alive]
        for j in range(width):  # earliest_fit, for every candidate at once
            a, b = lo[j, stop], hi[j, stop]
            s = np.where((s < b) & (s + visit > a), b, s)
        good = ~(s + visit > window + 1e-9)
        alive, s = alive[good], s[good]
        if not len(alive):
            break
        t = s + visit
    out = np.zeros(n_seq, dtype=bool)
    out[alive] = True
    return out


def _first_fit(
    idx: list[int],
    rounds: int,
    travel: NDArray[np.float64],
    order: str,
    rng: np.random.Generator,
    cache: dict[tuple[Any, ...], Any],
    visit: float,
    window: float,
    blocked: dict[int, list[tuple[float, float]]] | None,
    area_ids: NDArray[np.int64],
) -> list[int] | None:
    """The day's first candidate sequence of ``rounds`` rounds that fits, in the order of
    :func:`_candidate_orders` (each round after the first the same order when efficient, a
    fresh one when random), or None.

    Candidates are tested in batches (:func:`_fits`). Every draw a candidate takes from ``rng``
    is made as it would be one candidate at a time, and the generator is put back to its state
    just after the candidate chosen, so later days draw as they did when each candidate was
    tried in turn: the plan for a seed is unchanged, only found faster.
    """
    if order == "efficient" and blocked and len(idx) <= 7:
        # no draws: the shortest walk, then every permutation by walking cost, as arrays
        if ("columns", tuple(idx)) not in cache:
            best = next(_candidate_orders(idx, travel, order, rng, exhaustive=False, cache=cache))
            table = np.vstack([np.asarray(best)[None, :], _ranked_permutations(idx, travel, cache)])
            cache[("columns", tuple(idx))] = np.ascontiguousarray(table.T)
        cols = np.tile(cache[("columns", tuple(idx))], (rounds, 1))  # each round the same order
        done = 0
        for size in (1, 64, cols.shape[1]):
            part = cols[:, done:size]
            hit = np.flatnonzero(_fits(part, travel, visit, window, blocked, area_ids))
            if len(hit):
                return [int(i) for i in part[:, hit[0]]]
            done = size
        return None
    cands = _candidate_orders(
        idx, travel, order, rng, exhaustive=bool(blocked), cache=cache, tries=200
    )
    batch = 1
    while True:
        seqs: list[list[int]] = []
        states: list[Any] = []  # the generator state after each candidate
        for base in itertools.islice(cands, batch):
            seq = list(base)
            for _ in range(rounds - 1):
                seq += list(base) if order == "efficient" else _next_round(base, rng)
            seqs.append(seq)
            states.append(rng.bit_generator.state)
        if not seqs:
            return None
        cols = np.asarray(seqs, dtype=np.int64).T
        hit = np.flatnonzero(_fits(cols, travel, visit, window, blocked, area_ids))
        if len(hit):
            rng.bit_generator.state = states[hit[0]]
            return seqs[hit[0]]
        batch = min(batch * 4, 256)


def make_plan(
    hotspots: gpd.GeoDataFrame,
    req: PlanRequest,
    *,
    travel: NDArray[np.float64] | None = None,
    patrol_days: pd.DataFrame | None = None,
    avoid: pd.DataFrame | None = None,
) -> PlanResult:
    """A schedule for ``req.team`` over every local day from ``start_date`` to ``end_date``.

    ``hotspots``: area_id, name, geometry (projected metres), optionally active_from and
    active_to (a hot spot is planned only on its active days). ``travel``: walking minutes between
    them (default straight line at ``req.speed_m_per_min``). ``patrol_days``: area_id, date,
    patrol; only patrol hot spot-days are planned. ``avoid``: another team's visits (area_id,
    start, end) to keep ``req.separation_minutes`` away from.
    """
    if req.team not in TEAMS:
        raise InputError(f"team {req.team!r} is not one of {', '.join(TEAMS)}")
    if req.order not in ("efficient", "random"):
        raise InputError(f"order {req.order!r} must be 'efficient' or 'random'")
    if req.end_date < req.start_date:
        raise InputError(f"plan ends ({req.end_date}) before it starts ({req.start_date})")
    if hotspots is None or len(hotspots) == 0:
        raise InputError("no hot spots to plan: import or detect hot spots first")
    req.separation_minutes = check_gap(req.separation_minutes)
    seed = check_seed(req.seed)
    req.seed = seed
    rng = np.random.default_rng(seed)
    hs = hotspots.reset_index(drop=True)
    area_ids = hs["area_id"].to_numpy(dtype=np.int64)
    names = hs["name"].astype(str).to_numpy() if "name" in hs else area_ids.astype(str)
    if travel is None:
        travel = straight_line_minutes(anchor_points(hs), req.speed_m_per_min)
    visit = req.resolved_visit_minutes()
    r_lo, r_hi = rounds_range(req)

    days = pd.date_range(req.start_date, req.end_date, freq="D").date
    active = _active_on(hs, days)
    on: dict[dt.date, list[int]]
    if patrol_days is not None:
        drawn = set(
            zip(
                patrol_days["area_id"].astype(int),
                pd.to_datetime(patrol_days["date"]).dt.date,
                strict=True,
            )
        )
        undrawn = [
            (int(area_ids[i]), d)
            for d in days
            for i in active[d]
            if (int(area_ids[i]), d) not in drawn
        ]
        if undrawn:
            udays = sorted({d for _, d in undrawn})
            uareas = sorted({a for a, _ in undrawn})
            raise InputError(
                f"{len(undrawn)} hot spot-day(s) of the plan were not drawn in the randomised "
                f"patrol days (days {udays[0]} to {udays[-1]}, hot spots {uareas}); plan only "
                "the period and hot spots the assignment covers, or randomise this period"
            )
        pdays = patrol_days[patrol_days["patrol"].astype(bool)]
        pos = {int(a): i for i, a in enumerate(area_ids)}
        on = {d: [] for d in days}
        for a, d in zip(pdays["area_id"], pd.to_datetime(pdays["date"]).dt.date, strict=True):
            if d in on and int(a) in pos:
                on[d].append(pos[int(a)])
        on = {d: sorted(set(v) & set(active[d])) for d, v in on.items()}
    else:
        on = active

    blocked_all: dict[dt.date, dict[int, list[tuple[float, float]]]] = {}
    if avoid is not None and len(avoid):
        gap = req.separation_minutes
        av_s = pd.to_datetime(avoid["start"]).to_numpy("datetime64[s]")
        av_e = pd.to_datetime(avoid["end"]).to_numpy("datetime64[s]")
        av_a = avoid["area_id"].to_numpy(dtype=np.int64)
        for d in days:
            w0, wlen = _window_minutes(d, req)
            w0_np = np.datetime64(w0, "s")
            # minutes from this window's start; keep what can touch the window (plus the gap)
            a0 = (av_s - w0_np).astype(np.int64) / 60.0 - gap
            b0 = (av_e - w0_np).astype(np.int64) / 60.0 + gap
            near = (b0 > 0) & (a0 < wlen)
            per: dict[int, list[tuple[float, float]]] = {}
            for a, lo, hi in zip(av_a[near], a0[near], b0[near], strict=True):
                per.setdefault(int(a), []).append((float(lo), float(hi)))
            blocked_all[d] = {k: merge_intervals(v) for k, v in per.items()}

    rows: list[dict[str, Any]] = []
    daily: list[dict[str, Any]] = []
    best_cache: dict[tuple[int, ...], float] = {}
    cache: dict[tuple[Any, ...], Any] = {}
    for d in days:
        idx = on[d]
        if not idx:
            continue
        w0, wlen = _window_minutes(d, req)
        key = tuple(idx)
        if key not in best_cache:
            o = efficient_order(travel[np.ix_(idx, idx)])
            cache[("best", key)] = [idx[i] for i in o]
            best_cache[key] = float(_legs(cache[("best", key)], travel).sum())
        min_walk = best_cache[key]
        # the walk back from the last stop to the first, per extra round
        need_lo = visit * len(idx) * r_lo + min_walk * r_lo
        if need_lo > wlen + 1e-9:
            spare = wlen - min_walk * r_lo
            longest = math.floor(spare / (len(idx) * r_lo)) if spare > 0 else 0
            fit_n = int(max(0, (wlen - min_walk) // (visit * r_lo))) if visit > 0 else 0
            raise InfeasiblePlanError(
                f"plan for {d} does not fit: {len(idx)} hot spots x {r_lo} visit(s) x "
                f"{visit:g} min = {visit * len(idx) * r_lo:g} min of visits + "
                f"{min_walk * r_lo:g} min walking = {need_lo:g} min needed, but the window "
                f"{req.window[0]:%H:%M}-{req.window[1]:%H:%M} has {wlen:g} min available; "
                f"plan at most about {min(fit_n, len(idx) - 1)} hot spots, shorten visits to "
                f"{longest} min, or widen the window"
            )
        blocked = blocked_all.get(d)
        placed = None
        # more rounds than the visits and the walk between them can fill the window with never
        # fit: start below (each round walks at least n - 1 of the shortest legs between stops)
        sub = travel[np.ix_(idx, idx)]
        step = float(sub[~np.eye(len(idx), dtype=bool)].min()) if len(idx) > 1 else 0.0
        per_round = visit * len(idx) + (len(idx) - 1) * step
        top = min(r_hi, max(r_lo, math.floor((wlen + 1e-9) / per_round)))
        for rounds in range(top, r_lo - 1, -1):
            found = _first_fit(
                idx, rounds, travel, req.order, rng, cache, visit, wlen, blocked, area_ids
            )
            if found is not None:
                starts = _fit_day(found, travel, visit, wlen, req.spread, blocked, area_ids)
                assert starts is not None  # the batch test and the day's fit agree
                placed = (found, starts, rounds)
                break
        if placed is None and not blocked:
            raise InfeasiblePlanError(
                f"plan for {d} does not fit: {len(idx)} hot spots x {r_lo} visit(s) of "
                f"{visit:g} min plus the walk between rounds exceed the {wlen:g} min window; "
                "lower the minimum visits or minutes per hot spot, or widen the window"
            )
        if placed is None:
            raise InfeasiblePlanError(
                f"plan for {d}: no order of the {len(idx)} hot spots keeps every {req.team} "
                f"visit {req.separation_minutes:g} min away from the other team inside the "
                f"window; reduce the separation, shorten visits or widen the window"
            )
        seq, starts, rounds = placed
        legs = _legs(seq, travel)
        for k, (stop, s) in enumerate(zip(seq, starts, strict=True)):
            t0 = w0 + dt.timedelta(minutes=float(s))
            rows.append(
                {
                    "team": req.team,
                    "area_id": int(area_ids[stop]),
                    "name": str(names[stop]),
                    "date": d,
                    "start": t0,
                    "end": t0 + dt.timedelta(minutes=visit),
                    "order": k + 1,
                }
            )
        daily.append(
            {
                "date": d,
                "hotspots": len(idx),
                "rounds": rounds,
                "visit_minutes": visit * len(seq),
                "walk_minutes": float(legs.sum()),
                "window_minutes": wlen,
                "slack_minutes": wlen - visit * len(seq) - float(legs.sum()),
            }
        )
    visits = pd.DataFrame(rows, columns=VISIT_COLUMNS)
    visits["start"] = pd.to_datetime(visits["start"])
    visits["end"] = pd.to_datetime(visits["end"])
    params = req.to_params()
    params["travel"] = req.extra.get("travel", "straight-line")
    return PlanResult(visits=visits, daily=pd.DataFrame(daily), seed=seed, params=params)


def _active_on(hs: gpd.GeoDataFrame, days: Any) -> dict[dt.date, list[int]]:
    """Positions of the hot spots active on each day: a hot spot retired (``active_to``) or
    starting (``active_from``) inside the plan is planned only on its own days; without those
    columns every hot spot is active every day."""

    def dates(col: str) -> list[dt.date | None]:
        if col not in hs:
            return [None] * len(hs)
        return [None if pd.isna(x) else pd.Timestamp(x).date() for x in hs[col]]

    spans = list(zip(dates("active_from"), dates("active_to"), strict=True))
    return {
        d: [i for i, (a, b) in enumerate(spans) if (a is None or a <= d) and (b is None or d <= b)]
        for d in days
    }


def _next_round(base: list[int], rng: np.random.Generator) -> list[int]:
    """A fresh random order for the next round that does not start where the last one ended."""
    for _ in range(20):
        nxt = [base[i] for i in rng.permutation(len(base))]
        if len(base) < 2 or nxt[0] != base[-1]:
            return nxt
    return list(base)


def total_walk_minutes(seq: list[int], travel: NDArray[np.float64]) -> float:
    """Walking minutes of a sequence of stops, before rounding (for tests and reports)."""
    return route_cost(seq, travel)
