# Placeholder: replaced by work-extract at merge
"""Which URL leads to the article behind a feed item's link, without a browser: Bing's
``apiclick`` carries it in ``url=``; Google News tokens need JavaScript (unresolvable)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class ArticleLink:
    url: str | None       # what to fetch; None when nothing can be
    reason: str | None    # why not, e.g. "unresolvable link"


def article_link(url: str) -> ArticleLink:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ArticleLink(None, "unresolvable link")
    host = parts.hostname.lower()
    if host == "news.google.com" and parts.path.startswith("/rss/articles/"):
        return ArticleLink(None, "unresolvable link")
    if host.endswith("bing.com") and parts.path.lower().endswith("/apiclick.aspx"):
        target = parse_qs(parts.query).get("url", [""])[0]
        if urlsplit(target).scheme in ("http", "https"):
            return ArticleLink(target, None)
        return ArticleLink(None, "unresolvable link")
    return ArticleLink(url, None)
