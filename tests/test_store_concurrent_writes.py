"""Analysts writing the same thing at once, on SQLite and on PostgreSQL: the same hot spots saved
(each area stored once: saving again updates it), the same randomisation seed saved (stored
once, or refused as it would be one save after the other)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

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
            start = threading.Barrier(3, timeout=60)

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

    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3))
        for seed in range(70, 74):
            jan = randomise_days(
                [1, 2, 3], dt.date(2024, 1, 1), dt.date(2024, 1, 31), 0.5, seed=seed
            )
            feb = randomise_days(
                [1, 2, 3], dt.date(2024, 2, 1), dt.date(2024, 2, 29), 0.5, seed=seed
            )
            start = threading.Barrier(3, timeout=60)

            def save(
                k: int, jan: Any = jan, feb: Any = feb, start: threading.Barrier = start
            ) -> int | str:
                start.wait()
                try:
                    return save_assignment(st, jan if k < 2 else feb)
                except InputError as exc:
                    return str(exc)

            got = side_by_side(save, 3)
            back = load_assignment(st, seed)
            # the two January saves both succeed; February is refused if January went first,
            # else it went in and both January saves were refused
            taken = f"seed {seed} already holds"
            if got[2] == 87:
                assert all(taken in str(g) for g in got[:2])
                assert len(back) == 87
            else:
                assert got[:2] == [93, 93] and taken in str(got[2])
                assert len(back) == 93 and str(back["date"].max()) == "2024-01-31"


def test_one_days_visits_saved_three_times_at_once(store_url: str) -> None:
    """Three dosage runs saved over the same days at once (the morning job, a coordinator, an
    evaluator): each replaces the days' visits, so one run's visits are stored, never two runs'
    (on PostgreSQL each delete ran before the others' visits were committed: every minute was
    counted two or three times)."""
    import pandas as pd

    from patrolwise.store.visits import load_visits, save_visits

    t0 = pd.Timestamp("2024-06-03 14:00")
    day = dt.date(2024, 6, 3)
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3))
        for r in range(4):
            start = threading.Barrier(3, timeout=60)

            def save(k: int, start: threading.Barrier = start) -> int:
                visits = pd.DataFrame(
                    {
                        "device_id": f"t{k}",
                        "team": "outreach",
                        "area_id": [1, 2, 3],
                        "start": [t0 + pd.Timedelta(hours=h) for h in range(3)],
                        "end": [t0 + pd.Timedelta(hours=h, minutes=40) for h in range(3)],
                        "minutes": 40.0,
                        "n_pings": 24,
                        "local_day": day,
                    }
                )
                start.wait()
                return save_visits(st, visits)

            runs = side_by_side(save, 3)
            stored = load_visits(st, day, day)
            assert len(stored) == 3, (r, stored)
            # the run saved last is the one kept
            assert set(stored["run_id"]) == {max(runs)}
            assert stored["minutes"].sum() == 120.0


def test_one_device_added_three_times_at_once(store_url: str) -> None:
    """Three coordinators registering the same tracker at once: one is given its secret, the
    others the refusal one after the other would give, not a unique-constraint traceback."""
    from patrolwise.errors import InputError
    from patrolwise.store.devices import add_device, list_devices

    with Store(store_url) as st:
        for r in range(4):
            start = threading.Barrier(3, timeout=60)

            def add(k: int, r: int = r, start: threading.Barrier = start) -> str | None:
                start.wait()
                try:
                    return add_device(st, f"tracker-{r}", "outreach", staff=f"coordinator {k}")
                except InputError as exc:
                    assert "is already registered" in str(exc)
                    return None

            got = side_by_side(add, 3)
            assert sum(g is not None for g in got) == 1
        assert sorted(list_devices(st)["device_id"]) == [f"tracker-{r}" for r in range(4)]


def test_an_area_saved_and_a_replacement_of_the_same_name_at_once(store_url: str) -> None:
    """A hot spot saved while another analyst replaces an old one by a successor of the same
    name and start date: one after the other, the later one updates the earlier's row; at once,
    the replacement looked its successor up without the write turn and failed on the unique
    constraint."""
    from patrolwise.store.areas import load_areas, replace_area

    start_day = dt.date(2024, 5, 1)
    with Store(store_url) as st:
        for r in range(6):
            (old,) = add_areas(
                st, line_of_hotspots(1).assign(name=[f"old {r}"]), active_from=dt.date(2024, 1, 1)
            )
            new = line_of_hotspots(1).assign(name=[f"new {r}"])
            start = threading.Barrier(2, timeout=60)

            def go(k: int, old: int = old, new: Any = new, start: Any = start) -> int:
                start.wait()
                if k == 0:
                    return add_areas(st, new, active_from=start_day)[0]
                return replace_area(st, old, new, start_day)

            a, b = side_by_side(go, 2)
            assert a == b  # one row: the successor, saved twice
        areas = load_areas(st, "hotspot")
    assert len(areas) == 12
