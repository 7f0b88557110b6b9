"""CLI commands of the plan stage: make, list, check, export, brief, randomise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from ..errors import InputError
from .common import open_store, out, print_json

plan_app = typer.Typer(help="Patrol plans, randomised patrol days, exports and briefings.")


#: the days a plan, an assignment or a briefing may fall on: the calendar's own ends overflow
#: (the day before 0001-01-01), a far end draws millions of days, and before 1847 London kept
#: local mean time
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _date(text: str, opt: str) -> dt.date:
    try:
        d = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{opt} {text!r} is not a date like 2024-03-31") from exc
    if not FIRST_DAY <= d <= LAST_DAY:
        raise InputError(f"{opt} {text!r} must be a day from {FIRST_DAY} to {LAST_DAY}")
    return d


def _ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError as exc:
        raise InputError(f"--hotspots {text!r} must be area ids like 1,2,3") from exc


def _hotspots(store, ids: list[int] | None, start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
    from ..store.areas import active_hotspots

    hs = active_hotspots(store, start, end)
    if ids:
        missing = sorted(set(ids) - set(hs["area_id"]))
        if missing:
            raise InputError(
                f"no active hot spot with id {missing}: see `patrolwise hotspots list`"
            )
        hs = hs[hs["area_id"].isin(ids)]
    return hs.reset_index(drop=True)


def _active(hs) -> dict[int, tuple[dt.date | None, dt.date | None]]:  # type: ignore[no-untyped-def]
    """Each hot spot's first and last active day (None: open), for the randomisation."""
    import pandas as pd

    def day(x: Any) -> dt.date | None:
        return None if x is None or pd.isna(x) else pd.Timestamp(x).date()

    return {
        int(a): (day(f), day(t))
        for a, f, t in zip(hs["area_id"], hs["active_from"], hs["active_to"], strict=True)
    }


def _out_file(path: Path | None, opt: str) -> None:
    """Refuse an output file whose folder does not exist, or that is a folder, before anything
    is made or stored."""
    if path is not None and not path.resolve().parent.is_dir():
        raise InputError(f"{opt} {path}: the folder {path.parent} does not exist")
    if path is not None and path.is_dir():
        raise InputError(f"{opt} {path} is a folder: give a file name in it")


def _write(path: Path, data: bytes | str, opt: str) -> None:
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{opt} {path}: cannot write it ({exc.strerror or exc})") from None


def _why_no_visits(params: dict[str, Any]) -> str:
    """Why a plan has no visits, for the line refusing to export it as a calendar."""
    if "assignment_seed" in params:
        return (
            f"assignment seed {params['assignment_seed']} draws every hot spot-day of the plan "
            "as a no-patrol day"
        )
    return "none were stored with it"


def _locations(hs) -> dict[int, tuple[float, float]]:  # type: ignore[no-untyped-def]
    from ..config import get_settings
    from ..geo import to_wgs84
    from ..plan.routing import anchor_points

    pts = anchor_points(hs)
    lon, lat = to_wgs84(pts[:, 0], pts[:, 1], get_settings().crs)
    return {int(a): (float(y), float(x)) for a, x, y in zip(hs["area_id"], lon, lat, strict=True)}


