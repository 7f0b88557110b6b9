"""``patrolwise dosage``: visits and minutes in hot spots from stored pings; ``dosage daily``: the
coordinator's summary of one day. Thin over the track library and the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..errors import InputError
from .common import console, open_store, out, print_json

dosage_app = typer.Typer(
    help="Patrol dosage: visits, officer- and patrol-minutes per hot spot, team and day.",
    invoke_without_command=True,
)


def _date(text: str | None, opt: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{opt} {text!r} is not a date like 2024-06-03") from exc


def _run(
    store: Any,
    start: dt.date | None,
    end: dt.date | None,
    buffer: float,
    max_gap: float,
    min_visit: float,
    *,
    allow_empty: bool = False,
) -> tuple[Any, Any, int, tuple[dt.date | None, dt.date | None]]:
    """Measure the stored pings (:func:`patrolwise.stored_dosage.measure_stored`: read a piece
    of whole devices at a time, a day either side of the dates); returns the result, the hot
    spots, the number of pings read and the local days measured.

    No pings at all is an error (nothing imported yet?) unless ``allow_empty``: the daily
    summary of a day whose trackers all stayed silent still has a plan to report on, every
    slot missed and its minutes unknown."""
    from ..config import get_settings
    from ..stored_dosage import measure_stored
    from ..track.dosage import DosageParams

    tz = get_settings().timezone
    params = DosageParams(
        buffer_m=buffer, max_gap_s=max_gap * 60, min_visit_s=min_visit * 60, tz=tz
    )
    with console.status("loading pings") as status:

        def progress(i: int, k: int, done: int, total: int) -> None:
            status.update(
                f"cleaning and measuring {total:,} pings"
                + (f" (piece {i + 1} of {k})" if k > 1 and i < k else "")
            )

        m = measure_stored(store, start, end, params, allow_empty=allow_empty, progress=progress)
    return m.result, m.hotspots, m.pings, m.days


def _panel_schema(tz: str) -> Any:
    """The Arrow schema of the daily panel file, the same whether or not it has rows.

    Left to inference, a panel without visits (a quiet day, strict rules) was written with every
    column of type null, and a folder of daily files holding one could not be read back as one
    dataset (pandas / pyarrow: "Unsupported cast from date32[day] to null").
    """
    import pyarrow as pa

    return pa.schema(
        [
            ("local_day", pa.date32()),
            ("area_id", pa.int64()),
            ("name", pa.large_string()),
            ("team", pa.large_string()),
            ("visits", pa.int64()),
            ("devices", pa.int64()),
            ("officer_minutes", pa.float64()),
            ("patrol_minutes", pa.float64()),
            ("first", pa.timestamp("ms", tz=tz)),
            ("last", pa.timestamp("ms", tz=tz)),
        ]
    )


@dosage_app.callback()
def dosage_cmd(
    ctx: typer.Context,
    date_from: str | None = typer.Option(None, "--from", help="first local day (YYYY-MM-DD)"),
    date_to: str | None = typer.Option(None, "--to", help="last local day (YYYY-MM-DD)"),
    out_file: Path | None = typer.Option(
        None, "--out", help="write the daily panel to this .csv or .parquet file"
    ),
    buffer: float = typer.Option(10.0, "--buffer", help="GPS error allowance around hot spots, m"),
    max_gap: float = typer.Option(5.0, "--max-gap", help="longest silence inside a visit, min"),
    min_visit: float = typer.Option(
        5.0, "--min-visit", help="shortest visit counted (drops drive-through passes), min"
    ),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary"),
) -> None:
    """Measure dosage from stored pings, store the visits, print minutes per hot spot and team."""
    if ctx.invoked_subcommand is not None:
        return
    from ..store.visits import save_visits
    from ..timeutil import to_local
    from ..track.dosage import daily_dosage

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if start is not None and end is not None and start > end:
        raise InputError(f"--from {start} is after --to {end}")
    if out_file is not None and out_file.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {out_file}: use a .csv or .parquet file name")
    if out_file is not None and not out_file.resolve().parent.is_dir():
        raise InputError(f"--out {out_file}: the folder {out_file.parent} does not exist")
    with open_store() as store:
        res, hs, _, (d0, d1) = _run(store, start, end, buffer, max_gap, min_visit)
        panel = daily_dosage(res.visits)
        names = dict(zip(hs["area_id"], hs["name"], strict=True))
        panel.insert(2, "name", panel["area_id"].map(names))
        if out_file is not None:  # before the run is stored, so a failed write stores nothing
            # first and last fix in the force's zone, with its offset (as staff read the day)
            export = panel.copy()
            for c in ("first", "last"):
                export[c] = to_local(export[c], res.params.tz).to_numpy()
            try:
                if out_file.suffix.lower() == ".parquet":
                    export.to_parquet(out_file, index=False, schema=_panel_schema(res.params.tz))
                else:
                    export.to_csv(out_file, index=False)
            except OSError as exc:
                raise InputError(
                    f"--out {out_file}: cannot write it ({exc.strerror or exc})"
                ) from None
        run_id = save_visits(
            store,
            res.visits,
            params=res.params.as_dict(),
            stats=res.stats,
            date_from=d0,
            date_to=d1,
        )
    totals = (
        panel.groupby(["area_id", "name", "team"])[["visits", "officer_minutes", "patrol_minutes"]]
        .sum()
        .reset_index()
    )
    # a visit across midnight is a row on each local day: over the whole run it is one visit
    per = res.visits.groupby(["area_id", "team"])["visit_id"].nunique()
    totals["visits"] = [
        int(per.get((a, tm), 0)) for a, tm in zip(totals["area_id"], totals["team"], strict=True)
    ]
    n_visits = int(res.visits["visit_id"].nunique())
    if as_json:
        print_json(
            {
                "run_id": run_id,
                "visits": n_visits,
                "stats": res.stats,
                "params": res.params.as_dict(),
                "by_hotspot": totals.to_dict(orient="records"),
                "out": str(out_file) if out_file else None,
            }
        )
        return
    t = Table(title=f"Dosage run {run_id}: {n_visits} visits")
    for c in ("hot spot", "team", "visits", "patrol-min", "officer-min"):
        t.add_column(c, justify="left" if c in ("hot spot", "team") else "right")
    for r in totals.to_dict("records"):
        t.add_row(
            f"{r['area_id']} {r['name']}",
            str(r["team"]),
            str(int(r["visits"])),
            f"{r['patrol_minutes']:,.0f}",
            f"{r['officer_minutes']:,.0f}",
        )
    out.print(t)
    flags = res.stats.get("cleaning", {}).get("flags", {})
    if flags:
        console.print("pings set aside: " + ", ".join(f"{k} {v}" for k, v in flags.items()))


@dosage_app.command("daily")
def daily_cmd(
    date: str | None = typer.Option(None, "--date", help="local day (default: yesterday)"),
    buffer: float = typer.Option(10.0, "--buffer"),
    max_gap: float = typer.Option(5.0, "--max-gap"),
    min_visit: float = typer.Option(5.0, "--min-visit"),
    distance: float = typer.Option(
        0.0, "--distance", help="police and outreach closer than this (m) also breach"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The coordinator's summary of one day: minutes by hot spot and team, plan, breaches."""
    import pandas as pd

    from ..config import get_settings
    from ..timeutil import local_today
    from ..track.separation import check_distance
    from ..track.summary import daily_summary

    distance = check_distance(distance)  # before any work: NaN would switch the rule off
    day = _date(date, "--date") or (local_today() - dt.timedelta(days=1))
    with open_store() as store:
        plan = None
        try:
            from ..store.plans import load_plan_visits

            p = load_plan_visits(store, start=day, end=day)
            plan = p if len(p) else None
        except Exception:  # the plan stage's tables may be absent in an older database
            plan = None
        # an overnight plan's slots end the next morning: measure through their last day
        last = day
        if plan is not None:
            from ..timeutil import local_days

            last = max(day, max(local_days(plan["end"], get_settings().timezone)))
        res, hs, n_pings, _ = _run(store, day, last, buffer, max_gap, min_visit, allow_empty=True)
    if plan is not None:
        from ..track.compliance import to_successors

        plan = to_successors(plan, hs)  # a plan made before a hot spot was redrawn names the old
    names = dict(zip(hs["area_id"].astype(int), hs["name"], strict=True))
    s = daily_summary(res, day, names=names, plan=plan, areas=hs, distance_m=distance)
    if n_pings == 0:
        s.lines.append(f"no GPS fixes stored around {day}: every planned minute is unknown")
    if as_json:
        print_json(
            {
                "day": str(day),
                "by_hotspot": s.by_hotspot.to_dict(orient="records"),
                "compliance": None if s.compliance is None else s.compliance.to_dict("records"),
                "breaches": s.breaches.to_dict(orient="records"),
                "summary": s.lines,
            }
        )
        return
    t = Table(title=f"Hot spot dosage {day}")
    for c in ("hot spot", "team", "visits", "staff", "patrol-min", "officer-min", "unknown-min"):
        t.add_column(c, justify="left" if c in ("hot spot", "team") else "right")
    for r in s.by_hotspot.to_dict("records"):
        t.add_row(
            f"{r['area_id']} {r['name']}",
            str(r["team"]),
            str(r["visits"]),
            str(r["devices"]),
            f"{r['patrol_minutes']:.0f}",
            f"{r['officer_minutes']:.0f}",
            f"{r['unknown_minutes']:.0f}",
        )
    out.print(t)
    if s.compliance is not None:
        ct = Table(title="Against the plan")
        for col in ("team", "hot spot", "planned", "delivered", "late by", "status"):
            ct.add_column(col)
        for r in s.compliance.to_dict("records"):
            late = "" if pd.isna(r["late_minutes"]) else f"{r['late_minutes']:.0f}"
            ct.add_row(
                str(r["team"]),
                names.get(int(r["area_id"]), str(r["area_id"])),
                f"{r['planned_minutes']:.0f}",
                f"{r['delivered_minutes']:.0f}",
                late,
                str(r["status"]),
            )
        out.print(ct)
    if len(s.breaches):
        from ..timeutil import to_local

        tz = get_settings().timezone
        b = Table(title="Never-together breaches (local time)")
        for col in ("hot spot", "from", "to", "overlap min", "police", "outreach"):
            b.add_column(col)
        br = s.breaches.assign(
            start=to_local(s.breaches["start"], tz).dt.strftime("%H:%M:%S").to_numpy(),
            end=to_local(s.breaches["end"], tz).dt.strftime("%H:%M:%S").to_numpy(),
        )
        for r in br.to_dict("records"):
            b.add_row(
                names.get(int(r["area_id"]), str(r["area_id"])),
                str(r["start"]),
                str(r["end"]),
                f"{r['overlap_minutes']:.1f}",
                str(r["police_devices"]),
                str(r["outreach_devices"]),
            )
        out.print(b)
    for line in s.lines:
        out.print(line)


def register(root: typer.Typer) -> None:
    """Attach ``patrolwise dosage`` to the root app."""
    root.add_typer(dosage_app, name="dosage")
