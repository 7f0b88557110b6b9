"""Analysts saving the same hot spots at once: each area is stored once (saving again updates
it), on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text

from patrolwise.store import Store
from patrolwise.store.areas import add_areas

from .plan_fixtures import line_of_hotspots
from .side_by_side import side_by_side


@pytest.mark.parametrize("active_from", [None, dt.date(2024, 4, 1)])
def test_the_same_hot_spots_saved_three_times_at_once(
    store_url: str, active_from: dt.date | None
) -> None:
    # each looked its areas up, found none and inserted them: a UNIQUE IntegrityError for the
    # later ones, or (no start date: NULLs never match a unique constraint) every area three times
    hs = line_of_hotspots(4)
    with Store(store_url) as st:
        for r in range(4):
            start = threading.Barrier(3)

            def save(k: int, r: int = r, start: threading.Barrier = start) -> list[int]:
                start.wait()
                g = hs.assign(name=[f"r{r} {n}" for n in hs["name"]])
                return add_areas(st, g, kind="hotspot", active_from=active_from, source=f"{k}")

            ids = side_by_side(save, 3)
            assert ids[0] == ids[1] == ids[2] and len(set(ids[0])) == 4
        with st.engine.connect() as c:
            rows = c.execute(text("SELECT name, count(*) FROM areas GROUP BY name")).all()
    assert len(rows) == 16 and {n for _, n in rows} == {1}
