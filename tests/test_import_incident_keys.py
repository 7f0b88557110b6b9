"""Incident keys hold the force: two forces' extracts that share incident IDs are different
crimes, and databases keyed the old way (the ID alone) are rewritten by migration 0010."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, inspect, text

from patrolwise.io import incidents
from patrolwise.io.crime_rows import place_hashes
from patrolwise.store import Store
from patrolwise.store.crime_import import import_crime_file, import_crimes, key_hash
from patrolwise.store.crimes import load_crimes
from patrolwise.store.db import init_db, make_engine

from .migrate import migrate as _migrate

EXTRACT_HEADER = "Incident ID,Occurred,Offence,Latitude,Longitude\n"
#: the same incident IDs (both forces number from INC-1), different crimes
FORCE_A = (
    EXTRACT_HEADER
    + "INC-1,2023-07-01 14:30,Assault with injury,52.63,-1.13\n"
    + "INC-2,2023-07-02 09:00,Robbery,52.64,-1.12\n"
    + ",2023-07-03 22:15,Criminal damage,52.62,-1.14\n"
)
FORCE_B = (
    EXTRACT_HEADER
    + "INC-1,2023-08-11 01:10,Burglary,53.76,-2.70\n"
    + "INC-2,2023-08-12 17:45,Theft from the person,53.75,-2.71\n"
)
POLICE_UK = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
    "pu1,2022-10,Leicestershire Police,Leicestershire Police,-1.13,52.63,On or near B,E01,L,"
    "Robbery,,\n"
)


def _write(tmp: Path, name: str, body: str) -> Path:
    p = tmp / name
    p.write_text(body)
    return p


def _hash(key: str) -> int:
    return int(
        pd.util.hash_array(np.array([key], dtype=object), categorize=False).view(np.int64)[0]
    )


def _crimes(eng: Engine) -> str:
    """The crimes with their force and source, as SQL for any revision: before 0013 they are
    columns of ``crimes``, from it columns of the crime's ``crime_labels`` row."""
    if "force" in {c["name"] for c in inspect(eng).get_columns("crimes")}:
        return "crimes"
    return (
        "(SELECT c.*, l.force, l.source_kind FROM crimes c "
        "JOIN crime_labels l ON l.label_hash = c.label_hash) AS crimes"
    )


