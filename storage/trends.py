"""Coverage over time (design §15): distinct articles per watch item per ISO week.

One query for every reader of trends — `armswatch trends`, the digests' chart and `armswatch
serve` — so they cannot disagree. It takes a plain sqlite3 connection because Datasette reads
through its own (``Database.execute_fn``); the CLI and delivery pass ``store.db.conn``.

A week is the ISO week of the article's published time in UTC, from Monday 00:00 to Sunday
23:59:59. Every article has a published time: an entry without a date is stored with the time it
was fetched (``monitor/feeds/entries.py``, ``clamp_date``), so it counts in the week it was first
seen. Backfilled matches (design §14) count in the week their article was published, like any
other. Beside the articles, the stories (design §13) they belong to: one event reported by twenty
outlets is twenty articles and one story. A story with reports in two weeks counts in both; a hit
stored before stories existed, and never regrouped, counts as a story of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from storage.rows import time_text

MAX_WEEKS = 520   # ten years: more is a typo, and a chart no one can read

# date(published, 'weekday 0', '-6 days') is the Monday of the published time's week: 'weekday
# 0' moves forward to the next Sunday (or stays on one). Published times are stored in UTC, with
# a fixed width, so the range below uses the articles_published index.
_WEEKLY = """
SELECT m.item AS item,
       date(a.published, 'weekday 0', '-6 days') AS monday,
       count(DISTINCT a.id) AS articles,
       count(DISTINCT coalesce(s.story_id, 'article:' || a.id)) AS stories
FROM articles AS a INDEXED BY articles_published
JOIN matches AS m ON m.article_id = a.id
LEFT JOIN story_articles AS s ON s.article_id = a.id
WHERE a.published >= ? AND a.published < ?
GROUP BY m.item COLLATE NOCASE, monday
"""

# The same counts for Datasette's canned query: the last twelve weeks, labelled as ISO weeks. The
# ISO year and week of a Monday are those of its Thursday (strftime's %G/%V need SQLite 3.46).
WEEKLY_COUNTS_SQL = """
SELECT strftime('%Y', monday, '+3 days') || '-W' ||
         printf('%02d', (strftime('%j', monday, '+3 days') - 1) / 7 + 1) AS week,
       item, articles, stories, monday AS week_start
FROM (SELECT m.item AS item, date(a.published, 'weekday 0', '-6 days') AS monday,
             count(DISTINCT a.id) AS articles,
             count(DISTINCT coalesce(s.story_id, 'article:' || a.id)) AS stories
      FROM articles AS a JOIN matches AS m ON m.article_id = a.id
      LEFT JOIN story_articles AS s ON s.article_id = a.id
      WHERE a.published >= date('now', 'weekday 0', '-6 days', '-77 days')
      GROUP BY m.item, monday)
ORDER BY week_start DESC, articles DESC, item
""".strip()


@dataclass(frozen=True)
class WeekCount:
    """How many distinct articles matched ``item`` in the ISO week beginning ``monday``, and
    in how many stories."""

    item: str
    monday: date
    articles: int
    stories: int = 0

    @property
    def week(self) -> str:
        return week_label(self.monday)


def week_label(day: date) -> str:
    """The ISO week ``day`` falls in, as ``2026-W47``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(moment: datetime) -> date:
    """The Monday (UTC) that begins the ISO week of ``moment``."""
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return day - timedelta(days=day.weekday())


def week_starts(weeks: int, now: datetime) -> list[date]:
    """The Mondays of the last ``weeks`` ISO weeks, oldest first; the last is ``now``'s week."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be from 1 to {MAX_WEEKS}, not {weeks}")
    this = monday_of(now)
    return [this - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def weekly_counts(conn: sqlite3.Connection, *, items: Sequence[str], weeks: int,
                  now: datetime) -> list[WeekCount]:
    """Distinct articles per item per week, for each of ``items`` (in that order) and each of
    the last ``weeks`` ISO weeks up to ``now``'s (oldest first): a week without any is 0.

    An item is matched to what is stored ignoring case, as ``hits --item`` is. Articles
    published after ``now``'s week (a clock a day ahead) are not counted.
    """
    mondays = week_starts(weeks, now)
    start = datetime.combine(mondays[0], datetime.min.time(), UTC)
    end = datetime.combine(mondays[-1] + timedelta(weeks=1), datetime.min.time(), UTC)
    wanted = {item.casefold(): item for item in reversed(items)}   # the first spelling wins
    found: dict[tuple[str, date], tuple[int, int]] = {}
    for item, monday, articles, stories in conn.execute(_WEEKLY,
                                                         (time_text(start), time_text(end))):
        name = wanted.get(item.casefold())
        if name is not None:
            key = (name, date.fromisoformat(monday))
            before = found.get(key, (0, 0))
            found[key] = (before[0] + int(articles), before[1] + int(stories))
    return [WeekCount(item, monday, *found.get((item, monday), (0, 0)))
            for item in dict.fromkeys(items) for monday in mondays]
