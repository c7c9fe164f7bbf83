"""Politeness per host, held across feeds and cycles: at most ``per_host`` requests to one host
at a time, and their starts at least ``delay`` apart (robots.txt's Crawl-delay when longer).

One ``HostPacer`` lives as long as the process (the Monitor owns it), so two feeds linking to
one publisher, or two poll cycles, share its pace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostPacer:
    def __init__(self, *, per_host: int, delay: float) -> None:
        if per_host < 1 or delay < 0:
            raise ValueError("per_host must be at least 1 and delay not negative")
        self.per_host = per_host
        self.delay = delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._turns: dict[str, asyncio.Lock] = {}
        self._next_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, host: str, *, delay: float | None = None,
                   gate: asyncio.Semaphore | None = None) -> AsyncIterator[None]:
        """Hold one of the host's connections; entered no sooner than the pace allows.

        ``delay``: the host's own (robots.txt Crawl-delay), used when longer than ours.
        ``gate``: a limit shared by every host (the worker's concurrency), taken after the
        wait, so no global slot sleeps on one host's pace, and the next start is counted from
        the moment this one really starts.
        """
        host = host.lower()
        spacing = max(self.delay, delay or 0.0)
        loop = asyncio.get_running_loop()
        async with self._slots.setdefault(host, asyncio.Semaphore(self.per_host)):
            # Taking turns: one waiter at a time reserves the next start, so starts stay
            # ``spacing`` apart even when two connections are free.
            async with self._turns.setdefault(host, asyncio.Lock()):
                wait = self._next_start.get(host, 0.0) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if gate is not None:
                    await gate.acquire()
                self._next_start[host] = loop.time() + spacing
            try:
                yield
            finally:
                if gate is not None:
                    gate.release()

    def ready_in(self, host: str) -> float:
        """Seconds until the host's next request may start (0 when it may now)."""
        loop = asyncio.get_running_loop()
        return max(0.0, self._next_start.get(host.lower(), 0.0) - loop.time())
