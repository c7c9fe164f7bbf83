"""The SQLite store: one connection, WAL, short write transactions, one class per table behind it.

Every method raises StorageError (never a sqlite3 error) for an expected failure: the database is
locked, the disk is full, the file is not a database, it is read-only. A ``Store`` and its
connection belong to the thread that opened it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sqlite_utils import Database

from storage.articles import ArticleTable
from storage.backfills import BackfillTable
from storage.errors import StorageError
from storage.feeds import FeedTable
from storage.hits import HitTable
from storage.pages import PageQueue, PageRequest
from storage.records import Article, FeedState, Match, SaveResult
from storage.schema import apply_migrations, pending_migrations
from storage.sqlite_errors import translated
from storage.stories import StoryTable

DEFAULT_BUSY_TIMEOUT = 5.0  # seconds a write waits for another writer before giving up


class Store:
    """The Armswatch database. Open it with ``Store.open(path)``; use it as a context manager."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db          # for sibling table modules (e.g. the digest outbox)
        self.path = path
        self.feeds = FeedTable(self)
        self.articles = ArticleTable(self)
        self.hits = HitTable(self)
        self.backfills = BackfillTable(self)
        self.pages = PageQueue(self)
        self.stories = StoryTable(self)

    @classmethod
    def open(cls, path: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
        """Open (creating it and its folders if needed) and migrate the database at ``path``."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create the folder {path.parent}: "
                               f"{exc.strerror or exc}") from exc
        with translated(path):
            conn = sqlite3.connect(path, timeout=busy_timeout)
        try:
            store = cls(_prepare(conn, path), path)
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def migrate(self) -> None:
        """Apply pending migrations; opening does this, so only tests call it again."""
        with self.translated():
            if not pending_migrations(self.db):
                return  # the usual case: no write lock taken
        with self.transaction():
            apply_migrations(self.db)  # re-reads what is pending, now under the write lock

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def translated(self) -> AbstractContextManager[None]:
        """Turn sqlite3 errors raised inside the block into StorageError naming this file."""
        return translated(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction: all of it is committed, or none of it.

        BEGIN IMMEDIATE takes the write lock up front, so what we read inside (which articles
        are new) cannot change before we write. Nested use becomes a savepoint.
        """
        with self.translated():
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    def save_feed_state(self, state: FeedState) -> None:
        """Record a feed's state alone (after a failed or not-modified fetch)."""
        self.feeds.save(state)

    def save_feed_result(self, state: FeedState, articles: Sequence[Article],
                         matches: Mapping[str, Sequence[Match]],
                         pages: Sequence[PageRequest] = ()) -> SaveResult:
        """Store one feed's new articles, their matches and its state in one transaction.

        Articles this feed brought in before (same id, guid or canonical URL) are skipped; one
        with the same canonical URL and text as another feed's article is linked to it as a
        second source. Only articles actually inserted get matches, and only they are queued
        from ``pages`` (article pages to fetch, design §12): in the same transaction, so a crash
        cannot store an article and forget its page. ``matches`` maps article id to the
        evidence found in it.
        """
        with self.transaction():
            inserted, linked = self.articles.insert_new(articles)
            new_hits = self.hits.add_matches(inserted, matches)
            if pages:
                fresh = set(inserted)
                self.pages.enqueue([p for p in pages if p.article_id in fresh], state.last_checked
                                   or _now())
            self.feeds.save(state)
        return SaveResult(new_articles=inserted, new_hits=new_hits, linked=linked)


def _now() -> datetime:
    return datetime.now(UTC)


def _prepare(conn: sqlite3.Connection, path: Path) -> Database:
    with translated(path):
        db = Database(conn, execute_plugins=False)
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        # In WAL, NORMAL loses no committed data on a crash of the process, only possibly the
        # last transactions on power loss, and saves an fsync per commit.
        db.execute("PRAGMA synchronous = NORMAL")
        # Each feed's write dirties pages all over the id, guid and URL indexes: checkpointing
        # every ~160 MB of WAL instead of 4 MB writes a hot page back once, not forty times,
        # and pays the checkpoint's two fsyncs a quarter as often as at 40 MB did (a cold poll
        # writes ~13 MB of WAL per 1,000 articles; see docs/performance.md).
        db.execute("PRAGMA wal_autocheckpoint = 40000")
        db.execute("PRAGMA cache_size = -65536")  # KiB: keeps index interiors of 1M articles
        return db
