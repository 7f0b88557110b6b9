"""The hotspots CLI over a real store (SQLite and PostgreSQL), the seven planted hot spots of the
synthetic city recovered end to end, and the demo step."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.config import get_settings
from patrolwise.demo.step_target import run as run_demo_step
from patrolwise.errors import InputError
from patrolwise.store import Store
from patrolwise.store.areas import load_areas
from patrolwise.synth import make_city
from patrolwise.target.filters import select_crimes
from patrolwise.target.select import select_hotspots
from patrolwise.target.surface import find_surface

runner = CliRunner()


@pytest.fixture(scope="module")
def city():  # type: ignore[no-untyped-def]
    return make_city(seed=0)


@pytest.fixture(scope="module")
def city_files(city, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """The city's files, written once for the module (about 2 s each time): tests only read them."""
    return city.write(tmp_path_factory.mktemp("city"))  # type: ignore[no-any-return]


def _run(url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", url, *args], catch_exceptions=True)


def _overlap(found: gpd.GeoDataFrame, planted: gpd.GeoDataFrame) -> int:
    return sum(
        bool(shapely.intersects(g, planted.geometry.to_numpy()).any()) for g in found.geometry
    )


def test_library_recovers_planted_hotspots(city) -> None:  # type: ignore[no-untyped-def]
    crimes = select_crimes(city.crimes, start=city.before[0], end=city.before[1])
    s = find_surface(crimes, method="gistar", weight="harm")
    hs = select_hotspots(s, 7)
    assert len(hs) == 7 and _overlap(hs, city.hotspots) >= 6
    assert (hs["width_m"] <= 150 + 1e-6).all()


def test_cli_find_recovers_planted_hotspots(
    city, city_files, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    files = city_files
    csvs = sorted(Path(files["police_uk"]).rglob("*.csv"))
    res = _run(sqlite_url, "import", "crimes", *map(str, csvs), "--json")
    assert res.exit_code == 0, res.output
    out = tmp_path / "hs.geojson"
    start, end = (d.isoformat() for d in city.before)
    res = _run(
        sqlite_url, "hotspots", "find", "--start", start, "--end", end, "--method", "gistar",
        "--weight", "harm", "--top", "7", "--out", str(out), "--out", str(tmp_path / "hs.csv"),
        "--cells-out", str(tmp_path / "cells.parquet"), "--hours", "14-20", "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert any("--hours skipped" in n for n in summary["notes"])  # police.uk: month only
    found = gpd.read_file(out).to_crs("EPSG:27700")
    assert len(found) == 7 and _overlap(found, city.hotspots) >= 6
    stored = load_areas(Store(sqlite_url, create=False), "hotspot")
    assert len(stored) == 7
    assert stored["method"].iloc[0] == "gistar"
    assert stored["params"].iloc[0]["weight"] == "harm"
    assert stored["params"].iloc[0]["top"] == 7
    assert stored["data_from"].iloc[0] == city.before[0]
    assert stored["active_from"].notna().all()
    assert (tmp_path / "cells.parquet").exists() and (tmp_path / "hs.csv").exists()


def test_cli_find_on_empty_store_is_a_clear_error(sqlite_url: str) -> None:
    res = _run(sqlite_url, "hotspots", "find", "--top", "3")
    assert isinstance(res.exception, InputError)
    assert "no crimes match the selection" in str(res.exception)
    res = _run(sqlite_url, "hotspots", "find", "--start", "2024-13-01")
    assert isinstance(res.exception, InputError) and "not a date" in str(res.exception)


def test_cli_find_top_below_one_is_refused(sqlite_url: str) -> None:
    """'hotspots find --top 0' skipped the selection ('if top:') and exited 0 having selected and
    stored nothing, without a word; --top 0 or -2 is now one clear line, before any crime is read
    (so even on an empty store the error is about --top)."""
    for bad in ("0", "-2"):
        res = _run(sqlite_url, "hotspots", "find", "--top", bad)
        assert isinstance(res.exception, InputError), res.output
        assert f"--top must be at least 1, not {bad}" in str(res.exception)


def test_cli_import_list_retire_replace(city, store_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "leicester.geojson"
    city.hotspots.to_crs("EPSG:4326").to_file(src)
    res = _run(store_url, "hotspots", "import", str(src), "--active-from", "2023-02-06", "--json")
    assert res.exit_code == 0, res.output
    ids = {r["name"]: r["area_id"] for r in json.loads(res.stdout)}
    assert set(ids) == set(city.hotspots["name"])
    # importing again changes nothing (idempotent on name and start date)
    res = _run(store_url, "hotspots", "import", str(src), "--active-from", "2023-02-06", "--json")
    assert {r["area_id"] for r in json.loads(res.stdout)} == set(ids.values())
    res = _run(store_url, "hotspots", "retire", str(ids["Market Place"]), "--on", "2023-06-30")
    assert res.exit_code == 0, res.output
    redrawn = city.hotspots[city.hotspots["name"] == "Clock Tower"].copy()
    redrawn["geometry"] = redrawn.geometry.buffer(10)
    redrawn["name"] = "Clock Tower (redrawn)"
    new_file = tmp_path / "redrawn.geojson"
    redrawn.to_crs("EPSG:4326").to_file(new_file)
    res = _run(
        store_url,
        "hotspots",
        "replace",
        str(ids["Clock Tower"]),
        str(new_file),
        "--on",
        "2023-05-01",
    )
    assert res.exit_code == 0, res.output
    res = _run(store_url, "hotspots", "list", "--active-on", "2023-07-01", "--json")
    names = {r["name"] for r in json.loads(res.stdout)}
    assert "Market Place" not in names and "Clock Tower" not in names
    assert "Clock Tower (redrawn)" in names and len(names) == 6
    allrows = {
        r["name"]: r for r in json.loads(_run(store_url, "hotspots", "list", "--json").stdout)
    }
    assert str(allrows["Clock Tower"]["active_to"]) == "2023-04-30"
    assert allrows["Clock Tower"]["replaced_by"] == allrows["Clock Tower (redrawn)"]["area_id"]
    area = load_areas(Store(store_url, create=False), "hotspot")
    orig = city.hotspots.set_index("name").geometry["Haymarket"]
    got = area.set_index("name").geometry["Haymarket"]
    assert got.symmetric_difference(orig).area < 1.0  # reprojection round trip, metres
    res = _run(store_url, "hotspots", "retire", str(ids["Haymarket"]), "--on", "2020-01-01")
    assert isinstance(res.exception, InputError)


def test_demo_step_target(city, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = SimpleNamespace(
        out=tmp_path, store=Store(sqlite_url), city=city, settings=get_settings(), results={}
    )
    sections = run_demo_step(ctx)  # type: ignore[arg-type]
    assert len(sections) == 1
    sec = sections[0]
    assert "<img" in sec.html and "Concentration" in sec.html and "Peak hours" in sec.html
    assert ctx.results["target"]["recovered"] >= 6
    assert any("planted hot spots recovered" in s for s in sec.summary)
    acc = ctx.results["target"]["accuracy"]
    assert 0 < acc["hit_rate"] < 1 and acc["pai"] > 1


def test_peaks_on_month_only_crimes_print_no_nan(
    city, city_files, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """police.uk crimes carry no time: every area's busiest-window share is undefined, and
    'hotspots peaks --json' wrote it as NaN, which is not JSON (strict parsers refuse the whole
    output); the table printed 'nan'. Undefined values are null in JSON and blank in tables."""
    files = city_files
    csv = sorted(Path(files["police_uk"]).rglob("*street*.csv"))[0]
    assert _run(sqlite_url, "import", "crimes", str(csv)).exit_code == 0
    hs = tmp_path / "hs.geojson"
    city.hotspots[["name", "geometry"]].to_file(hs, driver="GeoJSON")
    assert _run(sqlite_url, "hotspots", "import", str(hs)).exit_code == 0

    def strict(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    res = _run(sqlite_url, "hotspots", "peaks", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout, parse_constant=strict)
    assert data["summary"][0]["crimes_with_time"] == 0
    assert data["summary"][0]["window_share"] is None
    res = _run(sqlite_url, "hotspots", "peaks")
    assert res.exit_code == 0 and "nan" not in res.stdout.lower()


def test_concentration_title_counts_places(city_files, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With --places with_crime only units with a crime are ranked, but the table's title gave
    every cell of the grid ('concentration over 3,977,799 places' for Leicestershire's violence,
    where 9,505 cells hold a crime). The title now counts the places the shares are taken over."""
    files = city_files
    csv = sorted(Path(files["police_uk"]).rglob("*street*.csv"))[0]
    assert _run(sqlite_url, "import", "crimes", str(csv)).exit_code == 0
    res = _run(sqlite_url, "hotspots", "concentration", "--cell", "100", "--json")
    assert res.exit_code == 0, res.output
    every = json.loads(res.stdout)["table"][-1]["places"]  # top 10 % of every cell
    res = _run(sqlite_url, "hotspots", "concentration", "--cell", "100", "--places", "with_crime", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    some = json.loads(res.stdout)["table"][-1]["places"]  # top 10 % of cells with a crime
    assert some < every
    res = _run(sqlite_url, "hotspots", "concentration", "--cell", "100", "--places", "with_crime")  # fmt: skip
    assert res.exit_code == 0, res.output
    n = int(res.stdout.split("concentration over ")[1].split(" places")[0].replace(",", ""))
    assert -(-n * 10 // 100) == some  # ceil(10 % of the places counted)


def test_cli_find_default_cell_fits_in_max_size(
    sqlite_url: str, shared_data: Path, tmp_path: Path
) -> None:
    """A month of Leicestershire crimes: 'hotspots find --top 5' chose 120 m cells from the data
    and stored hot spots 170 m across under the default --max-size of 150 m. The cell chosen
    from the data is now at most the largest that fits in --max-size corner to corner (105 m),
    said in a note; a --cell given explicitly that does not fit is one clear line."""
    csv = shared_data / "police-uk" / "2022-08-leicestershire-street.csv"
    assert _run(sqlite_url, "import", "crimes", str(csv), "--json").exit_code == 0
    res = _run(sqlite_url, "hotspots", "find", "--method", "count", "--top", "5", "--no-store",
               "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["params"]["grid"]["cell"] == 105.0
    assert any("25-105 m, the largest cell within --max-size" in n for n in summary["notes"])
    assert len(summary["hotspots"]) == 5
    assert all(h["width_m"] <= 150.0 + 1e-6 for h in summary["hotspots"])
    res = _run(sqlite_url, "hotspots", "find", "--method", "count", "--top", "5", "--no-store",
               "--max-size", "200", "--json")  # fmt: skip
    assert json.loads(res.stdout)["params"]["grid"]["cell"] == 120.0  # the data's own choice
    res = _run(sqlite_url, "hotspots", "find", "--method", "count", "--top", "5", "--no-store",
               "--cell", "120")  # fmt: skip
    assert isinstance(res.exception, InputError)
    assert "120 m cell is 170 m across" in str(res.exception)


def test_cli_list_unknown_kind_is_refused(sqlite_url: str) -> None:
    """'hotspots list --kind hotspots' (a plural, a typo) printed an empty table, as if nothing
    were stored; import refuses the same kind. It is one clear line naming the kinds."""
    res = _run(sqlite_url, "hotspots", "list", "--kind", "hotspots")
    assert isinstance(res.exception, InputError), res.output
    assert "area kind 'hotspots' is not one of hotspot, comparison, buffer, exclusion" in str(
        res.exception
    )
    assert _run(sqlite_url, "hotspots", "list", "--kind", "exclusion").exit_code == 0


def test_cli_find_says_when_earlier_hot_spots_stay_active(
    city_files, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Finding hot spots for a new quarter stored them beside last quarter's, which stayed
    active with no end date: plans, dosage and evaluations from then on took both sets, and
    nothing said so. find now notes the earlier hot spots still active and how to retire them."""
    files = city_files
    csv = sorted(Path(files["police_uk"]).rglob("*street*.csv"))[0]
    assert _run(sqlite_url, "import", "crimes", str(csv)).exit_code == 0
    args = ("hotspots", "find", "--method", "count", "--top", "3", "--json")
    res = _run(sqlite_url, *args, "--active-from", "2023-01-01")
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout)
    assert not any("stored earlier" in n for n in first["notes"])
    old_ids = ", ".join(str(h["area_id"]) for h in first["hotspots"])
    res = _run(sqlite_url, *args, "--cell", "40", "--active-from", "2023-04-01")
    assert res.exit_code == 0, res.output
    assert (
        f"3 hot spots stored earlier are also active from 2023-04-01 (area {old_ids}): if these "
        "replace them, retire them with `patrolwise hotspots retire ID --on 2023-03-31`"
    ) in json.loads(res.stdout)["notes"]
    res = _run(sqlite_url, *args, "--cell", "40", "--active-from", "2023-04-01")  # the same again
    assert sum("stored earlier" in n for n in json.loads(res.stdout)["notes"]) == 1


def test_cli_find_unknown_force_names_the_stored_forces(
    city_files, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """'--force "synthshire police"' (case) or '--force Synthshire' said 'no crimes match
    the selection (0 of 0): widen the dates, hours, weekdays, categories or offences, or import
    crimes first', naming every filter but the one at fault. It now names --force and lists
    the forces stored."""
    files = city_files
    csv = sorted(Path(files["police_uk"]).rglob("*street*.csv"))[0]
    assert _run(sqlite_url, "import", "crimes", str(csv)).exit_code == 0
    stored = json.loads(_run(sqlite_url, "hotspots", "find", "--method", "count", "--json").stdout)[
        "crimes"
    ]
    assert stored > 0
    for typo in ("synthshire police", "Synthshire"):
        res = _run(sqlite_url, "hotspots", "concentration", "--force", typo)
        assert isinstance(res.exception, InputError), res.output
        assert f"--force {typo!r}: no stored crime falls within that force" in str(res.exception)
        assert "forces stored: 'Synthshire Police'" in str(res.exception)
    res = _run(sqlite_url, "hotspots", "concentration", "--force", "Synthshire Police")
    assert res.exit_code == 0, res.output


def test_cli_friday_night_with_an_end_date_keeps_its_small_hours(
    sqlite_url: str, tmp_path: Path
) -> None:
    """'hotspots find --weekdays Fri --hours 22-04 --end 2023-01-06' (a Friday) kept Friday
    22:00-23:59 but not Saturday 00:00-03:59: the store was read to the end date's own
    midnight, so the last night's small hours never reached the selection."""
    inc = tmp_path / "incidents.csv"
    rows = [
        ("A1", "2023-01-05 23:00"),  # Thursday night
        ("A2", "2023-01-06 01:00"),  # Thursday night
        ("A3", "2023-01-06 23:00"),  # Friday night
        ("A4", "2023-01-07 01:00"),  # Friday night
        ("A5", "2023-01-07 03:30"),  # Friday night
        ("A6", "2023-01-07 23:00"),  # Saturday night
    ]
    inc.write_text(
        "incident_id,occurred,offence,category,easting,northing\n"
        + "".join(
            f"{i},{t},Assault,violent-crime,{458000 + 10 * k},304000\n"
            for k, (i, t) in enumerate(rows)
        )
    )
    assert _run(sqlite_url, "import", "crimes", str(inc)).exit_code == 0
    find = ("hotspots", "find", "--method", "count", "--weight", "count", "--json")
    night = ("--hours", "22-04")
    for dates in ((), ("--end", "2023-01-06"), ("--start", "2023-01-06", "--end", "2023-01-06")):
        res = _run(sqlite_url, *find, *night, "--weekdays", "Fri", *dates)
        assert res.exit_code == 0, (dates, res.output, res.exception)
        assert json.loads(res.stdout)["crimes"] == 3, dates
    res = _run(sqlite_url, *find, *night, "--start", "2023-01-06", "--end", "2023-01-06")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["crimes"] == 3
