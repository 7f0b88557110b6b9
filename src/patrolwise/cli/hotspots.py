"""``patrolwise hotspots find|import|list|retire|replace|concentration|peaks``: thin over
``patrolwise.target`` (the library) and ``patrolwise.store.areas`` (the hot spot repository)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from ..errors import InputError
from .common import console, open_store, out, print_json

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Find, import and understand micro hot spots.", no_args_is_help=True)


def _date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what} {text!r} is not a date like 2024-01-31") from exc


def _crimes(
    start: str | None,
    end: str | None,
    hours: str | None,
    weekdays: str | None,
    category: list[str] | None,
    offence: list[str] | None,
    notes: list[str],
    force: str | None = None,
) -> tuple[pd.DataFrame, dt.date | None, dt.date | None]:
    from ..config import get_settings
    from ..store.crimes import load_crimes
    from ..target.filters import overnight, select_crimes

    d0, d1 = _date(start, "--start"), _date(end, "--end")
    if d0 and d1 and d1 < d0:
        raise InputError(f"--end {d1} is before --start {d0}")
    store = open_store()
    # an overnight --hours window's last night ends the morning after --end: read that day
    # too (select_crimes keeps only the night's small hours of it)
    last = d1 + dt.timedelta(days=1) if d1 is not None and overnight(hours) else d1
    raw = load_crimes(store, start=d0, end=last, force=force, mappable_only=True)
    if force and raw.empty:
        _check_force(store, force)
    crimes = select_crimes(
        raw,
        start=d0,
        end=d1,
        hours=hours,
        weekdays=weekdays,
        categories=category,
        offences=offence,
        tz=get_settings().timezone,
        notes=notes,
    )
    months = crimes["month"].dropna().astype(str)
    if d0 is None and len(months):
        d0 = dt.date.fromisoformat(months.min() + "-01")
    if d1 is None and len(months):
        y, m = (int(v) for v in months.max().split("-"))
        d1 = dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)
    return crimes, d0, d1


def _check_force(store: Any, force: str) -> None:
    """Refuse a --force no stored crime has, listing the stored ones: a name differing only in
    case, or 'Leicestershire' for 'Leicestershire Police', was reported as no crimes matching
    the dates and filters (0 of 0), with advice to import crimes."""
    from sqlalchemy import select

    from ..store.models import CrimeLabel

    with store.session() as s:
        known = sorted(f for f in s.scalars(select(CrimeLabel.force).distinct()) if f)
    if force in known:
        return
    shown = ", ".join(repr(f) for f in known[:10]) + (", ..." if len(known) > 10 else "")
    raise InputError(
        f"--force {force!r}: no stored crime falls within that force (police.uk's 'Falls "
        f"within', spelt exactly); forces stored: {shown or 'none (import crimes first)'}"
    )


def _print_notes(notes: list[str]) -> None:
    for n in notes:
        console.print(f"[yellow]note:[/yellow] {n}", highlight=False, soft_wrap=True)


def _table(df: pd.DataFrame, title: str, floatfmt: str = "{:,.2f}") -> Table:
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c), justify="left" if df[c].dtype == object else "right")
    for row in df.itertuples(index=False):
        t.add_row(
            *[
                ("" if math.isnan(v) else floatfmt.format(v))
                if isinstance(v, float)
                else ("" if v is None else str(v))
                for v in row
            ]
        )
    return t


def _json(obj: Any) -> None:
    """print_json with undefined numbers (NaN, infinities) as null: JSON has neither."""

    def clean(o: Any) -> Any:
        if isinstance(o, float):
            return o if math.isfinite(o) else None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    print_json(clean(obj))


# filters shared by find, concentration and peaks
START = typer.Option(None, "--start", help="first day (local), YYYY-MM-DD")
END = typer.Option(None, "--end", help="last day (local), YYYY-MM-DD")
HOURS = typer.Option(
    None,
    "--hours",
    help="local time-of-day window, e.g. 14-20, or 22-04 overnight (its small hours count for "
    "the evening before in --weekdays, --start and --end)",
)
WEEKDAYS = typer.Option(None, "--weekdays", help="e.g. Fri-Sun or Mon,Wed")
CATEGORY = typer.Option(None, "--category", help="police.uk crime type; repeatable")
OFFENCE = typer.Option(None, "--offence", help="text in the offence or category; repeatable")
FORCE = typer.Option(None, "--force", help="only this force's crimes (police.uk 'Falls within')")


def _still_active(day: dt.date, new_ids: list[int]) -> list[str]:
    """A note when hot spots stored before are active alongside the ones just stored: finding
    hot spots for a new period does not retire the last period's, and plans, dosage and
    evaluations would otherwise take both sets without a word."""
    from ..store.areas import load_areas

    old = load_areas(open_store(), "hotspot", active_on=day)
    old = old[~old["area_id"].isin(new_ids)]
    if old.empty:
        return []
    ids = ", ".join(str(i) for i in old["area_id"].head(10))
    more = ", ..." if len(old) > 10 else ""
    return [
        f"{len(old)} hot spots stored earlier are also active from {day} (area {ids}{more}): "
        "if these replace them, retire them with "
        f"`patrolwise hotspots retire ID --on {day - dt.timedelta(days=1)}`"
    ]


@app.command("find")
def find_cmd(
    start: str | None = START,
    end: str | None = END,
    hours: str | None = HOURS,
    weekdays: str | None = WEEKDAYS,
    category: list[str] | None = CATEGORY,
    offence: list[str] | None = OFFENCE,
    force: str | None = FORCE,
    method: str = typer.Option("gistar", help="count, kde or gistar"),
    weight: str = typer.Option("harm", help="count or harm"),
    grid: str = typer.Option("square", "--grid", help="square or hex"),
    cell: float | None = typer.Option(None, help="cell size in metres (default: from the data)"),
    max_cells: int = typer.Option(4_000_000, help="refuse grids with more cells than this"),
    units: Path | None = typer.Option(None, help="polygons or street segments (GeoJSON/GPKG)"),
    snap: float = typer.Option(50.0, help="segments: max distance from a crime, metres"),
    bandwidth: float | None = typer.Option(None, help="kde bandwidth, metres (default: data)"),
    kernel: str = typer.Option("quartic", help="kde kernel: quartic or gaussian"),
    neighbour_distance: float | None = typer.Option(
        None, help="Gi* neighbours within this many metres (default: adjacent cells)"
    ),
    permutations: int = typer.Option(0, help="Gi* permutation p-values (e.g. 999); 0 = normal"),
    seed: int = typer.Option(0, help="random seed for permutations"),
    fdr: str = typer.Option("bh", help="p-value adjustment: bh, bonferroni or none"),
    alpha: float = typer.Option(0.05, help="significance level after adjustment"),
    top: int | None = typer.Option(None, help="select this many micro hot spots"),
    max_size: float = typer.Option(150.0, help="largest hot spot, metres across"),
    min_distance: float = typer.Option(0.0, help="least distance between hot spots, metres"),
    exclude: Path | None = typer.Option(None, help="excluded zones (GeoJSON/GPKG polygons)"),
    merge_fraction: float = typer.Option(
        0.5, help="merge touching cells scoring at least this share of the seed's score"
    ),
    cells_out: Path | None = typer.Option(
        None, help="write every unit (.geojson/.gpkg/.csv/.parquet)"
    ),
    out_files: list[Path] | None = typer.Option(
        None, "--out", help="write the hot spots (.geojson/.gpkg/.csv/.parquet); repeatable"
    ),
    store_result: bool = typer.Option(True, "--store/--no-store", help="store hot spots as areas"),
    active_from: str | None = typer.Option(None, help="hot spots active from (default: today)"),
    active_to: str | None = typer.Option(None, help="hot spots active until"),
    as_json: bool = typer.Option(False, "--json", help="print one machine-readable summary"),
) -> None:
    """Find harm-weighted micro hot spots: counts, kernel density or Getis-Ord Gi*."""
    import pandas as pd

    from ..config import get_settings
    from ..io.areas_io import read_areas, write_areas
    from ..store.areas import add_areas
    from ..target.grid import MAX_DEFAULT_CELL
    from ..target.select import largest_cell, select_hotspots
    from ..target.surface import find_surface
    from ..target.units import read_units
    from ..timeutil import local_today

    if top is not None and top < 1:
        # 'if top:' below would skip the selection and store nothing without a word
        raise InputError(f"--top must be at least 1, not {top}: how many hot spots to select")
    if out_files and not top:
        # --out writes the selected hot spots: without --top none are selected, and the command
        # ended 'successfully' with no file written
        raise InputError("--out writes the selected hot spots: give --top N to select them")
    # the dates are checked before the work: a bad --active-from stopped the command only after
    # --out and --cells-out were written, with nothing stored
    first_day = _date(active_from, "--active-from") or local_today()
    last_day = _date(active_to, "--active-to")
    if store_result and last_day and last_day < first_day:
        raise InputError(
            f"an area that ends {last_day}, before it starts {first_day}, is never active: "
            "check --active-from and --active-to"
        )
    settings = get_settings()
    notes: list[str] = []
    crimes, d0, d1 = _crimes(start, end, hours, weekdays, category, offence, notes, force)
    unit_gdf = read_units(units, settings.crs) if units else None
    with console.status(f"{method} on {len(crimes):,} crimes", spinner="dots"):
        surface = find_surface(
            crimes,
            method=method,
            weight=weight,
            shape=grid,
            cell=cell,
            units=unit_gdf,
            snap=snap,
            bandwidth=bandwidth,
            kernel=kernel,
            neighbour_distance=neighbour_distance,
            permutations=permutations,
            seed=seed,
            fdr=fdr,
            alpha=alpha,
            max_cells=max_cells,
            # a cell chosen from the data must fit in a hot spot, corner to corner
            largest_default_cell=largest_cell(max_size, grid)
            if top and max_size > 0
            else MAX_DEFAULT_CELL,
            crs=settings.crs,
            notes=notes,
        )
    if cells_out:
        write_areas(surface.geoframe(), cells_out, layer="cells")
        notes.append(f"{len(surface.table):,} units written to {cells_out}")
    summary: dict[str, Any] = {
        "crimes": len(crimes),
        "data_from": d0,
        "data_to": d1,
        "params": surface.params,
    }
    if top:
        ex = read_areas(exclude, settings.crs) if exclude else None
        hs = select_hotspots(
            surface,
            top,
            max_size=max_size,
            min_distance=min_distance,
            exclude=ex,
            merge_fraction=merge_fraction,
        )
        for f in out_files or []:
            write_areas(hs, f)
            notes.append(f"{len(hs)} hot spots written to {f}")
        params = dict(
            surface.params,
            top=top,
            max_size=max_size,
            min_distance=min_distance,
            merge_fraction=merge_fraction,
            hours=hours,
            weekdays=weekdays,
            categories=category,
            offences=offence,
            exclude=str(exclude) if exclude else None,
        )
        if store_result and len(hs):
            ids = add_areas(
                open_store(),
                hs,
                kind="hotspot",
                method=method,
                params=params,
                data_from=d0,
                data_to=d1,
                active_from=first_day,
                active_to=last_day,
                source="patrolwise hotspots find",
            )
            hs.insert(0, "area_id", ids)
            notes.extend(_still_active(first_day, ids))
        summary["hotspots"] = pd.DataFrame(hs.drop(columns="geometry")).to_dict("records")
    summary["notes"] = notes
    if as_json:
        _json(summary)
        return
    _print_notes(notes)
    if top:
        cols = (
            [
                c
                for c in ("area_id", "rank", "name", "n_units", "count", "harm", "score", "width_m")
                if c in summary["hotspots"][0]
            ]
            if summary["hotspots"]
            else []
        )
        if cols:
            out.print(_table(pd.DataFrame(summary["hotspots"])[cols], "hot spots"))


@app.command("import")
def import_cmd(
    path: Path = typer.Argument(..., help="GeoJSON, GeoPackage or GeoParquet of polygons"),
    name_field: str | None = typer.Option(None, help="field holding the names (default: name)"),
    kind: str = typer.Option("hotspot", help="hotspot, comparison, buffer or exclusion"),
    active_from: str | None = typer.Option(None, help="active from (YYYY-MM-DD)"),
    active_to: str | None = typer.Option(None, help="active until (YYYY-MM-DD)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import hot spots drawn by hand, names kept (idempotent on name and start date)."""
    import pandas as pd

    from ..config import get_settings
    from ..io.areas_io import read_areas
    from ..store.areas import add_areas

    settings = get_settings()
    gdf = read_areas(path, settings.crs, name_field=name_field, bbox=settings.force_bbox)
    ids = add_areas(
        open_store(),
        gdf,
        kind=kind,
        method="drawn",
        active_from=_date(active_from, "--active-from"),
        active_to=_date(active_to, "--active-to"),
        source=str(path),
    )
    res = [{"area_id": i, "name": n} for i, n in zip(ids, gdf["name"], strict=True)]
    if as_json:
        _json(res)
    else:
        console.print(f"{len(ids)} {kind} areas imported from {path}")
        out.print(_table(pd.DataFrame(res), f"{kind} areas"))


