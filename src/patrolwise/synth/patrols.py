"""Patrol plans and GPS tracks of the synthetic city's outreach team and police officers.

The outreach team (two workers, sometimes three, each carrying a tracker) walks from its base to
the day's patrol hot spots 14:00-20:00 local and stays 40 minutes at each; police officers
(POL-1..POL-3) make planned 15-minute visits to hot spots at other times, never together with
the outreach team (the public must see two separate services), except a few deliberate breaches.
Some police visits are cut short or missed because officers are abstracted to other jobs.

Tracks are built as a true path (knots of time and position: straight-line walking along streets
at ~1.3 m/s, slow wandering inside a hot spot) sampled every 10-30 s with GPS noise, gaps and
outliers. Everything the tracks hide is kept as ground truth (``true_visits``, ``breaches``,
``abstraction``, ``outliers``), so the tracking stage can be tested against the truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..geo import to_wgs84
from .layout import CRS, Layout

OUTREACH_DEVICES = ("OUT-1", "OUT-2", "OUT-3")
POLICE_DEVICES = ("POL-1", "POL-2", "POL-3")
WALK_SPEED = 1.3  # m/s
OUTREACH_MINUTES = 40
POLICE_MINUTES = 15
SEPARATION_MINUTES = 10  # planned police visits keep this far from an outreach visit


@dataclass
class Tracks:
    plan: pd.DataFrame
    pings: pd.DataFrame
    true_visits: pd.DataFrame
    breaches: pd.DataFrame
    abstraction: pd.DataFrame
    outliers: pd.DataFrame


def _utc_offsets(days: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """UTC offset (s) of each local day at noon; 14:00-20:00 never spans a DST change (01:00 UTC)."""
    noon = (days + pd.Timedelta(hours=12)).tz_localize(tz)
    return np.array([o.total_seconds() for o in noon.map(lambda t: t.utcoffset())], dtype=np.int64)


class _Clock:
    """Local wall-clock seconds on a day <-> UTC epoch seconds."""

    def __init__(self, days: pd.DatetimeIndex, tz: str) -> None:
        self.epoch = (days.to_numpy().astype("datetime64[s]").astype(np.int64)) - _utc_offsets(
            days, tz
        )

    def utc(self, day_i: int, local_s: float) -> float:
        return float(self.epoch[day_i] + local_s)


def _corner(
    a: tuple[float, float], b: tuple[float, float], rng: np.random.Generator
) -> tuple[float, float]:
    """Corner of an L-shaped walking route (streets run roughly east-west and north-south)."""
    return (b[0], a[1]) if rng.random() < 0.5 else (a[0], b[1])


def _clear(p: tuple[float, float], hs: dict[int, tuple[tuple[float, float], float]]) -> bool:
    """True when ``p`` is at least 40 m outside every hot spot."""
    return all(np.hypot(p[0] - c[0], p[1] - c[1]) > r / 0.85 + 40 for c, r in hs.values())


def _walk_seconds(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) / WALK_SPEED


class _Path:
    """Knots (t, x, y) of one device's true path over a day."""

    def __init__(self, t0: float, xy: tuple[float, float], rng: np.random.Generator) -> None:
        self.t = [t0]
        self.xy = [xy]
        self.rng = rng

    @property
    def now(self) -> float:
        return self.t[-1]

    @property
    def here(self) -> tuple[float, float]:
        return self.xy[-1]

    def walk(self, b: tuple[float, float], speed: float | None = None) -> None:
        """Walk to ``b`` in a straight line at ``speed`` (default: ~1.3 m/s, varying by walk)."""
        v = speed if speed is not None else WALK_SPEED * self.rng.uniform(0.9, 1.1)
        d = float(np.hypot(b[0] - self.here[0], b[1] - self.here[1]))
        if d < 0.5:
            return
        self.t.append(self.now + d / v)
        self.xy.append((float(b[0]), float(b[1])))

    def travel(
        self,
        b: tuple[float, float],
        arrive_at: float,
        hs: dict[int, tuple[tuple[float, float], float]],
    ) -> None:
        """Walk to ``b`` along an L-shaped street route, arriving about ``arrive_at``: spare time
        is spent at the route's corner, or where we stand, whichever is clear of every hot spot
        (a worker killing time must not look like a visit)."""
        corner = _corner(self.here, b, self.rng)
        v = WALK_SPEED * self.rng.uniform(0.9, 1.1)
        walk = _walk_seconds(self.here, b) * WALK_SPEED / v
        slack = arrive_at - self.now - walk
        if slack > 30 and _clear(corner, hs):
            self.walk(corner, v)
            self.dwell(corner, 3, self.now + slack)
        elif slack > 30 and _clear(self.here, hs):
            self.dwell(self.here, 3, self.now + slack)
            self.walk(corner, v)
        else:
            self.walk(corner, v)
        self.walk(b, v)

    def dwell(self, centre: tuple[float, float], radius: float, until: float) -> None:
        """Wander slowly around ``centre`` (a new spot every 60-120 s) until ``until``."""
        span = until - self.now
        if span <= 1:
            return
        steps = np.cumsum(self.rng.uniform(60, 120, int(span // 60) + 1))
        steps = np.minimum(steps[: int(np.searchsorted(steps, span)) + 1], span)
        ang = self.rng.uniform(0, 2 * np.pi, steps.size)
        r = radius * np.sqrt(self.rng.random(steps.size))
        t0 = self.now
        self.t.extend((t0 + steps).tolist())
        self.xy.extend(
            zip(
                (centre[0] + r * np.cos(ang)).tolist(),
                (centre[1] + r * np.sin(ang)).tolist(),
                strict=True,
            )
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xy = np.asarray(self.xy)
        return np.asarray(self.t), xy[:, 0], xy[:, 1]


def _outreach_plan(
    rng: np.random.Generator,
    layout: Layout,
    days: pd.DatetimeIndex,
    assignment: pd.DataFrame,
    clock: _Clock,
) -> pd.DataFrame:
    """Planned 40-minute visits to each day's patrol hot spots, nearest-next from the base."""
    centres = {
        int(a): (g.centroid.x, g.centroid.y)
        for a, g in zip(layout.hotspots["area_id"], layout.hotspots.geometry, strict=True)
    }
    on = assignment[assignment["patrol"]]
    by_day = on.groupby(pd.to_datetime(on["date"]))["area_id"].apply(list)
    rows = []
    for di, day in enumerate(days):
        todo = [int(a) for a in by_day.get(day, [])]
        if not todo:
            continue
        pos = layout.outreach_base
        t = 14 * 3600 + rng.integers(0, 6) * 60
        first = True
        while todo:
            nxt = min(todo, key=lambda a: _walk_seconds(pos, centres[a]))
            todo.remove(nxt)
            if not first:
                t += int(np.ceil(_walk_seconds(pos, centres[nxt]) / 300) * 300)
            first = False
            end = t + OUTREACH_MINUTES * 60
            rows.append(
                (
                    "outreach",
                    nxt,
                    day.date(),
                    clock.utc(di, float(t)),
                    clock.utc(di, float(end)),
                    None,
                )
            )
            t, pos = end, centres[nxt]
    return pd.DataFrame(rows, columns=["team", "area_id", "date", "start", "end", "device_id"])


def _police_plan(
    rng: np.random.Generator,
    layout: Layout,
    days: pd.DatetimeIndex,
    outreach: pd.DataFrame,
    clock: _Clock,
) -> pd.DataFrame:
    """Two or three planned 15-minute hot spot visits per officer per day, 14:00-20:00 local,
    kept ``SEPARATION_MINUTES`` clear of the outreach team at the same hot spot."""
    n_hs = len(layout.hotspots)
    busy: dict[tuple[dt.date, int], list[tuple[float, float]]] = {}
    for day_, (area, s0, e0) in zip(outreach["date"].tolist(), _rows(outreach), strict=True):
        busy.setdefault((day_, area), []).append((s0, e0))
    sep = SEPARATION_MINUTES * 60
    rows = []
    for di, day in enumerate(days):
        d = day.date()
        for dev in POLICE_DEVICES:
            mine: list[float] = []
            want = int(rng.integers(2, 4))
            for _ in range(60):
                if len(mine) == want:
                    break
                start = clock.utc(di, 14 * 3600 + int(rng.integers(0, 69)) * 300)
                end = start + POLICE_MINUTES * 60
                if end > clock.utc(di, 20 * 3600):
                    continue
                if any(abs(start - s) < 50 * 60 for s in mine):
                    continue
                a = int(rng.integers(1, n_hs + 1))
                if any(start < e + sep and end > s - sep for s, e in busy.get((d, a), [])):
                    continue
                mine.append(start)
                rows.append(("police", a, d, start, end, dev))
    return pd.DataFrame(rows, columns=["team", "area_id", "date", "start", "end", "device_id"])


def _sample(
    rng: np.random.Generator,
    dev: str,
    team: str,
    path: _Path,
    offset: tuple[float, float],
    out_rate: float,
) -> tuple[_Part, np.ndarray]:
    kt, kx, ky = path.arrays()
    n_max = int((kt[-1] - kt[0]) / 10) + 2
    t = np.floor(kt[0] + np.cumsum(rng.uniform(10, 30, n_max)))
    t = t[t <= kt[-1]]
    if rng.random() < 0.35 and t.size > 100:  # a gap: indoors, or the battery saver kicked in
        g0 = rng.uniform(t[0], t[-1])
        t = t[(t < g0) | (t > g0 + rng.uniform(180, 720))]
    x = np.interp(t, kt, kx) + offset[0]
    y = np.interp(t, kt, ky) + offset[1]
    sigma = rng.uniform(5, 8, t.size)
    x = x + rng.normal(0, 1, t.size) * sigma
    y = y + rng.normal(0, 1, t.size) * sigma
    bad = rng.random(t.size) < out_rate
    ang = rng.uniform(0, 2 * np.pi, int(bad.sum()))
    dist = rng.uniform(150, 600, int(bad.sum()))
    x[bad] += dist * np.cos(ang)
    y[bad] += dist * np.sin(ang)
    # accuracy as phones report it: the 68% radius, about 1.5 sigma for a 2-D normal error
    part = _Part(
        dev, team, t.astype(np.int64), np.round(x, 1), np.round(y, 1), np.round(1.51 * sigma, 1)
    )
    return part, t[bad].astype(np.int64)


@dataclass
class _Part:
    device_id: str
    team: str
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    accuracy: np.ndarray


def _rows(df: pd.DataFrame) -> list[tuple[int, float, float]]:
    """(area_id, start, end) of planned visits (epoch seconds), typed for the loops below."""
    return list(
        zip(
            df["area_id"].to_numpy(dtype=int).tolist(),
            df["start"].to_numpy(dtype=float).tolist(),
            df["end"].to_numpy(dtype=float).tolist(),
            strict=True,
        )
    )


def _centres_radii(layout: Layout) -> dict[int, tuple[tuple[float, float], float]]:
    out = {}
    for a, g in zip(layout.hotspots["area_id"], layout.hotspots.geometry, strict=True):
        c = g.centroid
        r = float(np.sqrt(g.area / np.pi))
        out[int(a)] = ((c.x, c.y), r)
    return out


def make_tracks(
    rng: np.random.Generator,
    layout: Layout,
    days: pd.DatetimeIndex,
    assignment: pd.DataFrame,
    track_days: int | None,
    tz: str = "Europe/London",
    outlier_rate: float = 0.002,
) -> Tracks:
    """Plans for every day in ``days`` and GPS pings for the first ``track_days`` of them."""
    clock = _Clock(days, tz)
    out_plan = _outreach_plan(rng, layout, days, assignment, clock)
    pol_plan = _police_plan(rng, layout, days, out_plan, clock)
    plan = pd.concat([out_plan, pol_plan], ignore_index=True)
    hs = _centres_radii(layout)
    n_track = len(days) if track_days is None else min(track_days, len(days))
    all_pings: list[_Part] = []
    all_out: list[tuple[str, np.ndarray]] = []
    visits: list[tuple] = []
    breaches: list[tuple] = []
    abstraction: list[tuple] = []
    tracked = {d.date() for d in days[:n_track]}
    out_t = out_plan[out_plan["date"].isin(tracked)].sort_values("start")
    pol_t = pol_plan[pol_plan["date"].isin(tracked)].sort_values("start")
    out_by_day = dict(tuple(out_t.groupby("date")))
    pol_by_day = dict(tuple(pol_t.groupby("date")))
    empty = out_plan.iloc[:0]
    rng_w = rng  # one stream keeps the city deterministic by seed
    for di in range(n_track):
        d = days[di].date()
        # --- outreach: one true path shared by the team, each worker's tracker a few metres apart
        day_out = out_by_day.get(d, empty)
        out_presence: list[tuple[int, float, float]] = []
        if len(day_out):
            planned = _rows(day_out)
            c0, _ = hs[planned[0][0]]
            t_on = planned[0][1] - _walk_seconds(layout.outreach_base, c0) * 1.15 - 120
            path = _Path(t_on, layout.outreach_base, rng_w)
            for area, start, end in planned:
                c, r = hs[area]
                path.travel(c, start + rng_w.uniform(-60, 240), hs)
                arrive = path.now
                leave = max(end + rng_w.uniform(-180, 180), arrive + 600)
                path.dwell(c, 0.5 * r, leave)
                out_presence.append((area, arrive, leave))
                visits.append(("OUT", "outreach", area, d, arrive, leave))
            path.walk(layout.outreach_base)
            path.dwell(layout.outreach_base, 5, path.now + 60)
            devs = list(OUTREACH_DEVICES[:2]) + (
                [OUTREACH_DEVICES[2]] if rng_w.random() < 0.3 else []
            )
            for dev in devs:
                off = (float(rng_w.normal(0, 1.5)), float(rng_w.normal(0, 1.5)))
                p, o = _sample(rng_w, dev, "outreach", path, off, outlier_rate)
                all_pings.append(p)
                all_out.append((dev, o))
        # --- police: each officer alone; planned visits, abstraction, and a few breaches
        day_pol = pol_by_day.get(d, empty)
        breach_dev = None
        if out_presence and rng_w.random() < 0.25:
            breach_dev = POLICE_DEVICES[int(rng_w.integers(0, len(POLICE_DEVICES)))]
        for dev in POLICE_DEVICES:
            stops: list[tuple[int, float, float, str, tuple[float, float] | None]] = []
            for area, start, end in _rows(day_pol[day_pol["device_id"] == dev]):
                u = rng_w.random()
                if u < 0.05:
                    abstraction.append((dev, "police", area, d, start, end, "missed", None, None))
                    continue
                arrive = start + rng_w.uniform(-60, 150)
                if u < 0.12:
                    leave = arrive + rng_w.uniform(120, 360)
                    abstraction.append((dev, "police", area, d, start, end, "short", arrive, leave))
                else:
                    leave = end + rng_w.uniform(-90, 90)
                stops.append((area, arrive, leave, "plan", None))
            if dev == breach_dev:
                a, s, e = out_presence[int(rng_w.integers(0, len(out_presence)))]
                b0 = s + rng_w.uniform(5, 20) * 60
                b1 = min(b0 + rng_w.uniform(6, 12) * 60, e - 60)
                c, _ = hs[a]
                clash = any(b0 - 25 * 60 < st[2] and b1 + 25 * 60 > st[1] for st in stops)
                if b1 > b0 + 120 and not clash:
                    stops.append((a, b0, b1, "breach", (s, e)))
                    stops.sort(key=lambda st: st[1])
            t_on = clock.utc(di, 13 * 3600 + 45 * 60)
            t_off = clock.utc(di, 20 * 3600 + 15 * 60)
            path = _Path(t_on, layout.police_station, rng_w)
            for a, arrive, leave, kind, window in stops:
                c, r = hs[a]
                walk = _walk_seconds(path.here, c) * 1.15
                if arrive - walk - path.now > 20 * 60:  # time for a job elsewhere in the centre
                    w = _elsewhere(rng_w, layout, hs)
                    path.walk(w)
                    path.dwell(w, 15, max(path.now + 60, arrive - walk - 5 * 60))
                path.travel(c, arrive, hs)
                real_arrive = path.now
                least = 360 if kind == "breach" else 60
                path.dwell(c, 0.5 * r, max(leave, real_arrive + least))
                visits.append((dev, "police", a, d, real_arrive, path.now))
                if kind == "breach" and isinstance(window, tuple):
                    lo, hi = max(real_arrive, window[0]), min(path.now, window[1])
                    if hi > lo:
                        breaches.append((dev, a, d, lo, hi))
            if path.now < t_off - 900:
                w = _elsewhere(rng_w, layout, hs)
                path.walk(w)
                path.dwell(w, 15, max(path.now + 60, t_off - 900))
            path.walk(layout.police_station)
            path.dwell(layout.police_station, 5, max(path.now + 60, t_off))
            p, o = _sample(rng_w, dev, "police", path, (0.0, 0.0), outlier_rate)
            all_pings.append(p)
            all_out.append((dev, o))
    pings = _finish_pings(all_pings)
    to_ts = _epoch_to_ts
    plan = plan.assign(start=to_ts(plan["start"]), end=to_ts(plan["end"]))
    tv = pd.DataFrame(visits, columns=["device_id", "team", "area_id", "date", "start", "end"])
    tv = tv.assign(start=to_ts(tv["start"]), end=to_ts(tv["end"]))
    br = pd.DataFrame(breaches, columns=["device_id", "area_id", "date", "start", "end"])
    br = br.assign(start=to_ts(br["start"]), end=to_ts(br["end"]))
    ab = pd.DataFrame(
        abstraction,
        columns=[
            "device_id",
            "team",
            "area_id",
            "date",
            "planned_start",
            "planned_end",
            "kind",
            "actual_start",
            "actual_end",
        ],
    )
    for col in ("planned_start", "planned_end", "actual_start", "actual_end"):
        ab[col] = to_ts(ab[col])
    outl = pd.DataFrame(
        {
            "device_id": np.concatenate([np.full(o.size, d, dtype=object) for d, o in all_out])
            if all_out
            else np.array([], dtype=object),
            "t": pd.to_datetime(
                np.concatenate([o for _, o in all_out]) if all_out else np.array([], np.int64),
                unit="s",
            ),
        }
    )
    return Tracks(plan, pings, tv, br, ab, outl)


def _epoch_to_ts(s: pd.Series) -> pd.Series:
    """Epoch seconds (float, may be None) -> naive UTC timestamps, whole seconds."""
    v = pd.to_numeric(s, errors="coerce")
    return pd.to_datetime(np.floor(v), unit="s")


def _elsewhere(
    rng: np.random.Generator, layout: Layout, hs: dict[int, tuple[tuple[float, float], float]]
) -> tuple[float, float]:
    """A point in the centre at least 150 m from every hot spot (a job elsewhere)."""
    x0, y0 = layout.police_station
    for _ in range(100):
        p = (x0 + rng.uniform(-900, 500), y0 + rng.uniform(-1100, 400))
        if all(np.hypot(p[0] - c[0], p[1] - c[1]) > 150 + r for c, r in hs.values()):
            return p
    return layout.police_station


def _finish_pings(parts: list[_Part]) -> pd.DataFrame:
    """One table from the per device-day samples, sorted by device and time."""
    cols = ["device_id", "team", "t", "x", "y", "lon", "lat", "accuracy"]
    n = [p.t.size for p in parts]
    if not parts:
        return pd.DataFrame({c: [] for c in cols})
    x = np.concatenate([p.x for p in parts])
    y = np.concatenate([p.y for p in parts])
    lon, lat = to_wgs84(x, y, CRS)
    df = pd.DataFrame(
        {
            "device_id": np.repeat(np.array([p.device_id for p in parts], dtype=object), n),
            "team": np.repeat(np.array([p.team for p in parts], dtype=object), n),
            "t": pd.to_datetime(np.concatenate([p.t for p in parts]), unit="s"),
            "x": x,
            "y": y,
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
            "accuracy": np.concatenate([p.accuracy for p in parts]),
        }
    )
    df = df.sort_values(["device_id", "t"], kind="stable")
    return df.drop_duplicates(["device_id", "t"]).reset_index(drop=True)
