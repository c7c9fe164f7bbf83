"""The database schema, as migrations that only append (sqlite-utils ``Migrations``).

Never edit a migration that has shipped: add a new one below it. Each runs in a transaction with
the record of it having run, so a failed migration leaves the database as it was.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("armswatch")

_TABLES = [
    """CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        status TEXT NOT NULL DEFAULT 'new',
        http_status INTEGER,
        error TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        failing_since TEXT,
        last_checked TEXT,
        last_success TEXT,
        next_check TEXT
    )""",
    """CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        feed TEXT NOT NULL,
        guid TEXT,
        url TEXT,
        canonical_url TEXT,
        title TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        published TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        language TEXT,
        author TEXT
    )""",
    """CREATE TABLE matches (
        article_id TEXT NOT NULL REFERENCES articles(id),
        item TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('program', 'topic')),
        term TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('title', 'summary', 'content')),
        snippet TEXT NOT NULL,
        PRIMARY KEY (article_id, item, term, field)
    )""",
    """CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        created TEXT NOT NULL,
        period_start TEXT,
        period_end TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt TEXT,
        sent_at TEXT,
        message_id TEXT
    )""",
    """CREATE TABLE deliveries (
        channel TEXT NOT NULL,
        article_id TEXT NOT NULL REFERENCES articles(id),
        digest_id INTEGER NOT NULL REFERENCES digests(id),
        PRIMARY KEY (channel, article_id)
    )""",
]

_INDEXES = [
    # The same story from two feeds (or twice in one) is stored once.
    "CREATE UNIQUE INDEX articles_guid ON articles(guid) WHERE guid IS NOT NULL",
    "CREATE UNIQUE INDEX articles_canonical_url ON articles(canonical_url)"
    " WHERE canonical_url IS NOT NULL",
    "CREATE INDEX articles_published ON articles(published)",
    # Covers the per-feed count and newest first_seen of ``feeds`` health.
    "CREATE INDEX articles_feed ON articles(feed, first_seen)",
    # NOCASE: ``hits --item`` takes the canonical name in any case.
    "CREATE INDEX matches_item ON matches(item COLLATE NOCASE, article_id)",
    "CREATE INDEX deliveries_digest ON deliveries(digest_id)",
    "CREATE INDEX digests_channel_status ON digests(channel, status)",
]

# For people browsing in Datasette: one row per article that matched, newest first.
_HITS_VIEW = """
SELECT a.id, a.published, a.first_seen, a.feed, a.title,
       coalesce(a.url, a.canonical_url) AS url, a.language,
       (SELECT group_concat(item, ', ') FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'program' ORDER BY item)) AS programs,
       (SELECT group_concat(item, ', ') FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'topic' ORDER BY item)) AS topics,
       (SELECT group_concat(term, ', ') FROM (SELECT DISTINCT term FROM matches
         WHERE article_id = a.id ORDER BY term)) AS terms
FROM articles AS a
WHERE EXISTS (SELECT 1 FROM matches WHERE article_id = a.id)
ORDER BY a.published DESC
"""


@MIGRATIONS(name="0001_initial")
def create_initial_schema(db: Database) -> None:
    for statement in _TABLES + _INDEXES:
        db.execute(statement)
    # External-content FTS5 kept in step by triggers; remove_diacritics 2: "mision" finds "Misión".
    db.table("articles").enable_fts(["title", "summary"], create_triggers=True,
                                    tokenize="unicode61 remove_diacritics 2")
    db.create_view("hits", _HITS_VIEW)


# 0002: the same view with what browsing needs: the week (its Monday) to facet on, programs and
# topics as JSON arrays (Datasette's array facets count an article under each of its programs),
# and the article's rowid, which the full-text index ``articles_fts`` is keyed on, so the view
# can be searched. The columns of 0001 come first, unchanged.
_HITS_VIEW_FOR_BROWSING = """
SELECT a.id, a.published, a.first_seen, a.feed, a.title,
       coalesce(a.url, a.canonical_url) AS url, a.language,
       (SELECT group_concat(item, ', ') FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'program' ORDER BY item)) AS programs,
       (SELECT group_concat(item, ', ') FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'topic' ORDER BY item)) AS topics,
       (SELECT group_concat(term, ', ') FROM (SELECT DISTINCT term FROM matches
         WHERE article_id = a.id ORDER BY term)) AS terms,
       date(a.published, 'weekday 0', '-6 days') AS week,
       (SELECT json_group_array(item) FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'program' ORDER BY item)) AS program_list,
       (SELECT json_group_array(item) FROM (SELECT DISTINCT item FROM matches
         WHERE article_id = a.id AND kind = 'topic' ORDER BY item)) AS topic_list,
       a.rowid AS article_rowid
