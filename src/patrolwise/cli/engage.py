"""CLI commands of the engage stage: the engagement log and shift debriefs.

The caller's name and role come from --as/--role or PATROLWISE_USER/PATROLWISE_ROLE; the library
enforces what each role may do and audits every read of notes.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any

import typer

from ..errors import InputError
from .common import open_store, out, print_json

if TYPE_CHECKING:
    import pandas as pd

engage_app = typer.Typer(help="Engagement log: people (pseudonyms only), needs, referrals.")
debrief_app = typer.Typer(help="Shift debriefs linked to the shift's dosage.")

_WHO = typer.Option(None, "--as", help="your name (default PATROLWISE_USER or the login name)")
_ROLE = typer.Option(None, "--role", help="outreach_worker, outreach_manager, police, analyst")


def _who(who: str | None) -> str:
    return who or os.environ.get("PATROLWISE_USER") or os.environ.get("USER") or "unknown"


def _role(role: str | None) -> str:
    r = role or os.environ.get("PATROLWISE_ROLE")
    if not r:
        raise InputError(
            "give --role (or set PATROLWISE_ROLE): outreach_worker, police, analyst ..."
        )
    return r


def _records(df: pd.DataFrame) -> list[dict[Any, Any]]:
    """Rows for JSON output: a missing value is null and an id a whole number.

    A frame holds missing text and ids as NaN (and ids beside it as floats, ``1.0``); NaN is not
    JSON, and jq, browsers and every strict parser refuse the whole listing over one field.
    """
    df = df.copy()
    for c in ("area_id", "plan_id"):
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _date(text: str, opt: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{opt} {text!r} is not a date like 2024-06-10") from exc


def _offset(t: dt.datetime) -> str:
    """'+01:00' for an aware time's UTC offset."""
    return t.isoformat()[-6:]


def _when(text: str | None, tz: str) -> dt.datetime:
    """Local 'YYYY-MM-DD HH:MM' (or now) to naive UTC.

    A local time the clock change makes unclear is refused, not guessed: in the hour repeated
    when the clocks go back it names two moments an hour apart, and in the hour skipped when
    they go forward it names none. The message gives the offset that settles it.
    """
    from zoneinfo import ZoneInfo

    if not text:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--at {text!r} is not like 2024-06-10 15:30") from exc
    if local.tzinfo is None:
        first = local.replace(tzinfo=ZoneInfo(tz))
        second = first.replace(fold=1)
        if first.utcoffset() != second.utcoffset():
            a, b = _offset(first), _offset(second)
            wall = f"{local:%Y-%m-%d %H:%M}"
            if first.astimezone(dt.UTC).astimezone(first.tzinfo).replace(tzinfo=None) == local:
                raise InputError(
                    f"--at {text!r} happens twice in {tz} (the clocks go back that night); "
                    f"add its offset: '{wall}{a}' for the first, '{wall}{b}' for the second"
                )
            raise InputError(
                f"--at {text!r} does not exist in {tz} (the clocks go forward that night, "
                f"skipping that hour); give the time the clock showed, or add its offset "
                f"('{wall}{a}' or '{wall}{b}')"
            )
        local = first
    return local.astimezone(dt.UTC).replace(tzinfo=None)


