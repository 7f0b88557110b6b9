"""Import GPS track files into the store: GPX, NMEA, CSV (radio / telematics exports) and GeoJSON.

Same contract as the crime import: one transaction per file (a fatal error writes nothing from that
file, not even its import batch or a device registration), idempotent (re-importing a file adds
nothing: ``(device_id, t)`` is unique), bad rows rejected one by one with row, field and reason in
a rejects CSV, and a summary per file where ``rows_read == imported + already_present + rejected``.

Positions get the crime import's swapped latitude/longitude rule: with a force area configured
(``force_bbox``, on by default), a fix outside it that would be inside it with latitude and
longitude exchanged is rejected naming the swap (see :func:`patrolwise.io.tracks.finish_points`);
a fix that is merely outside the area is kept, as tracks may cross force borders.

Which device: ``device`` if given, else the file's device / callsign column, else the file name
without its extension and any trailing date (``OR03-2024-05-01.gpx`` is device ``OR03``). Which team: the device registry (with its dated assignments); a device not
yet registered is registered on the fly when a team is known (``team`` or a team column), and the
summary says so; otherwise the file is refused with the command that fixes it.

Speed: files are parsed one by one but checked, projected and converted together in chunks, so
the fixed cost per file is a handful of statements (hundreds of small GPX files a second).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, update

from .config import get_settings
from .errors import FatalImportError, InputError, PatrolwiseError
from .io.rejects_report import write_report
from .io.tracks import (
    REJECT_COLUMNS,
    RawTrack,
    check_ambiguous,
    check_zone,
    finish_points,
    read_raw_track,
)
from .store.db import Store, utcnow
from .store.devices import check_device_id, check_team, device_teams, ensure_devices
from .store.models import ImportBatch
from .store.pings import insert_prepared, prepare_rows, sqlite_params

TRACK_SUFFIXES = {".gpx", ".nmea", ".nma", ".csv", ".tsv", ".geojson", ".json", ".txt", ".log"}
CHUNK = 256  # files checked together


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders become their track files (sorted, not recursive).

    Hidden files in a folder are left out: a folder copied from a Mac holds an AppleDouble
    '._NAME.gpx' beside each file, binary, which sorted first and, unreadable, stopped the
    import of the whole folder. A hidden file named on its own is still read.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                sorted(
                    f
                    for f in p.iterdir()
                    if f.is_file()
                    and not f.name.startswith(".")
                    and f.suffix.lower() in TRACK_SUFFIXES
                    and ".rejects" not in f.name
                )
            )
        else:
            out.append(p)
    return out


_DATED = re.compile(r"^(.*?)[-_ .]*\d{4}-?\d{2}-?\d{2}(?:[T_ -]?\d{4,6})?$")


#: what browsers and file managers add to a second copy: ' (1)', ' - Copy', '_copy', ' copy 2'
_COPY = re.compile(
    r"(?:\s*\(\d+\)|\s*-\s*copy(?:\s*\(\d+\))?|[_ ]copy(?:[_ ]?\d+)?)$", re.IGNORECASE
)


def device_from_name(stem: str) -> str:
    """A device id from a file name: the name without a trailing date (and time), so
    'OR03-2024-05-01.gpx' and 'OR03_20240501_1402.gpx' both belong to device 'OR03'.

    A copy's suffix goes first ('OR03-2024-05-01 (1).gpx', '... - Copy.gpx'): a track
    downloaded twice otherwise named a new device, and importing it again counted every
    minute twice instead of finding its pings already present.
    """
    base = _COPY.sub("", stem) or stem
    m = _DATED.match(base)
    return m.group(1) if m and m.group(1) else base


def apply_assignments(pings: pd.DataFrame, assigns: pd.DataFrame, tz: str) -> pd.Series:
    """Each ping's team (``pings``: device_id, t naive UTC, team) with the device's dated
    assignments (``assigns``: device_id, team, start, end; local days, inclusive; later rows
    win) laid over it.

    Shared by the import and by dosage, which applies the registry again when it measures: a
    loan recorded after its pings arrived (as the import's note advises) must still move them.
    Only the pings of assigned devices are looked at, so a year of pings costs one pass.
    """
    team = pings["team"].copy()
    if not len(assigns) or pings.empty:
        return team
    from .timeutil import local_days

    dev = pings["device_id"].to_numpy(dtype=object)
    lent = np.flatnonzero(pd.Series(dev).isin(set(assigns["device_id"])).to_numpy())
    if not len(lent):
        return team
    days = local_days(pings["t"].iloc[lent], tz).to_numpy()
    sub_dev = dev[lent]
    sub_team = team.to_numpy(dtype=object)[lent]
    for asg in assigns.itertuples(index=False):
        m = (sub_dev == asg.device_id) & (days >= asg.start)
        if isinstance(asg.end, dt.date):  # None (or NaT): open-ended
            m &= days <= asg.end
        sub_team[m] = str(asg.team)
    out = team.to_numpy(dtype=object)
    out[lent] = sub_team
    return pd.Series(out, index=pings.index, dtype=object)


def _write_rejects(
    store: Store, summary: dict[str, Any], rej: pd.DataFrame, src: Path, rejects_dir: Path | None
) -> None:
    """Write a committed file's rejects report (:func:`patrolwise.io.rejects_report.write_report`,
    in ``rejects_dir``, else ./rejects: never beside the input, as input folders are often shared
    or read-only, and are evidence) and record its path with the file's import batch.

    Called once the file's transaction has committed: written inside it, a commit that then
    failed left a report of rejected rows for an import that never happened. The rows are in by
    now, so a report that cannot be written (the folder is a file, or not writable) is one line
    saying so, and that importing the file again (which adds nothing) writes the report.
    """
    table = rej.assign(file=str(src))[["file", *REJECT_COLUMNS]]
    where = rejects_dir if rejects_dir is not None else Path.cwd() / "rejects"
    try:
        summary["rejects_file"] = str(write_report(table, where, src.stem))
    except OSError as exc:
        raise FatalImportError(
            str(src),
            f"imported (batch {summary['batch_id']}, {summary['imported']:,} new ping(s)), but "
            f"its rejects report could not be written in {where} ({exc.strerror or exc}): "
            "import it again with --rejects FOLDER naming a folder you can write to (nothing is "
            "added twice)",
        ) from exc
    with store.engine.begin() as conn:
        conn.execute(
            update(ImportBatch)
            .where(ImportBatch.id == summary["batch_id"])
            .values(details=_details(summary))
        )


def _details(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``import_batches.details`` records of a file's import."""
    keep = ("format", "devices", "registered", "reject_reasons", "notes", "rejects_file")
    return {k: summary[k] for k in keep} | {
        "first": str(summary["first"]),
        "last": str(summary["last"]),
    }


