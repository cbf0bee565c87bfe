"""AES-256-GCM sealing: fresh nonces, associated data, key ids; every kind of tampering fails loudly."""

from __future__ import annotations

import pytest

from aether.security import crypto


def test_a_sealed_value_opens_with_its_key_and_context() -> None:
    key = crypto.new_key()
    context = crypto.credential_context(3, "openai", "api_key")
    sealed = crypto.seal(key, "k1-abcd", b"sk-live-1234567890abcd", context)
    text = str(sealed)
    assert text.startswith("enc:v1:k1-abcd:") and "sk-live" not in text
    parsed = crypto.parse(text)
    assert parsed.key_id == "k1-abcd"
    assert crypto.open_sealed(key, parsed, context, what="x") == b"sk-live-1234567890abcd"


def test_every_seal_uses_a_fresh_96_bit_nonce() -> None:
    key = crypto.new_key()
    blobs = [crypto.seal(key, "k1", b"same", b"ctx").blob for _ in range(200)]
    nonces = {blob[: crypto.NONCE_BYTES] for blob in blobs}
    assert len(nonces) == 200 and all(len(n) == 12 for n in nonces)
    assert len({bytes(b) for b in blobs}) == 200


def test_tampered_ciphertext_fails_loudly() -> None:
    key = crypto.new_key()
    sealed = crypto.seal(key, "k1", b"secret", b"ctx")
    for index in (0, crypto.NONCE_BYTES, len(sealed.blob) - 1):
        blob = bytearray(sealed.blob)
        blob[index] ^= 0x01
        with pytest.raises(crypto.CryptoError, match="failed authentication under key k1"):
            crypto.open_sealed(key, crypto.SealedValue("k1", bytes(blob)), b"ctx", what="credential 7")


def test_a_value_moved_to_another_row_or_relabelled_does_not_open() -> None:
    key = crypto.new_key()
    sealed = crypto.seal(key, "k1", b"secret", crypto.credential_context(1, "youtube", "access_token"))
    for context in (
        crypto.credential_context(2, "youtube", "access_token"),
        crypto.credential_context(1, "telegram", "access_token"),
        crypto.credential_context(1, "youtube", "refresh_token"),
        crypto.credential_context(None, "youtube", "access_token"),
    ):
        with pytest.raises(crypto.CryptoError):
            crypto.open_sealed(key, sealed, context, what="x")
    relabelled = crypto.SealedValue("k2", sealed.blob)
    with pytest.raises(crypto.CryptoError, match="key k2"):
        crypto.open_sealed(key, relabelled, crypto.credential_context(1, "youtube", "access_token"), what="x")


def test_a_wrong_key_fails_loudly() -> None:
    sealed = crypto.seal(crypto.new_key(), "k1", b"secret", b"ctx")
    with pytest.raises(crypto.CryptoError, match="k1"):
        crypto.open_sealed(crypto.new_key(), sealed, b"ctx", what="x")


@pytest.mark.parametrize(
    "text",
    ["sk-plaintext", "enc:v1:K1:abc", "enc:v2:k1:abcd", "enc:v1:k1:!!!!", "enc:v1:k1:" + "A" * 8, "enc:v1::abcd"],
)
def test_malformed_stored_values_are_refused(text: str) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.parse(text)


def test_keys_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.seal(b"short", "k1", b"x", b"ctx")
