"""read_wav: 16-bit and float WAV, stereo, WAVE_FORMAT_EXTENSIBLE, and the placeholder sizes of a streamed
WAV (as speech APIs send it); anything else is a ValueError."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from aether.media.audio import read_wav, wav_bytes

TONE = (0.5 * np.sin(2 * np.pi * 220 * np.arange(2400) / 24000)).astype(np.float32)


def riff(fmt: bytes, data: bytes, *, streamed: bool = False) -> bytes:
    size = b"\xff\xff\xff\xff" if streamed else struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
    data_size = b"\xff\xff\xff\xff" if streamed else struct.pack("<I", len(data))
    return b"RIFF" + size + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + data_size + data


def test_16_bit_mono_round_trip() -> None:
    samples, rate = read_wav(wav_bytes(TONE, 24000))
    assert rate == 24000 and samples.dtype == np.float32
    assert np.max(np.abs(samples - TONE)) < 1e-4


def test_a_streamed_wav_is_read_to_its_end() -> None:
    pcm = (TONE * 32767).astype("<i2").tobytes() + b"\x01"  # and a stray odd byte at the end
    samples, rate = read_wav(riff(struct.pack("<HHIIHH", 1, 1, 24000, 48000, 2, 16), pcm, streamed=True))
    assert rate == 24000 and samples.size == TONE.size
    assert np.max(np.abs(samples - TONE)) < 1e-4


def test_float_stereo_and_extensible() -> None:
    stereo = np.stack([TONE, -TONE * 0.5], axis=1).astype("<f4").tobytes()
    samples, _ = read_wav(riff(struct.pack("<HHIIHH", 3, 2, 24000, 192000, 8, 32), stereo))
    assert np.allclose(samples, TONE * 0.25, atol=1e-6)
    guid_float = struct.pack("<H", 3) + bytes.fromhex("000000001000800000aa00389b71")
    extensible = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 24000, 96000, 4, 32, 22, 32, 4) + guid_float
    samples, _ = read_wav(riff(extensible, TONE.astype("<f4").tobytes()))
    assert np.allclose(samples, TONE, atol=1e-6)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"ID3\x04 an mp3", "not a WAV"),
        (riff(struct.pack("<HHIIHH", 1, 1, 24000, 72000, 3, 24), b"\x00" * 30), "24 bits"),
        (b"RIFF\x04\x00\x00\x00WAVE", "without a data chunk"),
    ],
)
def test_other_audio_is_a_value_error(data: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        read_wav(data)
