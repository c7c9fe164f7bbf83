"""One poll cycle: fetch the feeds concurrently, parse what changed, match new articles, store them.

Each feed is handled alone: a feed that fails records its error and the others go on. Only a storage
failure (locked database, full disk) ends the cycle, because nothing after it could be saved either.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, Protocol
from urllib.parse import urlsplit

from monitor.feeds import FetchRequest, FetchResult, ParsedFeed
from monitor.matching import WatchList
from monitor.pages import pages_wanted
from monitor.poll import backoff as feedstate
from monitor.poll.outage import Attempt, Outage, find_outage, reached_network
from monitor.settings import ArticlesConfig, FeedConfig, PollingConfig
from monitor.stories import Rules, place_hits
from storage.errors import FetchError, ParseError, StorageError
from storage.outages import NetworkOutages
from storage.records import Article, FeedState, Hit, Match
from storage.store import Store

log = logging.getLogger("armswatch")

OutcomeStatus = Literal["ok", "not_modified", "unchanged", "failed", "gone"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class FeedFetcher(Protocol):
    """What the cycle needs of a fetcher: monitor.feeds.Fetcher, or an in-memory fake in tests."""

    async def fetch(self, request: FetchRequest) -> FetchResult: ...


class FeedParser(Protocol):
    """What the cycle needs of a parser: monitor.feeds.ParserPool, or an in-memory fake."""

    async def parse(self, body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
                    language: str | None, fetched_at: datetime, timeout: float,
                    max_entries: int | None = None) -> ParsedFeed: ...


@dataclass(frozen=True)
class FeedOutcome:
    """What polling one feed did."""

    feed: str
    status: OutcomeStatus
    new_articles: int = 0
    new_hits: int = 0
    error: str | None = None
    hit_ids: tuple[str, ...] = ()   # ids of new articles that matched
    alert_ids: tuple[str, ...] = ()  # ... of those, the ones matching a high-priority item
    warning: str | None = None        # what the caps left out of the feed's body
    local_cause: str | None = None   # a failure that may be our network's (FetchError's)
    # With a local cause: the feed's state before this attempt, restored if it was an outage.
    previous: FeedState | None = None
    queued: tuple[str, ...] = ()     # new articles whose page was queued to fetch (design §12)


@dataclass
class PollReport:
    started: datetime
    finished: datetime
    outcomes: list[FeedOutcome] = field(default_factory=list)
    outage: Outage | None = None   # most feeds failed with one local cause: our network is down

    def count(self, *statuses: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def new_articles(self) -> int:
        return sum(o.new_articles for o in self.outcomes)

    @property
    def new_hits(self) -> int:
        return sum(o.new_hits for o in self.outcomes)

    @property
    def hit_ids(self) -> list[str]:
        return [i for o in self.outcomes for i in o.hit_ids]

    @property
    def alert_ids(self) -> list[str]:
        return [i for o in self.outcomes for i in o.alert_ids]

    @property
    def queued(self) -> list[str]:
        """The articles of this cycle whose pages wait in the queue."""
        return [i for o in self.outcomes for i in o.queued]

    @property
    def warnings(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.warning]

    @property
    def failures(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "gone")]

    @property
    def own_failures(self) -> list[FeedOutcome]:
        """Failures of the feeds themselves: those an outage explains are left out."""
        explained = self.outage.feeds if self.outage is not None else frozenset()
        return [o for o in self.failures if o.feed not in explained]

    @property
    def duration(self) -> float:
        return (self.finished - self.started).total_seconds()

    def summary(self) -> str:
        return (f"{len(self.outcomes)} feeds: {self.count('ok')} ok, "
                f"{self.count('not_modified', 'unchanged')} not modified, "
                f"{self.count('failed', 'gone')} failed; "
                f"{self.new_articles} new articles, {self.new_hits} new hits "
                f"in {self.duration:.1f} s")


def due_feeds(feeds: Sequence[FeedConfig], store: Store, now: datetime) -> list[FeedConfig]:
    """Feeds whose next check has come (never-checked first, then the longest overdue).

    New feeds are recorded first, so they are due at once (a write only when the configured feeds
    changed; otherwise this only reads). A feed that answered 410 Gone is polled only on request.
    """
    by_name = {f.name: f for f in feeds}
    store.feeds.sync((f.name, f.display_url) for f in feeds)
    return [by_name[s.name] for s in store.feeds.due(by_name, now) if s.status != "gone"]


class Poller:
    """Runs poll cycles over a store with one fetcher and one parser pool."""

    def __init__(self, *, store: Store, watchlist: WatchList, polling: PollingConfig,
                 fetcher: FeedFetcher, parser: FeedParser,
                 clock: Callable[[], datetime] = utcnow,
                 articles: ArticlesConfig | None = None, stories: Rules | None = None) -> None:
        """``articles``: queue the pages of new articles as each feed's ``articles`` mode
        says; None queues none. ``stories``: the rules that group hits into stories."""
        self.store = store
        self.articles = articles
        self.stories = stories or Rules()
        self.watchlist = watchlist
        self.polling = polling
        self.fetcher = fetcher
        self.parser = parser
        self.clock = clock

    async def poll(self, feeds: Sequence[FeedConfig], *,
                   on_feed_done: Callable[[FeedOutcome], None] | None = None) -> PollReport:
        """Poll these feeds now, concurrently (the fetcher bounds the concurrency)."""
        if feeds:  # a new feed or a changed URL is recorded before its state is read
            self.store.feeds.sync((f.name, f.display_url) for f in feeds)
        report = PollReport(started=self.clock(), finished=self.clock())

        async def one(feed: FeedConfig) -> None:
            outcome = await self.poll_feed_safely(feed)
            report.outcomes.append(outcome)
            if on_feed_done is not None:
                on_feed_done(outcome)

        try:
            async with asyncio.TaskGroup() as group:
                for feed in feeds:
                    group.create_task(one(feed))
        except* StorageError as failed:
            # One feed's storage failure ends the cycle (the group cancelled the others): raise
            # it as itself, for a one-line message, not wrapped in an ExceptionGroup.
            raise failed.exceptions[0] from None
        if report.outcomes:
            report.outage = self._judge_outage(feeds, report.outcomes)
        report.finished = self.clock()
        return report

    def _judge_outage(self, feeds: Sequence[FeedConfig],
                      outcomes: Sequence[FeedOutcome]) -> Outage | None:
        """Record an outage of our own network, and undo the backoff it gave each feed: the
        feeds are checked again at their normal interval. A cycle that reached a feed ends it."""
        by_name = {f.name: f for f in feeds}
        previous = {o.feed: o.previous for o in outcomes}
        attempts = [Attempt(feed=o.feed, host=urlsplit(by_name[o.feed].url).hostname or "",
                            local_cause=o.local_cause) for o in outcomes]
        outages = NetworkOutages(self.store)
        ongoing = outages.ongoing()
        outage = find_outage(attempts, ongoing=ongoing is not None)
        now = self.clock()
        if outage is None:
            if ongoing is not None and reached_network(attempts):
                outages.end(now)
            return None
        with self.store.transaction():
            for name in sorted(outage.feeds):
                feed = by_name[name]
                state = previous[name] or FeedState(name=name, url=feed.display_url)
                self.store.save_feed_state(
                    feedstate.after_outage(state, now=now, interval=feed.interval))
            outages.record(cause=outage.cause, failed_feeds=outage.failed,
                           polled_feeds=outage.polled, now=now)
        return outage

    async def poll_feed_safely(self, feed: FeedConfig) -> FeedOutcome:
        """poll_feed, with a bug in handling one feed's data kept to that feed.

        Storage errors still end the cycle: if the database cannot be written, no feed can be.
        """
        try:
            return await self.poll_feed(feed)
        except (StorageError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 — recorded as that feed's failure, and logged
            log.exception("unexpected error while polling %r", feed.name)
            state = self.store.feeds.get(feed.name) or FeedState(name=feed.name,
                                                                 url=feed.display_url)
            return self._failed(feed, state, f"internal error: {type(exc).__name__}: {exc}",
                                http_status=None)

    async def poll_feed(self, feed: FeedConfig) -> FeedOutcome:
        state = self.store.feeds.get(feed.name) or FeedState(name=feed.name, url=feed.display_url)
        try:
            result = await self.fetcher.fetch(FetchRequest(
                name=feed.name, url=feed.url, etag=state.etag, last_modified=state.last_modified))
        except FetchError as exc:
            return self._failed(feed, state, str(exc), http_status=exc.status,
                                retry_after=exc.retry_after, gone=exc.gone,
                                local_cause=exc.local_cause)
        if result.not_modified or result.body is None:
            return self._unchanged(feed, state, result, "not_modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:
            # Servers without validators often resend the same bytes: parsing them is wasted work.
            return self._unchanged(feed, state, result, "unchanged")
        fetched_at = self.clock()
        try:
            parsed = await self.parser.parse(
                result.body, feed_name=feed.name, url=result.url, headers=result.headers,
                language=feed.language, fetched_at=fetched_at,
                timeout=self.polling.parse_timeout.total_seconds(),
                max_entries=self.polling.max_entries)
        except ParseError as exc:
            return self._failed(feed, state, str(exc), http_status=result.status)
        return self._store_articles(feed, state, result, parsed, body_hash)

    def _store_articles(self, feed: FeedConfig, state: FeedState, result: FetchResult,
                        parsed: ParsedFeed, body_hash: str) -> FeedOutcome:
        articles = _unique([_redacted(a, feed) for a in parsed.articles])
        known = self.store.articles.known(articles)
        new = [a for a in articles if a.id not in known]
        matches: dict[str, list[Match]] = {}
        for article in new:
            found = self.watchlist.match(article.title, article.summary, article.content)
            if found:
                matches[article.id] = found
        new_state = feedstate.after_success(
            state, now=self.clock(), interval=feed.interval, http_status=result.status,
            not_modified=False, etag=result.etag, last_modified=result.last_modified,
            body_hash=body_hash)
        warning = feed.redact(parsed.left_out) if parsed.left_out else None
        pages = [] if self.articles is None else pages_wanted(new, feed, self.articles)
        # The new hits join their stories in the same transaction as they are stored, so no hit
        # is ever committed without a story.
        with self.store.transaction():
            saved = self.store.save_feed_result(replace(new_state, warning=warning), new,
                                                matches, pages)
            inserted = set(saved.new_articles)
            hit_ids = tuple(i for i in matches if i in inserted)
            place_hits(self.store, [Hit(article=a, matches=tuple(matches[a.id])) for a in new
                                    if a.id in matches and a.id in inserted], self.stories)
        alert_ids = tuple(i for i in hit_ids
                          if any(self.watchlist.priority(m.item) == "high" for m in matches[i]))
        return FeedOutcome(feed=feed.name, status="ok", new_articles=len(inserted),
                           new_hits=saved.new_hits, hit_ids=hit_ids, alert_ids=alert_ids,
                           warning=warning, queued=tuple(p.article_id for p in pages
                                                         if p.url and p.article_id in inserted))

    def _unchanged(self, feed: FeedConfig, state: FeedState, result: FetchResult,
                   status: OutcomeStatus) -> FeedOutcome:
        new_state = feedstate.after_success(
            state, now=self.clock(), interval=feed.interval, http_status=result.status,
            not_modified=True, etag=result.etag, last_modified=result.last_modified, body_hash=None)
        self.store.save_feed_state(new_state)
        return FeedOutcome(feed=feed.name, status=status)

    def _failed(self, feed: FeedConfig, state: FeedState, error: str, *,
                http_status: int | None, retry_after: float | None = None,
                gone: bool = False, local_cause: str | None = None) -> FeedOutcome:
        error = feed.redact(error)  # a message may quote the URL, with its ${VAR} filled in
        new_state = feedstate.after_failure(
            state, now=self.clock(), interval=feed.interval,
            max_interval=self.polling.max_interval, error=error, http_status=http_status,
            retry_after=retry_after, gone=gone)
        self.store.save_feed_state(new_state)
        return FeedOutcome(feed=feed.name, status="gone" if gone else "failed", error=error,
                           local_cause=local_cause,
                           previous=state if local_cause is not None else None)


def _redacted(article: Article, feed: FeedConfig) -> Article:
    """The article without the feed URL's secrets: a private feed's links often carry its token,
    and a link resolved against the feed URL (``#top``) carries its whole query."""
    if not feed.secrets:
        return article
    url = feed.redact(article.url) if article.url else None
    canonical = feed.redact(article.canonical_url) if article.canonical_url else None
    return replace(article, url=url, canonical_url=canonical)


def _unique(articles: Sequence[Article]) -> list[Article]:
    """Drop repeats inside one feed (same id, guid or canonical URL): the first one wins."""
    seen: set[str] = set()
    unique = []
    for article in articles:
        keys = {f"id:{article.id}"}
        if article.guid:
            keys.add(f"guid:{article.guid}")
        if article.canonical_url:
            keys.add(f"url:{article.canonical_url}")
        if keys & seen:
            continue
        seen |= keys
        unique.append(article)
    return unique
