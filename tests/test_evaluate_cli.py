"""The evaluate and rates commands end to end on a real store (crimes imported, visits saved)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.errors import InputError
from patrolwise.store import Store
from patrolwise.store.areas import active_hotspots, add_areas
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.visits import save_visits
from patrolwise.synth import make_city


@pytest.fixture(scope="module")
def city():  # type: ignore[no-untyped-def]
    return make_city(seed=1, track_days=7)


def test_rates_and_cost_commands(store_url: str, tmp_path: Path) -> None:
    db = ["--db", store_url]
    r = CliRunner().invoke(
        app, [*db, "rates", "add", "outreach", "2.28", "--per", "minute", "--from", "2023-01-01"]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, [*db, "rates", "add", "police", "202.8", "--per", "hour", "--from", "2023-01-01"]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, [*db, "rates", "add", "police", "1", "--per", "shift", "--from", "2024-01-01"]
    )
    # the CLI's main() turns this error into one line and exit 2
    assert isinstance(r.exception, InputError) and "shift length" in str(r.exception)
    r = CliRunner().invoke(app, [*db, "rates", "list"])

    def strict(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    # a rate with no note and no end printed 'note': NaN (not JSON) and 'effective_to': 'NaT'
    rows = json.loads(r.stdout, parse_constant=strict)
    assert all(x["note"] is None and x["effective_to"] is None for x in rows)
    # rates take effect on days: '2023-01-01', not the midnight timestamp '2023-01-01 00:00:00'
    assert {x["effective_from"] for x in rows} == {"2023-01-01"}
    assert {x["team"]: round(x["per_minute"], 2) for x in rows} == {
        "outreach": 2.28,
        "police": 3.38,
    }
    t0 = dt.datetime(2023, 3, 1, 14, 0)
    visits = pd.DataFrame(
        {
            "device_id": ["a", "b", "a"],
            "team": ["outreach", "police", "outreach"],
            "area_id": [1, 1, 2],
            "start": [t0, t0 + dt.timedelta(hours=2), t0 + dt.timedelta(hours=1)],
            "end": [
                t0 + dt.timedelta(minutes=40),
                t0 + dt.timedelta(hours=2, minutes=30),
                t0 + dt.timedelta(hours=1, minutes=20),
            ],
            "minutes": [40.0, 30.0, 20.0],
            "n_pings": [10, 8, 5],
            "local_day": [dt.date(2023, 3, 1)] * 3,
        }
    )
    with Store(store_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
        save_visits(st, visits)
    out = tmp_path / "ev"
    r = CliRunner().invoke(app, [*db, "evaluate", "cost", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "32.5% cheaper" in r.stdout
    res = json.loads((out / "cost.json").read_text())
    teams = {t["team"]: t for t in res["teams"]}
    assert teams["outreach"]["cost"] == pytest.approx(60 * 2.28)
    assert (out / "cost.html").exists()


def _two_squares():  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"name": ["one", "two"]},
        geometry=[shapely.box(0, 0, 50, 50), shapely.box(500, 0, 550, 50)],
        crs="EPSG:27700",
    )


def test_before_after_and_patrol_days_commands(city, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = city.write(tmp_path / "city")
    with Store(sqlite_url) as st:
        import_crimes(st, [files["incidents"]])
        add_areas(st, city.hotspots[["name", "geometry"]], kind="hotspot")
    asg = city.assignment.copy()
    asg.to_csv(tmp_path / "assignment.csv", index=False)
    db = ["--db", sqlite_url]
    out = tmp_path / "ev"
    r = CliRunner().invoke(
        app,
        [
            *db,
            "evaluate",
            "before-after",
            "--before",
            "2022-03-01:2023-01-31",
            "--during",
            "2023-02-06:2023-12-31",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    ba = json.loads((out / "before_after.json").read_text())
    assert ba["before"]["days"] == 337 and ba["during"]["days"] == 329
    assert any("per day" in n for n in ba["notes"])
    # the city's hot spot ids are 1..7, as are the store's (added in that order)
    r = CliRunner().invoke(
        app,
        [
            *db,
            "evaluate",
            "patrol-days",
            "--start",
            "2023-02-06",
            "--end",
            "2023-12-31",
            "--assignment",
            str(tmp_path / "assignment.csv"),
            "--permutations",
            "49",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    pdj = json.loads((out / "patrol_days.json").read_text())
    prim = pdj["estimates"][0]
    assert "intention to treat" in prim["name"] and prim["lo"] <= 0.7 <= prim["hi"]
    r = CliRunner().invoke(
        app,
        [
            *db,
            "evaluate",
            "displacement",
            "--before",
            "2022-03-01:2023-01-31",
            "--during",
            "2023-02-06:2023-12-31",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    dj = json.loads((out / "displacement.json").read_text())
    assert [x["ring"] for x in dj["rings"]] == ["ring 0-100 m", "ring 100-250 m"]
    r = CliRunner().invoke(
        app,
        [
            *db,
            "evaluate",
            "power",
            "--start",
            "2022-03-01",
            "--end",
            "2023-01-31",
            "--sims",
            "40",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    pw = json.loads((out / "power.json").read_text())
    assert pw["inputs"]["dispersion"] >= 0 and len(pw["inputs"]["base_rates"]) == 7
    bad = tmp_path / "bad.csv"
    asg.assign(patrol="maybe").to_csv(bad, index=False)
    r = CliRunner().invoke(
        app,
        [
            *db,
            "evaluate",
            "patrol-days",
            "--start",
            "2023-02-06",
            "--end",
            "2023-12-31",
            "--assignment",
            str(bad),
            "--out",
            str(out),
        ],
    )
    assert isinstance(r.exception, InputError) and "row 2, field patrol" in str(r.exception)


def test_evaluate_commands_count_days_in_the_configured_zone(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # load_crimes picks the crimes of a period by their local day in PATROLWISE_TIMEZONE, but the
    # evaluate commands then binned them into days (and the 14:00-20:00 window) in the library
    # default, Europe/London: a deployment elsewhere counted a crime at 23:30 local on the wrong
    # day, and a patrol-day window against the wrong clock
    from patrolwise.config import reset_settings
    from patrolwise.evaluate import before_after, displacement, patrol_days

    monkeypatch.setenv("PATROLWISE_TIMEZONE", "Asia/Tokyo")
    reset_settings()
    seen: list[tuple[str, object]] = []

    def spy(name: str):  # type: ignore[no-untyped-def]
        def f(*a: object, **kw: object) -> None:
            seen.append((name, kw.get("tz")))
            raise InputError("stop")

        return f

    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
    monkeypatch.setattr(before_after, "before_after", spy("before_after"))
    monkeypatch.setattr(displacement, "displacement", spy("displacement"))
    monkeypatch.setattr(patrol_days, "build_panel", spy("build_panel"))
    db = ["--db", sqlite_url, "evaluate"]
    periods = ["--before", "2024-01-01:2024-01-31", "--during", "2024-02-01:2024-02-29"]
    days = ["--start", "2024-02-01", "--end", "2024-02-29"]
    for cmd in (
        ["before-after", *periods],
        ["displacement", *periods],
        ["patrol-days", *days],
        ["power", *days],
    ):
        r = CliRunner().invoke(app, [*db, *cmd, "--out", str(tmp_path)])
        assert "stop" in str(r.exception), (cmd, r.output)
    assert seen == [
        ("before_after", "Asia/Tokyo"),
        ("displacement", "Asia/Tokyo"),
        ("build_panel", "Asia/Tokyo"),
        ("build_panel", "Asia/Tokyo"),
    ]


def _leicester_square():  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"name": ["clock tower"]},
        geometry=[shapely.box(458000, 304000, 458050, 304050)],
        crs="EPSG:27700",
    )


def test_patrol_days_over_an_overnight_window_reads_the_last_morning(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --window 22:00-02:00 the last day's night ends the next morning: its crimes and
    patrol minutes after midnight must be loaded and counted on the last day, not dropped."""
    from patrolwise.evaluate import patrol_days

    extract = tmp_path / "night.csv"
    extract.write_text(
        "incident_id,occurred,offence,easting,northing\n"
        "N1,2024-02-29 23:30,Assault with injury,458025,304025\n"
        "N2,2024-03-01 00:30,Assault with injury,458025,304025\n"
        "N3,2024-03-01 03:30,Assault with injury,458025,304025\n"
    )
    visits = pd.DataFrame(
        {
            "device_id": ["a", "a"],
            "team": ["outreach", "outreach"],
            "area_id": [1, 1],
            "start": [dt.datetime(2024, 2, 29, 23, 30), dt.datetime(2024, 3, 1, 0, 0)],
            "end": [dt.datetime(2024, 3, 1, 0, 0), dt.datetime(2024, 3, 1, 0, 20)],
            "minutes": [30.0, 20.0],
            "n_pings": [10, 8],
            "local_day": [dt.date(2024, 2, 29), dt.date(2024, 3, 1)],
            "visit_id": [5, 5],
        }
    )
    with Store(sqlite_url) as st:
        add_areas(st, _leicester_square(), kind="hotspot")
        import_crimes(st, [extract], rejects_dir=tmp_path)
        save_visits(st, visits)
    seen: dict[str, pd.DataFrame] = {}

    def spy(crimes: pd.DataFrame, *a: object, **kw: object) -> None:
        seen["crimes"], seen["dosage"] = crimes, kw["dosage"]  # type: ignore[assignment]
        raise InputError("stop")

    monkeypatch.setattr(patrol_days, "build_panel", spy)
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_url, "evaluate", "patrol-days", "--start", "2024-02-01"]
        + ["--end", "2024-02-29", "--window", "22:00-02:00", "--out", str(tmp_path / "o")],
    )
    assert "stop" in str(r.exception), r.output
    assert sorted(seen["crimes"]["occurred_at"].dt.strftime("%H:%M")) == ["00:30", "03:30", "23:30"]
    d = seen["dosage"]
    assert d["local_day"].tolist() == [dt.date(2024, 2, 29)]
    assert d["patrol_minutes"].tolist() == [50.0]
    # and the library counts that night's two crimes (not 03:30) on the 29th
    with Store(sqlite_url) as st:
        spots = active_hotspots(st, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    monkeypatch.undo()
    panel = patrol_days.build_panel(
        seen["crimes"], spots, dt.date(2024, 2, 1), dt.date(2024, 2, 29), window="22:00-02:00"
    )
    assert panel.groupby("date")["crimes"].sum().loc["2024-02-29"] == 2


@pytest.mark.parametrize("cmd", ["patrol-days", "power"])
def test_a_trial_that_ends_before_it_starts_is_said_so(cmd: str, sqlite_url: str) -> None:
    """'--start 2023-03-05 --end 2023-03-01' loaded no crimes, and the refusal blamed the data:
    'these are known only to the month (police.uk): use a force extract', on a store of dated
    crimes. The reversed dates are named instead, by the panel every patrol-day analysis builds."""
    from patrolwise.evaluate.patrol_days import build_panel

    hs = _two_squares()
    hs["area_id"] = [1, 2]
    crimes = pd.DataFrame(
        {"occurred_at": [dt.datetime(2023, 3, 2, 15)], "x": [50.0], "y": [50.0], "harm": [1.0]}
    )
    with pytest.raises(InputError, match=r"ends \(2023-03-01\) before it starts \(2023-03-05\)"):
        build_panel(crimes, hs, dt.date(2023, 3, 5), dt.date(2023, 3, 1))
    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "evaluate", cmd, "--start", "2023-03-05", "--end", "2023-03-01"]
    )
    assert isinstance(r.exception, InputError), r.output
    assert "before it starts" in str(r.exception) and "police.uk" not in str(r.exception)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("area_id,date,patrol\n1,2023-03-01,1\n1,notadate,0\n", "row 3, field date: 'notadate'"),
        # Excel's UK dates: pandas read 01/03/2023 as 3 January, not 1 March, without a word
        ("area_id,date,patrol\n1,2023-03-01,1\n1,01/03/2023,0\n", "row 3, field date"),
        ("", "is empty"),
        ("area_id,date,patrol\nx,2023-03-01,1\n", "row 2, field area_id: 'x'"),
        ("area_id,date,patrol\n1,2023-03-01,\n", "row 2, field patrol: empty"),
    ],
)
def test_an_assignment_file_that_cannot_be_read_is_one_line(
    text: str, said: str, sqlite_url: str, tmp_path: Path
) -> None:
    """--assignment FILE with a date that is not a date, no content at all or a hot spot id that
    is not a number died with pandas' traceback (a date parse error, EmptyDataError, 'You are
    trying to merge on int64 and str columns'); a UK date such as 01/03/2023 was silently read
    as 3 January; an empty patrol cell was named as 'np.float64(nan)'. Each is one line naming
    the row and field."""
    path = tmp_path / "asg.csv"
    path.write_text(text)
    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
    r = CliRunner().invoke(
        app,
        [
            *("--db", sqlite_url, "evaluate", "patrol-days"),
            *("--start", "2023-03-01", "--end", "2023-03-28", "--assignment", str(path)),
            *("--out", str(tmp_path / "ev")),
        ],
    )
    assert isinstance(r.exception, InputError), r.output
    assert said in str(r.exception) and str(path) in str(r.exception)


