"""Refused writes are audited like refused reads: a police or analyst login trying to log,
merge, record consent, close, purge or file another agency's debrief left no trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from patrolwise.engage.debrief import DebriefInput
from patrolwise.engage.log import EngagementInput
from patrolwise.engage.pseudonym import placeholder_pseudonym, pseudonym
from patrolwise.errors import AuthError
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.engagements import (
    add_debrief,
    close_inactive,
    list_debriefs,
    load_audit,
    log_engagement,
    log_engagements,
    merge_people,
    purge_closed,
    record_consent,
)

from .plan_fixtures import line_of_hotspots

W = {"who": "Sam", "role": "outreach_worker"}
T0 = dt.datetime(2024, 6, 10, 15, 0)


def _e(**kw: object) -> EngagementInput:
    base: dict[str, object] = {"at": T0, "staff": "Sam", "area_id": 1, "consent": True}
    base.update(kw)
    return EngagementInput(**base)  # type: ignore[arg-type]


def _refusals(st: Store, who: str, role: str, eid: int) -> list[tuple[Callable[[], object], str]]:
    """Each refused write by ``role``, with the object its audit entry names."""
    by = {"who": who, "role": role}
    return [
        (lambda: log_engagement(st, _e(reference="Abena Mensah"), **by), "log_engagement"),
        (
            lambda: log_engagements(st, [_e(), _e()], **by),
            "log_engagement (2 records)",
        ),
        (
            lambda: merge_people(st, placeholder="red jacket", reference="Kofi", **by),
            "merge_people",
        ),
        (lambda: record_consent(st, eid, **by), f"record_consent engagement:{eid}"),
        (lambda: close_inactive(st, days=30, **by), "close_inactive >30 days"),
        (lambda: purge_closed(st, days=400, **by), "purge closed >400 days"),
    ]


@pytest.mark.parametrize(("who", "role"), [("PC Lee", "police"), ("Ana", "analyst")])
def test_refused_engagement_writes_are_audited_without_content(
    store_url: str, who: str, role: str
) -> None:
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        eid = log_engagement(st, _e(placeholder="red jacket", consent=False), **W)
        before = len(load_audit(st))
        cases = _refusals(st, who, role, eid)
        for call, _ in cases:
            with pytest.raises(AuthError):
                call()
        new = load_audit(st).iloc[before:]
        assert list(new["action"]) == ["refused"] * len(cases)
        assert set(new["who"]) == {who} and set(new["role"]) == {role}
        assert list(new["object"]) == [obj for _, obj in cases]
        # no typed reference, nor its pseudonym, goes into the audit with the refusal
        logged = " ".join(new["object"])
        for secret in ("Abena", "Kofi", "red jacket"):
            assert secret not in logged
        assert pseudonym("Kofi") not in logged
        assert placeholder_pseudonym("red jacket") not in logged


def test_a_worker_refused_the_purge_is_audited(store_url: str) -> None:
    with Store(store_url) as st:
        with pytest.raises(AuthError):
            purge_closed(st, **W)
        new = load_audit(st)
        assert new[["who", "role", "action", "object"]].values.tolist() == [
            ["Sam", "outreach_worker", "refused", "purge closed >365 days"]
        ]


def test_refused_debriefs_are_audited(store_url: str) -> None:
    with Store(store_url) as st:
        day = T0.date()
        with pytest.raises(AuthError, match="analysts"):
            add_debrief(
                st, DebriefInput("outreach", day, "Ana", summary="x"), who="Ana", role="analyst"
            )
        with pytest.raises(AuthError, match="police debriefs only"):
            add_debrief(st, DebriefInput("outreach", day, "PC Lee"), who="PC Lee", role="police")
        with pytest.raises(AuthError, match="outreach debriefs only"):
            add_debrief(st, DebriefInput("police", day, "Sam"), **W)
        audit = load_audit(st)
        assert audit[["who", "role", "action", "object"]].values.tolist() == [
            ["Ana", "analyst", "refused", f"add_debrief outreach {day}"],
            ["PC Lee", "police", "refused", f"add_debrief outreach {day}"],
            ["Sam", "outreach_worker", "refused", f"add_debrief police {day}"],
        ]
        assert len(list_debriefs(st, **W)) == 0


def test_an_unknown_role_is_refused_and_audited(store_url: str) -> None:
    with Store(store_url) as st:
        role = "superuser" + "x" * 40  # typed; kept up to the column's 32 characters
        with pytest.raises(AuthError, match="unknown role"):
            log_engagement(st, _e(), who="Mallory", role=role)
        with pytest.raises(AuthError, match="unknown role"):
            list_debriefs(st, who="Mallory", role=role)
        audit = load_audit(st)
        assert audit[["who", "role", "action", "object"]].values.tolist() == [
            ["Mallory", role[:32], "refused", "log_engagement"],
            ["Mallory", role[:32], "refused", "list_debriefs"],
        ]
