"""Is it the feeds that failed, or the monitor's own network? Decided from one cycle's outcomes.

A feed that fails alone backs off (monitor/poll/backoff.py): its server is the likely culprit.
When most feeds of a cycle fail together with one local cause — names do not resolve, there is no
route, the proxy fails, hosts all over refuse — the fault is on our side: growing every feed's
backoff would leave them unpolled for hours after the network returns. Such a cycle is an outage:
the cycle records it, and the feeds are checked again at their normal interval. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# The causes fetch.py recognises (FetchError.local_cause), in words for the log and `status`.
CAUSE_WORDS = {
    "dns": "could not resolve host",
    "unreachable": "network unreachable",
    "proxy": "proxy error",
    "refused": "connection refused",
}
# Most feeds, enough of them to be more than chance, on more than one host: every feed of one
# host failing is that host's problem, and its feeds back off as usual.
OUTAGE_SHARE = 0.8
MIN_FEEDS = 3
MIN_HOSTS = 2


@dataclass(frozen=True)
class Attempt:
    """One feed's outcome in a cycle, as far as the outage rule cares."""

    feed: str
    host: str
    local_cause: str | None   # None: it succeeded, or failed for a reason of its server's


@dataclass(frozen=True)
class Outage:
    """The cycle's verdict: the network was down."""

    cause: str                 # the most common local cause
    failed: int                # feeds that failed with it
    polled: int                # feeds the cycle tried
    feeds: frozenset[str]      # every feed whose failure is put down to the outage

    def line(self) -> str:
        return (f"network outage: {self.failed} of {self.polled} feeds failed with "
                f"'{cause_words(self.cause)}' — checking again at the normal interval")


def cause_words(cause: str) -> str:
    return CAUSE_WORDS.get(cause, cause)


def find_outage(attempts: Sequence[Attempt], *, ongoing: bool) -> Outage | None:
    """The outage this cycle shows, if any.

    A new outage needs at least ``MIN_FEEDS`` feeds tried, ``OUTAGE_SHARE`` of them failing with
    one local cause, on at least ``MIN_HOSTS`` hosts. An outage already under way goes on while
    every feed tried fails with a local cause, however few feeds were due.
    """
    local = [a for a in attempts if a.local_cause is not None]
    if not local:
        return None
    counts = Counter(a.local_cause for a in local)
    cause, count = max(counts.items(), key=lambda pair: (pair[1], pair[0] or ""))
    assert cause is not None
    hosts = {a.host for a in local if a.local_cause == cause}
    new = (len(attempts) >= MIN_FEEDS and count >= OUTAGE_SHARE * len(attempts)
           and len(hosts) >= MIN_HOSTS)
    goes_on = ongoing and len(local) == len(attempts)
    if not (new or goes_on):
        return None
    return Outage(cause=cause, failed=count, polled=len(attempts),
                  feeds=frozenset(a.feed for a in local))


def reached_network(attempts: Sequence[Attempt]) -> bool:
    """Whether any feed was reached (a success, or an answer from its server): the network is up."""
    return any(a.local_cause is None for a in attempts)
