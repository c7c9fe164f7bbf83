"""Which links from a feed may be rendered as links: only absolute http(s) URLs with a host.

A feed is untrusted input: ``javascript:``, ``data:`` or relative links are shown as plain text or
left out, never made clickable.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from storage.records import Article

# Longer links are not rendered as links: no reader follows them, and a 6 MB link would make a
# digest of megabytes (the poll caps links too; rendering must hold on its own).
MAX_LINK = 2000

# Characters kept as they are when re-quoting a URL: the reserved set plus "%" so that existing
# escapes survive. Anything else (spaces, quotes, <, >, |, control characters) is percent-encoded,
# which keeps the URL inert inside HTML attributes, Markdown and Slack's <url|label> syntax.
_SAFE = "/:?#[]@!$&'()*+,;=%-._~"


def safe_url(url: str | None) -> str | None:
    """The URL, percent-encoded, if it is an absolute http(s) URL with a host; otherwise None."""
    if not url or len(url) > MAX_LINK:
        return None
    candidate = url.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    cleaned = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query,
                          parts.fragment))
    return quote(cleaned, safe=_SAFE)


def host_of(url: str | None) -> str | None:
    """The host name of a safe URL, without a leading ``www.``, for a compact source label."""
    link = safe_url(url)
    if link is None:
        return None
    host = urlsplit(link).hostname or ""
    return host.removeprefix("www.") or None


def article_link(article: Article) -> str | None:
    """The link a digest gives for an article: its canonical URL (tracking parameters such as
    ``utm_*`` removed), or the feed's link when there is no canonical one; None if not http(s)."""
    return safe_url(article.canonical_url or article.url)


def no_link_reason(article: Article) -> str:
    """Why a digest shows ``article`` without a link."""
    given = article.canonical_url or article.url
    if given and len(given) > MAX_LINK:
        return f"no web link: the feed's link is too long to show ({len(given):,} characters)"
    return "no web link: the feed gave none that is http/https"
