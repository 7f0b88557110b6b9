"""Track import into the store (SQLite and PostgreSQL): transactional, idempotent, with rejects."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.errors import FatalImportError
from patrolwise.store import Store
from patrolwise.store.devices import add_device, assign_device, list_devices
from patrolwise.store.models import ImportBatch
from patrolwise.store.models.tracking import Device, Ping
from patrolwise.store.pings import load_pings
from patrolwise.track_import import import_track_file, import_track_files

CSV = (
    "callsign,time,lat,lon,accuracy\n"
    "{dev},2024-05-01T13:02:00Z,52.6300,-1.1300,5\n"
    "{dev},2024-05-01T13:03:00Z,52.6301,-1.1301,5\n"
    "{dev},2024-05-01T13:04:00Z,52.6302,-1.1302,bad\n"
    "{dev},2024-05-01T23:30:00Z,52.6303,-1.1303,5\n"
)


def count(st: Store, model) -> int:  # type: ignore[no-untyped-def]
    with st.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(model)).scalar_one())


def test_real_files_import_idempotently_with_rejects(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    paths = [shared_data / "gpx", shared_data / "nmea"]
    with Store(store_url) as st:
        first = import_track_files(st, paths, team="outreach", rejects_dir=tmp_path)
        assert len(first) == 8
        for s in first:
            assert s["rows_read"] == s["imported"] + s["already_present"] + s["rejected"]
        by = {Path(s["file"]).name: s for s in first}
        moj = by["gpxpy__Mojstrovka.gpx"]
        assert (moj["rows_read"], moj["imported"], moj["rejected"]) == (184, 0, 184)
        rej = pd.read_csv(moj["rejects_file"])
        assert len(rej) == 184 and rej["reason"].str.contains("implausible time").all()
        nmea = by["gpsbabel__nmeadatetime.nmea"]
        assert (nmea["imported"], nmea["rejected"]) == (16, 3)
        assert "gpsbabel__nmeadatetime" in nmea["registered"]
        total = sum(s["imported"] for s in first)
        assert count(st, Ping) == total == 104 + 296 + 3 + 1 + 2 + 1 + 16
        again = import_track_files(st, paths, team="outreach", rejects_dir=tmp_path)
        assert sum(s["imported"] for s in again) == 0
        dups = sum(s["duplicates_in_file"] for s in first)
        assert dups == 1  # a waypoint and a track point at the same second
        assert sum(s["already_present"] for s in again) == total + dups
        assert count(st, Ping) == total
        with st.engine.connect() as c:
            kinds = c.execute(select(ImportBatch.kind, ImportBatch.rows_read)).all()
        assert len(kinds) == 16 and {k for k, _ in kinds} == {"pings"}
        pings = load_pings(st, devices=["gpsbabel__nmeadatetime"])
        assert pings["t"].iloc[0] == pd.Timestamp("2019-10-23 22:25:07")
        assert (pings["team"] == "outreach").all()
        assert pings["speed"].iloc[0] == pytest.approx(0.013 * 1852 / 3600)


def test_swapped_pings_are_rejected_row_by_row(store_url: str, tmp_path: Path) -> None:
    """The crime import's swapped latitude/longitude rule, against the configured force area:
    the swapped row is a reject naming the swap, the others are imported."""
    p = tmp_path / "sw1.csv"
    p.write_text(
        "callsign,time,lat,lon\n"
        "SW1,2024-05-01T13:02:00Z,52.6300,-1.1300\n"
        "SW1,2024-05-01T13:03:00Z,-1.1301,52.6301\n"
        "SW1,2024-05-01T13:04:00Z,52.6302,-1.1302\n"
    )
    with Store(store_url) as st:
        s = import_track_file(st, p, team="police", rejects_dir=tmp_path)
        assert (s["rows_read"], s["imported"], s["rejected"]) == (3, 2, 1)
        (reason,) = s["reject_reasons"]
        assert "latitude and longitude look swapped" in reason
        rej = pd.read_csv(s["rejects_file"])
        assert list(rej["row"]) == [3] and list(rej["value"]) == ["-1.1301,52.6301"]
        assert list(load_pings(st)["lat"]) == [52.63, 52.6302]


def test_unknown_device_without_team_writes_nothing(store_url: str, tmp_path: Path) -> None:
    p = tmp_path / "pc99.csv"
    p.write_text(CSV.format(dev="PC99"))
    with Store(store_url) as st:
        with pytest.raises(FatalImportError, match="devices add PC99 --team"):
            import_track_file(st, p)
        assert count(st, Ping) == count(st, ImportBatch) == count(st, Device) == 0
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n")
        with pytest.raises(FatalImportError, match="no time"):
            import_track_file(st, bad, team="police")
        assert count(st, ImportBatch) == count(st, Device) == 0


def test_registry_teams_assignments_and_local_day_filter(store_url: str, tmp_path: Path) -> None:
    p = tmp_path / "radio.csv"
    p.write_text(CSV.format(dev="PC1"))
    with Store(store_url) as st:
        secret = add_device(st, "PC1", "police", staff="PC Smith")
        assert secret and len(secret) >= 40
        # lent to outreach on 2 May (local): 23:30 UTC on 1 May is 00:30 BST on 2 May
        assign_device(st, "PC1", "outreach", dt.date(2024, 5, 2), dt.date(2024, 5, 2))
        s = import_track_file(st, p, team="outreach")
        assert s["rows_read"] == 4 and s["imported"] == 3 and s["rejected"] == 1
        assert any("registered to police" in n for n in s["notes"])
        df = load_pings(st)
        assert list(df["team"]) == ["police", "police", "outreach"]
        assert list(df["accuracy"]) == [5.0, 5.0, 5.0]
        day1 = load_pings(st, start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 1))
        assert len(day1) == 2
        day2 = load_pings(st, start=dt.date(2024, 5, 2), end=dt.date(2024, 5, 2), team="outreach")
        assert list(day2["t"]) == [pd.Timestamp("2024-05-01 23:30")]
        utc = load_pings(
            st, start=dt.datetime(2024, 5, 1, 13, 3), end=dt.datetime(2024, 5, 1, 23, 30)
        )
        assert list(utc["t"]) == [pd.Timestamp("2024-05-01 13:03")]


def test_splitting_a_file_in_two_imports_gives_the_same_pings(
    store_url: str, tmp_path: Path
) -> None:
    lines = CSV.format(dev="D1").splitlines()
    whole = tmp_path / "whole.csv"
    whole.write_text("\n".join(lines) + "\n")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("\n".join(lines[:3]) + "\n")
    b.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # overlapping: row 3 twice
    with Store(store_url) as st:
        import_track_files(st, [a, b], team="police")
        split = load_pings(st).drop(columns=["id"])
    url2 = store_url
    with Store(url2) as st:
        s = import_track_file(st, whole, team="police")
        assert s["imported"] == 0 and s["already_present"] == 3
        assert load_pings(st).drop(columns=["id"]).equals(split)


def test_a_folder_of_many_gpx_files_imports_each_as_its_device(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "gpx"
    folder.mkdir()
    for i in range(40):
        pts = "".join(
            f'<trkpt lat="{52.6 + j * 1e-4}" lon="-1.13"><time>2024-05-01T13:{j:02d}:00Z</time></trkpt>'
            for j in range(50)
        )
        (folder / f"outreach-{i:03d}.gpx").write_text(
            f'<gpx version="1.1"><trk><trkseg>{pts}</trkseg></trk></gpx>'
        )
    with Store(sqlite_url) as st:
        out = import_track_files(st, [folder], team="outreach")
        assert len(out) == 40 and sum(s["imported"] for s in out) == 2000
        assert len(list_devices(st)) == 40


def test_cli_import_json_devices_and_fatal_line(sqlite_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    p = tmp_path / "pc7.csv"
    p.write_text(CSV.format(dev="PC7"))
    r = runner.invoke(app, ["--db", sqlite_url, "devices", "add", "PC7", "--team", "police"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "--db",
            sqlite_url,
            "track",
            "import",
            str(p),
            "--json",
            "--rejects",
            str(tmp_path / "rj"),
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert {k: summary[k] for k in ("rows_read", "imported", "already_present", "rejected")} == {
        "rows_read": 4,
        "imported": 3,
        "already_present": 0,
        "rejected": 1,
    }
    assert Path(summary["rejects_file"]).parent == tmp_path / "rj"
    r = runner.invoke(app, ["--db", sqlite_url, "devices", "list", "--json"])
    assert json.loads(r.stdout)[0]["device_id"] == "PC7"
    r = runner.invoke(app, ["--db", sqlite_url, "devices", "revoke", "PC7"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["--db", sqlite_url, "devices", "list", "--json"])
    assert json.loads(r.stdout)[0]["revoked"] is True
    # a fatal error: one line on stderr, exit code 2, nothing written
    q = tmp_path / "nobody.csv"
    q.write_text(CSV.format(dev="X9"))
    env = {**os.environ, "PATROLWISE_DATABASE_URL": sqlite_url}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from patrolwise.cli import main; main()",
            "track",
            "import",
            str(q),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "X9" in proc.stderr


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_row_order_and_repeats_do_not_change_what_is_stored(
    sqlite_template: Path, data: st.DataObject
) -> None:
    """Shuffling a file's rows, repeating some of them or splitting the file stores the same pings."""
    base = pd.DataFrame(
        {
            "callsign": ["A1", "A1", "B2", "B2", "A1", "B2"],
            "time": [f"2024-05-01T13:0{i}:00Z" for i in range(6)],
            "lat": [52.63 + i * 1e-4 for i in range(6)],
            "lon": [-1.13] * 6,
        }
    )
    order = data.draw(st.permutations(range(6)))
    repeats = data.draw(st.lists(st.integers(0, 5), max_size=4))
    cut = data.draw(st.integers(1, 6 + len(repeats)))
    rows = base.iloc[list(order) + repeats].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base.to_csv(folder / "base.csv", index=False)
        rows.iloc[:cut].to_csv(folder / "part1.csv", index=False)
        rows.iloc[cut:].to_csv(folder / "part2.csv", index=False)
        for name in ("a.db", "b.db"):
            shutil.copy(sqlite_template, folder / name)
        with (
            Store(f"sqlite:///{folder / 'a.db'}", create=False) as a,
            Store(f"sqlite:///{folder / 'b.db'}", create=False) as b,
        ):
            want = import_track_files(a, [folder / "base.csv"], team="police")
            got = import_track_files(b, [folder / "part1.csv", folder / "part2.csv"], team="police")
            assert sum(s["imported"] for s in got) == want[0]["imported"] == 6
            assert sum(s["rows_read"] for s in got) == 6 + len(repeats)
            cols = ["device_id", "team", "t", "x", "y", "lon", "lat"]
            assert load_pings(a)[cols].equals(load_pings(b)[cols])


