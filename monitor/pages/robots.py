"""robots.txt (RFC 9309), read with protego (its one owner), fetched through our own Fetcher and
cached per origin.

What a fetch of robots.txt says (RFC 9309 §2.3.1):
- 2xx: its rules, for our product token ``Armswatch``; ``Crawl-delay`` is kept, and the pacer
  waits that long between requests when it is longer than our own delay;
- 4xx (none published, or forbidden to read): everything allowed;
- 5xx or no answer (unreachable, timed out, refused address): everything disallowed for now,
  asked again after ``RETRY_AFTER_ERROR``.
A cached answer is used for ``KEEP`` (a day, the RFC's upper bound).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from protego import Protego

from storage.errors import FetchError

PRODUCT_TOKEN = "Armswatch"
KEEP = timedelta(hours=24)
RETRY_AFTER_ERROR = timedelta(minutes=30)
MAX_CRAWL_DELAY = 60.0   # seconds; a larger Crawl-delay is read as this (the host is still paced)

RobotsFetch = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True)
class RobotsRules:
    """What one origin's robots.txt allows us."""

    parser: Protego | None       # None: no rules (allow_all says what that means)
    allow_all: bool
    crawl_delay: float | None = None
    why: str = ""                # for a refusal without rules: why everything is disallowed

    def allowed(self, url: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, PRODUCT_TOKEN))


def parse_robots(body: bytes) -> RobotsRules:
    """The rules a robots.txt body gives our product token. Pure."""
    parser = Protego.parse(body.decode("utf-8", "replace"))
    delay = parser.crawl_delay(PRODUCT_TOKEN)
    return RobotsRules(parser=parser, allow_all=True,
                       crawl_delay=None if delay is None else min(float(delay), MAX_CRAWL_DELAY))


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


class RobotsCache:
    """robots.txt per origin (scheme, host, port), each fetched once while it is fresh.

    ``fetch`` gets the robots.txt URL and returns its body or raises FetchError; the page worker
    gives one that goes through the host's pacing, so robots.txt is one polite request too.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._rules: dict[str, tuple[RobotsRules, datetime]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str, fetch: RobotsFetch) -> RobotsRules:
        origin = robots_url(url)
        cached = self._fresh(origin)
        if cached is not None:
            return cached
        # One fetch per origin, however many pages of it are waiting.
        async with self._locks.setdefault(origin, asyncio.Lock()):
            cached = self._fresh(origin)
            if cached is not None:
                return cached
            rules, keep = await self._fetch(origin, fetch)
            self._rules[origin] = (rules, self._clock() + keep)
            return rules

    def _fresh(self, origin: str) -> RobotsRules | None:
        found = self._rules.get(origin)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    async def _fetch(self, origin: str, fetch: RobotsFetch) -> tuple[RobotsRules, timedelta]:
        try:
            body = await fetch(origin)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return RobotsRules(parser=None, allow_all=True), KEEP
            why = f"robots.txt could not be read ({exc})"
            return RobotsRules(parser=None, allow_all=False, why=why), RETRY_AFTER_ERROR
        return parse_robots(body), KEEP