def test_cost_says_when_a_team_has_no_visits_and_refuses_a_file_that_is_not_effects(
    sqlite_url: str, tmp_path: Path
) -> None:
    """'evaluate cost --team Outreach' (the stored team is 'outreach') printed no comparison and
    no reason, only 'wrote cost.json'; '--effects before_after.json' (or any JSON without patrol
    day estimates) silently costed nothing per crime prevented, and a file that is not JSON died
    with json's traceback. A team without visits is said, naming the teams that have some; the
    other two are one line each."""
    db = ["--db", sqlite_url]
    for team, amount in (("outreach", "2.28"), ("police", "3.38")):
        r = CliRunner().invoke(app, [*db, "rates", "add", team, amount, "--from", "2023-01-01"])
        assert r.exit_code == 0, r.output
    t0 = dt.datetime(2023, 3, 1, 14, 0)
    visits = pd.DataFrame(
        {
            "device_id": ["a", "b"],
            "team": ["outreach", "police"],
            "area_id": [1, 1],
            "start": [t0, t0],
            "end": [t0 + dt.timedelta(minutes=40)] * 2,
            "minutes": [40.0, 40.0],
            "n_pings": [10, 10],
            "local_day": [dt.date(2023, 3, 1)] * 2,
        }
    )
    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
        save_visits(st, visits)
    out = tmp_path / "ev"
    r = CliRunner().invoke(app, [*db, "evaluate", "cost", "--team", "outreech", "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = "no GPS-verified visits for team 'outreech' in this period (teams with visits: outreach, police)"
    assert said in " ".join(r.stdout.split())
    assert said in json.loads((out / "cost.json").read_text())["statements"][0]
    # a team in capitals is the stored lower-case team, as for rates and patrol days
    r = CliRunner().invoke(app, [*db, "evaluate", "cost", "--team", "Outreach", "--out", str(out)])
    assert r.exit_code == 0, r.output
    first = json.loads((out / "cost.json").read_text())["statements"][0]
    assert "no GPS-verified visits" not in first and "outreach" in first.lower(), first
    other = tmp_path / "before_after.json"
    other.write_text(json.dumps({"kind": "before_after", "estimates": []}))
    bad = tmp_path / "bad.json"
    bad.write_text("x")
    for path, what in ((other, "not a patrol-days result"), (bad, "not JSON")):
        r = CliRunner().invoke(
            app, [*db, "evaluate", "cost", "--effects", str(path), "--out", str(out)]
        )
        assert isinstance(r.exception, InputError), r.output
        assert what in str(r.exception) and str(path) in str(r.exception)


@pytest.mark.parametrize("cmd", ["before-after", "displacement"])
def test_a_during_period_before_the_before_period_is_said_so(
    cmd: str, sqlite_url: str, tmp_path: Path
) -> None:
    """'--before 2023-03-01:2023-05-31 --during 2022-03-01:2022-05-31' loaded crimes from the
    before start to the during end, an empty range, and the refusal said 'no crimes in the hot
    spots in the before period (2023-03-01..2023-05-31): check ... that crimes for that period
    were imported', on a store holding them. Periods in the wrong order are named instead, in
    the library (before_after, displacement) as in the command."""
    from patrolwise.evaluate.periods import Period, check_periods

    b = Period("before", dt.date(2023, 3, 1), dt.date(2023, 5, 31))
    d = Period("during", dt.date(2022, 3, 1), dt.date(2022, 5, 31))
    with pytest.raises(InputError, match="comes before the before period"):
        check_periods(b, d)
    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
    r = CliRunner().invoke(
        app,
        [
            *("--db", sqlite_url, "evaluate", cmd),
            *("--before", "2023-03-01:2023-05-31", "--during", "2022-03-01:2022-05-31"),
            *("--out", str(tmp_path / "ev")),
        ],
    )
    assert isinstance(r.exception, InputError), r.output
    assert "comes before the before period" in str(r.exception)


def test_cost_over_reversed_dates_is_said_so(sqlite_url: str) -> None:
    """'evaluate cost --start 2023-03-01 --end 2023-02-01' said 'no visits stored for that
    period: run the track stage's dosage first', on a store with visits in both months."""
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_url, "evaluate", "cost", "--start", "2023-03-01", "--end", "2023-02-01"],
    )
    assert isinstance(r.exception, InputError), r.output
    assert "ends (2023-02-01) before it starts (2023-03-01)" in str(r.exception)


