"""What Datasette shows of the Armswatch database: titles, descriptions, facets, canned queries.

Plain data, no Datasette import: ``monitor.cli.browse`` hands it to Datasette. Column names here
follow storage/schema.py (the ``hits`` view as of migration 0002).
"""

from __future__ import annotations

from html import escape
from typing import Any

from storage.trends import WEEKLY_COUNTS_SQL

DATABASE = "armswatch"  # Datasette names a database after its file: data/armswatch.db

# Columns of the ``hits`` view the facets and full-text search rely on (added by 0002).
BROWSE_COLUMNS = ("week", "program_list", "topic_list", "article_rowid")

_HITS_PER_PROGRAM_PER_WEEK = """
SELECT date(a.published, 'weekday 0', '-6 days') AS week,
       m.item AS program,
       count(DISTINCT m.article_id) AS hits
FROM matches AS m JOIN articles AS a ON a.id = m.article_id
WHERE m.kind = 'program'
GROUP BY week, program
ORDER BY week DESC, hits DESC, program
"""

_LATEST_HITS_FOR_PROGRAM = """
SELECT a.published, a.title, coalesce(a.url, a.canonical_url) AS url, a.feed, a.language,
       group_concat(DISTINCT m.term) AS terms,
       (SELECT snippet FROM matches
         WHERE article_id = a.id AND item = :program COLLATE NOCASE
         ORDER BY CASE field WHEN 'title' THEN 0 WHEN 'summary' THEN 1 ELSE 2 END
         LIMIT 1) AS snippet
FROM matches AS m JOIN articles AS a ON a.id = m.article_id
WHERE m.item = :program COLLATE NOCASE
GROUP BY a.id
ORDER BY a.published DESC
LIMIT 100
"""

_FAILING_FEEDS = """
SELECT name, status, http_status, error, error_count, failing_since, last_checked,
       last_success, next_check, url
FROM feeds
WHERE status IN ('failed', 'gone')
ORDER BY error_count DESC, failing_since, name
"""

_INDEX = (
    "<p>News coverage of arms trafficking between the United States and Mexico, and of the "
    "programs fighting it, found by Armswatch.</p>"
    '<p><strong>Start with <a href="{hits}">the hits</a></strong>: every article that matched '
    "the watch list, newest first, with facets by program, feed, language and week; each title "
    "opens the article with the words that matched. "
    '<a href="{trends}">Coverage per week</a> charts how much each program is in the news.</p>')



_STORIES_LATEST = """
SELECT s.id, s.title, s.reports, s.first_published, s.last_published,
       (SELECT group_concat(DISTINCT a.language) FROM story_articles AS sa
         JOIN articles AS a ON a.id = sa.article_id WHERE sa.story_id = s.id) AS languages,
       (SELECT group_concat(DISTINCT a.feed) FROM story_articles AS sa
         JOIN articles AS a ON a.id = sa.article_id WHERE sa.story_id = s.id) AS outlets
FROM stories AS s
ORDER BY s.last_published DESC
LIMIT 100
"""

def metadata(db_title: str = "Armswatch", *, database: str = DATABASE) -> dict[str, Any]:
    """Datasette metadata for the Armswatch database served under the name ``database``."""
    return {
        "title": db_title,
        # Links, so a new reader starts where the brief says, not in the list of tables.
        "description_html": _INDEX.format(hits=f"/{escape(database)}/hits",
                                          trends="/-/trends"),
        "databases": {database: {
            "description": "What Armswatch has stored. It is read-only here: Armswatch itself "
                           "writes, and new hits appear as soon as a poll stores them.",
            "tables": _tables(),
            "queries": _queries(),
        }},
    }


