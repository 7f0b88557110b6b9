"""Staff logging the same person at the same moment (two workers at one hot spot, a phone queue
sent at once): every engagement is kept, the person is filed once, and their first and last
contact are those of all the engagements, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pandas as pd
from sqlalchemy import text

from patrolwise.engage.log import EngagementInput
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.engagements import load_people, log_engagement, log_engagements

from .plan_fixtures import line_of_hotspots
from .side_by_side import side_by_side

W = {"who": "Sam", "role": "outreach_worker"}
T0 = dt.datetime(2024, 6, 10, 15, 0)


def test_three_staff_logging_one_new_person_at_once(store_url: str) -> None:
    # a look-up then an insert let two of them insert the person: UNIQUE IntegrityError, and
    # that worker's engagement was lost
    rounds, staff = 8, 3
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        for r in range(rounds):
            start = threading.Barrier(staff)

            def log(k: int, r: int = r, start: threading.Barrier = start) -> int:
                start.wait()
                e = EngagementInput(
                    at=T0 + dt.timedelta(days=r, minutes=10 * k),
                    staff=f"worker {k}",
                    area_id=1 + k % 3,
                    consent=True,
                    reference=f"Person {r}",
                    notes="met by the clock tower",
                )
                return log_engagement(st, e, **W)

            ids = side_by_side(log, staff)
            assert len(set(ids)) == staff
        people = load_people(st)
        with st.engine.connect() as c:
            n_eng = c.execute(text("SELECT count(*) FROM engagements")).scalar_one()
            per_person = c.execute(
                text("SELECT count(DISTINCT person) FROM engagements")
            ).scalar_one()
    assert n_eng == rounds * staff and per_person == rounds
    assert len(people) == rounds
    first = sorted(pd.Timestamp(v).to_pydatetime() for v in people["first_contact"])
    last = sorted(pd.Timestamp(v).to_pydatetime() for v in people["last_contact"])
    assert first == [T0 + dt.timedelta(days=r) for r in range(rounds)]
    assert last == [T0 + dt.timedelta(days=r, minutes=10 * (staff - 1)) for r in range(rounds)]


def test_two_batches_naming_the_same_people_in_opposite_orders(store_url: str) -> None:
    """Two workers' queued engagements sent at once, the same five people in opposite orders:
    both batches are stored (on PostgreSQL the row locks were taken in opposite orders and one
    batch was ended as a deadlock)."""
    rounds, people = 6, 5
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        for r in range(rounds):
            start = threading.Barrier(2, timeout=60)

            def send(k: int, r: int = r, start: threading.Barrier = start) -> list[int]:
                names = [f"Round {r} person {i}" for i in range(people)]
                items = [
                    EngagementInput(
                        at=T0 + dt.timedelta(days=r, minutes=k * 30 + i),
                        staff=f"worker {k}",
                        area_id=1,
                        consent=True,
                        reference=name,
                    )
                    for i, name in enumerate(names if k == 0 else names[::-1])
                ]
                start.wait()
                return log_engagements(st, items, **W)

            a, b = side_by_side(send, 2)
            assert len(set(a) | set(b)) == 2 * people
        with st.engine.connect() as c:
            n_eng = c.execute(text("SELECT count(*) FROM engagements")).scalar_one()
    assert n_eng == rounds * people * 2 and len(load_people(st)) == rounds * people


def test_closing_the_inactive_while_they_are_met_again(store_url: str) -> None:
    """A retention pass closing people not met for 90 days while a worker logs a contact with
    them: whichever goes first, the people end open (met before the pass: not inactive; met
    after it: reopened). Read before the contact and closed after it, they were closed on the
    day they were met."""
    from patrolwise.store.engagements import close_inactive

    n = 6
    today = dt.date(2024, 9, 1)
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        for r in range(5):
            names = [f"Round {r} person {i}" for i in range(n)]
            old = [
                EngagementInput(
                    at=dt.datetime(2024, 3, 1, 15, i), staff="Sam", area_id=1, consent=True,
                    reference=name,
                )
                for i, name in enumerate(names)
            ]  # fmt: skip
            log_engagements(st, old, **W)
            start = threading.Barrier(2, timeout=60)

            def go(k: int, names: list[str] = names, start: threading.Barrier = start) -> int:
                start.wait()
                if k == 0:
                    return close_inactive(st, today=today, days=90, **W)
                met = [
                    EngagementInput(
                        at=dt.datetime(2024, 9, 1, 12, i), staff="Sam", area_id=2, consent=True,
                        reference=name,
                    )
                    for i, name in enumerate(names)
                ]  # fmt: skip
                return len(log_engagements(st, met, **{**W, "who": "Alex"}))

            side_by_side(go, 2)
            people = load_people(st)
            assert (people["status"] == "open").all(), people


def test_purging_the_closed_while_they_are_met_again(store_url: str) -> None:
    """The end-of-retention purge running while a worker logs contacts with the people it is
    erasing: whichever goes first, the new contacts keep their person and their notes (met
    before the purge: reopened and kept; after it: a new person). Read as purgeable before the
    contacts and erased after them, the new contacts were anonymised and their notes deleted."""
    from patrolwise.store.engagements import close_inactive, list_engagements, purge_closed

    n = 6
    manager = {"who": "Ana", "role": "outreach_manager"}
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        for r in range(4):
            names = [f"Round {r} person {i}" for i in range(n)]
            old = [
                EngagementInput(
                    at=dt.datetime(2023, 1, 1, 15, i), staff="Sam", area_id=1, consent=True,
                    reference=name, notes="old",
                )
                for i, name in enumerate(names)
            ]  # fmt: skip
            log_engagements(st, old, **W)
            close_inactive(st, today=dt.date(2023, 6, 1), days=90, **W)
            start = threading.Barrier(2, timeout=60)

            def go(k: int, r: int = r, names: list[str] = names, start: Any = start) -> object:
                start.wait()
                if k == 0:
                    return purge_closed(st, today=dt.date(2024, 9, 1), days=30, **manager)
                met = [
                    EngagementInput(
                        at=dt.datetime(2024, 9, 1, 12, r * 10 + i), staff="Sam", area_id=2,
                        consent=True, reference=name, notes=f"met again {r}",
                    )
                    for i, name in enumerate(names)
                ]  # fmt: skip
                return log_engagements(st, met, **W)

            side_by_side(go, 2)
            people = load_people(st)
            assert (people["status"] == "open").all(), people
            new = list_engagements(st, **manager, with_notes=True)
            new = new[new["notes"] == f"met again {r}"]
            assert len(new) == n and not new["person"].str.startswith("anon_").any()


def test_merging_a_placeholder_while_a_contact_is_logged_under_it(store_url: str) -> None:
    """A manager links "red jacket" to a named person while a worker logs another contact as
    "red jacket", with no consent: that contact never lands on the named person (before the
    merge it is counted and stops it; after it, it starts a new placeholder person). Read
    before the contact and moved after it, it was linked to the named person without consent."""
    from patrolwise.engage.pseudonym import pseudonym
    from patrolwise.errors import InputError
    from patrolwise.store.engagements import list_engagements, merge_people

    manager = {"who": "Ana", "role": "outreach_manager"}
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        for r in range(5):
            jacket, name = f"red jacket {r}", f"Named person {r}"
            first = [
                EngagementInput(
                    at=dt.datetime(2024, 6, 1 + i, 15), staff="Sam", area_id=1, consent=True,
                    placeholder=jacket,
                )
                for i in range(3)
            ]  # fmt: skip
            log_engagements(st, first, **W)
            start = threading.Barrier(2, timeout=60)

            def go(k: int, jacket: str = jacket, name: str = name, start: Any = start) -> object:
                start.wait()
                if k == 0:
                    try:
                        return merge_people(st, placeholder=jacket, reference=name, **manager)
                    except InputError as exc:
                        return str(exc)
                later = EngagementInput(
                    at=dt.datetime(2024, 6, 10, 15), staff="Sam", area_id=1, consent=False,
                    placeholder=jacket,
                )  # fmt: skip
                return log_engagement(st, later, **W)

            merged, _ = side_by_side(go, 2)
            named = list_engagements(st, **manager)
            named = named[named["person"] == pseudonym(name)]
            assert named["consent"].all(), named
            if isinstance(merged, tuple):  # merged before the contact: the first three moved
                assert merged == (pseudonym(name), 3) and len(named) == 3
            else:  # the contact came first and stopped the merge
                assert "no consent recorded" in merged and named.empty
