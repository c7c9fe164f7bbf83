"""`armswatch status`: is the service healthy? Derived from what the store already records.

The last successful poll is the newest successful check of any feed: when every feed fails (the
network is down) or nothing polls (the service is stopped), it falls behind, and after three
poll intervals the status turns unhealthy — the container healthcheck's signal. An outage of the
monitor's own network (recorded by the poll cycle) is named as such, and is the reason given
when it is what stalled polling. A digest a channel refused for good (marked failed) makes the
status unhealthy too: its hits reached nobody until it is re-sent or dropped (`armswatch digest
failed`). A config edit that a running service refuses is reported too, but it does not make the
service unhealthy: the service goes on polling with its last good config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.wording import ERROR_LIMIT, clean
from monitor.poll import cause_words
from storage.outages import OutageRecord
from storage.outbox import DigestRecord
from storage.records import FeedHealth

STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class Health:
    healthy: bool
    last_check: datetime | None
    last_success: datetime | None
    feeds: Sequence[FeedHealth]
    pending: Sequence[DigestRecord]
    reason: str
    config_problems: Sequence[str] = ()   # an edit a running service does not apply
    outage: OutageRecord | None = None     # the open network outage, else the last one
    failed: Sequence[DigestRecord] = ()   # digests refused for good, not re-sent or dropped

    @property
    def failing(self) -> list[FeedHealth]:
        return [f for f in self.feeds if f.state.status in ("failed", "gone")]

    def lines(self) -> list[str]:
        out = [f"{'healthy' if self.healthy else 'UNHEALTHY'}: {self.reason}",
               f"last poll: {_when(self.last_check)}",
               f"last successful poll: {_when(self.last_success)}"]
        if self.outage is not None:
            out.append(outage_line(self.outage))
        if self.config_problems:
            out.append(f"config: {len(self.config_problems)} problem(s), not applied; a running "
                       "service keeps its last good config (`armswatch check` shows them)")
            out += [f"  {problem}" for problem in self.config_problems]
        counts: dict[str, int] = {}
        for feed in self.feeds:
            counts[feed.state.status] = counts.get(feed.state.status, 0) + 1
        out.append("feeds: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                                or "none polled yet"))
        for feed in self.failing:
            since = _when(feed.state.failing_since)
            out.append(f"  failing: {feed.state.name}: {feed.state.error} (since {since})")
        out.append(f"pending digests: {len(self.pending)}")
        for digest in self.pending:
            why = f": {digest.last_error}" if digest.last_error else ""
            out.append(f"  {digest.channel}: digest {digest.id}, {digest.attempts} attempt(s){why}")
        if self.failed:
            out.append(f"failed digests: {len(self.failed)} (`armswatch digest failed` lists "
                       "them, `armswatch digest resend` or `drop` settles them)")
        for digest in self.failed:
            out.append(f"  {digest.channel}: digest {digest.id}: {_error(digest)}")
        return out

    def record(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy, "reason": self.reason,
            "last_check": _iso(self.last_check), "last_success": _iso(self.last_success),
            "config_problems": list(self.config_problems),
            "network_outage": _outage_record(self.outage),
            "failing_feeds": [{"name": f.state.name, "error": f.state.error,
                               "failing_since": _iso(f.state.failing_since)}
                              for f in self.failing],
            "pending_digests": [{"channel": d.channel, "id": d.id, "attempts": d.attempts,
                                 "error": d.last_error} for d in self.pending],
            "failed_digests": [{"channel": d.channel, "id": d.id, "attempts": d.attempts,
                                "error": d.last_error} for d in self.failed],
        }


def assess(feeds: Sequence[FeedHealth], pending: Sequence[DigestRecord], *, now: datetime,
           interval: timedelta, config_problems: Sequence[str] = (),
           outage: OutageRecord | None = None,
           failed: Sequence[DigestRecord] = ()) -> Health:
    checks = [f.state.last_checked for f in feeds if f.state.last_checked]
    if outage is not None and outage.ongoing:
        checks.append(outage.last_seen)   # outage polls leave the feeds' own checks as they were
    successes = [f.state.last_success for f in feeds if f.state.last_success]
    last_check = max(checks, default=None)
    last_success = max(successes, default=None)
    limit = interval * STALE_AFTER_INTERVALS
    if last_success is None:
        healthy, reason = False, "no feed has been polled successfully yet"
    elif now - last_success > limit:
        healthy = False
        reason = (f"the last successful poll was {_ago(now - last_success)} ago, more than "
                  f"three poll intervals ({_ago(limit)})")
        if outage is not None and outage.ongoing:
            reason = f"network outage since {_when(outage.started)}: {reason}"
    elif failed:
        healthy, reason = False, _failed_reason(failed)
    else:
        healthy, reason = True, f"last successful poll {_ago(now - last_success)} ago"
    return Health(healthy, last_check, last_success, feeds, pending, reason, config_problems,
                  outage, failed)


def outage_line(outage: OutageRecord) -> str:
    words = cause_words(outage.cause)
    if outage.ongoing:
        return (f"network outage since {_when(outage.started)}: {outage.failed_feeds} of "
                f"{outage.polled_feeds} feeds failed with '{words}' at {_when(outage.last_seen)} "
                f"({outage.polls} poll(s) so far); feeds are checked again at their normal "
                "interval, without backoff")
    return (f"last network outage: {_when(outage.started)} to {_when(outage.ended)} "
            f"('{words}', {outage.polls} poll(s))")


def _outage_record(outage: OutageRecord | None) -> dict[str, Any] | None:
    if outage is None:
        return None
    return {"ongoing": outage.ongoing, "cause": outage.cause,
            "cause_text": cause_words(outage.cause), "started": _iso(outage.started),
            "last_seen": _iso(outage.last_seen), "ended": _iso(outage.ended),
            "polls": outage.polls, "failed_feeds": outage.failed_feeds,
            "polled_feeds": outage.polled_feeds}


def _error(digest: DigestRecord) -> str:
    return clean(digest.last_error or "refused", ERROR_LIMIT)


def _failed_reason(failed: Sequence[DigestRecord]) -> str:
    if len(failed) == 1:
        digest = failed[0]
        return (f"channel {digest.channel} refused digest {digest.id} for good: "
                f"{_error(digest)}")
    channels = ", ".join(dict.fromkeys(d.channel for d in failed))
    return f"{len(failed)} digests were refused for good (channels {channels})"


def _ago(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "never"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
