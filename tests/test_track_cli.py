"""``patrolwise dosage`` and ``patrolwise dosage daily`` on a small store."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.errors import PatrolwiseError
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.devices import ensure_devices
from patrolwise.store.pings import insert_pings
from patrolwise.store.visits import load_visits


def _leg(dev: str, team: str, a: str, b: str, x: float) -> pd.DataFrame:
    t = pd.date_range(a, b, freq="30s")
    lon, lat = -1.13, 52.63
    return pd.DataFrame(
        {"device_id": dev, "team": team, "t": t, "x": x, "y": 50.0, "lon": lon, "lat": lat}
    )


def _setup(url: str) -> None:
    pings = pd.concat(
        [
            _leg("OUT-1", "outreach", "2024-06-03 13:00", "2024-06-03 13:40", 50.0),
            _leg("POL-1", "police", "2024-06-03 13:05", "2024-06-03 13:45", 50.0),
            _leg("POL-1", "police", "2024-06-03 14:00", "2024-06-03 14:20", 1050.0),
            _leg("OUT-1", "outreach", "2024-06-04 13:00", "2024-06-04 13:30", 1050.0),
        ],
        ignore_index=True,
    )
    with Store(url) as st:
        add_areas(
            st,
            gpd.GeoDataFrame(
                {"name": ["Market", "Station"]},
                geometry=[shapely.box(0, 0, 100, 100), shapely.box(1000, 0, 1100, 100)],
                crs="EPSG:27700",
            ),
        )
        with st.engine.begin() as conn:
            ensure_devices(conn, {"OUT-1": "outreach", "POL-1": "police"})
            insert_pings(conn, pings, source="test")


def test_dosage_command_stores_visits_and_writes_panel(sqlite_url: str, tmp_path: Path) -> None:
    _setup(sqlite_url)
    out = tmp_path / "panel.csv"
    r = CliRunner().invoke(
        app,
        [
            "--db",
            sqlite_url,
            "dosage",
            "--from",
            "2024-06-03",
            "--to",
            "2024-06-04",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["visits"] == 4
    panel = pd.read_csv(out)
    market = panel[panel["name"] == "Market"].set_index("team")
    assert market.loc["outreach", "patrol_minutes"] == 40.0
    assert market.loc["police", "patrol_minutes"] == 40.0
    # first and last fixes in the force's zone, offset shown (stored 13:00 UTC is 14:00 BST)
    assert market.loc["outreach", "first"] == "2024-06-03 14:00:00+01:00"
    assert market.loc["outreach", "last"] == "2024-06-03 14:40:00+01:00"
    with Store(sqlite_url) as st:
        v = load_visits(st)
    assert len(v) == 4 and v["minutes"].sum() == 40 + 40 + 20 + 30
    # the drive-through limit is a parameter: at 25 minutes the 20-minute visit goes
    r2 = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--min-visit", "25", "--json"])
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["visits"] == 3


def test_daily_summary_command(sqlite_url: str) -> None:
    _setup(sqlite_url)
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-03", "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert len(s["breaches"]) == 1 and s["breaches"][0]["overlap_minutes"] == 35.0
    by = {(x["name"], x["team"]): x for x in s["by_hotspot"]}
    assert by[("Station", "police")]["patrol_minutes"] == 20.0
    table = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-03"])
    assert table.exit_code == 0 and "Never-together breaches" in table.stdout


def test_bad_option_is_one_clear_error(sqlite_url: str) -> None:
    _setup(sqlite_url)
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--out", "x.txt"])
    assert r.exit_code != 0


def test_rerun_without_dates_replaces_every_measured_day(sqlite_url: str) -> None:
    # found by QA: a rerun with stricter rules replaced only the days that still had visits, so
    # days whose visits all dropped out kept the old run's visits (two rule sets mixed)
    _setup(sqlite_url)
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage"])
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        assert len(load_visits(st)) == 4
    # 35 minutes minimum: only the two 40-minute Market visits of 3 June remain
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--min-visit", "35"])
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        v = load_visits(st)
    assert sorted(v["minutes"]) == [40.0, 40.0]
    assert v["run_id"].nunique() == 1
    # no visit at all under the new rules: nothing of the old runs is left either
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--min-visit", "999"])
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        assert len(load_visits(st)) == 0


def test_bad_dosage_options_are_one_line_and_store_nothing(sqlite_url: str, tmp_path: Path) -> None:
    # found by QA: these gave a traceback (--max-gap inf, --out into a missing folder, after the
    # run was already stored), a wrong reason (--buffer nan) or a silent empty answer (--from
    # after --to)
    _setup(sqlite_url)
    cases = [
        (["--max-gap", "inf"], "--max-gap"),
        (["--buffer", "nan"], "--buffer"),
        (["--min-visit", "nan"], "--min-visit"),
        (["--out", str(tmp_path / "no" / "such" / "panel.csv")], "folder"),
        (["--from", "2024-06-04", "--to", "2024-06-03"], "--from"),
    ]
    for args, word in cases:
        r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", *args])
        # a PatrolwiseError is what main() prints as one line with exit code 2
        assert isinstance(r.exception, PatrolwiseError), (args, repr(r.exception))
        assert word in str(r.exception), (args, str(r.exception))
    with Store(sqlite_url) as st:
        assert len(load_visits(st)) == 0


def test_daily_distance_must_be_a_number(sqlite_url: str) -> None:
    # found by QA: --distance nan silently switched the distance rule off (NaN > 0 is False)
    _setup(sqlite_url)
    for bad in ("nan", "-5", "inf"):
        r = CliRunner().invoke(
            app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-03", "--distance", bad]
        )
        assert isinstance(r.exception, PatrolwiseError), (bad, repr(r.exception))
        assert "--distance" in str(r.exception)


def test_daily_on_a_planned_day_without_any_fix_says_missed_and_unknown(sqlite_url: str) -> None:
    # found by QA: the morning after a day when every tracker was flat, 'dosage daily' stopped
    # with "no pings stored for those dates" instead of showing the planned patrols as missed
    # and their minutes as unknown (not absent: nobody was being tracked)
    from patrolwise.store.areas import load_areas
    from patrolwise.store.plans import save_plan

    _setup(sqlite_url)
    with Store(sqlite_url) as st:
        market = int(load_areas(st, "hotspot").set_index("name").loc["Market", "area_id"])
        plan = pd.DataFrame(
            {
                "team": ["police"],
                "area_id": [market],
                "date": [pd.Timestamp("2024-06-10")],
                "start": [pd.Timestamp("2024-06-10 13:00")],
                "end": [pd.Timestamp("2024-06-10 13:15")],
                "order": [0],
            }
        )
        save_plan(st, "police", 1, {}, plan)
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-10", "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["by_hotspot"] == [] and s["breaches"] == []
    (slot,) = s["compliance"]
    assert slot["status"] == "missed" and slot["abstracted_minutes"] == 15.0
    assert slot["unknown_minutes"] == 15.0 and slot["absent_minutes"] == 0.0
    table = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-10"])
    assert table.exit_code == 0, table.output
    assert "missed" in table.stdout


def test_parquet_panel_of_a_day_without_visits_keeps_its_column_types(
    sqlite_url: str, tmp_path: Path
) -> None:
    # found by QA: an empty panel was written with every column of Arrow type null, so a folder
    # of daily exports with one quiet day could not be read back as one dataset
    # (ArrowNotImplementedError: Unsupported cast from date32[day] to null)
    import pyarrow.parquet as pq

    _setup(sqlite_url)
    days = tmp_path / "panels"
    days.mkdir()
    for name, extra in (("a-quiet.parquet", ["--min-visit", "999"]), ("b.parquet", [])):
        r = CliRunner().invoke(
            app,
            ["--db", sqlite_url, "dosage", "--from", "2024-06-03", "--to", "2024-06-03"]
            + ["--out", str(days / name), *extra],
        )
        assert r.exit_code == 0, r.output
    quiet, busy = pq.read_schema(days / "a-quiet.parquet"), pq.read_schema(days / "b.parquet")
    assert quiet.remove_metadata() == busy.remove_metadata()
    both = pd.read_parquet(days)
    assert len(both) == 3 and both["visits"].sum() == 3


def test_a_replaced_hot_spot_counts_only_on_its_active_days(sqlite_url: str) -> None:
    # found by QA: after 'hotspots replace', dosage measured every hot spot ever stored, so a
    # patrol at the redrawn hot spot counted at the retired one too: the day's summary listed
    # the place twice and its patrol-minutes and visits were double counted
    from patrolwise.store.areas import load_areas, replace_area

    _setup(sqlite_url)
    with Store(sqlite_url) as st:
        station = int(load_areas(st, "hotspot").set_index("name").loc["Station", "area_id"])
        redrawn = gpd.GeoDataFrame(
            {"name": ["Station"]}, geometry=[shapely.box(990, -10, 1110, 110)], crs="EPSG:27700"
        )
        new_id = replace_area(st, station, redrawn, pd.Timestamp("2024-06-04").date())
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["visits"] == 4  # not 5: OUT-1's 4 June visit counts once
    with Store(sqlite_url) as st:
        v = load_visits(st).set_index(["local_day", "team"])
    assert v.loc[(pd.Timestamp("2024-06-03").date(), "police")].shape[0] == 2
    june4 = v.loc[pd.Timestamp("2024-06-04").date()]
    assert list(june4["area_id"]) == [new_id] and list(june4["minutes"]) == [30.0]
    # a plan made before the redraw names the old hot spot: it is the new one on 4 June
    from patrolwise.store.plans import save_plan

    with Store(sqlite_url) as st:
        slot = {"team": "outreach", "area_id": station, "date": pd.Timestamp("2024-06-04")}
        times = {"start": pd.Timestamp("2024-06-04 13:00"), "end": pd.Timestamp("2024-06-04 13:30")}
        save_plan(st, "outreach", 1, {}, pd.DataFrame([{**slot, **times, "order": 0}]))
    d = CliRunner().invoke(
        app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-04", "--json"]
    )
    assert d.exit_code == 0, d.output
    s = json.loads(d.stdout)
    rows = s["by_hotspot"]
    assert [(x["area_id"], x["patrol_minutes"]) for x in rows] == [(new_id, 30.0)]
    (planned,) = s["compliance"]
    assert planned["area_id"] == new_id and planned["status"] == "delivered"
    assert planned["delivered_minutes"] == 30.0


def test_a_loan_recorded_after_the_pings_counts_for_the_team_borrowing(sqlite_url: str) -> None:
    # found by QA: dosage took each ping's team as stored when it arrived, so a loan recorded
    # afterwards ('devices assign', as the import's own note advises) changed nothing: the
    # borrowed tracker's minutes stayed with its old team (here a false never-together breach)
    # and re-importing adds nothing (the pings are already present)
    from patrolwise.store.devices import assign_device

    _setup(sqlite_url)
    with Store(sqlite_url) as st:
        assign_device(st, "POL-1", "outreach", pd.Timestamp("2024-06-03").date())
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-03", "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["breaches"] == []
    by = {(x["name"], x["team"]): x for x in s["by_hotspot"]}
    assert set(by) == {("Market", "outreach"), ("Station", "outreach")}
    assert by[("Market", "outreach")]["patrol_minutes"] == 45.0
    assert by[("Market", "outreach")]["officer_minutes"] == 80.0


def test_a_visit_across_midnight_counts_once(sqlite_url: str) -> None:
    """A patrol from 23:40 to 00:20 local time is one visit: its two local days each show their
    minutes, but the run's visit count and the per hot spot totals count it once (they counted
    its two day-parts as two visits)."""
    with Store(sqlite_url) as st:
        add_areas(
            st,
            gpd.GeoDataFrame(
                {"name": ["Clock Tower"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700"
            ),
        )
        with st.engine.begin() as conn:
            ensure_devices(conn, {"POL-9": "police"})
            # 22:40-23:20 UTC is 23:40-00:20 BST
            insert_pings(conn, _leg("POL-9", "police", "2024-06-03 22:40", "2024-06-03 23:20", 50.0),
                         source="test")  # fmt: skip
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["visits"] == 1
    (row,) = res["by_hotspot"]
    assert row["visits"] == 1 and row["patrol_minutes"] == 40.0
    with Store(sqlite_url) as st:
        parts = load_visits(st)
    assert sorted(parts["minutes"].tolist()) == [20.0, 20.0]  # one per local day


def test_daily_measures_an_overnight_slot_through_the_next_morning(sqlite_url: str) -> None:
    """A police slot of the night of 14 June, 23:30-00:30 BST, met from 23:40 to 00:30: the
    summary of the 14th counts the 50 minutes, not only the 20 before midnight."""
    from patrolwise.store.areas import load_areas
    from patrolwise.store.plans import save_plan

    _setup(sqlite_url)
    with Store(sqlite_url) as st:
        market = int(load_areas(st, "hotspot").set_index("name").loc["Market", "area_id"])
        with st.engine.begin() as conn:
            insert_pings(
                conn,
                _leg("POL-1", "police", "2024-06-14 22:40", "2024-06-14 23:30", 50.0),
                source="test",
            )
        plan = pd.DataFrame(
            {
                "team": ["police"],
                "area_id": [market],
                "date": [pd.Timestamp("2024-06-14")],
                "start": [pd.Timestamp("2024-06-14 22:30")],
                "end": [pd.Timestamp("2024-06-14 23:30")],
                "order": [0],
            }
        )
        save_plan(st, "police", 1, {"window": ["23:30", "00:30"]}, plan)
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "dosage", "daily", "--date", "2024-06-14", "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    (slot,) = s["compliance"]
    assert slot["delivered_minutes"] == 50.0 and slot["late_minutes"] == 10.0
    # the day's own table keeps to the 14th: the 20 minutes before midnight
    (row,) = s["by_hotspot"]
    assert row["patrol_minutes"] == 20.0
