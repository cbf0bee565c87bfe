"""argon2id hashing: rules, verification, constant-time failure for unknown users."""

from __future__ import annotations

import pytest

from aether.errors import ValidationFailed
from aether.security import passwords


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$")
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "wrong horse battery")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")
    assert not passwords.needs_rehash(hashed)


def test_rules_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        passwords.hash_password("short")
    assert info.value.field == "password"
    with pytest.raises(ValidationFailed):
        passwords.hash_password("x" * 2000)
