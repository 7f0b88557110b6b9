"""Retention: people with no contact for a set period are closed (default 90 days), and people
closed for longer than a second period are erased (default 365 days).

Keeping case records open only while there is a relationship is what data-protection law and
outreach practice both ask; closing is a status change, counts in summaries stay. Erasing (the
purge) is irreversible: the free text, age band, gender and follow-up date go, and the link from
a typed name to the records (the keyed pseudonym) is cut, while the counts reports use stay.
The erased person's contacts keep one token between them (repeat contacts still count), so their
times are cut to the local day: a trail of exact times and places is what could single out a
person who is known to have been there.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

DEFAULT_INACTIVE_DAYS = 90
#: people closed for longer than this are erased by the purge
DEFAULT_PURGE_DAYS = 365


def inactive(people: pd.DataFrame, today: dt.date, days: int = DEFAULT_INACTIVE_DAYS) -> pd.Series:
    """Boolean mask of open people whose last contact is more than ``days`` before ``today``."""
    if days < 1:
        from ..errors import InputError

        raise InputError(f"inactivity period must be at least 1 day, got {days}")
    cutoff = pd.Timestamp(today) - pd.Timedelta(days=days)
    last = pd.to_datetime(people["last_contact"])
    return (people["status"] == "open") & (last.isna() | (last < cutoff))


def purgeable(people: pd.DataFrame, today: dt.date, days: int = DEFAULT_PURGE_DAYS) -> pd.Series:
    """Boolean mask of closed people whose ``closed_on`` is more than ``days`` days before ``today``.

    A closed person without a closing date is never purged (it cannot be told how long ago).
    """
    if days < 1:
        from ..errors import InputError

        raise InputError(f"the period closed before a purge must be at least 1 day, got {days}")
    try:
        cutoff = today - dt.timedelta(days=days)
    except OverflowError:
        # a mistyped period (99999999 for 999) is a clear line, not a traceback
        from ..errors import InputError

        raise InputError(
            f"the period closed before a purge ({days} days) reaches back before year 1; "
            "give it in days, like 365"
        ) from None
    closed = pd.to_datetime(people["closed_on"])
    return (people["status"] == "closed") & closed.notna() & (closed < pd.Timestamp(cutoff))


def local_day_start(t_utc: pd.Series, tz: str) -> pd.Series:
    """Naive UTC of the local midnight that starts each naive-UTC time's local day: what an
    erased person's contact times become (the day, and so the week every summary buckets them
    by, is kept; the time of day goes). Clock-change days are right: 00:00 BST is 23:00 UTC the
    day before."""
    local = pd.to_datetime(t_utc).dt.tz_localize("UTC").dt.tz_convert(tz)
    midnight = local.dt.tz_localize(None).dt.normalize()
    again = midnight.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return again.dt.tz_convert("UTC").dt.tz_localize(None)
