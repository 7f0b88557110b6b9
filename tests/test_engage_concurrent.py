"""Staff logging the same person at the same moment (two workers at one hot spot, a phone queue
sent at once): every engagement is kept, the person is filed once, and their first and last
contact are those of all the engagements, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

from patrolwise.engage.log import EngagementInput
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.engagements import load_people, log_engagement, log_engagements

from .plan_fixtures import line_of_hotspots
from .side_by_side import side_by_side

W = {"who": "Sam", "role": "outreach_worker"}
T0 = dt.datetime(2024, 6, 10, 15, 0)


def _contacts(names: list[str], first: dt.datetime, **more: Any) -> list[EngagementInput]:
    """One consented contact with each named person, a minute apart from ``first``."""
    base: dict[str, Any] = {"staff": "Sam", "area_id": 1, "consent": True, **more}
    return [
        EngagementInput(at=first + dt.timedelta(minutes=i), reference=name, **base)
        for i, name in enumerate(names)
    ]


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
            log_engagements(st, _contacts(names, dt.datetime(2024, 3, 1, 15)), **W)
            start = threading.Barrier(2, timeout=60)

            def go(k: int, names: list[str] = names, start: threading.Barrier = start) -> int:
                start.wait()
                if k == 0:
                    return close_inactive(st, today=today, days=90, **W)
                met = _contacts(names, dt.datetime(2024, 9, 1, 12), area_id=2)
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
            log_engagements(st, _contacts(names, dt.datetime(2023, 1, 1, 15), notes="old"), **W)
            close_inactive(st, today=dt.date(2023, 6, 1), days=90, **W)
            start = threading.Barrier(2, timeout=60)

            def go(k: int, r: int = r, names: list[str] = names, start: Any = start) -> object:
                start.wait()
                if k == 0:
                    return purge_closed(st, today=dt.date(2024, 9, 1), days=30, **manager)
                met = _contacts(
                    names, dt.datetime(2024, 9, 1, 12, r * 10), area_id=2, notes=f"met again {r}"
                )
                return log_engagements(st, met, **W)

            side_by_side(go, 2)
            people = load_people(st)
            assert (people["status"] == "open").all(), people
            # each round's people kept (reopened) or filed anew: never erased after the contact
            assert len(people) == n * (r + 1), people
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
            # every contact belongs to a person on file (none left under a renamed placeholder)
            on_file = set(load_people(st)["pseudonym"])
            assert set(list_engagements(st, **manager)["person"]) <= on_file
            named = list_engagements(st, **manager)
            named = named[named["person"] == pseudonym(name)]
            assert named["consent"].all(), named
            if isinstance(merged, tuple):  # merged before the contact: the first three moved
                assert merged == (pseudonym(name), 3) and len(named) == 3
            else:  # the contact came first and stopped the merge
                assert "no consent recorded" in merged and named.empty


def _pause_after_touching(
    monkeypatch: pytest.MonkeyPatch, pseud: str, reached: threading.Event
) -> dict[str, int]:
    """Make the thread named in the returned dict ('logger') pause for a second just after
    filing the person ``pseud``, holding that person's row, and set ``reached``: the other
    thread then starts, and meets the held row, in that order every time."""
    from patrolwise.store import engagements

    real = engagements._touch_person
    who: dict[str, int] = {}

    def touch(s: Any, p: str, placeholder: bool, at: dt.datetime) -> None:
        real(s, p, placeholder, at)
        if p == pseud and who.get("logger") == threading.get_ident():
            reached.set()
            time.sleep(1.0)

    monkeypatch.setattr(engagements, "_touch_person", touch)
    return who


def test_merging_while_a_batch_names_the_person_and_the_placeholder(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holding the named person's row (named 'p_' pseudonyms sort before placeholders'
    'ph_', so a batch files them first) while a manager merges the placeholder into that person:
    the merge took the placeholder's row, then waited for the named person's, while the batch
    waited for the placeholder's: a deadlock on PostgreSQL, and the batch was lost."""
    from patrolwise.engage.pseudonym import pseudonym
    from patrolwise.store.engagements import list_engagements, merge_people

    manager = {"who": "Ana", "role": "outreach_manager"}

    def contact(day: int, **who: str) -> EngagementInput:
        return EngagementInput(
            at=dt.datetime(2024, 6, day, 15), staff="Sam", area_id=1, consent=True, **who
        )

    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        log_engagements(
            st, [contact(1, placeholder="red jacket"), contact(2, reference="Dee")], **W
        )
        reached = threading.Event()
        who = _pause_after_touching(monkeypatch, pseudonym("Dee"), reached)

        def go(k: int) -> object:
            if k == 0:
                who["logger"] = threading.get_ident()
                batch = [contact(5, placeholder="red jacket"), contact(6, reference="Dee")]
                return log_engagements(st, batch, **W)
            assert reached.wait(30)
            return merge_people(st, placeholder="red jacket", reference="Dee", **manager)

        logged, merged = side_by_side(go, 2)
        everyone = list_engagements(st, **manager)
    assert len(logged) == 2 and merged == (pseudonym("Dee"), 2)
    assert (everyone["person"] == pseudonym("Dee")).sum() == 4


def test_closing_the_inactive_while_a_batch_files_an_old_contact_of_someone_new(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch meets A again today and files X, someone new, from a contact typed in late (six
    months old), while the retention pass runs and waits for A's row: one after the other the
    pass closes X (or A, before the batch reopens them); reading people with the snapshot it
    began with, the pass never saw X and closed no one."""
    from patrolwise.engage.pseudonym import pseudonym
    from patrolwise.store.engagements import close_inactive

    def contact(when: dt.datetime, name: str) -> EngagementInput:
        return EngagementInput(at=when, staff="Sam", area_id=1, consent=True, reference=name)

    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        log_engagements(st, [contact(dt.datetime(2024, 3, 1, 15), "Ash")], **W)
        reached = threading.Event()
        # the batch files people in pseudonym order: pause once both are filed
        who = _pause_after_touching(monkeypatch, max(pseudonym("Ash"), pseudonym("Xan")), reached)

        def go(k: int) -> object:
            if k == 0:
                who["logger"] = threading.get_ident()
                batch = [
                    contact(dt.datetime(2024, 9, 1, 12), "Ash"),
                    contact(dt.datetime(2024, 3, 2, 12), "Xan"),
                ]
                return log_engagements(st, batch, **W)
            assert reached.wait(30)
            return close_inactive(st, today=dt.date(2024, 9, 1), days=90, **W)

        _, closed = side_by_side(go, 2)
        status = load_people(st).set_index("pseudonym")["status"]
    assert closed == 1
    assert status[pseudonym("Xan")] == "closed" and status[pseudonym("Ash")] == "open"