def _import_as_before(url: str, path: Path, force: str | None = None) -> int:
    """Import a file as the importer did before revision 0013, into the schema as it was
    (force, source and the other labels are columns of ``crimes``): rows whose key is not
    stored yet are added, the rest skipped. Returns the rows added. The keys are the reader's,
    so a test patches them to the old format."""
    from patrolwise.io import police_uk
    from patrolwise.store.crime_places import store_places

    if path.read_text().startswith("Crime ID"):
        (parsed,) = police_uk.parse_file(
            lambda: path.open("rb"), str(path), crs="EPSG:27700", bbox=None
        )
    else:
        parsed = incidents.parse(path, crs="EPSG:27700", tz="Europe/London", bbox=None, force=force)
    rows = parsed.rows.assign(key_hash=key_hash(parsed.rows["crime_key"]))
    eng = make_engine(url)
    with eng.begin() as conn:
        stored = {int(h) for (h,) in conn.execute(text("SELECT key_hash FROM crimes"))}
        new = rows[~rows["key_hash"].isin(stored)]
        store_places(conn, new)
        cols = ["key_hash", "row_hash", "source_kind", "crime_id", "force", "reported_by"]
        cols += ["month", "precision", "occurred_at", "category", "offence", "ho_code"]
        out = new[cols].assign(
            row_key=new["crime_key"].where(new["crime_id"].isna(), None),
            place_hash=place_hashes(new),
            harm_status="ok",
        )
        out["occurred_at"] = pd.to_datetime(new["occurred_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
        out = out.astype(object).where(out.notna(), None)
        names = list(out.columns)
        if len(out):
            conn.execute(
                text(
                    f"INSERT INTO crimes ({', '.join(names)}) "
                    f"VALUES ({', '.join(':' + c for c in names)})"
                ),
                out.to_dict("records"),
            )
    eng.dispose()
    return len(out)


def _key_hashes(eng: Engine) -> dict[tuple[str | None, str | None], int]:
    """(force, crime ID or row key) -> stored key hash."""
    with eng.connect() as c:
        rows = c.execute(
            text(f"SELECT force, COALESCE(crime_id, row_key), key_hash FROM {_crimes(eng)}")
        ).all()
    return {(f, k): int(h) for f, k, h in rows}


def test_two_forces_extracts_sharing_incident_ids_both_import(
    store_url: str, tmp_path: Path
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B)
    with Store(store_url) as store:
        (sa,) = import_crimes(store, [a], force="Force A", rejects_dir=tmp_path / "rej")
        (sb,) = import_crimes(store, [b], force="Force B", rejects_dir=tmp_path / "rej")
        assert (sa.imported, sa.already_present, sa.rejected) == (3, 0, 0)
        assert (sb.imported, sb.already_present, sb.rejected) == (2, 0, 0)
        df = load_crimes(store)
        ided = df[df["crime_id"].notna()]
        assert sorted(zip(ided["force"], ided["crime_id"], strict=True)) == [
            ("Force A", "INC-1"),
            ("Force A", "INC-2"),
            ("Force B", "INC-1"),
            ("Force B", "INC-2"),
        ]
        assert df.loc[
            (df["force"] == "Force B") & (df["crime_id"] == "INC-1"), "offence"
        ].item() == ("Burglary")
        # re-importing either extract (as its own force) adds nothing
        (ra,) = import_crimes(store, [a], force="Force A", rejects_dir=tmp_path / "rej")
        (rb,) = import_crimes(store, [b], force="Force B", rejects_dir=tmp_path / "rej")
        assert (ra.imported, ra.already_present, ra.rejected) == (0, 3, 0)
        assert (rb.imported, rb.already_present, rb.rejected) == (0, 2, 0)
        assert len(load_crimes(store)) == 5
        # within one force an ID is still one crime: changed details are a reject naming the ID
        changed = _write(tmp_path, "a2.csv", FORCE_A.replace("Robbery", "Theft"))
        (rc,) = import_crimes(store, [changed], force="Force A", rejects_dir=tmp_path / "rej")
        assert (rc.imported, rc.already_present, rc.rejected) == (0, 2, 1)
        rej = pd.read_csv(rc.rejects_file)
        assert rej["value"].tolist() == ["INC-2"]
        assert "already imported for 2023-07" in rej.loc[0, "reason"]


def test_the_configured_force_names_an_extract_by_default(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from patrolwise.config import reset_settings

    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B)
    with Store(sqlite_url) as store:
        monkeypatch.setenv("PATROLWISE_FORCE", "Force A")
        reset_settings()
        assert import_crime_file(store, a, rejects_dir=tmp_path).imported == 3
        monkeypatch.setenv("PATROLWISE_FORCE", "Force B")
        reset_settings()
        assert import_crime_file(store, b, rejects_dir=tmp_path).imported == 2
        assert sorted(load_crimes(store)["force"]) == ["Force A"] * 3 + ["Force B"] * 2


def test_force_option_of_the_import_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B)

    def run(*args: str) -> dict:  # type: ignore[type-arg]
        r = subprocess.run(
            [sys.executable, "-m", "patrolwise.cli", "--db", db, "import", "crimes", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        return dict(json.loads(r.stdout)["totals"])

    assert run(str(a), "--force", "Force A", "--json")["imported"] == 3
    assert run(str(b), "--force", "Force B", "--json")["imported"] == 2
    assert run(str(b), "--force", "Force B", "--json")["already_present"] == 2
    with Store(db) as store:
        assert sorted(load_crimes(store)["force"]) == ["Force A"] * 3 + ["Force B"] * 2


def test_a_force_name_with_a_colon_cannot_run_into_the_id() -> None:
    # without the length, force 'A' + ID 'B:1' and force 'A:B' + ID '1' would be one key
    assert incidents.incident_key_prefix("A") + "B:1" != incidents.incident_key_prefix("A:B") + "1"
    assert incidents.incident_key_prefix(None) == incidents.incident_key_prefix("") == "i:0::"


def _at_0009(url: str) -> None:
    _migrate(url, "0009")


def test_migration_rewrites_old_incident_keys_and_reimport_adds_nothing(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B)
    pu = _write(tmp_path, "street.csv", POLICE_UK)
    _at_0009(store_url)
    # rows imported before revision 0010, by the importer as it was (an incident's key was
    # 'i:<ID>', a row without an ID's its content alone), into the schema as it was
    with monkeypatch.context() as m:
        m.setattr(incidents, "incident_key_prefix", lambda force: "i:")
        m.setattr(incidents, "content_key_suffix", lambda force: "")
        assert _import_as_before(store_url, a, "Force A") == 3
        assert _import_as_before(store_url, pu) == 1
        # the defect: the other force's incidents were taken for the first force's
        assert _import_as_before(store_url, b, "Force B") == 0
    eng = make_engine(store_url)
    before = _key_hashes(eng)
    with eng.connect() as c:
        rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert rev == "0009"
    assert before[("Force A", "INC-1")] == _hash("i:INC-1")
    _migrate(store_url, "0010", up=True)
    after = _key_hashes(eng)
    init_db(store_url)  # upgrade to head (0011 rekeys the rows without an ID)
    eng.dispose()
    assert after[("Force A", "INC-1")] == _hash("i:7:Force A:INC-1")
    assert after[("Force A", "INC-2")] == _hash("i:7:Force A:INC-2")
    # rows keyed by content, and police.uk rows, keep their keys
    assert {k: h for k, h in after.items() if not k[1].startswith("INC-")} == {
        k: h for k, h in before.items() if not k[1].startswith("INC-")
    }
    assert len(after) == 4
    with Store(store_url) as store:
        # the migration keys as the importer now does: re-importing finds every row
        parsed = incidents.parse(
            a, crs="EPSG:27700", tz="Europe/London", bbox=None, force="Force A"
        )
        ids = parsed.rows[parsed.rows["crime_id"].notna()]
        assert sorted(key_hash(ids["crime_key"]).tolist()) == sorted(
            after[("Force A", i)] for i in ids["crime_id"]
        )
        again = import_crime_file(store, a, force="Force A", rejects_dir=tmp_path)
        assert (again.imported, again.already_present, again.rejected) == (0, 3, 0)
        assert import_crime_file(store, pu, rejects_dir=tmp_path).already_present == 1
        # and the force whose rows were lost now imports them
        fixed = import_crime_file(store, b, force="Force B", rejects_dir=tmp_path)
        assert (fixed.imported, fixed.already_present, fixed.rejected) == (2, 0, 0)
        assert len(load_crimes(store)) == 6


def test_downgrade_restores_old_keys_or_refuses_when_forces_share_an_id(
    store_url: str, tmp_path: Path
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B)
    with Store(store_url) as store:
        import_crime_file(store, a, force="Force A", rejects_dir=tmp_path)
    _at_0009(store_url)
    eng = make_engine(store_url)
    assert _key_hashes(eng)[("Force A", "INC-2")] == _hash("i:INC-2")
    eng.dispose()
    with Store(store_url) as store:  # back to head
        import_crime_file(store, b, force="Force B", rejects_dir=tmp_path)
    with pytest.raises(RuntimeError, match="INC-.* is stored for more than one force"):
        _at_0009(store_url)


#: two forces' extracts holding the same row without an incident ID (same offence, time and
#: place text): two crimes, one in each force
UNKEYED = ",2023-07-03 22:15,Criminal damage,52.62,-1.14\n"
FORCE_B_UNKEYED = FORCE_B + UNKEYED
#: a police.uk anti-social behaviour row: no Crime ID, keyed by month and content
POLICE_UK_ASB = POLICE_UK + (
    ",2022-10,Leicestershire Police,Leicestershire Police,-1.13,52.63,On or near B,E01,L,"
    "Anti-social behaviour,,\n"
)


def _unkeyed(eng: Engine) -> dict[str | None, tuple[str, int]]:
    """force -> (row key, key hash) of the stored incident rows without an ID."""
    with eng.connect() as c:
        rows = c.execute(
            text(
                f"SELECT force, row_key, key_hash FROM {_crimes(eng)} "
                "WHERE source_kind = 'incidents' AND crime_id IS NULL"
            )
        ).all()
    assert len({f for f, _, _ in rows}) == len(rows)
    return {f: (k, int(h)) for f, k, h in rows}


def _asb_keys(eng: Engine) -> list[tuple[str, int]]:
    with eng.connect() as c:
        rows = c.execute(
            text(
                f"SELECT row_key, key_hash FROM {_crimes(eng)} "
                "WHERE source_kind = 'police_uk' AND crime_id IS NULL"
            )
        ).all()
    return sorted((k, int(h)) for k, h in rows)


def test_two_forces_identical_rows_without_an_id_both_import(
    store_url: str, tmp_path: Path
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B_UNKEYED)
    with Store(store_url) as store:
        (sa,) = import_crimes(store, [a], force="Force A", rejects_dir=tmp_path / "rej")
        (sb,) = import_crimes(store, [b], force="Force B", rejects_dir=tmp_path / "rej")
        assert (sa.imported, sa.already_present, sa.rejected) == (3, 0, 0)
        # the defect: Force B's row was counted as already present (Force A's) and lost
        assert (sb.imported, sb.already_present, sb.rejected) == (3, 0, 0)
        df = load_crimes(store)
        damage = df[df["offence"] == "Criminal damage"]
        assert sorted(damage["force"]) == ["Force A", "Force B"]
        assert damage["crime_id"].isna().all()
        # re-importing either extract (as its own force) adds nothing
        (ra,) = import_crimes(store, [a], force="Force A", rejects_dir=tmp_path / "rej")
        (rb,) = import_crimes(store, [b], force="Force B", rejects_dir=tmp_path / "rej")
        assert (ra.imported, ra.already_present, ra.rejected) == (0, 3, 0)
        assert (rb.imported, rb.already_present, rb.rejected) == (0, 3, 0)
        assert len(load_crimes(store)) == 6


def test_identical_rows_without_an_id_in_one_extract_stay_two_crimes(
    sqlite_url: str, tmp_path: Path
) -> None:
    twice = _write(tmp_path, "twice.csv", EXTRACT_HEADER + UNKEYED + UNKEYED)
    with Store(sqlite_url) as store:
        s = import_crime_file(store, twice, force="Force A", rejects_dir=tmp_path)
        assert (s.imported, s.already_present, s.rejected) == (2, 0, 0)
        again = import_crime_file(store, twice, force="Force A", rejects_dir=tmp_path)
        assert (again.imported, again.already_present, again.rejected) == (0, 2, 0)


def test_police_uk_rows_without_a_crime_id_keep_their_keys(tmp_path: Path) -> None:
    from patrolwise.io import police_uk

    pu = _write(tmp_path, "street.csv", POLICE_UK_ASB)
    (parsed,) = police_uk.parse_file(lambda: pu.open("rb"), str(pu), crs="EPSG:27700", bbox=None)
    asb = parsed.rows[parsed.rows["crime_id"].isna()]
    (h,) = asb["row_hash"].to_numpy(dtype=np.int64).view(np.uint64)
    assert asb["crime_key"].tolist() == [f"m2022-10:{int(h):016x}:0"]


def test_migration_0011_keys_rows_without_an_id_by_force_and_reimport_adds_nothing(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", EXTRACT_HEADER + UNKEYED)
    pu = _write(tmp_path, "street.csv", POLICE_UK_ASB)
    _migrate(store_url, "0010")
    # rows imported before revision 0011, by the importer as it was (a row without an ID was
    # keyed by its content alone), into the schema as it was
    with monkeypatch.context() as m:
        m.setattr(incidents, "content_key_suffix", lambda force: "")
        assert _import_as_before(store_url, a, "Force A") == 3
        assert _import_as_before(store_url, pu) == 2
        # the defect: the other force's identical row was taken for the first force's
        assert _import_as_before(store_url, b, "Force B") == 0
    eng = make_engine(store_url)
    (old_key, old_hash) = _unkeyed(eng)["Force A"]
    assert old_key.count(":") == 2 and old_hash == _hash(old_key)
    asb_before = _asb_keys(eng)
    assert len(asb_before) == 1 and asb_before[0][0].startswith("m2022-10:")
    init_db(store_url)  # upgrade to head
    (new_key, new_hash) = _unkeyed(eng)["Force A"]
    assert new_key == old_key + ":Force A" and new_hash == _hash(new_key)
    # police.uk anti-social behaviour rows keep their keys
    assert _asb_keys(eng) == asb_before
    with Store(store_url) as store:
        # the migration keys as the importer now does: re-importing finds every row
        parsed = incidents.parse(
            a, crs="EPSG:27700", tz="Europe/London", bbox=None, force="Force A"
        )
        assert parsed.rows.loc[parsed.rows["crime_id"].isna(), "crime_key"].tolist() == [new_key]
        again = import_crime_file(store, a, force="Force A", rejects_dir=tmp_path)
        assert (again.imported, again.already_present, again.rejected) == (0, 3, 0)
        assert import_crime_file(store, pu, rejects_dir=tmp_path).already_present == 2
        # and the force whose row was lost now imports it, once
        fixed = import_crime_file(store, b, force="Force B", rejects_dir=tmp_path)
        assert (fixed.imported, fixed.already_present, fixed.rejected) == (1, 0, 0)
        assert import_crime_file(store, b, force="Force B", rejects_dir=tmp_path).imported == 0
        assert sorted(_unkeyed(eng)) == ["Force A", "Force B"]
    eng.dispose()


def test_downgrade_below_0011_restores_content_keys_or_refuses_when_forces_share_a_row(
    store_url: str, tmp_path: Path
) -> None:
    a = _write(tmp_path, "a.csv", FORCE_A)
    b = _write(tmp_path, "b.csv", FORCE_B_UNKEYED)
    # a force whose name holds a colon: its key is cut back to the content alone all the same
    colon = _write(tmp_path, "c.csv", EXTRACT_HEADER + UNKEYED.replace("22:15", "23:15"))
    with Store(store_url) as store:
        import_crime_file(store, a, force="Force A", rejects_dir=tmp_path)
        import_crime_file(store, colon, force="Force: C", rejects_dir=tmp_path)
    eng = make_engine(store_url)
    at_head = _unkeyed(eng)
    _migrate(store_url, "0010")
    down = _unkeyed(eng)
    for f in ("Force A", "Force: C"):
        old = at_head[f][0].removesuffix(f":{f}")
        assert down[f] == (old, _hash(old)) and old.count(":") == 2
    init_db(store_url)  # back to head
    assert _unkeyed(eng) == at_head
    with Store(store_url) as store:
        import_crime_file(store, b, force="Force B", rejects_dir=tmp_path)
    with pytest.raises(
        RuntimeError, match="without an ID keyed 'n:.*' is stored for more than one"
    ):
        _migrate(store_url, "0010")
    eng.dispose()
