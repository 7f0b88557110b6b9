"""Patrol days against no-patrol days: a hot spot x day panel and the models an evaluator expects.

Primary estimate: a quasi-Poisson log-linear model with hot spot and weekday fixed effects and a
linear time trend over more than a week (treatment randomised at hot spot-day level makes its
model-based variance valid). Alongside it: a negative binomial model, Poisson with cluster-robust
errors by hot spot (reported with the caveat that seven clusters are too few for them to be
trusted; t on G - 1 df),
a randomisation-inference p-value that re-draws the blocked assignment the way it was drawn
(per hot spot-day, or per day for all hot spots when the unit is 'day'), harm as a second outcome
(quasi-Poisson on harm, whose estimating equation needs no distribution for skewed, zero-heavy
harm), and dose-response by minutes of presence.

Treatment as delivered (GPS minutes at or above a threshold) and as assigned (the randomised
plan: intention to treat) are both reported; only the latter carries a randomisation p-value.
Police hours adjust only the as-delivered contrast: police plans steer away from outreach, so
they are a post-treatment variable for the randomised (as-assigned) comparison.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..plan.randomise import DRAWN_FOR, handed_over
from ..timeutil import crosses_midnight, dated_days, parse_window, to_local
from .estimates import Estimate, _clean
from .glm import fit_quasi_poisson, identified
from .periods import in_areas

DOSE_BINS = (0.0, 1.0, 20.0, 40.0, np.inf)
RANDOMISATION_UNITS = ("hotspot-day", "day")


def _dosage_frame(dosage: pd.DataFrame) -> pd.DataFrame:
    """Dosage (the track stage's daily panel) or visits to long [area_id, date, team, minutes].

    With the daily panel, minutes are patrol-minutes (time with at least one of the team present),
    so two workers walking together count once.
    """
    d = dosage.copy()
    if "date" not in d.columns:
        if "local_day" in d.columns:
            d["date"] = d["local_day"]
        else:
            raise InputError(
                "dosage needs a 'date' (or 'local_day') column: the local day of each visit"
            )
    if (
        "patrol_minutes" in d.columns
    ):  # the dosage stage's daily panel: team presence, not summed officers
        d["minutes"] = d["patrol_minutes"]
    missing = {"area_id", "team", "minutes"} - set(d.columns)
    if missing:
        raise InputError(f"dosage is missing column(s) {sorted(missing)}")
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    return d[["area_id", "date", "team", "minutes"]]


def window_days(local: pd.Series, start: dt.time, end: dt.time) -> pd.Series:
    """The day whose patrol window each local time belongs to: its own date, or for an
    overnight window (22:00-02:00) the evening before for times before the window's end, so a
    night's crimes and patrol minutes are one hot spot-day, as the plan makes one night's
    visits."""
    day = local.dt.date
    if not crosses_midnight(start, end):
        return day
    early = (local.dt.time < end).to_numpy()
    out = pd.Series(day.to_numpy(), index=local.index)
    out[early] = (pd.to_datetime(day[early]) - pd.Timedelta(days=1)).dt.date.to_numpy()
    return out


def visits_by_window_day(visits: pd.DataFrame, window: str | None, tz: str) -> pd.DataFrame:
    """``visits`` with ``local_day`` the day of the patrol window each visit part belongs to
    (:func:`window_days` of its local start): unchanged unless the window runs overnight, when
    the parts after midnight join the evening they continue."""
    if not window or visits.empty:
        return visits
    a, b = parse_window(window, overnight=True)
    if not crosses_midnight(a, b):
        return visits
    days = window_days(to_local(visits["start"], tz), a, b)
    return visits.assign(local_day=days.to_numpy())


def build_panel(
    crimes: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    start: dt.date,
    end: dt.date,
    *,
    dosage: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    window: str | None = "14:00-20:00",
    treatment_team: str = "outreach",
    threshold: float = 10.0,
    tracked_days: Iterable[dt.date] | None = None,
    tz: str = "Europe/London",
    unit: str | None = None,
) -> pd.DataFrame:
    """One row per hot spot and local day: crimes, harm, minutes by team, delivered, assigned.

    ``window`` keeps only crimes at local times inside the patrol window (None = the whole day);
    an overnight window (22:00-02:00) counts each night's crimes on the day it starts
    (:func:`window_days`: the crimes need loading to the morning after ``end``).
    ``delivered`` is True when ``treatment_team`` minutes reach ``threshold``; ``police_minutes``
    sums every other team (background presence). Days outside ``tracked_days`` (default: the
    span of the dosage dates) have no delivered value: untracked is not the same as unpatrolled.
    ``unit`` is how the assignment was drawn (see :func:`patrolwise.plan.randomise.randomise_days`):
    'hotspot-day' or 'day' (one draw per day for every hot spot); None reads the assignment's
    ``unit`` column, else 'hotspot-day'. The randomisation p-value re-draws at this level.
    """
    if end < start:
        # said first: with no days nothing loads, and the refusal would blame the data
        raise InputError(f"the trial ends ({end}) before it starts ({start}): swap the dates")
    if dosage is not None and not threshold > 0:
        # minutes >= threshold: at 0 or below a tracked day with no minutes counts as patrolled
        raise InputError(
            f"the dosage threshold must be more than 0 GPS minutes (e.g. 10), got {threshold}: "
            "at 0 or below every tracked hot spot-day, unvisited ones too, counts as patrolled"
        )
    if hotspots.empty:
        raise InputError("no hot spots: add hot spots before a patrol-day analysis")
    # a crime's day: its time's (and inside the patrol window, when one is set: then only timed
    # crimes can be placed), or the one day a date-only window covers (no window set)
    timed = crimes["occurred_at"].notna() if "occurred_at" in crimes.columns else None
    day = dated_days(crimes, tz) if not window else None
    if (timed is None or not timed.any()) and (day is None or day.isna().all()):
        raise InputError(
            "a patrol-day analysis needs crimes with dates and times; these are known only to the "
            "month (police.uk): use a force extract with offence dates "
            "(patrolwise import crimes --format incidents)"
        )
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    ids = np.sort(hotspots["area_id"].to_numpy())
    panel = pd.DataFrame({"area_id": np.repeat(ids, len(days)), "date": np.tile(days, len(ids))})
    if window:
        assert timed is not None
        c = crimes[timed].copy()
        loc = to_local(c["occurred_at"], tz)
        a, b = parse_window(window, overnight=True)
        tod = loc.dt.time
        c["date"] = pd.to_datetime(window_days(loc, a, b).to_numpy())
        inside = (tod >= a) & (tod < b) if not crosses_midnight(a, b) else (tod >= a) | (tod < b)
        c = c[inside.to_numpy()]
        unplaced = int((~timed).sum())
    else:
        assert day is not None
        c = crimes[day.notna()].copy()
        c["date"] = day[day.notna()]
        unplaced = int(day.isna().sum())
    # a crime where a successor overlaps the hot spot it replaced counts for the one active
    c["area_id"] = in_areas(c, hotspots, days=c["date"])
    c = c[c["area_id"].notna()]
    c["area_id"] = c["area_id"].astype(ids.dtype)
    harm = c["harm"] if "harm" in c.columns else pd.Series(np.nan, index=c.index)
    g = (
        c.assign(n=1, h=harm.fillna(0.0))
        .groupby(["area_id", "date"])[["n", "h"]]
        .sum()
        .rename(columns={"n": "crimes", "h": "harm"})
    )
    panel = panel.join(g, on=["area_id", "date"]).fillna({"crimes": 0, "harm": 0.0})
    panel["crimes"] = panel["crimes"].astype(int)
    panel.attrs["crimes_unplaced"] = unplaced
    # missing harm counts as zero on the panel: how many of its crimes that is, to be said
    on = c["date"].between(days[0], days[-1]).to_numpy()
    panel.attrs["harm_missing"] = int(harm.isna().to_numpy()[on].sum())
    panel.attrs["crimes_in_panel"] = int(on.sum())
    panel["outreach_minutes"] = 0.0
    panel["police_minutes"] = 0.0
    panel["delivered"] = np.nan
    if dosage is not None:
        d = _dosage_frame(dosage)
        d["_t"] = np.where(
            d["team"].astype(str) == treatment_team, "outreach_minutes", "police_minutes"
        )
        w = d.pivot_table(index=["area_id", "date"], columns="_t", values="minutes", aggfunc="sum")
        for col in ("outreach_minutes", "police_minutes"):
            if col in w.columns:
                panel[col] = (
                    panel.join(w[col].rename("_v"), on=["area_id", "date"])["_v"]
                    .fillna(0.0)
                    .to_numpy()
                )
        panel["delivered"] = (panel["outreach_minutes"] >= threshold).astype(float)
        # days with no tracking at all are unknown, not unpatrolled
        covered = (
            pd.DatetimeIndex(pd.to_datetime(list(tracked_days))).normalize()
            if tracked_days is not None
            else pd.date_range(d["date"].min(), d["date"].max(), freq="D")
        )
        outside = ~panel["date"].isin(covered)
        panel.loc[outside, "delivered"] = np.nan
        panel.attrs["untracked_days"] = int(outside.sum())
    panel["assigned"] = np.nan
    if assignment is not None:
        missing = {"area_id", "date", "patrol"} - set(assignment.columns)
        if missing:
            raise InputError(
                f"assignment is missing column(s) {sorted(missing)}; need area_id, date, patrol"
            )
        a1 = assignment.assign(date=pd.to_datetime(assignment["date"]).dt.normalize())
        a2 = a1.groupby(["area_id", "date"])["patrol"].max().astype(float).rename("_a")
        panel["assigned"] = panel.join(a2, on=["area_id", "date"])["_a"].to_numpy()
        # a successor's days handed over from its predecessor (plan.randomise
        # .hand_over_to_successors) were drawn in the predecessor's blocks: the re-draw keeps them
        # there
        panel[DRAWN_FOR] = panel["area_id"].to_numpy()
        if DRAWN_FOR in a1.columns:
            f = a1.groupby(["area_id", "date"])[DRAWN_FOR].first().rename("_f")
            got = panel.join(f, on=["area_id", "date"])["_f"]
            known = got.notna().to_numpy()
            panel.loc[known, DRAWN_FOR] = got[known].astype(panel["area_id"].dtype).to_numpy()
            ho = handed_over(a1[a1["area_id"].isin(ids) & a1["date"].between(days[0], days[-1])])
            panel.attrs["handed_over"] = ho.to_dict("records")
        unassigned = int(panel["assigned"].isna().sum())
        if unassigned == len(panel):
            raise InputError(
                "the assignment covers none of the hot spot-days of this period: check its "
                "area_id values match the stored hot spots and its dates the period"
            )
        panel.attrs["unassigned"] = unassigned
        if unit is None:
            given: list[str] = (
                sorted(assignment["unit"].dropna().astype(str).unique())
                if "unit" in assignment.columns
                else []
            )
            if len(given) > 1:
                raise InputError(
                    f"the assignment mixes randomisation units {given}: use one assignment"
                )
            unit = str(given[0]) if len(given) else "hotspot-day"
        if unit not in RANDOMISATION_UNITS:
            raise InputError(
                f"randomisation unit {unit!r} is not one of {', '.join(RANDOMISATION_UNITS)}"
            )
        if unit == "day":
            varies = panel.groupby("date")["assigned"].nunique(dropna=True) > 1
            if varies.any():
                raise InputError(
                    "the assignment says unit 'day' (one draw per day for all hot spots) but "
                    f"hot spots differ on {int(varies.sum())} day(s), e.g. "
                    f"{varies[varies].index[0]:%Y-%m-%d}: use unit 'hotspot-day'"
                )
        panel.attrs["randomisation_unit"] = unit
    names = (
        dict(zip(hotspots["area_id"], hotspots["name"], strict=False)) if "name" in hotspots else {}
    )
    panel.attrs["names"] = names
    panel.attrs["window"] = window
    panel.attrs["threshold"] = threshold
    return panel


def design(
    panel: pd.DataFrame, treat: np.ndarray | None, covariates: tuple[str, ...] = ()
) -> tuple[np.ndarray, list[str]]:
    """[const, treat..., trend, covariates, hot spot dummies, weekday dummies]; treat may be 2-D.

    No trend over a week or less (it would be a sum of the weekday effects)."""
    n = len(panel)
    cols: list[np.ndarray] = [np.ones(n)]
    names = ["const"]
    if treat is not None:
        t = np.asarray(treat, float)
        if t.ndim == 1:
            t = t[:, None]
        for j in range(t.shape[1]):
            cols.append(t[:, j])
            names.append(f"treat{j}" if t.shape[1] > 1 else "treat")
    d = pd.to_datetime(panel["date"])
    wd = d.dt.day_of_week.to_numpy()
    present = np.unique(wd)  # the first weekday present is the reference (Monday if there)
    # within a week each weekday falls on one date, so the trend is a sum of weekday effects:
    # with both, the design is singular, and whether LAPACK noticed (an error) or not (an
    # arbitrary split between them) varied from one machine to another
    if d.nunique() > len(present):
        span = max((d.max() - d.min()).days, 1)
        cols.append(((d - d.min()).dt.days / span).to_numpy(float))
        names.append("trend")
    for cv in covariates:
        cols.append(panel[cv].to_numpy(float))
        names.append(cv)
    areas = np.sort(panel["area_id"].unique())
    for a in areas[1:]:
        cols.append((panel["area_id"].to_numpy() == a).astype(float))
        names.append(f"area_{a}")
    for k in present[1:]:
        cols.append((wd == k).astype(float))
        names.append(f"weekday_{k}")
    return np.column_stack(cols), names


def _usable(panel: pd.DataFrame, treat_col: str, outcome: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop hot spots that cannot inform the comparison, saying why; refuse when none are left.

    The frame's ``attrs["left_out"]`` lists the panel's hot spots left out, each with its name
    and reason, so what is set against the estimate (costs) can leave out the same ones.
    """
    notes: list[str] = []
    p = panel[panel[treat_col].notna()].copy()
    if p.empty:
        raise InputError(f"no hot spot-days have a '{treat_col}' treatment value")
    names = panel.attrs.get("names", {})
    why: dict[Any, str] = {
        a: f"no hot spot-day with a {treat_col} value (untracked or unassigned)"
        for a in np.setdiff1d(panel["area_id"].unique(), p["area_id"].unique())
    }
    if (p[treat_col] == 1).all():
        raise InputError(
            "every hot spot-day was patrolled: with no days without patrol there is nothing to "
            "compare with, so no effect can be estimated"
        )
    if (p[treat_col] == 0).all():
        raise InputError(
            f"no hot spot-day counts as patrolled ({treat_col}): check the dosage threshold, the "
            "team name of the patrols and the assignment"
        )
    by = p.groupby("area_id")
    share = by[treat_col].mean()
    total = by[outcome].sum()
    for a in share.index:
        nm = names.get(a, a)
        if share[a] == 0:
            notes.append(f"hot spot {nm} had no patrol days: left out of the patrol-day comparison")
            why[a] = "no patrol days"
        elif share[a] == 1:
            notes.append(f"hot spot {nm} was patrolled every day: left out (nothing to compare)")
            why[a] = "patrolled every day"
        elif total[a] <= 0:
            notes.append(f"hot spot {nm} had no {outcome} in the period: left out (no information)")
            why[a] = f"no {outcome} in the period"
    keep = share.index[(share > 0) & (share < 1) & (total > 0)]
    p = p[p["area_id"].isin(keep)]
    if p.empty:
        raise InputError(
            "no hot spot has both patrol and no-patrol days with crime: no effect can be estimated"
        )
    p.attrs = {
        **p.attrs,
        "left_out": [
            {"area_id": _plain(a), "name": str(names.get(a, a)), "reason": why[a]}
            for a in sorted(why)
        ],
    }
    return p, notes


def _plain(v: Any) -> Any:
    """A numpy scalar as its Python value (JSON and set membership alike)."""
    return v.item() if hasattr(v, "item") else v


def randomisation_p(
    y: np.ndarray,
    x: np.ndarray,
    blocks: np.ndarray,
    z_obs: float,
    *,
    units: np.ndarray | None = None,
    n_perm: int = 500,
    rng: np.random.Generator,
    chunk: int = 50,
) -> float:
    """The p-value of :func:`randomisation_test` (without its count of failed re-draws)."""
    return randomisation_test(
        y, x, blocks, z_obs, units=units, n_perm=n_perm, rng=rng, chunk=chunk
    )[0]


def randomisation_test(
    y: np.ndarray,
    x: np.ndarray,
    blocks: np.ndarray,
    z_obs: float,
    *,
    units: np.ndarray | None = None,
    n_perm: int = 500,
    rng: np.random.Generator,
    chunk: int = 50,
) -> tuple[float, int]:
    """(p, failed): two-sided randomisation p-value: re-draw treatment (column 1) within blocks, refit, compare |z|.

    Re-drawing the way the assignment was drawn reproduces its reference distribution, so the
    p-value needs no model for the errors and no large number of clusters. ``units`` labels each
    row's randomisation unit (None: every row is its own unit, i.e. hot spot-days); rows sharing a
    unit share one draw, so for unit='day' the day-level values are shuffled among days of the
    same weekday and applied to every hot spot on that day. ``blocks`` (per row, constant within
    a unit) are the strata the draw was balanced within.

    A re-draw that cannot be fitted (its treatment confounded with the other terms, e.g. over
    two weeks every weekday's patrol day in the first week; no outcome on its patrol or its
    no-patrol rows; a singular or non-converged refit) fails alone, without sinking the others.
    It is no evidence against the null, so it counts as at least as extreme as the observed one
    (conservative) and stays in the denominator: p = (1 + exceeding + failed) / (1 + n_perm);
    ``failed`` says how many there were.
    """
    n = len(y)
    u_idx = np.arange(n) if units is None else np.unique(np.asarray(units), return_inverse=True)[1]
    first = np.unique(u_idx, return_index=True)[1]
    b_idx = np.unique(np.asarray(blocks), return_inverse=True)[1]
    t_u, b_u = x[first, 1].copy(), b_idx[first].astype(float)
    if not (np.array_equal(t_u[u_idx], x[:, 1]) and np.array_equal(b_u[u_idx], b_idx)):
        raise InputError(
            "treatment or block varies within a randomisation unit: the assignment's unit does "
            "not match how treatment was given"
        )
    varied = pd.Series(t_u).groupby(b_u).nunique() > 1
    if not varied.any():
        raise InputError(
            "the blocked assignment cannot be re-drawn in this period: no block holds both "
            "patrol and no-patrol units (with one week each hot spot and weekday is one "
            "hot spot-day), so every re-draw repeats the observed one; analyse a longer period"
        )
    start = fit_quasi_poisson(y[None, :], x).beta[0].copy()
    start[1] = 0.0  # re-drawn treatments are null on average
    order0 = np.argsort(b_u, kind="stable")
    exceed = 0
    failed = 0
    done = 0
    while done < n_perm:
        k = min(chunk, n_perm - done)
        r = rng.random((k, len(t_u))) + b_u[None, :]
        orders = np.argsort(r, axis=1)
        tn = np.empty((k, len(t_u)))
        rows = np.arange(k)[:, None]
        tn[rows, orders] = t_u[order0][None, :]
        tk = tn[:, u_idx]
        xb = np.broadcast_to(x, (k, *x.shape)).copy()
        xb[:, :, 1] = tk
        fit = fit_quasi_poisson(np.broadcast_to(y, (k, len(y))), xb, beta0=start, per_row=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = fit.beta[:, 1] / fit.se(1)
        # a refit that failed (or has no standard error) is no evidence against the null: it
        # counts as extreme (conservative); a re-draw equal to the observed one is a tie, however
        # its refit rounds
        bad = (
            ~fit.converged
            | ~np.isfinite(z)
            | ~identified(x, tk)
            | ((tk * y).sum(1) <= 0)
            | (((1 - tk) * y).sum(1) <= 0)
        )
        with np.errstate(invalid="ignore"):
            extreme = bad | (np.abs(z) >= abs(z_obs) * (1 - 1e-7) - 1e-12)
        exceed += int(np.sum(extreme))
        failed += int(np.sum(bad))
        done += k
    return (1 + exceed) / (1 + n_perm), failed


def _randomisation_p(
    e: Estimate,
    y: np.ndarray,
    x: np.ndarray,
    panel: pd.DataFrame,
    unit: str,
    n_perm: int,
    rng: np.random.Generator,
    label: str,
    notes: list[str],
) -> None:
    """Put the randomisation-inference p-value of ``e`` (re-drawing the assignment as it was
    drawn) in its extras, or say in ``notes`` why there is none."""
    blocks, units = _draw_layout(panel, unit)
    try:
        rp, nf = randomisation_test(y, x, blocks, e.extra["z"], units=units, n_perm=n_perm, rng=rng)
    except InputError as exc:
        notes.append(f"{label}: no randomisation p-value: {exc}")
        return
    e.extra.update(
        randomisation_p=rp,
        randomisation_draws=n_perm,
        randomisation_failed=nf,
        randomisation_unit=unit,
    )
    if nf:
        notes.append(f"{label}: {_failed_draws(nf, n_perm)}")


def _failed_draws(failed: int, draws: int) -> str:
    return (
        f"{failed} of {draws} randomisation re-draws could not be fitted (the re-drawn "
        "assignment confounded with the trend and weekday terms, or no outcome on its patrol or "
        "no-patrol days): each counts as at least as extreme as observed, so the randomisation "
        "p-value is conservative"
    )


def _draw_layout(p: pd.DataFrame, unit: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(blocks, units) for :func:`randomisation_p`, matching how the assignment was drawn.

    hot spot-day: each row its own unit, blocked by (hot spot drawn for, weekday); day: one unit
    per day for every hot spot, blocked by weekday (as in
    :func:`patrolwise.plan.randomise.randomise_days`).
    """
    d = pd.to_datetime(p["date"])
    wd = d.dt.day_of_week.to_numpy()
    if unit == "day":
        return wd.astype(float), pd.factorize(d)[0]
    # by the hot spot each day was drawn for: a successor's handed-over days share its
    # predecessor's blocks
    drawn = p[DRAWN_FOR] if DRAWN_FOR in p.columns else p["area_id"]
    area = drawn.astype("category").cat.codes.to_numpy()
    return (area * 7 + wd).astype(float), None


@dataclass
class PatrolDays:
    estimates: list[Estimate]
    dose: pd.DataFrame | None
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "kind": "patrol_days",
                "summary": self.summary,
                "estimates": [e.to_dict() for e in self.estimates],
                "dose_response": None if self.dose is None else self.dose.to_dict(orient="records"),
                "notes": self.notes,
            }
        )

    def primary(self) -> Estimate:
        return self.estimates[0]


def _qp_estimate(
    p: pd.DataFrame, treat_col: str, outcome: str, covs: tuple[str, ...], name: str, method: str
) -> tuple[Estimate, np.ndarray, np.ndarray]:
    treated = p[treat_col] == 1
    on, off = float(p.loc[treated, outcome].sum()), float(p.loc[~treated, outcome].sum())
    if on <= 0 or off <= 0:
        # separation: the coefficient runs off to -inf (or +inf) and every Wald interval, p-value
        # and randomisation z built on it is meaningless
        what = "crimes" if outcome == "crimes" else "harm"
        on_days = "patrol" if on <= 0 else "no-patrol"
        other = off if on <= 0 else on
        raise InputError(
            f"no {what} on any {on_days} day ({int((treated if on <= 0 else ~treated).sum())} "
            f"hot spot-days; {other:,.4g} {what} on the others): the rate ratio is "
            f"{'0' if on <= 0 else 'infinite'} and no model can give it an interval; a longer "
            "trial (or the whole day rather than the patrol window) is needed"
        )
    x, names = design(p, p[treat_col].to_numpy(float), covs)
    y = p[outcome].to_numpy(float)
    fit = fit_quasi_poisson(y[None, :], x)
    b, se = float(fit.beta[0, 1]), float(fit.se(1)[0])
    if not (fit.converged[0] and np.isfinite(b) and np.isfinite(se) and se > 0):
        raise InputError(
            f"the quasi-Poisson model of {outcome} did not converge: no estimate is reported"
        )
    q = stats.norm.ppf(0.975)
    z = b / se
    e = Estimate(
        name=name,
        outcome=outcome,
        method=method,
        ratio=float(np.exp(b)),
        lo=float(np.exp(b - q * se)),
        hi=float(np.exp(b + q * se)),
        p=float(2 * stats.norm.sf(abs(z))),
        counts={
            "patrol_days": int(treated.sum()),
            "no_patrol_days": int((~treated).sum()),
            f"{outcome}_on_patrol_days": float(p.loc[treated, outcome].sum()),
            f"{outcome}_on_no_patrol_days": float(p.loc[~treated, outcome].sum()),
            "hotspots": int(p["area_id"].nunique()),
        },
        extra={
            "z": z,
            "scale": float(fit.scale[0]),
            "se_log": se,
            "terms": names,
            # what was observed on patrol days, day by day: costs of a shorter span (GPS
            # tracking of part of the trial) are set against the same days
            "on_patrol_days_by_day": {
                f"{d:%Y-%m-%d}": float(v)
                for d, v in p.loc[treated].groupby("date")[outcome].sum().items()
            },
            # the hot spots behind it, and those left out (with why): costs are set against
            # the same hot spots
            "hotspots": [_plain(a) for a in np.sort(p["area_id"].unique())],
            "hotspots_left_out": list(p.attrs.get("left_out", [])),
        },
    )
    return e, y, x


def patrol_day_effects(
    panel: pd.DataFrame,
    *,
    n_perm: int = 500,
    seed: int = 0,
    secondary: bool = True,
) -> PatrolDays:
    """All patrol-day estimates for a panel from :func:`build_panel`."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    if n_perm < 0:
        raise InputError(f"randomisation re-draws must be 0 (none) or more, got {n_perm}")
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    ests: list[Estimate] = []
    d = pd.to_datetime(panel["date"])
    period = {
        "start": f"{d.min():%Y-%m-%d}",
        "end": f"{d.max():%Y-%m-%d}",
        "days": int(d.nunique()),
    }
    has_delivered = panel["delivered"].notna().any()
    has_assigned = panel["assigned"].notna().any()
    if not has_delivered and not has_assigned:
        raise InputError(
            "no treatment: give dosage (GPS minutes from the track stage) or an assignment "
            "(the randomised plan or --assignment FILE)"
        )
    if panel.attrs.get("untracked_days") and has_delivered:
        notes.append(
            f"{panel.attrs['untracked_days']} hot spot-days had no GPS tracking: left out of the "
            "as-delivered analysis"
        )
    if panel.attrs.get("crimes_unplaced"):
        how = (
            "with no time of day cannot be placed in the patrol window"
            if panel.attrs.get("window")
            else "known only to a window longer than a day (or to the month) have no single day"
        )
        notes.append(f"{panel.attrs['crimes_unplaced']:,} crime(s) {how}: left out of the panel")
    for h in panel.attrs.get("handed_over", []) if has_assigned else []:
        nm = panel.attrs.get("names", {})
        notes.append(
            f"hot spot {nm.get(h['area_id'], h['area_id'])} replaced hot spot "
            f"{nm.get(h[DRAWN_FOR], h[DRAWN_FOR])}: its {h['days']} assigned days from "
            f"{h['first']} to {h['last']} ({h['patrol']} patrol) are the days drawn for the hot "
            "spot it replaced, same arm, and are re-drawn in that hot spot's weekday blocks"
        )
    if panel.attrs.get("unassigned"):
        notes.append(
            f"{panel.attrs['unassigned']} hot spot-days have no assignment and are left out of the ITT analysis"
        )
    missing, placed = panel.attrs.get("harm_missing", 0), panel.attrs.get("crimes_in_panel", 0)
    if missing and missing == placed:
        notes.append(
            "no crime in the panel has a harm value: harm not estimated (import a harm table "
            "covering these offences)"
        )
    elif missing:
        notes.append(
            f"{missing:,} of {placed:,} crimes in the panel have no harm value and count zero "
            "harm (check the harm table covers those offences)"
        )
    unit = str(panel.attrs.get("randomisation_unit", "hotspot-day"))
    if has_assigned and unit == "day":
        notes.append(
            "assignment drawn per day for all hot spots together: the randomisation p-value "
            "re-draws whole days within weekdays; model-based errors treat hot spot-days as "
            "independent, so prefer the randomisation p-value"
        )
    # police hours adjust the as-delivered (observational) contrast only: police plans steer away
    # from outreach, so police presence is itself a result of the assignment, and adjusting the
    # randomised comparison for it would bias the intention-to-treat estimate
    covs: tuple[str, ...] = ()
    if has_delivered and panel["police_minutes"].std() > 0:
        panel = panel.assign(police_hours=panel["police_minutes"] / 60.0)
        covs = ("police_hours",)
    window = panel.attrs.get("window")
    wtxt = f"crimes {window} local time" if window else "crimes all day"
    specs = []
    if has_assigned:
        specs.append(("assigned", "as assigned (intention to treat)"))
    if has_delivered:
        specs.append(
            ("delivered", f"as delivered (>= {panel.attrs.get('threshold', 0):g} GPS minutes)")
        )

    def method(cv: tuple[str, ...]) -> str:
        return (
            "quasi-Poisson GLM, hot spot and weekday fixed effects, "
            "linear trend (over more than a week)"
            + (", police hours covariate" if cv else "")
            + "; model-based SE (valid when hot spot-days are randomised)"
        )

    first = True
    for treat_col, label in specs:
        tcovs = covs if treat_col == "delivered" else ()
        try:
            p, n1 = _usable(panel, treat_col, "crimes")
            notes += [f"{label}: {m}" for m in n1]
            e, y, x = _qp_estimate(
                p,
                treat_col,
                "crimes",
                tcovs,
                f"Patrol days vs no-patrol days, {label}",
                method(tcovs),
            )
        except InputError as exc:
            # e.g. too few tracked days for the as-delivered contrast: say so, keep the others
            notes.append(f"{label}: not estimated: {exc}")
            continue
        e.period = period
        e.notes.append(wtxt)
        if treat_col == "assigned" and n_perm > 0:
            _randomisation_p(e, y, x, p, unit, n_perm, rng, label, notes)
        ests.append(e)
        if first and secondary:
            first = False
            g = p["area_id"].to_numpy()
            n_g = len(np.unique(g))
            try:
                cl = sm.GLM(y, x, family=sm.families.Poisson()).fit(
                    cov_type="cluster", cov_kwds={"groups": pd.factorize(g)[0]}
                )
                b, se = float(cl.params[1]), float(cl.bse[1])
                if not (np.isfinite(b) and np.isfinite(se) and se > 0):
                    raise ValueError("no finite standard error")
                tq = stats.t.ppf(0.975, max(n_g - 1, 1))
                ests.append(
                    Estimate(
                        name=f"Patrol days, {label}: Poisson, cluster-robust by hot spot",
                        outcome="crimes",
                        method=f"Poisson GLM, cluster-robust SE by hot spot, t on {n_g - 1} df",
                        ratio=float(np.exp(b)),
                        lo=float(np.exp(b - tq * se)),
                        hi=float(np.exp(b + tq * se)),
                        p=float(2 * stats.t.sf(abs(b / se), max(n_g - 1, 1))),
                        period=period,
                        notes=[
                            f"only {n_g} clusters: cluster-robust errors are unreliable with so few "
                            "(they tend to be too small); prefer the randomisation p-value"
                        ],
                    )
                )
            except (np.linalg.LinAlgError, ValueError) as exc:
                notes.append(f"cluster-robust Poisson could not be fitted: {exc}")
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    nb = sm.NegativeBinomial(y, x).fit(disp=0, maxiter=300, method="bfgs")
                    # the Newton polish from the BFGS point decides: its convergence is checked
                    caught.clear()
                    nb = sm.NegativeBinomial(y, x).fit(start_params=nb.params, disp=0, maxiter=100)
                b, se = float(nb.params[1]), float(nb.bse[1])
                if not nb.mle_retvals.get("converged", True) or any(
                    issubclass(w.category, ConvergenceWarning) for w in caught
                ):
                    # as the quasi-Poisson primary: a fit that did not converge is not reported
                    # (on sparse counts alpha creeps towards its boundary at 0)
                    raise ValueError(
                        "the maximum likelihood fit did not converge (alpha "
                        f"{float(nb.params[-1]):.3g}; near 0 the counts show no overdispersion "
                        "and the quasi-Poisson estimate stands): no estimate is reported"
                    )
                if not (np.isfinite(b) and np.isfinite(se) and se > 0):
                    # e.g. no overdispersion: alpha on its boundary (0) leaves the information
                    # matrix singular, and every bound and p would be NaN
                    raise ValueError(
                        f"no finite standard error (alpha {float(nb.params[-1]):.3g}; at 0 the "
                        "counts show no overdispersion and the quasi-Poisson estimate stands)"
                    )
                q = stats.norm.ppf(0.975)
                ests.append(
                    Estimate(
                        name=f"Patrol days, {label}: negative binomial",
                        outcome="crimes",
                        method="negative binomial (NB2) regression, same terms, model-based SE",
                        ratio=float(np.exp(b)),
                        lo=float(np.exp(b - q * se)),
                        hi=float(np.exp(b + q * se)),
                        p=float(2 * stats.norm.sf(abs(b / se))),
                        period=period,
                        extra={"alpha": float(nb.params[-1])},
                    )
                )
            except (np.linalg.LinAlgError, ValueError) as exc:
                notes.append(f"negative binomial could not be fitted: {exc}")
        if treat_col == "assigned" and covs and secondary:
            try:
                ea, _, _ = _qp_estimate(
                    p,
                    treat_col,
                    "crimes",
                    covs,
                    f"Patrol days, {label}: adjusted for police hours (secondary)",
                    method(covs),
                )
                ea.period = period
                ea.notes.append(
                    "secondary only: police hours are planned round the outreach assignment, so "
                    "they are partly an outcome of it and adjusting for them can bias the effect"
                )
                ests.append(ea)
            except InputError as exc:
                notes.append(f"{label}, adjusted for police hours: not estimated: {exc}")
        # harm
        if panel["harm"].sum() > 0:
            try:
                ph, n2 = _usable(panel, treat_col, "harm")
                eh, yh, xh = _qp_estimate(
                    ph,
                    treat_col,
                    "harm",
                    tcovs,
                    f"Harm on patrol days vs no-patrol days, {label}",
                    "quasi-Poisson GLM on harm (no distribution assumed for skewed, zero-heavy harm), same terms",
                )
                eh.period = period
                if treat_col == "assigned" and n_perm > 0:
                    _randomisation_p(eh, yh, xh, ph, unit, n_perm, rng, f"harm, {label}", notes)
                ests.append(eh)
            except InputError as exc:
                notes.append(f"harm, {label}: {exc}")
    dose = None
    if not ests:
        raise InputError("no patrol-day effect could be estimated: " + "; ".join(notes))
    if has_delivered and (panel["outreach_minutes"] > 0).any():
        try:
            dose = dose_response(panel, covs)
        except InputError as exc:
            notes.append(f"dose-response not estimated: {exc}")
    summary = {
        "hotspot_days": int(len(panel)),
        "hotspots": int(panel["area_id"].nunique()),
        "period": period,
        "crimes": int(panel["crimes"].sum()),
        "harm": float(panel["harm"].sum()),
        "window": window,
        "threshold_minutes": panel.attrs.get("threshold"),
        "patrol_days_assigned": int((panel["assigned"] == 1).sum()) if has_assigned else None,
        "patrol_days_delivered": int((panel["delivered"] == 1).sum()) if has_delivered else None,
        "outreach_minutes": float(panel["outreach_minutes"].sum()),
        "police_minutes": float(panel["police_minutes"].sum()),
    }
    return PatrolDays(estimates=ests, dose=dose, summary=summary, notes=notes)


def dose_response(panel: pd.DataFrame, covs: tuple[str, ...] = ()) -> pd.DataFrame:
    """IRR by band of outreach minutes against days with none (quasi-Poisson, same terms).

    Only tracked hot spot-days count: a day without GPS tracking has no known minutes (its 0 in
    ``outreach_minutes`` is not a day without patrol), as in the as-delivered contrast.
    """
    if "delivered" in panel.columns:
        panel = panel[panel["delivered"].notna()]
    if panel.empty:
        raise InputError("no hot spot-day was tracked")
    covs = tuple(c for c in covs if panel[c].std() > 0)
    m = panel["outreach_minutes"].to_numpy(float)
    band = np.digitize(m, DOSE_BINS[1:-1])  # 0: <1 min, 1: 1-19, 2: 20-39, 3: 40+
    labels = ["0 min", "1-19 min", "20-39 min", "40+ min"]
    present = [k for k in (1, 2, 3) if (band == k).sum() > 0]
    if not present:
        return pd.DataFrame(columns=["band", "days", "crimes", "irr", "lo", "hi"])
    t = np.column_stack([(band == k).astype(float) for k in present])
    x, _ = design(panel, t, covs)
    y = panel["crimes"].to_numpy(float)
    fit = fit_quasi_poisson(y[None, :], x)
    q = stats.norm.ppf(0.975)
    rows = [
        {
            "band": labels[0],
            "days": int((band == 0).sum()),
            "crimes": int(y[band == 0].sum()),
            "irr": 1.0,
            "lo": 1.0,
            "hi": 1.0,
        }
    ]
    for j, k in enumerate(present, start=1):
        b, se = fit.beta[0, j], fit.se(j)[0]
        n_crimes = int(y[band == k].sum())
        if n_crimes == 0:
            # no crime on any day of the band: the fit drives its coefficient towards -inf and
            # the Wald interval means nothing; the estimate is 0 and the upper bound unknown
            irr, lo, hi = 0.0, 0.0, float("nan")
        else:
            with np.errstate(over="ignore"):
                irr, lo, hi = (float(np.exp(v)) for v in (b, b - q * se, b + q * se))
        rows.append(
            {
                "band": labels[k],
                "days": int((band == k).sum()),
                "crimes": n_crimes,
                "irr": irr,
                "lo": lo,
                "hi": hi,
            }
        )
    return pd.DataFrame(rows)
