"""The ``articles`` table: each story stored once, however many feeds carry it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from storage.records import Article
from storage.rows import ARTICLE_COLUMNS, article_from_row, article_row

if TYPE_CHECKING:
    from storage.store import Store

_CHUNK = 500  # values per IN (...) query, well under SQLite's limit on parameters

# ON CONFLICT DO NOTHING skips only rows that clash with a stored id, guid or canonical URL;
# unlike INSERT OR IGNORE it does not also silently drop rows that break NOT NULL or CHECK.
_INSERT = "INSERT INTO articles ({}) VALUES {} ON CONFLICT DO NOTHING"
_ROW = "({})".format(", ".join("?" * len(ARTICLE_COLUMNS)))
# Rows per INSERT statement. One multi-row statement, not executemany: SQLite opens a statement
# savepoint per execution, and FTS5 flushes its pending index to disk at every savepoint, so
# row-by-row inserts through the FTS trigger cost twice as much (docs/performance.md).
_ROWS_PER_INSERT = 50


class ArticleTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, article_id: str) -> Article | None:
        with self.store.translated():
            rows = list(self.store.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
        return article_from_row(rows[0]) if rows else None

    def count(self) -> int:
        with self.store.translated():
            return int(self.store.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def known(self, articles: Sequence[Article]) -> set[str]:
        """Ids of those ``articles`` already stored under the same id, guid or canonical URL."""
        with self.store.translated():
            ids = self._present("id", [a.id for a in articles])
            guids = self._present("guid", [a.guid for a in articles if a.guid])
            urls = self._present("canonical_url",
                                 [a.canonical_url for a in articles if a.canonical_url])
        return {a.id for a in articles
                if a.id in ids or a.guid in guids or a.canonical_url in urls}

    def insert_new(self, articles: Sequence[Article]) -> list[str]:
        """Insert the articles not stored yet; return the ids inserted, in the given order.

        Multi-row inserts: an article whose id, guid or canonical URL is already stored (or came
        earlier in this batch) is skipped by SQLite itself.
        """
        first_of_each: dict[str, Article] = {}
        for article in articles:
            first_of_each.setdefault(article.id, article)
        candidates = list(first_of_each.values())
        with self.store.transaction() as db:
            stored = self._present("id", first_of_each)
            candidates = [a for a in candidates if a.id not in stored]
            if not candidates:
                return []
            if _insert_rows(db.conn, candidates) == len(candidates):
                return [a.id for a in candidates]
            # Some were skipped for their guid or URL. No candidate id was stored before, and we
            # hold the write lock, so an id present now is one this insert stored.
            present = self._present("id", [a.id for a in candidates])
            return [a.id for a in candidates if a.id in present]

    def _present(self, column: str, values: Iterable[str | None]) -> set[str]:
        """Those ``values`` found in ``column`` (which must be indexed), in batched queries."""
        wanted = list({v for v in values if v is not None})
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            cursor = self.store.db.execute(
                f"SELECT {column} FROM articles WHERE {column} IN ({marks})", chunk)
            found.update(row[0] for row in cursor)
        return found


def _insert_rows(conn: sqlite3.Connection, articles: Sequence[Article]) -> int:
    """Insert in statements of up to ``_ROWS_PER_INSERT`` rows, in order; return rows inserted.

    Rows are taken in the given order within and across statements, so the first of two
    articles with the same guid or URL is the one kept, as with one insert per row.
    """
    inserted = 0
    for start in range(0, len(articles), _ROWS_PER_INSERT):
        chunk = articles[start:start + _ROWS_PER_INSERT]
        sql = _INSERT.format(", ".join(ARTICLE_COLUMNS), ", ".join([_ROW] * len(chunk)))
        cursor = conn.execute(sql, [value for a in chunk for value in article_row(a)])
        inserted += cursor.rowcount
    return inserted
