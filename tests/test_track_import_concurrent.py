"""Two track imports at once (two coordinators loading the same trackers' files): both finish
and every fix is stored once, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from patrolwise.store import Store
from patrolwise.track_import import import_track_files

from .side_by_side import side_by_side


def test_two_track_imports_at_once_store_each_fix_once(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    files = sorted((shared_data / "gpx").glob("*.gpx"))[:12]
    with Store(store_url) as store:
        done = side_by_side(
            lambda k: import_track_files(
                store, files, device="T1", team="outreach", rejects_dir=tmp_path / str(k)
            )
        )
        a, b = done[0], done[1]
        assert len(a) == len(b) > 3
        # each file went in once: one import stored its fixes, the other found them present
        assert all(min(x["imported"], y["imported"]) == 0 for x, y in zip(a, b, strict=True))
        again = import_track_files(store, files, device="T1", rejects_dir=tmp_path / "again")
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM pings")).scalar_one()
            devices = conn.execute(text("SELECT count(*) FROM devices")).scalar_one()
    assert stored == sum(x["imported"] + y["imported"] for x, y in zip(a, b, strict=True)) > 0
    assert sum(r["imported"] for r in again) == 0 and devices == 1
