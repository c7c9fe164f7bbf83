"""The ``matches`` table and the queries over hits (articles that matched at least one item)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from storage.records import Hit, Kind, Match
from storage.rows import (
    MATCH_COLUMNS,
    article_from_row,
    match_from_row,
    match_row,
    time_text,
)

if TYPE_CHECKING:
    from storage.store import Store

_CHUNK = 500  # values per IN (...) query, well under SQLite's limit on parameters

# A repeated piece of evidence is kept once; invalid rows (NOT NULL, CHECK) still fail the write.
_INSERT = "INSERT INTO matches ({}) VALUES ({}) ON CONFLICT DO NOTHING".format(
    ", ".join(MATCH_COLUMNS), ", ".join("?" * len(MATCH_COLUMNS)))

# Programs before topics (design §6), then a stable order a reader can follow.
_MATCH_ORDER = ("CASE kind WHEN 'program' THEN 0 ELSE 1 END, item,"
                " CASE field WHEN 'title' THEN 0 WHEN 'summary' THEN 1 ELSE 2 END, term")

Driver = Literal["published", "matches", "fts"]

_HYPHENATED = re.compile(r"^\w+(?:-\w+)+$")


class HitTable:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add_matches(self, article_ids: Iterable[str],
                    matches: Mapping[str, Sequence[Match]]) -> int:
        """Store the matches of these articles; return how many of them have any."""
        rows = [match_row(article_id, match)
                for article_id in article_ids for match in matches.get(article_id, ())]
        with self.store.transaction() as db:
            db.conn.executemany(_INSERT, rows)
        return len({row[0] for row in rows})

    def query(self, *, item: str | None = None, since: datetime | None = None,
              search: str | None = None, language: str | None = None, limit: int = 50,
              kinds: Iterable[Kind] | None = None, feed: str | None = None) -> list[Hit]:
        """Hits, newest published first.

        ``item``: a canonical watch item name, any case. ``since``: published at or after.
        ``search``: what to find in titles and summaries, in the small language of
        ``fts_query`` (raises SearchError when it is not one). ``kinds``: only hits with a match
        of one of these kinds. ``feed``: only articles first seen in this feed.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        found_fts = fts_query(search) if search else None
        # The index also covers content (for backfills); a search keeps to what it says it reads.
        fts = None if found_fts is None else f"{{title summary}} : ({found_fts})"
        filters = HitFilters(item=item, since=since, fts=fts,
                             language=language, kinds=tuple(sorted(set(kinds or ()))),
                             feed=feed)
        with self.store.translated():
            sql, params = filters.sql(self._driver(filters, limit))
            rows = list(self.store.db.query(sql + " LIMIT ?", [*params, limit]))
            found = self._matches_of([r["id"] for r in rows])
            sources = self._sources_of([r["id"] for r in rows])
        return [Hit(article=article_from_row(r), matches=tuple(found.get(r["id"], ())),
                    sources=tuple(sources.get(r["id"], ()))) for r in rows]

    def item_names(self) -> list[str]:
        """The watch items that have hits stored, by name."""
        with self.store.translated():
            cursor = self.store.db.execute("SELECT DISTINCT item FROM matches ORDER BY item")
            return [row[0] for row in cursor]

    def languages(self) -> list[str]:
        """The language codes of stored hits."""
        with self.store.translated():
            cursor = self.store.db.execute(
                "SELECT DISTINCT a.language FROM articles AS a WHERE a.language IS NOT NULL"
                " AND EXISTS (SELECT 1 FROM matches AS m WHERE m.article_id = a.id)"
                " ORDER BY a.language")
            return [row[0] for row in cursor]

    def _driver(self, filters: HitFilters, limit: int) -> Driver:
        """Which rows to start from: the fewest candidates, or else the newest articles.

        Starting from n candidates costs about n lookups and a sort; walking articles newest
        first costs about limit * articles / n steps. They cross near sqrt(limit * articles).
        """
        size = self.store.db.execute("SELECT max(rowid) FROM articles").fetchone()[0] or 0
        bound = min(max(math.isqrt(limit * size), 500), 20_000)
        evidence, evidence_params = filters.evidence()
        counts: dict[Driver, int] = {"matches": self._count_upto(
            f"SELECT 1 FROM matches AS m WHERE {' AND '.join(evidence) or '1'}",
            evidence_params, bound)}
        if filters.fts is not None:
            counts["fts"] = self._count_upto(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [filters.fts], bound)
        few = sorted((n, driver) for driver, n in counts.items() if n <= bound)
        return few[0][1] if few else "published"

    def _count_upto(self, sql: str, params: list[Any], bound: int) -> int:
        """Rows of ``sql``, counted no further than ``bound + 1`` (so it stays cheap)."""
        cursor = self.store.db.execute(
            f"SELECT count(*) FROM ({sql} LIMIT {bound + 1})", params)
        return int(cursor.fetchone()[0])

    def get(self, article_id: str) -> Hit | None:
        """The hit for this article; None if there is no such article or it matched nothing."""
        with self.store.translated():
            rows = list(self.store.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
            found = self._matches_of([article_id])
            sources = self._sources_of([article_id])
        if not rows or article_id not in found:
            return None
        return Hit(article=article_from_row(rows[0]), matches=tuple(found[article_id]),
                   sources=tuple(sources.get(article_id, ())))

    def many(self, article_ids: Sequence[str]) -> list[Hit]:
        """The hits of these articles, in the order given; those that are no hit are left out."""
        rows: dict[str, dict[str, Any]] = {}
        with self.store.translated():
            for start in range(0, len(article_ids), _CHUNK):
                chunk = list(article_ids[start:start + _CHUNK])
                rows.update((row["id"], row) for row in self.store.db.query(
                    f"SELECT * FROM articles WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
            found = self._matches_of([i for i in article_ids if i in rows])
            sources = self._sources_of([i for i in article_ids if i in found])
        return [Hit(article=article_from_row(rows[i]), matches=tuple(found[i]),
                    sources=tuple(sources.get(i, ()))) for i in article_ids if i in found]

    def count(self) -> int:
        """How many articles have at least one match."""
        with self.store.translated():
            cursor = self.store.db.execute("SELECT count(DISTINCT article_id) FROM matches")
            return int(cursor.fetchone()[0])

    def _sources_of(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """The feeds that carried each article, the first one first."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(article_ids), _CHUNK):
            chunk = list(article_ids[start:start + _CHUNK])
            for article_id, feed in self.store.db.execute(
                    "SELECT article_id, feed FROM article_sources"
                    f" WHERE article_id IN ({', '.join('?' * len(chunk))})"
                    " ORDER BY article_id, first_seen, feed", chunk):
                found.setdefault(article_id, []).append(feed)
        return found

    def _matches_of(self, article_ids: Sequence[str]) -> dict[str, list[Match]]:
        found: dict[str, list[Match]] = {}
        for start in range(0, len(article_ids), _CHUNK):
            chunk = list(article_ids[start:start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            for row in self.store.db.query(
                    f"SELECT * FROM matches WHERE article_id IN ({marks})"
                    f" ORDER BY article_id, {_MATCH_ORDER}", chunk):
                found.setdefault(row["article_id"], []).append(match_from_row(row))
        return found


@dataclass(frozen=True)
class HitFilters:
    """A hits query's conditions, written as SQL for whichever driver runs it."""

    item: str | None
    since: datetime | None
    fts: str | None
    language: str | None
    kinds: tuple[str, ...]
    feed: str | None = None

    def evidence(self) -> tuple[list[str], list[Any]]:
        """Conditions on a match row ``m`` that a hit needs at least one of."""
        conditions: list[str] = []
        params: list[Any] = []
        if self.item is not None:
            conditions.append("m.item = ? COLLATE NOCASE")
            params.append(self.item)
        if self.kinds:
            conditions.append(f"m.kind IN ({', '.join('?' * len(self.kinds))})")
            params += self.kinds
        return conditions, params

    def sql(self, driver: Driver) -> tuple[str, list[Any]]:
        """The SELECT over articles (without LIMIT) and its parameters.

        CROSS JOIN fixes the join order, so the chosen driver really does drive.
        """
        evidence, evidence_params = self.evidence()
        where: list[str] = []
        params: list[Any] = []
        if driver == "fts":
            source = "articles_fts CROSS JOIN articles AS a ON a.rowid = articles_fts.rowid"
            where.append("articles_fts MATCH ?")
            params.append(self.fts)
        elif driver == "matches":
            source = (f"(SELECT DISTINCT m.article_id FROM matches AS m"
                      f" WHERE {' AND '.join(evidence) or '1'}) AS h"
                      " CROSS JOIN articles AS a ON a.id = h.article_id")
            params += evidence_params
        else:
            source = "articles AS a INDEXED BY articles_published"
        if driver != "matches":
            where.append("EXISTS (SELECT 1 FROM matches AS m WHERE "
                         + " AND ".join(["m.article_id = a.id", *evidence]) + ")")
            params += evidence_params
        if driver != "fts" and self.fts is not None:
            where.append("EXISTS (SELECT 1 FROM articles_fts AS f"
                         " WHERE f.rowid = a.rowid AND articles_fts MATCH ?)")
            params.append(self.fts)
        if self.since is not None:
            where.append("a.published >= ?")
            params.append(time_text(self.since))
        if self.language is not None:
            where.append("a.language = ? COLLATE NOCASE")
            params.append(self.language)
        if self.feed is not None:
            where.append("a.feed = ?")
            params.append(self.feed)
        sql = (f"SELECT a.* FROM {source} WHERE {' AND '.join(where) or '1'}"
               " ORDER BY a.published DESC, a.rowid DESC")
        return sql, params


class SearchError(ValueError):
    """A search text that is not a query in the language of ``fts_query``; says why."""


# A "quoted phrase" (maybe -excluded), or a run of anything else up to a space or a quote.
_SEARCH_TOKEN = re.compile(r'(-?)"([^"]*)"|([^\s"]+)')
_SEARCHABLE = re.compile(r"[^\W_]")   # a letter or digit: text the FTS tokenizer keeps


def fts_query(text: str) -> str | None:
    """The user's search as an FTS5 query that cannot be a syntax error; None for blank text.

    The search language (README, `armswatch hits`):
    - words are all required: ``armas Sonora``;
    - ``"a quoted phrase"`` finds the words together, in that order;
    - ``OR`` (capitals) between two words or phrases finds either: ``armas OR guns``;
    - ``-word`` or ``NOT word`` leaves out articles that have it: ``firewall -antivirus``;
    - accents are optional (the index ignores them), ``AND`` may be written but changes nothing,
      and anything else is text: ``e-Trace`` also finds ``eTrace``, ``(``, ``*`` and ``:`` are
      not operators.
    Raises SearchError, with a message for the user, for what cannot be a search.
    """
    if text.count('"') % 2:
        raise SearchError('a quotation mark (") is not closed')
    groups: list[list[str]] = []   # AND between groups, OR within one
    excluded: list[str] = []
    joining = excluding = False
    for match in _SEARCH_TOKEN.finditer(text):
        sign, phrase, word = match.groups()
        if word in ("OR", "AND", "NOT"):
            if word == "OR" and (joining or excluding or not groups):
                raise SearchError("OR needs a word or phrase on each side: armas OR guns")
            joining = joining or word == "OR"
            excluding = excluding or word == "NOT"
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            sign, word = "-", word[1:]
        term = _fts_term(word if word is not None else phrase)
        if term is None:
            continue
        if sign or excluding:
            if joining:
                raise SearchError("OR cannot join a left-out word: write armas OR guns -airsoft")
            excluded.append(term)
        elif joining:
            groups[-1].append(term)
        else:
            groups.append([term])
        joining = excluding = False
    if joining or excluding:
        raise SearchError(f"{'OR' if joining else 'NOT'} at the end needs a word after it")
    if not groups:
        if excluded:
            raise SearchError("a search needs a word to find, not only words to leave out")
        if text.strip():
            raise SearchError("nothing to search for: a search needs letters or digits")
        return None
    query = " AND ".join(g[0] if len(g) == 1 else f"({' OR '.join(g)})" for g in groups)
    return f"({query}) NOT ({' OR '.join(excluded)})" if excluded else query


def _fts_term(text: str) -> str | None:
    """A word or phrase as a quoted FTS5 phrase (so nothing in it is syntax); None when it has
    nothing the index keeps. A hyphenated word also finds its joined form: "e-Trace" finds
    "e-Trace", "e trace" and "eTrace"."""
    if not _SEARCHABLE.search(text):
        return None
    phrase = '"' + text.replace('"', '""') + '"'
    if _HYPHENATED.match(text):
        return f'({phrase} OR "{text.replace("-", "")}")'
    return phrase
