"""Crimes of the synthetic city: a rate model by street point, day and hour, with a planted effect.

Every crime comes from one model: an expected count per street point and local day
(point level x season x weekday), drawn negative binomial (gamma-Poisson), then given a local hour
from a profile peaking 14:00-20:00 and an offence from a mix. The seven hot spots' crimes inside
the 14:00-20:00 patrol window come from :func:`simulate_hotspot_days`, where a patrol day
multiplies the rate by ``1 - effect``; evaluators call the same function for fast repeated trials,
so a validation run tests the estimator against exactly the process that made the demo's data.

Times are drawn as local wall-clock times and converted to naive UTC through the tz database, so
crimes in British Summer Time sit an hour earlier in UTC, the skipped hour in March holds none and
the repeated hour in October holds some of both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .layout import HOTSPOT_LEVEL
from .offences import HOTSPOT_MIX, OFFENCES, OTHER_MIX, SERIOUS_VIOLENCE, OffenceMix

TZ = "Europe/London"
WINDOW = (14, 20)  # local patrol window [14:00, 20:00)

#: relative crime by local hour (0-23), peaking 14:00-20:00
HOUR_PROFILE = np.array(
    [3.0, 2.5, 2.0, 1.2, 0.8, 0.6, 0.8, 1.2, 2.0, 2.8, 3.5, 4.0]
    + [4.5, 5.0, 6.5, 7.5, 8.0, 8.0, 7.5, 6.5, 5.0, 4.5, 4.0, 3.5]
)
#: relative crime by weekday, Monday first
WEEKDAY_PROFILE = np.array([0.9, 0.88, 0.92, 0.97, 1.12, 1.25, 0.96])
#: share of a hot spot's crimes inside the window (the hot spots are afternoon youth-violence places)
HOTSPOT_WINDOW_SHARE = 0.55
SEASON_AMPLITUDE = 0.15  # +-15% around the mean, peaking mid-July


def day_factors(days: pd.DatetimeIndex | np.ndarray | list[dt.date]) -> np.ndarray:
    """Season x weekday multiplier per local day (mean about 1 over a year)."""
    d = pd.DatetimeIndex(pd.to_datetime(days))
    season = 1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (d.day_of_year.to_numpy() - 196) / 365.25)
    return np.asarray(season * WEEKDAY_PROFILE[d.day_of_week.to_numpy()] / WEEKDAY_PROFILE.mean())


def _nb(rng: np.random.Generator, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """Negative binomial counts with mean ``mu`` and variance ``mu + dispersion * mu**2``."""
    if dispersion < 0:
        raise InputError(f"dispersion must be >= 0 (0 = Poisson), got {dispersion}")
    if dispersion > 0:
        mu = mu * rng.gamma(1.0 / dispersion, dispersion, size=mu.shape)
    return rng.poisson(mu)


@dataclass(frozen=True)
class HotspotPanel:
    """Hot spot x day panel of window crimes. Arrays are (n_areas, n_days); ``crime_cell`` is the
    flat cell index of each simulated crime and ``crime_offence`` its row in OFFENCES."""

    area_ids: np.ndarray
    days: pd.DatetimeIndex
    patrol: np.ndarray
    expected: np.ndarray
    counts: np.ndarray
    harm: np.ndarray
    crime_cell: np.ndarray
    crime_offence: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Long table [area_id, date, patrol, expected, crimes, harm], one row per hot spot-day."""
        a, d = self.counts.shape
        return pd.DataFrame(
            {
                "area_id": np.repeat(self.area_ids, d),
                "date": np.tile(self.days.date, a),
                "patrol": self.patrol.ravel(),
                "expected": self.expected.ravel(),
                "crimes": self.counts.ravel(),
                "harm": self.harm.ravel(),
            }
        )


