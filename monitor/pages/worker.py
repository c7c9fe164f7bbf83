"""The page worker: due rows of the queue → vetted link → robots.txt → paced, capped fetch →
main text → stored, matched, hits recorded (design §12).

Every link comes from feed content, so it is attacker-controlled: it is vetted with its feed's
address policy before anything is sent (robots.txt included), and fetched with the feed's URL
as ``feed_url`` so each connection, redirects included, is vetted too (monitor/feeds/). A row
is claimed (``fetching``) just before its request, so a page not started by a deadline or a
shutdown stays ``pending`` untouched, and one cut short is released.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from monitor.feeds import AddressPolicy, AddressRefused, FetchRequest, FetchResult
from monitor.matching import WatchList
from monitor.pages.extract import extract_page
from monitor.pages.links import looks_like_non_html
from monitor.pages.pacing import HostPacer
from monitor.pages.robots import RobotsCache, RobotsFetch, RobotsRules
from monitor.settings import ArticlesConfig, FeedConfig
from storage.errors import FetchError, StorageError
from storage.pages import PageState, PageTask
from storage.records import Hit
from storage.store import Store

log = logging.getLogger("armswatch")

HTML_TYPES = ("text/html", "application/xhtml+xml")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9"
MAX_ATTEMPTS = 3               # a page that fails for a passing reason (5xx, 429, network)
RETRY_AFTER = timedelta(minutes=10)   # ... is tried again after 10 min, then 20 min


class PageFetcher(Protocol):
    """What the worker needs of monitor.feeds.Fetcher."""

    def policy_for(self, feed_url: str) -> AddressPolicy: ...
    async def fetch(self, request: FetchRequest) -> FetchResult: ...


@dataclass
class PageReport:
    """What one run of the worker did."""

    fetched: int = 0          # requests for pages that were answered (any answer)
    bodies: int = 0           # pages that gave the article's text
    without_body: int = 0     # skipped, failed, paywalled or empty
    retrying: int = 0         # failed for now, tried again later
    left: int = 0             # not started: the deadline came, or the worker was stopped
    hit_ids: list[str] = field(default_factory=list)     # articles that became hits
    alert_ids: list[str] = field(default_factory=list)   # ... of a high-priority item

    def summary(self) -> str:
        text = (f"article pages: {self.bodies} with text, {self.without_body} without, "
                f"{self.retrying} to retry; {len(self.hit_ids)} new hits from article text")
        if self.left:
            text += f"; {self.left} left queued for later"
        return text


class PageWorker:
    """Works a list of due rows with one fetcher, one pacer and one robots.txt cache (all three
    shared by every run, so pace and robots hold across feeds and cycles)."""

    def __init__(self, *, store: Store, fetcher: PageFetcher, watchlist: WatchList,
                 feeds: Mapping[str, FeedConfig], settings: ArticlesConfig,
                 pacer: HostPacer, robots: RobotsCache,
                 clock: Callable[[], datetime],
                 on_new_hit: Callable[[Hit], None] | None = None) -> None:
        """``on_new_hit``: called inside the transaction that stores the body of an article it
        made a hit, so the service can give the hit its story (design §13) in that same
        transaction; pages come before stories, so the worker does not do it itself."""
        self.store = store
        self.fetcher = fetcher
        self.watchlist = watchlist
        self.feeds = feeds
        self.settings = settings
        self.pacer = pacer
        self.robots = robots
        self.clock = clock
        self.on_new_hit = on_new_hit

    async def work(self, tasks: Sequence[PageTask], *, deadline: float | None = None,
                   stopped: Callable[[], bool] = lambda: False,
                   on_page_done: Callable[[PageTask], None] | None = None) -> PageReport:
        """Fetch these rows' pages, ``per_host`` lanes per host, until done, the event loop's
        clock passes ``deadline`` or ``stopped()`` says so; what is not started stays queued."""
        report = PageReport()
        gate = asyncio.Semaphore(self.settings.concurrency)
        by_host: dict[str, list[PageTask]] = {}
        for task in tasks:
            by_host.setdefault(task.host, []).append(task)
        loop = asyncio.get_running_loop()

        def over() -> bool:
            return stopped() or (deadline is not None and loop.time() >= deadline)

        async def lane(queue: list[PageTask]) -> None:
            while queue:
                if over():
                    report.left += len(queue)
                    queue.clear()
                    return
                task = queue.pop(0)
                await self._page_safely(task, gate, over, report)
                if on_page_done is not None:
                    on_page_done(task)

        try:
            async with asyncio.TaskGroup() as group:
                for queue in by_host.values():
                    for _ in range(min(self.pacer.per_host, len(queue))):
                        group.create_task(lane(queue))
        except* StorageError as failed:
            raise failed.exceptions[0] from None
        return report

    async def _page_safely(self, task: PageTask, gate: asyncio.Semaphore,
                           over: Callable[[], bool], report: PageReport) -> None:
        """_page, with a bug in handling one page kept to that page (its row ends as an
        error, logged); storage errors still end the run, as no page could be stored."""
        try:
            await self._page(task, gate, over, report)
        except (StorageError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 — recorded as that page's failure, and logged
            log.exception("unexpected error with the article page %s", task.url)
            self._end(task, report, "failed", "error",
                      f"internal error: {type(exc).__name__}: {exc}")

    async def _page(self, task: PageTask, gate: asyncio.Semaphore, over: Callable[[], bool],
                    report: PageReport) -> None:
        feed = self.feeds.get(task.feed)
        if feed is None:
            self._end(task, report, "skipped", "error", "its feed is no longer configured")
            return
        try:
            # Before anything is sent, robots.txt included: the link came from feed content.
            self.fetcher.policy_for(feed.url).check(task.url)
        except AddressRefused as exc:
            self._end(task, report, "skipped", "refused address", str(exc))
            return
        if looks_like_non_html(task.url):
            self._end(task, report, "skipped", "not html", "the link is to a file, not a page")
            return
        rules = await self.robots.rules(task.url, self._robots_fetch(feed, gate))
        if not rules.allowed(task.url):
            if rules.parser is None:   # robots.txt unreachable: ask again later (RFC 9309)
                self._retry(task, report, "robots", rules.why)
            else:
                self._end(task, report, "skipped", "robots", "robots.txt disallows it")
            return
        await self._fetch_page(task, feed, rules, gate, over, report)

    async def _fetch_page(self, task: PageTask, feed: FeedConfig, rules: RobotsRules,
                          gate: asyncio.Semaphore, over: Callable[[], bool],
                          report: PageReport) -> None:
        pages = self.store.pages
        async with self.pacer.slot(task.host, delay=rules.crawl_delay, gate=gate):
            if over() or not pages.claim(task.article_id):
                report.left += 1
                return
            try:
                result = await self.fetcher.fetch(FetchRequest(
                    name=feed.name, url=task.url, feed_url=feed.url, content_types=HTML_TYPES))
            except FetchError as exc:
                report.fetched += exc.status is not None
                self._failed(task, report, exc)
                return
            except BaseException:
                pages.release(task.article_id)   # cancelled mid-fetch: pending again
                raise
        report.fetched += 1
        await self._store_page(task, result, report)

    async def _store_page(self, task: PageTask, result: FetchResult,
                          report: PageReport) -> None:
        page = await asyncio.to_thread(extract_page, result.body or b"", result.url,
                                       max_chars=self.settings.max_text)
        article = self.store.articles.get(task.article_id)
        if article is None:
            self._end(task, report, "skipped", "error", "the article is no longer stored")
            return
        text = page.text.strip()
        reason = "paywall" if page.paywalled else None if text else "empty"
        matches = self.watchlist.match(article.title, article.summary, article.content, text)
        with self.store.transaction():
            became_hit = self.store.pages.store_body(task.article_id, text, matches,
                                                     now=self.clock(), reason=reason)
            if became_hit and self.on_new_hit is not None:
                self.on_new_hit(Hit(article=replace(article, body=text), matches=tuple(matches)))
        if reason is None:
            report.bodies += 1
        else:
            report.without_body += 1
        if became_hit:
            report.hit_ids.append(task.article_id)
            if any(self.watchlist.priority(m.item) == "high" for m in matches):
                report.alert_ids.append(task.article_id)

    def _robots_fetch(self, feed: FeedConfig, gate: asyncio.Semaphore) -> RobotsFetch:
        async def fetch(url: str, etag: str | None, last_modified: str | None
                        ) -> tuple[bytes | None, str | None, str | None]:
            host = (urlsplit(url).hostname or "").lower()
            async with self.pacer.slot(host, gate=gate):
                result = await self.fetcher.fetch(FetchRequest(
                    name=feed.name, url=url, feed_url=feed.url, etag=etag,
                    last_modified=last_modified))
            body = None if result.not_modified else result.body or b""
            return body, result.etag, result.last_modified
        return fetch

    def _failed(self, task: PageTask, report: PageReport, exc: FetchError) -> None:
        if exc.refused is not None:
            self._end(task, report, "skipped", exc.refused, str(exc))
        elif exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
            self._end(task, report, "failed", "http status", str(exc), http_status=exc.status)
        elif task.attempts + 1 < MAX_ATTEMPTS:
            self._retry(task, report, "http status" if exc.status else "error", str(exc),
                        http_status=exc.status, after=exc.retry_after)
        else:
            self._end(task, report, "failed", "http status" if exc.status else "error",
                      str(exc), http_status=exc.status)

    def _retry(self, task: PageTask, report: PageReport, reason: str, detail: str, *,
               http_status: int | None = None, after: float | None = None) -> None:
        wait = RETRY_AFTER * 2 ** task.attempts
        if after is not None:
            wait = max(wait, timedelta(seconds=min(after, 86400)))
        now = self.clock()
        self.store.pages.finish_without_body(task.article_id, state="pending", reason=reason,
                                             detail=detail, http_status=http_status, now=now,
                                             retry_at=now + wait)
        report.retrying += 1

    def _end(self, task: PageTask, report: PageReport, state: PageState, reason: str,
             detail: str, *, http_status: int | None = None) -> None:
        self.store.pages.finish_without_body(task.article_id, state=state, reason=reason,
                                             detail=detail, http_status=http_status,
                                             now=self.clock())
        report.without_body += 1
