"""Which new articles of a feed get their page fetched, and from which link. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from monitor.pages.links import UNRESOLVABLE, article_link
from monitor.settings import ArticlesConfig, FeedConfig
from storage.pages import PageRequest
from storage.records import Article


def pages_wanted(articles: Sequence[Article], feed: FeedConfig,
                 settings: ArticlesConfig) -> list[PageRequest]:
    """A request per article whose page the feed's ``articles`` mode wants: with the link to
    fetch, or (an aggregator's link that needs a browser, no link at all) with the reason none
    can be fetched, so `feeds` can say why the item stayed a headline."""
    wanted = []
    for article in articles:
        if not settings.fetches(feed.articles, article.summary, article.content):
            continue
        link = article.url or article.canonical_url
        if link is None or "${" in link:   # none given, or redacted: it held the feed's secret
            wanted.append(PageRequest(article.id, feed.name, None, reason="unresolvable link"))
            continue
        resolved = article_link(link)
        if resolved.url is None:
            # Kept with its link (a PDF's address says what it was), but never fetched.
            kept = None if resolved.reason == UNRESOLVABLE else link
            wanted.append(PageRequest(article.id, feed.name, kept,
                                      reason=resolved.reason or UNRESOLVABLE))
            continue
        host = (urlsplit(resolved.url).hostname or "").lower()
        wanted.append(PageRequest(article.id, feed.name, resolved.url, host=host))
    return wanted
