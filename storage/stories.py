"""The stories tables (design §13): which story each hit is in and why, the inverted index of
keys that finds a new hit's candidates, and the stories as they are listed."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.records import Hit, Story, StoryEntry, StoryReport
from storage.rows import required_time, time_text

if TYPE_CHECKING:
    from storage.store import Store

_CHUNK = 500  # values per IN (...) query


class StoryTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    def postings(self, key: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """Up to ``limit`` hits filed under ``key`` published between ``start`` and ``end``."""
        with self.store.translated():
            cursor = self.store.db.execute(
                "SELECT article_id FROM story_keys WHERE key = ? AND published BETWEEN ? AND ?"
                " LIMIT ?", [key, _seconds(start), _seconds(end), limit])
            return [row[0] for row in cursor]

    def evidence(self, article_ids: Sequence[str]) -> list[tuple[str, str, datetime, str]]:
        """(article id, story id, published, evidence JSON) of these placed hits."""
        found: list[tuple[str, str, datetime, str]] = []
        with self.store.translated():
            for chunk in _chunks(article_ids):
                found += [(row[0], row[1], required_time(row[2]), row[3])
                          for row in self.store.db.execute(
                              "SELECT article_id, story_id, published, evidence"
                              f" FROM story_articles WHERE article_id IN ({_marks(chunk)})",
                              chunk)]
        return found

    def add(self, entries: Sequence[StoryEntry]) -> None:
        """Record placed hits and their keys, and start or extend their stories (one
        transaction: the caller's, when it has one)."""
        if not entries:
            return
        with self.store.transaction() as db:
            for entry in entries:
                published = time_text(entry.published)
                db.execute(
                    "INSERT INTO stories (id, title, first_published, last_published, reports)"
                    " VALUES (?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET"
                    # The headline shown is the earliest report's (SET reads the old row).
                    " title = CASE WHEN excluded.first_published < first_published"
                    " THEN excluded.title ELSE title END,"
                    " first_published = min(first_published, excluded.first_published),"
                    " last_published = max(last_published, excluded.last_published),"
                    " reports = reports + 1",
                    [entry.story_id, entry.title, published, published])
            db.conn.executemany(
                "INSERT INTO story_articles (article_id, story_id, published, method, score,"
                " like_article, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.article_id, e.story_id, time_text(e.published), e.method, e.score, e.like,
                  e.evidence) for e in entries])
            db.conn.executemany(
                "INSERT OR IGNORE INTO story_keys (key, published, article_id) VALUES (?, ?, ?)",
                [(key, published, e.article_id)
                 for e, published in zip(entries, map(_seconds, (e.published for e in entries)),
                                         strict=True) for key in e.keys])

    def clear(self) -> None:
        """Forget every story (``stories --rebuild``, inside its transaction)."""
        with self.store.transaction() as db:
            for table in ("story_keys", "story_articles", "stories"):
                db.execute(f"DELETE FROM {table}")

    def unplaced(self, among: Sequence[str] | None = None) -> list[Hit]:
        """Hits in no story yet (of the articles ``among``, when given), in published order
        (then id)."""
        placed = set(self.of_articles(among)) if among is not None else set()
        if among is not None:
            hits = self.store.hits.many([i for i in dict.fromkeys(among) if i not in placed])
            return sorted(hits, key=lambda h: (h.article.published, h.article.id))
        with self.store.translated():
            ids = [row[0] for row in self.store.db.execute(
                "SELECT a.id FROM articles AS a WHERE EXISTS"
                " (SELECT 1 FROM matches AS m WHERE m.article_id = a.id) AND NOT EXISTS"
                " (SELECT 1 FROM story_articles AS s WHERE s.article_id = a.id)"
                " ORDER BY a.published, a.id")]
        return self.store.hits.many(ids)

    def all_hits(self) -> list[Hit]:
        """Every hit, in published order (then id): what a rebuild regroups."""
        with self.store.translated():
            ids = [row[0] for row in self.store.db.execute(
                "SELECT a.id FROM articles AS a WHERE EXISTS"
                " (SELECT 1 FROM matches AS m WHERE m.article_id = a.id)"
                " ORDER BY a.published, a.id")]
        return self.store.hits.many(ids)

    def of_articles(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The story id of each of these articles that has one."""
        found: dict[str, str] = {}
        with self.store.translated():
            for chunk in _chunks(article_ids):
                found.update((row[0], row[1]) for row in self.store.db.execute(
                    "SELECT article_id, story_id FROM story_articles"
                    f" WHERE article_id IN ({_marks(chunk)})", chunk))
        return found

    def count(self) -> int:
        with self.store.translated():
            return int(self.store.db.execute("SELECT count(*) FROM stories").fetchone()[0])

    def sent_before(self, channel: str, story_ids: Sequence[str],
                    digest_id: int | None) -> set[str]:
        """Those of ``story_ids`` with a report in a digest ``channel`` was sent before digest
        ``digest_id`` (None: any sent digest): a story such a digest told of is not new."""
        found: set[str] = set()
        before = "" if digest_id is None else " AND g.id < ?"
        with self.store.translated():
            for chunk in _chunks(sorted(set(story_ids))):
                found.update(row[0] for row in self.store.db.execute(
                    "SELECT DISTINCT sa.story_id FROM story_articles AS sa"
                    " JOIN deliveries AS d ON d.article_id = sa.article_id AND d.channel = ?"
                    " JOIN digests AS g ON g.id = d.digest_id"
                    f" WHERE g.status = 'sent' AND sa.story_id IN ({_marks(chunk)}){before}",
                    [channel, *chunk, *([] if digest_id is None else [digest_id])]))
        return found

    def query(self, *, since: datetime | None = None, item: str | None = None,
              limit: int = 50, ids: Sequence[str] | None = None) -> list[Story]:
        """Stories, the latest report newest first. ``since``: with a report published at or
        after then; ``item``: with a report matching this watch item (any case); ``ids``: these
        stories only."""
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("s.last_published >= ?")
            params.append(time_text(since))
        if item is not None:
            where.append("EXISTS (SELECT 1 FROM story_articles AS sa JOIN matches AS m"
                         " ON m.article_id = sa.article_id WHERE sa.story_id = s.id"
                         " AND m.item = ? COLLATE NOCASE)")
            params.append(item)
        if ids is not None:
            where.append(f"s.id IN ({_marks(ids) or 'NULL'})")
            params += list(ids)
        sql = ("SELECT id, title, first_published, last_published FROM stories AS s"
               f" WHERE {' AND '.join(where) or '1'}"
               " ORDER BY s.last_published DESC, s.id LIMIT ?")
        with self.store.translated():
            rows = list(self.store.db.execute(sql, [*params, limit]))
            members = self._reports([row[0] for row in rows])
        return [Story(id=row[0], title=row[1], first_published=required_time(row[2]),
                      last_published=required_time(row[3]),
                      reports=tuple(members.get(row[0], ()))) for row in rows]

    def _reports(self, story_ids: Sequence[str]) -> dict[str, list[StoryReport]]:
        placed: list[tuple[str, str, str, float, str | None]] = []
        for chunk in _chunks(story_ids):
            placed += list(self.store.db.execute(
                "SELECT story_id, article_id, method, score, like_article FROM story_articles"
                f" WHERE story_id IN ({_marks(chunk)}) ORDER BY story_id, published, article_id",
                chunk))
        hits = {h.article.id: h for h in self.store.hits.many([p[1] for p in placed])}
        found: dict[str, list[StoryReport]] = {}
        for story, article, method, score, like in placed:
            if article in hits:
                found.setdefault(story, []).append(
                    StoryReport(hit=hits[article], method=method, score=score, like=like))
        return found


def _seconds(moment: datetime) -> int:
    """A time as the key index stores it: whole Unix seconds (a naive time is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start:start + _CHUNK])


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" * len(values))
