"""The queue of article pages to fetch (``article_pages``) and the bodies they give (design §12).

One row per article whose page is wanted. Its life: ``pending`` (due at ``next_attempt``) →
``fetching`` (claimed by a worker, ``attempts`` counted) → ``done`` (a body stored, or a page
with none: ``reason`` paywall or empty), ``failed`` (``reason`` http status or error, after the
last attempt) or ``skipped`` (never fetched: robots, unresolvable link, not html, too large,
refused address). A process killed mid-fetch leaves rows ``fetching``: ``recover`` puts them
back to ``pending`` at the next start, and ``done`` rows are never taken again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from storage.records import Match, PageStats
from storage.rows import match_row, time_text

if TYPE_CHECKING:
    from storage.store import Store

PageState = Literal["pending", "fetching", "done", "failed", "skipped"]
# Why an article got no body (or only a paywall's teaser). "http status" rows keep the status.
REASONS = ("robots", "paywall", "empty", "unresolvable link", "not a web link", "not html",
           "too large", "refused address", "http status", "error")

_INSERT_MATCH = ("INSERT INTO matches (article_id, item, kind, term, field, snippet)"
                 " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
_CHUNK = 500


@dataclass(frozen=True)
class PageRequest:
    """An article whose page is wanted: ``url`` to fetch, or a ``reason`` why it cannot be
    (the row is stored skipped, with its link when there is one, so `feeds` can say why)."""

    article_id: str
    feed: str
    url: str | None
    host: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PageTask:
    """A due row, as the worker takes it."""

    article_id: str
    feed: str
    url: str
    host: str
    attempts: int
    queued_at: str


class PageQueue:
    def __init__(self, store: Store) -> None:
        self.store = store

    def enqueue(self, requests: Sequence[PageRequest], now: datetime) -> int:
        """Queue these pages (an article already queued is left as it is); return how many."""
        rows = [(r.article_id, r.feed, r.url, r.host,
                 "pending" if r.url is not None and r.reason is None else "skipped", r.reason,
                 time_text(now), time_text(now)) for r in requests]
        with self.store.transaction() as db:
            cursor = db.conn.executemany(
                "INSERT INTO article_pages (article_id, feed, url, host, state, reason,"
                " queued_at, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING", rows)
        return cursor.rowcount

    def recover(self) -> int:
        """Rows a killed process left ``fetching`` go back to ``pending``, their attempt not
        counted (it never finished). Called once when a worker starts."""
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE article_pages SET state = 'pending',"
                                " attempts = max(attempts - 1, 0) WHERE state = 'fetching'")
        return cursor.rowcount

    def due(self, now: datetime, *, limit: int = 10_000,
            first: Sequence[str] = ()) -> list[PageTask]:
        """Pending rows due by ``now``, oldest first, the articles in ``first`` before them."""
        with self.store.translated():
            rows = self.store.db.execute(
                "SELECT article_id, feed, url, host, attempts, queued_at FROM article_pages"
                " WHERE state = 'pending' AND next_attempt <= ? ORDER BY queued_at, rowid"
                " LIMIT ?", [time_text(now), limit]).fetchall()
        tasks = [PageTask(*row) for row in rows]
        wanted = set(first)
        return [t for t in tasks if t.article_id in wanted] + \
            [t for t in tasks if t.article_id not in wanted]

    def due_count(self, now: datetime) -> int:
        """How many pending rows are due by ``now``."""
        with self.store.translated():
            return int(self.store.db.execute(
                "SELECT count(*) FROM article_pages WHERE state = 'pending' AND next_attempt <= ?",
                [time_text(now)]).fetchone()[0])

    def claim(self, article_id: str) -> bool:
        """Mark a pending row ``fetching`` (one attempt more); False if it is not pending."""
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE article_pages SET state = 'fetching',"
                                " attempts = attempts + 1"
                                " WHERE article_id = ? AND state = 'pending'", [article_id])
        return cursor.rowcount == 1

    def release(self, article_id: str) -> None:
        """A claimed row the worker did not finish (shutdown, deadline): pending again, the
        attempt not counted."""
        with self.store.transaction() as db:
            db.execute("UPDATE article_pages SET state = 'pending',"
                       " attempts = max(attempts - 1, 0)"
                       " WHERE article_id = ? AND state = 'fetching'", [article_id])

    def store_body(self, article_id: str, body: str, matches: Sequence[Match], *,
                   now: datetime, reason: str | None = None) -> bool:
        """The page's text and what it matched, and the row done, in one transaction. Returns
        True when the article was no hit before and is one now."""
        with self.store.transaction() as db:
            before = db.execute("SELECT 1 FROM matches WHERE article_id = ? LIMIT 1",
                                [article_id]).fetchone()
            if body:
                db.execute("UPDATE articles SET body = ? WHERE id = ?", [body, article_id])
            db.conn.executemany(_INSERT_MATCH, [match_row(article_id, m) for m in matches])
            db.execute("UPDATE article_pages SET state = 'done', reason = ?, detail = NULL,"
                       " http_status = NULL, fetched_at = ? WHERE article_id = ?",
                       [reason, time_text(now), article_id])
        return before is None and bool(matches)

    def finish_without_body(self, article_id: str, *, state: PageState, reason: str,
                            detail: str | None = None, http_status: int | None = None,
                            now: datetime, retry_at: datetime | None = None) -> None:
        """The page gave no body: ``retry_at`` puts the row back to pending until then;
        otherwise it ends in ``state`` with ``reason``."""
        with self.store.transaction() as db:
            db.execute("UPDATE article_pages SET state = ?, reason = ?, detail = ?,"
                       " http_status = ?, fetched_at = ?, next_attempt = ?"
                       " WHERE article_id = ?",
                       ["pending" if retry_at else state, reason, detail, http_status,
                        time_text(now), time_text(retry_at or now), article_id])

    def state(self, article_id: str) -> tuple[PageState, str | None] | None:
        """A row's state and reason; None when the article was never queued."""
        with self.store.translated():
            row = self.store.db.execute("SELECT state, reason FROM article_pages"
                                        " WHERE article_id = ?", [article_id]).fetchone()
        return None if row is None else (row[0], row[1])

    def waiting(self) -> int:
        """Rows still to fetch (pending or being fetched)."""
        with self.store.translated():
            return int(self.store.db.execute(
                "SELECT count(*) FROM article_pages WHERE state IN ('pending', 'fetching')"
            ).fetchone()[0])

    def stats(self) -> dict[str, PageStats]:
        """Per feed: how many pages were wanted, how many gave a body, why the others did not."""
        found: dict[str, PageStats] = {}
        with self.store.translated():
            rows = self.store.db.execute(
                "SELECT feed, state, reason, count(*) FROM article_pages"
                " GROUP BY feed, state, reason").fetchall()
        for feed, state, reason, count in rows:
            old = found.get(feed, PageStats())
            reasons = dict(old.reasons)
            waiting = state in ("pending", "fetching")
            bodies = state == "done" and reason is None
            if not waiting and not bodies:
                reasons[reason or "error"] = reasons.get(reason or "error", 0) + count
            found[feed] = PageStats(wanted=old.wanted + count,
                                    bodies=old.bodies + (count if bodies else 0),
                                    waiting=old.waiting + (count if waiting else 0),
                                    reasons=reasons)
        return found