def _tables() -> dict[str, Any]:
    return {
        "hits": {
            "title": "Hits",
            # Column descriptions would push the rows below the first screen; this says it.
            "description": "One row per article that matched at least one watch item, newest "
                           "first. Facet by program, feed, language or week (week is the "
                           "Monday it began, UTC); search finds words in titles and summaries, "
                           "accents optional (mision finds Misión). programs, topics and "
                           "terms say why it matched.",
            "facets": [{"array": "program_list"}, "feed", "language", "week"],
            # Short facet lists keep the first hits on the first screen ("…" shows the rest).
            "facet_size": 6,
            "sort_desc": "published",
            "fts_table": "articles_fts",
            "fts_pk": "article_rowid",
        },
        "articles": {
            "description": "Every article seen in a feed, matched or not, stored once even "
                           "when several feeds carry it word for word (article_sources says "
                           "which). Search finds words in titles and summaries, accents "
                           "optional.",
            "sort_desc": "published",
            "label_column": "title",
            "fts_table": "articles_fts",
            "fts_pk": "rowid",
            "facets": ["feed", "language"],
        },
        "article_sources": {
            "description": "Which feed brought in which article, with the guid and link that "
                           "feed gave it: an article carried by several feeds has a row for "
                           "each.",
            "facets": ["feed"],
        },
        "matches": {
            "description": "The evidence for each hit: the watch item, the term as written in "
                           "watchlist.toml, the field it was found in (title, summary, "
                           "content) and a snippet of the text around it.",
            "facets": ["item", "kind", "field"],
        },
        "feeds": {
            "description": "One row per feed: its last status and error in plain words, how "
                           "many times in a row it failed and since when, when it was last "
                           "checked and when it is checked next, and the HTTP caching state "
                           "(ETag, Last-Modified, body hash) used to skip unchanged feeds.",
            "facets": ["status"],
        },
        "digests": {
            "description": "Digests built for each channel: pending until a send succeeds, "
                           "with the number of attempts, the last error and the next attempt.",
            "sort_desc": "created",
            "facets": ["channel", "status"],
        },
        "deliveries": {
            "description": "Which article went to which channel, in which digest: each "
                           "article reaches each channel once.",
        },
        "network_outages": {
            "description": "Outages of the monitor's own network: poll cycles in which most "
                           "feeds failed with one local cause (name resolution, no route, "
                           "proxy, refused), when each began, was last seen and ended. Feeds "
                           "do not back off for them.",
            "sort_desc": "started",
        },
        "stories": {
            "description": "Reports of one event grouped into one story, across outlets and "
                           "languages: its headline (the earliest report's), when it was first "
                           "and last reported, and how many reports. story_reports lists them.",
            "sort_desc": "last_published",
            "label_column": "title",
        },
        "story_reports": {
            "description": "Each story's reports, the latest story first: outlet, language, "
                           "headline and link, and why each joined (first, the same url, "
                           "near-identical text, or shared evidence: programs, numbers, "
                           "dates, places and names) with its score.",
            "facets": ["joined_by", "language", "feed"],
        },
        "story_articles": {"hidden": True},
        "story_keys": {"hidden": True},
        "_sqlite_migrations": {"hidden": True},
    }


def _queries() -> dict[str, Any]:
    return {
        "weekly_counts": {
            "title": "Articles per item per ISO week",
            "description": "Distinct articles per watch item (programs and topics) per ISO "
                           "week of their published time (UTC), the last twelve weeks: the "
                           "numbers of the trend chart (/-/trends) and of `armswatch trends`. "
                           "Weeks without articles are not rows.",
            "sql": WEEKLY_COUNTS_SQL,
        },
        "hits_per_program_per_week": {
            "title": "Hits per program per week",
            "description": "How many articles named each program, week by week (weeks start "
                           "on Monday, UTC).",
            "sql": _HITS_PER_PROGRAM_PER_WEEK.strip(),
        },
        "latest_hits_for_program": {
            "title": "Latest hits for a program",
            "description": "The 100 newest articles matching one watch item, with the terms "
                           "found and a snippet. Type its name as in watchlist.toml (any "
                           "case), e.g. Mission Firewall or eTrace.",
            "sql": _LATEST_HITS_FOR_PROGRAM.strip(),
            "params": ["program"],
        },
        "latest_stories": {
            "title": "Latest stories",
            "description": "The 100 stories with the latest reports: how many reports, in "
                           "which languages, from which outlets.",
            "sql": _STORIES_LATEST.strip(),
        },
        "failing_feeds": {
            "title": "Failing feeds",
            "description": "Feeds whose last check failed (or that are gone, HTTP 410), with "
                           "the error in plain words; most failures in a row first.",
            "sql": _FAILING_FEEDS.strip(),
        },
    }
