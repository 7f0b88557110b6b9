"""Crime places and the fast police.uk reader: same answers as the slow, obvious way."""

from __future__ import annotations

import io
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from alembic import command
from hypothesis import given, settings
from sqlalchemy import create_engine, text

from patrolwise.io import police_uk
from patrolwise.io.crime_rows import combine_hashes, content_hash, place_hashes
from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.crimes import load_crimes
from patrolwise.store.db import alembic_config, normalise_url

KW = {"crs": "EPSG:27700", "bbox": (-8.7, 49.8, 1.9, 60.95)}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.text(max_size=6), min_size=3, max_size=3),
        min_size=1,
        max_size=40,
    )
)
def test_combine_hashes_is_pandas_row_hash(cells: list[list[str]]) -> None:
    df = pd.DataFrame(cells, columns=["a", "b", "c"], dtype=object)
    cols = [pd.util.hash_array(df[c].to_numpy(dtype=object), categorize=False) for c in df]
    want = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
    assert (combine_hashes(cols) == want).all()


def test_reader_row_hash_and_keys_match_the_pandas_definition(shared_data: Path) -> None:
    """The Arrow reader hashes distinct values; the result must be pandas' hash of the raw rows
    (as the first reader stored it), or re-imports would stop being no-ops."""
    raw = (shared_data / "police-uk" / "2022-10-leicestershire-street.csv").read_bytes()
    # a padded Crime ID exercises the stripped-key path
    raw = raw.replace(b"\r\n", b"\r\n ", 1)
    df = pd.read_csv(io.BytesIO(raw), dtype=object, keep_default_na=False, encoding="utf-8-sig")
    want = content_hash(df[police_uk.HEADER])
    got = police_uk.parse(raw, "f.csv", **KW)  # type: ignore[arg-type]
    rows = got.rows
    assert len(got.rejects) == 0
    assert (rows["row_hash"].to_numpy() == want[rows["_row"].to_numpy() - 2]).all()
    keys = rows["crime_key"].to_numpy(dtype=object)
    assert (
        rows["_key_hash"].to_numpy() == pd.util.hash_array(keys, categorize=False).view(np.int64)
    ).all()
    assert keys[0] == df["Crime ID"].iloc[0].strip() != df["Crime ID"].iloc[0]


def test_places_stored_once_and_every_reference_resolves(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    f = shared_data / "police-uk" / "2022-10-leicestershire-street.csv"
    df = pd.read_csv(f, dtype=object, keep_default_na=False)
    distinct = len(
        df[["Longitude", "Latitude", "Location", "LSOA code", "LSOA name"]].drop_duplicates()
    )
    with Store(store_url) as store:
        import_crimes(store, [f], rejects_dir=tmp_path)
        import_crimes(store, [f], rejects_dir=tmp_path)
        with store.engine.connect() as conn:
            n_places = conn.execute(text("SELECT count(*) FROM crime_places")).scalar_one()
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM crimes c "
                    "LEFT JOIN crime_places p ON p.place_hash = c.place_hash "
                    "LEFT JOIN import_batches b ON b.id = c.batch_id "
                    "LEFT JOIN crime_labels l ON l.label_hash = c.label_hash "
                    "LEFT JOIN harm_tables h ON h.id = l.harm_table_id "
                    "WHERE p.place_hash IS NULL OR b.id IS NULL OR l.label_hash IS NULL "
                    "OR h.id IS NULL"
                )
            ).scalar_one()
        assert n_places == distinct
        assert orphans == 0
        back = load_crimes(store)
    # every crime's place columns are the file's own
    got = back.set_index("crime_key")
    sample = df[df["Crime ID"] != ""].head(200)
    assert np.allclose(
        got.loc[sample["Crime ID"], "lon"].to_numpy(float),
        pd.to_numeric(sample["Longitude"]).to_numpy(),
        equal_nan=True,
    )
    assert (got.loc[sample["Crime ID"], "location"].to_numpy() == sample["Location"]).all()


