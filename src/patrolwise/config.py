"""Settings: database URL, projected CRS, time zone and rates.

Read from environment variables (``PATROLWISE_*``) and an optional ``patrolwise.toml`` in the working
folder, so the same binary serves a lone analyst on SQLite and a force on PostgreSQL.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "patrolwise.db"


def _toml_defaults() -> dict[str, Any]:
    path = Path("patrolwise.toml")
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("patrolwise", data)
    return dict(section) if isinstance(section, dict) else {}


class Settings(BaseSettings):
    """Every tunable with its default; override by env var ``PATROLWISE_<NAME>`` or patrolwise.toml."""

    model_config = SettingsConfigDict(env_prefix="PATROLWISE_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_DB_FILE}")
    crs: str = Field(default="EPSG:27700", description="projected CRS in metres")
    timezone: str = Field(default="Europe/London")
    force: str = Field(default="Leicestershire Police")
    #: bounding box of the force area in WGS84 (min lon, min lat, max lon, max lat); None = no check
    force_bbox: tuple[float, float, float, float] | None = Field(default=(-8.7, 49.8, 1.9, 60.95))
    #: key for pseudonyms and for encrypting free-text notes; never stored in the database
    secret_key: str | None = Field(default=None)
    rate_outreach_per_minute: float = 2.28
    rate_police_per_minute: float = 3.38


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (TOML file first, environment overrides it)."""
    return Settings(**_toml_defaults())


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
