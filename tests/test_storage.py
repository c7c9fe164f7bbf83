"""The SQLite store, on real database files in tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from builders import NOW, article
from sqlite_utils import Database

from storage.errors import StorageError
from storage.hits import HitFilters, SearchError, fts_query
from storage.records import FeedState, Field, Match
from storage.schema import MIGRATIONS, pending_migrations
from storage.sqlite_errors import describe
from storage.store import Store


def program(item: str = "Mission Firewall", term: str = "Mission Firewall",
            field: Field = "title") -> Match:
    return Match(item=item, kind="program", term=term, field=field, snippet=f"... {term} ...")


def topic(item: str = "Arms trafficking", term: str = "arms trafficking") -> Match:
    return Match(item=item, kind="topic", term=term, field="summary", snippet=f"... {term} ...")


def feed(name: str = "Feed A", **changes: Any) -> FeedState:
    return replace(FeedState(name=name, url=f"https://feeds.example/{name}"), **changes)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "armswatch.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        yield opened


def table_count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def ids(hits: list[Any]) -> list[str]:
    return [h.article.id for h in hits]


# --- opening, pragmas, migrations -------------------------------------------------------------

def test_open_creates_folders_and_uses_wal_with_foreign_keys(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert db_path.is_file()
        assert store.db.journal_mode == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert {"feeds", "articles", "matches", "digests", "deliveries", "articles_fts"} <= set(
            store.db.table_names())
        assert store.db.view_names() == ["hits", "story_reports"]


def test_migrations_are_applied_once_and_reopening_keeps_data(db_path: Path) -> None:
    def applied(store: Store) -> list[dict[str, Any]]:
        return list(store.db.query("SELECT name, applied_at FROM _sqlite_migrations ORDER BY id"))

    with Store.open(db_path) as store:
        first = applied(store)
        store.save_feed_result(feed(), [article(1)], {"id-1": [program()]})
    names = [m["name"] for m in first]
    assert names[0] == "0001_initial" and len(names) == len(set(names))
    for _ in range(2):
        with Store.open(db_path) as store:
            store.migrate()
            assert applied(store) == first   # nothing applied again
            assert pending_migrations(store.db) == []
            assert store.articles.count() == 1
            assert store.hits.count() == 1


def test_digest_tables_have_the_agreed_columns(store: Store) -> None:
    digests = {c.name: (c.type, c.notnull, c.default_value) for c in store.db["digests"].columns}
    assert digests["status"] == ("TEXT", 1, "'pending'")
    assert digests["attempts"] == ("INTEGER", 1, "0")
    assert set(digests) == {"id", "channel", "created", "period_start", "period_end", "status",
                            "attempts", "last_error", "next_attempt", "sent_at", "message_id"}
    deliveries = store.db.table("deliveries")
    assert deliveries.pks == ["channel", "article_id"]
    assert {(fk.column, fk.other_table) for fk in deliveries.foreign_keys} == {
        ("article_id", "articles"), ("digest_id", "digests")}


def test_times_are_stored_as_iso_utc_text(store: Store) -> None:
    in_mexico = datetime(2026, 11, 23, 11, 56, 0, 123456, tzinfo=timezone(timedelta(hours=-6)))
    store.save_feed_state(feed(last_checked=in_mexico))
    raw = store.db.execute("SELECT last_checked FROM feeds").fetchone()[0]
    assert raw == "2026-11-23T17:56:00+00:00"


# --- feeds ------------------------------------------------------------------------------------

def test_feed_state_round_trip(store: Store) -> None:
    state = FeedState(
        name="Feed A", url="https://feeds.example/a", etag='W/"abc"',
        last_modified="Mon, 23 Nov 2026 17:00:00 GMT", body_hash="f00d", status="failed",
        http_status=503, error="HTTP 503 Service Unavailable", error_count=3,
        failing_since=NOW - timedelta(hours=2), last_checked=NOW,
        last_success=NOW - timedelta(days=1), next_check=NOW + timedelta(minutes=30))
    store.save_feed_state(state)
    assert store.feeds.get("Feed A") == state
    store.save_feed_state(replace(state, status="ok", error=None, error_count=0,
                                  failing_since=None))
    assert store.feeds.get("Feed A") == replace(state, status="ok", error=None, error_count=0,
                                                failing_since=None)
    assert store.feeds.get("missing") is None
    assert store.feeds.all() == [store.feeds.get("Feed A")]


def test_sync_adds_due_feeds_resets_moved_ones_and_keeps_the_rest(store: Store) -> None:
    store.save_feed_state(FeedState(
        name="moved", url="https://old.example/rss", etag="e1", last_modified="lm",
        body_hash="h", status="failed", error="HTTP 404 Not Found", error_count=2,
        failing_since=NOW, next_check=NOW + timedelta(hours=1)))
    store.save_feed_state(feed("dropped", etag="keep", next_check=NOW + timedelta(hours=1)))
    store.feeds.sync(iter([("new", "https://new.example/rss"),
                           ("moved", "https://new.example/moved")]))
    new = store.feeds.get("new")
    assert new == FeedState(name="new", url="https://new.example/rss")  # due now
    moved = store.feeds.get("moved")
    assert moved is not None
    assert (moved.url, moved.etag, moved.last_modified, moved.body_hash) == (
        "https://new.example/moved", None, None, None)
    assert (moved.status, moved.error_count, moved.next_check) == ("new", 0, None)
    assert store.feeds.get("dropped") == feed("dropped", etag="keep",
                                              next_check=NOW + timedelta(hours=1))
    store.feeds.sync([("new", "https://new.example/rss")])  # no change the second time
    assert store.feeds.get("new") == new


def test_due_lists_never_checked_and_overdue_feeds_only(store: Store) -> None:
    store.feeds.sync([("never", "u1"), ("late", "u2"), ("later", "u3"), ("other", "u4")])
    store.save_feed_state(FeedState(name="late", url="u2", next_check=NOW - timedelta(hours=1)))
    store.save_feed_state(FeedState(name="later", url="u3", next_check=NOW + timedelta(hours=1)))
    store.save_feed_state(FeedState(name="on time", url="u5", next_check=NOW))
    due = store.feeds.due(["never", "late", "later", "on time", "unknown"], NOW)
    assert [s.name for s in due] == ["never", "late", "on time"]
    assert [s.name for s in store.feeds.due((f"x{i}" for i in range(1200)), NOW)] == []


def test_health_counts_articles_first_seen_in_each_feed(store: Store) -> None:
    store.feeds.sync([("Feed A", "a"), ("Feed B", "b")])
    store.save_feed_result(feed("Feed A"), [article(1), article(2, first_seen=NOW
                                                               + timedelta(minutes=5))], {})
    health = {h.state.name: h for h in store.feeds.health()}
    assert (health["Feed A"].articles, health["Feed A"].last_article) == (
        2, NOW + timedelta(minutes=5))
    assert (health["Feed B"].articles, health["Feed B"].last_article) == (0, None)


# --- articles: dedupe, atomic writes ----------------------------------------------------------

def test_save_feed_result_stores_articles_matches_and_state_together(store: Store) -> None:
    state = feed(etag="v1", status="ok", last_checked=NOW)
    result = store.save_feed_result(state, [article(1), article(2)],
                                    {"id-1": [program(), topic()]})
    assert result.new_articles == ["id-1", "id-2"]
    assert result.new_hits == 1
    assert store.articles.get("id-1") == article(1)
    assert store.feeds.get("Feed A") == state
    assert table_count(store, "matches") == 2


def test_a_guid_is_unique_only_within_its_feed(store: Store) -> None:
    # Another feed polled first with the same guid (the attack: a hostile feed claiming guid
    # 1005) must not make this feed's item look known, nor hide it.
    claimed = article(1, id="hostile-1", feed="Hostile", guid="1005", title="Cheap watches",
                      url="https://spam.example/1", canonical_url="https://spam.example/1")
    store.save_feed_result(feed("Hostile"), [claimed], {})
    real = article(2, guid="1005")
    assert store.articles.known([real]) == set()
    result = store.save_feed_result(feed("Feed A"), [real], {"id-2": [program()]})
    assert (result.new_articles, result.linked, result.new_hits) == (["id-2"], [], 1)
    assert store.articles.get("id-2") == real
    assert store.articles.get("hostile-1") == claimed
    # Within its own feed the guid is still the item's identity.
    again = article(2, id="id-2-again", title="Story number 2, edited")
    assert store.articles.known([again]) == {"id-2-again"}


def test_same_url_and_same_text_in_two_feeds_is_one_article_with_two_sources(
        store: Store) -> None:
    store.save_feed_result(feed("Feed A"), [article(1)], {"id-1": [program()]})
    syndicated = article(1, id="b-1", feed="Feed B", guid="feed-b-guid",
                         url="https://news.example/1?utm_source=b")
    assert store.articles.known([syndicated]) == set()
    result = store.save_feed_result(feed("Feed B"), [syndicated], {"b-1": [program()]})
    assert (result.new_articles, result.linked, result.new_hits) == ([], ["id-1"], 0)
    assert table_count(store, "articles") == 1
    assert table_count(store, "matches") == 1
    assert store.articles.sources("id-1") == ["Feed A", "Feed B"]
    [hit] = store.hits.query()
    assert hit.article.id == "id-1" and hit.sources == ("Feed A", "Feed B")
    assert list(store.db.query("SELECT id, sources FROM hits")) == [
        {"id": "id-1", "sources": "Feed A, Feed B"}]
    # Feed B knows the item now: the next poll of it stores and links nothing more.
    assert store.articles.known([syndicated]) == {"b-1"}
    assert {(h.state.name, h.articles) for h in store.feeds.health()} == {
        ("Feed A", 1), ("Feed B", 1)}


def test_a_feed_claiming_a_real_url_takes_neither_the_item_nor_its_text(store: Store) -> None:
    claim = article(1, id="hostile-1", feed="Hostile", guid="1005",
                    title="Mission Firewall is a hoax", summary="Buy now")
    store.save_feed_result(feed("Hostile"), [claim], {"hostile-1": [program()]})
    real = article(1, guid="1005", title="Justice Department charges straw purchasers",
                   summary="Prosecutors say the rifles went to Sinaloa under Mission Firewall.")
    result = store.save_feed_result(feed("Feed A"), [real], {"id-1": [topic(), program()]})
    assert (result.new_articles, result.linked, result.new_hits) == (["id-1"], [], 1)
    assert store.articles.get("id-1") == real
    assert store.articles.get("hostile-1") == claim
    assert store.articles.sources("id-1") == ["Feed A"]
    real_hit = store.hits.get("id-1")
    assert real_hit is not None and real_hit.programs == ["Mission Firewall"]
    assert real_hit.topics == ["Arms trafficking"]


def database_before(db_path: Path, migration: str) -> tuple[sqlite3.Connection, Database]:
    """A database as an older Armswatch left it: migrated up to, not including, ``migration``."""
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    db = Database(conn)
    MIGRATIONS.apply(db, stop_before=migration)
    return conn, db


def test_migration_keeps_every_article_as_its_feeds_source(db_path: Path) -> None:
    """A database written before identity per feed (migrations 0001-0002) converts with nothing
    lost: its articles, matches, deliveries, FTS and hits view stay, and each article's feed
    knows it brought it in, so polling that feed again stores no copy."""
    conn, db = database_before(db_path, "0003_identity_per_feed")
    db.execute("INSERT INTO articles (id, feed, guid, url, canonical_url, title, summary,"
               " published, first_seen) VALUES ('old-1', 'Feed A', 'guid-1',"
               " 'https://news.example/1?utm=x', 'https://news.example/1', 'Mission Firewall',"
               " '', '2026-11-20T12:00:00+00:00', '2026-11-20T12:00:00+00:00')")
    db.execute("INSERT INTO matches VALUES ('old-1', 'Mission Firewall', 'program',"
               " 'Mission Firewall', 'title', 'Mission Firewall')")
    conn.commit()
    conn.close()
    with Store.open(db_path) as store:
        assert pending_migrations(store.db) == []
        assert store.articles.sources("old-1") == ["Feed A"]
        again = article(1, id="new-scheme-id")
        assert store.articles.known([again]) == {"new-scheme-id"}
        assert store.save_feed_result(feed(), [again], {}).new_articles == []
        assert [h.article.id for h in store.hits.query(search="firewall")] == ["old-1"]
        assert [r["sources"] for r in store.db.query("SELECT sources FROM hits")] == ["Feed A"]
        # Another feed with the same guid is no longer swallowed by the old global index.
        other = article(1, id="b-1", feed="Feed B", title="Another story", url=None,
                        canonical_url=None)
        assert store.save_feed_result(feed("Feed B"), [other], {}).new_articles == ["b-1"]


def test_migration_0006_indexes_content_and_keeps_searches_to_titles_and_summaries(
        db_path: Path) -> None:
    """A database from before backfills: its articles are indexed again with their content, the
    triggers keep the new index in step, and `hits --search` still reads titles and summaries
    only."""
    conn, db = database_before(db_path, "0006_backfills")
    db.execute("INSERT INTO articles (id, feed, title, summary, content, published, first_seen)"
               " VALUES ('old-1', 'Feed A', 'Mission Firewall', 'en Sonora', 'Operación Norte',"
               " '2026-11-20T12:00:00+00:00', '2026-11-20T12:00:00+00:00')")
    db.execute("INSERT INTO matches VALUES ('old-1', 'Mission Firewall', 'program',"
               " 'Mission Firewall', 'title', 'Mission Firewall')")
    conn.commit()
    conn.close()
    with Store.open(db_path) as store:
        assert pending_migrations(store.db) == []
        found = list(store.backfills.candidates(["operacion norte"], "Nothing", None))
        assert [a.id for a in found] == ["old-1"]
        assert [h.article.id for h in store.hits.query(search="sonora")] == ["old-1"]
        assert store.hits.query(search="operacion") == []      # content is not searched
        store.save_feed_result(feed(), [article(2, content="Operación Norte otra vez")], {})
        found = list(store.backfills.candidates(["operacion norte"], "Nothing", None))
        assert sorted(a.id for a in found) == ["id-2", "old-1"]
        stored = store.db.execute("SELECT backfill_id FROM matches").fetchall()
        assert stored == [(None,)]


def test_repeats_inside_one_batch_keep_the_first(store: Store) -> None:
    first = article(1)
    same_guid = article(2, guid="guid-1")
    same_id = article(1, title="a later copy")
    result = store.save_feed_result(feed(), [first, same_guid, same_id, article(3)],
                                    {"id-1": [program()], "id-2": [program()]})
    assert result.new_articles == ["id-1", "id-3"]
    assert result.new_hits == 1
    assert store.articles.get("id-1") == first
    assert store.db.execute("SELECT DISTINCT article_id FROM matches").fetchall() == [("id-1",)]


def test_known_checks_large_batches(store: Store) -> None:
    stored = [article(n) for n in range(1200)]
    store.save_feed_result(feed(), stored, {})
    probes = ([article(n, id=f"new-{n}") for n in range(0, 1200, 2)]          # same guid
              + [article(n) for n in range(1, 1200, 2)]                       # same id
              + [article(n, id=f"fresh-{n}", guid=None, canonical_url=None) for n in range(5)]
              + [article(n, id=f"other-{n}", feed="Feed B") for n in range(5)])  # other feed
    assert store.articles.known(probes) == {p.id for p in probes[:1200]}


def test_a_failing_batch_stores_nothing_and_keeps_earlier_data(store: Store) -> None:
    store.save_feed_result(feed(etag="v1"), [article(1)], {"id-1": [program()]})
    bad_match = Match(item="X", kind=cast(Any, "bogus"), term="x", field="title", snippet="x")
    with pytest.raises(StorageError, match=r"armswatch\.db: refused to store invalid data"):
        store.save_feed_result(feed(etag="v2"), [article(2), article(3)],
                               {"id-2": [program()], "id-3": [bad_match]})
    # The last step failing (the feed state) also undoes the articles and matches before it.
    with pytest.raises(StorageError, match="nothing of this write was saved"):
        store.save_feed_result(feed(etag="v3", error_count=cast(Any, None)), [article(4)],
                               {"id-4": [program()]})
    assert [a["id"] for a in store.db.query("SELECT id FROM articles")] == ["id-1"]
    assert table_count(store, "matches") == 1
    assert store.hits.query(search="story") == store.hits.query()
    state = store.feeds.get("Feed A")
    assert state is not None and state.etag == "v1"
    # The store is still usable afterwards.
    assert store.save_feed_result(feed(etag="v5"), [article(2)], {}).new_articles == ["id-2"]


def test_an_exception_from_bad_data_rolls_back_too(store: Store) -> None:
    store.save_feed_result(feed(), [article(1)], {})
    broken = article(2, published=cast(Any, "yesterday"))
    with pytest.raises(AttributeError):
        store.save_feed_result(feed(etag="v2"), [article(3), broken], {})
    assert not store.db.conn.in_transaction
    assert store.articles.count() == 1
    assert store.articles.get("id-3") is None


# --- failures of the database itself ----------------------------------------------------------

def test_locked_database_gives_a_clear_error_and_loses_nothing(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=0.1) as store:
        store.save_feed_result(feed(etag="v1"), [article(1)], {"id-1": [program()]})
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StorageError) as caught:
                store.save_feed_result(feed(etag="v2"), [article(2)], {"id-2": [program()]})
            message = str(caught.value)
            assert str(db_path) in message
            assert "locked by another process" in message
            with pytest.raises(StorageError, match="locked"):
                store.save_feed_state(feed(etag="v3"))
            assert store.articles.count() == 1  # reading still works in WAL
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.save_feed_result(feed(etag="v4"), [article(2)], {}).new_articles == ["id-2"]
    with Store.open(db_path) as store:
        assert sorted(a["id"] for a in store.db.query("SELECT id FROM articles")) == [
            "id-1", "id-2"]
        state = store.feeds.get("Feed A")
        assert state is not None and state.etag == "v4"


def test_full_disk_gives_a_clear_error_and_earlier_data_survives(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.save_feed_result(feed(etag="v1"), [article(1)], {"id-1": [program()]})
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        # Cap this connection's database size just above what it uses: SQLITE_FULL, as on a
        # full disk (no tiny filesystem is available without root tricks).
        store.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        big = [article(n, summary="arms " * 2000) for n in range(2, 60)]
        with pytest.raises(StorageError) as caught:
            store.save_feed_result(feed(etag="v2"), big, {a.id: [program()] for a in big})
        assert str(caught.value).startswith(f"{db_path}: the disk is full")
        assert not store.db.conn.in_transaction
    with Store.open(db_path) as store:
        assert [a["id"] for a in store.db.query("SELECT id FROM articles")] == ["id-1"]
        assert table_count(store, "matches") == 1
        assert ids(store.hits.query(search="story")) == ["id-1"]
        state = store.feeds.get("Feed A")
        assert state is not None and state.etag == "v1"


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StorageError, match=r"notes\.db: this file is not an SQLite database"):
        Store.open(path)
    assert path.read_bytes() == before


def test_a_folder_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StorageError, match="cannot create the folder"):
        Store.open(blocker / "armswatch.db")
    assert blocker.read_text() == "a file where the folder should be"


def test_a_folder_given_as_the_database_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open the database file"):
        Store.open(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_read_only_database_message(db_path: Path) -> None:
    Store.open(db_path).close()
    # Running as root defeats file permissions, so provoke the real error with a read-only URI.
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.Error) as caught:
            conn.execute("INSERT INTO feeds (name, url) VALUES ('a', 'b')")
    finally:
        conn.close()
    message = describe(caught.value, db_path)
    assert message == (f"{db_path}: the database is read-only;"
                       " check the permissions of the file and folder")


# --- hits -------------------------------------------------------------------------------------

@pytest.fixture
def hits_store(store: Store) -> Store:
    articles = [
        article(1, title="Misión Cortafuegos: México y EU contra el tráfico de armas",
                language="es"),
        article(2, title="ATF expands e-Trace access for Mexican prosecutors"),
        article(3, title="Straw purchasers charged", summary="An eTrace request led to them"),
        article(4, title="Firewall update for routers", summary="network security"),
        article(5, title="Operación Rápido y Furioso, quince años después", language="es"),
    ]
    matches = {
        "id-1": [topic("Arms trafficking", "tráfico de armas"),
                 program("Mission Firewall", "Misión Cortafuegos")],
        "id-2": [program("eTrace", "e-Trace")],
        "id-3": [topic("Arms trafficking", "straw purchaser"),
                 program("eTrace", "eTrace", field="summary")],
        "id-5": [program("Fast and Furious", "Operación Rápido y Furioso")],
    }
    store.save_feed_result(feed(), articles, matches)
    return store


def test_hits_are_newest_first_with_programs_first(hits_store: Store) -> None:
    found = hits_store.hits.query()
    assert ids(found) == ["id-1", "id-2", "id-3", "id-5"]  # id-4 matched nothing
    first = found[0]
    assert [m.kind for m in first.matches] == ["program", "topic"]
    assert first.programs == ["Mission Firewall"] and first.topics == ["Arms trafficking"]
    assert first.article == article(1, title=first.article.title, language="es")
    assert hits_store.hits.count() == 4


def test_hits_filters(hits_store: Store) -> None:
    query = hits_store.hits.query
    assert ids(query(item="ETRACE")) == ["id-2", "id-3"]
    assert ids(query(item="etrace", since=NOW - timedelta(hours=2))) == ["id-2"]
    assert ids(query(since=NOW - timedelta(hours=3))) == ["id-1", "id-2", "id-3"]
    assert ids(query(language="es")) == ["id-1", "id-5"]
    assert ids(query(language="ES", item="fast and furious")) == ["id-5"]
    assert ids(query(limit=2)) == ["id-1", "id-2"]
    assert ids(query(kinds=["topic"])) == ["id-1", "id-3"]
    assert ids(query(item="Mission Firewall", kinds=["topic"])) == []
    assert ids(query(item="no such item")) == []
    with pytest.raises(ValueError, match="limit must be at least 1"):
        query(limit=0)


def test_search_ignores_accents_and_keeps_punctuation_safe(hits_store: Store) -> None:
    query = hits_store.hits.query
    assert ids(query(search="mision")) == ["id-1"]
    assert ids(query(search="MISIÓN cortafuegos")) == ["id-1"]
    assert ids(query(search="rapido furioso")) == ["id-5"]
    # Hyphenated words also find their joined form; FTS syntax is just text.
    assert ids(query(search="e-Trace")) == ["id-2", "id-3"]
    assert ids(query(search="eTrace")) == ["id-3"]
    assert ids(query(search='"tráfico de armas"')) == ["id-1"]
    for odd in ["(firewall", "title:firewall", "* routers", "firewall*", "a-", "x -", "^x",
                "NEAR(a b)", "routers)"]:
        assert isinstance(query(search=odd), list)
    assert ids(query(search="firewall")) == []  # id-4 says it, but is not a hit
    assert ids(query(search="etrace", item="eTrace", language="en")) == ["id-3"]


def test_search_or_phrases_and_exclusion(hits_store: Store) -> None:
    query = hits_store.hits.query
    assert ids(query(search="armas OR purchasers")) == ["id-1", "id-3"]
    assert ids(query(search='"Rápido y Furioso" OR e-Trace')) == ["id-2", "id-3", "id-5"]
    assert ids(query(search="e-Trace -straw")) == ["id-2"]
    assert ids(query(search="e-Trace NOT straw")) == ["id-2"]
    assert ids(query(search='e-Trace -"straw purchasers"')) == ["id-2"]
    assert ids(query(search="e-Trace -straw -prosecutors")) == []
    assert ids(query(search="armas OR purchasers charged")) == ["id-3"]   # OR binds its neighbours
    assert ids(query(search="armas AND cortafuegos")) == ["id-1"]
    assert ids(query(search="armas or purchasers")) == []   # lower-case "or" is a word


@pytest.mark.parametrize(("text", "message"), [
    ('"Mission Firewall', 'a quotation mark (") is not closed'),
    ('a"b', 'a quotation mark (") is not closed'),
    ("OR guns", "OR needs a word or phrase on each side: armas OR guns"),
    ("armas OR OR guns", "OR needs a word or phrase on each side: armas OR guns"),
    ("armas OR", "OR at the end needs a word after it"),
    ("armas NOT", "NOT at the end needs a word after it"),
    ("armas OR -airsoft", "OR cannot join a left-out word: write armas OR guns -airsoft"),
    ("-airsoft", "a search needs a word to find, not only words to leave out"),
    ("NOT firewall", "a search needs a word to find, not only words to leave out"),
    ("!!! -", "nothing to search for: a search needs letters or digits"),
])
def test_a_search_that_is_not_a_query_says_why(hits_store: Store, text: str,
                                               message: str) -> None:
    with pytest.raises(SearchError) as caught:
        hits_store.hits.query(search=text)
    assert str(caught.value) == message


def test_item_names_and_languages_of_stored_hits(hits_store: Store) -> None:
    assert hits_store.hits.item_names() == ["Arms trafficking", "Fast and Furious",
                                            "Mission Firewall", "eTrace"]
    assert hits_store.hits.languages() == ["en", "es"]


def test_no_item_names_or_languages_without_hits(store: Store) -> None:
    store.save_feed_result(feed(), [article(9, title="Nothing to see", language="fr")], {})
    assert store.hits.item_names() == [] and store.hits.languages() == []


def test_fts_query_quotes_every_word() -> None:
    assert fts_query("e-Trace -firewall") == '(("e-Trace" OR "eTrace")) NOT ("firewall")'
    assert fts_query('say "Mission Firewall" now') == '"say" AND "Mission Firewall" AND "now"'
    assert fts_query("a b OR c") == '"a" AND ("b" OR "c")'
    assert fts_query("  ") is None


def test_every_query_plan_gives_the_same_hits(hits_store: Store) -> None:
    cases = [
        HitFilters(item=None, since=None, fts=None, language=None, kinds=()),
        HitFilters(item="etrace", since=None, fts=None, language="en", kinds=()),
        HitFilters(item=None, since=NOW - timedelta(hours=4), fts=fts_query("e-trace"),
                   language=None, kinds=("program",)),
        HitFilters(item="Arms trafficking", since=None, fts=fts_query("armas"), language=None,
                   kinds=("topic",)),
    ]
    for filters in cases:
        answers = []
        for driver in ("published", "matches", "fts"):
            if driver == "fts" and filters.fts is None:
                continue
            sql, params = filters.sql(driver)
            answers.append([r["id"] for r in hits_store.db.query(sql, params)])
        assert all(answer == answers[0] for answer in answers), (filters, answers)
        assert answers[0], filters


def test_get_returns_a_hit_or_none(hits_store: Store) -> None:
    hit = hits_store.hits.get("id-3")
    assert hit is not None
    assert [(m.item, m.field) for m in hit.matches] == [("eTrace", "summary"),
                                                        ("Arms trafficking", "summary")]
    assert hits_store.hits.get("id-4") is None   # stored, matched nothing
    assert hits_store.hits.get("nope") is None
    assert hits_store.articles.get("id-4") is not None


def test_hits_view_for_datasette(hits_store: Store) -> None:
    rows = list(hits_store.db.query("SELECT * FROM hits"))
    assert [r["id"] for r in rows] == ["id-1", "id-2", "id-3", "id-5"]
    first = rows[0]
    assert first["programs"] == "Mission Firewall"
    assert first["topics"] == "Arms trafficking"
    assert first["terms"] == "Misión Cortafuegos, tráfico de armas"
    assert first["url"] == "https://news.example/1?utm=x"
    assert set(first) >= {"id", "published", "first_seen", "feed", "title", "url", "language",
                          "programs", "topics", "terms"}
