"""Analysts writing the same thing at once, on SQLite and on PostgreSQL: the same hot spots saved
(each area stored once: saving again updates it), the same randomisation seed saved (stored
once, or refused as it would be one save after the other)."""

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


def test_one_seed_saved_three_times_at_once(store_url: str) -> None:
    """Three saves of one seed at once: the same draw is stored once (the others replace it
    with itself); a different draw under that seed is refused as it would be one after the
    other, never a unique-constraint failure."""
    from patrolwise.errors import InputError
    from patrolwise.plan.randomise import randomise_days
    from patrolwise.store.plans import load_assignment, save_assignment

    jan = randomise_days([1, 2, 3], dt.date(2024, 1, 1), dt.date(2024, 1, 31), 0.5, seed=77)
    feb = randomise_days([1, 2, 3], dt.date(2024, 2, 1), dt.date(2024, 2, 29), 0.5, seed=77)
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3))
        start = threading.Barrier(3)

        def save(k: int) -> int | str:
            start.wait()
            try:
                return save_assignment(st, jan if k < 2 else feb)
            except InputError as exc:
                return str(exc)

        got = side_by_side(save, 3)
        back = load_assignment(st, 77)
    # the two January saves both succeed; February is refused if January went first, else it
    # went in and both January saves were refused
    if got[2] == 87:
        assert all("seed 77 already holds" in str(g) for g in got[:2])
        assert len(back) == 87
    else:
        assert got[:2] == [93, 93] and "seed 77 already holds" in str(got[2])
        assert len(back) == 93 and str(back["date"].max()) == "2024-01-31"