def import_track_file(store: Store, path: str | Path, **kw: Any) -> dict[str, Any]:
    """Import one track file in one transaction; returns its summary (see module docstring)."""
    return import_track_files(store, [path], **kw)[0]


def import_track_files(
    store: Store,
    paths: Iterable[str | Path],
    *,
    device: str | None = None,
    team: str | None = None,
    date: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    tz: str | None = None,
    ambiguous: str | None = None,
    format: str | None = None,
    rejects_dir: str | Path | None = None,
    write_rejects: bool = True,
    now: dt.datetime | None = None,
    progress: Callable[[Path], None] | None = None,
) -> list[dict[str, Any]]:
    """Import many files (folders expand to their track files), one transaction each.

    Stops at the first fatal error (raised): files before it are imported, that file and the
    ones after it write nothing. A rejects report that cannot be written stops the run just
    after its file is imported (the error says so).
    """
    if device is not None:
        device = check_device_id(device)
    if team is not None:
        team = check_team(team)
    tz = check_zone(tz)  # before any file: an unknown zone must not import half the files
    ambiguous = check_ambiguous(ambiguous, tz)
    files = expand_paths(paths)
    out: list[dict[str, Any]] = []
    for i in range(0, len(files), CHUNK):
        out += _import_chunk(
            store,
            files[i : i + CHUNK],
            device=device,
            team=team,
            read_kw={
                "format": format,
                "mapping": mapping,
                "date": date,
                "tz": tz,
                "ambiguous": ambiguous,
            },
            rejects_dir=Path(rejects_dir) if rejects_dir else None,
            write_rejects=write_rejects,
            now=now,
            progress=progress,
        )
    return out


