"""Backfills (design §14): stored articles a watch item may match, and the hits a re-match adds.

The full-text index narrows the candidates; the caller's matcher decides. What a backfill adds is
marked: one ``backfills`` row per item and run, and its matches point at that row
(``backfill_id``), so a digest sums them up in one line instead of listing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.records import Article, Match
from storage.rows import MATCH_COLUMNS, article_from_row, match_from_row, match_row, time_text

if TYPE_CHECKING:
    from storage.store import Store

_CHUNK = 500   # values per IN (...) query, well under SQLite's limit on parameters
_INSERT = "INSERT INTO matches ({}, backfill_id) VALUES ({}, ?) ON CONFLICT DO NOTHING".format(
    ", ".join(MATCH_COLUMNS), ", ".join("?" * len(MATCH_COLUMNS)))


@dataclass(frozen=True)
class BackfillRecord:
    """One row of ``backfills``: what one run added for one item."""

    id: int
    item: str
    fingerprint: str        # of the item's definition when it ran
    ran_at: datetime
    since: datetime | None  # articles published since then were re-matched; None: all
    articles: int           # articles that became hits of the item
    matches: int            # match rows added (new evidence on existing hits included)


def any_phrase(phrases: Iterable[str]) -> str | None:
    """An FTS5 query finding any of these phrases, each quoted so nothing in it is syntax; None
    when none has a letter or digit (the index keeps nothing else)."""
    quoted = sorted({'"' + p.replace('"', '""') + '"' for p in phrases
                     if any(c.isalnum() for c in p)})
    return " OR ".join(quoted) or None


class BackfillTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    def candidates(self, phrases: Sequence[str] | None, item: str,
                   since: datetime | None) -> Iterator[Article]:
        """Articles published since ``since`` that contain one of ``phrases`` (any field, by the
        full-text index), and those with stored matches of ``item``. ``phrases`` None: every
        article (a term the index cannot look up)."""
        query = None if phrases is None else any_phrase(phrases)
        params: list[Any] = []
        if phrases is None:
            found = "SELECT rowid FROM articles"
        else:
            found = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?" if query else ""
            params += [query] if query else []
        held = "SELECT a.rowid FROM matches AS m JOIN articles AS a ON a.id = m.article_id" \
               " WHERE m.item = ? COLLATE NOCASE"
        params.append(item)
        source = f"{found} UNION {held}" if found else held
        sql = f"SELECT a.* FROM articles AS a WHERE a.rowid IN ({source})"
        if since is not None:
            sql += " AND a.published >= ?"
            params.append(time_text(since))
        with self.store.translated():
            rows = list(self.store.db.query(sql + " ORDER BY a.published DESC, a.rowid DESC",
                                            params))
        for row in rows:
            yield article_from_row(row)

    def stored_matches(self, item: str, article_ids: Sequence[str]) -> dict[str, list[Match]]:
        """The stored matches of ``item`` in these articles."""
        found: dict[str, list[Match]] = {}
        with self.store.translated():
            for start in range(0, len(article_ids), _CHUNK):
                chunk = list(article_ids[start:start + _CHUNK])
                for row in self.store.db.query(
                        f"SELECT * FROM matches WHERE item = ? COLLATE NOCASE AND article_id IN"
                        f" ({', '.join('?' * len(chunk))})", [item, *chunk]):
                    found.setdefault(row["article_id"], []).append(match_from_row(row))
        return found

    def items_of(self, article_ids: Sequence[str]) -> dict[str, set[str]]:
        """The items each of these articles is stored as a hit of."""
        found: dict[str, set[str]] = {}
        with self.store.translated():
            for start in range(0, len(article_ids), _CHUNK):
                chunk = list(article_ids[start:start + _CHUNK])
                for article_id, item in self.store.db.execute(
                        "SELECT DISTINCT article_id, item FROM matches WHERE article_id IN"
                        f" ({', '.join('?' * len(chunk))})", chunk):
                    found.setdefault(article_id, set()).add(item)
        return found

    def record(self, item: str, fingerprint: str, *, ran_at: datetime, since: datetime | None,
               articles: int, matches: Mapping[str, Sequence[Match]]) -> BackfillRecord | None:
        """Add ``matches`` marked as this run's, in one transaction; None when all were stored
        already (a re-run adds nothing, not even a row)."""
        rows = [match_row(article_id, match)
                for article_id, found in matches.items() for match in found]
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO backfills (item, fingerprint, ran_at, since, articles, matches)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                [item, fingerprint, time_text(ran_at), None if since is None else
                 time_text(since), articles])
            backfill_id = int(cursor.lastrowid or 0)
            before = db.conn.total_changes
            db.conn.executemany(_INSERT, [(*row, backfill_id) for row in rows])
            added = db.conn.total_changes - before
            if not added:
                db.execute("DELETE FROM backfills WHERE id = ?", [backfill_id])
                return None
            db.execute("UPDATE backfills SET matches = ? WHERE id = ?", [added, backfill_id])
        return BackfillRecord(id=backfill_id, item=item, fingerprint=fingerprint, ran_at=ran_at,
                              since=since, articles=articles, matches=added)

    def since(self, moment: datetime) -> list[BackfillRecord]:
        """The backfills that ran at or after ``moment``, oldest first."""
        with self.store.translated():
            rows = list(self.store.db.query(
                "SELECT * FROM backfills WHERE ran_at >= ? ORDER BY id", [time_text(moment)]))
        return [_record(row) for row in rows]


def _record(row: dict[str, Any]) -> BackfillRecord:
    since = row["since"]
    return BackfillRecord(id=row["id"], item=row["item"], fingerprint=row["fingerprint"],
                          ran_at=datetime.fromisoformat(row["ran_at"]),
                          since=None if since is None else datetime.fromisoformat(since),
                          articles=row["articles"], matches=row["matches"])