FROM articles AS a
WHERE EXISTS (SELECT 1 FROM matches WHERE article_id = a.id)
ORDER BY a.published DESC
"""


@MIGRATIONS(name="0002_hits_view_for_browsing")
def add_browsing_columns_to_hits(db: Database) -> None:
    db.execute("DROP VIEW hits")
    db.create_view("hits", _HITS_VIEW_FOR_BROWSING)


# 0003: identity per feed (issue 10). A guid is unique only within the feed that gives it, and
# the same canonical URL in another feed no longer drops that feed's item: each item a feed
# brought in is a row of ``article_sources``, pointing at the article it was stored as. An item
# of a second feed joins an article only when it says the same thing (storage/articles.py);
# otherwise it is an article of its own. Existing articles become their feed's first source,
# so nothing stored is lost and every feed still knows what it brought in.
_ARTICLE_SOURCES = """CREATE TABLE article_sources (
    article_id TEXT NOT NULL REFERENCES articles(id),
    feed TEXT NOT NULL,
    guid TEXT,
    url TEXT,
    canonical_url TEXT,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (article_id, feed)
)"""

_SOURCE_INDEXES = [
    # Within one feed, the same guid or the same canonical URL is the same item.
    "CREATE UNIQUE INDEX article_sources_guid ON article_sources(feed, guid)"
    " WHERE guid IS NOT NULL",
    "CREATE UNIQUE INDEX article_sources_canonical_url ON article_sources(feed, canonical_url)"
    " WHERE canonical_url IS NOT NULL",
    # Covers the per-feed count and newest first_seen of ``feeds`` health.
    "CREATE INDEX article_sources_feed ON article_sources(feed, first_seen)",
    # Articles of other feeds with the same canonical URL: candidates for a link.
    "CREATE INDEX articles_by_canonical_url ON articles(canonical_url)"
    " WHERE canonical_url IS NOT NULL",
]

# The view of 0002 with one column more at the end: the feeds that carried the article.
_HITS_VIEW_WITH_SOURCES = _HITS_VIEW_FOR_BROWSING.replace(
    "       a.rowid AS article_rowid\n",
    "       a.rowid AS article_rowid,\n"
    "       (SELECT group_concat(feed, ', ') FROM (SELECT feed FROM article_sources"
    "\n         WHERE article_id = a.id ORDER BY first_seen, feed)) AS sources\n")


@MIGRATIONS(name="0003_identity_per_feed")
def scope_identity_by_feed(db: Database) -> None:
    db.execute(_ARTICLE_SOURCES)
    db.execute("INSERT INTO article_sources (article_id, feed, guid, url, canonical_url,"
               " first_seen) SELECT id, feed, guid, url, canonical_url, first_seen FROM articles")
    db.execute("DROP INDEX articles_guid")
    db.execute("DROP INDEX articles_canonical_url")
    for statement in _SOURCE_INDEXES:
        db.execute(statement)
    db.execute("DROP VIEW hits")
    db.create_view("hits", _HITS_VIEW_WITH_SOURCES)


# 0004: what the caps left out of a feed that was still read (entries past
# ``[polling] max_entries``, overlong links dropped), for ``feeds``.
@MIGRATIONS(name="0004_feed_warning")
def add_feed_warning(db: Database) -> None:
    db.execute("ALTER TABLE feeds ADD COLUMN warning TEXT")


# 0005: outages of the monitor's own network (monitor/poll/outage.py), one row each: a cycle in
# which most feeds failed with one local cause opens a row or extends the open one; the first
# cycle that reaches a feed again closes it (``ended``). `armswatch status` shows the last one.
_NETWORK_OUTAGES = """CREATE TABLE network_outages (
    id INTEGER PRIMARY KEY,
    cause TEXT NOT NULL,
    started TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    ended TEXT,
    polls INTEGER NOT NULL DEFAULT 1,
    failed_feeds INTEGER NOT NULL,
    polled_feeds INTEGER NOT NULL
)"""


@MIGRATIONS(name="0005_network_outages")
def create_network_outages(db: Database) -> None:
    db.execute(_NETWORK_OUTAGES)


# 0006: keywords that reach back (design §14). The full-text index also covers ``content``, so a
# backfill can narrow its candidates in every field the matcher reads (``hits --search`` keeps to
# titles and summaries with a column filter). A backfill run is one row of ``backfills`` per
# watch item, with a fingerprint of the item's definition; the matches it added point at it
# (``backfill_id``), so digests can sum them up in one line instead of listing them. Triggers are
# written here rather than by sqlite-utils, whose ``executescript`` would commit mid-migration.
_FTS_FIELDS = ("title", "summary", "content")
_BACKFILLS = """CREATE TABLE backfills (
    id INTEGER PRIMARY KEY,
    item TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    ran_at TEXT NOT NULL,
    since TEXT,
    articles INTEGER NOT NULL,
    matches INTEGER NOT NULL
)"""


def _fts_triggers(fields: tuple[str, ...]) -> list[str]:
    names = ", ".join(f'"{f}"' for f in fields)
    new = ", ".join(f'new."{f}"' for f in fields)
    old = ", ".join(f'old."{f}"' for f in fields)
    insert = f'INSERT INTO "articles_fts" (rowid, {names}) VALUES (new.rowid, {new});'
    delete = (f'INSERT INTO "articles_fts" ("articles_fts", rowid, {names})'
              f" VALUES('delete', old.rowid, {old});")
    return [f'CREATE TRIGGER "articles_ai" AFTER INSERT ON "articles" BEGIN {insert} END',
            f'CREATE TRIGGER "articles_ad" AFTER DELETE ON "articles" BEGIN {delete} END',
            f'CREATE TRIGGER "articles_au" AFTER UPDATE ON "articles" BEGIN {delete} {insert} END']


def _recreate_fts(db: Database, fields: tuple[str, ...]) -> None:
    """The full-text index made again over ``fields`` of ``articles``, with its triggers.
    Shared by the migrations that widen it; the statements are those 0006 shipped with."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
    db.execute("DROP TABLE articles_fts")
    names = ", ".join(f'"{f}"' for f in fields)
    db.execute(f'CREATE VIRTUAL TABLE "articles_fts" USING FTS5 ({names},'
               " tokenize='unicode61 remove_diacritics 2', content=\"articles\")")
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    for trigger in _fts_triggers(fields):
        db.execute(trigger)


