"""`armswatch run`: APScheduler 3.11 drives the poll tick until SIGTERM or SIGINT.

Jobs live in memory and are rebuilt from the config at start (design §11): several processes cannot
share an APScheduler job store, and per-feed schedules are kept in our own ``feeds`` table anyway.
The tick itself is cheap when nothing is due: it only reads the feeds table.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.pipeline import PollReport, utcnow

log = logging.getLogger("armswatch")

# A tick that starts late (a slow previous cycle, a suspended laptop) still runs; without this,
# APScheduler's default grace of 1 s silently drops it.
MISFIRE_GRACE = 120
SHUTDOWN_GRACE = 10.0


def tick_interval(feed_intervals: list[timedelta]) -> timedelta:
    """How often to look for due feeds: the shortest feed interval, between 1 s and 60 s."""
    shortest = min(feed_intervals, default=timedelta(seconds=60))
    return max(timedelta(seconds=1), min(shortest, timedelta(seconds=60)))


class PollService:
    """Runs ``poll_due`` on a tick, one cycle at a time, and stops cleanly."""

    def __init__(self, poll_due: Callable[[], Awaitable[PollReport]], *, tick: timedelta) -> None:
        self._poll_due = poll_due
        self._tick = tick
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._inflight: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        self._scheduler.add_job(
            self._start_cycle, IntervalTrigger(seconds=self._tick.total_seconds()),
            id="poll", next_run_time=utcnow(), misfire_grace_time=MISFIRE_GRACE,
            coalesce=True, max_instances=1)
        self._scheduler.start()
        log.info("armswatch running: looking for due feeds every %s s; Ctrl-C stops",
                 int(self._tick.total_seconds()))
        try:
            await self._stop.wait()
        finally:
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def stop(self) -> None:
        self._stop.set()

    async def _start_cycle(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            return  # the previous cycle is still running; the next tick will look again
        # A task of our own, not the scheduler's, so that shutdown can wait for it instead of
        # having AsyncIOScheduler cancel it mid-write.
        self._inflight = asyncio.create_task(self._cycle())

    async def _cycle(self) -> None:
        try:
            report = await self._poll_due()
        except Exception as exc:  # noqa: BLE001 — the service must outlive any one cycle
            log.error("poll failed: %s", exc)
            return
        if report.outcomes:
            log.info("poll: %s", report.summary())
        for failure in report.failures:
            log.warning("feed %r failed: %s", failure.feed, failure.error)

    async def _shutdown(self) -> None:
        self._scheduler.pause()
        if self._inflight is not None and not self._inflight.done():
            log.info("stopping: waiting up to %.0f s for the running poll", SHUTDOWN_GRACE)
            try:
                await asyncio.wait_for(asyncio.shield(self._inflight), SHUTDOWN_GRACE)
            except TimeoutError:
                self._inflight.cancel()
                log.warning("stopping: the running poll was cut short")
        self._scheduler.shutdown(wait=False)
        log.info("armswatch stopped")