def _assignment_matrix(
    assignment: pd.DataFrame | np.ndarray, area_ids: np.ndarray, days: pd.DatetimeIndex
) -> np.ndarray:
    if isinstance(assignment, np.ndarray):
        m = np.asarray(assignment, dtype=bool)
        if m.shape != (area_ids.size, len(days)):
            raise InputError(
                f"assignment has shape {m.shape}; expected (n_areas, n_days) = "
                f"({area_ids.size}, {len(days)})"
            )
        return m
    missing = {"area_id", "date", "patrol"} - set(assignment.columns)
    if missing:
        raise InputError(f"assignment is missing column(s) {sorted(missing)}")
    # index arithmetic, not a pivot: this runs once per trial in validation loops
    ai = pd.Index(area_ids).get_indexer(assignment["area_id"].to_numpy())
    di = days.get_indexer(pd.DatetimeIndex(pd.to_datetime(assignment["date"])))
    ok = (ai >= 0) & (di >= 0)
    m = np.zeros((area_ids.size, len(days)), dtype=bool)
    m[ai[ok], di[ok]] = assignment["patrol"].to_numpy(dtype=bool)[ok]
    return m


def simulate_hotspot_days(
    rng: np.random.Generator,
    base_rates: np.ndarray,
    days: pd.DatetimeIndex | np.ndarray | list[dt.date],
    assignment: pd.DataFrame | np.ndarray,
    effect: float = 0.30,
    dispersion: float = 0.5,
    *,
    area_ids: np.ndarray | None = None,
    seasonal: bool = True,
    mix: OffenceMix = HOTSPOT_MIX,
) -> HotspotPanel:
    """Window crimes per hot spot-day with a planted patrol effect, vectorised for many trials.

    ``base_rates``: expected window crimes per hot spot-day without patrol, shape (n_areas,)
    (multiplied by :func:`day_factors` when ``seasonal``) or (n_areas, n_days) used as given.
    ``assignment``: bool (n_areas, n_days) or a DataFrame [area_id, date, patrol] (absent = no
    patrol). A patrol day's rate is multiplied by ``1 - effect``, so the true incidence rate ratio
    is ``1 - effect``. Counts are negative binomial with variance mu + dispersion * mu^2
    (statsmodels' alpha; 0 = Poisson). Harm sums each crime's CCHI days under ``mix``.
    """
    if not 0 <= effect < 1:
        raise InputError(f"effect must be in [0, 1), got {effect}")
    d_idx = pd.DatetimeIndex(pd.to_datetime(days))
    base = np.asarray(base_rates, dtype=float)
    ids = np.arange(1, base.shape[0] + 1) if area_ids is None else np.asarray(area_ids)
    if base.ndim == 1:
        rates = base[:, None] * (day_factors(d_idx) if seasonal else np.ones(len(d_idx)))[None, :]
    elif base.shape == (ids.size, len(d_idx)):
        rates = base
    else:
        raise InputError(
            f"base_rates has shape {base.shape}; expected (n_areas,) or (n_areas, n_days)"
        )
    patrol = _assignment_matrix(assignment, ids, d_idx)
    mu = rates * np.where(patrol, 1.0 - effect, 1.0)
    counts = _nb(rng, mu, dispersion)
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    off = mix.draw(rng, cell.size)
    harm = np.bincount(cell, weights=mix.harm[off], minlength=counts.size).reshape(counts.shape)
    return HotspotPanel(ids, d_idx, patrol, mu, counts, harm, cell, off)


def make_assignment(
    rng: np.random.Generator,
    area_ids: np.ndarray | list[int],
    days: pd.DatetimeIndex | np.ndarray | list[dt.date],
    p: float = 0.5,
) -> pd.DataFrame:
    """Randomised patrol days per hot spot, blocked by weekday: in every (hot spot, weekday) block
    a share ``p`` of the days (rounded at random) are patrol days, so patrol and control days are
    balanced across weekdays and a weekday effect cannot masquerade as a patrol effect."""
    if not 0 <= p <= 1:
        raise InputError(f"patrol probability must be in [0, 1], got {p}")
    d_idx = pd.DatetimeIndex(pd.to_datetime(days))
    ids = np.asarray(area_ids)
    dow = d_idx.day_of_week.to_numpy()
    patrol = np.zeros((ids.size, len(d_idx)), dtype=bool)
    for w in range(7):
        cols = np.flatnonzero(dow == w)
        if cols.size == 0:
            continue
        target = p * cols.size
        k = np.floor(target) + (rng.random(ids.size) < target - np.floor(target))
        rank = np.argsort(np.argsort(rng.random((ids.size, cols.size)), axis=1), axis=1)
        patrol[:, cols] = rank < k[:, None]
    return pd.DataFrame(
        {
            "area_id": np.repeat(ids, len(d_idx)),
            "date": np.tile(d_idx.date, ids.size),
            "patrol": patrol.ravel(),
        }
    )


