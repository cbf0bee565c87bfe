"""Shared text utilities: sentence splitting, word tokens, normalisation, hashing, HTML to text."""

from aether.text.sentences import (
    content_tokens,
    count_words,
    html_to_text,
    normalize_space,
    sentence_key,
    shingles,
    split_sentences,
    text_hash,
    words,
)

__all__ = [
    "content_tokens",
    "count_words",
    "html_to_text",
    "normalize_space",
    "sentence_key",
    "shingles",
    "split_sentences",
    "text_hash",
    "words",
]
