"""The language gate through the API: a show's hosts' voices and its writer must speak its language.
A Piper voice's language comes from its .onnx.json; a speech-API voice's is the one declared (none
declared = accepted); the 422 names the host and the voice, and nothing is written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from aether.config import Settings
from aether.db.pool import Database
from aether.providers.tts import bundled_model
from tests.gateway.conftest import create_show, register


@pytest.fixture
def gateway_settings(settings: Settings) -> Settings:
    """An LLM writer (it writes any language; never called here): only the voices decide."""
    return settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1", "feed_cache_seconds": 0.0})


def norwegian_voice(folder: Path) -> Path:
    """The bundled model under a Norwegian voice's config (language.code nb_NO)."""
    model = folder / "nb_NO-test-medium.onnx"
    model.symlink_to(bundled_model())
    config = json.loads(Path(f"{bundled_model()}.json").read_text(encoding="utf-8"))
    config["language"] = {"code": "nb_NO", "family": "nb", "region": "NO"}
    config["espeak"] = {"voice": "nb"}
    Path(f"{model}.json").write_text(json.dumps(config), encoding="utf-8")
    return model


def refused(r: httpx.Response, field: str) -> str:
    assert r.status_code == 422, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["field"] == field, error
    return str(error["message"])


async def test_voices_must_speak_the_shows_language(client: httpx.Client, db: Database, tmp_path: Path) -> None:
    auth = register(client)
    nb = str(norwegian_voice(tmp_path))
    base = {"title": "Nyheter", "sources": ["https://feeds.example.org/nb.xml"], "language": "nb"}

    # the default voice (the bundled English one) for a Norwegian show
    r = client.post("/v1/shows", json=base | {"hosts": ["Bjørn"]}, headers=auth["headers"])
    message = refused(r, "hosts[0].voice")
    assert message == "host 'Bjørn': voice en_US-joe-medium (the default voice) speaks en, the show's language is nb"
    r = client.post("/v1/shows", json=base, headers=auth["headers"])  # no hosts: the default ones are checked
    assert "host 'Alex': voice en_US-joe-medium" in refused(r, "language")
    missing = {"hosts": [{"name": "Bjørn", "voice": {"model": "/x/nb.onnx"}}]}
    r = client.post("/v1/shows", json=base | missing, headers=auth["headers"])
    assert "voice model /x/nb.onnx does not exist" in refused(r, "hosts[0].voice.model")
    assert (await db.fetch_one("SELECT count(*) AS n FROM shows"))["n"] == 0  # type: ignore[index]

    # Norwegian voices: a Piper model whose config says nb_NO, an API voice declared nb, one undeclared
    hosts = [
        {"name": "Bjørn", "voice": {"engine": "piper", "model": nb}},
        {"name": "Kari", "voice": {"engine": "api", "voice": "nova", "language": "nb-NO"}},
        {"name": "Ola", "voice": {"engine": "api", "voice": "onyx"}},
    ]
    show = create_show(client, auth, **(base | {"hosts": hosts}))
    assert [h["voice"]["engine"] for h in show["hosts"]] == ["piper", "api", "api"]

    # a change that brings an English voice, or makes the show English, is refused and writes nothing
    before = await db.fetch_one("SELECT * FROM shows WHERE id = %s", (show["id"],))
    joe = {"name": "Joe", "voice": {"engine": "piper", "model": str(bundled_model())}}
    r = client.patch(f"/v1/shows/{show['id']}", json={"hosts": [*hosts, joe]}, headers=auth["headers"])
    assert refused(r, "hosts[3].voice") == "host 'Joe': voice en_US-joe-medium speaks en, the show's language is nb"
    r = client.patch(f"/v1/shows/{show['id']}", json={"language": "en-GB"}, headers=auth["headers"])
    assert refused(r, "hosts[0].voice") == (
        "host 'Bjørn': voice nb_NO-test-medium speaks nb, the show's language is en"
    )
    english = {"name": "Kari", "voice": {"engine": "api", "voice": "nova", "language": "en"}}
    r = client.patch(f"/v1/shows/{show['id']}", json={"hosts": [hosts[0], english]}, headers=auth["headers"])
    assert refused(r, "hosts[1].voice") == "host 'Kari': voice tts-1:nova speaks en, the show's language is nb"
    assert await db.fetch_one("SELECT * FROM shows WHERE id = %s", (show["id"],)) == before
    r = client.patch(f"/v1/shows/{show['id']}", json={"title": "Nyheter i dag"}, headers=auth["headers"])
    assert r.status_code == 200, r.text

    # an episode request that changes the language or brings hosts without a Norwegian voice
    for body, field, says in (
        ({"language": "en"}, "hosts[0].voice", "host 'Bjørn': voice nb_NO-test-medium speaks nb"),
        ({"hosts": ["Bjørn", "Gjest"]}, "hosts[1].voice", "host 'Gjest': voice en_US-joe-medium (the default voice)"),
    ):
        headers = auth["headers"] | {"X-Idempotency-Key": str(uuid.uuid4())}
        r = client.post(f"/v1/shows/{show['id']}/episodes", json={"topic": "Været i dag"} | body, headers=headers)
        assert says in refused(r, field)
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 0  # type: ignore[index]
    headers = auth["headers"] | {"X-Idempotency-Key": str(uuid.uuid4())}
    r = client.post(f"/v1/shows/{show['id']}/episodes", json={"topic": "Været i dag"}, headers=headers)
    assert r.status_code == 202, r.text
