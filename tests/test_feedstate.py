"""Backoff and state rules after each fetch (pure functions, no network)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.poll import backoff as feedstate
from storage.records import FeedState

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=15)
MAX = timedelta(hours=6)


def fail(state: FeedState, **kwargs: object) -> FeedState:
    return feedstate.after_failure(state, now=NOW, interval=INTERVAL, max_interval=MAX,
                                   error="HTTP 500 Internal Server Error", http_status=500,
                                   rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def test_failures_back_off_exponentially_and_are_capped_never_given_up() -> None:
    state = FeedState(name="f", url="http://127.0.0.1/f")
    delays = []
    for _ in range(12):
        state = fail(state)
        delays.append(state.next_check - NOW)  # type: ignore[operator]
    assert state.status == "failed" and state.error_count == 12
    assert delays[1] > delays[0] * 1.3          # grows
    assert all(d <= MAX for d in delays)         # capped
    assert delays[-1] >= MAX * 0.8               # reaches the cap, with jitter below it at most
    assert state.next_check is not None          # never a permanent give-up


def test_failing_since_is_the_first_failure_and_success_clears_it() -> None:
    state = fail(FeedState(name="f", url="u"))
    later = feedstate.after_failure(state, now=NOW + timedelta(hours=1), interval=INTERVAL,
                                    max_interval=MAX, error="timed out after 30 s")
    assert later.failing_since == NOW and later.error == "timed out after 30 s"
    ok = feedstate.after_success(later, now=NOW + timedelta(hours=2), interval=INTERVAL,
                                 http_status=200, not_modified=False, etag='"v2"',
                                 last_modified=None, body_hash="abc")
    assert (ok.status, ok.error, ok.error_count, ok.failing_since) == ("ok", None, 0, None)
    assert ok.next_check == NOW + timedelta(hours=2) + INTERVAL
    assert ok.etag == '"v2"' and ok.body_hash == "abc"


def test_retry_after_is_honoured_but_bounded() -> None:
    state = fail(FeedState(name="f", url="u"), retry_after=3600.0)
    assert state.next_check is not None and state.next_check - NOW >= timedelta(hours=1)
    hostile = fail(FeedState(name="f", url="u"), retry_after=10 ** 9)
    assert hostile.next_check is not None
    assert hostile.next_check - NOW <= feedstate.MAX_RETRY_AFTER


def test_gone_feed_is_marked_gone() -> None:
    state = fail(FeedState(name="f", url="u"), gone=True)
    assert state.status == "gone"


def test_not_modified_keeps_validators_when_server_omits_them() -> None:
    state = FeedState(name="f", url="u", etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT",
                      body_hash="h1")
    after = feedstate.after_success(state, now=NOW, interval=INTERVAL, http_status=304,
                                    not_modified=True, etag=None, last_modified=None,
                                    body_hash=None)
    assert (after.status, after.etag, after.body_hash) == ("not_modified", '"v1"', "h1")
