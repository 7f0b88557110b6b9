"""Encryption of free-text notes at rest (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The Fernet key is derived with HKDF from the deployment secret (outside the database) with its
own ``info`` label, so the notes key differs from the pseudonym key even though one secret is
configured. A stolen database file shows only tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigError
from .pseudonym import secret_key

_INFO = b"patrolwise notes encryption v1"
_SALT = b"patrolwise-notes"
#: the fixed label whose HMAC-SHA256 under the secret is the key check stored with the
#: engagements (``key_checks``): it tells whether a key is the one they were written with. Being
#: the HMAC of a known label, it lets whoever holds the database test guesses at the key offline,
#: as the stored encrypted text already does; what protects is a key too long and random to guess
#: (``secret_key`` refuses one under 16 characters), not the secrecy of this value
KEY_CHECK_LABEL = b"patrolwise engagements key check v1"


def notes_cipher(key: str | None = None) -> Fernet:
    """The Fernet cipher for notes, derived from the configured secret."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key(key))
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt_note(text: str, key: str | None = None) -> bytes:
    """A Fernet token (bytes) for ``text``."""
    return notes_cipher(key).encrypt(text.encode("utf-8"))


def decrypt_note(token: bytes, key: str | None = None) -> str:
    """The note behind ``token``; a clear error when the key is not the one it was written with."""
    try:
        return notes_cipher(key).decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise ConfigError(
            "cannot decrypt note: PATROLWISE_SECRET_KEY is not the key the note was written with"
        ) from exc


def encrypt_optional(text: str | None, key: str | None = None) -> bytes | None:
    """A token for any free-text field (location, outcome, debrief text), None when empty.

    Every free-text box gets the notes treatment: whatever its label, workers type names and
    addresses into it, so nothing typed is ever stored in clear.
    """
    if text is None or not text.strip():
        return None
    return encrypt_note(text, key)


def decrypt_optional(token: bytes | None, key: str | None = None) -> str | None:
    """The text behind a token from :func:`encrypt_optional` (None stays None)."""
    return None if token is None else decrypt_note(token, key)


def key_check_value(key: str | None = None) -> str:
    """The key check of the configured secret: HMAC-SHA256 of :data:`KEY_CHECK_LABEL`, in hex.

    The label holds no colon, so it can never be the input of a pseudonym (``person:...``).
    """
    return hmac.new(secret_key(key), KEY_CHECK_LABEL, hashlib.sha256).hexdigest()


def can_decrypt(token: bytes, key: str | None = None) -> bool:
    """Whether ``token`` was written with this key (its HMAC verifies)."""
    try:
        notes_cipher(key).decrypt(bytes(token))
    except InvalidToken:
        return False
    return True