def test_patrol_days_counts_only_days_a_dosage_run_measured_as_tracked(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GPS dosage run for the first and the last week of a trial: the panel took every day from
    the first visit to the last as tracked, so the seven weeks between, which no run measured,
    became hot spot-days with 0 outreach minutes (not patrolled) in the as-delivered contrast
    and the dose-response, where untracked is not unpatrolled. The days the stored dosage runs
    measured are now the tracked days."""
    from patrolwise.evaluate import patrol_days

    def visit(day: dt.date) -> dict[str, object]:
        t0 = dt.datetime.combine(day, dt.time(14))
        return {
            "device_id": "a",
            "team": "outreach",
            "area_id": 1,
            "start": t0,
            "end": t0 + dt.timedelta(minutes=30),
            "minutes": 30.0,
            "n_pings": 10,
            "local_day": day,
        }

    first = [dt.date(2023, 3, 1) + dt.timedelta(days=k) for k in range(7)]
    last = [dt.date(2023, 4, 24) + dt.timedelta(days=k) for k in range(7)]
    with Store(sqlite_url) as st:
        add_areas(st, _two_squares(), kind="hotspot")
        save_visits(
            st, pd.DataFrame([visit(d) for d in first[::2]]), date_from=first[0], date_to=first[-1]
        )
        save_visits(
            st, pd.DataFrame([visit(d) for d in last[::2]]), date_from=last[0], date_to=last[-1]
        )
    seen: dict[str, object] = {}

    def spy(*a: object, **kw: object) -> None:
        seen.update(kw)
        raise InputError("stop")

    monkeypatch.setattr(patrol_days, "build_panel", spy)
    r = CliRunner().invoke(
        app,
        [
            *("--db", sqlite_url, "evaluate", "patrol-days"),
            *("--start", "2023-03-01", "--end", "2023-04-30", "--out", str(tmp_path)),
        ],
    )
    assert "stop" in str(r.exception), r.output
    assert seen["tracked_days"] is not None
    assert sorted(pd.to_datetime(list(seen["tracked_days"])).date) == first + last  # type: ignore[arg-type]
