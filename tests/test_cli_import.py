"""The import commands as a user runs them: JSON summary, one-line fatal errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patrolwise.store import Store
from patrolwise.store.crimes import load_crimes


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_json_then_reimport_and_fatal_line(tmp_path: Path, shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    f = shared_data / "police-uk" / "2022-08-leicestershire-street.csv"
    r = run("--db", db, "import", "crimes", str(f), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"] == {
        "rows_read": 10_373,
        "imported": 10_373,
        "already_present": 0,
        "rejected": 0,
        "unmappable": doc["totals"]["unmappable"],
    }
    assert doc["totals"]["unmappable"] > 0
    r2 = run("--db", db, "import", "crimes", str(f), "--json", cwd=tmp_path)
    again = json.loads(r2.stdout)["totals"]
    assert again["already_present"] == 10_373
    assert again["unmappable"] == 0  # nothing imported, so nothing new without a location
    bad = tmp_path / "bad.csv"
    bad.write_text("Month,Falls within,Crime ID\n2022-08,x,y\n")
    r3 = run("--db", db, "import", "crimes", str(bad), cwd=tmp_path)
    assert r3.returncode == 2
    lines = [ln for ln in r3.stderr.splitlines() if ln.strip()]
    assert (
        len(lines) == 1 and "bad.csv: missing column(s) Longitude, Latitude, Crime type" in lines[0]
    )
    with Store(db) as store:
        assert len(load_crimes(store)) == 10_373
    r4 = run("--db", db, "crimes", "list", "--limit", "2", cwd=tmp_path)
    assert r4.returncode == 0 and "2022-08" in r4.stdout


def test_import_harm_names_overlong_rows(store_url: str, tmp_path: Path) -> None:
    """On PostgreSQL an over-long key printed a raw database traceback; on both back ends the
    command now stores the usable keys and says which row it left out and why."""
    t = tmp_path / "harm.csv"
    t.write_text(f"Offence,days\nTheft,5\n{'x' * 301},10\n")
    r = run(
        "--db",
        store_url,
        "import",
        "harm",
        str(t),
        "--name",
        "ons",
        "--version",
        "1",
        "--key-column",
        "Offence",
        "--harm-column",
        "days",
        "--key-kind",
        "description",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "harm table ons 1: 1 keys stored" in r.stderr
    assert "1 row(s) left out" in r.stderr
    assert "row 3, Offence: key is 301 characters, longer than 300" in r.stderr
    assert "Traceback" not in r.stderr


def test_import_harm_reads_a_european_excel_csv(tmp_path: Path) -> None:
    """'patrolwise import harm' read a CSV with a fixed comma: European Excel's
    'code;offence;harm' with '365,5' was refused for a missing column; it is read as crime
    files are (separator sniffed, decimal comma after ';'), and a crime takes its value."""
    from patrolwise.store.crime_import import import_crimes
    from patrolwise.store.harm_tables import default_table_id, load_table

    db = f"sqlite:///{tmp_path / 'h.db'}"
    t = tmp_path / "cchi.csv"
    t.write_text("code;offence;harm\r\n8N;Assault with injury;365,5\r\n105A;Common assault;10\r\n")
    r = run(
        "--db",
        db,
        "import",
        "harm",
        str(t),
        "--name",
        "cchi",
        "--version",
        "2026",
        "--key-column",
        "code",
        "--harm-column",
        "harm",
        "--default",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "harm table cchi 2026: 2 keys stored" in r.stderr
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,offence,ho_code,lat,lon\nA,2023-07-01 14:30,Assault,8N,52.63,-1.13\n"
    )
    with Store(db) as store:
        table = load_table(store, default_table_id(store))
        assert dict(zip(table.values["key"], table.values["harm"], strict=True)) == {
            "8N": 365.5,
            "105A": 10.0,
        }
        import_crimes(store, [inc], rejects_dir=tmp_path)
        assert load_crimes(store)["harm"].tolist() == [365.5]


def test_plan_commands_refuse_missing_plans_and_inactive_hot_spots(tmp_path: Path) -> None:
    """`plan check` on plan ids that do not exist is an error, not 'no conflicts'."""
    import geopandas as gpd
    from shapely.geometry import Point

    from patrolwise.store.areas import add_areas

    db = f"sqlite:///{tmp_path / 'p.db'}"
    r = run("--db", db, "plan", "check", "1", "2", cwd=tmp_path)
    assert r.returncode == 2 and "no plan with id 1" in r.stderr
    import datetime as dt

    with Store(db) as store:
        add_areas(
            store,
            gpd.GeoDataFrame(
                {"name": ["Clock Tower"]},
                geometry=[Point(458600, 304300).buffer(50)],
                crs="EPSG:27700",
            ),
            active_from=dt.date(2024, 1, 1),
        )
    r = run(
        "--db",
        db,
        "plan",
        "make",
        "--team",
        "outreach",
        "--from",
        "2023-02-06",
        "--to",
        "2023-02-12",
        cwd=tmp_path,
    )
    assert r.returncode == 2
    assert (
        "no hot spot is active between 2023-02-06 and 2023-02-12 (1 stored, active 2024-01-01 to open)"
        in r.stderr
    )
    r = run(
        "--db",
        db,
        "plan",
        "make",
        "--team",
        "outreach",
        "--from",
        "2024-02-05",
        "--to",
        "2024-02-06",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr


def test_crimes_list_shows_a_missing_location_as_blank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extract with no location column: the listing leaves the cell empty, not 'nan'."""
    monkeypatch.setenv("COLUMNS", "200")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    f = tmp_path / "inc.csv"
    f.write_text("id,occurred,offence,lat,lon\nX1,2023-07-01 14:30,Assault,52.63,-1.13\n")
    g = tmp_path / "located.csv"
    g.write_text(
        "id,occurred,offence,lat,lon,street\nX2,2023-07-01 15:30,Assault,52.63,-1.13,High St\n"
    )
    assert run("--db", db, "import", "crimes", str(f), str(g), cwd=tmp_path).returncode == 0
    r = run("--db", db, "crimes", "list", cwd=tmp_path)
    assert r.returncode == 0 and "2023-07-01 14:30 BST" in r.stdout
    assert "nan" not in r.stdout