def test_migration_moves_old_place_columns_and_reimport_is_a_noop(tmp_path: Path) -> None:
    """A database filled before revision 0006 keeps its crimes, and re-importing the same file
    afterwards finds them and their places (the migration hashes places as the importer does)."""
    body = (
        "abc1,2022-10,Leicestershire Police,Leicestershire Police,-1.13,52.63,"
        "On or near High Street,E01013624,Leicester 020A,Robbery,Under investigation,\r\n"
    )
    f = tmp_path / "one.csv"
    f.write_bytes((",".join(police_uk.HEADER) + "\r\n" + body).encode())
    parsed = police_uk.parse(f.read_bytes(), str(f), **KW)  # type: ignore[arg-type]
    r = parsed.rows.iloc[0]
    url = normalise_url(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(url), "0005")
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO crimes (key_hash, row_hash, source_kind, crime_id, force, month, "
                "precision, category, lon, lat, x, y, mappable, location, lsoa_code, lsoa_name, "
                "outcome, harm_status) VALUES (:k, :h, 'police_uk', 'abc1', :force, '2022-10', "
                "'month', 'Robbery', :lon, :lat, :x, :y, 1, :loc, :lc, :ln, :out, 'ok')"
            ),
            {
                "k": int(r["_key_hash"]),
                "h": int(r["row_hash"]),
                "force": r["force"],
                "lon": r["lon"],
                "lat": r["lat"],
                "x": r["x"],
                "y": r["y"],
                "loc": r["location"],
                "lc": r["lsoa_code"],
                "ln": r["lsoa_name"],
                "out": r["outcome"],
            },
        )
    eng.dispose()
    with Store(url) as store:  # upgrades to head
        back = load_crimes(store)
        assert back.loc[0, "location"] == "On or near High Street"
        assert back.loc[0, "x"] == pytest.approx(r["x"])
        assert int(place_hashes(parsed.rows)[0]) == int(
            pd.read_sql("SELECT place_hash FROM crime_places", store.engine).iloc[0, 0]
        )
        s = import_crimes(store, [f], rejects_dir=tmp_path)[0]
        assert (s.imported, s.already_present) == (0, 1)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM crime_places")).scalar_one() == 1
        command.downgrade(alembic_config(url), "0005")
        with store.engine.connect() as conn:
            loc = conn.execute(text("SELECT location, lsoa_code FROM crimes")).one()
        assert tuple(loc) == ("On or near High Street", "E01013624")


def test_prefetched_keeps_order_raises_reader_errors_and_stops_with_the_consumer() -> None:
    import threading
    import time

    from patrolwise.errors import FatalImportError
    from patrolwise.store.crime_import import prefetched

    def failing():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise FatalImportError("f.csv", "boom")

    it = prefetched(failing())
    assert [next(it), next(it)] == [1, 2]
    with pytest.raises(FatalImportError, match="boom"):
        next(it)

    made: list[int] = []

    def endless():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    it = prefetched(endless(), depth=1)
    assert next(it) == 0
    it.close()
    settled = len(made)
    time.sleep(0.3)
    assert len(made) == settled <= 3  # read ahead by at most depth + the one in hand
    assert not any(t.name == "patrolwise-reader" for t in threading.enumerate())


@pytest.mark.parametrize("chunksize", [1, 2, 100])
def test_rows_with_the_wrong_number_of_fields_are_rejected_with_their_row(chunksize: int) -> None:
    """A broken row is reported at its spreadsheet row and the rows around it still import, with
    their own row numbers, however the file is chunked."""
    good = "{},2022-10,L,L,-1.13,52.63,On or near X,E1,N,Robbery,,"
    lines = [
        ",".join(police_uk.HEADER),
        good.format("a1"),
        good.format("a2") + ",extra",
        good.format("a3"),
        "a4,2022-10",
        good.format("a5"),
    ]
    raw = ("\r\n".join(lines) + "\r\n").encode()
    parts = list(
        police_uk.parse_file(lambda: io.BytesIO(raw), "f.csv", chunksize=chunksize, **KW)  # type: ignore[arg-type]
    )
    rows = pd.concat([p.rows for p in parts])
    rejects = pd.concat([p.rejects for p in parts])
    assert sum(p.read for p in parts) == 5
    assert dict(zip(rows["crime_key"], rows["_row"], strict=True)) == {"a1": 2, "a3": 4, "a5": 6}
    assert rejects["row"].tolist() == [3, 5]
    assert rejects["reason"].str.contains("fields where the header has 12").all()
