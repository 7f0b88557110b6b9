"""Displacement and diffusion: did crime move round the corner?

Catchment rings around the hot spots (default 0-100 m and 100-250 m from their edges), the
weighted displacement quotient (Bowers and Johnson 2003) and the weighted displacement
difference test (Wheeler and Ratcliffe 2018, as in R's ptools ``wdd`` and ``wdd_harm``),
including its harm-weighted form, where each crime category's WDD is weighted by its harm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from ..errors import InputError
from ..timeutil import dated_days
from .estimates import _clean
from .periods import (
    Period,
    check_no_overlap,
    check_periods,
    in_areas,
    is_month_precision,
    snap_months,
    whole_months,
)


def wdd(
    control: Sequence[float],
    treated: Sequence[float],
    disp_control: Sequence[float] = (0, 0),
    disp_treated: Sequence[float] = (0, 0),
    time_weights: Sequence[float] = (1, 1),
    area_weights: Sequence[float] = (1, 1, 1, 1),
    level: float = 0.95,
    *,
    shared_control: bool = False,
) -> dict[str, float]:
    """Weighted displacement difference test (Wheeler and Ratcliffe 2018).

    Each argument is (pre, post) counts. WDD = (T1 - T0) - (C1 - C0) for the treated area plus the
    same for the displacement ring; variance is the sum of the (weighted) counts, the normal
    approximation to Poisson. Time weights handle unequal periods, area weights unequal sizes.

    ``shared_control=True`` says the same control counts serve the treated area and the ring (no
    separate control for the displacement area; ``disp_control`` must then equal ``control``). The
    two control terms are then one Poisson count subtracted twice, so the total's variance gains
    the covariance 2 * sum_j C_j / (w_c,j * w_dc,j); treating them as independent would make the
    standard error too small and the test too eager.
    """
    tw = np.asarray(time_weights, float)
    aw = np.asarray(area_weights, float)
    c, t, dc, dt_ = (np.asarray(v, float) for v in (control, treated, disp_control, disp_treated))
    if shared_control and not np.array_equal(c, dc):
        raise InputError(
            f"shared_control: the displacement control {tuple(dc)} must be the control counts "
            f"{tuple(c)} themselves"
        )

    def part(a: np.ndarray, w_area: float) -> tuple[float, float]:
        w = tw * w_area
        est = a[1] / w[1] - a[0] / w[0]
        var = a[1] / w[1] ** 2 + a[0] / w[0] ** 2
        return est, var

    e_t, v_t = part(t, aw[1])
    e_c, v_c = part(c, aw[0])
    e_dt, v_dt = part(dt_, aw[3])
    e_dc, v_dc = part(dc, aw[2])
    local, var_local = e_t - e_c, v_t + v_c
    disp, var_disp = e_dt - e_dc, v_dt + v_dc
    # shared control counts: Cov(e_c, e_dc) = sum_j Var(C_j) / (w_c,j * w_dc,j), Var(C_j) = C_j
    cov = float(np.sum(c / (tw * aw[0] * tw * aw[2]))) if shared_control else 0.0
    total, var_tot = local + disp, var_local + var_disp + 2.0 * cov
    q = stats.norm.ppf(0.5 + level / 2)
    se = math.sqrt(var_tot)
    z = total / se if se > 0 else float("nan")
    return {
        "Est_Local": local,
        "SE_Local": math.sqrt(var_local),
        "Est_Displace": disp,
        "SE_Displace": math.sqrt(var_disp),
        "Est_Total": total,
        "SE_Total": se,
        "Z": z,
        "p": float(2 * stats.norm.sf(abs(z))) if se > 0 else float("nan"),
        "LowCI": total - q * se,
        "HighCI": total + q * se,
    }


def wdd_harm(
    est: Sequence[float], se: Sequence[float], weight: Sequence[float], level: float = 0.95
) -> dict[str, float]:
    """Combine per-category WDD estimates into one harm-weighted estimate (ptools ``wdd_harm``)."""
    e, s, w = (np.asarray(v, float) for v in (est, se, weight))
    tot = float(np.sum(e * w))
    tse = float(math.sqrt(np.sum(s**2 * w**2)))
    q = stats.norm.ppf(0.5 + level / 2)
    z = tot / tse if tse > 0 else float("nan")
    return {
        "HarmEst": tot,
        "SE_HarmEst": tse,
        "Z": z,
        "p": float(2 * stats.norm.sf(abs(z))) if tse > 0 else float("nan"),
        "LowCI": tot - q * tse,
        "HighCI": tot + q * tse,
    }


def wdq(
    treated: Sequence[float], displacement: Sequence[float], control: Sequence[float]
) -> float | None:
    """Weighted displacement quotient (Bowers and Johnson 2003); None when not interpretable.

    (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb): > 0 diffusion of benefit, < 0 displacement; only
    meaningful when the treated area improved relative to control (denominator < 0).
    """
    rb, ra = treated
    db, da = displacement
    cb, ca = control
    if min(cb, ca) <= 0:
        return None
    success = ra / ca - rb / cb
    if success >= 0:
        return None
    return float((da / ca - db / cb) / success)


def _rescale(control_before: float, zone_before: float) -> float:
    """Area weight that rescales a control to a zone's before level; a zone with nothing before
    gets an infinite weight (the control then expects nothing there, rather than its own change)."""
    if zone_before <= 0:
        return math.inf
    return control_before / zone_before if control_before > 0 else 1.0


def catchment_rings(
    hotspots: gpd.GeoDataFrame, distances: Sequence[float] = (100.0, 250.0)
) -> gpd.GeoDataFrame:
    """Rings around the union of hot spots: 0-d1, d1-d2, ... metres from their edges.

    Rings never include any hot spot, and a place near two hot spots is counted once.
    """
    d = sorted(float(v) for v in distances)
    if not d or not all(v > 0 and math.isfinite(v) for v in d):
        raise InputError(f"catchment ring distances must be positive metres, e.g. 100,250, got {d}")
    if len(set(d)) < len(d):
        # a repeated edge is a ring of no ground, whose 'no change' would read as a finding
        raise InputError(
            f"catchment ring distances repeat ({d}): give each edge once, e.g. 100,250"
        )
    core = shapely.union_all(hotspots.geometry.to_numpy())
    rows = []
    inner = core
    for i, dist in enumerate(d):
        outer = core.buffer(dist)
        ring = outer.difference(inner)
        lo = 0.0 if i == 0 else d[i - 1]
        rows.append({"area_id": i + 1, "name": f"ring {lo:g}-{dist:g} m", "geometry": ring})
        inner = outer
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=hotspots.crs)


@dataclass
class Displacement:
    table: pd.DataFrame
    rings: list[dict[str, Any]]
    harm: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    before: Period | None = None
    during: Period | None = None

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "kind": "displacement",
                "before": self.before.to_dict() if self.before else None,
                "during": self.during.to_dict() if self.during else None,
                "zones": self.table.to_dict(orient="records"),
                "rings": self.rings,
                "harm_weighted": self.harm,
                "notes": self.notes,
            }
        )

    def statement(self) -> str:
        parts = []
        for r in self.rings:
            w = r["wdd"]
            lo, hi = w["LowCI"], w["HighCI"]
            if r["ring_change"]["hi"] < 0:
                kind = "crime also fell in this ring (diffusion of benefit)"
            elif r["ring_change"]["lo"] > 0:
                kind = "crime rose in this ring relative to control (possible displacement)"
            else:
                kind = "no clear change in this ring relative to control"
            rc = r["ring_change"]
            parts.append(
                f"{r['ring']}: {kind} (ring against control {rc['est']:+.1f} crimes, 95% interval "
                f"{rc['lo']:+.1f} to {rc['hi']:+.1f}); hot spots and ring together: WDD "
                f"{w['Est_Total']:+.1f} ({lo:+.1f} to {hi:+.1f})"
            )
        return "; ".join(parts)


def displacement(
    crimes: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    before: Period,
    during: Period,
    *,
    comparison_areas: gpd.GeoDataFrame | None = None,
    distances: Sequence[float] = (100.0, 250.0),
    tz: str = "Europe/London",
) -> Displacement:
    """Counts in hot spots, rings and control per period; WDQ and WDD per ring; harm-weighted WDD.

    Control: comparison areas (with their own rings as displacement control) when given, else the
    rest of the data outside hot spots and rings, rescaled to the hot spots' before level (area
    weights), which the notes say.
    """
    month = is_month_precision(crimes)
    if month:
        # the whole months inside each period are what is counted: report those
        before, during = snap_months(before), snap_months(during)
    notes = check_periods(before, during)
    c = crimes[crimes["x"].notna() & crimes["y"].notna()].copy()
    if month:
        mb, md = set(whole_months(before)), set(whole_months(during))
        lab = c["month"].astype(str)
        c["_p"] = np.where(lab.isin(mb), 0, np.where(lab.isin(md), 1, -1))
        db = sum(pd.Period(m, "M").days_in_month for m in mb)
        dd = sum(pd.Period(m, "M").days_in_month for m in md)
        notes.append("month-precision crimes: periods are whole months; snapped points")
    else:
        # a crime's local day from its time, or from a window within one local day (a date with
        # no time); the rest (longer windows, month only) cannot be placed in a period
        day = dated_days(c, tz)
        if day.isna().any():
            notes.append(
                f"{int(day.isna().sum()):,} crime(s) known only to a window longer than a day (or "
                "to the month) have no single day: left out"
            )
        c, day = c[day.notna()], day[day.notna()]
        inb = (day >= pd.Timestamp(before.start)) & (day <= pd.Timestamp(before.end))
        ind = (day >= pd.Timestamp(during.start)) & (day <= pd.Timestamp(during.end))
        c["_p"] = np.where(inb, 0, np.where(ind, 1, -1))
        db, dd = before.days, during.days
    c = c[c["_p"] >= 0]
    rings = catchment_rings(hotspots, distances)
    zone = pd.Series("other", index=c.index, dtype=object)
    rid = in_areas(c, rings)
    zone[rid.notna()] = "ring" + rid[rid.notna()].astype(int).astype(str)
    zone[in_areas(c, hotspots).notna()] = "hotspots"
    scaled = comparison_areas is None or comparison_areas.empty
    if not scaled:
        assert comparison_areas is not None
        check_no_overlap(hotspots, comparison_areas, "comparison area")
        comp_rings = catchment_rings(comparison_areas, distances)
        if shapely.union_all(comp_rings.geometry.to_numpy()).intersects(
            shapely.union_all(rings.geometry.to_numpy())
        ):
            notes.append(
                "comparison areas' rings touch the hot spots' rings: some crimes may count twice"
            )
        other = zone == "other"
        crid = in_areas(c, comp_rings)
        zone[other & crid.notna()] = "cring" + crid[other & crid.notna()].astype(int).astype(str)
        zone[other & in_areas(c, comparison_areas).notna()] = "control"
    else:
        zone[zone == "other"] = "control"
    c["_zone"] = zone
    tw = (db / dd, 1.0)
    tab = (
        c.groupby(["_zone", "_p"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=[0, 1], fill_value=0)
    )

    def cnt(z: str) -> tuple[float, float]:
        if z not in tab.index:
            return (0.0, 0.0)
        return (float(tab.at[z, 0]), float(tab.at[z, 1]))  # type: ignore[arg-type]

    t = cnt("hotspots")
    ctl = cnt("control")
    if t[0] == 0:
        raise InputError(
            "no crimes in the hot spots in the before period: displacement cannot be assessed"
        )
    if min(ctl) == 0:
        raise InputError("the control has a period with no crimes: it cannot serve as a control")
    # area weight for the control so its before count matches the hot spots' (when rescaled)
    aw_c = ctl[0] / t[0] if scaled else 1.0
    if scaled:
        notes.append(
            "no comparison areas: the control is every other crime in the data, rescaled to the "
            f"hot spots' before count (area weight {aw_c:.2f}, Wheeler's area-weighted WDD)"
        )
    if db != dd:
        notes.append("unequal periods: WDD uses time weights (counts per during-period length)")
    ring_out = []
    for i in range(1, len(distances) + 1):
        r = cnt(f"ring{i}")
        if scaled:
            # the rest of the data, rescaled to this ring's before level, is its control too
            # (a ring with no crime before: the control rescaled to nothing expects nothing)
            cr = ctl
            aw_d = _rescale(ctl[0], r[0])
        else:
            cr = cnt(f"cring{i}")
            aw_d = 1.0
        w = wdd(
            ctl,
            t,
            cr,
            r,
            time_weights=tw,
            area_weights=(aw_c, 1.0, aw_d, 1.0),
            shared_control=scaled,
        )
        q = stats.norm.ppf(0.975)
        ring_out.append(
            {
                "ring": rings["name"].iloc[i - 1],
                "counts": {"hotspots": t, "ring": r, "control": ctl, "ring_control": cr},
                "wdq": wdq(t, r, ctl),
                "wdd": w,
                "ring_change": {
                    "est": w["Est_Displace"],
                    "lo": w["Est_Displace"] - q * w["SE_Displace"],
                    "hi": w["Est_Displace"] + q * w["SE_Displace"],
                },
            }
        )
    table = (
        tab.rename(columns={0: "before", 1: "during"})
        .reset_index()
        .rename(columns={"_zone": "zone"})
    )
    table["before_per_day"] = table["before"] / db
    table["during_per_day"] = table["during"] / dd
    harm: dict[str, Any] | None = None
    if "harm" in c.columns and c["harm"].notna().any() and "category" in c.columns:
        cat = c.assign(_cat=c["category"].fillna("unknown"))
        med = cat.groupby("_cat")["harm"].median()
        wts = med.dropna()
        if len(wts) < len(med):
            # a category with no harm value has no weight: its crimes count in the zones but
            # not in the harm-weighted estimate, which must say so
            gone = med.index[med.isna()]
            n_gone = int(cat["_cat"].isin(gone).sum())
            notes.append(
                f"harm-weighted WDD leaves out {n_gone:,} crime(s) of {len(gone)} "
                f"categor{'y' if len(gone) == 1 else 'ies'} with no harm value: "
                + ", ".join(str(g) for g in gone)
            )
        ests, ses, ws = [], [], []
        for k, wk in wts.items():
            sub = cat[cat["_cat"] == k]
            g = (
                sub.groupby(["_zone", "_p"])
                .size()
                .unstack(fill_value=0)
                .reindex(columns=[0, 1], fill_value=0)
            )

            def gc(z: str, g: pd.DataFrame = g) -> tuple[float, float]:
                if z not in g.index:
                    return (0.0, 0.0)
                return (float(g.at[z, 0]), float(g.at[z, 1]))  # type: ignore[arg-type]

            ring_all = tuple(
                sum(gc(f"ring{i}")[j] for i in range(1, len(distances) + 1)) for j in (0, 1)
            )
            cring_all = tuple(
                sum(gc(f"cring{i}")[j] for i in range(1, len(distances) + 1)) for j in (0, 1)
            )
            gctl = gc("control")
            if scaled:
                cring_all = gctl
                awd = _rescale(gctl[0], ring_all[0])
                awc = _rescale(gctl[0], gc("hotspots")[0])
            else:
                awd, awc = 1.0, 1.0
            res = wdd(
                gctl,
                gc("hotspots"),
                cring_all,
                ring_all,
                time_weights=tw,
                area_weights=(awc, 1, awd, 1),
                shared_control=scaled,
            )
            ests.append(res["Est_Total"])
            ses.append(res["SE_Total"])
            ws.append(float(wk))
        harm = dict(wdd_harm(ests, ses, ws))
        harm["weights"] = dict(zip(wts.index.astype(str), (float(v) for v in wts), strict=True))
        harm["method"] = (
            "ptools wdd_harm: per-category WDD (hot spots + all rings) weighted by the category's median harm"
        )
    return Displacement(
        table=table, rings=ring_out, harm=harm, notes=notes, before=before, during=during
    )
