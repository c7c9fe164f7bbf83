"""The ``network_outages`` table: when the monitor's own network failed, as the poll cycle saw it.

A row is opened by the first cycle judged an outage (monitor/poll/outage.py), extended by each
cycle after it that is one too, and closed (``ended``) by the first cycle that reaches a feed
again. At most one row is open at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.rows import parse_time, required_time, time_text

if TYPE_CHECKING:
    from storage.store import Store


@dataclass(frozen=True)
class OutageRecord:
    """One row of ``network_outages``; the counts are those of its latest cycle."""

    id: int
    cause: str            # dns | unreachable | proxy | refused
    started: datetime
    last_seen: datetime
    ended: datetime | None
    polls: int            # cycles that found the network down
    failed_feeds: int     # feeds that failed with ``cause`` in the latest of them
    polled_feeds: int

    @property
    def ongoing(self) -> bool:
        return self.ended is None


def _record(row: dict[str, Any]) -> OutageRecord:
    return OutageRecord(
        id=row["id"], cause=row["cause"], started=required_time(row["started"]),
        last_seen=required_time(row["last_seen"]), ended=parse_time(row["ended"]),
        polls=row["polls"], failed_feeds=row["failed_feeds"], polled_feeds=row["polled_feeds"])


class NetworkOutages:
    def __init__(self, store: Store) -> None:
        self.store = store

    def last(self) -> OutageRecord | None:
        """The open outage, else the one that ended last; None when there never was one."""
        with self.store.translated():
            rows = list(self.store.db.query(
                "SELECT * FROM network_outages ORDER BY ended IS NULL DESC, id DESC LIMIT 1"))
        return _record(rows[0]) if rows else None

    def ongoing(self) -> OutageRecord | None:
        last = self.last()
        return last if last is not None and last.ongoing else None

    def record(self, *, cause: str, failed_feeds: int, polled_feeds: int,
               now: datetime) -> None:
        """One more cycle of the open outage, or the first of a new one."""
        moment = time_text(now)
        with self.store.transaction() as db:
            extended = db.execute(
                "UPDATE network_outages SET cause = ?, last_seen = ?, polls = polls + 1,"
                " failed_feeds = ?, polled_feeds = ? WHERE ended IS NULL",
                [cause, moment, failed_feeds, polled_feeds]).rowcount
            if not extended:
                db.execute(
                    "INSERT INTO network_outages (cause, started, last_seen, failed_feeds,"
                    " polled_feeds) VALUES (?, ?, ?, ?, ?)",
                    [cause, moment, moment, failed_feeds, polled_feeds])

    def end(self, now: datetime) -> None:
        """Close the open outage, if any: a feed was reached again."""
        with self.store.transaction() as db:
            db.execute("UPDATE network_outages SET ended = ? WHERE ended IS NULL",
                       [time_text(now)])
