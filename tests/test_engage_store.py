"""The engagement log in the store: consent, pseudonyms, merges, roles, audit, retention, debriefs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.engage.debrief import DebriefInput
from patrolwise.engage.log import EngagementInput, ReferralInput
from patrolwise.engage.pseudonym import placeholder_pseudonym, pseudonym
from patrolwise.errors import AuthError, InputError
from patrolwise.plan.schedule import PlanRequest, make_plan
from patrolwise.store import Store
from patrolwise.store.areas import add_areas, load_areas
from patrolwise.store.engagements import (
    add_debrief,
    close_inactive,
    engagement_summary,
    list_debriefs,
    list_engagements,
    load_audit,
    load_people,
    log_engagement,
    merge_people,
    record_consent,
)
from patrolwise.store.plans import save_plan
from patrolwise.store.visits import save_visits

from .plan_fixtures import line_of_hotspots

W = {"who": "Sam", "role": "outreach_worker"}
T0 = dt.datetime(2024, 6, 10, 15, 0)
NOTE = "Arrived from Ghana last week, husband left, sleeping at the bus station"


def _store(url: str) -> Store:
    st = Store(url)
    add_areas(st, line_of_hotspots(3), kind="hotspot")
    return st


def _e(**kw: object) -> EngagementInput:
    base: dict[str, object] = {"at": T0, "staff": "Sam", "area_id": 1}
    base.update(kw)
    return EngagementInput(**base)  # type: ignore[arg-type]


def test_log_with_consent_stores_only_pseudonym_and_token(store_url: str) -> None:
    with _store(store_url) as st:
        eid = log_engagement(
            st,
            _e(
                consent=True,
                reference="Abena Mensah",
                age_band="25-34",
                gender="female",
                needs=["housing", "food"],
                referrals=[ReferralInput("Housing Options", "emergency", True)],
                safeguarding=True,
                outcome="emergency shelter and food tonight",
                notes=NOTE,
            ),
            **W,
        )
        with st.engine.connect() as c:
            row = c.execute(text("select person, notes_encrypted, needs from engagements")).one()
            refs = c.execute(text("select agency, type, accepted from referrals")).all()
        assert row[0] == pseudonym("Abena Mensah")
        assert NOTE.encode() not in bytes(row[1])
        needs = json.loads(row[2]) if isinstance(row[2], str) else row[2]
        assert sorted(needs) == ["food", "housing"]
        assert refs == [("Housing Options", "emergency", True)]
        people = load_people(st)
        assert list(people["pseudonym"]) == [pseudonym("abena  mensah")]
        assert people.loc[0, "status"] == "open" and not people.loc[0, "placeholder"]
        notes = list_engagements(st, with_notes=True, **W)
        assert notes.loc[0, "notes"] == NOTE and notes.loc[0, "id"] == eid


def test_consent_comes_before_anything_identifying(store_url: str) -> None:
    with _store(store_url) as st:
        for kw in (
            {"reference": "Abena"},
            {"gender": "female"},
            {"notes": "x"},
            {"location": "outside 14 Elm Road", "area_id": None},
        ):
            with pytest.raises(InputError, match="consent is not recorded"):
                log_engagement(st, _e(consent=False, **kw), **W)
        # a placeholder at first contact is allowed without consent, as are needs
        log_engagement(st, _e(placeholder="red jacket", needs=["food"], age_band="16-17"), **W)
        with st.engine.connect() as c:
            assert c.execute(text("select count(*) from engagements")).scalar() == 1
        with pytest.raises(InputError, match="hot spot"):
            log_engagement(st, _e(area_id=None, consent=True), **W)
        # without consent a contact away from the hot spots still counts, with no place stored
        log_engagement(st, _e(area_id=None), **W)
        with pytest.raises(InputError, match="need"):
            log_engagement(st, _e(needs=["wifi"]), **W)


def test_placeholder_merged_later(store_url: str) -> None:
    with _store(store_url) as st:
        e1 = log_engagement(st, _e(placeholder="Red Jacket"), **W)
        log_engagement(st, _e(placeholder="red jacket", at=T0 + dt.timedelta(days=2)), **W)
        with pytest.raises(InputError, match="no consent"):
            merge_people(st, placeholder="red jacket", reference="Kofi", **W)
        with st.engine.connect() as c:
            ids = [r[0] for r in c.execute(text("select id from engagements"))]
        for i in ids:
            record_consent(st, i, **W)
        dst, moved = merge_people(st, placeholder="red jacket", reference="Kofi", **W)
        assert dst == pseudonym("Kofi") and moved == 2
        log_engagement(st, _e(consent=True, reference="kofi", at=T0 + dt.timedelta(days=5)), **W)
        # A later contact typed with the same placeholder is a new, unnamed person. Placeholders
        # describe what a worker saw that day ("red jacket"), not who someone is: plenty of
        # people wear a red jacket, and linking a stranger's contacts (needs, safeguarding,
        # notes) to Kofi's record would be a privacy breach. So a merge retires the placeholder.
        e_new = log_engagement(st, _e(placeholder="red jacket", at=T0 + dt.timedelta(days=6)), **W)
        people = load_people(st).set_index("pseudonym")
        ph = placeholder_pseudonym("red jacket")
        assert people.loc[ph, "status"] == "open" and people.loc[ph, "placeholder"]
        assert pd.isna(people.loc[ph, "merged_into"])
        assert people.loc[ph, "first_contact"] == T0 + dt.timedelta(days=6)
        retired = people[people["status"] == "merged"]
        assert len(retired) == 1 and list(retired["merged_into"]) == [dst]
        assert people.loc[dst, "first_contact"] == T0
        assert people.loc[dst, "last_contact"] == T0 + dt.timedelta(days=5)
        with st.engine.connect() as c:
            persons = [r[0] for r in c.execute(text("select person from engagements order by id"))]
        assert persons == [dst] * 3 + [ph] and e1 == ids[0]
        s = engagement_summary(st, who="Ana", role="outreach_manager", threshold=None)
        repeat = s["repeat_contacts"].set_index("contacts")["people"]
        assert repeat["3-4"] == 1 and repeat["1"] == 1
        # the new placeholder person can be merged in its turn (here into someone else)
        record_consent(st, e_new, **W)
        dst2, moved2 = merge_people(st, placeholder="red jacket", reference="Ama", **W)
        assert dst2 == pseudonym("Ama") and moved2 == 1
        with pytest.raises(InputError, match="no person recorded under the placeholder"):
            merge_people(st, placeholder="red jacket", reference="Kofi", **W)
        people = load_people(st)
        assert ph not in set(people["pseudonym"])
        assert sorted(people.loc[people["status"] == "merged", "merged_into"]) == sorted(
            [dst, dst2]
        )


def test_roles_and_audit(store_url: str) -> None:
    with _store(store_url) as st:
        for i in range(3):
            log_engagement(st, _e(consent=True, reference=f"person {i}", notes=f"note {i}"), **W)
        log_engagement(st, _e(consent=True, reference="person 9"), **W)
        for role in ("police", "analyst", "admin"):
            with pytest.raises(AuthError):
                list_engagements(st, who="X", role=role, with_notes=True)
            with pytest.raises(AuthError):
                list_engagements(st, who="X", role=role)
            with pytest.raises(AuthError):
                log_engagement(st, _e(), who="X", role=role)
        with pytest.raises(AuthError, match="unknown role"):
            list_engagements(st, who="X", role="superuser", with_notes=True)
        assert len(load_audit(st).query("action == 'read_notes'")) == 0
        df = list_engagements(st, who="Manager", role="outreach_manager", with_notes=True)
        assert sorted(df["notes"].dropna()) == ["note 0", "note 1", "note 2"]
        audit = load_audit(st)
        reads = audit[audit["action"] == "read_notes"]
        assert len(reads) == 3 and set(reads["who"]) == {"Manager"}
        assert len(audit[audit["action"] == "log_engagement"]) == 4
        # police and analysts get counts, small ones suppressed
        s = engagement_summary(st, who="PC Lee", role="police")
        assert s["by_hotspot"].loc[0, "engagements"] == "<5"


def test_close_inactive_people(store_url: str) -> None:
    with _store(store_url) as st:
        log_engagement(st, _e(consent=True, reference="old", at=dt.datetime(2024, 1, 1, 15)), **W)
        log_engagement(
            st, _e(consent=True, reference="recent", at=dt.datetime(2024, 3, 20, 15)), **W
        )
        with pytest.raises(AuthError):
            close_inactive(st, who="X", role="police", today=dt.date(2024, 4, 1))
        assert close_inactive(st, today=dt.date(2024, 4, 1), **W) == 1  # 91 days vs 12
        people = load_people(st).set_index("pseudonym")["status"]
        assert people[pseudonym("old")] == "closed" and people[pseudonym("recent")] == "open"
        assert close_inactive(st, today=dt.date(2024, 4, 1), days=5, **W) == 1
        log_engagement(st, _e(consent=True, reference="old", at=dt.datetime(2024, 4, 2, 15)), **W)
        assert load_people(st).set_index("pseudonym")["status"][pseudonym("old")] == "open"


def test_debrief_linked_to_shift_dosage(store_url: str) -> None:
    with _store(store_url) as st:
        hs = load_areas(st, "hotspot")
        day = dt.date(2024, 6, 10)
        res = make_plan(hs, PlanRequest("outreach", day, day))
        pid = save_plan(st, "outreach", res.seed, res.params, res.visits)
        did = add_debrief(
            st,
            DebriefInput(
                "outreach",
                day,
                "Sam",
                "quiet",
                ["tracker failure", "police_presence"],
                "start at 15:00",
            ),
            **W,
        )
        d = list_debriefs(st, **W).iloc[0]
        assert d["id"] == did and pd.isna(d["plan_id"])
        assert d["planned_minutes"] == 120.0 and d["delivered_minutes"] is None
        assert sorted(d["problems"]) == ["police_presence", "tracker_failure"]
        assert d["summary"] == "quiet" and d["suggestions"] == "start at 15:00"
        # once the dosage stage has measured the day, delivered minutes are attached
        v = res.visits.iloc[:2]
        save_visits(
            st,
            pd.DataFrame(
                {
                    "device_id": "t1",
                    "team": "outreach",
                    "area_id": v["area_id"].to_numpy(),
                    "start": v["start"].to_numpy(),
                    "end": v["end"].to_numpy(),
                    "minutes": [35.0, 12.5],
                    "n_pings": 30,
                    "local_day": day,
                }
            ),
        )
        add_debrief(st, DebriefInput("outreach", day, "Sam", "tracker back"), **W)
        d2 = list_debriefs(st, **W).iloc[1]
        assert d2["planned_minutes"] == 120.0 and d2["delivered_minutes"] == 47.5
        with pytest.raises(InputError, match="problem"):
            add_debrief(st, DebriefInput("outreach", day, "Sam", problems=["bored"]), **W)
        assert pid == 1


def test_notes_and_names_are_not_in_the_sqlite_file(sqlite_url: str) -> None:
    with _store(sqlite_url) as st:
        log_engagement(
            st,
            _e(
                consent=True,
                reference="Abena Mensah",
                notes=NOTE,
                outcome="Kwame's shelter place",
                area_id=None,
                location="doorway of 14 Elm Road",
            ),
            **W,
        )
        add_debrief(
            st,
            DebriefInput(
                "outreach",
                dt.date(2024, 6, 10),
                "Sam",
                summary="moved Yaw on from Elm Road",
                suggestions="check the Ashdown Court stairwell",
            ),
            **W,
        )
        df = list_engagements(st, with_notes=True, **W)
        assert df.loc[0, "location"] == "doorway of 14 Elm Road"
        assert df.loc[0, "outcome"] == "Kwame's shelter place"
        with st.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"Arrived from Ghana" not in blob and b"bus station" not in blob
    assert b"Abena" not in blob and b"Mensah" not in blob and b"abena" not in blob
    for plain in (b"Kwame", b"shelter place", b"Elm Road", b"Yaw on", b"Ashdown"):
        assert plain not in blob, plain
    assert b"Sam" in blob  # the grep does find plain text that is stored (the staff name)


def test_free_text_readable_only_by_outreach_roles_audited(store_url: str) -> None:
    with _store(store_url) as st:
        log_engagement(
            st, _e(consent=True, outcome="bed at St Mungo's", location="by the bins"), **W
        )
        log_engagement(st, _e(placeholder="red jacket", at=T0 + dt.timedelta(hours=1)), **W)
        with st.engine.connect() as c:
            row = c.execute(text("select location_encrypted, outcome_encrypted from engagements"))
            tokens = [bytes(t) for r in row for t in r if t is not None]
        assert len(tokens) == 2 and all(b"bins" not in t and b"Mungo" not in t for t in tokens)
        for role in ("police", "analyst", "admin"):
            with pytest.raises(AuthError):
                list_engagements(st, who="X", role=role)
        df = list_engagements(st, who="Manager", role="outreach_manager")
        assert df.loc[0, "outcome"] == "bed at St Mungo's" and pd.isna(df.loc[1, "outcome"])
        assert df.loc[0, "location"] == "by the bins" and pd.isna(df.loc[1, "location"])
        reads = load_audit(st).query("action == 'read_text'")
        assert list(reads["object"]) == ["engagement:1"] and set(reads["who"]) == {"Manager"}
        # debriefs: each agency reads its own shifts' free text and not the other's (least
        # privilege between agencies: a police debrief naming someone is the force's record,
        # not the charity's, and the police read their own); everyone sees problems and minutes
        add_debrief(
            st,
            DebriefInput("police", T0.date(), "PC Lee", "spoke to Kofi", ["weather"], "earlier"),
            who="PC Lee",
            role="police",
        )
        add_debrief(st, DebriefInput("outreach", T0.date(), "Sam", "quiet shift", [], "later"), **W)
        out = list_debriefs(st, who="Manager", role="outreach_worker").set_index("team")
        assert out.loc["police", "problems"] == ["weather"]
        assert out.loc[["police"], ["summary", "suggestions"]].isna().all(axis=None)
        assert out.loc["outreach", "summary"] == "quiet shift"
        assert list(load_audit(st).query("action == 'read_debrief'")["object"]) == ["debrief:2"]
        pol = list_debriefs(st, who="PC Lee", role="police").set_index("team")
        assert pol.loc["police", "summary"] == "spoke to Kofi"
        assert pol.loc["police", "suggestions"] == "earlier"
        assert pd.isna(pol.loc["outreach", "summary"])
        reads = load_audit(st).query("action == 'read_debrief'")
        assert list(reads["object"]) == ["debrief:2", "debrief:1"]
        assert list(reads["who"]) == ["Manager", "PC Lee"]
        for role in ("analyst", "admin"):
            assert "summary" not in list_debriefs(st, who="X", role=role)
        assert len(load_audit(st).query("action == 'read_debrief'")) == 2
        # counts still work for everyone
        assert (
            engagement_summary(st, who="Ana", role="analyst")["by_hotspot"].loc[0, "engagements"]
            == "<5"
        )


def test_only_outreach_roles_can_lower_the_threshold(store_url: str) -> None:
    with _store(store_url) as st:
        for i in range(2):
            log_engagement(st, _e(consent=True, reference=f"person {i}"), **W)
        for role in ("police", "analyst", "admin"):
            for threshold in (1, 4, None):
                with pytest.raises(AuthError, match="below 5"):
                    engagement_summary(st, who="X", role=role, threshold=threshold)
            hs = engagement_summary(st, who="X", role=role, threshold=10)["by_hotspot"]
            assert hs.loc[0, "engagements"] == "<10"
        hs = engagement_summary(st, who="Sam", role="outreach_manager", threshold=1)["by_hotspot"]
        assert hs.loc[0, "engagements"] == "2"


def test_summary_weeks_are_local(store_url: str) -> None:
    with _store(store_url) as st:
        # Monday 10 June 2024 00:30 BST is Sunday 9 June 23:30 UTC: it belongs to the week of 10 June
        log_engagement(st, _e(at=dt.datetime(2024, 6, 9, 23, 30)), **W)
        s = engagement_summary(st, who="Sam", role="outreach_worker", threshold=None)
        assert list(s["by_week"]["week"]) == ["2024-06-10"]


def test_engage_cli(sqlite_url: str) -> None:
    with _store(sqlite_url):
        pass
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(
        app,
        [
            *db,
            "engage",
            "log",
            "--staff",
            "Sam",
            "--hotspot",
            "1",
            "--at",
            "2024-06-10 15:30",
            "--placeholder",
            "red jacket",
            "--need",
            "housing",
            "--referral",
            "Shelter:emergency:yes",
            "--role",
            "outreach_worker",
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app,
        [
            *db,
            "engage",
            "log",
            "--staff",
            "Sam",
            "--hotspot",
            "1",
            "--ref",
            "Kofi",
            "--role",
            "outreach_worker",
        ],
    )
    assert isinstance(r.exception, InputError)
    r = CliRunner().invoke(
        app,
        [
            *db,
            "engage",
            "merge",
            "--placeholder",
            "red jacket",
            "--ref",
            "Kofi",
            "--role",
            "outreach_worker",
        ],
    )
    assert isinstance(r.exception, InputError) and "no consent" in str(r.exception)
    r = CliRunner().invoke(
        app,
        [
            *db,
            "engage",
            "merge",
            "--placeholder",
            "Red jacket",
            "--ref",
            "Kofi",
            "--consent",
            "--role",
            "outreach_worker",
        ],
    )
    assert r.exit_code == 0 and f"merged 1 engagement(s) into {pseudonym('Kofi')}" in r.output
    r = CliRunner().invoke(app, [*db, "engage", "list", "--notes", "--role", "police"])
    assert isinstance(r.exception, AuthError)
    r = CliRunner().invoke(app, [*db, "engage", "summary", "--role", "analyst"])
    assert r.exit_code == 0 and '"engagements": "<5"' in r.output
    r = CliRunner().invoke(app, [*db, "engage", "summary", "--threshold", "1", "--role", "analyst"])
    assert isinstance(r.exception, AuthError)
    r = CliRunner().invoke(
        app, [*db, "engage", "summary", "--threshold", "1", "--role", "outreach_manager"]
    )
    assert r.exit_code == 0 and '"engagements": "1"' in r.output
    r = CliRunner().invoke(app, [*db, "engage", "close-inactive", "--role", "outreach_manager"])
    assert r.exit_code == 0 and "closed 1" in r.output  # 2024 contact, long before today
    r = CliRunner().invoke(
        app,
        [
            *db,
            "debrief",
            "add",
            "--team",
            "outreach",
            "--date",
            "2024-06-10",
            "--staff",
            "Sam",
            "--problem",
            "unsafe_area",
            "--role",
            "outreach_worker",
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "debrief", "list", "--role", "police"])
    assert r.exit_code == 0 and "unsafe_area" in r.output


def test_listing_records_is_audited_even_without_free_text(store_url: str) -> None:
    # pseudonyms, age bands, gender and safeguarding flags of every person were read by
    # `engage list` with no trace in the audit log when no record held free text
    with _store(store_url) as st:
        for i in range(3):
            log_engagement(
                st, _e(consent=True, reference=f"person {i}", gender="f", safeguarding=True), **W
            )
        before = len(load_audit(st))
        df = list_engagements(st, who="Manager", role="outreach_manager")
        assert len(df) == 3
        new = load_audit(st).iloc[before:]
        assert list(new["action"]) == ["list_engagements"]
        assert list(new["who"]) == ["Manager"] and list(new["object"]) == ["engagements:3"]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"staff": "S" * 101}, "staff"),
        ({"gender": "g" * 33, "consent": True}, "gender"),
        ({"referrals": [ReferralInput("A" * 101)]}, "agency"),
    ],
)
def test_overlong_fields_are_refused_on_every_back_end(
    store_url: str, kw: dict[str, object], field: str
) -> None:
    # SQLite stored them; PostgreSQL failed the insert with a StringDataRightTruncation traceback
    with _store(store_url) as st:
        with pytest.raises(InputError, match=field):
            log_engagement(st, _e(**kw), **W)
        with st.engine.connect() as c:
            assert c.execute(text("select count(*) from engagements")).scalar() == 0


def test_overlong_debrief_staff_and_caller_name_are_refused(store_url: str) -> None:
    with _store(store_url) as st:
        with pytest.raises(InputError, match="staff"):
            add_debrief(st, DebriefInput("outreach", T0.date(), "S" * 101), **W)
        with pytest.raises(InputError, match="name"):
            log_engagement(st, _e(), who="W" * 101, role="outreach_worker")
        with st.engine.connect() as c:
            assert c.execute(text("select count(*) from engagements")).scalar() == 0
            assert c.execute(text("select count(*) from debriefs")).scalar() == 0


@pytest.mark.parametrize(
    "args",
    [
        ["engage", "log", "--staff", "Sam", "--hotspot", "1", "--follow-up", "2024-13-01"],
        ["debrief", "add", "--team", "outreach", "--date", "2024-02-30", "--staff", "Sam"],
    ],
)
def test_engage_cli_bad_dates_are_one_clear_line(sqlite_url: str, args: list[str]) -> None:
    # dt.date.fromisoformat in the CLI raised a bare ValueError traceback
    with _store(sqlite_url):
        pass
    r = CliRunner().invoke(app, ["--db", sqlite_url, *args, "--role", "outreach_worker"])
    assert isinstance(r.exception, InputError), r.exception
    assert "like 2024-06-10" in str(r.exception)


def test_debrief_for_an_unknown_plan_is_refused(store_url: str) -> None:
    # the foreign key failed the insert with an IntegrityError traceback
    with _store(store_url) as st:
        with pytest.raises(InputError, match="no plan with id 999"):
            add_debrief(st, DebriefInput("outreach", T0.date(), "Sam", plan_id=999), **W)
        with st.engine.connect() as c:
            assert c.execute(text("select count(*) from debriefs")).scalar() == 0


def test_debrief_against_the_other_teams_plan_is_refused(store_url: str) -> None:
    # an outreach debrief given the police plan's id took the police plan's minutes as planned
    with _store(store_url) as st:
        day = T0.date()
        hs = load_areas(st, "hotspot")
        pol = make_plan(hs, PlanRequest("police", day, day))
        pid = save_plan(st, "police", pol.seed, pol.params, pol.visits)
        with pytest.raises(InputError, match="police plan"):
            add_debrief(st, DebriefInput("outreach", day, "Sam", plan_id=pid), **W)
        did = add_debrief(
            st, DebriefInput("police", day, "PC Lee", plan_id=pid), who="PC Lee", role="police"
        )
        assert list_debriefs(st, **W).set_index("id").loc[did, "planned_minutes"] == 45.0


def test_each_agency_writes_only_its_own_debriefs(store_url: str) -> None:
    # a police login could file a debrief as the outreach team (and its text then read as the
    # charity's own account), and an outreach worker one as the police
    with _store(store_url) as st:
        with pytest.raises(AuthError, match="outreach"):
            add_debrief(
                st, DebriefInput("outreach", T0.date(), "PC Lee"), who="PC Lee", role="police"
            )
        with pytest.raises(AuthError, match="police"):
            add_debrief(st, DebriefInput("police", T0.date(), "Sam"), **W)
        add_debrief(st, DebriefInput("police", T0.date(), "PC Lee"), who="PC Lee", role="police")
        add_debrief(st, DebriefInput("outreach", T0.date(), "Sam"), **W)
        assert sorted(list_debriefs(st, **W)["team"]) == ["outreach", "police"]


def test_refused_reads_are_audited_without_content(store_url: str) -> None:
    # a police or analyst login asking for case records was refused with no trace in the audit
    # log, so repeated attempts to read records about vulnerable people went unseen
    with _store(store_url) as st:
        log_engagement(st, _e(consent=True, reference="Abena Mensah", notes=NOTE), **W)
        before = len(load_audit(st))
        with pytest.raises(AuthError):
            list_engagements(st, who="PC Lee", role="police", with_notes=True)
        with pytest.raises(AuthError):
            list_engagements(st, who="Ana", role="analyst", start=T0)
        with pytest.raises(AuthError, match="below 5"):
            engagement_summary(st, who="Ana", role="analyst", threshold=None)
        new = load_audit(st).iloc[before:]
        assert list(new["action"]) == ["refused"] * 3
        assert list(new["who"]) == ["PC Lee", "Ana", "Ana"]
        assert list(new["role"]) == ["police", "analyst", "analyst"]
        assert list(new["object"]) == [
            "read_notes engagements",
            f"list_engagements from {T0}",
            "summary threshold None",
        ]
        logged = " ".join(new["object"])
        assert pseudonym("Abena Mensah") not in logged and "Ghana" not in logged
        # a refused read leaves nothing else behind: no read_notes or listing entries
        assert not load_audit(st)["action"].isin(["read_notes", "list_engagements"]).any()


def _downgraded(store_url: str, revision: str) -> Engine:
    """An engine on the store taken back to an earlier schema revision (to plant old rows)."""
    from alembic import command

    from patrolwise.store.db import alembic_config, make_engine

    eng = make_engine(store_url)
    with eng.begin() as conn:
        cfg = alembic_config(store_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return eng


def test_migration_maps_free_text_gender_to_the_vocabulary(store_url: str) -> None:
    # rows stored before the vocabulary could hold any text up to 32 characters in clear
    from patrolwise.store.db import init_db, make_engine

    eng = _downgraded(store_url, "0007")
    typed = ["Female", "m", "not stated", "Abena's sister", "NB", None, ""]
    with eng.begin() as conn:
        for g in typed:
            conn.execute(
                text(
                    "insert into engagements (team, at, staff, gender, consent, safeguarding, "
                    "created_at) values ('outreach', '2024-06-10', 'Sam', :g, true, false, "
                    "'2024-06-10')"
                ),
                {"g": g},
            )
    eng.dispose()
    init_db(store_url)
    eng = make_engine(store_url)
    with eng.connect() as c:
        got = [r[0] for r in c.execute(text("select gender from engagements order by id"))]
    eng.dispose()
    assert got == ["female", "male", "not stated", "other", "non-binary", None, None]


def test_migrations_retire_merged_placeholders_and_date_closed_people(store_url: str) -> None:
    # 0007: a placeholder merged before it kept its keyed hash, so the next 'red jacket' went
    # to the named person; 0009: people closed before it get the upgrade day as closing day
    from patrolwise.store.db import init_db, make_engine

    eng = _downgraded(store_url, "0006")
    rows = [
        ("ph_" + "a" * 61, True, "p_" + "b" * 62, "merged"),
        ("p_" + "b" * 62, False, None, "open"),
        ("p_" + "c" * 62, False, None, "closed"),
    ]
    with eng.begin() as conn:
        for pseud, ph, into, status in rows:
            conn.execute(
                text(
                    "insert into people (pseudonym, placeholder, merged_into, status, created_at) "
                    "values (:p, :ph, :into, :st, '2023-06-01')"
                ),
                {"p": pseud, "ph": ph, "into": into, "st": status},
            )
    eng.dispose()
    before = dt.datetime.now(dt.UTC).date()
    init_db(store_url)
    after = dt.datetime.now(dt.UTC).date()
    eng = make_engine(store_url)
    with eng.connect() as c:
        got = c.execute(
            text("select id, pseudonym, merged_into, status, closed_on from people order by id")
        ).all()
    eng.dispose()
    (i1, p1, m1, s1, c1), (_, p2, _, _, c2), (_, p3, _, _, c3) = got
    assert (p1, m1, s1, c1) == (f"ph_retired_{i1}", "p_" + "b" * 62, "merged", None)
    assert p2 == "p_" + "b" * 62 and c2 is None
    closed = c3 if isinstance(c3, dt.date) else dt.date.fromisoformat(str(c3))
    assert p3 == "p_" + "c" * 62 and before <= closed <= after


def _retention_log(st: Store) -> None:
    """Abena (notes, outcome, location) and Kofi (once 'red jacket') closed on 1 June 2023;
    Recent still in contact. Referrals on both sides so the agency counts are exercised."""
    log_engagement(
        st,
        _e(
            consent=True,
            reference="Abena Mensah",
            at=dt.datetime(2023, 1, 10, 15),
            age_band="16-17",
            gender="female",
            needs=["housing", "exploitation_risk"],
            referrals=[ReferralInput("Housing Options", "emergency", True)],
            safeguarding=True,
            outcome="Kwame's shelter place",
            location="doorway of 14 Elm Road",
            area_id=None,
            notes=NOTE,
            follow_up=dt.date(2023, 1, 17),
        ),
        **W,
    )
    log_engagement(st, _e(placeholder="red jacket", at=dt.datetime(2023, 1, 11, 15)), **W)
    merge_people(st, placeholder="red jacket", reference="Kofi", consent_given=True, **W)
    log_engagement(
        st,
        _e(
            consent=True,
            reference="Kofi",
            at=dt.datetime(2023, 1, 12, 15),
            needs=["food"],
            referrals=[ReferralInput("Food bank")],
            notes="sleeps behind the Ashdown Court stairwell",
        ),
        **W,
    )
    assert close_inactive(st, today=dt.date(2023, 6, 1), **W) == 2
    log_engagement(
        st,
        _e(consent=True, reference="Recent", at=dt.datetime(2024, 3, 20, 15), notes="keep me"),
        **W,
    )


def test_purge_erases_people_closed_for_a_year_and_keeps_the_counts(store_url: str) -> None:
    # close-inactive only changed a status: notes, outcome, location and the pseudonym link of
    # people closed years ago stayed readable forever
    from patrolwise.store.engagements import purge_closed

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(store_url) as st:
        _retention_log(st)
        before = engagement_summary(st, threshold=None, **M)
        abena, kofi = pseudonym("Abena Mensah"), pseudonym("Kofi")
        ph = placeholder_pseudonym("red jacket")
        # only an outreach manager purges; the refusal is audited
        for role in ("outreach_worker", "police", "analyst", "admin"):
            with pytest.raises(AuthError, match="outreach_manager"):
                purge_closed(st, who="X", role=role, today=dt.date(2024, 6, 1))
        assert list(load_audit(st)["action"]).count("refused") == 4
        # 366 days closed on 1 June 2024; a dry run says what would go and changes nothing
        dry = purge_closed(st, today=dt.date(2024, 6, 1), dry_run=True, **M)
        when = list_engagements(st, **M).set_index("id")["at"]
        assert (dry.people, dry.engagements, dry.texts) == (2, 3, 4)
        assert len(list_engagements(st, with_notes=True, **M)["notes"].dropna()) == 3
        assert purge_closed(st, today=dt.date(2024, 5, 31), days=366, **M).people == 0
        # a debrief's free text may name people but is linked to no one: it goes by its date
        for day, summary in (
            (dt.date(2023, 5, 15), "Abena by the bins again"),
            (dt.date(2024, 5, 20), "quiet"),
        ):
            add_debrief(
                st, DebriefInput("outreach", day, "Sam", summary, ["weather"], "later"), **W
            )
        done = purge_closed(st, today=dt.date(2024, 6, 1), **M)
        assert (done.people, done.engagements, done.texts, done.debriefs) == (2, 3, 4, 1)
        assert "free text of 1 debrief(s) older than 365 days deleted" in done.line()
        deb = list_debriefs(st, **M).set_index("date")
        assert pd.isna(deb.loc[dt.date(2023, 5, 15), "summary"])
        assert pd.isna(deb.loc[dt.date(2023, 5, 15), "suggestions"])
        assert deb.loc[dt.date(2023, 5, 15), "problems"] == ["weather"]
        assert deb.loc[dt.date(2024, 5, 20), "summary"] == "quiet"
        # the counts every report uses do not change
        after = engagement_summary(st, threshold=None, **M)
        for k, v in before.items():
            pd.testing.assert_frame_equal(v, after[k], check_dtype=False)
        df = list_engagements(st, with_notes=True, **M).set_index("id")
        gone = df.loc[[1, 2, 3]]
        assert gone[["notes", "outcome", "location", "age_band", "gender"]].isna().all().all()
        assert gone["follow_up"].isna().all() and gone["person"].str.startswith("anon_").all()
        assert gone.loc[2, "person"] == gone.loc[3, "person"] != gone.loc[1, "person"]
        # the time of day goes (naive UTC of local midnight), the day stays; the kept contact
        # keeps its time
        assert (gone["at"].dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.hour == 0).all()
        assert (gone["at"].dt.minute == 0).all() and df.loc[4, "at"] == dt.datetime(2024, 3, 20, 15)
        local = {
            k: v.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.date
            for k, v in (("before", when.loc[[1, 2, 3]]), ("after", gone["at"]))
        }
        assert local["before"].tolist() == local["after"].tolist()
        assert df.loc[4, "notes"] == "keep me" and df.loc[4, "person"] == pseudonym("Recent")
        assert list(load_people(st)["pseudonym"]) == [pseudonym("Recent")]
        audit = load_audit(st)
        assert not audit["object"].str.contains(abena).any()
        assert not audit["object"].str.contains(kofi).any()
        assert not audit["object"].str.contains(ph).any()
        p = audit[audit["action"] == "purge"]
        assert list(p["object"]) == [
            "people:0 engagements:0 texts:0 (closed >366 days)",
            "people:2 engagements:3 texts:4 (closed >365 days) debrief_texts:1 (older than 365 days)",
        ]
        assert list(audit.loc[audit["action"] == "purge_dry_run", "object"]) == [
            "people:2 engagements:3 texts:4 (closed >365 days)"
        ]
        # re-purging is a no-op; a later contact typed with the same name is a new person
        assert purge_closed(st, today=dt.date(2024, 6, 1), **M).people == 0
        log_engagement(
            st, _e(consent=True, reference="Abena Mensah", at=dt.datetime(2024, 6, 1, 15)), **W
        )
        people = load_people(st).set_index("pseudonym")
        assert people.loc[abena, "first_contact"] == dt.datetime(2024, 6, 1, 15)


def test_purge_cuts_the_times_an_earlier_purge_left(store_url: str) -> None:
    """Contacts anonymised before times were cut (an earlier release) lose their time of day at
    the next purge, even one with nobody new to erase; a person whose name merely starts like a
    token ('anon' + any letter) keeps theirs."""
    from sqlalchemy import update as sa_update

    from patrolwise.store.engagements import purge_closed
    from patrolwise.store.models.engagement import Engagement

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(store_url) as st:
        log_engagement(
            st, _e(consent=True, reference="Old", at=dt.datetime(2023, 7, 4, 16, 25)), **W
        )
        log_engagement(
            st, _e(consent=True, reference="Now", at=dt.datetime(2023, 7, 4, 17, 5)), **W
        )
        with st.session() as s, s.begin():
            s.execute(sa_update(Engagement).where(Engagement.id == 1).values(person="anon_0f3a"))
            s.execute(sa_update(Engagement).where(Engagement.id == 2).values(person="anonXkeep"))
        assert purge_closed(st, today=dt.date(2024, 6, 1), **M).people == 0
        at = list_engagements(st, **M).set_index("id")["at"]
        assert at.loc[1] == dt.datetime(2023, 7, 3, 23, 0)  # 4 July 00:00 BST
        assert at.loc[2] == dt.datetime(2023, 7, 4, 17, 5)


def test_purged_text_and_pseudonyms_are_not_in_the_sqlite_file(sqlite_url: str) -> None:
    from patrolwise.store.engagements import purge_closed

    with _store(sqlite_url) as st:
        _retention_log(st)
        with st.engine.connect() as c:
            rows = c.execute(
                text(
                    "select notes_encrypted, outcome_encrypted, location_encrypted from "
                    "engagements where id < 4"
                )
            ).all()
        tokens = [bytes(t) for r in rows for t in r if t is not None]
        assert len(tokens) == 4
        purge_closed(st, who="Ana", role="outreach_manager", today=dt.date(2024, 6, 1))
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for t in tokens:
        assert t not in blob and t[:40] not in blob
    for p in (pseudonym("Abena Mensah"), pseudonym("Kofi"), placeholder_pseudonym("red jacket")):
        assert p.encode() not in blob, p
    assert pseudonym("Recent").encode() in blob  # the grep finds what is still stored


def test_a_purge_blocked_by_a_reader_says_so_and_the_next_one_finishes(sqlite_url: str) -> None:
    # with another connection reading (the web service, say), SQLite can neither rewrite the
    # file nor truncate its log: the purge reported the people erased while their pseudonyms
    # and ciphertexts were still in the .db/-wal files, and a second purge did nothing
    import sqlite3

    from patrolwise.store.engagements import purge_closed

    path = Path(sqlite_url.removeprefix("sqlite:///"))

    def blob() -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(sqlite_url) as st:
        _retention_log(st)
        kofi = pseudonym("Kofi").encode()
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM people").fetchone()  # holds its snapshot
        done = purge_closed(st, today=dt.date(2024, 6, 1), **M)
        assert done.people == 2 and done.compacted is False
        assert "still holds the erased bytes" in done.line()
        assert kofi in blob()  # what the message says is true
        reader.rollback()
        reader.close()
        again = purge_closed(st, today=dt.date(2024, 6, 1), **M)
        assert again.people == 0 and again.compacted is True
        assert kofi not in blob()
        assert purge_closed(st, today=dt.date(2024, 6, 1), **M).compacted is None  # nothing left
        actions = list(load_audit(st)["action"])
        assert actions[-5:] == ["purge", "purge_incomplete", "purge", "purge_compacted", "purge"]


def test_engage_purge_cli(sqlite_url: str) -> None:
    with _store(sqlite_url):
        pass
    db = ["--db", sqlite_url, "engage", "purge"]
    r = CliRunner().invoke(app, [*db, "--dry-run", "--role", "outreach_manager"])
    assert r.exit_code == 0, r.output
    assert "would erase 0 people closed for more than 365 days" in r.output
    r = CliRunner().invoke(app, [*db, "--closed-for", "30", "--role", "outreach_manager"])
    assert r.exit_code == 0 and "erased 0 people closed for more than 30 days" in r.output
    r = CliRunner().invoke(app, [*db, "--role", "outreach_worker"])
    assert isinstance(r.exception, AuthError)


def test_purge_erases_old_contacts_linked_to_no_one(store_url: str) -> None:
    # a contact logged with consent but no reference or placeholder belongs to no person, so no
    # person's closure ever reached it: its notes ("Ama Owusu, 3 Low Rd"), outcome and location
    # were kept for ever. Like a debrief, it goes by its date.
    from patrolwise.store.engagements import purge_closed

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(store_url) as st:
        old = dict(consent=True, area_id=None, age_band="16-17", gender="female")
        log_engagement(
            st,
            _e(
                at=dt.datetime(2023, 1, 10, 15),
                notes="Ama Owusu, pregnant",
                outcome="bed for Ama",
                location="3 Low Rd",
                follow_up=dt.date(2023, 1, 17),
                needs=["housing"],
                referrals=[ReferralInput("Housing Options")],
                **old,
            ),
            **W,
        )
        log_engagement(
            st, _e(at=dt.datetime(2024, 5, 1, 15), notes="recent, kept", consent=True), **W
        )
        before = engagement_summary(st, threshold=None, **M)
        dry = purge_closed(st, today=dt.date(2024, 6, 1), dry_run=True, **M)
        assert (dry.people, dry.unlinked) == (0, 1)
        assert list_engagements(st, with_notes=True, **M).loc[0, "notes"] == "Ama Owusu, pregnant"
        done = purge_closed(st, today=dt.date(2024, 6, 1), **M)
        assert (done.people, done.unlinked) == (0, 1)
        assert "1 engagement(s) linked to no one" in done.line()
        df = list_engagements(st, with_notes=True, **M).set_index("id")
        cols = ["notes", "outcome", "location", "age_band", "gender", "follow_up"]
        assert df.loc[1, cols].isna().all()
        assert df.loc[2, "notes"] == "recent, kept"
        after = engagement_summary(st, threshold=None, **M)
        for k, v in before.items():
            pd.testing.assert_frame_equal(v, after[k], check_dtype=False)
        assert purge_closed(st, today=dt.date(2024, 6, 1), **M).unlinked == 0  # idempotent
        audit = load_audit(st)
        purges = list(audit.loc[audit["action"] == "purge", "object"])
        assert purges[0].endswith("unlinked_engagements:1 (older than 365 days)")
        assert "unlinked" not in purges[1]


def _strict_json(text_: str) -> object:
    """JSON as jq or a browser reads it: NaN and Infinity are not JSON."""

    def refuse(c: str) -> object:
        raise ValueError(f"{c} is not JSON")

    return json.loads(text_, parse_constant=refuse)


def test_engage_and_debrief_lists_are_strict_json(sqlite_url: str) -> None:
    # a record with no pseudonym, age band or free text printed `"person": NaN`, which jq,
    # browsers and every strict parser refuse (the whole listing, not the one field)
    with _store(sqlite_url) as st:
        log_engagement(st, _e(area_id=None, consent=False), **W)
        log_engagement(st, _e(consent=True, reference="Kofi", notes="n"), **W)
        add_debrief(st, DebriefInput("outreach", dt.date(2024, 6, 10), "Sam", ""), **W)
        add_debrief(st, DebriefInput("outreach", dt.date(2024, 6, 11), "Sam", "quiet"), **W)
    db = ["--db", sqlite_url]
    r = CliRunner().invoke(app, [*db, "engage", "list", "--notes", "--role", "outreach_worker"])
    assert r.exit_code == 0, r.output
    rows = _strict_json(r.stdout)
    assert isinstance(rows, list)
    assert rows[0]["person"] is None and rows[0]["area_id"] is None
    assert rows[0]["location"] is None and rows[0]["notes"] is None
    assert rows[1]["area_id"] == 1 and rows[1]["notes"] == "n"
    r = CliRunner().invoke(app, [*db, "debrief", "list", "--role", "outreach_worker"])
    assert r.exit_code == 0, r.output
    deb = _strict_json(r.stdout)
    assert isinstance(deb, list) and [d["summary"] for d in deb] == [None, "quiet"]


def test_engage_list_shows_contact_times_in_local_time(sqlite_url: str) -> None:
    # a contact logged as 16:00 on a summer day was listed as "15:00:00" (its naive UTC), and a
    # purged contact cut to local midnight showed the day before at 23:00
    with _store(sqlite_url):
        pass
    db = ["--db", sqlite_url]
    log = [*db, "engage", "log", "--staff", "Sam", "--hotspot", "1", "--role", "outreach_worker"]
    for at in ("2024-06-10 16:00", "2024-01-10 16:00"):
        r = CliRunner().invoke(app, [*log, "--at", at])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "engage", "list", "--role", "outreach_worker"])
    assert r.exit_code == 0, r.output
    rows = _strict_json(r.stdout)
    assert isinstance(rows, list)
    assert [x["at"] for x in rows] == ["2024-01-10T16:00:00+00:00", "2024-06-10T16:00:00+01:00"]


@pytest.mark.parametrize(
    ("at", "stored", "refused"),
    [
        # the hour repeated when the clocks go back: 01:30 BST or 01:30 GMT, an hour apart
        ("2024-10-27 01:30", None, "happens twice"),
        ("2024-10-27 01:30+01:00", dt.datetime(2024, 10, 27, 0, 30), None),
        ("2024-10-27 01:30+00:00", dt.datetime(2024, 10, 27, 1, 30), None),
        # the hour skipped when they go forward: no clock showed 01:30
        ("2024-03-31 01:30", None, "does not exist"),
        ("2024-03-31 02:30", dt.datetime(2024, 3, 31, 1, 30), None),
        ("2024-06-10 16:00", dt.datetime(2024, 6, 10, 15, 0), None),
    ],
)
def test_engage_log_refuses_local_times_the_clock_change_makes_unclear(
    sqlite_url: str, at: str, stored: dt.datetime | None, refused: str | None
) -> None:
    # a contact typed as 01:30 on the night the clocks go back was silently stored as the BST
    # one, an hour early if it was the GMT one; 01:30 on the spring night (no such time) was
    # stored as 02:30 BST
    with _store(sqlite_url) as st:
        args = ["engage", "log", "--staff", "Sam", "--hotspot", "1", "--at", at]
        r = CliRunner().invoke(app, ["--db", sqlite_url, *args, "--role", "outreach_worker"])
        if refused:
            assert isinstance(r.exception, InputError), r.output
            assert refused in str(r.exception) and "+01:00" in str(r.exception)
            assert list_engagements(st, **W).empty
        else:
            assert r.exit_code == 0, r.output
            assert list_engagements(st, **W)["at"].tolist() == [stored]


def test_a_debrief_dated_after_today_is_refused(store_url: str) -> None:
    # the purge deletes debrief text by date: a typo of 2052 for 2025 kept "moved Kofi on from
    # the bus station" for 27 years; an engagement in the future was already refused
    from patrolwise.timeutil import local_today

    today = local_today()
    with _store(store_url) as st:
        with pytest.raises(InputError, match="after today"):
            add_debrief(
                st, DebriefInput("outreach", today + dt.timedelta(days=1), "Sam", "Kofi"), **W
            )
        assert list_debriefs(st, **W).empty
        add_debrief(st, DebriefInput("outreach", today, "Sam", "night shift"), **W)
        assert list(list_debriefs(st, **W)["summary"]) == ["night shift"]


def test_a_purge_period_past_the_calendar_is_one_clear_line(sqlite_url: str) -> None:
    # `engage purge --closed-for 99999999` (a mistyped 999) ended in an OverflowError traceback
    with _store(sqlite_url):
        pass
    for days in ("99999999", "9999999999"):
        r = CliRunner().invoke(
            app,
            [
                "--db",
                sqlite_url,
                "engage",
                "purge",
                "--closed-for",
                days,
                "--role",
                "outreach_manager",
            ],
        )
        assert isinstance(r.exception, InputError), r.exception
        assert "before year 1" in str(r.exception)


def test_a_back_dated_contact_does_not_reopen_a_closed_person(store_url: str) -> None:
    # a forgotten contact from before the last one, typed in later, reopened the closed person:
    # the next close-inactive closed them again dated today, so the purge came a year later
    with _store(store_url) as st:
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 3, 1, 15)), **W)
        assert close_inactive(st, today=dt.date(2023, 7, 1), **W) == 1
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 2, 1, 15)), **W)
        p = load_people(st).set_index("pseudonym").loc[pseudonym("Kofi")]
        assert p["status"] == "closed" and p["first_contact"] == dt.datetime(2023, 2, 1, 15)
        with st.engine.connect() as c:
            closed = c.execute(text("select closed_on from people")).scalar()
        assert str(closed) == "2023-07-01"
        # a contact after the last one is the relationship resuming
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 8, 1, 15)), **W)
        assert load_people(st).set_index("pseudonym")["status"][pseudonym("Kofi")] == "open"


def test_a_contact_before_the_closure_does_not_reopen_a_closed_person(store_url: str) -> None:
    # a contact after the last one but before the closure (typed in late) reopened the person:
    # the next close-inactive closed them again dated today, putting their purge off
    with _store(store_url) as st:
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 3, 1, 15)), **W)
        assert close_inactive(st, today=dt.date(2023, 9, 1), **W) == 1
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 4, 1, 15)), **W)
        p = load_people(st).set_index("pseudonym").loc[pseudonym("Kofi")]
        assert p["status"] == "closed" and p["last_contact"] == dt.datetime(2023, 4, 1, 15)
        assert close_inactive(st, today=dt.date(2024, 1, 1), **W) == 0
        with st.engine.connect() as c:
            assert str(c.execute(text("select closed_on from people")).scalar()) == "2023-09-01"
        # closure is a local day: 23:30 UTC on 31 August is 00:30 BST on 1 September, the day
        # of the closure, so the relationship resumed
        log_engagement(
            st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 8, 31, 23, 30)), **W
        )
        assert load_people(st).set_index("pseudonym")["status"][pseudonym("Kofi")] == "open"


def test_merging_contacts_from_before_the_closure_does_not_reopen_a_closed_person(
    store_url: str,
) -> None:
    # merge_people touches the named person with the placeholder's first and last contacts
    with _store(store_url) as st:
        log_engagement(st, _e(consent=True, reference="Kofi", at=dt.datetime(2023, 3, 1, 15)), **W)
        assert close_inactive(st, today=dt.date(2023, 9, 1), **W) == 1
        for day in (dt.datetime(2023, 4, 1, 15), dt.datetime(2023, 5, 1, 15)):
            log_engagement(st, _e(consent=True, placeholder="red jacket", at=day), **W)
        merge_people(st, placeholder="red jacket", reference="Kofi", **W)
        p = load_people(st).set_index("pseudonym").loc[pseudonym("Kofi")]
        assert p["status"] == "closed" and p["last_contact"] == dt.datetime(2023, 5, 1, 15)
        with st.engine.connect() as c:
            closed = c.execute(
                text("select closed_on from people where pseudonym = :p"), {"p": pseudonym("Kofi")}
            ).scalar()
        assert str(closed) == "2023-09-01"


def test_debrief_team_is_read_in_any_case_and_an_unknown_one_refused(sqlite_url: str) -> None:
    # `--team Outreach` by an outreach worker was refused as filing another agency's debrief
    # and audited as a refused access attempt; `devices add` and `rates add` take any case
    with _store(sqlite_url):
        pass
    add = ["--db", sqlite_url, "debrief", "add", "--date", "2024-06-10", "--staff", "Sam"]
    r = CliRunner().invoke(app, [*add, "--team", "Outreach", "--role", "outreach_worker"])
    assert r.exit_code == 0, r.output
    with Store(sqlite_url) as st:
        assert list(list_debriefs(st, **W)["team"]) == ["outreach"]
        assert "refused" not in list(load_audit(st)["action"])
    r = CliRunner().invoke(app, [*add, "--team", "outrech", "--role", "outreach_worker"])
    assert isinstance(r.exception, InputError)
    assert str(r.exception) == "team 'outrech' is not one of outreach, police"
    with Store(sqlite_url) as st:
        assert "refused" not in list(load_audit(st)["action"])
        assert len(list_debriefs(st, **W)) == 1
        # listed in any case too ('Outreach' listed nothing), and a misspelt team is said
        assert len(list_debriefs(st, **W, team="Outreach")) == 1
        with pytest.raises(InputError, match="team 'outrech' is not one of"):
            list_debriefs(st, **W, team="outrech")


def test_purge_cuts_the_times_of_old_contacts_linked_to_no_one(store_url: str) -> None:
    # the purge cleared an old unlinked contact's text and details but kept its exact time (and
    # the entry time), which an erased person's contacts lose: an exact time and place can single
    # out someone known to have been there
    from sqlalchemy import update as sa_update

    from patrolwise.store.engagements import purge_closed
    from patrolwise.store.models.engagement import Engagement

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(store_url) as st:
        log_engagement(
            st,
            _e(consent=True, at=dt.datetime(2023, 7, 4, 16, 25), notes="Ama, 3 Low Rd"),
            **W,
        )
        log_engagement(st, _e(consent=True, at=dt.datetime(2024, 5, 1, 15), notes="kept"), **W)
        # as an earlier release's purge left one: text and details gone, exact time kept
        log_engagement(st, _e(consent=True, at=dt.datetime(2023, 7, 4, 18, 40)), **W)
        with st.session() as s, s.begin():
            s.execute(sa_update(Engagement).values(created_at=dt.datetime(2023, 7, 4, 17, 5, 9)))
        assert purge_closed(st, today=dt.date(2024, 8, 1), **M).unlinked == 1
        with st.engine.connect() as c:
            rows = dict(
                (i, (a, made))
                for i, a, made in c.execute(text("select id, at, created_at from engagements"))
            )
        # 4 July 00:00 BST is 23:00 UTC on 3 July
        midnight = dt.datetime(2023, 7, 3, 23, 0)
        assert [pd.Timestamp(t) for t in rows[1]] == [midnight, midnight]
        assert [pd.Timestamp(t) for t in rows[3]] == [midnight, midnight]
        assert [pd.Timestamp(t) for t in rows[2]] == [
            dt.datetime(2024, 5, 1, 15),
            dt.datetime(2023, 7, 4, 17, 5, 9),
        ]


def test_purge_rewrites_the_debriefs_table_on_postgresql(store_url: str) -> None:
    # PostgreSQL's VACUUM FULL left out debriefs: their erased summaries and suggestions stayed
    # in the table's dead tuples on disk (SQLite's VACUUM rewrites the whole file)
    from patrolwise.store.engagements import purge_closed

    M = {"who": "Ana", "role": "outreach_manager"}
    with _store(store_url) as st:
        old = DebriefInput("outreach", dt.date(2023, 5, 15), "Sam", "Abena by the bins", [], "x")
        add_debrief(st, old, **W)
        pg = st.dialect == "postgresql"

        def filenode() -> object:
            with st.engine.connect() as c:
                return c.execute(text("select pg_relation_filenode('debriefs')")).scalar()

        before = filenode() if pg else None
        done = purge_closed(st, today=dt.date(2024, 6, 1), **M)
        assert done.debriefs == 1 and done.compacted is True
        deb = list_debriefs(st, **M)
        assert deb[["summary", "suggestions"]].isna().all().all()
        if pg:
            assert filenode() != before  # rewritten, so the erased text is not on disk
