"""Crime labels (source, force, precision, offence, outcome, harm) stored once per combination, the
SQLite page size of new databases, and migration 0013 that moved the labels out of ``crimes``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import given, settings
from sqlalchemy import inspect, text

from patrolwise.io import police_uk
from patrolwise.io.crime_rows import LABEL_COLUMNS, _hash_key, label_hashes
from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.crimes import load_crimes
from patrolwise.store.db import PAGE_SIZE, init_db, make_engine

from .migrate import migrate as _migrate
from .side_by_side import side_by_side

KW = {"crs": "EPSG:27700", "bbox": (-8.7, 49.8, 1.9, 60.95)}
EXTRACT = (
    "Incident ID,Occurred,Offence,HO code,Latitude,Longitude\n"
    "INC-1,2023-07-01 14:30,Assault with injury,8/1,52.63,-1.13\n"
    "INC-2,2023-07-02 09:00,Robbery,34/1,52.64,-1.12\n"
    "INC-3,2023-07-03 22:15,Robbery,34/1,52.62,-1.14\n"
)


def _every_row(rows: pd.DataFrame) -> np.ndarray:
    """The reference: pandas' hash of every row's labels, one by one."""
    return _hash_key(pd.DataFrame({c: rows[c].array for c in LABEL_COLUMNS}), LABEL_COLUMNS)


TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "b", "Robbery", "Violence"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(*[TEXT] * len(LABEL_COLUMNS)), min_size=0, max_size=30), st.booleans())
def test_label_hashes_equal_hashing_every_row(cells: list[tuple], as_category: bool) -> None:
    df = pd.DataFrame(cells, columns=LABEL_COLUMNS, dtype=object)
    if as_category:  # the police.uk reader hands over categories, the extract reader objects
        df = df.astype({c: "category" for c in LABEL_COLUMNS[1::2]})
    got = label_hashes(df)
    assert got.dtype == np.int64 and len(got) == len(df)
    assert (got == _every_row(df)).all()
    # the store's label rows: the labels, then harm and its table hashed as numbers
    harm = np.array([[np.nan, 0.0, 1.5, 365.0][i % 4] for i in range(len(df))])
    df = df.assign(harm=harm, harm_table_id=np.arange(len(df)) % 2 + 1)
    ref = pd.DataFrame({c: df[c].array for c in LABEL_COLUMNS})
    ref = ref.assign(harm=harm, harm_table_id=df["harm_table_id"].to_numpy(dtype=np.float64))
    want = _hash_key(ref, LABEL_COLUMNS)
    assert (label_hashes(df, LABEL_COLUMNS, ("harm", "harm_table_id")) == want).all()


def test_label_hashes_too_many_combinations_to_number_still_match() -> None:
    # eight columns of 300 distinct values each: more combinations than a 62-bit number holds;
    # the reference hashes each row on its own (pandas' row hash depends on the row alone)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({c: [f"v{i}" for i in rng.permutation(300)] for c in LABEL_COLUMNS})
    one_by_one = [int(_every_row(df.iloc[[i]])[0]) for i in range(0, 300, 7)]
    assert label_hashes(df)[::7].tolist() == one_by_one


def test_a_rejected_or_repeated_row_leaves_no_label(sqlite_url: str, tmp_path: Path) -> None:
    """Labels are stored for the crimes a chunk stores: a row rejected as differing from the
    stored crime, or a file imported again under other harm rules, adds none (a force is listed
    as stored only once a crime of it is)."""
    from patrolwise.harm import HarmRules

    head = ",".join(police_uk.HEADER) + "\r\n"
    row = "a1,2022-10,{f},{f},-1.13,52.63,On or near B,E01,L,{c},,\r\n"
    one = tmp_path / "one.csv"
    one.write_text(
        head
        + row.format(f="Force One", c="Robbery")
        + row.replace("a1,", ",").format(f="Force One", c="Anti-social behaviour")
    )
    two = tmp_path / "two.csv"
    two.write_text(head + row.format(f="Force Two", c="Robbery"))

    def labels(store: Store) -> list[tuple[str, str]]:
        with store.engine.connect() as conn:
            q = "SELECT force, harm_status FROM crime_labels ORDER BY force, harm_status"
            return [tuple(r) for r in conn.execute(text(q))]

    with Store(sqlite_url) as store:
        import_crimes(store, [one], rejects_dir=tmp_path)
        before = labels(store)
        assert before == [("Force One", "asb"), ("Force One", "ok")]
        (s,) = import_crimes(store, [two], rejects_dir=tmp_path)
        assert (s.imported, s.rejected) == (0, 1)  # a1 already imported with other details
        (r,) = import_crimes(store, [one], rules=HarmRules(asb_floor=1.0), rejects_dir=tmp_path)
        assert (r.imported, r.already_present) == (0, 2)
        assert labels(store) == before


def test_police_uk_labels_stored_once_and_read_back(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    f = shared_data / "police-uk" / "2022-10-leicestershire-street.csv"
    df = pd.read_csv(f, dtype=object, keep_default_na=False)
    cols = ["Reported by", "Falls within", "Crime type", "Last outcome category"]
    with Store(store_url) as store:
        import_crimes(store, [f], rejects_dir=tmp_path)
        import_crimes(store, [f], rejects_dir=tmp_path)
        with store.engine.connect() as conn:
            n_labels = conn.execute(text("SELECT count(*) FROM crime_labels")).scalar_one()
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM crimes c LEFT JOIN crime_labels l "
                    "ON l.label_hash = c.label_hash WHERE l.label_hash IS NULL"
                )
            ).scalar_one()
        back = load_crimes(store)
    assert n_labels == len(df[cols].drop_duplicates())
    assert orphans == 0
    assert "force" not in {c["name"] for c in inspect(make_engine(store_url)).get_columns("crimes")}
    got = back.set_index("crime_key")
    sample = df[df["Crime ID"] != ""].head(300)
    assert (got.loc[sample["Crime ID"], "category"].to_numpy() == sample["Crime type"]).all()
    assert (got.loc[sample["Crime ID"], "force"].to_numpy() == sample["Falls within"]).all()
    assert set(back["precision"]) == {"month"}


def test_extract_labels_keep_offence_and_code(sqlite_url: str, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text(EXTRACT)
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [f], force="Force A", rejects_dir=tmp_path)
        assert s.imported == 3
        back = load_crimes(store).sort_values("crime_key")
        with store.engine.connect() as conn:
            labels = conn.execute(text("SELECT count(*) FROM crime_labels")).scalar_one()
    assert labels == 2  # the two robberies share theirs
    assert back["offence"].tolist() == ["Assault with injury", "Robbery", "Robbery"]
    assert back["ho_code"].tolist() == ["8/1", "34/1", "34/1"]
    assert set(back["force"]) == {"Force A"} and set(back["precision"]) == {"datetime"}


def test_new_sqlite_databases_get_the_page_size_old_ones_keep_theirs(
    tmp_path: Path, shared_data: Path
) -> None:
    new = tmp_path / "new.db"
    init_db(f"sqlite:///{new}")
    assert sqlite3.connect(new).execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t (x)")  # written: the page size is fixed from here on
    con.commit()
    con.close()
    f = shared_data / "police-uk" / "2022-10-leicestershire-street.csv"
    with Store(f"sqlite:///{old}") as store:
        (s,) = import_crimes(store, [f], rejects_dir=tmp_path)
        assert s.imported > 0 and len(load_crimes(store)) == s.imported
    assert sqlite3.connect(old).execute("PRAGMA page_size").fetchone()[0] == 4096


def test_migration_0013_moves_labels_and_reimport_adds_nothing(
    store_url: str, tmp_path: Path
) -> None:
    """Crimes stored before 0013 (labels as columns) get their labels' rows, hashed as the
    importer hashes them, so re-importing the same files adds nothing; downgrading puts the
    columns back as they were."""
    body = (
        "pu1,2022-10,Leicestershire Police,Leicestershire Police,-1.13,52.63,"
        "On or near B,E01,L,Robbery,Under investigation,\r\n"
        ",2022-10,Leicestershire Police,Leicestershire Police,-1.13,52.63,"
        "On or near B,E01,L,Anti-social behaviour,,\r\n"
    )
    pu = tmp_path / "street.csv"
    pu.write_bytes((",".join(police_uk.HEADER) + "\r\n" + body).encode())
    x = tmp_path / "x.csv"
    x.write_text(EXTRACT)
    with Store(store_url) as store:
        import_crimes(store, [pu], rejects_dir=tmp_path)
        import_crimes(store, [x], force="Force A", rejects_dir=tmp_path)
        before = load_crimes(store).sort_values("crime_key").reset_index(drop=True)
    _migrate(store_url, "0012", up=False)
    eng = make_engine(store_url)
    with eng.connect() as conn:
        old = pd.read_sql(
            text("SELECT crime_id, source_kind, force, precision, category, outcome FROM crimes"),
            conn,
        )
        assert "crime_labels" not in inspect(conn).get_table_names()
    eng.dispose()
    assert sorted(old["source_kind"]) == ["incidents"] * 3 + ["police_uk"] * 2
    assert old.loc[old["crime_id"] == "pu1", "outcome"].tolist() == ["Under investigation"]
    assert old.loc[old["crime_id"].isna(), "outcome"].isna().all()  # NULL stays NULL
    _migrate(store_url, "head", up=True)
    with Store(store_url) as store:
        after = load_crimes(store).sort_values("crime_key").reset_index(drop=True)
        pd.testing.assert_frame_equal(after, before)
        (a,) = import_crimes(store, [pu], rejects_dir=tmp_path)
        (b,) = import_crimes(store, [x], force="Force A", rejects_dir=tmp_path)
        assert (a.imported, a.already_present, b.imported, b.already_present) == (0, 2, 0, 3)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM crime_labels")).scalar_one() == 4


def test_two_imports_at_once_both_finish_and_store_each_crime_once(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    """Two analysts importing the same months at the same moment into a new database: both
    first imports add the packaged harm table, and each crime, place and label is stored once
    (the second import of a file finds the first's rows already present)."""
    files = [
        shared_data / "police-uk" / f"2022-{m:02d}-leicestershire-street.csv" for m in (8, 9, 10)
    ]
    with Store(store_url) as store:
        done = side_by_side(lambda k: import_crimes(store, files, rejects_dir=tmp_path / str(k)))
        for i in range(len(files)):
            a, b = done[0][i], done[1][i]
            assert a.rows_read == b.rows_read
            assert (a.imported + b.imported, a.rejected, b.rejected) == (a.rows_read, 0, 0)
            assert a.already_present + b.already_present == a.rows_read
        back = load_crimes(store)
        with store.engine.connect() as conn:
            tables = conn.execute(text("SELECT count(*) FROM harm_tables")).scalar_one()
            labels = conn.execute(text("SELECT count(*) FROM crime_labels")).scalar_one()
            used = conn.execute(text("SELECT count(DISTINCT label_hash) FROM crimes")).scalar_one()
    assert len(back) == sum(done[0][i].rows_read for i in range(len(files)))
    assert back["crime_key"].is_unique and tables == 1
    assert labels == used > 0
