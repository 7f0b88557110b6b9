"""Track stage: cleaning GPS pings and measuring honest patrol dosage in hot spots.

The functions most users call::

    from patrolwise.track import clean_pings, compute_dosage, daily_dosage, compliance, breaches

Everything here is pure library code over data frames and numpy arrays: it never touches the
database, the CLI or the web app (see :mod:`patrolwise.store.visits` for storage).
"""

from .cleaning import CleaningRules, clean_pings, cleaning_summary
from .compliance import abstraction, compliance
from .coverage import window_coverage
from .dosage import DosageParams, DosageResult, compute_dosage, daily_dosage, union_minutes
from .separation import breaches
from .summary import DailySummary, daily_summary

__all__ = [
    "CleaningRules",
    "DailySummary",
    "DosageParams",
    "DosageResult",
    "abstraction",
    "breaches",
    "clean_pings",
    "cleaning_summary",
    "compliance",
    "compute_dosage",
    "daily_dosage",
    "daily_summary",
    "union_minutes",
    "window_coverage",
]