@MIGRATIONS(name="0006_backfills")
def add_backfills(db: Database) -> None:
    _recreate_fts(db, _FTS_FIELDS)
    db.execute(_BACKFILLS)
    db.execute("ALTER TABLE matches ADD COLUMN backfill_id INTEGER REFERENCES backfills(id)")
    db.execute("CREATE INDEX matches_backfill ON matches(backfill_id)"
               " WHERE backfill_id IS NOT NULL")


# 0007: the article page behind a headline (design §12, issue 14). ``article_pages`` is the
# queue: one row per article whose page is wanted, with its state and, when it got no body, why
# not (robots, paywall, unresolvable link, not html, too large, http status, error), so a crash
# loses nothing and a page fetched is never fetched again. The extracted text is ``articles.body``
# (capped), in the full-text index with its own field list (0006's stays as it shipped), and
# matched as ``matches.field = 'body'``: SQLite cannot change a CHECK in place, so ``matches``
# is rebuilt, its rows copied and its indexes made again. The ``hits`` view reads ``matches``,
# so it is dropped first and made again as 0003 left it.
_BODY_FTS_FIELDS = ("title", "summary", "content", "body")
_ARTICLE_PAGES = """CREATE TABLE article_pages (
    article_id TEXT PRIMARY KEY REFERENCES articles(id),
    feed TEXT NOT NULL,
    url TEXT,
    host TEXT,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'fetching', 'done', 'failed', 'skipped')),
    reason TEXT,
    detail TEXT,
    http_status INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    fetched_at TEXT
)"""
_MATCHES_WITH_BODY = """CREATE TABLE matches_new (
    article_id TEXT NOT NULL REFERENCES articles(id),
    item TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('program', 'topic')),
    term TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('title', 'summary', 'content', 'body')),
    snippet TEXT NOT NULL,
    backfill_id INTEGER REFERENCES backfills(id),
    PRIMARY KEY (article_id, item, term, field)
)"""


