"""Plans and assignments in the store (SQLite and PostgreSQL), and the plan CLI end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pandas as pd
import pytest
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.errors import InputError
from patrolwise.plan.randomise import randomise_days
from patrolwise.plan.schedule import InfeasiblePlanError, PlanRequest, make_plan
from patrolwise.plan.separation import conflicts
from patrolwise.store import Store
from patrolwise.store.areas import add_areas, load_areas
from patrolwise.store.plans import (
    get_plan,
    list_plans,
    load_assignment,
    load_delivered,
    load_plan_visits,
    save_assignment,
    save_plan,
)
from patrolwise.store.visits import save_visits

from .plan_fixtures import line_of_hotspots

D0 = dt.date(2024, 10, 25)


def _store_with_hotspots(url: str, n: int = 7) -> Store:
    st = Store(url)
    add_areas(st, line_of_hotspots(n), kind="hotspot")
    return st


def test_plans_and_assignments_round_trip(store_url: str) -> None:
    with _store_with_hotspots(store_url) as st:
        hs = load_areas(st, "hotspot")
        out = make_plan(
            hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=3), order="random", seed=3)
        )
        pid = save_plan(st, "outreach", out.seed, out.params, out.visits)
        back = load_plan_visits(st, pid)
        assert len(back) == len(out.visits) == 28
        pd.testing.assert_series_equal(back["start"], out.visits["start"], check_names=False)
        assert list(back["name"]) == list(out.visits["name"])
        meta = get_plan(st, pid)
        assert meta["seed"] == 3 and meta["params"]["window"] == ["14:00", "20:00"]
        # a police plan made after it, stored, then checked against it: no conflicts
        pol = make_plan(hs, PlanRequest("police", D0, D0 + dt.timedelta(days=3)), avoid=back)
        pid2 = save_plan(st, "police", pol.seed, pol.params, pol.visits)
        assert conflicts(load_plan_visits(st, pid2), load_plan_visits(st, pid), 30).empty
        assert list(list_plans(st)["visits"]) == [28, 28]
        a = randomise_days(hs["area_id"], D0, D0 + dt.timedelta(days=27), 0.5, seed=77)
        assert save_assignment(st, a) == 7 * 28
        assert save_assignment(st, a) == 7 * 28  # same seed replaces, never duplicates
        got = load_assignment(st)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True),
            a[got.columns].reset_index(drop=True),
            check_dtype=False,
        )
        assert load_delivered(st, D0) is None  # no dosage run: no GPS data


def _run(args: list[str]) -> object:
    r = CliRunner().invoke(app, args)
    return r


def test_plan_cli(sqlite_url: str, tmp_path: Path) -> None:
    with _store_with_hotspots(sqlite_url):
        pass
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(
        app,
        [
            *db,
            "plan",
            "make",
            "--team",
            "outreach",
            "--from",
            "2024-10-26",
            "--to",
            "2024-10-28",
            "--order",
            "random",
            "--seed",
            "5",
            "--ics",
            str(tmp_path / "o.ics"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "plan 1: outreach, 21 visits on 3 days" in r.output and "seed 5" in r.output
    cal = icalendar.Calendar.from_ical((tmp_path / "o.ics").read_bytes())
    assert len(cal.walk("VEVENT")) == 21
    r = CliRunner().invoke(
        app,
        [
            *db,
            "plan",
            "make",
            "--team",
            "police",
            "--from",
            "2024-10-26",
            "--to",
            "2024-10-28",
            "--after",
            "1",
            "--gap",
            "20",
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "plan", "check", "1", "2", "--gap", "20"])
    assert r.exit_code == 0 and "no conflicts" in r.output
    # the outreach plan checked against itself conflicts everywhere
    r = CliRunner().invoke(app, [*db, "plan", "check", "1", "1"])
    assert r.exit_code == 1 and "21 conflict(s)" in r.output
    r = CliRunner().invoke(app, [*db, "plan", "export", "1", "--csv", str(tmp_path / "p.csv")])
    assert r.exit_code == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 21
    r = CliRunner().invoke(
        app, [*db, "plan", "brief", "1", "--date", "2024-10-27", "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "briefing-outreach-2024-10-27.html").read_text()
    assert "no GPS data" in html
    # with tracked visits for the day before: delivered minutes and breaches
    with Store(sqlite_url) as st:
        planned = load_plan_visits(st, 1)
        y = planned[planned["date"] == dt.date(2024, 10, 27)].sort_values("order")
        first = y.iloc[0]
        save_visits(
            st,
            pd.DataFrame(
                {
                    "device_id": ["t1"],
                    "team": ["outreach"],
                    "area_id": [int(first["area_id"])],
                    "start": [first["start"]],
                    "end": [first["start"] + pd.Timedelta(minutes=39)],
                    "minutes": [39.0],
                    "n_pings": [40],
                    "local_day": [dt.date(2024, 10, 27)],
                }
            ),
        )
        assert load_delivered(st, dt.date(2024, 10, 27))["minutes"].sum() == 39.0
    r = CliRunner().invoke(
        app, [*db, "plan", "brief", "1", "--date", "2024-10-28", "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "briefing-outreach-2024-10-28.html").read_text()
    assert "no GPS data" not in html
    assert "planned 280 min, delivered 39 min, 6 breach(es)" in html
    assert (tmp_path / "briefing-outreach-2024-10-27.pdf").read_bytes().startswith(b"%PDF")
    r = CliRunner().invoke(
        app,
        [
            *db,
            "plan",
            "randomise",
            "--from",
            "2024-11-04",
            "--to",
            "2024-12-01",
            "--p",
            "0.5",
            "--seed",
            "8",
            "--csv",
            str(tmp_path / "a.csv"),
        ],
    )
    assert r.exit_code == 0 and "assignment seed 8: 196 hot spot-days, 98 patrol" in r.output
    r = CliRunner().invoke(
        app,
        [
            *db,
            "plan",
            "make",
            "--team",
            "outreach",
            "--from",
            "2024-11-04",
            "--to",
            "2024-12-01",
            "--assignment",
            "8",
        ],
    )
    assert r.exit_code == 0 and "98 visits" in r.output
    r = CliRunner().invoke(
        app,
        [
            *db,
            "plan",
            "make",
            "--team",
            "outreach",
            "--from",
            "2024-11-04",
            "--to",
            "2024-11-04",
            "--visit",
            "60",
        ],
    )
    assert isinstance(r.exception, InfeasiblePlanError)
    assert "420 min of visits" in str(r.exception)


def test_plan_cli_refuses_unknown_hotspot(sqlite_url: str) -> None:
    with _store_with_hotspots(sqlite_url, 2):
        pass
    r = CliRunner().invoke(
        app,
        [
            "--db",
            sqlite_url,
            "plan",
            "make",
            "--team",
            "police",
            "--from",
            "2024-10-26",
            "--to",
            "2024-10-26",
            "--hotspots",
            "1,9",
        ],
    )
    assert r.exit_code != 0 and "[9]" in str(r.exception)


@pytest.mark.parametrize("team", ["outreach", "police"])
def test_plan_cli_network(sqlite_url: str, tmp_path: Path, team: str) -> None:
    import geopandas as gpd
    import shapely

    from .plan_fixtures import X0, Y0

    with _store_with_hotspots(sqlite_url, 3):
        pass
    gpd.GeoDataFrame(
        geometry=[shapely.LineString([(X0, Y0), (X0 + 800, Y0)])], crs="EPSG:27700"
    ).to_crs("EPSG:4326").to_file(tmp_path / "streets.geojson", driver="GeoJSON")
    r = CliRunner().invoke(
        app,
        [
            "--db",
            sqlite_url,
            "plan",
            "make",
            "--team",
            team,
            "--from",
            "2024-10-26",
            "--to",
            "2024-10-26",
            "--network",
            str(tmp_path / "streets.geojson"),
        ],
    )
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        assert get_plan(st, 1)["params"]["travel"] == "network:streets.geojson"


def test_assignment_seed_out_of_range_is_one_clear_error(store_url: str) -> None:
    with _store_with_hotspots(store_url) as st, pytest.raises(InputError, match="seed"):
        load_assignment(st, 2**64)


def test_failed_plan_make_stores_no_randomisation(sqlite_url: str) -> None:
    # the assignment was saved before the plan was made: an infeasible plan left a stored
    # randomisation behind, which then became "the newest" for plan make --assignment and
    # the evaluation
    with _store_with_hotspots(sqlite_url):
        pass
    args = ["--db", sqlite_url, "plan", "make", "--team", "outreach", "--from", "2024-07-01"]
    args += ["--to", "2024-07-14", "--randomise", "0.5", "--seed", "4242", "--visit", "200"]
    r = CliRunner().invoke(app, args)
    assert isinstance(r.exception, InfeasiblePlanError)
    with Store(sqlite_url) as st:
        with pytest.raises(InputError, match="no randomised assignment"):
            load_assignment(st)
        assert list_plans(st).empty
    r = CliRunner().invoke(app, [*args[:-2], "--visit", "40"])
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        assert int(load_assignment(st)["seed"].iloc[0]) == 4242
        assert len(list_plans(st)) == 1


def test_a_seed_keeps_its_randomisation(store_url: str) -> None:
    # saving a different draw under a stored seed (another period, say) deleted the first
    # trial's assignment, which the evaluation reads; the same draw again stays idempotent
    with _store_with_hotspots(store_url) as st:
        jan = randomise_days([1, 2], dt.date(2024, 1, 1), dt.date(2024, 1, 31), 0.5, seed=77)
        feb = randomise_days([1, 2], dt.date(2024, 2, 1), dt.date(2024, 2, 29), 0.5, seed=77)
        assert save_assignment(st, jan) == 62
        assert save_assignment(st, jan) == 62
        with pytest.raises(InputError, match="seed 77"):
            save_assignment(st, feb)
        back = load_assignment(st, 77)
        assert len(back) == 62 and str(back["date"].max()) == "2024-01-31"
        with pytest.raises(InputError, match="seed 77"):
            save_assignment(st, jan.assign(p=0.4))


def test_plan_make_after_needs_an_existing_plan_of_the_other_team(sqlite_url: str) -> None:
    # --after 9999 loaded no visits and made a plan with no separation at all, recording
    # after_plan 9999 as though it had been kept apart
    with _store_with_hotspots(sqlite_url):
        pass
    base = ["--db", sqlite_url, "plan", "make", "--from", "2024-06-03", "--to", "2024-06-03"]
    r = CliRunner().invoke(app, [*base, "--team", "police", "--after", "9999"])
    assert isinstance(r.exception, InputError) and "no plan with id 9999" in str(r.exception)
    r = CliRunner().invoke(app, [*base, "--team", "police"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*base, "--team", "police", "--after", "1"])
    assert isinstance(r.exception, InputError) and "police plan" in str(r.exception)
    with Store(sqlite_url) as st:
        assert len(list_plans(st)) == 1


def test_plan_outputs_in_a_missing_folder_are_one_line_and_store_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    # plan make --csv into a missing folder stored the plan, then died with an OSError traceback
    # (so a rerun stored it twice); export and brief died the same way
    with _store_with_hotspots(sqlite_url):
        pass
    db = ["--db", sqlite_url]
    bad = tmp_path / "missing" / "plan"
    base = [*db, "plan", "make", "--team", "outreach", "--from", "2024-06-03", "--to", "2024-06-03"]
    for opt in ("--csv", "--ics"):
        r = CliRunner().invoke(app, [*base, opt, f"{bad}.x"])
        assert isinstance(r.exception, InputError) and "does not exist" in str(r.exception)
    with Store(sqlite_url) as st:
        assert list_plans(st).empty
    assert CliRunner().invoke(app, base).exit_code == 0
    for opt in ("--csv", "--ics"):
        r = CliRunner().invoke(app, [*db, "plan", "export", "1", opt, f"{bad}.x"])
        assert isinstance(r.exception, InputError) and "does not exist" in str(r.exception)
    afile = tmp_path / "a-file"
    afile.write_text("")
    r = CliRunner().invoke(
        app, [*db, "plan", "brief", "1", "--date", "2024-06-03", "--out", str(afile / "sub")]
    )
    assert isinstance(r.exception, InputError), r.exception


@pytest.mark.parametrize("cmd", [["export", "--csv", "p.csv"], ["brief", "--date", "2024-06-10"]])
@pytest.mark.parametrize(
    "pid", ["99999999999999999999", "9223372036854775808", "-9223372036854775809"]
)
def test_plan_id_out_of_range_is_no_such_plan(sqlite_url: str, cmd: list[str], pid: str) -> None:
    # SQLite refused to bind the id with an OverflowError traceback
    with _store_with_hotspots(sqlite_url):
        pass
    r = CliRunner().invoke(app, ["--db", sqlite_url, "plan", *cmd, "--", pid])
    assert isinstance(r.exception, InputError), r.exception
    assert str(r.exception).startswith(f"no plan with id {pid}")


def test_overnight_window_is_planned_into_the_next_morning(sqlite_url: str, tmp_path: Path) -> None:
    """A night-time economy window, 22:00-02:00 local: each night's visits run from 22:00 on
    the plan's day to 02:00 the next morning, in the calendar as in the store. (It was refused:
    a window had to end the same day.)"""
    with _store_with_hotspots(sqlite_url, n=3):
        pass
    ics = tmp_path / "night.ics"
    args = ["--db", sqlite_url, "plan", "make", "--team", "police", "--from", "2024-06-14"]
    r = CliRunner().invoke(
        app, [*args, "--to", "2024-06-15", "--window", "22:00-02:00", "--ics", str(ics)]
    )
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        v = load_plan_visits(st, 1)
        assert get_plan(st, 1)["params"]["window"] == ["22:00", "02:00"]
    assert sorted(set(v["date"])) == [dt.date(2024, 6, 14), dt.date(2024, 6, 15)]
    for day, g in v.groupby("date"):
        # BST: 22:00 local is 21:00 UTC on the day, 02:00 local is 01:00 UTC the next day
        lo = pd.Timestamp(day) + pd.Timedelta(hours=21)
        assert (g["start"] >= lo).all() and (g["end"] <= lo + pd.Timedelta(hours=4)).all()
        assert g["end"].max() > pd.Timestamp(day) + pd.Timedelta(hours=23)  # past midnight
    cal = icalendar.Calendar.from_ical(ics.read_bytes())
    starts = sorted(e.decoded("dtstart") for e in cal.walk("VEVENT"))
    assert len(starts) == len(v)
    assert starts[-1].astimezone(dt.UTC).replace(tzinfo=None) == v["start"].max()


@pytest.mark.parametrize("window", ["14:00-14:00", "22-22"])
def test_empty_window_is_refused_in_one_clear_line(sqlite_url: str, window: str) -> None:
    with _store_with_hotspots(sqlite_url):
        pass
    args = ["--db", sqlite_url, "plan", "make", "--team", "police", "--from", "2024-06-10"]
    r = CliRunner().invoke(app, [*args, "--to", "2024-06-10", "--window", window])
    assert isinstance(r.exception, InputError), r.exception
    msg = str(r.exception)
    assert "\n" not in msg and "empty" in msg and window in msg


def test_police_night_after_keeps_apart_from_the_next_mornings_outreach(sqlite_url: str) -> None:
    """A police plan made --after an outreach plan keeps apart from every outreach visit its
    nights run into: the last night (22:00-02:00) meets the outreach visits dated the next
    morning (00:00-01:40), which --after did not load, so plan check found the police there."""
    with _store_with_hotspots(sqlite_url, n=1):
        pass
    base = ["--db", sqlite_url, "plan", "make", "--hotspots", "1", "--from", "2025-06-01"]
    r = CliRunner().invoke(
        app,
        [*base, "--to", "2025-06-05", "--team", "outreach", "--window", "00:00-02:00"]
        + ["--visit", "100"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app,
        [*base, "--to", "2025-06-03", "--team", "police", "--window", "22:00-02:00"]
        + ["--min-visits", "6", "--after", "1"],
    )
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        police = load_plan_visits(st, 2)
        assert (police["date"] == dt.date(2025, 6, 3)).sum() == 6  # the last night is planned
        assert conflicts(police, load_plan_visits(st, 1), 30).empty
    r = CliRunner().invoke(app, ["--db", sqlite_url, "plan", "check", "1", "2"])
    assert r.exit_code == 0, r.output


def test_briefing_counts_last_nights_delivery_after_midnight(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An overnight shift's briefing compares last night's plan (22:00-02:00) with what was
    delivered all night: the visits after midnight are stored on the next local day, and were
    left out, so a hot spot patrolled at 01:20 as planned was reported short. Tonight's own
    visits (from 22:00 on the briefing's day) are not last night's."""
    with _store_with_hotspots(sqlite_url, n=1):
        pass
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(
        app,
        [*db, "plan", "make", "--team", "outreach", "--from", "2025-06-10", "--to", "2025-06-11"]
        + ["--window", "22:00-02:00", "--min-visits", "2"],
    )
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        planned = load_plan_visits(st, 1)
        # BST: 22:00-22:40 and 01:20-02:00 local each night
        assert sorted(planned["start"].dt.strftime("%d %H:%M")) == [
            "10 21:00",
            "11 00:20",
            "11 21:00",
            "12 00:20",
        ]
        starts = pd.to_datetime(["2025-06-10 21:00", "2025-06-11 00:20", "2025-06-11 21:00"])
        save_visits(
            st,
            pd.DataFrame(
                {
                    "device_id": ["t1"] * 3,
                    "team": ["outreach"] * 3,
                    "area_id": [1] * 3,
                    "start": starts,
                    "end": starts + pd.Timedelta(minutes=40),
                    "minutes": [40.0] * 3,
                    "n_pings": [40] * 3,
                    "local_day": [dt.date(2025, 6, d) for d in (10, 11, 11)],
                }
            ),
        )
    r = CliRunner().invoke(
        app, [*db, "plan", "brief", "1", "--date", "2025-06-11", "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "briefing-outreach-2025-06-11.html").read_text()
    assert "planned 80 min, delivered 80 min, 0 breach(es)" in html


@pytest.mark.parametrize(
    "cmd",
    [
        ["plan", "brief", "1", "--date", "0001-01-01"],
        ["plan", "make", "--team", "outreach", "--from", "9999-12-31", "--to", "9999-12-31"]
        + ["--window", "22:00-02:00"],
        ["plan", "make", "--team", "police", "--from", "9999-12-31", "--to", "9999-12-31"]
        + ["--after", "1"],
        ["plan", "randomise", "--from", "2025-01-01", "--to", "9999-12-31"],
        ["plan", "make", "--team", "police", "--from", "1066-10-14", "--to", "1066-10-14"],
    ],
)
def test_dates_beyond_any_plan_are_one_clear_line(sqlite_url: str, cmd: list[str]) -> None:
    """A date at the calendar's ends overflowed (the day before 0001-01-01, the morning after
    9999-12-31) in a traceback, or drew millions of patrol days for hours; a year before 1847
    put London on its local mean time (a 14:00 start at 14:01:15 UTC)."""
    with _store_with_hotspots(sqlite_url, n=2):
        pass
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(
        app,
        [*db, "plan", "make", "--team", "outreach"]
        + ["--from", "2025-06-01", "--to", "2025-06-01"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, *cmd])
    assert isinstance(r.exception, InputError), r.exception
    msg = str(r.exception)
    assert "\n" not in msg and "1900" in msg and "2199" in msg
    with Store(sqlite_url) as st:
        assert len(list_plans(st)) == 1


def test_plan_outputs_that_are_folders_are_one_line_and_store_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An output path naming a folder passed the check that its folder exists: plan make
    stored the plan and then could not write it (a rerun stored it twice), and plan randomise
    stored the draw and then stopped with an IsADirectoryError traceback."""
    with _store_with_hotspots(sqlite_url):
        pass
    db = ["--db", sqlite_url]
    base = [*db, "plan", "make", "--team", "outreach", "--from", "2024-06-03", "--to", "2024-06-03"]
    for opt in ("--csv", "--ics"):
        r = CliRunner().invoke(app, [*base, opt, str(tmp_path)])
        assert isinstance(r.exception, InputError) and "is a folder" in str(r.exception)
    r = CliRunner().invoke(
        app,
        [*db, "plan", "randomise", "--from", "2024-06-03", "--to", "2024-06-09", "--seed", "4"]
        + ["--csv", str(tmp_path)],
    )
    assert isinstance(r.exception, InputError) and "is a folder" in str(r.exception)
    with Store(sqlite_url) as st:
        assert list_plans(st).empty
        with pytest.raises(InputError, match="no randomised assignment"):
            load_assignment(st)


def test_plan_randomise_draws_a_retired_hot_spot_only_while_active(sqlite_url: str) -> None:
    # plan randomise (and plan make --randomise) drew a hot spot retired mid-period on every
    # day of the period, stored for the evaluator as patrol or control days
    with _store_with_hotspots(sqlite_url, n=2):
        pass
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(app, [*db, "hotspots", "retire", "2", "--on", "2025-01-19"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, [*db, "plan", "randomise", "--from", "2025-01-06", "--to", "2025-02-02", "--seed", "3"]
    )
    assert r.exit_code == 0 and "42 hot spot-days, 21 patrol" in r.output, r.output
    r = CliRunner().invoke(
        app,
        [*db, "plan", "make", "--team", "police", "--from", "2025-01-06", "--to", "2025-02-02"]
        + ["--randomise", "0.5", "--seed", "4"],
    )
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        for seed in (3, 4):
            a = load_assignment(st, seed)
            assert a.loc[a["area_id"] == 2, "date"].max() == dt.date(2025, 1, 19)
            assert len(a) == 42
        v = load_plan_visits(st, 1)
        assert v.loc[v["area_id"] == 2, "date"].max() <= dt.date(2025, 1, 19)


def test_a_plan_with_no_visits_is_not_exported_as_a_calendar(
    sqlite_url: str, tmp_path: Path
) -> None:
    # a week drawn all no-patrol made a plan with no visits, and --ics wrote it as a calendar
    # with no VEVENT, which strict calendar readers reject (RFC 5545: at least one component)
    with _store_with_hotspots(sqlite_url, n=2) as st:
        week = randomise_days([1, 2], dt.date(2024, 7, 1), dt.date(2024, 7, 7), 0.5, seed=5)
        save_assignment(st, week.assign(patrol=False))
    db = ["--db", sqlite_url]
    make = [*db, "plan", "make", "--team", "outreach", "--from", "2024-07-01"]
    make += ["--to", "2024-07-07", "--assignment", "5"]
    ics = tmp_path / "week.ics"
    r = CliRunner().invoke(app, [*make, "--ics", str(ics)])
    assert isinstance(r.exception, InputError), r.output
    msg = str(r.exception)
    assert "\n" not in msg and "no visits" in msg and "assignment seed 5" in msg, msg
    assert "at least one event" in msg and "nothing was stored" in msg
    assert not ics.exists()
    with Store(sqlite_url) as st:
        assert list_plans(st).empty  # refused before storing: a rerun stores it once
    r = CliRunner().invoke(app, make)
    assert r.exit_code == 0 and "0 visits" in r.output, r.output
    csv = tmp_path / "week.csv"
    r = CliRunner().invoke(app, [*db, "plan", "export", "1", "--csv", str(csv), "--ics", str(ics)])
    assert isinstance(r.exception, InputError), r.output
    assert "plan 1 has no visits" in str(r.exception) and "assignment seed 5" in str(r.exception)
    assert not ics.exists() and not csv.exists()  # nothing written, the CSV neither
    r = CliRunner().invoke(app, [*db, "plan", "export", "1", "--csv", str(csv)])
    assert r.exit_code == 0 and csv.read_text().startswith("team,date"), r.output


def test_a_successor_is_planned_on_its_predecessors_drawn_days(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hot spot 2 redrawn mid-trial (replaced by 3 from 20 January): the assignment drawn before
    # had no days for 3, so 'plan make --assignment' refused the plan ('not drawn'); 3 now takes
    # 2's drawn days from its first day, and the evaluation counts them the same way
    from patrolwise.evaluate import patrol_days
    from patrolwise.store.areas import replace_area

    with _store_with_hotspots(sqlite_url, n=2):
        pass
    db = ["--db", sqlite_url]
    trial = ["--from", "2025-01-06", "--to", "2025-02-02"]
    r = CliRunner().invoke(app, [*db, "plan", "randomise", *trial, "--seed", "3"])
    assert r.exit_code == 0, r.output
    cut = dt.date(2025, 1, 20)
    redrawn = line_of_hotspots(2, radius=60).iloc[[1]].assign(name="Hot spot 2 redrawn")
    with Store(sqlite_url) as st:
        assert replace_area(st, 2, redrawn, cut) == 3
        drawn = load_assignment(st, 3)
    r = CliRunner().invoke(
        app, [*db, "plan", "make", "--team", "outreach", *trial, "--assignment", "3"]
    )
    assert r.exit_code == 0, r.output
    late = drawn[(drawn["area_id"] == 2) & (drawn["date"] >= cut)]
    said = (
        "hot spot 3 (Hot spot 2 redrawn) takes the days drawn for hot spot 2 (Hot spot 2), which "
        f"it replaced, in assignment seed 3: 2025-01-20 to 2025-02-02, {int(late['patrol'].sum())}"
        " of 14 days patrol"
    )
    assert said in " ".join(r.output.split()), r.output
    with Store(sqlite_url) as st:
        v = load_plan_visits(st, 1)
        params = get_plan(st, 1)["params"]
        # the stored assignment is the draw as it was made: nothing redrawn or added
        pd.testing.assert_frame_equal(load_assignment(st, 3), drawn)
    assert params["handed_over"] == [
        {
            "area_id": 3,
            "from_area_id": 2,
            "first": "2025-01-20",
            "last": "2025-02-02",
            "days": 14,
            "patrol_days": int(late["patrol"].sum()),
            "assignment_seed": 3,
        }
    ]
    patrol = drawn[drawn["patrol"]]
    two = patrol[patrol["area_id"] == 2]
    assert set(v.loc[v["area_id"] == 3, "date"]) == set(two.loc[two["date"] >= cut, "date"])
    assert set(v.loc[v["area_id"] == 2, "date"]) == set(two.loc[two["date"] < cut, "date"])
    assert set(v.loc[v["area_id"] == 1, "date"]) == set(patrol.loc[patrol["area_id"] == 1, "date"])

    seen: dict[str, pd.DataFrame] = {}

    def spy(*args: object, **kw: object) -> None:
        seen["assignment"] = kw["assignment"]  # type: ignore[assignment]
        raise InputError("stop")

    monkeypatch.setattr(patrol_days, "build_panel", spy)
    r = CliRunner().invoke(
        app, [*db, "evaluate", "patrol-days", "--start", "2025-01-06", "--end", "2025-02-02"]
    )
    assert "stop" in str(r.exception), r.output
    a = seen["assignment"]
    assert len(a) == 56  # each drawn day once: 2's last two weeks are 3's, not both
    assert a.loc[a["area_id"] == 2, "date"].max() == cut - dt.timedelta(days=1)
    three = a[a["area_id"] == 3]
    assert (three["drawn_for"] == 2).all() and set(three["date"]) == set(late["date"])
    assert set(three.loc[three["patrol"], "date"]) == set(v.loc[v["area_id"] == 3, "date"])
