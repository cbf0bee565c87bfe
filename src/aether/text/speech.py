"""Speech text: a line as the voice should say it (the transcript keeps the written words)."""

from __future__ import annotations

import re
from collections.abc import Sequence


def speech_text(text: str, *, language: str = "en", lexicon: Sequence[tuple[str, str]] = ()) -> str:
    """`text` with the show's lexicon applied: each `text` (whole word, case-sensitive, longest first)
    spoken as its `say`."""
    for written, say in sorted(lexicon, key=lambda pair: -len(pair[0])):
        text = re.sub(rf"(?<!\w){re.escape(written)}(?!\w)", say, text)
    return text
