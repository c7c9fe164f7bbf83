"""Shared data and helpers for the digest tests (no tests here): articles written for this
project, in English and Spanish, stored in a real SQLite file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.config import ChannelConfig, ChannelType
from monitor.feeds import canonical_url
from monitor.matching import WatchList
from monitor.settings import load_watchlist
from storage.records import Article, FeedState, Kind, Match
from storage.store import Store

NOW = datetime(2025, 11, 23, 13, 0, tzinfo=UTC)
WATCH_ORDER: list[tuple[str, str]] = [
    ("Mission Firewall", "program"), ("eTrace", "program"), ("Bicentennial Framework", "program"),
    ("arms trafficking", "topic"),
]
HOSTILE_TITLE = '<script>alert("pwned")</script> Misión Cortafuegos & <b>armas</b>'


def article(key: str, *, title: str | None = None, url: str | None = None,
            feed: str = "El Universal", language: str | None = "es",
            first_seen: datetime | None = None, published: datetime | None = None,
            summary: str = "", content: str = "", canonical: str | None = None) -> Article:
    seen = first_seen or NOW - timedelta(hours=1)
    return Article(id=f"a-{key}", feed=feed, guid=f"guid-{key}",
                   url=url if url is not None else f"https://news.example.org/{key}?a=1&b=2",
                   canonical_url=canonical, title=title or f"Story {key}", summary=summary,
                   content=content, published=published or seen, first_seen=seen,
                   language=language)


SHIPPED_WATCHLIST = load_watchlist(Path(__file__).resolve().parents[1] / "config"
                                   / "watchlist.toml")
SHIPPED_ORDER = [(item.name, item.kind) for item in SHIPPED_WATCHLIST]
_MATCHER = WatchList(SHIPPED_WATCHLIST)


def matched(key: str, url: str, *, title: str, summary: str = "", content: str = "",
            **fields: Any) -> tuple[Article, list[Match]]:
    """An article as a poll makes it (canonical URL) with the evidence the shipped watch list
    finds in it: the real matcher decides the fields and snippets, not the test."""
    found = article(key, url=url, canonical=canonical_url(url), title=title, summary=summary,
                    content=content, **fields)
    return found, _MATCHER.match(title, summary, content)


def match(item: str = "Mission Firewall", term: str = "Misión Cortafuegos",
          snippet: str = "… la Misión Cortafuegos contra el tráfico de armas …",
          kind: Kind = "program", field: Any = "summary") -> Match:
    return Match(item=item, kind=kind, term=term, field=field, snippet=snippet)


def seed(store: Store, hits: Sequence[tuple[Article, Sequence[Match]]],
         feed: str = "El Universal") -> None:
    """Store articles and their matches the way a poll does."""
    state = FeedState(name=feed, url=f"https://{feed.replace(' ', '').lower()}.example/rss",
                      status="ok", last_checked=NOW)
    store.save_feed_result(state, [a for a, _ in hits], {a.id: list(m) for a, m in hits})


def open_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "armswatch.db")


def channel(name: str, type: ChannelType, **options: Any) -> ChannelConfig:
    fields = {k: options.pop(k) for k in ("items", "kinds", "immediate", "send_empty",
                                          "timezone", "backlog") if k in options}
    return ChannelConfig(name=name, type=type, options=options, **fields)


def digest_rows(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM digests ORDER BY id"))


def delivered(store: Store, channel_name: str) -> set[str]:
    return {r["article_id"] for r in store.db.query(
        "SELECT article_id FROM deliveries WHERE channel = ?", [channel_name])}
