"""`armswatch run`: APScheduler 3.11 drives the poll tick and each channel's digest until SIGTERM
or SIGINT.

Jobs live in memory and are rebuilt from the config at start (design §11): several processes cannot
share an APScheduler job store, and per-feed schedules are kept in our own ``feeds`` table anyway.
The poll tick itself is cheap when nothing is due: it reads the feeds table, and writes to it
only when the configured feeds changed (a new feed, a new URL).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.config import ChannelConfig
from monitor.poll import PollReport, utcnow
from monitor.settings import Config

log = logging.getLogger("armswatch")

# A job that starts late (a slow previous cycle, a suspended laptop) still runs; without this,
# APScheduler's default grace of 1 s silently drops it.
MISFIRE_GRACE = 300
SHUTDOWN_GRACE = 10.0
RETRY_EVERY = timedelta(minutes=5)
JOB_OPTIONS: dict[str, Any] = {"misfire_grace_time": MISFIRE_GRACE, "coalesce": True,
                               "max_instances": 1}


class Service(Protocol):
    """What the scheduler drives: monitor.service.monitor.Monitor."""

    @property
    def config(self) -> Config: ...
    async def reload_config(self) -> bool: ...
    async def poll_due(self) -> PollReport: ...
    async def deliver_digest(self, channel: ChannelConfig) -> Any: ...
    async def retry_digests(self) -> Any: ...
    async def work_pages(self, stop: asyncio.Event) -> None: ...


def poll_fields(report: PollReport) -> dict[str, Any]:
    return {"event": "poll", "feeds": len(report.outcomes), "ok": report.count("ok"),
            "not_modified": report.count("not_modified", "unchanged"),
            "failed": report.count("failed", "gone"), "new_articles": report.new_articles,
            "new_hits": report.new_hits, "duration": round(report.duration, 3)}


def tick_interval(feed_intervals: Sequence[timedelta]) -> timedelta:
    """How often to look for due feeds: the shortest feed interval, between 1 s and 60 s."""
    shortest = min(feed_intervals, default=timedelta(seconds=60))
    return max(timedelta(seconds=1), min(shortest, timedelta(seconds=60)))


def channel_trigger(channel: ChannelConfig) -> CronTrigger:
    # The config loader has already turned cron weekday numbers into names (APScheduler counts
    # Monday as 0 where cron counts Sunday).
    return CronTrigger.from_crontab(channel.schedule, timezone=channel.timezone)


class Scheduler:
    """Runs the service's jobs, each at most one at a time, and stops cleanly."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._tick = tick_interval([f.interval for f in service.config.feeds])
        self._channels: dict[str, ChannelConfig] = {}
        self._scheduler.add_job(self._start, IntervalTrigger(seconds=self._tick.total_seconds()),
                                args=("poll", self._poll), id="poll", next_run_time=utcnow(),
                                **JOB_OPTIONS)
        self._scheduler.add_job(self._start, IntervalTrigger(seconds=RETRY_EVERY.seconds),
                                args=("retry", self._retry), id="retry", **JOB_OPTIONS)
        self._sync_channels(service.config.channels)

    def _sync_channels(self, channels: Sequence[ChannelConfig]) -> None:
        """One cron job per channel: added, replaced or removed to match the config."""
        wanted = {c.name: c for c in channels}
        for name in set(self._channels) - set(wanted):
            self._scheduler.remove_job(f"digest:{name}")
        for name, channel in wanted.items():
            if self._channels.get(name) == channel:
                continue
            self._scheduler.add_job(self._start, channel_trigger(channel),
                                    args=(f"digest:{name}", self._digest(channel)),
                                    id=f"digest:{name}", replace_existing=True, **JOB_OPTIONS)
        self._channels = wanted

    def _sync_tick(self) -> None:
        tick = tick_interval([f.interval for f in self._service.config.feeds])
        if tick != self._tick:
            self._tick = tick
            self._scheduler.reschedule_job("poll", trigger=IntervalTrigger(
                seconds=tick.total_seconds()))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        self._scheduler.start()
        # Article pages are their own task beside the jobs: a poll never waits for them.
        self._running["pages"] = asyncio.create_task(
            self._guarded("pages", lambda: self._service.work_pages(self._stop)))
        log.info("armswatch running: looking for due feeds every %d s; Ctrl-C stops",
                 int(self._tick.total_seconds()))
        try:
            await self._stop.wait()
        finally:
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def stop(self) -> None:
        self._stop.set()

    async def _start(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        running = self._running.get(name)
        if running is not None and not running.done():
            return  # still at work from last time; the next trigger will look again
        # A task of our own, not the scheduler's, so that shutdown can wait for it instead of
        # having AsyncIOScheduler cancel it mid-write.
        self._running[name] = asyncio.create_task(self._guarded(name, job))

    async def _guarded(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 — the service must outlive any one job
            log.error("%s failed: %s", name, exc)

    async def _poll(self) -> None:
        if await self._service.reload_config():
            self._sync_channels(self._service.config.channels)
            self._sync_tick()
        report = await self._service.poll_due()
        for failure in report.own_failures:
            log.warning("feed %r failed: %s", failure.feed, failure.error,
                        extra={"fields": {"event": "feed_failed", "feed": failure.feed,
                                          "error": failure.error}})
        for read in report.warnings:
            log.warning("feed %r: %s", read.feed, read.warning,
                        extra={"fields": {"event": "feed_warning", "feed": read.feed,
                                          "warning": read.warning}})
        if report.outage is not None:
            # One line for the cycle, not one per feed: the network failed, not the feeds.
            log.warning("%s", report.outage.line(), extra={"fields": {
                **poll_fields(report), "event": "outage", "cause": report.outage.cause}})
        elif report.outcomes:
            log.info("poll: %s", report.summary(), extra={"fields": poll_fields(report)})

    def _digest(self, channel: ChannelConfig) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            await self._service.deliver_digest(channel)
        return job

    async def _retry(self) -> None:
        await self._service.retry_digests()

    async def _shutdown(self) -> None:
        self._scheduler.pause()
        busy = [t for t in self._running.values() if not t.done()]
        if busy:
            log.info("stopping: waiting up to %.0f s for running work", SHUTDOWN_GRACE)
            _, late = await asyncio.wait(busy, timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
            if late:
                log.warning("stopping: %d job(s) cut short", len(late))
        self._scheduler.shutdown(wait=False)
        log.info("armswatch stopped")
