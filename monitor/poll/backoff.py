"""How a feed's remembered state changes after each fetch: pure functions of the old state and now.

Kept apart from the pipeline so the backoff rules can be tested without a network.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from storage.records import FeedState

# Retry-After values beyond this are treated as this: a hostile or confused server must not
# park a feed for months.
MAX_RETRY_AFTER = timedelta(days=1)


def after_success(state: FeedState, *, now: datetime, interval: timedelta, http_status: int,
                  not_modified: bool, etag: str | None, last_modified: str | None,
                  body_hash: str | None) -> FeedState:
    """The state after a fetch that returned a usable answer (200 with a feed, or 304)."""
    return replace(
        state,
        status="not_modified" if not_modified else "ok",
        http_status=http_status,
        etag=etag if etag is not None else state.etag,
        last_modified=last_modified if last_modified is not None else state.last_modified,
        body_hash=body_hash if body_hash is not None else state.body_hash,
        error=None,
        error_count=0,
        failing_since=None,
        last_checked=now,
        last_success=now,
        next_check=now + interval,
    )


def after_failure(state: FeedState, *, now: datetime, interval: timedelta, max_interval: timedelta,
                  error: str, http_status: int | None = None, retry_after: float | None = None,
                  gone: bool = False, rng: random.Random | None = None) -> FeedState:
    """The state after a failed fetch or parse: exponential backoff with jitter, never a give-up.

    A feed that answered 410 Gone is marked ``gone`` and no longer polled on schedule.
    """
    count = state.error_count + 1
    delay = failure_delay(count, interval=interval, max_interval=max_interval, rng=rng)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return replace(
        state,
        status="gone" if gone else "failed",
        http_status=http_status,
        error=error,
        error_count=count,
        failing_since=state.failing_since or now,
        last_checked=now,
        next_check=now + delay,
    )


def failure_delay(count: int, *, interval: timedelta, max_interval: timedelta,
                  rng: random.Random | None = None) -> timedelta:
    """interval × 2^(count-1), capped at max (never below interval), with ±20 % jitter.

    Jitter spreads the retries of feeds that failed together (one host down) so they do not return
    in one burst.
    """
    cap = max(interval, max_interval)
    base = min(interval * (2 ** min(count - 1, 20)), cap)
    jitter: float = (rng or random).uniform(0.8, 1.2)
    delay: timedelta = base * jitter
    return min(delay, cap)


def after_outage(state: FeedState, *, now: datetime, interval: timedelta) -> FeedState:
    """The state after a fetch that failed because the monitor's own network was down
    (monitor/poll/outage.py): as if the feed had not been tried — its status, error and count
    of failures stay as they were — and checked again at its normal interval (a feed polled by
    name before it was due keeps its later next check)."""
    due = now + interval
    return replace(state, next_check=max(state.next_check, due) if state.next_check else due)
