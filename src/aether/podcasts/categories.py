"""Apple Podcasts categories: what `itunes:category` may say (data/apple_categories.json, Apple's list).

A show's category is a top category ("Technology") or a top category and one of its subcategories joined by
" > " ("Science > Physics"). `CATEGORIES` lists every allowed value; `feed_xml` writes the nested
`itunes:category` elements of one.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

SEPARATOR = " > "
TREE: dict[str, list[str]] = json.loads((Path(__file__).parent / "data" / "apple_categories.json").read_text("utf-8"))
CATEGORIES: tuple[str, ...] = tuple(
    value for top, subs in TREE.items() for value in (top, *(f"{top}{SEPARATOR}{sub}" for sub in subs))
)
_ALLOWED = frozenset(CATEGORIES)


def check(value: str) -> str:
    """`value` when it is one of CATEGORIES; ValueError naming the rule otherwise."""
    if value not in _ALLOWED:
        raise ValueError(
            "must be an Apple Podcasts category such as 'Technology' or 'Science > Physics' "
            f"(a subcategory after ' > '); the top categories are: {', '.join(TREE)}"
        )
    return value


def feed_xml(value: str) -> str:
    """The `itunes:category` element(s) of a category: a subcategory nests inside its top category."""
    top, _, sub = value.partition(SEPARATOR)
    inner = f"<itunes:category text={quoteattr(sub)}/>" if sub else ""
    if not inner:
        return f"<itunes:category text={quoteattr(top)}/>"
    return f"<itunes:category text={quoteattr(top)}>{inner}</itunes:category>"
