"""Retention: people with no contact for a set period are closed (default 90 days).

Keeping case records open only while there is a relationship is what data-protection law and
outreach practice both ask; closing is a status change, counts in summaries stay.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

DEFAULT_INACTIVE_DAYS = 90


def inactive(people: pd.DataFrame, today: dt.date, days: int = DEFAULT_INACTIVE_DAYS) -> pd.Series:
    """Boolean mask of open people whose last contact is more than ``days`` before ``today``."""
    if days < 1:
        from ..errors import InputError

        raise InputError(f"inactivity period must be at least 1 day, got {days}")
    cutoff = pd.Timestamp(today) - pd.Timedelta(days=days)
    last = pd.to_datetime(people["last_contact"])
    return (people["status"] == "open") & (last.isna() | (last < cutoff))
