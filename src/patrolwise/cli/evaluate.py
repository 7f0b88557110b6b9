"""CLI commands of the evaluate stage: ``patrolwise evaluate ...`` and ``patrolwise rates ...``.

Thin: read from the store, call the library, write JSON + HTML to ``--out`` and keep the JSON in
the store so a report can be rebuilt later.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..errors import InputError
from .common import console, open_store, out, print_json, progress

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Test what patrols achieved and what they cost.", no_args_is_help=True)
rates_app = typer.Typer(help="Cost rates per team, with effective dates.", no_args_is_help=True)


def _out_folder(out_dir: Path | None) -> Path | None:
    """Check the --out folder before any work (an Option callback): a file of that name, or a
    folder under a file, ended in a FileExistsError or NotADirectoryError traceback, and only
    after the whole analysis had run. The folder is made when the results are written."""
    if out_dir is None:
        return None
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file, not a folder: give a folder for the results")
    parent = out_dir.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"--out {out_dir}: cannot make the folder ({parent} is not a writable folder)"
        )
    return out_dir


OUT = typer.Option(
    Path("evaluation"),
    "--out",
    help="folder for the JSON and HTML outputs",
    callback=_out_folder,
)


def _write(
    kind: str, result: dict[str, Any], section: Any, out_dir: Path, params: dict[str, Any]
) -> None:
    from ..evaluate.report import write_json
    from ..report.html import render_report
    from ..store.rates import save_result

    path = write_json(result, out_dir, kind)
    html = out_dir / f"{kind}.html"
    html.write_text(render_report(f"patrolwise evaluation: {kind}", [section]))
    with open_store() as st:
        save_result(st, kind, json.loads(path.read_text()), params)
    for line in section.summary:
        out.print(line, highlight=False, soft_wrap=True, markup=False)
    console.print(f"wrote {path} and {html}")


def _periods(before: str, during: str) -> tuple[Any, Any]:
    """The two periods, checked before anything is loaded from between them."""
    from ..evaluate.periods import Period, check_periods

    b, d = Period.parse("before", before), Period.parse("during", during)
    check_periods(b, d)
    return b, d


def _day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--{name} {text!r} is not a date like 2023-02-01") from exc


@app.command("before-after")
def before_after_cmd(
    before: str = typer.Option(..., help="before period START:END (dates, or YYYY-MM months)"),
    during: str = typer.Option(..., help="during period START:END"),
    category: list[str] = typer.Option(
        [], "--category", help="crime categories (repeat); default all"
    ),
    force: str | None = typer.Option(None, help="only this force's crimes for the hot spots"),
    comparison_force: str | None = typer.Option(
        None, help="a force whose crimes (same categories) are the comparison"
    ),
    comparison_areas: bool = typer.Option(False, help="use the stored areas of kind 'comparison'"),
    out_dir: Path = OUT,
) -> None:
    """Crimes and harm in the hot spots, before against during, alone and against a comparison."""
    from ..config import get_settings
    from ..evaluate.before_after import before_after
    from ..evaluate.report import before_after_section
    from ..store.areas import active_hotspots, load_areas
    from ..store.crimes import load_crimes

    b, d = _periods(before, during)
    cats = list(category) or None
    with open_store() as st:
        hs = active_hotspots(st, d.start, d.end)
        crimes = load_crimes(
            st, start=b.start, end=d.end, categories=cats, force=force, mappable_only=True
        )
        comp = None
        if comparison_force:
            comp = load_crimes(
                st, start=b.start, end=d.end, categories=cats, force=comparison_force
            )
            if comp.empty:
                raise InputError(
                    f"no crimes stored for comparison force {comparison_force!r}: import its data first"
                )
        areas = load_areas(st, "comparison") if comparison_areas else None
        if comparison_areas and (areas is None or areas.empty):
            raise InputError("no comparison areas stored: add some with kind 'comparison'")
    if comparison_force and force is None:
        crimes = crimes[crimes["force"] != comparison_force]
    res = before_after(
        crimes,
        hs,
        b,
        d,
        comparison_crimes=comp,
        comparison_areas=areas,
        comparison_label=comparison_force or "comparison areas",
        tz=get_settings().timezone,
    )
    _write(
        "before_after",
        res.to_dict(),
        before_after_section(res),
        out_dir,
        {"before": before, "during": during, "categories": cats},
    )


@app.command("patrol-days")
def patrol_days_cmd(
    start: str = typer.Option(..., help="first local day of the trial (YYYY-MM-DD)"),
    end: str = typer.Option(..., help="last local day of the trial"),
    window: str = typer.Option(
        "14:00-20:00",
        help="count crimes in this local window ('' = all day; 22:00-02:00 runs overnight)",
    ),
    threshold: float = typer.Option(
        10.0, help="GPS minutes that make a day patrolled (as delivered)"
    ),
    team: str = typer.Option("outreach", help="the team whose patrols are tested"),
    assignment: Path | None = typer.Option(
        None,
        "--assignment",
        help="CSV area_id,date,patrol (ITT); default: the stored randomised plan",
    ),
    category: list[str] = typer.Option([], "--category"),
    permutations: int = typer.Option(500, help="randomisation-inference re-draws (0 = none)"),
    seed: int = typer.Option(0),
    out_dir: Path = OUT,
) -> None:
    """Hot spot x day panel: patrol days against no-patrol days (IRR, %, 95% CI, p)."""
    from ..config import get_settings
    from ..evaluate.patrol_days import build_panel, patrol_day_effects, visits_by_window_day
    from ..evaluate.report import patrol_days_section
    from ..plan.randomise import hand_over_to_successors
    from ..store.areas import active_hotspots, load_areas
    from ..store.crimes import load_crimes
    from ..store.devices import check_team
    from ..store.plans import load_assignment
    from ..store.visits import load_visits
    from ..track.dosage import daily_dosage

    a, b = _day(start, "start"), _day(end, "end")
    # a mistyped --team ('Outreach', 'outreech') counted no team's minutes and still reported
    # an effect, as if that team had been tested
    team = check_team(team)
    # an overnight window's last night ends the morning after the last day
    b_load = b + dt.timedelta(days=1) if _overnight(window) else b
    with open_store() as st:
        hs = active_hotspots(st, a, b)
        crimes = load_crimes(
            st, start=a, end=b_load, categories=list(category) or None, mappable_only=True
        )
        visits = visits_by_window_day(load_visits(st, a, b_load), window, get_settings().timezone)
        tracked = _measured_days(st)
        if assignment is not None:
            asg = _read_assignment(assignment)
        else:
            try:
                asg = load_assignment(st)
            except InputError:
                asg = None
        if asg is not None:
            # a hot spot replaced mid-trial hands its drawn days to its successor, as the plan
            # took them
            asg = hand_over_to_successors(asg, load_areas(st, "hotspot"))
    dosage = daily_dosage(visits) if not visits.empty else None
    panel = build_panel(
        crimes,
        hs,
        a,
        b,
        dosage=dosage,
        assignment=asg,
        window=window or None,
        treatment_team=team,
        threshold=threshold,
        tracked_days=tracked or None,
        tz=get_settings().timezone,
    )
    res = patrol_day_effects(panel, n_perm=permutations, seed=seed)
    _write(
        "patrol_days",
        res.to_dict(),
        patrol_days_section(res),
        out_dir,
        {"start": start, "end": end, "window": window, "threshold": threshold, "team": team},
    )


def _measured_days(st: Any) -> list[dt.date]:
    """The local days some stored dosage run measured (its date range). A day between two runs
    that no run measured is untracked, not a day without patrol; the span from the first visit
    to the last would count it as 0 minutes."""
    import pandas as pd
    from sqlalchemy import select

    from ..store.models.dosage import DosageRun

    with st.session() as s:
        runs = s.execute(select(DosageRun.date_from, DosageRun.date_to)).all()
    days: set[dt.date] = set()
    for a, b in runs:
        if a is not None and b is not None:
            days.update(pd.date_range(a, b, freq="D").date)
    return sorted(days)


def _overnight(window: str) -> bool:
    """Does the patrol window run past midnight (checked as the analysis will parse it)?"""
    from ..timeutil import crosses_midnight, parse_window

    return bool(window) and crosses_midnight(*parse_window(window, overnight=True))


def _read_assignment(path: Path) -> pd.DataFrame:
    """The --assignment CSV (area_id,date,patrol), each field checked and the first bad row
    named. Dates only as YYYY-MM-DD (as the plan writes them): pandas reads a UK 01/03/2023,
    as Excel saves it, as 3 January without a word."""
    import pandas as pd

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():  # pandas raised IsADirectoryError, a traceback
        raise InputError(f"{path} is a folder: give the assignment CSV (area_id,date,patrol)")
    try:
        df = pd.read_csv(path, dtype=str)
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path}: the file is empty; need a header area_id,date,patrol and one row per "
            "hot spot-day"
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV: {exc}") from exc
    missing = {"area_id", "date", "patrol"} - set(df.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}; need area_id,date,patrol")

    def refuse(bad: pd.Series, field: str, why: str) -> None:
        if bad.any():
            i = int(bad.to_numpy().argmax())
            v = df[field].iloc[i]
            shown = "empty" if pd.isna(v) or not str(v).strip() else repr(v)
            raise InputError(f"{path}: row {i + 2}, field {field}: {shown} {why}")

    text = {c: df[c].fillna("").str.strip() for c in ("area_id", "date", "patrol")}
    aid = pd.to_numeric(text["area_id"], errors="coerce")
    refuse(~(aid.notna() & (aid % 1 == 0)), "area_id", "is not a hot spot id (a whole number)")
    day = pd.to_datetime(text["date"], format="%Y-%m-%d", errors="coerce")
    refuse(day.isna(), "date", "is not a date written YYYY-MM-DD, like 2023-03-01")
    low = text["patrol"].str.lower()
    refuse(
        ~low.isin(["1", "0", "1.0", "0.0", "true", "false", "yes", "no"]),
        "patrol",
        "is not true/false/1/0",
    )
    return df.assign(
        area_id=aid.astype("int64"), date=day, patrol=low.isin(["1", "1.0", "true", "yes"])
    )


@app.command("displacement")
def displacement_cmd(
    before: str = typer.Option(...),
    during: str = typer.Option(...),
    rings: str = typer.Option("100,250", help="ring edges in metres from the hot spots"),
    category: list[str] = typer.Option([], "--category"),
    comparison_areas: bool = typer.Option(False, help="use stored comparison areas as control"),
    out_dir: Path = OUT,
) -> None:
    """Catchment rings, WDQ and the weighted displacement difference test (incl. harm-weighted)."""
    from ..config import get_settings
    from ..evaluate.displacement import displacement
    from ..evaluate.report import displacement_section
    from ..store.areas import active_hotspots, load_areas
    from ..store.crimes import load_crimes

    b, d = _periods(before, during)
    try:
        dists = [float(v) for v in rings.split(",") if v.strip()]
    except ValueError as exc:
        raise InputError(f"--rings {rings!r} is not a list of metres like 100,250") from exc
    with open_store() as st:
        hs = active_hotspots(st, d.start, d.end)
        crimes = load_crimes(
            st, start=b.start, end=d.end, categories=list(category) or None, mappable_only=True
        )
        areas = load_areas(st, "comparison") if comparison_areas else None
    res = displacement(
        crimes, hs, b, d, comparison_areas=areas, distances=dists, tz=get_settings().timezone
    )
    _write(
        "displacement",
        res.to_dict(),
        displacement_section(res),
        out_dir,
        {"before": before, "during": during, "rings": dists},
    )


@app.command("power")
def power_cmd(
    start: str = typer.Option(..., help="first day of the history used for base rates"),
    end: str = typer.Option(..., help="last day of that history"),
    reduction: float = typer.Option(0.30, help="reduction to detect (0.3 = 30%)"),
    window: str = typer.Option("14:00-20:00"),
    sims: int = typer.Option(200, help="simulated trials per length"),
    category: list[str] = typer.Option([], "--category"),
    out_dir: Path = OUT,
) -> None:
    """Weeks of randomised patrol days needed for 80% power, from observed rates and overdispersion."""
    from ..config import get_settings
    from ..evaluate.patrol_days import build_panel
    from ..evaluate.power import estimate_dispersion, weeks_needed
    from ..evaluate.report import write_json
    from ..store.areas import active_hotspots
    from ..store.crimes import load_crimes

    a, b = _day(start, "start"), _day(end, "end")
    b_load = b + dt.timedelta(days=1) if _overnight(window) else b
    with open_store() as st:
        hs = active_hotspots(st, a, b)
        crimes = load_crimes(
            st, start=a, end=b_load, categories=list(category) or None, mappable_only=True
        )
    panel = build_panel(crimes, hs, a, b, window=window or None, tz=get_settings().timezone)
    rates = panel.groupby("area_id")["crimes"].mean()
    if (rates <= 0).any():
        raise InputError(
            "some hot spots had no crimes in that history: choose a longer period or drop them"
        )
    alpha = estimate_dispersion(panel)
    res = weeks_needed(rates.to_numpy().tolist(), reduction=reduction, dispersion=alpha, sims=sims)
    path = write_json(res.to_dict(), out_dir, "power")
    out.print(res.statement())
    console.print(f"wrote {path}")


@app.command("cost")
def cost_cmd(
    start: str | None = typer.Option(None),
    end: str | None = typer.Option(None),
    team: str = typer.Option("outreach", help="the team to cost"),
    against: str = typer.Option("police", help="the team to compare with"),
    patrol_days_json: Path | None = typer.Option(
        None, "--effects", help="patrol_days.json, to cost each crime prevented"
    ),
    out_dir: Path = OUT,
) -> None:
    """Cost of GPS-verified minutes per team, hot spot and month; saving; cost per crime prevented."""
    from ..evaluate.cost import (
        cost_table,
        per_prevented_from_effects,
        saving_statement,
        team_summary,
    )
    from ..evaluate.report import cost_section
    from ..store.rates import load_rates
    from ..store.visits import load_visits

    # teams are stored lower-case ('Outreach' found no visits and said so); an unknown name is
    # still answered with the teams that have visits
    team, against = team.strip().lower(), against.strip().lower()
    a = _day(start, "start") if start else None
    b = _day(end, "end") if end else None
    if a is not None and b is not None and b < a:
        raise InputError(f"the period ends ({b}) before it starts ({a}): swap --start and --end")
    with open_store() as st:
        visits = load_visits(st, a, b)
        rates = load_rates(st)
    if visits.empty:
        raise InputError("no visits stored for that period: run the track stage's dosage first")
    summ = team_summary(visits, rates)
    table = cost_table(visits, rates)
    line = saving_statement(summ, team, against)
    if line is None:
        # a team name mistyped (or not tracked in this period) is said, not left blank
        have = sorted(summ["team"].astype(str))
        none = [repr(t) for t in dict.fromkeys((team, against)) if t not in have]
        line = (
            f"no GPS-verified visits for team{'s' if len(none) > 1 else ''} {' and '.join(none)} "
            f"in this period (teams with visits: {', '.join(have)}): no cost per minute to compare"
        )
    lines = [line]
    per = []
    if patrol_days_json is not None:
        if not patrol_days_json.exists():
            raise InputError(f"{patrol_days_json}: no such file")
        if patrol_days_json.is_dir():  # read_text raised IsADirectoryError, a traceback
            raise InputError(
                f"{patrol_days_json} is a folder: give the patrol_days.json file in it"
            )
        try:
            effects = json.loads(patrol_days_json.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{patrol_days_json}: not JSON ({exc})") from exc
        kind = effects.get("kind") if isinstance(effects, dict) else None
        if kind != "patrol_days":
            raise InputError(
                f"{patrol_days_json}: not a patrol-days result (kind {kind!r}): give the "
                "patrol_days.json that `patrolwise evaluate patrol-days` wrote"
            )
        per = per_prevented_from_effects(effects, visits, rates, team)
    res = {
        "kind": "cost",
        "teams": summ.to_dict(orient="records"),
        "by_hotspot_month": table.to_dict(orient="records"),
        "statements": lines,
        "per_prevented": per,
    }
    _write("cost", res, cost_section(summ, lines, per), out_dir, {"team": team, "against": against})


@app.command("validate")
def validate_cmd(
    trials: int = typer.Option(500, help="simulated trials per scenario"),
    seed: int = typer.Option(2024),
    out_dir: Path | None = typer.Option(None, "--out", callback=_out_folder),
) -> None:
    """Simulation study on the synthetic city: interval coverage and false rejection rates."""
    from ..evaluate.report import write_json
    from ..evaluate.validate import validate

    with progress() as prog:
        task = prog.add_task("simulating trials", total=4 * trials)
        res = validate(trials, seed=seed, tick=lambda k: prog.advance(task, k))
    out.print(res.text(), highlight=False, soft_wrap=True, markup=False)
    if out_dir is not None:
        write_json(res.to_dict(), out_dir, "validation")
    if not res.ok:
        console.print("[red]validation outside its targets[/red]")
        raise typer.Exit(1)
    out.print("all scenarios within their targets")


@rates_app.command("add", context_settings={"ignore_unknown_options": True})
def rates_add(
    team: str = typer.Argument(...),
    amount: float = typer.Argument(..., help="pounds per unit"),
    per: str = typer.Option("minute", "--per", help="minute | hour | shift"),
    effective_from: str = typer.Option(..., "--from", help="first day the rate applies"),
    effective_to: str | None = typer.Option(None, "--to", help="last day (default: open)"),
    shift_minutes: float | None = typer.Option(
        None, help="length of a shift in minutes (per shift)"
    ),
    overhead: float = typer.Option(0.0, help="overhead share on top, e.g. 0.15"),
    note: str | None = typer.Option(None),
) -> None:
    """Add a team's rate from a date (closes the team's open-ended earlier rate)."""
    from ..store.rates import add_rate

    with open_store() as st:
        rid = add_rate(
            st,
            team,
            amount,
            unit=per,
            effective_from=_day(effective_from, "from"),
            effective_to=_day(effective_to, "to") if effective_to else None,
            shift_minutes=shift_minutes,
            overhead=overhead,
            note=note,
        )
    console.print(f"rate {rid} added for {team.strip().lower()}")  # as add_rate stored it


@rates_app.command("list")
def rates_list() -> None:
    """All rates as JSON, with pounds per minute."""
    import pandas as pd

    from ..store.rates import load_rates

    with open_store() as st:
        df = load_rates(st)
    # rates take effect on days: dates, not midnight timestamps ('2023-01-01 00:00:00')
    for col in ("effective_from", "effective_to"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col]).dt.strftime("%Y-%m-%d")
    # no note or no end is null, not NaN (which is not JSON) or 'NaT'
    print_json(df.astype(object).where(df.notna(), None).to_dict(orient="records"))


def register(root: typer.Typer) -> None:
    """Attach this stage's commands to the root app."""
    root.add_typer(app, name="evaluate")
    root.add_typer(rates_app, name="rates")
