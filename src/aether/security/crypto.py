"""AES-256-GCM sealing of secrets: a fresh 96-bit nonce per value, associated data binding each value to
its place, and the id of the sealing key carried in the stored text.

A sealed value reads `enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>`. The associated data of a
credential is (agent id, platform, credential key) plus the key id, so a value copied into another row,
or relabelled with another key id, fails authentication instead of decrypting.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aether.errors import CryptoError

PREFIX = "enc"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"^[a-z0-9-]{1,64}$")
_SEALED = re.compile(r"^enc:v1:([a-z0-9-]{1,64}):([A-Za-z0-9_-]+={0,2})$")


@dataclass(frozen=True)
class SealedValue:
    key_id: str
    blob: bytes  # nonce || ciphertext || tag

    def __str__(self) -> str:
        return f"{PREFIX}:{VERSION}:{self.key_id}:{b64encode(self.blob)}"


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def check_key_id(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise ValueError(f"key id {key_id!r} must be 1-64 lower-case letters, digits or '-'")
    return key_id


def parse(value: str) -> SealedValue:
    """Split a stored value; anything that is not a well-formed sealed value is refused loudly."""
    match = _SEALED.match(value)
    if not match:
        raise CryptoError("the stored value is not a sealed value (expected enc:v1:<key id>:<base64>)")
    try:
        blob = b64decode(match.group(2))
    except (binascii.Error, ValueError):
        raise CryptoError("the stored value's ciphertext is not valid base64") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError(f"the stored value sealed by key {match.group(1)} is truncated")
    return SealedValue(match.group(1), blob)


def _aad(context: bytes, key_id: str) -> bytes:
    return context + b"\x00key=" + key_id.encode("ascii")


def seal(key: bytes, key_id: str, plaintext: bytes, context: bytes) -> SealedValue:
    """Encrypt `plaintext` under `key` with a fresh random nonce, bound to `context` and `key_id`."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(context, check_key_id(key_id)))
    return SealedValue(key_id, nonce + ciphertext)


def open_sealed(key: bytes, sealed: SealedValue, context: bytes, *, what: str) -> bytes:
    """Decrypt and authenticate; `what` names the value in the error (never its content)."""
    nonce, ciphertext = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(context, sealed.key_id))
    except InvalidTag:
        raise CryptoError(
            f"{what} failed authentication under key {sealed.key_id}: the value was altered, copied from "
            "another row, or the key is not the one that sealed it"
        ) from None


def credential_context(agent_id: int | None, platform: str, credential_key: str) -> bytes:
    """Associated data of a credential value: its row's identity (NUL cannot occur in PostgreSQL text)."""
    agent = "" if agent_id is None else str(agent_id)
    return b"\x00".join([b"aether.credential.v1", agent.encode(), platform.encode(), credential_key.encode()])


def data_key_context(key_id: str) -> bytes:
    """Associated data of a data key wrapped by the master key."""
    return b"aether.data-key.v1\x00" + key_id.encode("ascii")
