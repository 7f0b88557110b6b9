"""Pseudonymous person references: a keyed hash of what the worker types, never the name.

HMAC-SHA256 with a key kept outside the database (``PATROLWISE_SECRET_KEY``): the same typed
reference always gives the same pseudonym, so repeat contacts link up, while someone holding
only the database cannot test guesses ("is this John Smith?") without the key, as they could
with a plain hash. Input is normalised first (case, accents, spacing, punctuation) so "John
Smith " and "john  smith" are one person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from ..errors import ConfigError, InputError

PREFIX = "p_"
PLACEHOLDER_PREFIX = "ph_"
#: hex characters kept: 128 bits, ample against collisions among a city's contacts
LENGTH = 32


def secret_key(key: str | None = None) -> bytes:
    """The pseudonym key: the argument, else settings.secret_key / PATROLWISE_SECRET_KEY."""
    if key is None:
        from ..config import get_settings

        key = get_settings().secret_key
    if not key:
        raise ConfigError(
            "no secret key: set PATROLWISE_SECRET_KEY (or secret_key in patrolwise.toml) to a "
            "long random string kept outside the database; without it people cannot be "
            "pseudonymised or notes encrypted"
        )
    if len(key) < 16:
        raise ConfigError("PATROLWISE_SECRET_KEY is too short: use at least 16 random characters")
    return key.encode("utf-8")


def normalise_reference(text: str) -> str:
    """Fold case, accents, punctuation and spacing so small typing differences do not split people."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    t = re.sub(r"[^\w]+", " ", t)
    return " ".join(t.split())


def _digest(domain: str, text: str, key: str | None) -> str:
    norm = normalise_reference(text)
    if not norm:
        raise InputError("person reference is empty after normalising; type a name or nickname")
    mac = hmac.new(secret_key(key), f"{domain}:{norm}".encode(), hashlib.sha256)
    return mac.hexdigest()[:LENGTH]


def pseudonym(reference: str, key: str | None = None) -> str:
    """The stable pseudonym of a typed reference (name, nickname, date of birth...)."""
    return PREFIX + _digest("person", reference, key)


def placeholder_pseudonym(description: str, key: str | None = None) -> str:
    """A pseudonym for a first contact known only by a description ("red jacket").

    Kept in a separate namespace so a placeholder can never collide with a real reference, and
    merged into the real pseudonym once the person gives a name.
    """
    return PLACEHOLDER_PREFIX + _digest("placeholder", description, key)


def is_placeholder(pseud: str) -> bool:
    return pseud.startswith(PLACEHOLDER_PREFIX)
