"""Sentences and words without downloaded language data (segtok rules, plain regular expressions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from segtok.segmenter import split_multi

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:[-.][^\W_]+)*", re.UNICODE)
_BLOCK_TAGS = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|tr|blockquote|section|article)\b[^>]*>", re.IGNORECASE)

# Common English function words: left out of similarity and keyword comparisons.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me more
most my myself new no nor not now of off on once only or other our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves said says say one two three it's according year years week
day today yesterday
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def normalize_space(text: str) -> str:
    """Unicode NFC, every run of white space one blank, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a plain text (paragraph breaks always end a sentence), white space normalised."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\r\n\s*\r\n", text):
        flat = normalize_space(paragraph)
        if not flat:
            continue
        sentences.extend(s for s in (normalize_space(part) for part in split_multi(flat)) if s)
    return sentences


def words(text: str) -> list[str]:
    """Word tokens as they appear (numbers like 3.5 and words like don't stay whole)."""
    return _WORD.findall(text)


def count_words(text: str) -> int:
    return len(words(text))


def content_tokens(text: str) -> list[str]:
    """Lower-case word tokens without stop words, a trailing plural `s` dropped (for similarity)."""
    tokens: list[str] = []
    for word in words(text.lower()):
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(word)
    return tokens


def shingles(tokens: list[str], size: int = 3) -> set[str]:
    """Word n-grams of the tokens (the tokens themselves when there are fewer than `size`)."""
    if len(tokens) < size:
        return set(tokens)
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def sentence_key(text: str) -> str:
    """A comparison key for a sentence: lower-case words joined by one blank (punctuation ignored)."""
    return " ".join(words(text.lower()))


def text_hash(text: str) -> str:
    """sha256 (hex) of the text with white space normalised."""
    return hashlib.sha256(normalize_space(text).encode("utf-8")).hexdigest()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed summaries): block elements become paragraph breaks."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    import lxml.html

    marked = _BLOCK_TAGS.sub("\n\n", fragment)
    try:
        root = lxml.html.fromstring(f"<div>{marked}</div>")
    except (ValueError, lxml.etree.ParserError):
        return normalize_space(re.sub(r"<[^>]+>", " ", fragment))
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    text = root.text_content()
    paragraphs = [normalize_space(p) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)
