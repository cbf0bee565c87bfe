"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile), and the rules a new
password must meet: at least 10 characters, not on the common-password list shipped beside this module
(`common_passwords.txt`), no control characters. Passwords are taken exactly as typed everywhere (nothing
stripped); the rules apply when a password is set, never at login."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aether.errors import ValidationFailed
from aether.text.controls import check_text

MIN_LENGTH = 10
MAX_LENGTH = 1024

_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID)
# A hash of a random password: verifying against it when the user does not exist costs the same time.
_DUMMY_HASH = _HASHER.hash("aether-dummy-password-for-timing")


COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (lines starting with # are comments)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_password_rules(password: str, field: str = "password") -> None:
    """ValidationFailed naming `field` when `password` may not be set: too short or long, common, or
    holding a control character."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"{field} must be at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"{field} must be at most {MAX_LENGTH} characters", field=field)
    check_text(password, field)
    if password.lower() in common_passwords():
        raise ValidationFailed(
            f"{field} is one of the most common passwords and easy to guess; choose another", field=field
        )


def hash_password(password: str, *, check: bool = True) -> str:
    """An argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the rules are checked first
    unless `check` is False (re-hashing a password already in use, at login)."""
    if check:
        check_password_rules(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash takes as long as a real check, then fails."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


async def hash_password_async(password: str, *, check: bool = True) -> str:
    if check:
        check_password_rules(password)
    return await asyncio.to_thread(hash_password, password, check=False)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)
