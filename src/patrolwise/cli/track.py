"""``patrolwise track import`` and ``patrolwise devices ...``: thin over the track import and registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..errors import PatrolwiseError
from .common import console, fail, open_store, out, print_json, progress

track_app = typer.Typer(
    help="GPS tracks: import files from trackers, phones and radios.", no_args_is_help=True
)
devices_app = typer.Typer(
    help="The device registry: trackers and phones, their teams and secrets.", no_args_is_help=True
)


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{name} {text!r} is not a date like 2024-05-01")
    return None


@track_app.command("import")
def import_cmd(
    paths: list[Path] = typer.Argument(
        ..., help="GPX, NMEA, CSV or GeoJSON files, or folders of them"
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        help="device id for every point (default: the file's device/callsign column, else the file name)",
    ),
    team: str | None = typer.Option(
        None, "--team", help="outreach or police: registers unknown devices to this team"
    ),
    date: str | None = typer.Option(
        None, "--date", help="UTC date of the first fix, for NMEA logs without RMC dates"
    ),
    mapping: list[str] = typer.Option(
        [], "--map", help="FIELD=COLUMN, e.g. --map time=Timestamp --map device=Callsign"
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="zone of CSV times written without one (default UTC)"
    ),
    ambiguous: str | None = typer.Option(
        None,
        "--ambiguous",
        help="earlier or later: which pass of the hour repeated when the clocks go back the "
        "file's --tz times are, where the order of the file cannot tell (default: reject them)",
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="gpx, nmea, csv or geojson (default: detect)"
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="folder for rejects reports (default: ./rejects)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON summary per file"),
) -> None:
    """Import track files: one transaction per file, idempotent, bad rows in a rejects report."""
    from ..track_import import expand_paths, import_track_file

    m: dict[str, str] = {}
    for item in mapping:
        if "=" not in item:
            fail(f"--map {item!r} is not FIELD=COLUMN")
        k, v = item.split("=", 1)
        m[k.strip()] = v.strip()
    files = expand_paths(paths)
    if not files:
        fail("no track files found in the paths given")
    store = open_store()
    summaries: list[dict[str, Any]] = []
    try:
        with progress(hide=len(files) < 3) as bar:
            task = bar.add_task("importing tracks", total=len(files))
            for f in files:
                summaries.append(
                    import_track_file(
                        store,
                        f,
                        device=device,
                        team=team,
                        date=_date(date, "--date"),
                        mapping=m or None,
                        tz=tz,
                        ambiguous=ambiguous,
                        format=fmt,
                        rejects_dir=rejects,
                    )
                )
                bar.advance(task)
    except PatrolwiseError as exc:
        if not summaries:
            raise
        # the files before the fatal one are imported (one transaction each): say so
        # (stdout only: the error stays the one line on stderr)
        _print_summaries(summaries, as_json, many=True, notes=False)
        names = [Path(s["file"]).name for s in summaries]
        done = ", ".join(names) if len(names) <= 3 else f"{len(names)} files"
        fail(f"{exc} (imported before it: {done}; importing them again adds nothing)")
    _print_summaries(summaries, as_json, many=len(files) > 1)


def _print_summaries(
    summaries: list[dict[str, Any]], as_json: bool, many: bool, notes: bool = True
) -> None:
    if as_json:
        print_json(summaries if many else summaries[0])
        return
    table = Table("file", "format", "read", "imported", "already", "rejected")
    for s in summaries:
        table.add_row(
            Path(s["file"]).name,
            s["format"],
            str(s["rows_read"]),
            str(s["imported"]),
            str(s["already_present"]),
            str(s["rejected"]),
        )
    out.print(table)
    for s in summaries if notes else []:
        for note in s["notes"]:
            console.print(f"{Path(s['file']).name}: {note}", highlight=False)
        if s["rejects_file"]:
            console.print(
                f"{Path(s['file']).name}: rejects in {s['rejects_file']}", highlight=False
            )


@devices_app.command("add")
def add_cmd(
    device_id: str = typer.Argument(
        ..., help="the id the device sends (Traccar identifier, OwnTracks user/device, callsign)"
    ),
    team: str = typer.Option(..., "--team", help="outreach or police"),
    staff: str | None = typer.Option(None, "--staff"),
    active_from: str | None = typer.Option(None, "--from", help="first day in service"),
    active_to: str | None = typer.Option(None, "--to", help="last day in service"),
) -> None:
    """Register a device and print its secret (shown once: only a hash is stored)."""
    from ..store.devices import add_device, check_device_id, check_team

    # ids and teams as stored; printed without Rich markup, since an id such as 'ph[/x]' made
    # the print fail after the device was registered, and its secret was never shown
    device_id, team = check_device_id(device_id), check_team(team)
    secret = add_device(
        open_store(),
        device_id,
        team,
        staff=staff,
        active_from=_date(active_from, "--from"),
        active_to=_date(active_to, "--to"),
    )
    console.print(
        f"device {device_id} registered to {team}; its secret (shown once):",
        highlight=False,
        markup=False,
    )
    out.print(secret, highlight=False, soft_wrap=True, markup=False)


@devices_app.command("secret")
def secret_cmd(device_id: str = typer.Argument(...)) -> None:
    """Issue a new secret for a device (the old one stops working)."""
    from ..store.devices import new_device_secret

    out.print(new_device_secret(open_store(), device_id), highlight=False, soft_wrap=True)


@devices_app.command("assign")
def assign_cmd(
    device_id: str = typer.Argument(...),
    team: str = typer.Option(..., "--team"),
    start: str = typer.Option(..., "--from", help="first local day of the assignment"),
    end: str | None = typer.Option(None, "--to", help="last local day (default: open-ended)"),
    staff: str | None = typer.Option(None, "--staff"),
) -> None:
    """Lend a device to a team / member of staff over dates."""
    from ..store.devices import assign_device

    d0 = _date(start, "--from")
    assert d0 is not None
    assign_device(open_store(), device_id, team, d0, _date(end, "--to"), staff)
    console.print(
        f"device {device_id} assigned to {team} from {start}", highlight=False, markup=False
    )


@devices_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every registered device."""
    from ..store.devices import list_devices

    df = list_devices(open_store(create=True))
    if as_json:
        print_json(df.to_dict(orient="records"))
        return
    table = Table(*df.columns)
    for row in df.itertuples(index=False):
        # Text, not str: a cell is never read as Rich markup ('ph[/x]' crashed the whole list)
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    out.print(table)


@devices_app.command("revoke")
def revoke_cmd(device_id: str = typer.Argument(...)) -> None:
    """Stop a device posting positions (its stored pings stay)."""
    from ..store.devices import revoke_device

    revoke_device(open_store(), device_id)
    console.print(f"device {device_id} revoked", highlight=False, markup=False)


def register(root: typer.Typer) -> None:
    """Attach ``track`` and ``devices`` to the root app."""
    root.add_typer(track_app, name="track")
    root.add_typer(devices_app, name="devices")
