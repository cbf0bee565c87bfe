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


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("nine char", "at least 10 characters"),
        ("password123", "most common passwords"),
        ("QwertyUiop", "most common passwords"),
        ("1234567890", "most common passwords"),
        ("ten chars\x00", "control characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule(password: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        passwords.check_password_rules(password)
    assert info.value.field == "password" and rule in info.value.message


def test_the_common_list_ships_with_the_package() -> None:
    listed = passwords.common_passwords()
    assert passwords.COMMON_PASSWORDS.is_file() and len(listed) > 100
    assert all(len(p) >= passwords.MIN_LENGTH for p in listed)  # shorter ones are refused by length anyway
    passwords.check_password_rules("  padded with spaces  ")  # a strong password may start and end with spaces
