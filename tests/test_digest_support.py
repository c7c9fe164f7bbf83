"""Shared data and helpers for the digest tests (no tests here): articles written for this
project, in English and Spanish, stored in a real SQLite file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slackserver import SlackServer

from alerts.config import (
    ChannelConfig,
    ChannelSettings,
    ChannelType,
    EmailSettings,
    FileSettings,
    SlackSettings,
    SmtpSettings,
    StdoutSettings,
)
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


# Settings for tests that need a channel of a type but never send through it.
UNSENT: dict[ChannelType, ChannelSettings] = {
    "email": EmailSettings(sender="armswatch@example.org", to=("analysts@example.org",),
                           smtp=SmtpSettings(host="127.0.0.1", port=25, security="none")),
    "slack": SlackSettings(webhook_url="https://hooks.slack.invalid/services/T0/B0/X"),
    "file": FileSettings(path=Path("digests")),
    "stdout": StdoutSettings(),
}


def channel(name: str, type: ChannelType = "stdout", *, settings: ChannelSettings | None = None,
            **fields: Any) -> ChannelConfig:
    """A channel as the config loader builds it: ``settings``, or placeholders for ``type``;
    ``fields`` are the keys every channel has (items, kinds, immediate, timezone, ...)."""
    return ChannelConfig(name=name, settings=settings or UNSENT[type], **fields)


def file_channel(name: str, folder: Path, **fields: Any) -> ChannelConfig:
    return channel(name, settings=FileSettings(path=folder), **fields)


def email_channel(port: int, *, sender: str = "Armswatch <armswatch@example.org>",
                  subject_prefix: str = "[Armswatch]", **smtp: Any) -> ChannelConfig:
    """Two recipients, plain SMTP to 127.0.0.1:``port`` unless ``smtp`` says otherwise."""
    server = SmtpSettings(**{"host": "127.0.0.1", "port": port, "security": "none",
                             "timeout": timedelta(seconds=10), **smtp})
    settings = EmailSettings(sender=sender, smtp=server, subject_prefix=subject_prefix,
                             to=("analysts@example.org", "desk@example.org"))
    return channel("team-email", settings=settings, timezone="America/Mexico_City")


def slack_channel(server: SlackServer | None = None, **settings: Any) -> ChannelConfig:
    """Quick retries and no pause between messages, to keep the tests fast."""
    fields = {"min_interval": timedelta(0), "retry_delay": timedelta(milliseconds=50),
              **({"webhook_url": server.webhook_url} if server else {}), **settings}
    return channel("slack", settings=SlackSettings(**fields))


def digest_rows(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM digests ORDER BY id"))


def delivered(store: Store, channel_name: str) -> set[str]:
    return {r["article_id"] for r in store.db.query(
        "SELECT article_id FROM deliveries WHERE channel = ?", [channel_name])}
