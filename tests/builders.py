"""Builders shared by the tests: records, settings, and an in-memory feed source.

``FakeFeeds`` stands in for the fetcher and the parser together, like reader's fake parser: a
test says which articles a feed URL holds now, and the poll cycle (monitor.poll.Poller) runs on a
real SQLite file with no network and no parser process. Network behaviour (timeouts, redirects,
encodings, hostile servers) stays with the loopback server of tests/feedserver.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.feeds import FetchRequest, FetchResult, ParsedFeed
from monitor.settings import (
    Config,
    FeedConfig,
    PollingConfig,
    StorageConfig,
    WatchItem,
    load_watchlist,
)
from storage.errors import FetchError, ParseError
from storage.records import Article

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 17, 56, tzinfo=UTC)
SHIPPED_WATCH = load_watchlist(ROOT / "config" / "watchlist.toml")


def article(n: int, **changes: Any) -> Article:
    """Article number ``n`` of "Feed A": unique id, guid and URL; override any field."""
    base = Article(
        id=f"id-{n}", feed="Feed A", guid=f"guid-{n}", url=f"https://news.example/{n}?utm=x",
        canonical_url=f"https://news.example/{n}", title=f"Story number {n}",
        summary=f"Summary of story {n}", content="", published=NOW - timedelta(hours=n),
        first_seen=NOW, language="en")
    return replace(base, **changes)


def feed_config(name: str, url: str | None = None, *, language: str | None = None,
                interval: timedelta = timedelta(minutes=15)) -> FeedConfig:
    return FeedConfig(name=name, url=url or f"https://feeds.example/{name.replace(' ', '-')}",
                      interval=interval, language=language)


def config_for(folder: Path, feeds: Sequence[FeedConfig], *,
               watch: Sequence[WatchItem] = SHIPPED_WATCH, timeout: float = 3.0,
               **polling: Any) -> Config:
    """Settings with a database in ``folder``, as load_config would give them, without files;
    ``polling`` overrides PollingConfig fields (short timeouts by default, for tests)."""
    limits = PollingConfig(timeout=timedelta(seconds=timeout),
                           parse_timeout=timedelta(seconds=10))
    return Config(directory=folder, storage=StorageConfig(path=folder / "armswatch.db"),
                  polling=replace(limits, **polling), feeds=tuple(feeds), channels=(),
                  watch=tuple(watch))


@dataclass
class _Feed:
    articles: tuple[Article, ...] = ()
    fetch_error: FetchError | None = None
    parse_error: str | None = None
    etag: str | None = None


@dataclass
class FakeFeeds:
    """Feed URLs and what each holds now; ``.fetcher`` and ``.parser`` serve them from memory.

    The body a fetch returns is a digest of the feed's current articles, so an unchanged feed
    sends the same bytes again (and the cycle's body-hash check can skip it), and a changed one
    does not. A feed given an ``etag`` answers 304 to a request that sends it back.
    """

    feeds: dict[str, _Feed] = field(default_factory=dict)
    requests: list[FetchRequest] = field(default_factory=list)
    parsed: list[str] = field(default_factory=list)   # URLs whose body reached the parser

    def set(self, url: str, articles: Sequence[Article], *, etag: str | None = None) -> None:
        self.feeds[url] = _Feed(articles=tuple(articles), etag=etag)

    def fail_fetch(self, url: str, error: FetchError) -> None:
        self.feeds[url] = _Feed(fetch_error=error)

    def fail_parse(self, url: str, message: str) -> None:
        self.feeds[url] = _Feed(parse_error=message)

    @property
    def fetcher(self) -> _FakeFetcher:
        return _FakeFetcher(self)

    @property
    def parser(self) -> _FakeParser:
        return _FakeParser(self)

    def body(self, url: str) -> bytes:
        held = self.feeds[url]
        return hashlib.sha256(repr((held.articles, held.parse_error)).encode()).hexdigest().encode()


@dataclass
class _FakeFetcher:
    source: FakeFeeds

    async def fetch(self, request: FetchRequest) -> FetchResult:
        self.source.requests.append(request)
        held = self.source.feeds.get(request.url)
        if held is None:
            raise FetchError("HTTP 404 Not Found", status=404)
        if held.fetch_error is not None:
            raise held.fetch_error
        not_modified = held.etag is not None and request.etag == held.etag
        return FetchResult(
            name=request.name, url=request.url, status=304 if not_modified else 200,
            not_modified=not_modified, body=None if not_modified else self.source.body(request.url),
            etag=held.etag, last_modified=None, headers={}, elapsed=0.0)


@dataclass
class _FakeParser:
    source: FakeFeeds

    async def parse(self, body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
                    language: str | None, fetched_at: datetime, timeout: float) -> ParsedFeed:
        self.source.parsed.append(url)
        held = self.source.feeds[url]
        if held.parse_error is not None:
            raise ParseError(held.parse_error)
        articles = tuple(replace(a, feed=feed_name, first_seen=fetched_at) for a in held.articles)
        return ParsedFeed(title=feed_name, language=language, articles=articles, warning=None)