def local_to_utc(
    rng: np.random.Generator, day: np.ndarray, seconds: np.ndarray, tz: str = TZ
) -> np.ndarray:
    """Local day (datetime64[D]) + seconds after local midnight -> naive UTC datetime64[ns].

    A wall-clock time in the skipped spring hour moves an hour on (01:30 -> 02:30 BST); one in the
    repeated autumn hour is BST or GMT at random, as real incidents are.
    """
    local = day.astype("datetime64[ns]") + (seconds.astype(np.int64) * 1_000_000_000).astype(
        "timedelta64[ns]"
    )
    idx = pd.DatetimeIndex(local).tz_localize(
        tz, ambiguous=rng.random(local.size) < 0.5, nonexistent=pd.Timedelta(hours=1)
    )
    return idx.tz_convert("UTC").tz_localize(None).to_numpy()


def _draw_hours(rng: np.random.Generator, n: int, hours: np.ndarray) -> np.ndarray:
    w = HOUR_PROFILE * np.isin(np.arange(24), hours)
    return rng.choice(24, size=n, p=w / w.sum())


@dataclass(frozen=True)
class CrimeModel:
    """Expected crimes: per street point and day outside the hot spot window, and per hot spot."""

    point_rate: np.ndarray  # (n_points,) mean daily crimes at each point (all day)
    hotspot_window_rate: np.ndarray  # (7,) mean window crimes per hot spot-day
    retail: np.ndarray  # (n_points,) bool: shops (shoplifting-heavy mix)


def calibrate(
    rng: np.random.Generator,
    points: pd.DataFrame,
    before_days: int,
    hotspot_sv_before: float = 416.0,
    city_per_day: float = 24.0,
) -> CrimeModel:
    """Rates so that the seven hot spots hold about ``hotspot_sv_before`` serious violent crimes in
    the 14:00-20:00 window over the before period (the practice note's 416), and the rest of the
    city about ``city_per_day`` crimes a day, concentrated on few points (lognormal point levels:
    about half of all crime on the top 5% of points, as on real police.uk maps)."""
    hs_area = points["area_id"].to_numpy()
    is_hs = hs_area > 0
    sv_share = float(HOTSPOT_MIX.p[OFFENCES["category"].isin(SERIOUS_VIOLENCE).to_numpy()].sum())
    level = HOTSPOT_LEVEL / HOTSPOT_LEVEL.mean()
    n_hs = level.size
    window_rate = hotspot_sv_before / (before_days * n_hs * sv_share) * level
    # background: lognormal levels, truncated so no single point outdoes a hot spot's harm
    z = np.clip(rng.normal(size=points.shape[0]), -3, 2.4)
    w = np.exp(1.6 * z)
    loc = points["location"].to_numpy(dtype=str)
    retail = np.char.endswith(loc, "Supermarket") | np.char.endswith(loc, "Shopping Area")
    w[retail] *= 3.0
    w[is_hs] = 0.0
    point_rate = w / w.sum() * city_per_day
    # hot spot points: the out-of-window part of each hot spot's rate, split over its points
    for a in range(1, n_hs + 1):
        sel = np.flatnonzero(hs_area == a)
        share = rng.dirichlet(np.full(sel.size, 2.0))
        total = window_rate[a - 1] * (1 - HOTSPOT_WINDOW_SHARE) / HOTSPOT_WINDOW_SHARE
        point_rate[sel] = total * share
    return CrimeModel(point_rate=point_rate, hotspot_window_rate=window_rate, retail=retail)


