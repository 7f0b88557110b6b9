"""The synthetic city: one call builds crimes, hot spots, patrol days, tracks and engagements.

Everything is drawn from one ``numpy`` generator seeded by ``seed``, in a fixed order, so the same
seed gives the same city on every machine; the demo, the tests and the validation runs rely on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from .crimes import CrimeModel, HotspotPanel, calibrate, make_assignment, make_crimes
from .engagements import make_engagements
from .layout import Layout, make_layout
from .patrols import make_tracks


@dataclass
class City:
    """A synthetic city centre. Coordinates are EPSG:27700 metres, times naive UTC, dates local.

    ``crimes``: crime_id (police.uk-style hash, None for anti-social behaviour), incident_id (the
    force's reference, None for ASB), occurred_at, month, category, offence, ho_code, x, y, lon,
    lat, harm (CCHI days), point_id, area_id (0 = no hot spot), location, lsoa_code, lsoa_name.
    ``plan``: team, area_id, date, start, end, device_id (None for the outreach team's visits).
    ``pings``: device_id, team, t, x, y, lon, lat, accuracy (68% radius, metres); only on the
    first ``track_days`` days of the during period (``tracked_days``).
    Ground truth the data hide: ``true_visits``, ``planted_breaches``, ``planted_abstraction``,
    ``planted_outliers`` and ``panel`` (the hot spot x day window crimes with their expectation).
    """

    seed: int
    effect: float
    layout: Layout
    hotspots: gpd.GeoDataFrame
    points: pd.DataFrame
    crimes: pd.DataFrame
    before: tuple[dt.date, dt.date]
    during: tuple[dt.date, dt.date]
    assignment: pd.DataFrame
    panel: HotspotPanel
    model: CrimeModel
    plan: pd.DataFrame
    pings: pd.DataFrame
    tracked_days: tuple[dt.date, ...]
    true_visits: pd.DataFrame
    planted_breaches: pd.DataFrame
    planted_abstraction: pd.DataFrame
    planted_outliers: pd.DataFrame
    engagements: pd.DataFrame
    force: str = "Synthshire Police"
    timezone: str = "Europe/London"

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write the files a force and its partner would bring (see :mod:`.writers`)."""
        from .writers import write_city

        return write_city(self, Path(directory))


def make_city(
    seed: int = 0,
    *,
    effect: float = 0.30,
    p_patrol: float = 0.5,
    before: tuple[dt.date, dt.date] = (dt.date(2022, 3, 1), dt.date(2023, 1, 31)),
    during_start: dt.date = dt.date(2023, 2, 6),
    during_weeks: int = 47,
    track_days: int | None = 28,
    n_points: int = 1500,
    hotspot_sv_before: float = 416.0,
    city_per_day: float = 24.0,
    dispersion: float = 0.5,
) -> City:
    """Build the synthetic city.

    ``effect``: fractional fall in each hot spot's 14:00-20:00 crime on its outreach patrol days
    (0.30 = rate ratio 0.70; 0 = no effect). ``p_patrol``: share of patrol days per hot spot,
    blocked by weekday. ``track_days``: days (from the start of the during period) with GPS
    tracks; None = all. ``hotspot_sv_before``: expected serious violent crimes in the seven hot
    spots, 14:00-20:00, over the before period (the practice note reports 416).
    Crimes cover the first day of ``before`` to the end of the month in which the during
    period ends, so every police.uk month is complete.
    """
    if not 0 <= effect < 1:
        raise InputError(f"effect must be in [0, 1), got {effect}")
    if before[1] >= during_start:
        raise InputError("the before period must end before the during period starts")
    if during_weeks < 1:
        raise InputError(f"during_weeks must be at least 1, got {during_weeks}")
    rng = np.random.default_rng(seed)
    layout = make_layout(rng, n_points)
    during_days = pd.date_range(during_start, periods=during_weeks * 7, freq="D")
    during = (during_days[0].date(), during_days[-1].date())
    last = (during_days[-1] + pd.offsets.MonthEnd(0)).date()
    all_days = pd.date_range(before[0], last, freq="D")
    before_days = (before[1] - before[0]).days + 1
    area_ids = layout.hotspots["area_id"].to_numpy()
    assignment = make_assignment(rng, area_ids, during_days, p_patrol)
    model = calibrate(rng, layout.points, before_days, hotspot_sv_before, city_per_day)
    crimes, panel = make_crimes(rng, layout.points, model, all_days, assignment, effect, dispersion)
    tracks = make_tracks(rng, layout, during_days, assignment, track_days)
    n_track = len(during_days) if track_days is None else min(track_days, len(during_days))
    engagements = make_engagements(rng, tracks.plan, tracks.true_visits)
    return City(
        seed=seed,
        effect=effect,
        layout=layout,
        hotspots=layout.hotspots,
        points=layout.points,
        crimes=crimes,
        before=before,
        during=during,
        assignment=assignment,
        panel=panel,
        model=model,
        plan=tracks.plan,
        pings=tracks.pings,
        tracked_days=tuple(d.date() for d in during_days[:n_track]),
        true_visits=tracks.true_visits,
        planted_breaches=tracks.breaches,
        planted_abstraction=tracks.abstraction,
        planted_outliers=tracks.outliers,
        engagements=engagements,
    )
