"""Cover images: procedural offline, or an OpenAI-compatible images API (a local stand-in here)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from aether.config import load_settings
from aether.errors import ImagesError
from aether.providers.images import OpenAIImages, make_cover
from tests.standins.images import ImagesStandin


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_offline_cover_is_procedural_and_deterministic() -> None:
    settings = load_settings()
    first = make_cover(settings, "Rust in the kernel", "Aether Daily")
    again = make_cover(settings, "Rust in the kernel", "Aether Daily")
    other = make_cover(settings, "Quantum computing", "Aether Daily")
    assert first.provider == "procedural" and first.jpeg == again.jpeg and first.jpeg != other.jpeg
    image = _open(first.jpeg)
    assert image.size == (3000, 3000) and image.mode == "RGB" and image.format == "JPEG"


@pytest.mark.parametrize("mode", ["b64_json", "url"])
def test_generated_cover_through_the_api(mode: str) -> None:
    with ImagesStandin(mode=mode) as api:
        settings = load_settings(
            images_base_url=api.base_url, images_api_key="sk-test-images-0001", images_model="img-1"
        )
        cover = make_cover(settings, "Rust in the kernel", "Aether Daily")
        assert cover.provider == "openai-images" and cover.model == "img-1"
        assert api.requests[0]["model"] == "img-1" and "Rust in the kernel" in api.requests[0]["prompt"]
    image = _open(cover.jpeg)
    assert image.size == (3000, 3000) and image.mode == "RGB"
    # the title band is drawn on the generated picture: dark pixels where the stand-in has none
    assert image.crop((300, 2700, 400, 2780)).convert("L").getextrema()[0] < 40


def test_api_errors_are_clear_and_keys_never_leak() -> None:
    with ImagesStandin() as api:
        settings = load_settings(images_base_url=api.base_url, images_api_key="sk-wrong-key-123456")
        with pytest.raises(ImagesError) as info:
            OpenAIImages(settings).generate("a prompt")
        assert "401" in str(info.value) and "sk-wrong" not in str(info.value) and not info.value.retryable
        settings = load_settings(images_base_url=api.base_url, images_api_key="sk-test-images-0001")
        api.errors = [503]
        assert OpenAIImages(settings).generate("retried once")[:4] == b"\x89PNG"
        api.errors = [503, 503, 503]
        with pytest.raises(ImagesError) as info:
            OpenAIImages(settings).generate("gives up")
        assert info.value.retryable
