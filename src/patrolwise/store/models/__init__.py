"""All tables. Importing this module registers every stage's tables on ``Base.metadata``."""

from . import dosage, engagement, evaluation, planning, tracking  # noqa: F401
from .base import Base
from .core import Area, Crime, CrimeLabel, CrimePlace, HarmTable, HarmValue, ImportBatch

__all__ = [
    "Area",
    "Base",
    "Crime",
    "CrimeLabel",
    "CrimePlace",
    "HarmTable",
    "HarmValue",
    "ImportBatch",
]
