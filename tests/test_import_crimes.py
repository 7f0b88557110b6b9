"""Crime import: real police.uk files, every bad input named in the issue, idempotency."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import zipfile
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from patrolwise.config import reset_settings
from patrolwise.errors import FatalImportError
from patrolwise.harm import HarmRules
from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.crimes import load_crimes
from patrolwise.store.models import Crime, ImportBatch

HEADER = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context"
LEI = "Leicestershire Police,Leicestershire Police"


@functools.cache
def rows_in(path: Path) -> int:
    """Data rows counted independently with the csv module (zip members included); counted once
    per file and session (the shared files are read-only; the Lancashire archive takes seconds)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            return sum(
                sum(1 for _ in csv.reader(io.TextIOWrapper(z.open(n), encoding="utf-8-sig"))) - 1
                for n in z.namelist()
                if n.endswith("-street.csv")
            )
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Crime)) or 0)


def write(tmp: Path, name: str, body: str, encoding: str = "utf-8", crlf: bool = True) -> Path:
    p = tmp / name
    text = HEADER + "\n" + body
    if crlf:
        text = text.replace("\n", "\r\n")
    p.write_bytes(text.encode(encoding))
    return p


def one(summaries):  # type: ignore[no-untyped-def]
    assert len(summaries) == 1
    s = summaries[0]
    assert s.rows_read == s.imported + s.already_present + s.rejected
    return s


def test_real_leicestershire_zip_reconciles_and_reimport_adds_nothing(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    z = shared_data / "police-uk" / "leicestershire-2020-11-to-2022-10.zip"
    with Store(store_url) as store:
        s1 = one(import_crimes(store, [z], rejects_dir=tmp_path))
        assert s1.rows_read == rows_in(z) == 210_767
        assert s1.unmappable == 3_575
        # police.uk republishes a handful of crimes in two months under one Crime ID
        assert s1.rejected == 10 and s1.imported == 210_757
        rej = pd.read_csv(s1.rejects_file)
        assert (rej["reason"].str.contains("already imported for")).all()
        assert count(store) == 210_757
        assert s1.harm_asb == 20_505 and s1.harm_missing == {}
        assert len(s1.months) == 24
        s2 = one(import_crimes(store, [z], rejects_dir=tmp_path))
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 210_757, 10)
        # the same months as single downloads are already there too
        single = shared_data / "police-uk" / "2022-10-leicestershire-street.csv"
        s3 = one(import_crimes(store, [single], rejects_dir=tmp_path))
        assert (s3.imported, s3.already_present) == (0, rows_in(single))
        assert count(store) == 210_757


def test_unmappable_counts_only_rows_this_run_imported(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    """Re-importing a file reported its "No Location" rows as unmappable again though none was
    imported; unmappable counts rows without a location among those the run imported."""
    f = shared_data / "police-uk" / "2022-08-leicestershire-street.csv"
    with f.open(encoding="utf-8-sig", newline="") as fh:
        no_location = sum(1 for r in csv.DictReader(fh) if not r["Longitude"].strip())
    assert no_location > 0
    with Store(store_url) as store:
        s1 = one(import_crimes(store, [f], rejects_dir=tmp_path))
        assert s1.imported == rows_in(f) and s1.unmappable == no_location
        s2 = one(import_crimes(store, [f], rejects_dir=tmp_path))
        assert (s2.imported, s2.already_present, s2.unmappable) == (0, rows_in(f), 0)
        with store.session() as ses:
            batches = ses.execute(
                select(ImportBatch.imported, ImportBatch.unmappable).order_by(ImportBatch.id)
            ).all()
        assert [tuple(b) for b in batches] == [(rows_in(f), no_location), (0, 0)]
        assert int((~load_crimes(store)["mappable"].astype(bool)).sum()) == no_location


def test_every_shared_police_uk_file_imports(
    sqlite_url: str, shared_data: Path, tmp_path: Path
) -> None:
    files = sorted((shared_data / "police-uk").iterdir())
    with Store(sqlite_url) as store:
        res = import_crimes(store, files, rejects_dir=tmp_path)
        for f, s in zip(files, res, strict=True):
            assert s.rows_read == rows_in(f)
            assert s.rows_read == s.imported + s.already_present + s.rejected
        total_new = sum(s.imported for s in res)
        assert count(store) == total_new
        forces = load_crimes(store)["force"].value_counts()
        assert set(forces.index) == {"Leicestershire Police", "Lancashire Constabulary"}
        # the single months are already in the archive: a second look adds nothing
        singles = [f for f in files if f.suffix == ".csv"]
        again = import_crimes(store, singles, rejects_dir=tmp_path)
        assert sum(s.imported for s in again) == 0
        assert sum(s.already_present for s in again) == sum(rows_in(f) for f in singles)
        assert count(store) == total_new


def test_no_location_rows_kept_unmappable_and_asb_keys(sqlite_url: str, tmp_path: Path) -> None:
    body = (
        f",2022-10,{LEI},-1.1,52.6,On or near ,E01,Leicester 001A,Anti-social behaviour,,\n"
        f",2022-10,{LEI},-1.1,52.6,On or near ,E01,Leicester 001A,Anti-social behaviour,,\n"
        f"abc1,2022-10,{LEI},,,No Location,,,Violence and sexual offences,Under investigation,\n"
    )
    p = write(tmp_path, "a.csv", body)
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (s.imported, s.unmappable, s.harm_asb) == (3, 1, 2)
        df = load_crimes(store)
        assert df["mappable"].sum() == 2
        asb = df[df["category"] == "Anti-social behaviour"]
        assert asb["harm"].isna().all() and (asb["harm_status"] == "asb").all()
        assert asb["crime_key"].nunique() == 2  # two identical ASB reports are two events
        assert df.loc[df["crime_key"] == "abc1", "harm"].iloc[0] == pytest.approx(194.21)
        assert (df["precision"] == "month").all() and df["occurred_at"].isna().all()


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (
            f"x1,2022-10,{LEI},0,0,On or near A,E01,L,Robbery,,",
            "Longitude",
            "coordinates are (0, 0)",
        ),
        (f"x1,2022-10,{LEI},52.6,-1.1,On or near A,E01,L,Robbery,,", "Longitude", "look swapped"),
        (
            f"x1,2022-10,{LEI},2.35,48.85,On or near A,E01,L,Robbery,,",
            "Longitude",
            "outside the force area",
        ),
        (
            f"x1,2022-13,{LEI},-1.1,52.6,On or near A,E01,L,Robbery,,",
            "Month",
            "Month is not a YYYY-MM month",
        ),
        (
            f"x1,Oct 22,{LEI},-1.1,52.6,On or near A,E01,L,Robbery,,",
            "Month",
            "Month is not a YYYY-MM month: Oct 22 has no year, or is a day",
        ),
        (
            f"x1,2022-10,{LEI},-1.1,,On or near A,E01,L,Robbery,,",
            "Longitude",
            "only one of longitude/latitude",
        ),
        (
            f"x1,2022-10,{LEI},west,52.6,On or near A,E01,L,Robbery,,",
            "Longitude",
            "longitude is not a number",
        ),
        (f"x1,2022-10,{LEI},-1.1,52.6,On or near A,E01,L,,,", "Crime type", "Crime type is blank"),
    ],
)
def test_bad_rows_rejected_with_row_field_reason(
    sqlite_url: str, tmp_path: Path, line: str, field: str, reason: str
) -> None:
    good = f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
    p = write(tmp_path, "bad.csv", good + line + "\n")
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path / "rej"))
        assert (s.imported, s.rejected) == (1, 1)
        rej = pd.read_csv(s.rejects_file)
        assert rej.loc[0, "row"] == 3 and rej.loc[0, "field"] == field
        assert reason in rej.loc[0, "reason"]
        assert count(store) == 1


