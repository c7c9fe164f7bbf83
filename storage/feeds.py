"""The ``feeds`` table: what we remember about each feed between polls."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from storage.records import FeedHealth, FeedState, PageStats
from storage.rows import FEED_COLUMNS, feed_from_row, feed_row, parse_time, time_text

if TYPE_CHECKING:
    from sqlite_utils import Database

    from storage.store import Store

_CHUNK = 500  # names per IN (...) query, well under SQLite's limit on parameters

# A feed whose URL changed is a new source: forget the old one's validators and errors.
_RESET_FOR_NEW_URL = """
UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, body_hash = NULL, status = 'new',
    http_status = NULL, error = NULL, error_count = 0, failing_since = NULL, next_check = NULL
WHERE name = ?
"""

_UPSERT = "INSERT INTO feeds ({columns}) VALUES ({values}) ON CONFLICT(name) DO UPDATE SET {sets}"


class FeedTable:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._upsert_sql = _UPSERT.format(
            columns=", ".join(FEED_COLUMNS), values=", ".join(f":{c}" for c in FEED_COLUMNS),
            sets=", ".join(f"{c} = excluded.{c}" for c in FEED_COLUMNS if c != "name"))

    def get(self, name: str) -> FeedState | None:
        with self.store.translated():
            rows = list(self.store.db.query("SELECT * FROM feeds WHERE name = ?", [name]))
        return feed_from_row(rows[0]) if rows else None

    def all(self) -> list[FeedState]:
        with self.store.translated():
            return [feed_from_row(r) for r in self.store.db.query(
                "SELECT * FROM feeds ORDER BY name")]

    def sync(self, configured: Iterable[tuple[str, str]]) -> None:
        """Add configured feeds not yet known (due at once); reset those whose URL changed.

        Feeds no longer configured are kept as they are: their articles still point to them.
        """
        wanted = list(configured)
        # Read first: on most calls (every scheduler tick) nothing changed, and a write
        # transaction would take the database's one write lock for nothing.
        with self.store.translated():
            unchanged = all(_urls(self.store.db).get(name) == url for name, url in wanted)
        if unchanged:
            return
        with self.store.transaction() as db:
            known = _urls(db)
            new = [(name, url) for name, url in wanted if name not in known]
            moved = [(url, name) for name, url in wanted if name in known and known[name] != url]
            db.conn.executemany(
                "INSERT INTO feeds (name, url) VALUES (?, ?) ON CONFLICT DO NOTHING", new)
            db.conn.executemany(_RESET_FOR_NEW_URL, moved)

    def due(self, names: Iterable[str], now: datetime) -> list[FeedState]:
        """Those of ``names`` never checked or whose next check is at or before ``now``."""
        wanted = list(dict.fromkeys(names))
        moment = time_text(now)
        found: list[FeedState] = []
        with self.store.translated():
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                found += [feed_from_row(r) for r in self.store.db.query(
                    f"SELECT * FROM feeds WHERE name IN ({marks})"
                    " AND (next_check IS NULL OR next_check <= ?)", [*chunk, moment])]
        # Never-checked feeds first, then the longest overdue.
        return sorted(found, key=lambda s: (s.next_check is not None,
                                            s.next_check or now, s.name))

    def health(self) -> list[FeedHealth]:
        """Every known feed with how many articles it brought in, and when the last one came
        (an article it shares with another feed counts for both)."""
        sql = """
            SELECT f.*,
                   (SELECT count(*) FROM article_sources WHERE feed = f.name) AS article_count,
                   (SELECT max(first_seen) FROM article_sources WHERE feed = f.name)
                       AS last_article
            FROM feeds AS f ORDER BY f.name
        """
        pages = self.store.pages.stats()
        with self.store.translated():
            return [FeedHealth(state=feed_from_row(r), articles=r["article_count"],
                               last_article=parse_time(r["last_article"]),
                               pages=pages.get(r["name"], PageStats()))
                    for r in self.store.db.query(sql)]

    def save(self, state: FeedState) -> None:
        """Insert or replace this feed's state (inside the caller's transaction, if any)."""
        with self.store.transaction() as db:
            db.conn.execute(self._upsert_sql, feed_row(state))


def _urls(db: Database) -> dict[str, str]:
    """Each known feed's URL, by name."""
    return {r["name"]: r["url"] for r in db.query("SELECT name, url FROM feeds")}
