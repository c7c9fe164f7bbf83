"""The monitor's running parts opened together — store, watch list, fetcher, parser pool — and
the operations the CLI and the scheduler call on them. Job functions stay one line: the logic
is here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from alerts.config import ChannelConfig
from alerts.report import DeliveryReport
from monitor.feeds import Fetcher, ParserPool
from monitor.matching import WatchList, backfill
from monitor.pages import PAGE_ACCEPT, HostPacer, PageReport, PageWorker, RobotsCache
from monitor.poll import FeedOutcome, Poller, PollReport, due_feeds, utcnow
from monitor.service.dispatch import deliver, log_reports, retry_due, send_alerts
from monitor.settings import (
    CONFIG_FILES,
    ArticlesConfig,
    Config,
    FeedConfig,
    PollingConfig,
    WatchItem,
    format_duration,
    load_config,
)
from monitor.stories import place_hits, place_unplaced, rules_for
from storage.errors import ConfigError, StorageError
from storage.pages import PageTask
from storage.records import Hit
from storage.store import Store

log = logging.getLogger("armswatch")

ConfigStamp = tuple[tuple[int, int], ...]
RETENTION_EVERY = timedelta(hours=1)   # how often the service clears old text, at most
PAGE_BATCH = 5_000          # rows the page worker takes from the queue at a time
PAGE_ROUND = 60.0           # seconds `run` gives one batch; what is not started waits a round
PAGE_IDLE = 5.0             # seconds `run` waits for new pages when the queue has none due


def config_stamp(directory: Path) -> ConfigStamp:
    """(mtime, size) of each config file: a cheap way to notice an edit."""
    stamp = []
    for name in CONFIG_FILES:
        try:
            info = (directory / name).stat()
            stamp.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((0, 0))
    return tuple(stamp)


class Monitor:
    """Used as ``async with Monitor(config) as monitor: await monitor.poll_due()``."""

    def __init__(self, config: Config, *, db_path: Path | None = None) -> None:
        self.config = config
        self._db_override = db_path
        self.db_path = db_path or config.storage.path
        self.watchlist = WatchList(config.watch)
        self._stamp = config_stamp(config.directory)
        self._store: Store | None = None
        self._text_pruned: datetime | None = None
        self._fetcher: Fetcher | None = None
        self._parser: ParserPool | None = None
        # Article pages (design §12): their own fetcher (HTML, the [articles] limits and
        # User-Agent) and a pacer and robots.txt cache that last as long as the process.
        self._page_fetcher: Fetcher | None = None
        self._pacer = HostPacer(per_host=config.articles.per_host,
                                delay=config.articles.delay.total_seconds())
        self._robots = RobotsCache(utcnow)
        self._pages_queued = asyncio.Event()
        self._recovered = False     # rows a killed process left 'fetching' put back, once

    async def __aenter__(self) -> Monitor:
        self._store = Store.open(self.db_path)
        try:
            self._fetcher = await _open_fetcher(self.config.polling)
            self._parser = ParserPool()
            self._parser.__enter__()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._parser is not None:
            self._parser.__exit__(None, None, None)
            self._parser = None
        if self._fetcher is not None:
            await self._fetcher.__aexit__(None, None, None)
            self._fetcher = None
        if self._page_fetcher is not None:
            await self._page_fetcher.__aexit__(None, None, None)
            self._page_fetcher = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> Store:
        assert self._store is not None, "Monitor used outside 'async with'"
        return self._store

    def poller(self) -> Poller:
        assert self._fetcher is not None and self._parser is not None
        return Poller(store=self.store, watchlist=self.watchlist, polling=self.config.polling,
                      stories=rules_for(self.config.stories),
                      fetcher=self._fetcher, parser=self._parser, articles=self.config.articles)

    # -- live configuration ------------------------------------------------------------------
    async def reload_config(self) -> bool:
        """Load the config again if a file changed; True when a new config is in force.

        An invalid edit is logged with the messages `armswatch check` prints, and the last
        good config stays in force.
        """
        stamp = config_stamp(self.config.directory)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            new = load_config(self.config.directory)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config: %s", problem)
            log.error("config: the edit is not applied; the last good config stays in force")
            return False
        await self._apply(new)
        return True

    async def _apply(self, new: Config) -> None:
        old = self.config
        if new.polling != old.polling and self._fetcher is not None:
            # Limits and timeouts live in the fetcher: swap it between cycles.
            fetcher = await _open_fetcher(new.polling)
            await self._fetcher.__aexit__(None, None, None)
            self._fetcher = fetcher
        if new.articles != old.articles:
            # The pacer and the page fetcher are shared by pages in flight.
            log.warning("config: [articles] changed; restart Armswatch to apply it")
        if new.storage.path != old.storage.path and self._db_override is None:
            log.warning("config: storage.path changed; restart Armswatch to use %s",
                        new.storage.path)
        self.config = new
        self.watchlist = WatchList(new.watch)
        for warning in new.warnings:
            log.warning("config: %s", warning)
        log.info("config reloaded: %d feeds, %d watch items, %d channels", len(new.feeds),
                 len(new.watch), len(new.channels),
                 extra={"fields": {"event": "config", "feeds": len(new.feeds),
                                   "watch_items": len(new.watch),
                                   "channels": len(new.channels)}})
        self._backfill(old.watch, new)

    def _backfill(self, old: Sequence[WatchItem], new: Config) -> None:
        """Items the reload added or changed reach back over ``[matching] backfill`` (design
        §14): one log line per item. What they find is marked as backfilled, so it never goes
        out as an immediate alert and a digest sums it up in one line per item."""
        window = new.matching.backfill
        before = {item.name: item for item in old}
        changed = [item for item in new.watch if before.get(item.name) != item]
        if not changed or not window or self._store is None:
            return
        now = utcnow()
        run = backfill(self.store, changed, since=now - window, now=now)
        place_unplaced(self.store, rules_for(new.stories),   # the new hits join stories
                       among=[a.id for p in run.plans for a in p.gained])
        for plan in run.plans:
            state = "new" if plan.item.name not in before else "changed"
            log.info("backfill: %s watch item %s matched %d stored articles (%d new matches) "
                     "published in the last %s", state, plan.item.name, len(plan.gained),
                     plan.new_matches, format_duration(window),
                     extra={"fields": {"event": "backfill", "item": plan.item.name,
                                       "state": state, "articles": len(plan.gained),
                                       "matches": plan.new_matches,
                                       "window_seconds": int(window.total_seconds())}})

    # -- polling -----------------------------------------------------------------------------
    def select_feeds(self, names: Sequence[str] = (), *, every: bool = False) -> list[FeedConfig]:
        """The feeds to poll: those named, every feed, or (default) those that are due."""
        feeds = list(self.config.feeds)
        if names:
            by_name = {f.name.casefold(): f for f in feeds}
            unknown = [n for n in names if n.casefold() not in by_name]
            if unknown:
                known = ", ".join(f.name for f in feeds) or "none"
                raise ConfigError([f"--feed: no feed named {n!r} (feeds: {known})"
                                   for n in unknown])
            return [by_name[n.casefold()] for n in names]
        if every:
            return feeds
        return due_feeds(feeds, self.store, utcnow())

    async def poll(self, feeds: Sequence[FeedConfig], *,
                   on_feed_done: Callable[[FeedOutcome], None] | None = None) -> PollReport:
        return await self.poller().poll(feeds, on_feed_done=on_feed_done)

    async def poll_due(self) -> PollReport:
        report = await self.poll(self.select_feeds())
        if report.queued:
            self._pages_queued.set()
        await self.send_alerts(report)
        now = utcnow()
        if self._text_pruned is None or now - self._text_pruned >= RETENTION_EVERY:
            self.prune_text(now)
        return report

    def prune_text(self, now: datetime) -> int:
        """``[storage] keep_text``: the text of older articles that matched nothing is cleared
        (hits keep theirs); one log line when there was any. Returns how many were cleared."""
        self._text_pruned = now
        keep = self.config.storage.keep_text
        if not keep:
            return 0
        cleared = self.store.articles.clear_text(now - keep)
        if cleared:
            log.info("retention: cleared the text of %d articles older than %s that matched no "
                     "watch item", cleared, format_duration(keep),
                     extra={"fields": {"event": "retention", "articles": cleared}})
        return cleared

    # -- article pages -----------------------------------------------------------------------
    async def page_worker(self) -> PageWorker:
        """The worker, its fetcher opened on first use: commands that fetch no page never
        load a second CA bundle."""
        if self._page_fetcher is None:
            self._page_fetcher = await _open_page_fetcher(self.config.polling,
                                                          self.config.articles)
        return PageWorker(store=self.store, fetcher=self._page_fetcher,
                          watchlist=self.watchlist,
                          feeds={f.name: f for f in self.config.feeds},
                          settings=self.config.articles, pacer=self._pacer,
                          robots=self._robots, clock=utcnow, on_new_hit=self._place_hit)

    def _place_hit(self, hit: Hit) -> None:
        """A hit found in an article's page joins its story, in the transaction storing it."""
        place_hits(self.store, [hit], rules_for(self.config.stories))

    async def fetch_pages(self, first: Sequence[str] = (), *, budget: timedelta,
                          stopped: Callable[[], bool] = lambda: False,
                          on_page_done: Callable[[PageTask], None] | None = None
                          ) -> PageReport:
        """Work the due pages of the queue (``first`` before the others) for at most
        ``budget``; what is not started stays queued. High-priority hits found in article
        text go out at once, like a poll's."""
        deadline = asyncio.get_running_loop().time() + budget.total_seconds()
        self._recover()
        tasks = self.store.pages.due(utcnow(), limit=PAGE_BATCH, first=first)
        if not tasks:
            return PageReport()
        worker = await self.page_worker()
        report = await worker.work(tasks, deadline=deadline, stopped=stopped,
                                   on_page_done=on_page_done)
        if report.alert_ids:
            await send_alerts(self.db_path, self.config.channels, self.config.watch,
                              report.alert_ids)
        return report

    def due_pages(self) -> int:
        """How many pages the next ``fetch_pages`` takes on (for a progress bar)."""
        self._recover()
        return min(self.store.pages.due_count(utcnow()), PAGE_BATCH)

    def _recover(self) -> None:
        """Once per process, before the queue is first read: rows a killed process left
        'fetching' are pending again."""
        if not self._recovered:
            self.store.pages.recover()
            self._recovered = True

    async def work_pages(self, stop: asyncio.Event) -> None:
        """`run`'s page task: rounds over the due queue until ``stop`` is set, waiting for a
        poll to queue more when none is due. Polls never wait for it."""
        while not stop.is_set():
            self._pages_queued.clear()
            try:
                report = await self.fetch_pages(budget=timedelta(seconds=PAGE_ROUND),
                                                stopped=stop.is_set)
            except StorageError as exc:   # a locked or full database: try again in a while
                log.error("article pages: %s", exc)
                report = PageReport()
            if report.fetched or report.without_body:
                log.info("%s", report.summary(), extra={"fields": {
                    "event": "pages", "bodies": report.bodies,
                    "without_body": report.without_body, "retrying": report.retrying,
                    "left": report.left, "new_hits": len(report.hit_ids)}})
            elif not stop.is_set():
                waits = [asyncio.ensure_future(stop.wait()),
                         asyncio.ensure_future(self._pages_queued.wait())]
                await asyncio.wait(waits, timeout=PAGE_IDLE,
                                   return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()

    # -- digests -----------------------------------------------------------------------------
    async def send_alerts(self, report: PollReport) -> list[DeliveryReport]:
        """High-priority hits go out in the poll that found them, to channels that opt in."""
        return await send_alerts(self.db_path, self.config.channels, self.config.watch,
                                 report.alert_ids)

    async def deliver_digest(self, channel: ChannelConfig) -> list[DeliveryReport]:
        reports = await asyncio.to_thread(deliver, self.db_path, [channel], self.config.watch)
        log_reports(reports)
        return reports

    async def retry_digests(self) -> list[DeliveryReport]:
        reports = await asyncio.to_thread(retry_due, self.db_path, self.config.channels,
                                          self.config.watch)
        log_reports(reports)
        return reports


async def _open_fetcher(polling: PollingConfig) -> Fetcher:
    fetcher = Fetcher(
        concurrency=polling.concurrency, per_host=polling.per_host,
        timeout=polling.timeout.total_seconds(), max_body=polling.max_body,
        max_redirects=polling.max_redirects, user_agent=polling.user_agent,
        allow_private_addresses=polling.allow_private_addresses)
    await fetcher.__aenter__()
    return fetcher


async def _open_page_fetcher(polling: PollingConfig, articles: ArticlesConfig) -> Fetcher:
    """The article pages' fetcher: the [articles] limits, HTML asked for, and the same
    private-address allowances as feeds (a link is vetted by its own feed's policy)."""
    fetcher = Fetcher(
        concurrency=articles.concurrency, per_host=articles.per_host,
        timeout=articles.timeout.total_seconds(), max_body=articles.max_page,
        max_redirects=polling.max_redirects, user_agent=articles.user_agent,
        allow_private_addresses=polling.allow_private_addresses, accept=PAGE_ACCEPT)
    await fetcher.__aenter__()
    return fetcher
