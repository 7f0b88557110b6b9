"""iCalendar export: one event per planned visit, in the force's local zone with its VTIMEZONE.

Events carry ``TZID=Europe/London`` local times (not UTC), so a calendar app shows 14:00 on both
sides of a clock change, and the VTIMEZONE block lets apps without a zone database do the same.
UIDs are stable (plan, hot spot, start), so re-importing an updated plan replaces, not duplicates.
The start in a UID is the naive-UTC instant, not local wall time: on the October fall-back night
01:30 happens twice in London, and two visits an hour apart must not share a UID. For the same
reason an event touching the second (GMT) run of that hour is written in UTC: RFC 5545 reads a
TZID time there as its first occurrence, which would move the visit an hour early (or end it
before it starts).

A plan with no visits has no calendar: RFC 5545 requires at least one component in a VCALENDAR,
and strict readers (Outlook, some phone apps) reject a file with no event, so an empty plan is
refused with the reason rather than written as a calendar that will not import.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pandas as pd

from ..errors import InputError

PRODID = "-//patrolwise//plan//EN"


def _second_occurrence(t: dt.datetime) -> bool:
    """True for a local time in the repeated hour's second run (fold=1 and truly ambiguous)."""
    return bool(t.fold) and t.utcoffset() != t.replace(fold=0).utcoffset()


class _Row:
    """Attribute access over one visit record (keeps the event-building code readable)."""

    def __init__(self, rec: dict[Any, Any]) -> None:
        self.__dict__.update({str(k): v for k, v in rec.items()})

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def plan_to_ical(
    visits: pd.DataFrame,
    *,
    plan_id: int | str = "new",
    tz: str = "Europe/London",
    locations: dict[int, tuple[float, float]] | None = None,
    calendar_name: str | None = None,
) -> bytes:
    """An .ics file for ``visits`` (team, area_id, name, start, end naive UTC, order).

    ``locations`` maps area_id to (lat, lon) for the GEO property and a map-friendly LOCATION.
    No visits: :class:`~patrolwise.errors.InputError`, as a calendar needs at least one event.
    """
    if visits.empty:
        raise InputError(
            "the plan has no visits: nothing to put in a calendar (an iCalendar file needs at "
            "least one event)"
        )
    z = ZoneInfo(tz)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if calendar_name:
        cal.add("x-wr-calname", calendar_name)
    cal.add("x-wr-timezone", tz)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for rec in visits.to_dict("records"):
        r = _Row(rec)
        start = pd.Timestamp(r.start).to_pydatetime().replace(tzinfo=dt.UTC).astimezone(z)
        end = pd.Timestamp(r.end).to_pydatetime().replace(tzinfo=dt.UTC).astimezone(z)
        name = str(getattr(r, "name", r.area_id))
        # from the UTC instants: aware times in one zone subtract as wall clocks, so a visit
        # across the spring-forward hour would read an hour longer than it is
        minutes = int((pd.Timestamp(r.end) - pd.Timestamp(r.start)).total_seconds() // 60)
        ev = icalendar.Event()
        utc_start = pd.Timestamp(r.start)
        ev.add("uid", f"plan{plan_id}-{r.team}-{r.area_id}-{utc_start:%Y%m%dT%H%M}Z@patrolwise")
        ev.add("dtstamp", stamp)
        if _second_occurrence(start) or _second_occurrence(end):
            start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        ev.add("dtstart", start)
        ev.add("dtend", end)
        ev.add("summary", f"{str(r.team).capitalize()} patrol: {name}")
        loc = f"Hot spot {r.area_id}: {name}"
        if locations and int(r.area_id) in locations:
            lat, lon = locations[int(r.area_id)]
            ev.add("geo", (round(lat, 6), round(lon, 6)))
            loc += f" ({lat:.5f}, {lon:.5f})"
        ev.add("location", loc)
        ev.add(
            "description",
            f"Stop {r.order} of the day's route. Stay {minutes} "
            f"minutes inside the hot spot; keep the tracker on.",
        )
        ev.add("categories", ["patrol", str(r.team)])
        cal.add_component(ev)
    first = pd.Timestamp(visits["start"].min()).date() - dt.timedelta(days=366)
    last = pd.Timestamp(visits["end"].max()).date() + dt.timedelta(days=366)
    cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()