def make_crimes(
    rng: np.random.Generator,
    points: pd.DataFrame,
    model: CrimeModel,
    days: pd.DatetimeIndex,
    assignment: pd.DataFrame,
    effect: float,
    dispersion: float,
) -> tuple[pd.DataFrame, HotspotPanel]:
    """All crimes over ``days`` (local), and the hot spot window panel they include."""
    hs_area = points["area_id"].to_numpy()
    fac = day_factors(days)
    # 1. every point, all day -- except hot spot points inside the window (drawn in step 2)
    mu = model.point_rate[:, None] * fac[None, :]
    counts = _nb(rng, mu, dispersion)
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    p_of, d_of = np.divmod(cell, len(days))
    in_hs = hs_area[p_of] > 0
    hours = np.empty(cell.size, dtype=int)
    hours[~in_hs] = _draw_hours(rng, int((~in_hs).sum()), np.arange(24))
    outside = np.r_[np.arange(0, WINDOW[0]), np.arange(WINDOW[1], 24)]
    hours[in_hs] = _draw_hours(rng, int(in_hs.sum()), outside)
    # 2. hot spot window crimes, with the planted patrol effect
    area_ids = np.arange(1, model.hotspot_window_rate.size + 1)
    panel = simulate_hotspot_days(
        rng, model.hotspot_window_rate, days, assignment, effect, dispersion, area_ids=area_ids
    )
    a_of, d2 = np.divmod(panel.crime_cell, len(days))
    # each window crime goes to one of its hot spot's points, in proportion to the point's level
    p2 = np.empty(a_of.size, dtype=int)
    for i, a in enumerate(area_ids):
        sel = np.flatnonzero(hs_area == a)
        m = a_of == i
        w = model.point_rate[sel]
        p2[m] = rng.choice(sel, size=int(m.sum()), p=w / w.sum())
    h2 = _draw_hours(rng, a_of.size, np.arange(*WINDOW))
    # offences: hot spot mix at hot spots, shop mix at shops, city mix elsewhere
    off = np.empty(cell.size, dtype=int)
    retail_mix = OTHER_MIX.p * np.where(OFFENCES["category"] == "Shoplifting", 8.0, 1.0)
    groups = [
        (in_hs, HOTSPOT_MIX.p),
        (~in_hs & model.retail[p_of], retail_mix / retail_mix.sum()),
        (~in_hs & ~model.retail[p_of], OTHER_MIX.p),
    ]
    for m, p in groups:
        off[m] = rng.choice(len(p), size=int(m.sum()), p=p)
    pt = np.r_[p_of, p2]
    di = np.r_[d_of, d2]
    hr = np.r_[hours, h2]
    of = np.r_[off, panel.crime_offence]
    # whole minutes, as force systems record them, so the incident extract round-trips exactly
    secs = hr * 3600 + rng.integers(0, 60, size=hr.size) * 60
    day64 = days.to_numpy().astype("datetime64[D]")[di]
    t = local_to_utc(rng, day64, secs)
    order = np.argsort(t, kind="stable")
    pt, di, of, t = pt[order], di[order], of[order], t[order]
    p = points.take(pt)
    o = OFFENCES.take(of)
    n = pt.size
    month = day64[order].astype("datetime64[M]").astype(str)
    raw = rng.bytes(32 * n)
    crime_id = np.array([raw[i * 32 : (i + 1) * 32].hex() for i in range(n)], dtype=object)
    is_asb = (o["category"] == "Anti-social behaviour").to_numpy()
    crime_id[is_asb] = None
    yy = np.char.mod(
        "%02d", (day64[order].astype("datetime64[Y]").astype(int) + 1970) % 100
    ).astype(object)
    incident = "SY/" + yy + "/" + pd.Series(np.arange(1, n + 1)).map("{:06d}".format).to_numpy()
    incident = incident.astype(object)
    incident[is_asb] = None
    crimes = pd.DataFrame(
        {
            "crime_id": crime_id,
            "incident_id": incident,
            "occurred_at": pd.to_datetime(t),
            "month": np.asarray(month, dtype=object),
            "category": o["category"].to_numpy(),
            "offence": o["offence"].to_numpy(),
            "ho_code": o["ho_code"].to_numpy(),
            "x": p["x"].to_numpy(),
            "y": p["y"].to_numpy(),
            "lon": p["lon"].to_numpy(),
            "lat": p["lat"].to_numpy(),
            "harm": o["harm"].to_numpy(),
            "point_id": pt,
            "area_id": hs_area[pt],
            "location": p["location"].to_numpy(),
            "lsoa_code": p["lsoa_code"].to_numpy(),
            "lsoa_name": p["lsoa_name"].to_numpy(),
        }
    )
    return crimes, panel
