"""Sentence splitting, tokens, hashing and HTML to text without downloaded language data."""

from __future__ import annotations

from aether.text import content_tokens, count_words, html_to_text, sentence_key, shingles, split_sentences, text_hash


def test_sentences_respect_abbreviations_numbers_and_paragraphs() -> None:
    text = "Dr. Hana Suzuki said it is 3.5 times older. The U.S. team agreed!\n\nA new paragraph without end"
    assert split_sentences(text) == [
        "Dr. Hana Suzuki said it is 3.5 times older.",
        "The U.S. team agreed!",
        "A new paragraph without end",
    ]
    assert split_sentences("   \n\n  ") == []


def test_words_tokens_and_shingles() -> None:
    assert count_words("Don't count 3.5 twice, well-known words.") == 6
    assert content_tokens("Apple's new iPhones and the turbines") == ["apple", "iphone", "turbine"]
    assert shingles(["a", "b", "c", "d"], 3) == {"a b c", "b c d"}
    assert shingles(["a"], 3) == {"a"}
    assert sentence_key("Hello,  World!") == "hello world"


def test_hash_ignores_white_space_only() -> None:
    assert text_hash("a  b\nc") == text_hash("a b c")
    assert text_hash("a b c") != text_hash("a b d")
    assert len(text_hash("")) == 64


def test_html_fragments_become_paragraphs() -> None:
    html = "<p>First &amp; more.</p><p>Second <b>bold</b>.</p><script>alert(1)</script>"
    assert html_to_text(html) == "First & more.\n\nSecond bold."
    assert html_to_text("plain text") == "plain text"