def test_duplicate_id_in_one_file(sqlite_url: str, tmp_path: Path) -> None:
    body = (
        f"d1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"d1,2022-10,{LEI},-1.14,52.63,On or near C,E01,L,Robbery,,\n"
    )
    p = write(tmp_path, "dup.csv", body)
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        rej = pd.read_csv(s.rejects_file)
        assert (s.imported, s.rejected) == (1, 1)
        assert rej.loc[0, "reason"] == "duplicate Crime ID: first seen at row 2"


def test_a_duplicate_of_a_rejected_row_is_not_lost_with_it(sqlite_url: str, tmp_path: Path) -> None:
    # found by the import QA pass: when a Crime ID's first row was rejected (here: no month), its
    # good second row was rejected too, as a "duplicate" of a row that was never imported
    body = (
        f"d2,2022-1x,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"d2,2022-10,{LEI},-1.14,52.63,On or near C,E01,L,Robbery,,\n"
        f"d2,2022-10,{LEI},-1.15,52.63,On or near D,E01,L,Robbery,,\n"
    )
    p = write(tmp_path, "dup2.csv", body)
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (s.imported, s.rejected) == (1, 2)
        rej = pd.read_csv(s.rejects_file).set_index("row")
        assert "month" in rej.loc[2, "reason"].lower()
        assert rej.loc[4, "reason"] == "duplicate Crime ID: first seen at row 3"
        assert load_crimes(store)["location"].tolist() == ["On or near C"]
        again = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (again.imported, again.already_present, again.rejected) == (0, 1, 2)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])  # utf-16: with its BOM
def test_bom_and_cp1252(sqlite_url: str, tmp_path: Path, encoding: str) -> None:
    p = write(
        tmp_path,
        "enc.csv",
        f"e1,2022-10,{LEI},-1.13,52.63,On or near Caf\u00e9 Street,E01,L,Robbery,,\n",
        encoding,
    )
    with Store(sqlite_url) as store:
        one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert load_crimes(store)["location"].iloc[0] == "On or near Caf\u00e9 Street"


def test_fatal_errors_write_nothing(store_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("Crime ID,Month,Falls within,Longitude,Latitude\r\nx,2022-10,L,-1.1,52.6\r\n")
    badzip = tmp_path / "broken.zip"
    badzip.write_bytes(b"PK\x03\x04 not really a zip")
    good = write(
        tmp_path, "good.csv", f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
    )
    with Store(store_url) as store:
        with pytest.raises(
            FatalImportError, match=r"empty\.csv: file is empty \(0 bytes\): nothing imported"
        ):
            import_crimes(store, [good, empty])
        with pytest.raises(FatalImportError, match=r"nocol\.csv: missing column\(s\) Crime type"):
            import_crimes(store, [nocol])
        with pytest.raises(FatalImportError, match=r"broken\.zip: not a readable zip archive"):
            import_crimes(store, [badzip])
        with pytest.raises(FatalImportError, match=r"missing\.csv: file not found"):
            import_crimes(store, [good, tmp_path / "missing.csv"])
        assert count(store) == 0
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_header_only_file_reads_zero_rows(sqlite_url: str, tmp_path: Path) -> None:
    p = write(tmp_path, "h.csv", "")
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p]))
        assert (s.rows_read, s.imported) == (0, 0)


