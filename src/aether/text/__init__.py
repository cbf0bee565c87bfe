"""Shared text utilities: sentence splitting, word tokens, normalisation, hashing, HTML to text."""

from aether.errors import pattern_rule
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

# BCP 47 in the form podcast feeds and speech engines use
LANGUAGE_PATTERN = pattern_rule(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "a language code such as en or en-US")
