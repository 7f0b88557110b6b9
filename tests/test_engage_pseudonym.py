"""Pseudonyms and note encryption: stable with the key, opaque without it."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.config import reset_settings
from patrolwise.engage.crypto import decrypt_note, encrypt_note
from patrolwise.engage.pseudonym import (
    normalise_reference,
    placeholder_pseudonym,
    pseudonym,
)
from patrolwise.errors import ConfigError

KEY = "a-long-test-key-0123456789"


def test_pseudonym_is_hmac_sha256_of_normalised_reference() -> None:
    expected = hmac.new(KEY.encode(), b"person:john smith", hashlib.sha256).hexdigest()[:32]
    assert pseudonym("  John   SMITH ", KEY) == "p_" + expected


def test_stable_for_same_input_and_key_and_normalised() -> None:
    assert (
        pseudonym("John Smith", KEY)
        == pseudonym("john  smith", KEY)
        == pseudonym("JOHN-SMITH", KEY)
    )
    assert pseudonym("Zoë", KEY) == pseudonym("zoe", KEY)
    assert pseudonym("John Smith", KEY) != pseudonym("Jon Smith", KEY)
    assert normalise_reference(" Ana-María  O'Neil ") == "ana maria o neil"


def test_reveals_nothing_without_the_key() -> None:
    p = pseudonym("John Smith", KEY)
    assert pseudonym("John Smith", KEY + "x") != p
    # a plain (unkeyed) hash of the reference cannot be matched against it
    for guess in ("john smith", "person:john smith"):
        assert hashlib.sha256(guess.encode()).hexdigest()[:32] not in p
    assert "john" not in p.lower() and "smith" not in p.lower()


def test_placeholder_lives_in_its_own_namespace() -> None:
    ph = placeholder_pseudonym("red jacket", KEY)
    assert ph.startswith("ph_") and ph[3:] != pseudonym("red jacket", KEY)[2:]


@settings(max_examples=50, deadline=None)
@given(a=st.text(min_size=1, max_size=30), b=st.text(min_size=1, max_size=30))
def test_equal_iff_normalised_equal(a: str, b: str) -> None:
    na, nb = normalise_reference(a), normalise_reference(b)
    if not na or not nb:
        return
    assert (pseudonym(a, KEY) == pseudonym(b, KEY)) == (na == nb)


def test_key_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATROLWISE_SECRET_KEY", KEY)
    reset_settings()
    assert pseudonym("x y") == pseudonym("x y", KEY)
    monkeypatch.delenv("PATROLWISE_SECRET_KEY")
    reset_settings()
    with pytest.raises(ConfigError, match="PATROLWISE_SECRET_KEY"):
        pseudonym("x y")


def test_notes_encrypt_and_need_the_same_key() -> None:
    token = encrypt_note("Left homeless; needs shelter tonight", KEY)
    assert b"homeless" not in token and b"shelter" not in token
    assert decrypt_note(token, KEY) == "Left homeless; needs shelter tonight"
    assert encrypt_note("same", KEY) != encrypt_note("same", KEY)  # random IV
    with pytest.raises(ConfigError, match="not the key"):
        decrypt_note(token, KEY + "-other")
