"""The name a listener hears for where something came from: the publication, never a host or an address.

In order: the feed's own `<title>`, else the article's `og:site_name`, else the registered domain of
the URL without `www.` (`news.bbc.co.uk` -> `bbc.co.uk`; a host under no public suffix is named as it
is). An IP address or `localhost` never becomes a name, nor does a port: then there is none, and the
script attributes without one.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from tld import get_fld

from aether.text import html_to_text, normalize_space

_SITE_NAME = re.compile(
    rb"""<meta\s+[^>]*?(?:property|name)\s*=\s*["']og:site_name["'][^>]*?content\s*=\s*["']([^"']{1,200})["']"""
    rb"""|<meta\s+[^>]*?content\s*=\s*["']([^"']{1,200})["'][^>]*?(?:property|name)\s*=\s*["']og:site_name["']""",
    re.IGNORECASE,
)
MAX_NAME = 120


def site_name(html: bytes) -> str | None:
    """The page's `og:site_name`, when it declares one."""
    match = _SITE_NAME.search(html[:131072])
    if not match:
        return None
    raw = (match.group(1) or match.group(2) or b"").decode("utf-8", "replace")
    return normalize_space(html_to_text(raw))[:MAX_NAME] or None


def domain_name(url: str | None) -> str | None:
    """The registered domain of `url` without `www.`; None for an IP address or a local host name."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    found = get_fld(url, fail_silently=True)
    if found:
        return str(found).removeprefix("www.")
    # not under a public suffix (an intranet or test domain): the host itself, when it has a domain part
    return host.removeprefix("www.") if "." in host.removeprefix("www.") else None


def publication_name(feed_title: str | None, site: str | None, url: str | None) -> str | None:
    """The publication to credit: the feed's title, else the site's own name, else its domain."""
    for name in (feed_title, site):
        if name and normalize_space(name):
            return normalize_space(name)[:MAX_NAME]
    return domain_name(url)