@app.command("list")
def list_cmd(
    kind: str = typer.Option("hotspot", help="hotspot, comparison, buffer or exclusion"),
    active_on: str | None = typer.Option(None, help="only areas active on this day"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List hot spots (or other areas) with their dates, method and area."""
    import pandas as pd

    from ..store.areas import load_areas

    gdf = load_areas(open_store(), kind, active_on=_date(active_on, "--active-on"))
    df = pd.DataFrame(gdf.drop(columns=["geometry", "params"]))
    df["area_m2"] = gdf.geometry.area.round(0).to_numpy()
    if as_json:
        _json(df.to_dict("records"))
        return
    cols = ["area_id", "name", "active_from", "active_to", "replaced_by", "method", "area_m2"]
    out.print(_table(df[cols], f"{kind} areas ({len(df)})", "{:,.0f}"))


@app.command("retire")
def retire_cmd(
    area_id: int = typer.Argument(...),
    on: str = typer.Option(..., "--on", help="last active day (YYYY-MM-DD)"),
    replaced_by: int | None = typer.Option(None, help="id of the successor area"),
) -> None:
    """End a hot spot's active period (its history stays)."""
    from ..store.areas import retire_area

    day = _date(on, "--on")
    assert day is not None
    retire_area(open_store(), area_id, day, replaced_by=replaced_by)
    console.print(f"area {area_id} retired after {day}")


@app.command("replace")
def replace_cmd(
    area_id: int = typer.Argument(...),
    path: Path = typer.Argument(..., help="GeoJSON/GPKG with the one new polygon"),
    on: str = typer.Option(..., "--on", help="first active day of the new area"),
    name_field: str | None = typer.Option(None),
) -> None:
    """Replace a hot spot by a redrawn one from a date (the old one ends the day before)."""
    from ..config import get_settings
    from ..io.areas_io import read_areas
    from ..store.areas import replace_area

    day = _date(on, "--on")
    assert day is not None
    settings = get_settings()
    new = read_areas(path, settings.crs, name_field=name_field, bbox=settings.force_bbox)
    new_id = replace_area(open_store(), area_id, new, day, source=str(path))
    console.print(f"area {area_id} replaced by area {new_id} from {day}")


@app.command("concentration")
def concentration_cmd(
    start: str | None = START,
    end: str | None = END,
    hours: str | None = HOURS,
    weekdays: str | None = WEEKDAYS,
    category: list[str] | None = CATEGORY,
    offence: list[str] | None = OFFENCE,
    force: str | None = FORCE,
    grid: str = typer.Option("square", "--grid"),
    cell: float | None = typer.Option(None, help="cell size in metres (default: from the data)"),
    units: Path | None = typer.Option(None, help="polygons or street segments instead of a grid"),
    places: str = typer.Option("all", help="all (every place) or with_crime"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Share of crimes and of harm in the top 1, 2, 5 and 10 % of places."""
    from ..config import get_settings
    from ..target.concentration import concentration_table
    from ..target.surface import find_surface
    from ..target.units import read_units

    notes: list[str] = []
    crimes, _, _ = _crimes(start, end, hours, weekdays, category, offence, notes, force)
    u = read_units(units, get_settings().crs) if units else None
    s = find_surface(
        crimes, method="count", weight="count", shape=grid, cell=cell, units=u, notes=notes
    )
    tab = concentration_table(s.table["count"], s.table["harm"], places=places)
    if as_json:
        _json({"table": tab.to_dict("records"), "notes": notes})
        return
    _print_notes(notes)
    shown = tab.assign(
        crime_share=(tab.crime_share * 100).round(1), harm_share=(tab.harm_share * 100).round(1)
    )
    n_places = len(s.table) if places == "all" else int((s.table["count"] > 0).sum())
    out.print(_table(shown, f"concentration over {n_places:,} places (%)", "{:,.1f}"))


@app.command("peaks")
def peaks_cmd(
    start: str | None = START,
    end: str | None = END,
    category: list[str] | None = CATEGORY,
    offence: list[str] | None = OFFENCE,
    force: str | None = FORCE,
    active_on: str | None = typer.Option(None, help="hot spots active on this day (default: all)"),
    window: int = typer.Option(6, help="length of the busiest daily window, hours"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Peak hours and weekdays (local time), per stored hot spot and overall."""
    from ..config import get_settings
    from ..store.areas import load_areas
    from ..target.peaks import peak_grid, peak_hours, peak_summary

    notes: list[str] = []
    crimes, _, _ = _crimes(start, end, None, None, category, offence, notes, force)
    areas = load_areas(open_store(), "hotspot", active_on=_date(active_on, "--active-on"))
    long = peak_hours(crimes, areas, tz=get_settings().timezone, notes=notes)
    summ = peak_summary(long, window=window)
    if as_json:
        _json(
            {"summary": summ.to_dict("records"), "hours": long.to_dict("records"), "notes": notes}
        )
        return
    _print_notes(notes)
    out.print(_table(summ, "peak hours (local time)"))
    g = peak_grid(long, "all").T  # hours down, weekdays across: fits a terminal
    out.print(_table(g.reset_index(names="hour"), "crimes by hour and weekday, all", "{:,.0f}"))


def register(root: typer.Typer) -> None:
    """Attach this stage's commands to the root app."""
    root.add_typer(app, name="hotspots")