def test_crash_mid_import_leaves_database_unchanged(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from patrolwise.store import crime_import

    good = write(tmp_path, "g.csv", f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n")
    second = write(
        tmp_path,
        "s.csv",
        "".join(
            f"s{i},2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n" for i in range(50)
        ),
    )
    with Store(store_url) as store:
        import_crimes(store, [good])
        calls = {"n": 0}
        real = crime_import._write_chunk

        def boom(*a, **k):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            real(*a, **k)
            raise RuntimeError("power cut")

        monkeypatch.setattr(crime_import, "_write_chunk", boom)
        with pytest.raises(RuntimeError):
            import_crimes(store, [second])
        assert calls["n"] == 1
        assert count(store) == 1


def test_a_failed_commit_leaves_no_rejects_report(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rejects report was written inside the transaction, before the commit: a commit that
    failed left a report of rejected rows for an import that never happened."""
    from sqlalchemy import event

    good = write(tmp_path, "g.csv", f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n")
    p = write(
        tmp_path,
        "mixed.csv",
        f"m1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"m2,2022-13,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f",2022-10,{LEI},-1.13,52.64,On or near C,E01,L,Anti-social behaviour,,\n",
    )
    rejects = tmp_path / "rej"
    with Store(store_url) as store:
        import_crimes(store, [good], rejects_dir=rejects)
        assert not rejects.exists()  # nothing rejected: no report

        def refuse(_conn: object) -> None:
            raise RuntimeError("disk full at commit")

        event.listen(store.engine, "commit", refuse)
        with pytest.raises(RuntimeError, match="disk full at commit"):
            import_crimes(store, [p], rejects_dir=rejects)
        event.remove(store.engine, "commit", refuse)
        assert not rejects.exists() or list(rejects.iterdir()) == []
        assert list(load_crimes(store)["crime_key"]) == ["g1"]
        with store.session() as ses:
            assert ses.scalar(select(func.count()).select_from(ImportBatch)) == 1
            assert (
                int(pd.read_sql("SELECT count(*) FROM crime_places", ses.connection()).iloc[0, 0])
                == 1
            )
        # committed, the same import writes its report and records it with its batch
        s = one(import_crimes(store, [p], rejects_dir=rejects))
        assert (s.imported, s.rejected) == (2, 1)
        assert [f.name for f in rejects.iterdir()] == [Path(s.rejects_file).name]
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [3] and rej.loc[0, "field"] == "Month"
        with store.session() as ses:
            details = ses.scalars(
                select(ImportBatch.details).order_by(ImportBatch.id.desc())
            ).first()
        assert details["rejects_file"] == s.rejects_file


def test_a_rejects_folder_that_cannot_be_written_is_said_after_the_import(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = write(
        tmp_path,
        "mixed.csv",
        f"m1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"m2,2022-13,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n",
    )
    not_a_folder = tmp_path / "rej"
    not_a_folder.write_text("a file where the folder should be")
    with Store(sqlite_url) as store:
        with pytest.raises(
            FatalImportError,
            match=r"mixed\.csv: imported \(batch \d+, 1 new row\(s\)\), but its rejects report "
            r"could not be written in .*rej .*--rejects FOLDER",
        ):
            import_crimes(store, [p], rejects_dir=not_a_folder)
        assert count(store) == 1
        s = one(import_crimes(store, [p], rejects_dir=tmp_path / "rej2"))
        assert (s.imported, s.already_present, s.rejected) == (0, 1, 1)
        assert pd.read_csv(s.rejects_file)["row"].tolist() == [3]


def test_incident_extract_times_and_dst(store_url: str, tmp_path: Path) -> None:
    p = tmp_path / "inc.csv"
    p.write_text(
        "Incident ID,Date Committed,Offence,HO Code,Easting,Northing,Beat\n"
        "I1,2023-07-01 14:30,Assault with injury,8N,458600,304300,C1\n"
        "I2,26/03/2023 01:30,Robbery of personal property,34B,458610,304310,C1\n"
        "I3,2023-10-29 01:30,Common assault,105A,458620,304320,C2\n"
        "I4,yesterday,Common assault,105A,458620,304320,C2\n"
        "I5,2023-01-15 23:30,Common assault,105A,0,0,C2\n"
    )
    with Store(store_url) as store:
        s = one(
            import_crimes(store, [p], mapping={"occurred": "Date Committed"}, rejects_dir=tmp_path)
        )
        assert (s.imported, s.rejected) == (3, 2)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [5, 6]
        assert "date-time not understood" in rej.loc[0, "reason"]
        df = load_crimes(store).set_index("crime_key")
        # BST: 14:30 local is 13:30 UTC
        assert df.loc["I1", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")
        # 01:30 on the spring-forward Sunday does not exist: shifted to 02:00 BST = 01:00 UTC
        assert df.loc["I2", "occurred_at"] == pd.Timestamp("2023-03-26 01:00")
        # 01:30 on the fall-back Sunday happens twice: the first (BST) is taken = 00:30 UTC
        assert df.loc["I3", "occurred_at"] == pd.Timestamp("2023-10-29 00:30")
        assert (df["precision"] == "datetime").all()
        assert df.loc["I1", "month"] == "2023-07"
        assert df["harm_status"].eq("missing").all()  # HO codes are not in the category table
        assert sum(s.harm_missing.values()) == 3


def test_user_harm_table_by_ho_code(sqlite_url: str, tmp_path: Path) -> None:
    from patrolwise.harm import read_table_file
    from patrolwise.store.harm_tables import save_table

    t = tmp_path / "cchi.csv"
    t.write_text("HO code,Offence,CCHI days\n8N,Assault with injury,365\n105A,Common assault,10\n")
    table = read_table_file(
        t, name="cchi", version="2026", key_column="HO code", harm_column="CCHI days"
    )
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,ho_code,lat,lon\nA,2023-07-01 14:30,Assault,8N,52.63,-1.13\nB,2023-07-01 15:30,Theft,49,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        save_table(store, table, make_default=True)
        s = one(import_crimes(store, [p]))
        assert s.harm_table == "cchi 2026" and s.harm_missing == {"Theft": 1}
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["A", "harm"] == 365 and df.loc["B", "harm_status"] == "missing"
        assert s.harm_notes == []
        # the table has no proactive column: --exclude-proactive can exclude nothing, and says so
        q = tmp_path / "inc2.csv"
        q.write_text(p.read_text().replace("A,", "C,").replace("B,", "D,"))
        s2 = one(import_crimes(store, [q], rules=HarmRules(exclude_proactive=True)))
        assert s2.harm_excluded == 0
        assert len(s2.harm_notes) == 1 and "marks no offence as proactive" in s2.harm_notes[0]


def test_harm_rules_asb_floor_and_proactive(sqlite_url: str, tmp_path: Path) -> None:
    body = (
        f",2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,\n"
        f"p1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Drugs,,\n"
        f"p2,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Possession of weapons,,\n"
        f"p3,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
    )
    p = write(tmp_path, "r.csv", body)
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rules=HarmRules(asb_floor=1.0, exclude_proactive=True)))
        assert s.harm_excluded == 2
        df = load_crimes(store).set_index("category")
        assert df.loc["Anti-social behaviour", "harm"] == 1.0
        assert df.loc["Drugs", "harm_status"] == "excluded" and pd.isna(df.loc["Drugs", "harm"])
        assert df.loc["Robbery", "harm"] == 365


row_strategy = st.tuples(
    st.sampled_from(["", "id1", "id2", "id3", "id4"]),
    st.sampled_from(["2022-09", "2022-10", "2022-1x"]),
    st.sampled_from(["-1.13,52.63", ",", "0,0", "52.6,-1.1"]),
    st.sampled_from(["Robbery", "Anti-social behaviour", "Drugs", ""]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row_strategy, max_size=12))
def test_property_reimport_is_a_noop(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str, str]]
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    body = "".join(f"{i},{m},{LEI},{ll},On or near B,E01,L,{c},,\n" for i, m, ll, c in rows)
    p = write(tmp, "p.csv", body)
    with Store(sqlite_url) as store:
        before = count(store)
        s1 = one(import_crimes(store, [p], rejects_dir=tmp))
        after1 = count(store)
        assert after1 == before + s1.imported
        s2 = one(import_crimes(store, [p], rejects_dir=tmp))
        assert s2.imported == 0
        assert count(store) == after1
        assert s2.rows_read == s1.rows_read
        assert s2.already_present + s2.rejected == s2.rows_read


def test_chunked_parse_matches_whole_file() -> None:
    """State crosses chunk boundaries: duplicate IDs and repeated ASB rows are keyed as in one go."""
    import io as _io

    from patrolwise.io import police_uk

    lines = [
        f"d1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,",
        f",2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,",
        f",2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,",
        f"d1,2022-10,{LEI},-1.14,52.63,On or near C,E01,L,Robbery,,",
        f",2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,",
    ]
    raw = ("\r\n".join([HEADER, *lines]) + "\r\n").encode()
    kw = {"crs": "EPSG:27700", "bbox": (-8.7, 49.8, 1.9, 60.95)}
    whole = list(police_uk.parse_file(lambda: _io.BytesIO(raw), "f.csv", chunksize=100, **kw))
    parts = list(police_uk.parse_file(lambda: _io.BytesIO(raw), "f.csv", chunksize=2, **kw))
    assert len(whole) == 1 and len(parts) == 3
    keys_whole = list(whole[0].rows["crime_key"])
    keys_parts = [k for p in parts for k in p.rows["crime_key"]]
    assert keys_whole == keys_parts and len(set(keys_parts)) == 4
    rej = pd.concat([p.rejects for p in parts])
    assert (
        list(rej["row"]) == [5]
        and rej["reason"].iloc[0] == "duplicate Crime ID: first seen at row 2"
    )


def test_single_head_migration_chain() -> None:
    from alembic.script import ScriptDirectory

    from patrolwise.store.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def test_a_harm_table_is_read_by_what_it_is_not_by_its_name(tmp_path: Path) -> None:
    """A CSV saved as 'cchi.xlsx' was answered with pandas' 'Excel file format cannot be
    determined, you must specify an engine manually'; a workbook named '.csv' was read as a
    table of binary noise ('missing column ... columns are: PK...'). The first bytes decide."""
    from patrolwise.harm import read_table_file

    args = {"name": "x", "version": "1", "key_column": "code", "harm_column": "days"}
    as_xlsx = tmp_path / "cchi.xlsx"
    as_xlsx.write_text("code,days\n8N,365\n105A,10\n")
    assert list(read_table_file(as_xlsx, **args).values["harm"]) == [365, 10]
    as_csv = tmp_path / "cchi.csv"
    with pd.ExcelWriter(as_csv, engine="openpyxl") as xw:
        pd.DataFrame({"code": ["8N"], "days": [365]}).to_excel(xw, index=False)
    assert list(read_table_file(as_csv, **args).values["key"]) == ["8N"]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 cut short in the download")
    with pytest.raises(FatalImportError, match=r"not a readable Excel workbook \(\.xlsx\)"):
        read_table_file(broken, **args)
    xls = tmp_path / "cchi.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(FatalImportError, match=r"Excel 97-2003 workbook \(\.xls\) cannot be read"):
        read_table_file(xls, **args)
    pdf = tmp_path / "cchi-paper.csv"
    pdf.write_bytes(b"%PDF-1.7\n...")
    with pytest.raises(FatalImportError, match="not a CSV file: it is a PDF document"):
        read_table_file(pdf, **args)


def test_user_harm_table_from_xlsx(sqlite_url: str, tmp_path: Path) -> None:
    """The official CCHI workbook is XLSX: a named sheet and its columns load as a versioned table."""
    from patrolwise.harm import read_table_file
    from patrolwise.store.harm_tables import list_tables, save_table

    book = tmp_path / "cchi.xlsx"
    with pd.ExcelWriter(book) as xw:
        pd.DataFrame({"notes": ["cover sheet"]}).to_excel(xw, sheet_name="Cover", index=False)
        pd.DataFrame(
            {
                "HO Offence Code": ["8N", "105A", "34B"],
                "CCHI Days": [365, 10, 365],
                "Proactive": ["N", "N", "N"],
            }
        ).to_excel(xw, sheet_name="CCHI 2026 values sheet", index=False)
    table = read_table_file(
        book,
        name="cchi",
        version="2026",
        key_column="HO Offence Code",
        harm_column="CCHI Days",
        sheet="CCHI 2026 values sheet",
    )
    assert dict(zip(table.values["key"], table.values["harm"], strict=True)) == {
        "8N": 365,
        "105A": 10,
        "34B": 365,
    }
    with Store(sqlite_url) as store:
        tid = save_table(store, table, make_default=True)
        assert save_table(store, table) == tid  # same name and version: stored once
        listed = list_tables(store)
        assert listed.loc[listed["id"] == tid, "keys"].iloc[0] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("code,days\n8N,lots\n")
    with pytest.raises(FatalImportError, match=r"row 2, column 'days': 'lots' is not a number"):
        read_table_file(bad, name="x", version="1", key_column="code", harm_column="days")
    # a key given twice must mean one thing (case and spaces aside); the same value twice is fine
    twice = tmp_path / "twice.csv"
    twice.write_text("code,days\n8N,365\n105A,10\n8n ,365\n")
    t2 = read_table_file(twice, name="x", version="1", key_column="code", harm_column="days")
    assert list(t2.values["key"]) == ["8N", "105A"]
    clash = tmp_path / "clash.csv"
    clash.write_text("code,days\n8N,365\n105A,10\n 8N,30\n")
    with pytest.raises(
        FatalImportError, match=r"row 4: key '8N' is already in row 2 with harm 365 \(here 30"
    ):
        read_table_file(clash, name="x", version="1", key_column="code", harm_column="days")


def test_incident_geojson_with_from_to_window(store_url: str, tmp_path: Path) -> None:
    """A GeoJSON extract whose crimes are known only to a window (e.g. a burglary over a weekend)."""
    import json as _json

    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.1332, 52.6346]},
            "properties": {
                "ref": "W1",
                "from": "2023-03-25 22:00",
                "to": "2023-03-26 09:00",
                "offence": "Burglary - residential",
                "beat": "C1",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.1330, 52.6340]},
            "properties": {
                "ref": "W2",
                "from": "2023-06-01 14:00",
                "to": "2023-06-01 13:00",
                "offence": "Robbery",
                "beat": "C1",
            },
        },
        {
            "type": "Feature",
            "geometry": None,
            "properties": {
                "ref": "W3",
                "from": "2023-06-02 10:00",
                "to": "",
                "offence": "Fraud",
                "beat": "C2",
            },
        },
    ]
    p = tmp_path / "extract.geojson"
    p.write_text(_json.dumps({"type": "FeatureCollection", "features": feats}))
    mapping = {"incident_id": "ref", "occurred_from": "from", "occurred_to": "to"}
    with Store(store_url) as store:
        s = one(import_crimes(store, [p], mapping=mapping, rejects_dir=tmp_path))
        assert (s.imported, s.rejected, s.unmappable) == (2, 1, 1)
        assert "window ends before it starts" in pd.read_csv(s.rejects_file)["reason"].iloc[0]
        df = load_crimes(store).set_index("crime_key")
        w1 = df.loc["W1"]
        assert w1["precision"] == "window" and pd.isna(w1["occurred_at"])
        # 22:00 GMT on the Saturday, 09:00 BST on the Sunday after the clocks went forward
        assert w1["occurred_from"] == pd.Timestamp("2023-03-25 22:00")
        assert w1["occurred_to"] == pd.Timestamp("2023-03-26 08:00")
        assert w1["month"] == "2023-03" and bool(w1["mappable"])
        assert not bool(df.loc["W3", "mappable"])
        assert s.rows_read == 3


def test_incident_geojson_in_british_national_grid(sqlite_url: str, tmp_path: Path) -> None:
    """A GIS export that names British National Grid in the (pre-RFC 7946) ``crs`` member has
    eastings and northings as coordinates: they are read as such, not refused as degrees out of
    range; an unknown CRS is one fatal line and writes nothing."""
    import json as _json

    def doc(crs_name: str) -> str:
        feats = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": c},
                "properties": {"ref": r, "when": "2023-06-01 14:30", "offence": "Robbery"},
            }
            for r, c in (("B1", [458_830.5, 304_420.25]), ("B2", [100.0, 100.0]))
        ]
        crs = {"type": "name", "properties": {"name": crs_name}}
        return _json.dumps({"type": "FeatureCollection", "crs": crs, "features": feats})

    p = tmp_path / "bng.geojson"
    p.write_text(doc("urn:ogc:def:crs:EPSG::27700"))
    mapping = {"incident_id": "ref", "occurred": "when"}
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], mapping=mapping, rejects_dir=tmp_path))
        # B2 is (100 m, 100 m) of the grid: in the sea off Cornwall, not in the force area
        assert (s.imported, s.rejected) == (1, 1)
        assert "outside the force area" in pd.read_csv(s.rejects_file)["reason"].iloc[0]
        b1 = load_crimes(store).set_index("crime_key").loc["B1"]
        assert b1["x"] == pytest.approx(458_830.5, abs=1e-6)
        assert b1["y"] == pytest.approx(304_420.25, abs=1e-6)
        import pyproj

        lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(
            458_830.5, 304_420.25
        )
        assert (b1["lon"], b1["lat"]) == (pytest.approx(lon, abs=1e-9), pytest.approx(lat))
        assert -1.14 < b1["lon"] < -1.12 and 52.62 < b1["lat"] < 52.65  # Leicester city centre
        # RFC 7946's own name for WGS84 longitude/latitude is read as degrees, as before
        w = tmp_path / "crs84.geojson"
        w.write_text(doc("urn:ogc:def:crs:OGC:1.3:CRS84").replace("458830.5", "-1.1321"))
        bad = tmp_path / "bad.geojson"
        bad.write_text(doc("EPSG:999999"))
        before = count(store)
        with pytest.raises(FatalImportError, match=r"bad\.geojson: GeoJSON 'crs'"):
            import_crimes(store, [bad], mapping=mapping, rejects_dir=tmp_path)
        assert count(store) == before
        s84 = one(import_crimes(store, [w], mapping=mapping, rejects_dir=tmp_path))
        assert s84.rejected == 2  # degrees expected: 304420.25 is no latitude, (100, 100) neither


def test_incident_offsets_across_a_clock_change(sqlite_url: str, tmp_path: Path) -> None:
    """An extract written with offsets mixes +00:00 and +01:00; each row keeps its instant."""
    p = tmp_path / "zoned.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "Z1,2023-03-25T23:30:00+00:00,Assault,52.63,-1.13\n"
        "Z2,2023-03-26T14:30:00+01:00,Assault,52.63,-1.13\n"
        "Z3,2023-03-26T15:30:00Z,Assault,52.63,-1.13\n"
        "Z4,2023-03-26 16:30,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p]))
        assert s.imported == 4
        df = load_crimes(store).set_index("crime_key")["occurred_at"]
        assert df["Z1"] == pd.Timestamp("2023-03-25 23:30")
        assert df["Z2"] == pd.Timestamp("2023-03-26 13:30")
        assert df["Z3"] == pd.Timestamp("2023-03-26 15:30")
        assert df["Z4"] == pd.Timestamp("2023-03-26 15:30")  # local BST, no offset given
        # local-day filtering: 23:30 UTC on the 25th is still the 25th in London (GMT)
        on_25 = load_crimes(
            store, start=pd.Timestamp("2023-03-25").date(), end=pd.Timestamp("2023-03-25").date()
        )
        assert list(on_25["crime_key"]) == ["Z1"]
        assert len(load_crimes(store, limit=2)) == 2


def _zip(tmp: Path, name: str, members: dict[str, str]) -> Path:
    p = tmp / name
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for n, body in members.items():
            z.writestr(n, (HEADER + "\n" + body).replace("\n", "\r\n"))
    return p


def test_rejects_of_an_archive_name_the_member_of_each_row(sqlite_url: str, tmp_path: Path) -> None:
    """A row number alone means nothing in a zip of 24 months: every reject names its member,
    including a Crime ID republished in a later month with different details."""
    z = _zip(
        tmp_path,
        "force.zip",
        {
            "2022-09/2022-09-leics-street.csv": (
                f"c1,2022-09,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,Under investigation,\n"
            ),
            "2022-10/2022-10-leics-street.csv": (
                f"c2,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
                f"c1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,Charged,\n"
            ),
        },
    )
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [z], rejects_dir=tmp_path))
        assert (s.imported, s.rejected) == (2, 1)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [3]
        assert rej["file"].iloc[0] == f"{z}!2022-10/2022-10-leics-street.csv"
        assert "already imported for 2022-09" in rej["reason"].iloc[0]


def test_damaged_archive_member_is_one_fatal_error(sqlite_url: str, tmp_path: Path) -> None:
    """A zip whose directory reads but whose member data is damaged (bad CRC) is a fatal error
    naming the member, not a traceback, and nothing from the archive is written."""
    body = "".join(
        f"c{i},2022-10,{LEI},-1.13,52.63,On or near B{i},E01,L,Robbery,,\n" for i in range(2000)
    )
    z = _zip(tmp_path, "damaged.zip", {"2022-10/2022-10-leics-street.csv": body})
    with zipfile.ZipFile(z) as zf:
        info = zf.infolist()[0]
    raw = bytearray(z.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    mid = start + info.compress_size // 2
    raw[mid : mid + 64] = bytes(64)
    z.write_bytes(bytes(raw))
    with Store(sqlite_url) as store:
        with pytest.raises(
            FatalImportError, match=r"damaged\.zip!2022-10/2022-10-leics-street\.csv: .*damaged"
        ):
            import_crimes(store, [z], rejects_dir=tmp_path)
        assert count(store) == 0
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_incident_dates_without_times_get_no_invented_time(sqlite_url: str, tmp_path: Path) -> None:
    """A date with no time is known to the day, a bare month to the month: neither becomes
    local midnight (which would file every such crime in the 00:00 hour, and in UTC on the
    day before)."""
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,time,offence,lat,lon\n"
        "T1,2023-07-01,14:30,Assault,52.63,-1.13\n"
        "D1,2023-07-01,,Assault,52.63,-1.13\n"
        "D2,26/03/2023,,Assault,52.63,-1.13\n"
        "M1,2023-08,,Assault,52.63,-1.13\n"
        "Y1,2023/07/01 2:30 PM,,Assault,52.63,-1.13\n"
        "E1,01/07/2023 2:30 PM,,Assault,52.63,-1.13\n"
    )
    w = tmp_path / "win.csv"
    w.write_text(
        "id,from,to,offence,lat,lon\n"
        "W1,2023-06-01,2023-06-02,Burglary,52.63,-1.13\n"
        "W2,2023-06-01 22:00,2023-06-01,Burglary,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p]))
        assert s.imported == 6
        one(import_crimes(store, [w], mapping={"occurred_from": "from", "occurred_to": "to"}))
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["T1", "precision"] == "datetime"
        assert df.loc["T1", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")
        # the local day as a window: BST midnight to midnight
        d1 = df.loc["D1"]
        assert d1["precision"] == "window" and pd.isna(d1["occurred_at"])
        assert d1["occurred_from"] == pd.Timestamp("2023-06-30 23:00")
        assert d1["occurred_to"] == pd.Timestamp("2023-07-01 23:00")
        assert d1["month"] == "2023-07"
        # the spring-forward day is 23 hours long
        d2 = df.loc["D2"]
        assert d2["occurred_from"] == pd.Timestamp("2023-03-26 00:00")
        assert d2["occurred_to"] == pd.Timestamp("2023-03-26 23:00")
        m1 = df.loc["M1"]
        assert m1["precision"] == "month" and m1["month"] == "2023-08"
        assert pd.isna(m1["occurred_at"]) and pd.isna(m1["occurred_from"])
        # year first is never read day first (dateutil's day-first made this 7 January)
        assert df.loc["Y1", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")
        assert df.loc["E1", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")
        # a window ending on a date ends at the end of that day
        assert df.loc["W1", "occurred_to"] == pd.Timestamp("2023-06-02 23:00")
        assert df.loc["W2", "occurred_to"] == pd.Timestamp("2023-06-01 23:00")


def test_incident_rows_with_too_many_or_too_few_fields(sqlite_url: str, tmp_path: Path) -> None:
    """A row with a stray extra field is rejected by row number, as in police.uk files; it neither
    shifts every row's columns (the first row's extra field made pandas take column 1 as the
    index) nor stops the file."""
    p = tmp_path / "ragged.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "X1,2023-07-01 10:00,Assault,52.63,-1.13,extra\n"
        "X2,2023-07-01 11:00,Assault,52.63,-1.13\n"
        "X3,2023-07-01 12:00\n"
        "X4,2023-07-01 13:00,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (s.rows_read, s.imported, s.rejected) == (4, 2, 2)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [2, 4]
        assert rej["reason"].str.contains("fields where the header has 5").all()
        df = load_crimes(store).set_index("crime_key")
        assert sorted(df.index) == ["X2", "X4"]
        assert df.loc["X2", "occurred_at"] == pd.Timestamp("2023-07-01 10:00")


def test_incident_geojson_odd_features(sqlite_url: str, tmp_path: Path) -> None:
    """A null feature is a fatal line naming it; a point with one coordinate is a rejected row."""
    import json as _json

    good = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.13, 52.63]},
        "properties": {"id": "G1", "occurred": "2023-07-01 10:00", "offence": "Assault"},
    }
    short = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.13]},
        "properties": {"id": "G2", "occurred": "2023-07-01 10:00", "offence": "Assault"},
    }
    p = tmp_path / "a.geojson"
    p.write_text(_json.dumps({"type": "FeatureCollection", "features": [good, short]}))
    n = tmp_path / "n.geojson"
    n.write_text(_json.dumps({"type": "FeatureCollection", "features": [good, None]}))
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (s.imported, s.rejected) == (1, 1)
        rej = pd.read_csv(s.rejects_file)
        assert rej["row"].iloc[0] == 3 and "only one of longitude/latitude" in rej["reason"].iloc[0]
        with pytest.raises(
            FatalImportError, match=r"n\.geojson: feature 2 is not a GeoJSON Feature"
        ):
            import_crimes(store, [n])
        assert count(store) == 1


def test_harm_table_name_and_version_cannot_hide_other_values(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Tables are never edited in place: loading other values under a stored name and version is
    an error, not a silent keep of the old values under a message counting the new ones."""
    from patrolwise.errors import InputError
    from patrolwise.harm import read_table_file
    from patrolwise.store.harm_tables import load_table, save_table

    a = tmp_path / "a.csv"
    a.write_text("code,days\n8N,365\n105A,10\n")
    b = tmp_path / "b.csv"
    b.write_text("code,days\n8N,999\n")
    kw = {"name": "cchi", "version": "2026", "key_column": "code", "harm_column": "days"}
    with Store(sqlite_url) as store:
        tid = save_table(store, read_table_file(a, **kw))
        assert save_table(store, read_table_file(a, **kw)) == tid  # the same again: fine
        with pytest.raises(InputError, match=r"cchi 2026 is already stored with other values"):
            save_table(store, read_table_file(b, **kw))
        stored = load_table(store, tid).values.set_index("key")["harm"].to_dict()
        assert stored == {"8N": 365, "105A": 10}


def test_overlong_harm_keys_are_rejected_rows_on_every_back_end(
    store_url: str, tmp_path: Path
) -> None:
    """A harm key longer than the crime field it is matched against could never match a crime:
    its row is left out naming row and reason (PostgreSQL failed the whole table with a raw
    StringDataRightTruncation, SQLite kept the useless key); a table built in code with such a
    key is refused alike on both back ends."""
    from patrolwise.errors import InputError
    from patrolwise.harm import HarmTable, read_table_file
    from patrolwise.store.harm_tables import list_tables, load_table, save_table

    t = tmp_path / "by_offence.csv"
    t.write_text(f"Offence,days\nAssault with injury,365\n{'x' * 301},10\nTheft,5\n")
    kw = {"name": "ons", "version": "1", "key_column": "Offence", "harm_column": "days"}
    table = read_table_file(t, key_kind="description", **kw)
    assert list(table.values["key"]) == ["Assault with injury", "Theft"]
    assert list(table.rejects["row"]) == [3] and list(table.rejects["field"]) == ["Offence"]
    assert "key is 301 characters, longer than 300" in table.rejects["reason"].iloc[0]
    codes = tmp_path / "by_code.csv"
    codes.write_text(f"code,days\n8N,365\n{'9' * 21},10\n")
    by_code = read_table_file(codes, **{**kw, "key_column": "code", "version": "2"})
    assert list(by_code.values["key"]) == ["8N"] and list(by_code.rejects["row"]) == [3]
    assert "longer than 20" in by_code.rejects["reason"].iloc[0]
    inc = tmp_path / "inc.csv"
    inc.write_text("id,occurred,offence,lat,lon\nA,2023-07-01 14:30,Theft,52.63,-1.13\n")
    with Store(store_url) as store:
        tid = save_table(store, table, make_default=True)
        assert save_table(store, read_table_file(t, key_kind="description", **kw)) == tid
        assert len(load_table(store, tid).values) == 2
        s = one(import_crimes(store, [inc], rejects_dir=tmp_path))
        assert s.harm_missing == {} and load_crimes(store)["harm"].iloc[0] == 5
        built = HarmTable(
            "code",
            "1",
            pd.DataFrame(
                {
                    "key_kind": ["description"],
                    "key": ["y" * 400],
                    "harm": [1.0],
                    "proactive": [False],
                    "note": [None],
                }
            ),
        )
        with pytest.raises(InputError, match="key is 400 characters, longer than 300"):
            save_table(store, built)
        assert list(list_tables(store)["name"]) == ["ons"]


def test_harm_key_lengths_are_the_store_columns() -> None:
    from patrolwise.harm import KEY_MAX_LENGTH
    from patrolwise.store.models import CrimeLabel, HarmValue

    crimes = CrimeLabel.__table__.c
    assert {
        "ho_code": crimes.ho_code.type.length,
        "description": crimes.offence.type.length,
        "category": crimes.category.type.length,
    } == KEY_MAX_LENGTH
    assert max(KEY_MAX_LENGTH.values()) <= HarmValue.__table__.c.key.type.length


def test_harm_rules_are_recorded_with_the_import(sqlite_url: str, tmp_path: Path) -> None:
    """An ASB floor or the proactive exclusion changes harm: the import batch records which."""
    body = f",2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,\n"
    p = write(tmp_path, "r.csv", body)
    with Store(sqlite_url) as store:
        s = one(import_crimes(store, [p], rules=HarmRules(asb_floor=1.0, exclude_proactive=True)))
        assert s.harm_rules == {"asb_floor": 1.0, "exclude_proactive": True}
        with store.session() as ses:
            details = ses.scalars(select(ImportBatch.details)).one()
        assert details["harm_rules"] == {"asb_floor": 1.0, "exclude_proactive": True}


def test_overlong_fields_are_rejected_rows_on_every_back_end(
    store_url: str, tmp_path: Path
) -> None:
    """A value longer than its column is a rejected row naming the field, on SQLite as on
    PostgreSQL (where COPY failed the whole file with a StringDataRightTruncation traceback)."""
    body = (
        f"{'c' * 101},2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"ok1,2022-10,{LEI},-1.13,52.63,On or near B,E01,{'L' * 101},Robbery,,\n"
        f"ok2,2022-10,{LEI},-1.13,52.63,On or near {'S' * 5000},E01,L,{'T' * 101},,\n"
        f"ok3,2022-10,{LEI},-1.13,52.63,On or near {'S' * 5000},E01,L,Robbery,,\n"
    )
    p = write(tmp_path, "long.csv", body)
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,offence,ho_code,lat,lon\n"
        f"I1,2023-07-01 14:30,{'O' * 301},8N,52.63,-1.13\n"
        f"I2,2023-07-01 14:30,Assault,{'8' * 21},52.63,-1.13\n"
        "I3,2023-07-01 14:30,Assault,8N,52.63,-1.13\n"
    )
    with Store(store_url) as store:
        s = one(import_crimes(store, [p], rejects_dir=tmp_path))
        assert (s.imported, s.rejected) == (1, 3)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [2, 3, 4]
        assert list(rej["field"]) == ["Crime ID", "LSOA name", "Crime type"]
        assert rej["reason"].str.contains("longer than 100 characters").all()
        si = one(import_crimes(store, [inc], rejects_dir=tmp_path))
        assert (si.imported, si.rejected) == (1, 2)
        rej = pd.read_csv(si.rejects_file)
        assert list(rej["field"]) == ["offence", "ho_code"]
        assert count(store) == 2
        assert (
            len(load_crimes(store).loc[lambda d: d["crime_key"] == "ok3", "location"].iloc[0])
            > 5000
        )


def test_load_crimes_keeps_dated_crimes_by_their_local_day(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a date without a time is stored as the window of its local day: it has a day, so a date
    # range keeps it by that day, not by its month (the 5th is not in "from the 20th")
    p = tmp_path / "inc.csv"
    p.write_text(
        "Incident ID,Date Committed,Offence,HO Code,Easting,Northing\n"
        "I1,2023-07-05,Common assault,105A,458600,304300\n"
        "I2,2023-07-25,Common assault,105A,458600,304300\n"
        "I3,2023-07-20 00:30,Common assault,105A,458600,304300\n"  # 19 Jul 23:30 UTC
    )
    with Store(store_url) as store:
        import_crimes(store, [p], mapping={"occurred": "Date Committed"}, rejects_dir=tmp_path)
        ids = lambda df: sorted(df["crime_id"])  # noqa: E731
        assert ids(load_crimes(store, start=dt.date(2023, 7, 20))) == ["I2", "I3"]
        assert ids(load_crimes(store, end=dt.date(2023, 7, 19))) == ["I1"]
        assert ids(load_crimes(store, start=dt.date(2023, 7, 6), end=dt.date(2023, 7, 24))) == [
            "I3"
        ]
        # days are the configured zone's: in New York I3 happened on the 19th (and I1's London
        # day spans two New York days, so it has no single day there: kept by its month)
        monkeypatch.setenv("PATROLWISE_TIMEZONE", "America/New_York")
        reset_settings()
        assert ids(load_crimes(store, start=dt.date(2023, 7, 20))) == ["I1", "I2"]
        assert ids(load_crimes(store, start=dt.date(2023, 7, 20), tz="Europe/London")) == [
            "I2",
            "I3",
        ]


def test_an_id_repeated_in_a_later_chunk_cites_its_first_row() -> None:
    # d1 first at row 2 (chunk 1), twice more in chunk 2 (rows 4 and 5) and once in chunk 3,
    # beside d2 whose first row is in chunk 2: every repeat names the very first row
    import io as _io

    from patrolwise.io import police_uk

    row = "{},2022-10," + LEI + ",-1.13,52.63,On or near B,E01,L,Robbery,,"
    ids = ["d1", "x1", "d1", "d1", "d2", "d2", "d1"]
    raw = ("\r\n".join([HEADER, *[row.format(i) for i in ids]]) + "\r\n").encode()
    kw = {"crs": "EPSG:27700", "bbox": (-8.7, 49.8, 1.9, 60.95)}
    for size in (2, 3, 100):
        parts = list(police_uk.parse_file(lambda: _io.BytesIO(raw), "f.csv", chunksize=size, **kw))
        rej = pd.concat([p.rejects for p in parts])
        assert list(rej["row"]) == [4, 5, 7, 8], size
        assert [r.rsplit(" ", 1)[1] for r in rej["reason"]] == ["2", "2", "6", "2"], size
        assert sorted(k for p in parts for k in p.rows["crime_id"]) == ["d1", "d2", "x1"]