@plan_app.command("make")
def make_cmd(
    team: str = typer.Option(..., help="outreach or police"),
    date_from: str = typer.Option(..., "--from", help="first local day, YYYY-MM-DD"),
    date_to: str = typer.Option(..., "--to", help="last local day, YYYY-MM-DD"),
    window: str = typer.Option(
        "14:00-20:00", help="local patrol window; 22:00-02:00 runs overnight into the next day"
    ),
    visit: float | None = typer.Option(None, help="minutes per visit (outreach 40, police 15)"),
    hotspots: str | None = typer.Option(None, help="area ids, e.g. 1,2,3 (default: all)"),
    order: str = typer.Option("efficient", help="efficient or random"),
    seed: int | None = typer.Option(None, help="seed for random orders and randomisation"),
    min_visits: int = typer.Option(1, help="minimum visits per hot spot and day"),
    max_visits: int | None = typer.Option(None, help="maximum visits per hot spot and day"),
    min_minutes: float | None = typer.Option(None, help="minimum minutes per hot spot and day"),
    max_minutes: float | None = typer.Option(None, help="maximum minutes per hot spot and day"),
    speed: float = typer.Option(80.0, help="walking speed, metres per minute"),
    network: Path | None = typer.Option(None, help="street network GeoJSON for walking times"),
    after: int | None = typer.Option(None, help="id of the other team's plan to keep apart from"),
    gap: float = typer.Option(30.0, help="minutes between the two teams at one hot spot"),
    randomise: float | None = typer.Option(
        None, help="draw patrol days with this probability and plan only those"
    ),
    unit: str = typer.Option("hotspot-day", help="randomisation unit: hotspot-day or day"),
    assignment: int | None = typer.Option(
        None, help="plan only the patrol days of this stored seed"
    ),
    csv: Path | None = typer.Option(None, help="also write the plan as CSV"),
    ics: Path | None = typer.Option(None, help="also write the plan as iCalendar"),
) -> None:
    """Make and store a plan: an order through the hot spots that fits the window each day."""
    from ..config import get_settings
    from ..plan.export_csv import plan_csv_text
    from ..plan.export_ical import plan_to_ical
    from ..plan.randomise import hand_over_to_successors, handed_over, randomise_days
    from ..plan.routing import anchor_points, load_street_network, network_minutes
    from ..plan.schedule import PlanRequest, make_plan
    from ..store.areas import load_areas
    from ..store.plans import get_plan, load_assignment, load_plan_visits, save_plan
    from ..timeutil import parse_window

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    _out_file(csv, "--csv")
    _out_file(ics, "--ics")
    settings = get_settings()
    req = PlanRequest(
        team=team,
        start_date=start,
        end_date=end,
        window=parse_window(window, overnight=True),
        visit_minutes=visit,
        order=order,  # type: ignore[arg-type]
        seed=seed,
        min_visits=min_visits,
        max_visits=max_visits,
        min_minutes=min_minutes,
        max_minutes=max_minutes,
        speed_m_per_min=speed,
        separation_minutes=gap,
        tz=settings.timezone,
    )
    with open_store() as store:
        hs = _hotspots(store, _ids(hotspots), start, end)
        travel = None
        if network is not None:
            streets = load_street_network(network, settings.crs)
            travel = network_minutes(anchor_points(hs), streets, speed)
            req.extra["travel"] = f"network:{network.name}"
        patrol_days = None
        new_assignment = None
        handover_lines: list[str] = []
        if randomise is not None:
            patrol_days = randomise_days(
                hs["area_id"], start, end, randomise, seed=seed, unit=unit, active=_active(hs)
            )
            new_assignment = patrol_days  # stored with the plan, so a failed plan stores neither
            req.extra["assignment_seed"] = int(patrol_days["seed"].iloc[0])
            if req.seed is None:
                req.seed = int(patrol_days["seed"].iloc[0])
        elif assignment is not None:
            # a successor hot spot takes its predecessor's drawn days from its first day
            every = load_areas(store, "hotspot")
            patrol_days = hand_over_to_successors(load_assignment(store, assignment), every)
            req.extra["assignment_seed"] = assignment
            mine = patrol_days["area_id"].isin(hs["area_id"])
            mine &= patrol_days["date"].between(start, end)
            inherited = handed_over(patrol_days[mine])
            if not inherited.empty:
                req.extra["handed_over"] = [
                    {
                        "area_id": int(r["area_id"]),
                        "from_area_id": int(r["drawn_for"]),
                        "first": r["first"].isoformat(),
                        "last": r["last"].isoformat(),
                        "days": int(r["days"]),
                        "patrol_days": int(r["patrol"]),
                        "assignment_seed": assignment,
                    }
                    for r in inherited.to_dict("records")
                ]
                name = dict(zip(every["area_id"], every["name"], strict=True))
                handover_lines = [
                    f"  hot spot {h['area_id']} ({name[h['area_id']]}) takes the days drawn for "
                    f"hot spot {h['from_area_id']} ({name[h['from_area_id']]}), which it "
                    f"replaced, in assignment seed {assignment}: {h['first']} to {h['last']}, "
                    f"{h['patrol_days']} of {h['days']} days patrol"
                    for h in req.extra["handed_over"]
                ]
        avoid = None
        if after is not None:
            other = get_plan(store, after)  # an unknown id must not mean "nothing to avoid"
            if other["team"] == team:
                raise InputError(
                    f"plan {after} is a {team} plan; --after takes the other team's plan"
                )
            # the day before's nights run into this plan's first morning, and this plan's last
            # night into the morning after its last day
            day = dt.timedelta(days=1)
            avoid = load_plan_visits(store, after, start=start - day, end=end + day)
            req.extra["after_plan"] = after
        res = make_plan(hs, req, travel=travel, patrol_days=patrol_days, avoid=avoid)
        res.params.update(req.extra)
        if ics and res.visits.empty:
            # checked before storing: a rerun without --ics must not store the plan twice
            raise InputError(
                f"--ics {ics}: the plan from {start} to {end} has no visits "
                f"({_why_no_visits(req.extra)}), and a calendar needs at least one event; "
                "nothing was stored: leave --ics out to store the plan without a calendar"
            )
        pid = save_plan(store, team, res.seed, res.params, res.visits, assignment=new_assignment)
        if csv:
            _write(csv, plan_csv_text(res.visits, settings.timezone), "--csv")
        if ics:
            _write(
                ics,
                plan_to_ical(
                    res.visits, plan_id=pid, tz=settings.timezone, locations=_locations(hs)
                ),
                "--ics",
            )
    out.print(
        f"plan {pid}: {team}, {len(res.visits)} visits on {len(res.daily)} days "
        f"({start} to {end}), seed {res.seed}"
        + (
            f", assignment seed {req.extra['assignment_seed']}"
            if "assignment_seed" in req.extra
            else ""
        )
    )
    for line in handover_lines:  # which assignment a successor's days come from
        out.print(line)