def _import_chunk(
    store: Store,
    files: list[Path],
    *,
    device: str | None,
    team: str | None,
    read_kw: dict[str, Any],
    rejects_dir: Path | None,
    write_rejects: bool,
    now: dt.datetime | None,
    progress: Callable[[Path], None] | None,
) -> list[dict[str, Any]]:
    settings = get_settings()
    started = utcnow()
    pending: PatrolwiseError | None = None
    reads: list[RawTrack] = []
    for f in files:
        try:
            reads.append(read_raw_track(f, **read_kw))
        except PatrolwiseError as exc:
            pending = exc  # import the files before this one, then raise
            break
    n = len(reads)
    raws = [r.raw.assign(_f=k) for k, r in enumerate(reads)]
    rejs = [r.rejects.assign(_f=k) for k, r in enumerate(reads)]
    raw = pd.concat(raws, ignore_index=True) if raws else pd.DataFrame({"_f": []})
    rej = pd.concat(rejs, ignore_index=True) if rejs else pd.DataFrame({"_f": []})
    pts, rejects = finish_points(
        raw, rej, path="", crs=settings.crs, now=now, bbox=settings.force_bbox
    )
    fidx = pts["_f"].to_numpy(dtype=np.int64)

    # devices: --device, else the file's column, else the file name
    stems = np.array([device_from_name(Path(r.path).stem) for r in reads] or [""], dtype=object)
    if device is not None:
        pts["device_id"] = device
        from_name = np.zeros(len(pts), dtype=bool)
    else:
        col = pts["device"].to_numpy(dtype=object, copy=True)
        from_name = pd.isna(col)
        col[from_name] = stems[fidx[from_name]]
        pts["device_id"] = col.astype(str)
    # the team each device would be registered with: --team, else the file's team column
    wanted: dict[str, str | None] = dict.fromkeys(pts["device_id"].unique().tolist(), team)
    # the first file with a team that is neither outreach nor police is fatal, naming the row
    # (files before it still import, as for any fatal file)
    fatal: list[tuple[int, FatalImportError]] = []
    if team is None and pts["team"].notna().any():
        first = pts.dropna(subset=["team"]).drop_duplicates("device_id")
        for d, t, k, row in zip(
            first["device_id"], first["team"], first["_f"], first["row"], strict=True
        ):
            try:
                wanted[d] = check_team(str(t))
            except InputError as exc:
                fatal.append(
                    (
                        int(k),
                        FatalImportError(
                            reads[int(k)].path,
                            f"row {row}: {exc}: fix the team column or pass --team",
                        ),
                    )
                )
    with store.engine.connect() as conn:
        known, assigns = device_teams(conn, list(wanted))
    # the first file with a device nobody can place in a team is fatal
    orphans = {d for d, t in wanted.items() if d not in known and t is None}
    if orphans:
        bad = pts["device_id"].isin(orphans).to_numpy()
        k = int(fidx[bad].min())
        d0 = str(pts.loc[bad & (fidx == k), "device_id"].iloc[0])
        fatal.append(
            (
                k,
                FatalImportError(
                    reads[k].path,
                    f"device {d0!r} is not registered and no team is known for it: run "
                    f"`patrolwise devices add {d0} --team outreach|police` or pass --team",
                ),
            )
        )
    if fatal:
        n, pending = min(fatal, key=lambda kv: kv[0])
    # team per ping: registry (with dated assignments) or the team it will be registered with
    default = {d: known.get(d) or wanted[d] for d in wanted}
    pts["team"] = pts["device_id"].map(default)
    pts["team"] = apply_assignments(pts, assigns, settings.timezone)
    dup = pts.duplicated(["_f", "device_id", "t"], keep="first").to_numpy()
    fmts = np.array([r.format for r in reads] or ["csv"], dtype=object)
    rows = prepare_rows(pts, pd.Series(fmts[fidx], dtype=object))
    params = sqlite_params(rows) if store.dialect == "sqlite" else None
    dev_arr = pts["device_id"].to_numpy(dtype=object)
    t_arr = pts["t"].to_numpy()
    reasons = rejects["reason"].to_numpy(dtype=object)
    # positions of each file's rows (pts are ordered by file already)
    bounds = np.searchsorted(fidx, np.arange(n + 1))
    rbounds = np.searchsorted(rejects["_f"].to_numpy(dtype=np.int64), np.arange(n + 1))

    out: list[dict[str, Any]] = []
    for k in range(n):
        r = reads[k]
        src = Path(r.path)
        a, b = int(bounds[k]), int(bounds[k + 1])
        ra, rb = int(rbounds[k]), int(rbounds[k + 1])
        fdup = dup[a:b]
        n_pts, n_rej = b - a, rb - ra
        devs = sorted(set(dev_arr[a:b]))
        notes = list(r.notes)
        if n_pts and from_name[a:b].any():
            notes.append(f"device id taken from the file name: {stems[k]!r}")
        for d in devs:
            t = wanted[d]
            if d in known and t is not None and known[d] != t:
                notes.append(
                    f"device {d!r} is registered to {known[d]}: its pings count for "
                    f"{known[d]}, not {t} (use `patrolwise devices assign` to lend it to {t})"
                )
        rows_read = n_pts + n_rej
        with store.engine.begin() as conn:
            registered = ensure_devices(conn, {d: str(wanted[d]) for d in devs if d not in known})
            known.update({d: str(wanted[d]) for d in registered})
            if registered:
                notes.append(f"registered new device(s) {', '.join(registered)} (no secret issued)")
            batch_id: int = conn.execute(
                insert(ImportBatch).values(
                    kind="pings",
                    source=str(src),
                    sha256=hashlib.sha256(src.read_bytes()).hexdigest(),
                    started_at=started,
                    rows_read=rows_read,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            keep_rows = np.flatnonzero(~fdup) + a
            imported = insert_prepared(
                conn,
                rows.iloc[keep_rows] if params is None else rows.iloc[a:b],
                batch_id=batch_id,
                params=None if params is None else [params[i] for i in keep_rows],
            )
            already = n_pts - imported
            summary: dict[str, Any] = {
                "file": str(src),
                "format": r.format,
                "rows_read": rows_read,
                "imported": imported,
                "already_present": already,
                "rejected": n_rej,
                "duplicates_in_file": int(fdup.sum()),
                "devices": devs,
                "registered": registered,
                "first": pd.Timestamp(t_arr[a:b].min()) if n_pts else None,
                "last": pd.Timestamp(t_arr[a:b].max()) if n_pts else None,
                "batch_id": batch_id,
                "rejects_file": None,
                "reject_reasons": dict(Counter(reasons[ra:rb].tolist())),
                "notes": notes,
                "details": r.details,
            }
            conn.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch_id)
                .values(
                    finished_at=utcnow(),
                    imported=imported,
                    already_present=already,
                    rejected=n_rej,
                    details=_details(summary),
                )
            )
        # the report only once the file's rows are committed (see _write_rejects)
        if n_rej and write_rejects:
            _write_rejects(store, summary, rejects.iloc[ra:rb], src, rejects_dir)
        out.append(summary)
        if progress is not None:
            progress(src)
    if pending is not None:
        raise pending
    return out
