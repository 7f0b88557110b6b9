"""The secret key is checked: engagements written with one key are not read or extended with
another (a typo in PATROLWISE_SECRET_KEY, another machine's settings), which silently split each
person's history under new pseudonyms and wrote text the right key cannot decrypt."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from patrolwise.engage.debrief import DebriefInput
from patrolwise.engage.log import EngagementInput
from patrolwise.engage.pseudonym import pseudonym
from patrolwise.errors import ConfigError
from patrolwise.store import Store, init_db
from patrolwise.store.areas import add_areas
from patrolwise.store.engagements import (
    add_debrief,
    close_inactive,
    engagement_summary,
    list_debriefs,
    list_engagements,
    load_people,
    log_engagement,
    merge_people,
    purge_closed,
    record_consent,
)

from .plan_fixtures import line_of_hotspots
from .test_engage_store import _downgraded

KEY = "test-secret-key-not-for-production"  # conftest's PATROLWISE_SECRET_KEY
OTHER = "test-secret-key-not-for-productiom"  # one letter out
W = {"who": "Sam", "role": "outreach_worker"}
T0 = dt.datetime(2024, 6, 10, 15, 0)
TABLES = ("engagements", "people", "referrals", "debriefs", "audit_log", "key_checks")


def _store(url: str) -> Store:
    st = Store(url)
    add_areas(st, line_of_hotspots(3), kind="hotspot")
    return st


def _e(**kw: object) -> EngagementInput:
    base: dict[str, object] = {"at": T0, "staff": "Sam", "area_id": 1, "consent": True}
    base.update(kw)
    return EngagementInput(**base)  # type: ignore[arg-type]


def _counts(st: Store) -> dict[str, int]:
    with st.engine.connect() as c:
        return {t: int(c.execute(text(f"select count(*) from {t}")).scalar_one()) for t in TABLES}


def _key_check(st: Store) -> list[str]:
    with st.engine.connect() as c:
        return [r[0] for r in c.execute(text("select value from key_checks"))]


def test_the_check_value_is_a_keyed_hash_of_a_label_not_the_key(store_url: str) -> None:
    with _store(store_url) as st:
        assert _key_check(st) == []
        log_engagement(st, _e(reference="Abena Mensah", notes="bus station"), **W)
        want = hmac.new(KEY.encode(), b"patrolwise engagements key check v1", hashlib.sha256)
        assert _key_check(st) == [want.hexdigest()]
        assert KEY not in _key_check(st)[0]


def test_another_key_is_refused_and_writes_nothing(store_url: str) -> None:
    with _store(store_url) as st:
        log_engagement(st, _e(reference="Abena Mensah", notes="bus station"), **W)
        log_engagement(st, _e(placeholder="red jacket", consent=False), **W)
        add_debrief(st, DebriefInput("outreach", T0.date(), "Sam", summary="quiet night"), **W)
        with st.engine.connect() as c:
            eid = int(c.execute(text("select max(id) from engagements")).scalar_one())
        record_consent(st, eid, **W)
        before = _counts(st)
        wrong = [
            lambda: log_engagement(st, _e(reference="Abena Mensah"), key=OTHER, **W),
            # even a contact that needs no key is refused once a wrong key is configured
            lambda: log_engagement(st, _e(consent=False), key=OTHER, **W),
            lambda: list_engagements(st, key=OTHER, **W),
            lambda: list_engagements(st, with_notes=True, key=OTHER, **W),
            lambda: merge_people(
                st, placeholder="red jacket", reference="Abena Mensah", key=OTHER, **W
            ),
            lambda: add_debrief(
                st, DebriefInput("outreach", T0.date(), "Sam", summary="x"), key=OTHER, **W
            ),
            lambda: add_debrief(st, DebriefInput("outreach", T0.date(), "Sam"), key=OTHER, **W),
            lambda: list_debriefs(st, key=OTHER, **W),
        ]
        for call in wrong:
            with pytest.raises(ConfigError, match="not the key this database's engagements"):
                call()
        assert _counts(st) == before
        assert list(load_people(st)["pseudonym"]).count(pseudonym("Abena Mensah")) == 1
        # summaries, closing and the purge use no key (counts, status, deletion): they run
        engagement_summary(st, who="PC Lee", role="police")
        close_inactive(st, who="Ana", role="outreach_manager", today=T0.date())
        purge_closed(st, who="Ana", role="outreach_manager", today=T0.date(), dry_run=True)
        # police and analysts listing debriefs decrypt nothing of the outreach team's
        assert len(list_debriefs(st, who="Ana", role="analyst", key=OTHER)) == 1
        # the right key still reads and writes
        df = list_engagements(st, with_notes=True, **W)
        assert "bus station" in list(df["notes"])
        merge_people(st, placeholder="red jacket", reference="Abena Mensah", **W)
        assert list_debriefs(st, **W).loc[0, "summary"] == "quiet night"


def test_no_key_still_logs_what_needs_none_but_not_what_does(store_url: str) -> None:
    with _store(store_url) as st:
        log_engagement(st, _e(reference="Abena Mensah"), **W)
        os.environ.pop("PATROLWISE_SECRET_KEY")
        from patrolwise.config import reset_settings

        reset_settings()
        log_engagement(st, _e(consent=False, needs=["food"]), **W)
        with pytest.raises(ConfigError, match="no secret key"):
            log_engagement(st, _e(reference="Kofi"), **W)


def _cli(db: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATROLWISE_SECRET_KEY": key, "PATROLWISE_ROLE": "outreach_worker"}
    return subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_the_same_key_works_across_processes_and_another_is_one_line(sqlite_url: str) -> None:
    with _store(sqlite_url):
        pass
    log = ["engage", "log", "--staff", "Sam", "--hotspot", "1", "--consent", "--ref", "Kofi"]
    r = _cli(sqlite_url, KEY, *log, "--notes", "first")
    assert r.returncode == 0, r.stderr
    r = _cli(sqlite_url, KEY, *log, "--notes", "second")
    assert r.returncode == 0, r.stderr
    r = _cli(sqlite_url, OTHER, *log, "--notes", "third")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not the key this database's engagements" in lines[0], r.stderr
    r = _cli(sqlite_url, OTHER, "engage", "list", "--notes")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = _cli(sqlite_url, KEY, "engage", "list", "--notes")
    assert r.returncode == 0, r.stderr
    assert '"notes": "first"' in r.stdout and '"notes": "second"' in r.stdout
    assert "third" not in r.stdout
    with Store(sqlite_url) as st:
        assert list(load_people(st)["pseudonym"]) == [pseudonym("Kofi", KEY)]


def _before_the_check(store_url: str) -> None:
    """The store as a release before the key check left it: engagements, no check value."""
    _downgraded(store_url, "0011").dispose()
    init_db(store_url)


def test_an_older_database_adopts_the_key_that_decrypts_it(store_url: str) -> None:
    with _store(store_url) as st:
        log_engagement(st, _e(reference="Abena Mensah", notes="bus station"), **W)
    _before_the_check(store_url)
    with Store(store_url) as st:
        assert _key_check(st) == []
        before = _counts(st)
        with pytest.raises(ConfigError, match="not the key this database's engagements"):
            log_engagement(st, _e(reference="Abena Mensah"), key=OTHER, **W)
        with pytest.raises(ConfigError, match="not the key this database's engagements"):
            list_engagements(st, key=OTHER, **W)
        assert _counts(st) == before  # no check value adopted from the wrong key either
        df = list_engagements(st, with_notes=True, **W)  # the right key decrypts: adopted
        assert list(df["notes"]) == ["bus station"]
        assert _key_check(st) == [
            hmac.new(KEY.encode(), b"patrolwise engagements key check v1", "sha256").hexdigest()
        ]
        with pytest.raises(ConfigError, match="not the key this database's engagements"):
            log_engagement(st, _e(consent=False), key=OTHER, **W)
        log_engagement(st, _e(reference="Abena Mensah"), **W)
        assert len(load_people(st)) == 1


def test_an_older_database_with_nothing_encrypted_adopts_the_first_key_used(
    store_url: str,
) -> None:
    # pseudonyms are keyed hashes of what was typed: without the typed name none can be
    # reproduced, so with no encrypted field to test the first key used is adopted
    with _store(store_url) as st:
        log_engagement(st, _e(reference="Abena Mensah"), **W)
    _before_the_check(store_url)
    with Store(store_url) as st:
        list_engagements(st, key=OTHER, **W)  # a read adopts nothing it cannot test
        assert _key_check(st) == []
        log_engagement(st, _e(reference="Kofi"), **W)
        assert len(_key_check(st)) == 1
        with pytest.raises(ConfigError, match="not the key this database's engagements"):
            log_engagement(st, _e(reference="Kofi"), key=OTHER, **W)


@pytest.mark.parametrize(
    "store_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("second_key", [KEY, OTHER], ids=["same-key", "another-key"])
def test_two_first_writes_at_once_hold_the_second_to_the_first_key(
    store_url: str, second_key: str
) -> None:
    """Two staff logging the database's first engagements at once (PostgreSQL): both found no
    key check, both inserted one, and the second failed with an IntegrityError traceback. Now
    the second waits for the first to commit, then is held to its key: the same key logs, another
    is refused as any wrong key is."""
    import threading

    from patrolwise.store.engagements import _check_key

    first, second = _store(store_url), Store(store_url)
    out: dict[str, object] = {}

    def log_second() -> None:
        try:
            out["id"] = log_engagement(second, _e(reference="Kofi Boateng"), key=second_key, **W)
        except Exception as exc:  # what the second writer met, checked below
            out["error"] = exc

    with first.session() as s, s.begin():
        _check_key(s, KEY, needed=True, writing=True)  # the first write's check, not committed
        th = threading.Thread(target=log_second)
        th.start()
        th.join(timeout=1.0)
        assert th.is_alive()  # waiting on the first writer's uncommitted key check
    th.join(timeout=60)
    assert not th.is_alive()
    if second_key == KEY:
        assert "error" not in out, out
        assert isinstance(out["id"], int)
    else:
        assert isinstance(out.get("error"), ConfigError), out
        assert "not the key this database's engagements" in str(out["error"])
    assert len(_key_check(first)) == 1
    first.close()
    second.close()