@MIGRATIONS(name="0007_article_pages")
def add_article_pages(db: Database) -> None:
    db.execute("ALTER TABLE articles ADD COLUMN body TEXT NOT NULL DEFAULT ''")
    _recreate_fts(db, _BODY_FTS_FIELDS)
    db.execute("DROP VIEW hits")
    db.execute(_MATCHES_WITH_BODY)
    db.execute("INSERT INTO matches_new (article_id, item, kind, term, field, snippet,"
               " backfill_id) SELECT article_id, item, kind, term, field, snippet, backfill_id"
               " FROM matches")
    db.execute("DROP TABLE matches")
    db.execute("ALTER TABLE matches_new RENAME TO matches")
    db.execute("CREATE INDEX matches_item ON matches(item COLLATE NOCASE, article_id)")
    db.execute("CREATE INDEX matches_backfill ON matches(backfill_id)"
               " WHERE backfill_id IS NOT NULL")
    db.create_view("hits", _HITS_VIEW_WITH_SOURCES)
    db.execute(_ARTICLE_PAGES)
    # The worker's question: which rows are due now. And `feeds`: each feed's pages by state.
    db.execute("CREATE INDEX article_pages_due ON article_pages(state, next_attempt)")
    db.execute("CREATE INDEX article_pages_feed ON article_pages(feed, state, reason)")


# 0008: stories (design §13). Every hit belongs to one story (``story_articles``, with why it
# joined: method, score, the report it was found like, and the evidence grouping read, as JSON, so
# a later hit is compared without reading the article again). ``story_keys`` is the inverted index
# that finds a new hit's candidates: (key, published) makes "hits with this key within the window"
# one range scan; published is in Unix seconds there, which keeps the biggest table of the
# database (a dozen rows a hit) a quarter smaller than ISO text would. ``stories`` keeps each
# story's headline and time span for listing.
_STORIES = """CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    first_published TEXT NOT NULL,
    last_published TEXT NOT NULL,
    reports INTEGER NOT NULL DEFAULT 0
)"""
_STORY_ARTICLES = """CREATE TABLE story_articles (
    article_id TEXT PRIMARY KEY REFERENCES articles(id),
    story_id TEXT NOT NULL REFERENCES stories(id),
    published TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('first', 'url', 'text', 'evidence')),
    score REAL NOT NULL,
    like_article TEXT,
    evidence TEXT NOT NULL
)"""
_STORY_KEYS = """CREATE TABLE story_keys (
    key TEXT NOT NULL,
    published INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (key, published, article_id)
) WITHOUT ROWID"""


# For people browsing in Datasette: each story's reports, the story's latest report first.
_STORY_REPORTS_VIEW = """CREATE VIEW story_reports AS
SELECT s.id AS story, s.title AS story_title, s.reports AS story_reports,
       sa.published, a.feed, a.language, a.title, coalesce(a.url, a.canonical_url) AS url,
       sa.method AS joined_by, sa.score, sa.like_article, a.id AS article_id
FROM story_articles AS sa JOIN stories AS s ON s.id = sa.story_id
JOIN articles AS a ON a.id = sa.article_id
ORDER BY s.last_published DESC, s.id, sa.published"""


@MIGRATIONS(name="0008_stories")
def add_stories(db: Database) -> None:
    for statement in (_STORIES, _STORY_ARTICLES, _STORY_KEYS, _STORY_REPORTS_VIEW,
                      "CREATE INDEX story_articles_story ON story_articles(story_id, published)",
                      "CREATE INDEX stories_last ON stories(last_published)"):
        db.execute(statement)


def apply_migrations(db: Database) -> None:
    """Bring the schema up to date; a no-op when nothing is pending."""
    MIGRATIONS.apply(db)


def pending_migrations(db: Database) -> list[str]:
    return [migration.name for migration in MIGRATIONS.pending(db)]
