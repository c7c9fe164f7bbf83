"""`armswatch run`: APScheduler 3.11 drives the poll tick and each channel's digest until SIGTERM
or SIGINT.

Jobs live in memory and are rebuilt from the config at start (design §11): several processes cannot
share an APScheduler job store, and per-feed schedules are kept in our own ``feeds`` table anyway.
The poll tick itself is cheap when nothing is due: it only reads the feeds table.
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
from monitor.pipeline import PollReport, utcnow

log = logging.getLogger("armswatch")

# A job that starts late (a slow previous cycle, a suspended laptop) still runs; without this,
# APScheduler's default grace of 1 s silently drops it.
MISFIRE_GRACE = 300
SHUTDOWN_GRACE = 10.0
RETRY_EVERY = timedelta(minutes=5)


class Service(Protocol):
    """What the scheduler drives: monitor.service.Monitor."""

    async def poll_due(self) -> PollReport: ...
    async def deliver_digest(self, channel: ChannelConfig) -> Any: ...
    async def retry_digests(self) -> Any: ...


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

    def __init__(self, service: Service, *, tick: timedelta,
                 channels: Sequence[ChannelConfig] = ()) -> None:
        self._service = service
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        options: dict[str, Any] = {"misfire_grace_time": MISFIRE_GRACE, "coalesce": True,
                                   "max_instances": 1}
        self._scheduler.add_job(self._start, IntervalTrigger(seconds=tick.total_seconds()),
                                args=("poll", self._poll), id="poll", next_run_time=utcnow(),
                                **options)
        for channel in channels:
            self._scheduler.add_job(self._start, channel_trigger(channel),
                                    args=(f"digest:{channel.name}", self._digest(channel)),
                                    id=f"digest:{channel.name}", **options)
        if channels:
            self._scheduler.add_job(self._start, IntervalTrigger(seconds=RETRY_EVERY.seconds),
                                    args=("retry", self._retry), id="retry", **options)
        self._tick = tick

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        self._scheduler.start()
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
        report = await self._service.poll_due()
        if report.outcomes:
            log.info("poll: %s", report.summary())
        for failure in report.failures:
            log.warning("feed %r failed: %s", failure.feed, failure.error)

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
