"""The ``articles`` table and where each came from (``article_sources``).

What is the same article (docs/architecture.md): within one feed, the same id, guid or canonical
URL. Across feeds, an item is linked to a stored article (one article, two sources) only when
it has the same canonical URL *and* the same title, summary and content; otherwise it is stored
as an article of its own. So a feed claiming another feed's guid or link can neither hide that
feed's item nor give it its own text: the real item is stored and matched as it was written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.records import Article
from storage.rows import (
    ARTICLE_COLUMNS,
    SOURCE_COLUMNS,
    article_from_row,
    article_row,
    source_row,
    time_text,
)

if TYPE_CHECKING:
    from storage.store import Store

_CHUNK = 500  # values per IN (...) query, well under SQLite's limit on parameters

# ON CONFLICT DO NOTHING skips only rows that clash with a stored key; unlike INSERT OR IGNORE
# it does not also silently drop rows that break NOT NULL or CHECK.
_INSERT = "INSERT INTO articles ({}) VALUES {} ON CONFLICT DO NOTHING"
_ROW = "({})".format(", ".join("?" * len(ARTICLE_COLUMNS)))
_INSERT_SOURCE = "INSERT INTO article_sources ({}) VALUES ({}) ON CONFLICT DO NOTHING".format(
    ", ".join(SOURCE_COLUMNS), ", ".join("?" * len(SOURCE_COLUMNS)))
# Rows per INSERT statement. One multi-row statement, not executemany: SQLite opens a statement
# savepoint per execution, and FTS5 flushes its pending index to disk at every savepoint, so
# row-by-row inserts through the FTS trigger cost twice as much (docs/performance.md).
_ROWS_PER_INSERT = 50


class ArticleTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    def clear_text(self, first_seen_before: datetime, *, batch: int = 5_000) -> int:
        """Retention: empty the summary, content and body of the articles first seen before then
        that are no hit of any item; hits keep their text forever. Titles stay, so an article
        is still known and shown. A batch per transaction keeps the write lock short. Returns how
        many articles were cleared."""
        cleared = 0
        while True:
            with self.store.transaction() as db:
                cursor = db.execute(
                    "UPDATE articles SET summary = '', content = '', body = '' WHERE rowid IN ("
                    "SELECT a.rowid FROM articles AS a WHERE a.first_seen < ?"
                    " AND (a.summary != '' OR a.content != '' OR a.body != '')"
                    " AND NOT EXISTS (SELECT 1 FROM matches AS m WHERE m.article_id = a.id)"
                    " LIMIT ?)", [time_text(first_seen_before), batch])
            cleared += cursor.rowcount
            if cursor.rowcount < batch:
                return cleared

    def get(self, article_id: str) -> Article | None:
        with self.store.translated():
            rows = list(self.store.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
        return article_from_row(rows[0]) if rows else None

    def count(self) -> int:
        with self.store.translated():
            return int(self.store.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def sources(self, article_id: str) -> list[str]:
        """The feeds that carried this article, the first one first."""
        with self.store.translated():
            return [row[0] for row in self.store.db.execute(
                "SELECT feed FROM article_sources WHERE article_id = ? ORDER BY first_seen, feed",
                [article_id])]

    def known(self, articles: Sequence[Article]) -> set[str]:
        """Ids of those ``articles`` their own feed brought in before: the same id, or the same
        guid or canonical URL within that feed. Another feed's items never count."""
        with self.store.translated():
            return self._known(articles)

    def insert_new(self, articles: Sequence[Article]) -> tuple[list[str], list[str]]:
        """Store the articles their feed had not brought in yet.

        Returns the ids inserted, in the given order, and the ids of the stored articles that
        others were linked to (same canonical URL and same text, from another feed). Within the
        batch, the first of two articles with the same id, guid or canonical URL is kept.
        """
        batch = _first_of_each(articles)
        with self.store.transaction() as db:
            known = self._known(batch)
            candidates = [a for a in batch if a.id not in known]
            if not candidates:
                return [], []
            twins = self._twins(candidates)
            new = [a for a in candidates if a.id not in twins]
            _insert_rows(db.conn, new)
            db.conn.executemany(_INSERT_SOURCE,
                                [source_row(twins.get(a.id, a.id), a) for a in candidates])
        return [a.id for a in new], [twins[a.id] for a in candidates if a.id in twins]

    def _known(self, articles: Sequence[Article]) -> set[str]:
        ids = self._present("SELECT id FROM articles WHERE id IN ({})", (),
                            [a.id for a in articles])
        keys: set[tuple[str, str, str]] = set()
        for feed in {a.feed for a in articles}:
            own = [a for a in articles if a.feed == feed]
            for column in ("guid", "canonical_url"):
                found = self._present(
                    f"SELECT {column} FROM article_sources WHERE feed = ? AND {column} IN ({{}})",
                    (feed,), [getattr(a, column) for a in own])
                keys.update((feed, column, value) for value in found)
        return {a.id for a in articles
                if a.id in ids or (a.feed, "guid", a.guid) in keys
                or (a.feed, "canonical_url", a.canonical_url) in keys}

    def _twins(self, articles: Sequence[Article]) -> dict[str, str]:
        """For each article that says what a stored one with its canonical URL says, the stored
        one's id. Equal text means equal matches: a link can hide nothing of the new item."""
        urls = list({a.canonical_url for a in articles if a.canonical_url})
        stored: dict[tuple[Any, ...], str] = {}
        for start in range(0, len(urls), _CHUNK):
            chunk = urls[start:start + _CHUNK]
            for row in self.store.db.execute(
                    "SELECT id, canonical_url, title, summary, content FROM articles"
                    f" WHERE canonical_url IN ({', '.join('?' * len(chunk))}) ORDER BY rowid",
                    chunk):
                stored.setdefault(tuple(row[1:]), row[0])
        twins = {}
        for article in articles:
            twin = stored.get((article.canonical_url, article.title, article.summary,
                               article.content))
            if twin is not None:
                twins[article.id] = twin
        return twins

    def _present(self, sql: str, fixed: Sequence[str], values: Iterable[str | None]) -> set[str]:
        """Those ``values`` that ``sql`` (its ``IN ({})`` on an indexed column) finds, in
        batched queries."""
        wanted = list({v for v in values if v is not None})
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            cursor = self.store.db.execute(sql.format(", ".join("?" * len(chunk))),
                                           [*fixed, *chunk])
            found.update(row[0] for row in cursor)
        return found


def _first_of_each(articles: Sequence[Article]) -> list[Article]:
    """Repeats inside one batch (same id, or same guid or canonical URL in one feed) dropped."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for article in articles:
        keys: set[tuple[str, ...]] = {("id", article.id)}
        if article.guid:
            keys.add(("guid", article.feed, article.guid))
        if article.canonical_url:
            keys.add(("url", article.feed, article.canonical_url))
        if not keys & seen:
            kept.append(article)
            seen |= keys
    return kept


def _insert_rows(conn: sqlite3.Connection, articles: Sequence[Article]) -> int:
    """Insert in statements of up to ``_ROWS_PER_INSERT`` rows, in order; return rows inserted."""
    inserted = 0
    for start in range(0, len(articles), _ROWS_PER_INSERT):
        chunk = articles[start:start + _ROWS_PER_INSERT]
        sql = _INSERT.format(", ".join(ARTICLE_COLUMNS), ", ".join([_ROW] * len(chunk)))
        cursor = conn.execute(sql, [value for a in chunk for value in article_row(a)])
        inserted += cursor.rowcount
    return inserted
