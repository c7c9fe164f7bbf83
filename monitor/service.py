"""The monitor's running parts opened together — store, watch list, fetcher, parser pool — and
the operations the CLI and the scheduler call on them. Job functions stay one line: the logic
is here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from alerts.config import ChannelConfig
from alerts.report import DeliveryReport
from monitor.dispatch import deliver, log_reports, retry_due, send_alerts
from monitor.fetch import Fetcher
from monitor.match import WatchList
from monitor.parse import ParserPool
from monitor.pipeline import FeedOutcome, Poller, PollReport, due_feeds, utcnow
from monitor.settings import Config, FeedConfig
from storage.errors import ConfigError
from storage.store import Store


class Monitor:
    """Used as ``async with Monitor(config) as monitor: await monitor.poll_due()``."""

    def __init__(self, config: Config, *, db_path: Path | None = None) -> None:
        self.config = config
        self.db_path = db_path or config.storage.path
        self.watchlist = WatchList(config.watch)
        self._store: Store | None = None
        self._fetcher: Fetcher | None = None
        self._parser: ParserPool | None = None

    async def __aenter__(self) -> Monitor:
        self._store = Store.open(self.db_path)
        polling = self.config.polling
        try:
            self._fetcher = Fetcher(
                concurrency=polling.concurrency, per_host=polling.per_host,
                timeout=polling.timeout.total_seconds(), max_body=polling.max_body,
                max_redirects=polling.max_redirects, user_agent=polling.user_agent)
            await self._fetcher.__aenter__()
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
                      fetcher=self._fetcher, parser=self._parser)

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
        self.store.feeds.sync((f.name, f.url) for f in feeds)
        return due_feeds(feeds, self.store, utcnow())

    async def poll(self, feeds: Sequence[FeedConfig], *,
                   on_feed_done: Callable[[FeedOutcome], None] | None = None) -> PollReport:
        return await self.poller().poll(feeds, on_feed_done=on_feed_done)

    async def poll_due(self) -> PollReport:
        report = await self.poll(self.select_feeds())
        await self.send_alerts(report)
        return report

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
