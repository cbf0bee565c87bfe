"""The language gate: a show speaks one language, and every host's voice and the writer must speak it.

`check_cast_language(settings, language, hosts)` runs at show create and change and at each episode request
(with the hosts that episode will have):

* each host's Piper model must exist with its `.onnx.json` (422 naming `hosts[i].voice.model`);
* each host's voice must speak the show's language, compared by the primary subtag ("en-GB" speaks
  "en"): a Piper voice's language is in its `.onnx.json`; a speech-API voice's is the one the bible
  declares (`voice.language`), and one not declared is accepted (such voices often speak many
  languages). Otherwise 422 naming `hosts[i].voice`: "host 'Bjørn': voice en_US-joe-medium speaks en,
  the show's language is nb". A host without a voice of its own is checked with the configured default;
* the configured writer must write the language (the offline writer: English; an LLM: any), else 422
  naming `language`.

A show without hosts gets DEFAULT_HOSTS in its episodes; they are checked in its place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aether.agents.pswa.write import writer_languages
from aether.config import Settings
from aether.errors import ValidationFailed
from aether.providers.tts import cast_voices, primary_language, voice_language

DEFAULT_HOSTS = ("Alex", "Sam")


def check_cast_language(settings: Settings, language: str, hosts: Sequence[Mapping[str, Any] | str] | None) -> None:
    """Raise ValidationFailed when a host's voice is missing or does not speak `language`, or when the
    configured writer cannot write it (see the module docstring)."""
    wanted = primary_language(language)
    writable = writer_languages(settings)
    if writable is not None and wanted not in writable:
        raise ValidationFailed(
            f"language {language}: the offline writer writes {', '.join(sorted(writable))} only; "
            "set AETHER_LLM_BASE_URL (an LLM writes any language) or choose a language it writes",
            field="language",
        )
    named = [{"name": h} if isinstance(h, str) else h for h in (hosts or [])]
    cast = named or [{"name": name, "voice": None} for name in DEFAULT_HOSTS]
    voices = cast_voices(settings, cast, for_speech=False)
    for index, (host, voice) in enumerate(zip(cast, voices, strict=True)):
        spoken = voice_language(voice)
        if spoken is None or primary_language(spoken) == wanted:
            continue
        own = "" if host.get("voice") else " (the default voice)"
        field = f"hosts[{index}].voice" if named else "language"
        raise ValidationFailed(
            f"host {host.get('name')!r}: voice {voice.model_name}{own} speaks {primary_language(spoken)}, "
            f"the show's language is {wanted}",
            field=field,
        )
