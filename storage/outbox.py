"""The digest outbox: which hits each channel has been sent, in the ``digests`` and ``deliveries``
tables (design §9).

A digest and the articles it carries are recorded in one transaction before anything is sent;
``deliveries`` has one row per (channel, article), so no article can go to a channel twice. A
digest stays ``pending`` until a send succeeds and ``mark_sent`` records it; every attempt is
counted before it is made (a Slack webhook has no idempotency key, so a crash mid-send must leave
a trace). A digest the channel refused for good is ``failed`` (``mark_refused``): it no longer
holds up the digests after it, and its articles stay recorded against it, so they are never
re-sent by themselves; ``reopen`` makes it pending again, ``drop`` gives it up (``dropped``).
Times are stored as ISO-8601 UTC text, like every other table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.records import Hit, Match
from storage.rows import article_from_row, match_from_row, parse_time, required_time, time_text

if TYPE_CHECKING:
    from sqlite_utils import Database

    from storage.store import Store

_CHUNK = 500   # values per IN (...) query, well under SQLite's limit on parameters
PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"
ALERT_ID_PREFIX = "<armswatch-alert."   # the Message-ID of an immediate alert starts so


@dataclass(frozen=True)
class DigestRecord:
    """One row of ``digests``."""

    id: int
    channel: str
    created: datetime
    period_start: datetime | None
    period_end: datetime | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    sent_at: datetime | None
    message_id: str | None


def _record(row: dict[str, Any]) -> DigestRecord:
    return DigestRecord(
        id=row["id"], channel=row["channel"], created=required_time(row["created"]),
        period_start=parse_time(row["period_start"]), period_end=parse_time(row["period_end"]),
        status=row["status"], attempts=row["attempts"], last_error=row["last_error"],
        next_attempt=parse_time(row["next_attempt"]), sent_at=parse_time(row["sent_at"]),
        message_id=row["message_id"])


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


class DigestOutbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading ---------------------------------------------------------------------------
    def get(self, digest_id: int) -> DigestRecord | None:
        with self.store.translated():
            rows = list(self.store.db.query("SELECT * FROM digests WHERE id = ?", [digest_id]))
        return _record(rows[0]) if rows else None

    def pending(self, channel: str) -> DigestRecord | None:
        """The channel's oldest digest not yet sent: it goes out before anything new."""
        with self.store.translated():
            return self._pending(self.store.db, channel)

    def _pending(self, db: Database, channel: str) -> DigestRecord | None:
        rows = list(db.query("SELECT * FROM digests WHERE channel = ? AND status = ?"
                             " ORDER BY id LIMIT 1", [channel, PENDING]))
        return _record(rows[0]) if rows else None

    def last(self, channel: str) -> DigestRecord | None:
        """The channel's most recent digest, sent or not."""
        with self.store.translated():
            rows = list(self.store.db.query(
                "SELECT * FROM digests WHERE channel = ? ORDER BY id DESC LIMIT 1", [channel]))
        return _record(rows[0]) if rows else None

    def channel_start(self, channel: str) -> datetime | None:
        """Where the channel's history begins (its first digest's period start); None if new."""
        with self.store.translated():
            row = self.store.db.execute(
                "SELECT min(period_start) FROM digests WHERE channel = ?", [channel]).fetchone()
        return parse_time(row[0])

    def failing(self, min_attempts: int, *, active_since: datetime) -> list[DigestRecord]:
        """Each channel's oldest pending digest that has failed at least ``min_attempts`` times
        and is still being retried (next attempt at or after ``active_since``), and the failed
        digests created since then: a channel removed from the config stops being tried, and
        after a while stops being named."""
        since = time_text(active_since)
        with self.store.translated():
            rows = self.store.db.query(
                "SELECT * FROM digests WHERE id IN (SELECT min(id) FROM digests"
                " WHERE status = ? GROUP BY channel) AND attempts >= ? AND next_attempt >= ?"
                " UNION ALL SELECT * FROM digests WHERE status = ? AND created >= ?"
                " ORDER BY channel, id", [PENDING, min_attempts, since, FAILED, since])
            return [_record(r) for r in rows]

    def failed(self, channels: Collection[str] | None = None) -> list[DigestRecord]:
        """The digests refused for good and not yet re-sent or dropped, oldest first."""
        with self.store.translated():
            rows = [_record(r) for r in self.store.db.query(
                "SELECT * FROM digests WHERE status = ? ORDER BY id", [FAILED])]
        return [r for r in rows if channels is None or r.channel in channels]

    def hit_counts(self, digest_ids: Sequence[int]) -> dict[int, int]:
        """How many articles each digest carries."""
        counts: dict[int, int] = {}
        with self.store.translated():
            for start in range(0, len(digest_ids), _CHUNK):
                chunk = list(digest_ids[start:start + _CHUNK])
                counts.update(self.store.db.execute(
                    f"SELECT digest_id, count(*) FROM deliveries WHERE digest_id IN"
                    f" ({_marks(chunk)}) GROUP BY digest_id", chunk).fetchall())
        return counts

    def alerts_since(self, channel: str, since: datetime) -> int:
        """Immediate alerts recorded for ``channel`` since ``since``, sent or not."""
        with self.store.translated():
            row = self.store.db.execute(
                "SELECT count(*) FROM digests WHERE channel = ? AND created >= ?"
                " AND substr(message_id, 1, ?) = ?",
                [channel, time_text(since), len(ALERT_ID_PREFIX), ALERT_ID_PREFIX]).fetchone()
        return int(row[0])

    def undelivered(self, channel: str, *, since: datetime, items: Collection[str] = (),
                    kinds: Collection[str] = (),
                    only_articles: Collection[str] | None = None) -> list[Hit]:
        """Hits first seen at or after ``since`` that ``channel`` has not been sent, oldest first.

        ``items``/``kinds`` (empty: any) keep articles with at least one such match; all their
        matches are returned, the digest builder filters what it shows.
        """
        # Hits a backfill found among stored articles are summed up per item, not listed.
        evidence, params = ["m.backfill_id IS NULL"], []
        if items:
            evidence.append(f"m.item COLLATE NOCASE IN ({_marks(list(items))})")
            params += list(items)
        if kinds:
            evidence.append(f"m.kind IN ({_marks(list(kinds))})")
            params += list(kinds)
        sql = (f"SELECT a.* FROM (SELECT DISTINCT m.article_id FROM matches AS m"
               f" WHERE {' AND '.join(evidence)}) AS h"
               " CROSS JOIN articles AS a ON a.id = h.article_id"
               " WHERE a.first_seen >= ? AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
               "  WHERE d.channel = ? AND d.article_id = a.id)"
               " ORDER BY a.first_seen, a.id")
        wanted = None if only_articles is None else set(only_articles)
        with self.store.translated():
            rows = [r for r in self.store.db.query(sql, [*params, time_text(since), channel])
                    if wanted is None or r["id"] in wanted]
            return self._hits(rows)

    def hits_of(self, digest_id: int) -> list[Hit]:
        """The hits a digest carries, as recorded when it was created."""
        with self.store.translated():
            rows = list(self.store.db.query(
                "SELECT a.* FROM deliveries AS d JOIN articles AS a ON a.id = d.article_id"
                " WHERE d.digest_id = ? ORDER BY a.first_seen, a.id", [digest_id]))
            return self._hits(rows)

    def _hits(self, rows: list[dict[str, Any]]) -> list[Hit]:
        found = self._matches([r["id"] for r in rows])
        return [Hit(article=article_from_row(r), matches=tuple(found.get(r["id"], ())))
                for r in rows]

    def _matches(self, article_ids: Sequence[str]) -> dict[str, list[Match]]:
        found: dict[str, list[Match]] = {}
        for start in range(0, len(article_ids), _CHUNK):
            chunk = list(article_ids[start:start + _CHUNK])
            for row in self.store.db.query(
                    f"SELECT * FROM matches WHERE article_id IN ({_marks(chunk)})"
                    " ORDER BY article_id, item, term, field", chunk):
                found.setdefault(row["article_id"], []).append(match_from_row(row))
        return found

    # -- writing ---------------------------------------------------------------------------
    def create(self, channel: str, article_ids: Iterable[str], *, created: datetime,
               period_start: datetime, period_end: datetime,
               message_id: Callable[[int], str]) -> DigestRecord | None:
        """Record a pending digest with its articles, in one transaction; return it.

        None when another run got there first: the channel already has a pending digest, or
        every one of ``article_ids`` has meanwhile been given to another digest. ``message_id``
        makes the stable Message-ID from the new digest's id.
        """
        wanted = list(dict.fromkeys(article_ids))
        with self.store.transaction() as db:
            if self._pending(db, channel) is not None:
                return None
            taken = self._delivered(db, channel, wanted)    # once: a flood has 12,000 ids
            ids = [a for a in wanted if a not in taken]
            if wanted and not ids:
                return None
            cursor = db.execute(
                "INSERT INTO digests (channel, created, period_start, period_end, status)"
                " VALUES (?, ?, ?, ?, ?)", [channel, time_text(created), time_text(period_start),
                                            time_text(period_end), PENDING])
            digest_id = int(cursor.lastrowid or 0)
            db.execute("UPDATE digests SET message_id = ? WHERE id = ?",
                       [message_id(digest_id), digest_id])
            db.conn.executemany(
                "INSERT INTO deliveries (channel, article_id, digest_id) VALUES (?, ?, ?)",
                [(channel, article_id, digest_id) for article_id in ids])
        return self.get(digest_id)

    def _delivered(self, db: Database, channel: str, article_ids: Sequence[str]) -> set[str]:
        taken: set[str] = set()
        for start in range(0, len(article_ids), _CHUNK):
            chunk = list(article_ids[start:start + _CHUNK])
            cursor = db.execute(f"SELECT article_id FROM deliveries WHERE channel = ?"
                                f" AND article_id IN ({_marks(chunk)})", [channel, *chunk])
            taken.update(row[0] for row in cursor)
        return taken

    def record_attempt(self, digest_id: int, *, seen_attempts: int,
                       next_attempt: datetime) -> bool:
        """Count an attempt before making it; ``next_attempt`` holds if this run never reports.

        False when the digest is no longer pending with ``seen_attempts`` attempts, i.e. another
        run has claimed it since it was read: that run sends it, this one must not.
        """
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE digests SET attempts = attempts + 1, next_attempt = ?"
                " WHERE id = ? AND status = ? AND attempts = ?",
                [time_text(next_attempt), digest_id, PENDING, seen_attempts])
            return cursor.rowcount == 1

    def mark_sent(self, digest_id: int, *, sent_at: datetime, note: str | None = None) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE digests SET status = ?, sent_at = ?, next_attempt = NULL,"
                       " last_error = ? WHERE id = ?", [SENT, time_text(sent_at), note,
                                                        digest_id])

    def mark_failed(self, digest_id: int, *, error: str, next_attempt: datetime) -> None:
        """The digest stays pending; it is tried again from ``next_attempt`` on."""
        with self.store.transaction() as db:
            db.execute("UPDATE digests SET last_error = ?, next_attempt = ? WHERE id = ?",
                       [error, time_text(next_attempt), digest_id])

    def mark_refused(self, digest_id: int, *, error: str) -> None:
        """Refused for good: the digest is ``failed`` and no longer tried."""
        with self.store.transaction() as db:
            db.execute("UPDATE digests SET status = ?, last_error = ?, next_attempt = NULL"
                       " WHERE id = ?", [FAILED, error, digest_id])

    def reopen(self, digest_id: int) -> DigestRecord | None:
        """A failed digest made pending again, its attempts counted afresh; None if it is not
        failed (any more)."""
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE digests SET status = ?, attempts = 0, next_attempt = NULL"
                                " WHERE id = ? AND status = ?", [PENDING, digest_id, FAILED])
            if cursor.rowcount != 1:
                return None
        return self.get(digest_id)

    def drop(self, digest_id: int) -> bool:
        """Give up a failed digest: it is never sent, and its articles stay recorded against it,
        so they are not sent by a later digest either. False if it is not failed (any more)."""
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE digests SET status = ? WHERE id = ? AND status = ?",
                                [DROPPED, digest_id, FAILED])
            return cursor.rowcount == 1
