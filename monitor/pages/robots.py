"""robots.txt (RFC 9309), read with protego (its one owner), fetched through our own Fetcher and
cached per origin.

What a fetch of robots.txt says (RFC 9309 §2.3.1):
- 2xx: its rules, for our product token ``Armswatch``; ``Crawl-delay`` is kept, and the pacer
  waits that long between requests when it is longer than our own delay;
- 4xx (none published, or forbidden to read): everything allowed;
- 5xx or no answer (unreachable, timed out, refused address): everything disallowed for now,
  asked again after ``RETRY_AFTER_ERROR``.
A cached answer is used for ``KEEP`` (a day, the RFC's upper bound); then it is asked for again
with its ETag and Last-Modified, and a 304 keeps the rules for another day.
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

# (url, etag, last_modified) → (body, or None when not modified; etag; last_modified)
RobotsFetch = Callable[[str, str | None, str | None],
                       Awaitable[tuple[bytes | None, str | None, str | None]]]


@dataclass(frozen=True)
class _Cached:
    rules: RobotsRules
    until: datetime
    etag: str | None = None
    last_modified: str | None = None


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
        self._rules: dict[str, _Cached] = {}
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
            fetched = await self._fetch(origin, fetch, self._rules.get(origin))
            self._rules[origin] = fetched
            return fetched.rules

    def _fresh(self, origin: str) -> RobotsRules | None:
        found = self._rules.get(origin)
        if found is None or found.until <= self._clock():
            return None
        return found.rules

    async def _fetch(self, origin: str, fetch: RobotsFetch, stale: _Cached | None) -> _Cached:
        now = self._clock()
        # Only rules read from a robots.txt are asked for conditionally.
        known = stale if stale is not None and stale.rules.parser is not None else None
        try:
            body, etag, modified = await fetch(
                origin, None if known is None else known.etag,
                None if known is None else known.last_modified)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return _Cached(RobotsRules(parser=None, allow_all=True), now + KEEP)
            why = f"robots.txt could not be read ({exc})"
            return _Cached(RobotsRules(parser=None, allow_all=False, why=why),
                           now + RETRY_AFTER_ERROR)
        if body is None and known is not None:   # 304: the rules still hold
            return _Cached(known.rules, now + KEEP, etag, modified)
        return _Cached(parse_robots(body or b""), now + KEEP, etag, modified)
