"""Before and during: counts and harm in the hot spots over two periods, alone and against a comparison.

Counts: the exact Poisson rate ratio (conditional binomial: given k1 + k2 crimes, the during share
is binomial; Clopper-Pearson on that share, scaled by exposure days). Harm has no Poisson law, so
its ratio gets a quasi-Poisson t interval on the week (or month) totals: a percentile bootstrap
over so few units is too narrow (:func:`bootstrap_harm_ratio`, kept for comparison). Against
comparison areas or a comparison force: a difference-in-differences ratio from a quasi-binomial
model of each unit's hot spot share of the hot spot and comparison crimes (harm: a quasi-Poisson
model with the comparison harm as offset), so shocks shared by both (seasons, lockdowns,
recording changes) cancel, and overdispersion widens the interval (t on n_units - 2 df).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..timeutil import dated_days
from .displacement import wdd
from .estimates import Estimate, _clean
from .glm import fit_quasi_poisson
from .periods import (
    Period,
    check_no_overlap,
    check_periods,
    in_areas,
    is_month_precision,
    whole_months,
)


def exact_rate_ratio(
    k_before: int, days_before: float, k_during: int, days_during: float, level: float = 0.95
) -> tuple[float, float, float, float]:
    """(ratio, lo, hi, p) for the rate per day during over before, exact conditional method."""
    k1, k2 = int(k_before), int(k_during)
    n = k1 + k2
    if k1 == 0:
        raise InputError(
            "no crimes in the before period: a change from zero is undefined; check the dates, "
            "the category filter and that crimes for the before period were imported"
        )
    e = days_before / days_during
    ratio = (k2 / days_during) / (k1 / days_before)
    bt = stats.binomtest(k2, n, days_during / (days_before + days_during))
    ci = bt.proportion_ci(confidence_level=level, method="exact")
    lo = ci.low / (1 - ci.low) * e if ci.low < 1 else np.inf
    hi = ci.high / (1 - ci.high) * e if ci.high < 1 else np.inf
    return float(ratio), float(lo), float(hi), float(bt.pvalue)


def _units(period: Period, month_precision: bool) -> pd.DataFrame:
    """The time units of a period: months (month precision) or weeks from its start."""
    if month_precision:
        months = whole_months(period)
        starts = pd.to_datetime([m + "-01" for m in months])
        days = [pd.Period(m, "M").days_in_month for m in months]
        return pd.DataFrame({"unit": months, "start": starts, "days": days, "period": period.name})
    n = period.days
    k = np.arange(0, n, 7)
    wstarts = pd.Timestamp(period.start) + pd.to_timedelta(k, unit="D")
    wdays = np.minimum(7, n - k)
    return pd.DataFrame(
        {
            "unit": [f"{s:%Y-%m-%d}" for s in wstarts],
            "start": wstarts,
            "days": wdays,
            "period": period.name,
        }
    )


def _unit_of(
    crimes: pd.DataFrame, units: pd.DataFrame, period: Period, month_precision: bool
) -> pd.Series:
    """Which unit (label) each crime belongs to; NaN when outside the period."""
    if month_precision:
        lab = crimes["month"].astype(str)
        return lab.where(lab.isin(set(units["unit"])))
    day = crimes["_day"]
    inside = (day >= pd.Timestamp(period.start)) & (day <= pd.Timestamp(period.end))
    k = ((day - pd.Timestamp(period.start)).dt.days // 7) * 7
    lab = (pd.Timestamp(period.start) + pd.to_timedelta(k, unit="D")).dt.strftime("%Y-%m-%d")
    return lab.where(inside)


def series(
    crimes: pd.DataFrame, before: Period, during: Period, month_precision: bool
) -> pd.DataFrame:
    """Counts and harm per unit over both periods: unit, start, days, period, crimes, harm, harm_n."""
    rows = []
    for p in (before, during):
        u = _units(p, month_precision)
        lab = _unit_of(crimes, u, p, month_precision)
        c = crimes.assign(_u=lab).dropna(subset=["_u"])
        harm = c["harm"] if "harm" in c.columns else pd.Series(np.nan, index=c.index)
        g = (
            pd.DataFrame(
                {
                    "_u": c["_u"],
                    "n": 1,
                    "harm": harm.fillna(0.0),
                    "harm_n": harm.notna().astype(int),
                }
            )
            .groupby("_u")[["n", "harm", "harm_n"]]
            .sum()
        )
        u = u.join(g, on="unit")
        rows.append(u)
    out = pd.concat(rows, ignore_index=True)
    out = out.rename(columns={"n": "crimes"}).fillna({"crimes": 0, "harm": 0.0, "harm_n": 0})
    out["crimes"] = out["crimes"].astype(int)
    out["harm_n"] = out["harm_n"].astype(int)
    return out


def bootstrap_harm_ratio(
    harm_b: np.ndarray,
    days_b: np.ndarray,
    harm_d: np.ndarray,
    days_d: np.ndarray,
    *,
    n_boot: int = 4000,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Ratio of harm per day (during / before) with a percentile bootstrap over units."""
    if harm_b.sum() <= 0:
        raise InputError("no harm recorded in the before period: a change from zero is undefined")
    ratio = (harm_d.sum() / days_d.sum()) / (harm_b.sum() / days_b.sum())
    ib = rng.integers(0, len(harm_b), size=(n_boot, len(harm_b)))
    idd = rng.integers(0, len(harm_d), size=(n_boot, len(harm_d)))
    rb = harm_b[ib].sum(1) / days_b[ib].sum(1)
    rd = harm_d[idd].sum(1) / days_d[idd].sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = rd / rb
    # a resample with no harm before has an infinite ratio: it belongs to the distribution (drop
    # it and the upper bound is cut short); only 0/0 (no harm in either) has no ratio at all
    r = r[~np.isnan(r)]
    a = (1 - level) / 2
    # order statistics, not interpolation, so an infinite tail gives an unbounded (inf) limit
    lo = np.quantile(r, a, method="lower")
    hi = np.quantile(r, 1 - a, method="higher")
    return float(ratio), float(lo), float(hi)


