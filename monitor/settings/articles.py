"""The `[articles]` table and each feed's `articles` key: when and how politely the article page
behind a headline is fetched (design §12, monitor/pages/).

A feed's ``articles`` says when its items' pages are fetched: ``"auto"`` (the default) when the
item's own text (summary and content together) is shorter than ``short_text`` characters — a
headline or a teaser —, ``"always"``, or ``"never"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from monitor.settings.tables import Table, Unresolved, describe, parse_size, quote

ArticleMode = Literal["auto", "always", "never"]
ARTICLE_MODES: tuple[ArticleMode, ...] = ("auto", "always", "never")
ARTICLES_KEYS = ("concurrency", "per_host", "delay", "timeout", "max_page", "max_text",
                 "short_text", "contact", "user_agent", "poll_budget")
DEFAULT_CONTACT = "https://github.com/armswatch/armswatch"
# robots.txt and RFC 9309 say at most 2 connections per host are polite; more is refused.
MAX_PER_HOST = 2


def user_agent_for(contact: str) -> str:
    """The honest default User-Agent: who we are and where to write to us."""
    return f"Armswatch/0.1 (+{contact}; news monitor reading the articles its feeds link to)"


@dataclass(frozen=True)
class ArticlesConfig:
    concurrency: int = 8                   # article pages fetched at once, in all
    # Connections to one host at a time. 2, not 1: a slow page does not hold up the host's next
    # one; the delay still spaces the requests' starts.
    per_host: int = 2
    delay: timedelta = timedelta(seconds=1)     # between two requests to one host, at least
    timeout: timedelta = timedelta(seconds=20)  # whole time for one page
    max_page: int = 2 * 1024 * 1024        # bytes of HTML, after decoding
    max_text: int = 20_000                 # characters of extracted text kept
    # "auto": an item whose summary and content hold fewer characters than this is a headline
    # or a teaser. Measured on ../shared/feeds/real: teasers run to ~300 characters; an item
    # with its article in the feed has thousands.
    short_text: int = 400
    contact: str = DEFAULT_CONTACT
    user_agent: str = user_agent_for(DEFAULT_CONTACT)
    # How long `armswatch poll` spends on its cycle's pages; the rest wait for the next cycle.
    poll_budget: timedelta = timedelta(minutes=2)

    def fetches(self, mode: ArticleMode, summary: str, content: str) -> bool:
        """Whether an item with this text, from a feed in ``mode``, gets its page fetched."""
        if mode == "never":
            return False
        if mode == "always":
            return True
        return len(summary.strip()) + len(content.strip()) < self.short_text


def read_articles(table: Table | None) -> ArticlesConfig:
    """The `[articles]` table; every bad value reported as ``file: articles.key: message``."""
    defaults = ArticlesConfig()
    if table is None:
        return defaults
    table.check_keys(ARTICLES_KEYS)
    contact = _contact(table, defaults.contact)
    user_agent = table.text("user_agent", user_agent_for(contact))
    return ArticlesConfig(
        concurrency=table.integer("concurrency", defaults.concurrency, low=1, high=200),
        per_host=table.integer("per_host", defaults.per_host, low=1, high=MAX_PER_HOST),
        delay=table.duration("delay", defaults.delay, low=timedelta(0),
                             high=timedelta(minutes=10)),
        timeout=table.duration("timeout", defaults.timeout, high=timedelta(minutes=5)),
        max_page=_size(table, "max_page", defaults.max_page, low=16 * 1024),
        max_text=table.integer("max_text", defaults.max_text, low=1000, high=1_000_000),
        short_text=table.integer("short_text", defaults.short_text, low=0, high=100_000),
        contact=contact,
        user_agent=user_agent,
        poll_budget=table.duration("poll_budget", defaults.poll_budget, low=timedelta(0),
                                   high=timedelta(hours=1)),
    )


def read_article_mode(table: Table) -> ArticleMode:
    """A feed's `articles` key."""
    mode = table.choice("articles", ARTICLE_MODES, "auto")
    return "always" if mode == "always" else "never" if mode == "never" else "auto"


def _contact(table: Table, default: str) -> str:
    contact = table.text("contact", default)
    if isinstance(contact, Unresolved) or contact == default:
        return contact
    parts = urlsplit(contact.strip())
    if parts.scheme in ("http", "https") and parts.netloc or parts.scheme == "mailto" \
            and "@" in parts.path:
        return contact.strip()
    table.problem("contact", "must be a web address (https://…) or mailto: address where "
                  f"publishers can reach the operator, not {quote(contact)}")
    return default


def _size(table: Table, key: str, default: int, *, low: int) -> int:
    value = table.data.get(key, default)
    size = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and not isinstance(value, Unresolved):
        try:
            size = parse_size(value)
        except ValueError as exc:
            table.problem(key, str(exc))
            return default
    if size is None or size < low:
        table.problem(key, f"must be at least {low // 1024}KB: a number of bytes or a size like "
                      f'"2MB", not {describe(value)}')
        return default
    return size
