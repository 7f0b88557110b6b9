"""``patrolwise import crimes|harm``, ``patrolwise harm list`` and ``patrolwise crimes list``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import InputError
from .common import console, open_store, out, print_json, progress

import_app = typer.Typer(help="Load crime records and harm tables.", no_args_is_help=True)
harm_app = typer.Typer(help="Harm tables.", no_args_is_help=True)
crimes_app = typer.Typer(help="Look at imported crimes.", no_args_is_help=True)


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``field=Column Name`` pairs from ``--map``."""
    mapping: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(
                f"--map {item!r} is not FIELD=COLUMN (for example occurred='Date Committed')"
            )
        k, v = item.split("=", 1)
        mapping[k.strip()] = v.strip()
    return mapping


@import_app.command("crimes")
def import_crimes_cmd(
    paths: list[Path] = typer.Argument(
        ..., help="police.uk CSV or archive zip, or incident extract (CSV/GeoJSON)"
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="police_uk or incidents (default: detected)"
    ),
    mapping: list[str] | None = typer.Option(
        None, "--map", help="FIELD=COLUMN for incident extracts; repeatable"
    ),
    rejects: Path = typer.Option(
        Path("rejects"), "--rejects", help="folder for rejected-rows reports"
    ),
    force: str | None = typer.Option(
        None,
        "--force",
        help="force whose incident extract this is (default: the configured force); "
        "police.uk files name their own",
    ),
    asb_floor: float | None = typer.Option(
        None, help="harm given to anti-social behaviour (default: none)"
    ),
    exclude_proactive: bool = typer.Option(
        False, help="no harm for proactively detected offences (drugs, weapons)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one machine-readable summary"),
) -> None:
    """Import crimes: transactional per file, idempotent, bad rows reported with row and reason."""
    from ..harm import HarmRules
    from ..store.crime_import import import_crimes

    store = open_store()
    rules = HarmRules(asb_floor=asb_floor, exclude_proactive=exclude_proactive)
    with progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        hide=as_json,
    ) as prog:
        task = prog.add_task("importing crimes", total=None)

        def tick(name: str, n: int) -> None:
            prog.update(task, advance=n, description=Path(name.split("!")[-1]).name)

        results = import_crimes(
            store,
            list(paths),
            fmt=fmt,
            mapping=parse_mapping(mapping),
            rules=rules,
            rejects_dir=rejects,
            progress=tick,
            force=force,
        )
    totals = {
        k: sum(getattr(r, k) for r in results)
        for k in ("rows_read", "imported", "already_present", "rejected", "unmappable")
    }
    if as_json:
        print_json({"files": [r.as_dict() for r in results], "totals": totals})
        return
    t = Table(
        "file", "read", "imported", "already present", "rejected", "unmappable", "harm missing"
    )
    for r in results:
        t.add_row(
            Path(r.file).name,
            f"{r.rows_read:,}",
            f"{r.imported:,}",
            f"{r.already_present:,}",
            f"{r.rejected:,}",
            f"{r.unmappable:,}",
            f"{sum(r.harm_missing.values()):,}",
        )
    out.print(t)
    for r in results:
        if r.rejects_file:
            console.print(f"rejected rows of {Path(r.file).name}: {r.rejects_file}")
        if r.harm_missing:
            top = ", ".join(
                f"{k} ({v})" for k, v in sorted(r.harm_missing.items(), key=lambda kv: -kv[1])[:5]
            )
            console.print(f"[yellow]offences not in harm table {r.harm_table}:[/yellow] {top}")
        for note in r.harm_notes:
            console.print(f"[yellow]{note}[/yellow]")
        if r.harm_asb:
            console.print(
                f"{r.harm_asb:,} anti-social behaviour rows have no CCHI harm (reported as 'asb')"
            )


@import_app.command("harm")
def import_harm_cmd(
    path: Path = typer.Argument(..., help="CSV or XLSX, e.g. the official CCHI workbook"),
    name: str = typer.Option(..., help="table name, e.g. cchi"),
    version: str = typer.Option(..., help="table version, e.g. 2026"),
    key_column: str = typer.Option(..., help="column with the offence key"),
    harm_column: str = typer.Option(..., help="column with the harm value"),
    key_kind: str = typer.Option("ho_code", help="ho_code, description or category"),
    sheet: str | None = typer.Option(None, help="worksheet (XLSX)"),
    proactive_column: str | None = typer.Option(None, help="column flagging proactive offences"),
    default: bool = typer.Option(False, "--default", help="use this table for later imports"),
) -> None:
    """Load a harm table (versioned); later imports use it with --default."""
    from ..harm import read_table_file
    from ..store.harm_tables import save_table

    table = read_table_file(
        path,
        name=name,
        version=version,
        key_column=key_column,
        harm_column=harm_column,
        key_kind=key_kind,
        proactive_column=proactive_column,
        sheet=sheet,
    )
    tid = save_table(open_store(), table, make_default=default)
    console.print(
        f"harm table {name} {version}: {len(table.values)} keys stored (id {tid})"
        + (", now the default" if default else "")
    )
    rej = table.rejects
    if len(rej):
        console.print(f"[yellow]{len(rej)} row(s) left out:[/yellow]", highlight=False)
        for r in rej.head(10).itertuples(index=False):
            console.print(f"  row {r.row}, {r.field}: {r.reason}", highlight=False, soft_wrap=True)
        if len(rej) > 10:
            console.print(f"  ... and {len(rej) - 10} more", highlight=False)


@harm_app.command("list")
def harm_list() -> None:
    """List stored harm tables."""
    from ..store.harm_tables import default_table_id, list_tables

    store = open_store()
    default_table_id(store)
    df = list_tables(store)
    t = Table(*df.columns)
    for row in df.itertuples(index=False):
        t.add_row(*[str(v) for v in row])
    out.print(t)


@crimes_app.command("list")
def crimes_list(
    limit: int = typer.Option(20, help="rows to show"),
    category: str | None = typer.Option(None, help="only this category"),
) -> None:
    """Show crimes with their harm, times in the force's local zone."""
    import pandas as pd

    from ..config import get_settings
    from ..store.crimes import load_crimes
    from ..timeutil import to_local

    df = load_crimes(open_store(), categories=[category] if category else None, limit=limit)
    tz = get_settings().timezone
    t = Table(
        "crime",
        "month",
        f"occurred ({tz})",
        "category / offence",
        "location",
        "harm",
        "harm status",
    )
    when = to_local(df["occurred_at"], tz) if len(df) else df["occurred_at"]
    for r, w in zip(df.to_dict(orient="records"), when, strict=True):
        harm = r["harm"]
        t.add_row(
            str(r["crime_key"])[:12],
            str(r["month"]),
            "" if w is None or pd.isna(w) else f"{w:%Y-%m-%d %H:%M %Z}",
            str(r["offence"] or r["category"]),
            "" if r["location"] is None or pd.isna(r["location"]) else str(r["location"]),
            "" if harm is None or pd.isna(harm) else f"{harm:g}",
            str(r["harm_status"]),
        )
    out.print(t)


def register(root: typer.Typer) -> None:
    """Attach import commands."""
    root.add_typer(import_app, name="import")
    root.add_typer(harm_app, name="harm")
    root.add_typer(crimes_app, name="crimes")