def did_ratio(
    y: np.ndarray, c: np.ndarray, during: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference-in-differences ratio for series ``y`` (T, n) against comparison ``c`` (T, n).

    Quasi-Poisson model log E[y_t] = a + d * during_t + log c_t; returns (ratio, lo, hi, p) arrays
    over the T rows. The interval uses t on n - 2 degrees of freedom.
    """
    y = np.atleast_2d(y)
    c = np.atleast_2d(c)
    if np.any(c <= 0):
        raise InputError("the comparison has a time unit with no crimes: it cannot be an offset")
    t_n, n = y.shape
    x = np.column_stack([np.ones(n), during.astype(float)])
    xb = np.broadcast_to(x, (t_n, n, 2))
    fit = fit_quasi_poisson(y, xb, offset=np.log(c))
    b = fit.beta[:, 1]
    # a series with (almost) no crime in one period runs the estimate off towards the boundary:
    # it has no standard error, its interval is 0 to infinity, which reports read as unbounded
    se = np.where(np.isnan(fit.se(1)) & np.isfinite(b), np.inf, fit.se(1))
    q = stats.t.ppf(0.5 + level / 2, fit.df_resid)
    with np.errstate(invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(b / se), fit.df_resid)
    with np.errstate(over="ignore"):
        return np.exp(b), np.exp(b - q * se), np.exp(b + q * se), p


def did_ratio_counts(
    y: np.ndarray, c: np.ndarray, during: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference-in-differences ratio of crime counts ``y`` (T, n) against comparison counts
    ``c`` (T, n), conditional on each unit's total.

    Given n_t = y_t + c_t, y_t is binomial with logit pi_t = a + d * during_t (quasi-binomial:
    Pearson scale, t on n_units - 2 df, where units with n_t = 0 carry nothing). exp(d) is the
    ratio of the hot spot / comparison ratios of the period totals, in closed form. Unlike the
    offset model of :func:`did_ratio` a unit with no comparison crime still counts: leaving such
    units out drops their hot spot crimes, and a sparse comparison that empties more units in one
    period than the other biased the ratio (truth 2.0, median estimate 1.24). Returns (ratio,
    lo, hi, p) arrays over the T rows; NaN where a period has no crime on either side.
    """
    y = np.atleast_2d(np.asarray(y, float))
    c = np.atleast_2d(np.asarray(c, float))
    dur = np.asarray(during, bool)
    n = y + c
    yb, yd = y[:, ~dur].sum(1), y[:, dur].sum(1)
    cb, cd = c[:, ~dur].sum(1), c[:, dur].sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.log(yd / cd) - np.log(yb / cb)
        pb, pd_ = yb / (yb + cb), yd / (yd + cd)
        pi = np.where(dur[None, :], pd_[:, None], pb[:, None])
        use = n > 0
        df = use.sum(1) - 2.0
        resid = np.where(use, (y - n * pi) ** 2 / (n * pi * (1 - pi)), 0.0)
        scale = resid.sum(1) / df
        se = np.sqrt(scale * (1 / ((yb + cb) * pb * (1 - pb)) + 1 / ((yd + cd) * pd_ * (1 - pd_))))
        q = stats.t.ppf(0.5 + level / 2, df)
        p = 2 * stats.t.sf(np.abs(b / se), df)
    ok = (np.minimum.reduce([yb, yd, cb, cd]) > 0) & (df > 0) & np.isfinite(se) & (se > 0)
    nan = np.full(len(b), np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        return (
            np.where(ok, np.exp(b), nan),
            np.where(ok, np.exp(b - q * se), nan),
            np.where(ok, np.exp(b + q * se), nan),
            np.where(ok, p, nan),
        )


@dataclass
class BeforeAfter:
    """Everything the before/after evaluation found, ready for JSON and the report."""

    estimates: list[Estimate]
    series: pd.DataFrame
    before: Period
    during: Period
    precision: str
    notes: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        s = self.series.copy()
        s["start"] = s["start"].dt.strftime("%Y-%m-%d")
        return _clean(
            {
                "kind": "before_after",
                "before": self.before.to_dict(),
                "during": self.during.to_dict(),
                "precision": self.precision,
                "counts": self.counts,
                "estimates": [e.to_dict() for e in self.estimates],
                "series": s.to_dict(orient="records"),
                "notes": self.notes,
            }
        )


def _snap_months(p: Period) -> Period:
    """The whole months inside a period, as a period (month-precision data)."""
    months = whole_months(p)
    first = pd.Timestamp(months[0] + "-01")
    last = pd.Timestamp(months[-1] + "-01") + pd.offsets.MonthEnd(0)
    return Period(p.name, first.date(), last.date())


def quasi_poisson_harm_ratio(
    harm_b: np.ndarray,
    days_b: np.ndarray,
    harm_d: np.ndarray,
    days_d: np.ndarray,
    level: float = 0.95,
    unit: str = "months",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of harm per day (during / before) over time units (months or weeks), with a t interval.

    Quasi-Poisson model of harm per unit, log E[h_u] = a + d * during_u + log(days_u): its
    estimate is exactly the ratio of harm per day, its variance is Pearson-scaled (harm is a sum
    of skewed per-crime values: variance proportional to the mean, whatever the scale), and the
    interval uses t on n_units - 2 degrees of freedom, as the comparison DiD does. Over 11 months
    before and 10 during the percentile bootstrap over months covered about 92% (80% over 3 and 3);
    this covers 95% (see tests/test_evaluate_before_after.py). ``harm_b``/``harm_d`` are
    (n_b,)/(n_d,) or (T, n_b)/(T, n_d) for T series at once; returns (ratio, lo, hi, p) arrays,
    NaN where a series has no harm in a period or its fit did not converge.
    """
    hb, hd = np.atleast_2d(np.asarray(harm_b, float)), np.atleast_2d(np.asarray(harm_d, float))
    db, dd = np.asarray(days_b, float), np.asarray(days_d, float)
    n = hb.shape[1] + hd.shape[1]
    if n < 3:
        raise InputError(
            f"{n} time units ({unit}) are too few for a harm interval: at least three are needed"
        )
    y = np.hstack([hb, hd])
    x = np.column_stack([np.ones(n), np.r_[np.zeros(hb.shape[1]), np.ones(hd.shape[1])]])
    fit = fit_quasi_poisson(y, x, offset=np.log(np.r_[db, dd]), per_row=True)
    se = fit.se(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (hd.sum(1) / dd.sum()) / (hb.sum(1) / db.sum())
        b = np.log(ratio)
    ok = fit.converged & np.isfinite(se) & (se > 0) & (hb.sum(1) > 0) & (hd.sum(1) > 0)
    q = stats.t.ppf(0.5 + level / 2, fit.df_resid)
    with np.errstate(invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(b / se), fit.df_resid)
    nan = np.full(len(ratio), np.nan)
    return (
        np.where(ok, ratio, nan),
        np.where(ok, np.exp(b - q * se), nan),
        np.where(ok, np.exp(b + q * se), nan),
        np.where(ok, p, nan),
    )


def _unit_of_all(crimes: pd.DataFrame, period: Period, month_precision: bool) -> pd.Series:
    """Which of the (prepared) crimes, anywhere, fall in a period."""
    lab = _unit_of(crimes, _units(period, month_precision), period, month_precision)
    return lab.notna()


def _prep(crimes: pd.DataFrame, month_precision: bool, tz: str) -> tuple[pd.DataFrame, int]:
    """The crimes a series can place, and how many it cannot (daily series: no local day)."""
    c = crimes.copy()
    if not month_precision:
        day = dated_days(c, tz)
        keep = day.notna()
        c = c[keep]
        c["_day"] = day[keep]
        return c, int((~keep).sum())
    if "month" not in c.columns:
        raise InputError("crimes need a 'month' column (YYYY-MM) or an 'occurred_at' time")
    return c, 0


def before_after(
    crimes: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    before: Period,
    during: Period,
    *,
    comparison_crimes: pd.DataFrame | None = None,
    comparison_areas: gpd.GeoDataFrame | None = None,
    comparison_label: str = "comparison",
    tz: str = "Europe/London",
) -> BeforeAfter:
    """Compare the hot spots' crimes and harm per day between two periods (and against a comparison).

    ``comparison_crimes``: crimes of a comparison force or city (every row counts, so filter it to
    the same categories first). ``comparison_areas``: areas whose crimes, taken from ``crimes``,
    form the comparison; they must not overlap the hot spots.

    Hot spots with crimes before and none during get the exact answer, -100% with its exact
    interval from -100% (no log-scale estimate exists, so harm and the DiD become notes); no
    crimes in the hot spots before, or no crimes anywhere in ``crimes`` during (a period not
    imported), is refused.
    """
    if hotspots.empty:
        raise InputError("no hot spots to evaluate: add hot spots first (patrolwise hotspots ...)")
    month_precision = is_month_precision(crimes)
    notes: list[str] = []
    if month_precision:
        notes.append(
            "crimes are known only to the month (police.uk): periods are whole months and the "
            "series is monthly; police.uk points are snapped to anonymised map points, so crimes "
            "near a hot spot's edge may be counted on the wrong side"
        )
        before, during = _snap_months(before), _snap_months(during)
    notes += check_periods(before, during)
    c, undated = _prep(crimes, month_precision, tz)
    if undated:
        notes.append(
            f"{undated:,} crime(s) known only to a window longer than a day (or to the month) are "
            "left out of the daily series: no day can be given to them"
        )
    c["_area"] = in_areas(c, hotspots)
    hs = c[c["_area"].notna()]
    ser = series(hs, before, during, month_precision)
    is_b = (ser["period"] == before.name).to_numpy()
    kb, kd = int(ser.loc[is_b, "crimes"].sum()), int(ser.loc[~is_b, "crimes"].sum())
    db, dd = int(ser.loc[is_b, "days"].sum()), int(ser.loc[~is_b, "days"].sum())
    if kb == 0:
        which = "either period" if kd == 0 else f"the before period ({before.start}..{before.end})"
        raise InputError(
            f"no crimes in the hot spots in {which}: check the dates, the category filter and "
            "that crimes for that period were imported; no percentage change is reported from "
            "an empty before period"
        )
    if kd == 0 and not (_unit_of_all(c, during, month_precision)).any():
        # no crime anywhere in the data: the period was not imported (or filtered away), which
        # is not evidence of a fall; a fall to 0 in the hot spots alone is answered below
        raise InputError(
            f"no crimes in the hot spots in the during period ({during.start}..{during.end}), "
            "nor anywhere else in the data for it: check the dates, the category filter and "
            "that crimes for that period were imported; no percentage change is reported from "
            "a period with no data"
        )
    counts: dict[str, Any] = {
        "hotspot_crimes_before": kb,
        "hotspot_crimes_during": kd,
        "days_before": db,
        "days_during": dd,
        "hotspots": int(len(hotspots)),
    }
    period = {"before": before.to_dict(), "during": during.to_dict()}
    r, lo, hi, p = exact_rate_ratio(kb, db, kd, dd)
    est_notes = [
        "assumes Poisson variation; a trend or season shared with the rest of the city is "
        "not removed (see the comparison estimate)"
    ]
    extra: dict[str, Any] = {}
    if kd == 0:
        # a fall to 0 has an exact answer: the during share of the kb crimes is 0 of kb, whose
        # Clopper-Pearson interval runs from 0, so the rate ratio's interval runs from 0 (-100%)
        fall = (
            f"no crimes in the hot spots in the during period ({kb} before, 0 during): the "
            f"estimate is a 100% fall (rate ratio 0) with an exact 95% interval from -100% to "
            f"{100 * (hi - 1):+.1f}% (conditional binomial, Clopper-Pearson); a ratio of 0 has "
            "no logarithm, so no log-scale (model) estimate exists: the harm change and any "
            "difference in differences are not estimated"
        )
        est_notes.insert(0, fall)
        notes.append(fall)
        extra["empty_period"] = during.name
    ests = [
        Estimate(
            name="Hot spots, during vs before (crimes per day)",
            outcome="crimes",
            method="exact Poisson rate ratio (conditional binomial, Clopper-Pearson), per day",
            ratio=r,
            lo=lo,
            hi=hi,
            p=p,
            counts={"before": kb, "during": kd, "days_before": db, "days_during": dd},
            period=period,
            notes=est_notes,
            extra=extra,
        )
    ]
    has_harm = "harm" in hs.columns and hs["harm"].notna().any() and kd > 0
    if has_harm:
        known = {
            before.name: int(ser.loc[is_b, "harm_n"].sum()),
            during.name: int(ser.loc[~is_b, "harm_n"].sum()),
        }
        empty = [k for k, v in known.items() if v == 0]
        if empty:
            # missing harm counts as zero: a period with none known would read as a 100% change
            notes.append(
                f"no hot spot crime in the {' or '.join(empty)} period has a harm value: harm "
                "change not estimated (check the harm table covers those offences)"
            )
            has_harm = False
    if has_harm:
        hb, hd = float(ser.loc[is_b, "harm"].sum()), float(ser.loc[~is_b, "harm"].sum())
        # over the two periods only (not the crimes loaded between them)
        missing = int(ser["crimes"].sum() - ser["harm_n"].sum())
        if missing:
            notes.append(f"{missing} hot spot crimes have no harm value and count zero harm")
        counts.update(hotspot_harm_before=hb, hotspot_harm_during=hd)
        zero = [n for n, v in ((before.name, hb), (during.name, hd)) if not v > 0]
        if zero:
            # harm values known but all 0 (offences a table scores 0): a ratio of 0 (or infinity)
            # has no interval, alone or against the comparison, as an empty period for crimes
            notes.append(
                f"no harm recorded in the {' or '.join(zero)} period (the hot spot crimes' harm "
                "values are all 0): harm change not estimated, alone or against the comparison"
            )
            has_harm = False
        else:
            # few units: a percentile bootstrap over them is too narrow (91-92% over 11 and 10
            # months, 70% over 2 and 2 weeks, 92-93% over 12 to 20 weeks; over one week each
            # side an interval of zero width); the quasi-Poisson t interval covers 95%
            unit = "months" if month_precision else "weeks"
            try:
                hr, hlo, hhi, hp = (
                    float(v[0])
                    for v in quasi_poisson_harm_ratio(
                        ser.loc[is_b, "harm"].to_numpy(float),
                        ser.loc[is_b, "days"].to_numpy(float),
                        ser.loc[~is_b, "harm"].to_numpy(float),
                        ser.loc[~is_b, "days"].to_numpy(float),
                        unit=unit,
                    )
                )
                if not np.isfinite([hr, hlo, hhi, hp]).all():
                    raise InputError(
                        f"the quasi-Poisson model of harm per {unit[:-1]} did not converge"
                    )
            except InputError as exc:
                notes.append(f"harm change not estimated: {exc}")
            else:
                n_u = int(len(ser))
                ests.append(
                    Estimate(
                        name="Hot spots, during vs before (harm per day)",
                        outcome="harm",
                        method=(
                            f"ratio of harm per day, quasi-Poisson model of harm per {unit[:-1]} "
                            f"(Pearson scale); t interval on {n_u - 2} df"
                        ),
                        ratio=hr,
                        lo=hlo,
                        hi=hhi,
                        p=hp,
                        counts={
                            "before": hb,
                            "during": hd,
                            "days_before": db,
                            "days_during": dd,
                        },
                        period=period,
                        notes=[
                            f"{int(is_b.sum())} {unit} before and {int((~is_b).sum())} during: "
                            f"{unit} are taken as independent; a trend or season shared with the "
                            "rest of the city is not removed"
                        ],
                    )
                )
    # comparison
    comp_rows: pd.DataFrame | None = None
    if comparison_areas is not None and not comparison_areas.empty:
        check_no_overlap(hotspots, comparison_areas, "comparison area")
        c["_comp"] = in_areas(c, comparison_areas)
        comp_rows = c[c["_comp"].notna()]
        comparison_label = (
            comparison_label if comparison_label != "comparison" else "comparison areas"
        )
    elif comparison_crimes is not None:
        comp_month = is_month_precision(comparison_crimes)
        if comp_month and not month_precision:
            raise InputError(
                "the comparison crimes are known only to the month but the hot spot crimes are "
                "dated: compare like with like (use monthly hot spot data or a dated comparison)"
            )
        comp_rows, comp_undated = _prep(comparison_crimes, month_precision, tz)
        if comp_undated:
            notes.append(
                f"{comp_undated:,} comparison crime(s) with no single day are left out likewise"
            )
    if comp_rows is not None:
        cs = series(comp_rows, before, during, month_precision)
        ser["comparison_crimes"] = cs["crimes"].to_numpy()
        ser["comparison_harm"] = cs["harm"].to_numpy()
        cb, cd = int(cs.loc[is_b, "crimes"].sum()), int(cs.loc[~is_b, "crimes"].sum())
        if cb == 0 or cd == 0:
            raise InputError(
                f"the {comparison_label} has no crimes in the {'before' if cb == 0 else 'during'} "
                "period: it cannot serve as a comparison"
            )
        counts.update(comparison_crimes_before=cb, comparison_crimes_during=cd)
        # a unit with no comparison crime still counts (the conditional model needs no offset);
        # only a unit with no crime on either side carries nothing
        keep = ((cs["crimes"] + ser["crimes"]) > 0).to_numpy()
        y = ser.loc[keep, "crimes"].to_numpy(float)
        cc = cs.loc[keep, "crimes"].to_numpy(float)
        dur = ~is_b[keep]
        if keep.sum() < 4:
            raise InputError("fewer than four time units: too few to estimate a DiD interval")
        dr, dlo, dhi, dp = (float(v[0]) for v in did_ratio_counts(y[None, :], cc[None, :], dur))
        if kd == 0:
            # the ratio of rate ratios is 0: its logit model runs off to the boundary
            notes.append(
                f"DiD against the {comparison_label} not estimated: with no hot spot crimes in "
                f"the during period the ratio of rate ratios is 0, which has no log-scale "
                f"estimate or interval (the {comparison_label} went from {cb:,} to {cd:,})"
            )
        elif not np.isfinite([dr, dlo, dhi, dp]).all():
            # e.g. every unit the same hot spot share: a scale of 0 gives no interval
            notes.append(
                f"DiD against the {comparison_label} not estimated: the model of the hot spot "
                "share gives no interval (no variation in the share between time units)"
            )
        else:
            w = wdd(
                control=(cb, cd),
                treated=(kb, kd),
                time_weights=(db / dd, 1.0) if db != dd else (1.0, 1.0),
            )
            ests.append(
                Estimate(
                    name=f"Hot spots against {comparison_label} (difference in differences)",
                    outcome="crimes",
                    method=(
                        "ratio of rate ratios from a quasi-binomial model of each unit's hot spot "
                        "share of the hot spot and comparison crimes; t interval on "
                        f"{int(keep.sum()) - 2} df"
                    ),
                    ratio=dr,
                    lo=dlo,
                    hi=dhi,
                    p=dp,
                    counts={"hotspot": [kb, kd], "comparison": [cb, cd], "units": int(keep.sum())},
                    period=period,
                    notes=[
                        "assumes the hot spots would have followed the comparison's trend (parallel "
                        "trends, in ratios)"
                    ],
                    extra={"simple_ratio": (kd / kb) / (cd / cb), "wdd": w},
                )
            )
        ch = cs["harm"].to_numpy(float)
        if has_harm and not (ch[keep] > 0).all():
            notes.append(
                f"harm against the {comparison_label} not estimated: "
                f"{int((ch[keep] <= 0).sum())} time unit(s) with no comparison harm cannot be "
                "an offset (leaving them out would drop their hot spot harm and bias the ratio)"
            )
        if has_harm and (ch[keep] > 0).all():
            hr2, hlo2, hhi2, hp2 = (
                float(v[0])
                for v in did_ratio(
                    ser.loc[keep, "harm"].to_numpy(float)[None, :], ch[keep][None, :], dur
                )
            )
            ests.append(
                Estimate(
                    name=f"Hot spot harm against {comparison_label} (difference in differences)",
                    outcome="harm",
                    method="quasi-Poisson model of harm per unit with comparison harm as offset",
                    ratio=hr2,
                    lo=hlo2,
                    hi=hhi2,
                    p=hp2,
                    period=period,
                )
            )
    return BeforeAfter(
        estimates=ests,
        series=ser,
        before=before,
        during=during,
        precision="month" if month_precision else "day",
        notes=notes,
        counts=counts,
    )
