"""The poll cycle: due feeds → fetch → parse → dedupe → match → store, each feed's backoff, and
telling an outage of our own network from feeds that fail."""

from monitor.poll.cycle import (
    FeedFetcher,
    FeedOutcome,
    FeedParser,
    Poller,
    PollReport,
    due_feeds,
    utcnow,
)
from monitor.poll.outage import Outage, cause_words

__all__ = ["FeedFetcher", "FeedOutcome", "FeedParser", "Outage", "PollReport", "Poller",
           "cause_words", "due_feeds", "utcnow"]
