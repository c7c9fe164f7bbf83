"""The poll cycle: due feeds → fetch → parse → dedupe → match → store, and each feed's backoff."""

from monitor.poll.cycle import (
    FeedFetcher,
    FeedOutcome,
    FeedParser,
    Poller,
    PollReport,
    due_feeds,
    utcnow,
)

__all__ = ["FeedFetcher", "FeedOutcome", "FeedParser", "PollReport", "Poller", "due_feeds",
           "utcnow"]
