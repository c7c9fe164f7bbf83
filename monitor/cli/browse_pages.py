"""The pages `armswatch serve` adds to Datasette for an analyst: one article, readable, and the
trend of coverage per week. Plain functions over a read-only sqlite3 connection (Datasette runs
them in its threads, ``Database.execute_fn``) returning what the templates in
``browse_templates/`` show; ``monitor.cli.browse`` routes requests to them.

The trend page shows the chart of ``alerts.chart`` — the digests' chart, drawn by the same code
from the same counts (``storage.trends.weekly_counts``) — as a PNG from our own route: nothing is
loaded from elsewhere, so the page works offline.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from alerts.chart import alt_text, render_png
from alerts.highlight import marked
from alerts.links import safe_url
from alerts.trend import Trend, signed, trend_of
from alerts.wording import language
from storage.trends import MAX_WEEKS, weekly_counts

TREND_WEEKS = (12, 26, 52)       # the choices the trend page links to
KINDS = ("program", "topic")

_FIELD_ORDER = ("CASE field WHEN 'title' THEN 0 WHEN 'summary' THEN 1 WHEN 'content' THEN 2"
                " ELSE 3 END")
# The other reports of an article's story (design §13), earliest first.
_OTHER_REPORTS = """
SELECT a.id, a.title, a.feed, a.language, sa.published, sa.method
FROM story_articles AS sa JOIN articles AS a ON a.id = sa.article_id
WHERE sa.story_id = (SELECT story_id FROM story_articles WHERE article_id = ?)
  AND sa.article_id != ?
ORDER BY sa.published, a.id
"""


def article(conn: sqlite3.Connection, article_id: str) -> dict[str, Any] | None:
    """What the article page shows of a stored hit; None when no article with this id matched
    anything (the page is for hits, as the hits view links to it)."""
    # Rows by name on our own cursors: the connection is Datasette's, its row_factory is its own.
    found = _rows(conn, "SELECT * FROM articles WHERE id = ?", [article_id])
    if not found:
        return None
    matches = _rows(conn,
        "SELECT item, kind, term, field, snippet, backfill_id FROM matches WHERE article_id = ?"
        f" ORDER BY CASE kind WHEN 'program' THEN 0 ELSE 1 END, item, {_FIELD_ORDER}, term",
        [article_id])
    if not matches:
        return None
    row = found[0]
    sources = [r["feed"] for r in _rows(
        conn, "SELECT feed FROM article_sources WHERE article_id = ? ORDER BY first_seen, feed",
        [article_id])] or [row["feed"]]
    return {
        "id": row["id"], "title": row["title"] or "(untitled)",
        # The digests' rule: only an http(s) link of sane length is a link.
        "url": safe_url(row["canonical_url"] or row["url"]), "summary": row["summary"],
        "published": _shown_time(row["published"]), "first_seen": _shown_time(row["first_seen"]),
        "language": language(row["language"]) if row["language"] else "unknown",
        "sources": sources,
        "programs": sorted({m["item"] for m in matches if m["kind"] == "program"}),
        "topics": sorted({m["item"] for m in matches if m["kind"] == "topic"}),
        "matches": [{"item": m["item"], "kind": m["kind"], "term": m["term"],
                     "field": m["field"], "backfilled": m["backfill_id"] is not None,
                     "snippet_html": marked(m["snippet"], [m["term"]], _mark, escape)}
                    for m in matches],
        "other_reports": [{"id": r["id"], "title": r["title"] or "(untitled)",
                           "source": r["feed"], "published": _shown_time(r["published"]),
                           "language": language(r["language"]) if r["language"] else "unknown",
                           "joined_by": r["method"]}
                          for r in _rows(conn, _OTHER_REPORTS, [article_id, article_id])],
    }


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[sqlite3.Row]:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return list(cursor.execute(sql, params))


def _mark(text: str) -> str:
    return f"<mark>{text}</mark>"


def _shown_time(text: str | None) -> str:
    if not text:
        return ""
    return f"{datetime.fromisoformat(text):%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class TrendRequest:
    """What the trend page was asked for, read from its query string (bad values fall back to
    the defaults: a link typed by hand never errors)."""

    weeks: int = 12
    kind: str = "program"

    @classmethod
    def parse(cls, weeks: str | None, kind: str | None) -> TrendRequest:
        try:
            number = int(weeks or 12)
        except ValueError:
            number = 12
        return cls(weeks=min(max(number, 1), MAX_WEEKS),
                   kind=kind if kind in KINDS else "program")

    @property
    def query(self) -> str:
        return f"weeks={self.weeks}&kind={self.kind}"


def stored_items(conn: sqlite3.Connection, kind: str) -> list[str]:
    """Items of ``kind`` with stored hits, those with most articles first."""
    return [r[0] for r in conn.execute(
        "SELECT item FROM matches WHERE kind = ? GROUP BY item"
        " ORDER BY count(DISTINCT article_id) DESC, item", [kind])]


def trend(conn: sqlite3.Connection, asked: TrendRequest, now: datetime) -> Trend:
    counts = weekly_counts(conn, items=stored_items(conn, asked.kind), weeks=asked.weeks,
                           now=now)
    return trend_of(counts)


def trend_page(found: Trend, asked: TrendRequest) -> dict[str, Any]:
    """The trend page's context: the chart's address and alt text, and the numbers."""
    return {
        "asked": asked, "week_choices": TREND_WEEKS, "kinds": KINDS,
        "weeks": [w.rpartition("-")[2] for w in found.weeks],
        "first_week": found.weeks[0] if found.mondays else "",
        "this_week": found.this_week,
        "chart_alt": alt_text(found) if found else "",
        "rows": [{"item": s.item, "counts": s.counts, "change": signed(s.change),
                  "total": s.total} for s in found.series],
    }


def trend_png(found: Trend) -> bytes:
    """The chart; ChartError when there is nothing to draw."""
    return render_png(found)
