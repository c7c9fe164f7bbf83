"""The poll cycle: due feeds → fetch → parse → dedupe → match → store, and each feed's backoff."""

from monitor.poll.cycle import FeedOutcome, Poller, PollReport, due_feeds, utcnow

__all__ = ["FeedOutcome", "PollReport", "Poller", "due_feeds", "utcnow"]