@engage_app.command("log")
def log_cmd(
    staff: str = typer.Option(..., help="staff member who made the contact"),
    hotspot: int | None = typer.Option(None, help="hot spot area id"),
    location: str | None = typer.Option(
        None, help="location when not in a hot spot (needs --consent; encrypted at rest)"
    ),
    at: str | None = typer.Option(None, help="local time 'YYYY-MM-DD HH:MM' (default now)"),
    consent: bool = typer.Option(False, "--consent/--no-consent", help="consent recorded"),
    ref: str | None = typer.Option(None, "--ref", help="name or nickname (hashed, never stored)"),
    placeholder: str | None = typer.Option(
        None, help="description at first contact, e.g. 'red jacket'"
    ),
    age_band: str | None = typer.Option(None),
    gender: str | None = typer.Option(
        None, help="female, male, non-binary, other or 'not stated' (needs --consent)"
    ),
    need: list[str] = typer.Option([], "--need", help="repeatable: housing, food, ..."),
    referral: list[str] = typer.Option([], "--referral", help="repeatable: 'agency:type[:yes|no]'"),
    safeguarding: bool = typer.Option(False, "--safeguarding"),
    outcome: str | None = typer.Option(None, help="free text; encrypted at rest; needs --consent"),
    follow_up: str | None = typer.Option(None, help="follow-up date YYYY-MM-DD"),
    notes: str | None = typer.Option(None, help="free text; encrypted at rest"),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Record one engagement."""
    from ..config import get_settings
    from ..engage.log import EngagementInput, parse_referral
    from ..store.engagements import log_engagement

    e = EngagementInput(
        at=_when(at, get_settings().timezone),
        staff=staff,
        area_id=hotspot,
        location=location,
        consent=consent,
        reference=ref,
        placeholder=placeholder,
        age_band=age_band,
        gender=gender,
        needs=list(need),
        referrals=[parse_referral(r) for r in referral],
        safeguarding=safeguarding,
        outcome=outcome,
        follow_up=_date(follow_up, "--follow-up") if follow_up else None,
        notes=notes,
    )
    with open_store() as store:
        eid = log_engagement(store, e, who=_who(who), role=_role(role))
    out.print(f"engagement {eid} recorded")


@engage_app.command("merge")
def merge_cmd(
    placeholder: str = typer.Option(..., help="the placeholder description used before"),
    ref: str = typer.Option(..., "--ref", help="the person's name or nickname"),
    consent: bool = typer.Option(
        False, "--consent", help="the person now consents to linking the earlier contacts"
    ),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Merge a placeholder person into the person with a real reference."""
    from ..store.engagements import merge_people

    with open_store() as store:
        dst, n = merge_people(
            store,
            placeholder=placeholder,
            reference=ref,
            who=_who(who),
            role=_role(role),
            consent_given=consent,
        )
    out.print(f"merged {n} engagement(s) into {dst}")


@engage_app.command("list")
def list_cmd(
    notes: bool = typer.Option(False, "--notes", help="decrypt notes (outreach roles; audited)"),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Engagement records (outreach roles only); contact times in local time with their offset."""
    from ..config import get_settings
    from ..store.engagements import list_engagements
    from ..timeutil import to_local

    with open_store() as store:
        df = list_engagements(store, who=_who(who), role=_role(role), with_notes=notes)
    # stored as naive UTC; shown as the worker typed it (local), the offset saying which hour
    # on the night the clocks go back
    df["at"] = [t.isoformat() for t in to_local(df["at"], get_settings().timezone)]
    print_json(_records(df))


@engage_app.command("close-inactive")
def close_cmd(
    days: int = typer.Option(90, help="close people with no contact for this many days"),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Close people with no contact for --days days."""
    from ..store.engagements import close_inactive

    with open_store() as store:
        n = close_inactive(store, who=_who(who), role=_role(role), days=days)
    out.print(f"closed {n} people with no contact in {days} days")


@engage_app.command("purge")
def purge_cmd(
    closed_for: int = typer.Option(
        365, "--closed-for", help="erase people closed for more than this many days"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="say what would be erased, erase nothing"
    ),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Irreversibly erase people closed for more than --closed-for days (outreach_manager only).

    Their encrypted notes, outcome and location, age band, gender and follow-up date are deleted
    and the link from their name to the records is cut; the counts in summaries stay. Debriefs
    older than the same period lose their free text (problems and minutes stay), and so do
    engagements older than it that were logged with no --ref or --placeholder.
    """
    from ..store.engagements import purge_closed

    with open_store() as store:
        counts = purge_closed(
            store, who=_who(who), role=_role(role), days=closed_for, dry_run=dry_run
        )
    out.print(counts.line())
    if counts.compacted is False:  # a scheduled purge must not pass silently
        raise typer.Exit(1)


def _day_start_utc(day: dt.date, tz: str) -> dt.datetime:
    """Naive UTC of the local midnight that starts ``day`` in ``tz``."""
    from zoneinfo import ZoneInfo

    start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz))
    return start.astimezone(dt.UTC).replace(tzinfo=None)


@engage_app.command("audit")
def audit_cmd(
    date_from: str | None = typer.Option(None, "--from", help="first local day (YYYY-MM-DD)"),
    date_to: str | None = typer.Option(None, "--to", help="last local day (YYYY-MM-DD)"),
    by: str | None = typer.Option(None, "--who", help="only entries by this person"),
    action: str | None = typer.Option(
        None, "--action", help="only this action: read_notes, refused, purge ..."
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """The audit log: who read or changed what, and every refusal (outreach_manager only; the
    reading is audited too). Times in local time with their offset."""
    from rich.table import Table
    from rich.text import Text

    from ..config import get_settings
    from ..store.engagements import read_audit
    from ..timeutil import to_local

    tz = get_settings().timezone
    d0 = _date(date_from, "--from") if date_from else None
    d1 = _date(date_to, "--to") if date_to else None
    if d0 is not None and d1 is not None and d0 > d1:
        raise InputError(f"--from {d0} is after --to {d1}")
    try:
        start = _day_start_utc(d0, tz) if d0 is not None else None
        end = _day_start_utc(d1 + dt.timedelta(days=1), tz) if d1 is not None else None
    except OverflowError:
        raise InputError("--from/--to: give a day between years 1 and 9998") from None
    with open_store() as store:
        df = read_audit(
            store, who=_who(who), role=_role(role), start=start, end=end, by=by, action=action
        )
    local = to_local(df["at"], tz)
    if as_json:
        df["at"] = [t.isoformat() for t in local]
        print_json(_records(df))
        return
    df["at"] = [t.isoformat(sep=" ", timespec="seconds") for t in local]
    t = Table(title=f"Audit log: {len(df)} entries (local time, {tz})")
    for c in ("at", "who", "role", "action", "object"):
        # folded, never cut short with an ellipsis: an audit read shows every character
        t.add_column(c, overflow="fold")
    for r in df.to_dict("records"):
        # plain text, never markup: names are typed and erased pseudonyms read '[erased]'
        t.add_row(*(Text(str(r[c])) for c in ("at", "who", "role", "action", "object")))
    out.print(t)


@engage_app.command("summary")
def summary_cmd(
    threshold: int = typer.Option(
        5, help="counts below this are shown as '<threshold' (below 5: outreach roles only)"
    ),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Counts by hot spot, local week, need and agency; repeat contacts (small counts suppressed,
    plus one more cell in any column with a single small count, shown as 'x')."""
    from ..config import get_settings
    from ..store.engagements import engagement_summary

    with open_store() as store:
        s = engagement_summary(
            store,
            who=_who(who),
            role=_role(role),
            threshold=threshold,
            tz=get_settings().timezone,
        )
    print_json({k: v.to_dict("records") for k, v in s.items()})


@debrief_app.command("add")
def debrief_add(
    team: str = typer.Option(...),
    day: str = typer.Option(..., "--date", help="local day of the shift"),
    staff: str = typer.Option(...),
    summary: str = typer.Option("", help="what happened (encrypted at rest)"),
    problem: list[str] = typer.Option(
        [], "--problem", help="repeatable: unsafe_area, police_presence, tracker_failure ..."
    ),
    suggest: str | None = typer.Option(None, help="suggested plan changes (encrypted at rest)"),
    plan: int | None = typer.Option(None, help="plan id (default: the newest covering the day)"),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Record a shift debrief; planned and delivered minutes are attached."""
    from ..config import get_settings
    from ..engage.debrief import DebriefInput
    from ..store.engagements import add_debrief

    d = DebriefInput(
        team=team,
        date=_date(day, "--date"),
        staff=staff,
        summary=summary,
        problems=list(problem),
        suggestions=suggest,
        plan_id=plan,
    )
    with open_store() as store:
        did = add_debrief(store, d, who=_who(who), role=_role(role), tz=get_settings().timezone)
    out.print(f"debrief {did} recorded")


@debrief_app.command("list")
def debrief_list(
    team: str | None = typer.Option(None),
    who: str | None = _WHO,
    role: str | None = _ROLE,
) -> None:
    """Stored debriefs (summary and suggestions decrypted for the agency that wrote them; audited)."""
    from ..store.engagements import list_debriefs

    with open_store() as store:
        df = list_debriefs(store, who=_who(who), role=_role(role), team=team)
    print_json(_records(df))


def register(root: typer.Typer) -> None:
    """Attach this stage's commands to the root app."""
    root.add_typer(engage_app, name="engage")
    root.add_typer(debrief_app, name="debrief")