@plan_app.command("list")
def list_cmd() -> None:
    """Stored plans."""
    from ..store.plans import list_plans

    with open_store() as store:
        print_json(list_plans(store).to_dict("records"))


@plan_app.command("check")
def check_cmd(
    plan_a: int = typer.Argument(..., help="first plan id"),
    plan_b: int = typer.Argument(..., help="second plan id"),
    gap: float = typer.Option(30.0, help="minimum minutes apart at one hot spot"),
) -> None:
    """Report visits of two plans at the same hot spot closer than --gap minutes (exit 1 if any)."""
    from ..plan.separation import conflicts
    from ..store.plans import get_plan, load_plan_visits

    with open_store() as store:
        for pid in (plan_a, plan_b):
            get_plan(store, pid)  # a plan id that does not exist is an error, not "no conflicts"
        c = conflicts(load_plan_visits(store, plan_a), load_plan_visits(store, plan_b), gap)
    if c.empty:
        out.print(
            f"no conflicts: plans {plan_a} and {plan_b} stay {gap:g} min apart at every hot spot"
        )
        return
    print_json(c.to_dict("records"))
    out.print(f"{len(c)} conflict(s) closer than {gap:g} min", style="red")
    raise typer.Exit(1)


@plan_app.command("export")
def export_cmd(
    plan_id: int = typer.Argument(...),
    csv: Path | None = typer.Option(None, help="CSV file to write"),
    ics: Path | None = typer.Option(None, help="iCalendar file to write"),
) -> None:
    """Write a stored plan as CSV and/or iCalendar."""
    from ..config import get_settings
    from ..plan.export_csv import plan_csv_text
    from ..plan.export_ical import plan_to_ical
    from ..store.areas import load_areas
    from ..store.plans import get_plan, load_plan_visits

    if not csv and not ics:
        raise InputError("give --csv and/or --ics")
    _out_file(csv, "--csv")
    _out_file(ics, "--ics")
    tz = get_settings().timezone
    with open_store() as store:
        meta = get_plan(store, plan_id)
        v = load_plan_visits(store, plan_id)
        hs = load_areas(store, "hotspot")
        hs = hs[hs["area_id"].isin(v["area_id"])]
    if ics and v.empty:
        # refused before any file is written, the CSV too
        raise InputError(
            f"plan {plan_id} has no visits ({_why_no_visits(meta['params'])}): nothing to "
            f"export to --ics {ics}, as a calendar needs at least one event"
        )
    if csv:
        _write(csv, plan_csv_text(v, tz), "--csv")
        out.print(f"wrote {csv}")
    if ics:
        _write(ics, plan_to_ical(v, plan_id=plan_id, tz=tz, locations=_locations(hs)), "--ics")
        out.print(f"wrote {ics}")


