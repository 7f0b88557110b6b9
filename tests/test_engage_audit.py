"""`patrolwise engage audit`: the audit trail read by outreach management, filtered by local
day, person and action, itself audited; refused (and the refusal audited) for other roles."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.engage.log import EngagementInput
from patrolwise.engage.pseudonym import placeholder_pseudonym, pseudonym
from patrolwise.errors import AuthError, InputError
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.engagements import (
    close_inactive,
    list_engagements,
    load_audit,
    log_engagement,
    merge_people,
    purge_closed,
    read_audit,
)

from .plan_fixtures import line_of_hotspots

W = {"who": "Sam", "role": "outreach_worker"}
M = {"who": "Dee", "role": "outreach_manager"}


def _e(**kw: object) -> EngagementInput:
    base: dict[str, object] = {"at": dt.datetime(2024, 6, 10, 15), "staff": "Sam", "area_id": 1}
    base.update(kw)
    return EngagementInput(**base)  # type: ignore[arg-type]


def _plant(st: Store, rows: list[tuple[str, str, str, str, str]]) -> None:
    """Audit entries at chosen naive-UTC times (who, role, action, object, at)."""
    with st.engine.begin() as c:
        for who, role, action, obj, at in rows:
            c.execute(
                text(
                    "insert into audit_log (who, role, action, object, at) "
                    "values (:w, :r, :a, :o, :t)"
                ),
                {"w": who, "r": role, "a": action, "o": obj, "t": dt.datetime.fromisoformat(at)},
            )


PLANTED = [
    ("Sam", "outreach_worker", "log_engagement", "engagement:1", "2024-06-10 12:00"),
    # 23:30 UTC on 10 June is 00:30 on 11 June in London (BST)
    ("PC Lee", "police", "refused", "read_notes engagements", "2024-06-10 23:30"),
    ("Sam", "outreach_worker", "read_notes", "engagement:1", "2024-06-11 09:00"),
    # 00:30 UTC on 1 December is 00:30 GMT: the same day locally
    ("Ana", "analyst", "summary", "engagements", "2024-12-01 00:30"),
]


def test_a_manager_reads_the_audit_filtered_and_the_reading_is_audited(store_url: str) -> None:
    with Store(store_url) as st:
        _plant(st, PLANTED)
        df = read_audit(st, **M)
        assert list(df["action"]) == ["log_engagement", "refused", "read_notes", "summary"]
        assert list(df.columns) == ["id", "at", "who", "role", "action", "object"]
        got = read_audit(st, by="Sam", action="read_notes", **M)
        assert got[["who", "action", "object"]].values.tolist() == [
            ["Sam", "read_notes", "engagement:1"]
        ]
        got = read_audit(st, start=dt.datetime(2024, 6, 10, 23), end=dt.datetime(2024, 6, 11), **M)
        assert list(got["who"]) == ["PC Lee"]
        audit = load_audit(st)
        reads = audit[audit["action"] == "read_audit"]
        assert reads[["who", "role"]].drop_duplicates().values.tolist() == [
            ["Dee", "outreach_manager"]
        ]
        assert list(reads["object"]) == [
            "audit_log:4",
            "audit_log:1 who=Sam action=read_notes",
            "audit_log:1 from 2024-06-10 23:00:00 to 2024-06-11 00:00:00",
        ]
        # the earlier readings are in the trail that the next reading shows
        assert (read_audit(st, action="read_audit", **M)["who"] == "Dee").sum() == 3


@pytest.mark.parametrize("role", ["outreach_worker", "police", "analyst", "admin"])
def test_other_roles_are_refused_and_the_refusal_audited(store_url: str, role: str) -> None:
    with Store(store_url) as st:
        _plant(st, PLANTED)
        with pytest.raises(AuthError, match="cannot read the audit log"):
            read_audit(st, who="X", role=role, by="Sam")
        last = load_audit(st).iloc[-1]
        assert [last["who"], last["role"], last["action"], last["object"]] == [
            "X",
            role,
            "refused",
            "read_audit who=Sam",
        ]
        assert not load_audit(st)["action"].eq("read_audit").any()


def _cli(db: str, *args: str) -> object:
    return CliRunner().invoke(app, ["--db", db, "engage", "audit", *args])


def test_engage_audit_cli_days_are_local_and_json_times_carry_their_offset(
    store_url: str,
) -> None:
    with Store(store_url) as st:
        _plant(st, PLANTED)
    r = _cli(
        store_url,
        "--from",
        "2024-06-11",
        "--to",
        "2024-06-11",
        "--json",
        "--role",
        "outreach_manager",
        "--as",
        "Dee",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    # the refusal at 23:30 UTC on 10 June happened on 11 June in London
    assert [(x["who"], x["action"], x["at"]) for x in rows] == [
        ("PC Lee", "refused", "2024-06-11T00:30:00+01:00"),
        ("Sam", "read_notes", "2024-06-11T10:00:00+01:00"),
    ]
    assert set(rows[0]) == {"id", "at", "who", "role", "action", "object"}
    r = _cli(store_url, "--to", "2024-06-10", "--json", "--role", "outreach_manager")
    assert [x["action"] for x in json.loads(r.output)] == ["log_engagement"]
    r = _cli(
        store_url,
        "--from",
        "2024-12-01",
        "--to",
        "2024-12-31",
        "--json",
        "--role",
        "outreach_manager",
    )
    assert [x["at"] for x in json.loads(r.output)] == ["2024-12-01T00:30:00+00:00"]
    r = _cli(store_url, "--who", "Nobody", "--json", "--role", "outreach_manager")
    assert r.exit_code == 0 and json.loads(r.output) == []
    r = _cli(store_url, "--action", "refused", "--role", "outreach_manager")
    assert r.exit_code == 0 and "Audit log: 1 entries" in r.output and "PC Lee" in r.output
    assert "log_engagement" not in r.output
    r = _cli(store_url, "--from", "2024-06-12", "--to", "2024-06-11", "--role", "outreach_manager")
    assert isinstance(r.exception, InputError) and "after --to" in str(r.exception)
    r = _cli(store_url, "--from", "11/06/2024", "--role", "outreach_manager")
    assert isinstance(r.exception, InputError)
    r = _cli(store_url, "--role", "police", "--as", "PC Lee")
    assert isinstance(r.exception, AuthError)
    with Store(store_url) as st:
        last = load_audit(st).iloc[-1]
    assert [last["who"], last["role"], last["action"]] == ["PC Lee", "police", "refused"]


def test_erased_people_stay_erased_in_the_audit_read(store_url: str) -> None:
    with Store(store_url) as st:
        add_areas(st, line_of_hotspots(3), kind="hotspot")
        log_engagement(st, _e(placeholder="red jacket", at=dt.datetime(2023, 1, 10, 15)), **W)
        merge_people(st, placeholder="red jacket", reference="Kofi", consent_given=True, **W)
        list_engagements(st, **W)
        close_inactive(st, today=dt.date(2023, 6, 1), **M)
        purge_closed(st, today=dt.date(2024, 7, 1), **M)
    r = _cli(store_url, "--json", "--role", "outreach_manager")
    assert r.exit_code == 0, r.output
    objects = [x["object"] for x in json.loads(r.output)]
    assert "person:[erased]->[erased]" in objects
    for pseud in (pseudonym("Kofi"), placeholder_pseudonym("red jacket")):
        assert pseud not in r.output
    r = _cli(store_url, "--action", "merge_people", "--role", "outreach_manager")
    assert r.exit_code == 0 and "[erased]" in r.output  # as text, not taken for Rich markup