def test_cli_fatal_file_after_good_ones_still_reports_what_was_imported(
    sqlite_url: str, tmp_path: Path
) -> None:
    # found by QA: 'track import a.csv b.csv' where b.csv is fatal committed a.csv but printed
    # only b's error, so the user could not tell that a.csv had been imported
    a, b = tmp_path / "pc7.csv", tmp_path / "x9.csv"
    a.write_text(CSV.format(dev="PC7"))
    b.write_text(CSV.format(dev="X9"))
    with Store(sqlite_url) as st:
        add_device(st, "PC7", "police")
    env = {**os.environ, "PATROLWISE_DATABASE_URL": sqlite_url}
    cmd = [sys.executable, "-c", "from patrolwise.cli import main; main()", "track", "import"]
    rj = ["--rejects", str(tmp_path / "rj")]
    proc = subprocess.run(
        [*cmd, str(a), str(b), "--json", *rj], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.count("\n") == 0 and "X9" in err and "pc7.csv" in err, err
    done = json.loads(proc.stdout)
    assert [s["imported"] for s in done] == [3]
    with Store(sqlite_url) as st:
        assert len(load_pings(st)) == 3
    proc = subprocess.run(
        [*cmd, str(a), str(b), *rj], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2 and "pc7.csv" in proc.stdout


def test_a_rejects_folder_that_cannot_be_written_is_one_fatal_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    # found by QA: --rejects naming a file (or a folder without write permission) ended in a
    # FileExistsError traceback from mkdir. The report is written after the commit, so the line
    # says the pings are in and how to get the report
    src = tmp_path / "OUT-9-2024-05-01.csv"
    src.write_text(CSV.format(dev="OUT-9"))
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    with Store(sqlite_url) as st:
        with pytest.raises(
            FatalImportError,
            match=r"OUT-9-2024-05-01\.csv: imported \(batch \d+, 3 new ping\(s\)\), but its "
            r"rejects report could not be written in .*notes\.txt .*--rejects FOLDER",
        ):
            import_track_file(st, src, team="outreach", rejects_dir=not_a_folder)
        assert count(st, Ping) == 3 and count(st, ImportBatch) == 1 and count(st, Device) == 1
        s = import_track_file(st, src, rejects_dir=tmp_path / "rj")
        assert (s["imported"], s["already_present"], s["rejected"]) == (0, 3, 1)
        assert pd.read_csv(s["rejects_file"])["row"].tolist() == [4]


def test_a_failed_commit_leaves_no_rejects_report(store_url: str, tmp_path: Path) -> None:
    """The rejects report was written inside the file's transaction, before the commit: a commit
    that failed left a report of rejected rows for an import that never happened."""
    from sqlalchemy import event

    src = tmp_path / "OUT-9-2024-05-01.csv"
    src.write_text(CSV.format(dev="OUT-9"))
    rejects = tmp_path / "rej"
    with Store(store_url) as st:

        def refuse(_conn: object) -> None:
            raise RuntimeError("disk full at commit")

        event.listen(st.engine, "commit", refuse)
        with pytest.raises(RuntimeError, match="disk full at commit"):
            import_track_file(st, src, team="outreach", rejects_dir=rejects)
        event.remove(st.engine, "commit", refuse)
        assert not rejects.exists() or list(rejects.iterdir()) == []
        assert count(st, Ping) == 0 and count(st, ImportBatch) == 0 and count(st, Device) == 0
        # committed, the same import writes one report and records it with its batch
        s = import_track_file(st, src, team="outreach", rejects_dir=rejects)
        assert (s["imported"], s["rejected"]) == (3, 1)
        assert [f.name for f in rejects.iterdir()] == [Path(s["rejects_file"]).name]
        rej = pd.read_csv(s["rejects_file"])
        assert list(rej["row"]) == [4] and list(rej["value"]) == ["bad"]
        with st.engine.connect() as c:
            (details,) = c.execute(select(ImportBatch.details)).scalars().all()
        assert details["rejects_file"] == s["rejects_file"]
        assert details["reject_reasons"] == {"accuracy is not a number": 1}
        assert count(st, Ping) == 3 and count(st, ImportBatch) == 1


def test_an_unknown_time_zone_is_one_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    # found by QA: 'track import --tz Europe/Londn' ended in a ZoneInfoNotFoundError traceback
    from patrolwise.errors import InputError

    src = tmp_path / "OUT-9-2024-05-01.csv"
    src.write_text(CSV.format(dev="OUT-9"))
    with Store(sqlite_url) as st:
        with pytest.raises(InputError, match="Europe/Londn"):
            import_track_files(st, [src], team="outreach", tz="Europe/Londn")
        assert count(st, Ping) == 0 and count(st, ImportBatch) == 0


def test_a_bad_team_after_a_good_file_keeps_the_good_file(sqlite_url: str, tmp_path: Path) -> None:
    # found by QA: a team column holding 'traffic' stopped the whole batch with "team 'traffic'
    # is not one of outreach, police", naming neither file nor row, and the good file before it
    # was not imported though the contract says files before a fatal one are
    good = tmp_path / "a.csv"
    good.write_text("callsign,time,lat,lon,team\nPC1,2024-06-03T13:00:00Z,52.63,-1.13,outreach\n")
    bad = tmp_path / "b.csv"
    bad.write_text("callsign,time,lat,lon,team\nPC4,2024-06-03T13:00:00Z,52.63,-1.13,traffic\n")
    with Store(sqlite_url) as st:
        with pytest.raises(FatalImportError, match=r"b\.csv.*row 2.*'traffic'"):
            import_track_files(st, [good, bad], write_rejects=False)
        pings = load_pings(st)
        assert list(pings["device_id"]) == ["PC1"] and count(st, Device) == 1


def test_a_downloaded_copy_of_a_file_names_the_same_device(sqlite_url: str, tmp_path: Path) -> None:
    # found by QA: a browser saves a second download as 'OUT-1-2024-05-01 (1).csv' and Windows
    # a copy as '... - Copy.csv'; the device id taken from that name was 'OUT-1-2024-05-01 (1)',
    # so re-importing the same track registered a new device and counted every minute twice
    from patrolwise.track_import import device_from_name

    for stem in ("OUT-1-2024-05-01 (1)", "OUT-1-2024-05-01 - Copy", "OUT-1 (2)", "OUT-1_copy"):
        assert device_from_name(stem) == "OUT-1", stem
    body = "time,lat,lon\n2024-05-01T13:02:00Z,52.63,-1.13\n"
    (tmp_path / "OUT-1-2024-05-01.csv").write_text(body)
    (tmp_path / "OUT-1-2024-05-01 (1).csv").write_text(body)
    with Store(sqlite_url) as st:
        a, b = import_track_files(st, [tmp_path], team="outreach", write_rejects=False)
        assert (a["imported"], b["imported"], b["already_present"]) == (1, 0, 1)
        assert count(st, Device) == 1


def test_hidden_files_in_a_folder_are_not_tracks(sqlite_url: str, tmp_path: Path) -> None:
    # found by QA: a folder copied from a Mac holds '._OUT-1-2024-05-01.csv' (AppleDouble
    # metadata, binary) beside each file; it sorts first, was read as a track and, being
    # unreadable, stopped the import of the whole folder before anything was stored
    (tmp_path / "OUT-1-2024-05-01.csv").write_text(
        "time,lat,lon\n2024-05-01T13:02:00Z,52.63,-1.13\n"
    )
    (tmp_path / "._OUT-1-2024-05-01.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (tmp_path / ".hidden.gpx").write_text("not a track")
    with Store(sqlite_url) as st:
        (only,) = import_track_files(st, [tmp_path], team="outreach", write_rejects=False)
        assert Path(only["file"]).name == "OUT-1-2024-05-01.csv" and only["imported"] == 1


def test_two_files_of_one_name_keep_their_own_rejects_reports(
    sqlite_url: str, tmp_path: Path
) -> None:
    # found by QA: reports were named after the file alone, so OUT-1.csv from two days' folders
    # imported in one run wrote one report, the second overwriting the first, and the first
    # summary pointed at the second file's rejected rows
    paths = []
    for day, bad in (("d1", "abc"), ("d2", "xyz")):
        (tmp_path / day).mkdir()
        p = tmp_path / day / "OUT-1.csv"
        p.write_text(
            f"time,lat,lon\n2024-05-0{day[1]}T13:02:00Z,52.63,-1.13\n2024-05-01T13:03:00Z,{bad},-1.13\n"
        )
        paths.append(p)
    with Store(sqlite_url) as st:
        a, b = import_track_files(st, paths, team="outreach", rejects_dir=tmp_path / "rej")
    assert a["rejects_file"] != b["rejects_file"]
    assert pd.read_csv(a["rejects_file"])["value"].tolist() == ["abc"]
    assert pd.read_csv(b["rejects_file"])["value"].tolist() == ["xyz"]


def test_a_device_id_the_registry_refuses_is_one_rejected_row(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A callsign cell holding a tab or a line break (a damaged export) is that row's reject,
    naming the device field; the file's other rows import. It stopped the whole file when the
    devices were registered."""
    p = tmp_path / "radio.csv"
    p.write_text(
        "callsign,time,lat,lon\n"
        "R1,2024-05-01T13:02:00Z,52.6300,-1.1300\n"
        '"R\t2",2024-05-01T13:03:00Z,52.6301,-1.1301\n'
        '"R\n3",2024-05-01T13:04:00Z,52.6302,-1.1302\n'
        "R1,2024-05-01T13:05:00Z,52.6303,-1.1303\n"
    )
    with Store(sqlite_url) as st:
        s = import_track_file(st, p, team="police", rejects_dir=tmp_path)
        assert (s["rows_read"], s["imported"], s["rejected"]) == (4, 2, 2)
        rej = pd.read_csv(s["rejects_file"])
        assert list(rej["row"]) == [3, 4] and set(rej["field"]) == {"device"}  # file lines
        assert all("control character" in r for r in rej["reason"])
        assert set(load_pings(st)["device_id"]) == {"R1"}


def test_a_truncated_gpx_imports_its_complete_points(sqlite_url: str, tmp_path: Path) -> None:
    # a tracker whose battery died mid-write: the file stopped inside a point and was refused
    # whole, so the patrol was lost. Its complete points are imported and the end is a reject
    # in the report; a file that is not GPX at all is still fatal and writes nothing
    points = "".join(
        f'<trkpt lat="52.63{i}" lon="-1.13"><time>2024-05-01T13:0{i}:00Z</time></trkpt>\n'
        for i in range(5)
    )
    text = '<?xml version="1.0"?>\n<gpx version="1.1" creator="t"><trk><trkseg>\n' + points
    cut = tmp_path / "OR07-2024-05-01.gpx"
    cut.write_text(text[: text.rindex("<time>") + 10])  # inside the fifth point
    not_gpx = tmp_path / "OR08-2024-05-01.gpx"
    not_gpx.write_text("<html><body>502 Bad Gateway")
    with Store(sqlite_url) as st:
        s = import_track_file(st, cut, team="outreach", rejects_dir=tmp_path / "rj")
        assert (s["rows_read"], s["imported"], s["rejected"]) == (5, 4, 1)
        assert s["rows_read"] == s["imported"] + s["already_present"] + s["rejected"]
        (reason,) = s["reject_reasons"]
        assert reason.startswith("file truncated: it ends inside point 5")
        rej = pd.read_csv(s["rejects_file"])
        assert list(rej["row"]) == [5] and list(rej["field"]) == ["file"]
        pings = load_pings(st, devices=["OR07"])
        assert list(pings["t"]) == [pd.Timestamp(f"2024-05-01 13:0{i}") for i in range(4)]
        with pytest.raises(FatalImportError, match="not <gpx>"):
            import_track_file(st, not_gpx, team="outreach", rejects_dir=tmp_path / "rj")
        assert count(st, Ping) == 4 and count(st, ImportBatch) == 1
        assert "OR08" not in set(list_devices(st)["device_id"])


def test_cli_ambiguous_option_settles_the_repeated_october_hour(
    sqlite_url: str, tmp_path: Path
) -> None:
    # found by QA: the second file of one night, holding only the hour repeated when the clocks
    # go back, was imported an hour early (as summer time) without a word
    from patrolwise.errors import InputError

    runner = CliRunner()
    p = tmp_path / "PC1-part2.csv"
    rows = [f"PC1,2024-10-27 01:{m:02d}:00,52.63,-1.13" for m in range(0, 60, 10)]
    p.write_text("callsign,time,lat,lon\n" + "\n".join(rows) + "\n")
    base = ["--db", sqlite_url, "track", "import", str(p), "--team", "police", "--json"]
    r = runner.invoke(app, [*base, "--tz", "Europe/London", "--rejects", str(tmp_path / "rj")])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert (s["imported"], s["rejected"]) == (0, 6)
    (reason,) = s["reject_reasons"]
    assert "--ambiguous earlier" in reason and "--ambiguous later" in reason
    r = runner.invoke(app, [*base, "--tz", "Europe/London", "--ambiguous", "later"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["imported"] == 6
    with Store(sqlite_url) as st:
        got = load_pings(st)["t"].tolist()
    assert got == list(pd.date_range("2024-10-27 01:00", "2024-10-27 01:50", freq="10min"))
    r = runner.invoke(app, [*base, "--tz", "Europe/London", "--ambiguous", "both"])
    assert isinstance(r.exception, InputError) and "--ambiguous 'both'" in str(r.exception)