@plan_app.command("brief")
def brief_cmd(
    plan_id: int = typer.Argument(...),
    day: str = typer.Option(..., "--date", help="local day of the shift, YYYY-MM-DD"),
    out_dir: Path = typer.Option(Path("."), "--out", help="folder for the HTML and PDF"),
) -> None:
    """Printable briefing (HTML and PDF) for one shift of a stored plan."""
    from ..config import get_settings
    from ..plan.briefing import build_briefing
    from ..store.areas import load_areas
    from ..store.crimes import load_crimes
    from ..store.plans import get_plan, load_delivered, load_plan_visits
    from ..timeutil import crosses_midnight, local_window_utc, parse_window

    d = _date(day, "--date")
    tz = get_settings().timezone
    with open_store() as store:
        meta = get_plan(store, plan_id)
        v = load_plan_visits(store, plan_id, start=d - dt.timedelta(days=1), end=d)
        today = v[v["date"] == d]
        if today.empty:
            raise InputError(f"plan {plan_id} has no visits on {d}")
        hs = load_areas(store, "hotspot")
        crimes = load_crimes(store, start=d - dt.timedelta(days=28), end=d)
        y = d - dt.timedelta(days=1)
        # last night's shift, when the window runs overnight, ends on this morning
        until = None
        w = meta["params"].get("window")
        if w:
            w0, w1 = parse_window("-".join(w), overnight=True)
            if crosses_midnight(w0, w1):
                until = local_window_utc(y, w0, w1, tz)[1].replace(tzinfo=None)
        delivered = load_delivered(store, y, until=until)
    b_ = build_briefing(
        d,
        meta["team"],
        today,
        hs,
        crimes,
        yesterday_planned=v[v["date"] == y],
        yesterday_delivered=delivered,
        tz=tz,
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"--out {out_dir}: cannot make the folder ({exc.strerror or exc})"
        ) from None
    stem = out_dir / f"briefing-{meta['team']}-{d}"
    _write(stem.with_suffix(".html"), b_.html, "--out")
    _write(stem.with_suffix(".pdf"), b_.pdf, "--out")
    out.print(f"wrote {stem}.html and {stem}.pdf")


@plan_app.command("randomise")
def randomise_cmd(
    date_from: str = typer.Option(..., "--from"),
    date_to: str = typer.Option(..., "--to"),
    p: float = typer.Option(0.5, "--p", "--randomise", help="probability of a patrol"),
    unit: str = typer.Option("hotspot-day", help="hotspot-day or day"),
    seed: int | None = typer.Option(None),
    hotspots: str | None = typer.Option(None, help="area ids (default: all)"),
    csv: Path | None = typer.Option(None, help="CSV for the evaluator"),
) -> None:
    """Randomise patrol days (blocked by weekday), store them and export for the evaluator."""
    from ..plan.export_csv import assignment_table
    from ..plan.randomise import balance_by_weekday, randomise_days
    from ..store.plans import save_assignment

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    _out_file(csv, "--csv")
    with open_store() as store:
        hs = _hotspots(store, _ids(hotspots), start, end)
        a = randomise_days(hs["area_id"], start, end, p, seed=seed, unit=unit, active=_active(hs))
        n = save_assignment(store, a)
    if csv:
        _write(csv, assignment_table(a).to_csv(index=False), "--csv")
    bal = balance_by_weekday(a)
    out.print(
        f"assignment seed {int(a['seed'].iloc[0])}: {n} hot spot-days, "
        f"{int(a['patrol'].sum())} patrol ({a['patrol'].mean():.0%})"
    )
    for r in bal.to_dict("records"):
        out.print(f"  {r['weekday']:<9} patrol {r['patrol']:>4}  control {r['control']:>4}")


def register(root: typer.Typer) -> None:
    """Attach this stage's commands to the root app."""
    root.add_typer(plan_app, name="plan")
