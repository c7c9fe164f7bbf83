"""How records are shown on the command line: tables for people, JSON/JSONL/CSV for programs.

The JSON shape of a hit is a contract (design §8): id, url, title, feed, published, first_seen,
language, programs, topics, matches [{item, kind, term, field, snippet}].
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tabulate import tabulate

from storage.records import FeedHealth, FeedState, Hit

HIT_FORMATS = ("table", "json", "jsonl", "csv")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def hit_record(hit: Hit) -> dict[str, Any]:
    article = hit.article
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "summary": article.summary,
        "feed": article.feed,
        "published": iso(article.published),
        "first_seen": iso(article.first_seen),
        "language": article.language,
        "programs": hit.programs,
        "topics": hit.topics,
        "matches": [
            {"item": m.item, "kind": m.kind, "term": m.term, "field": m.field, "snippet": m.snippet}
            for m in hit.matches
        ],
    }


def format_hits(hits: Sequence[Hit], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([hit_record(h) for h in hits], ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps(hit_record(h), ensure_ascii=False) for h in hits)
    if fmt == "csv":
        return _hits_csv(hits)
    return _hits_table(hits)


def _hits_table(hits: Sequence[Hit]) -> str:
    if not hits:
        return "No hits."
    rows = [
        [
            h.article.published.strftime("%Y-%m-%d %H:%M"),
            _shorten(", ".join(h.programs + h.topics), 36),
            h.article.language or "",
            _shorten(h.article.title, 60),
            _shorten(h.article.feed, 24),
        ]
        for h in hits
    ]
    return str(tabulate(rows, headers=["published (UTC)", "items", "lang", "title", "feed"]))


def _hits_csv(hits: Sequence[Hit]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "published", "first_seen", "feed", "language", "programs", "topics",
                     "terms", "title", "url"])
    for h in hits:
        record = hit_record(h)
        writer.writerow([
            record["id"], record["published"], record["first_seen"], record["feed"],
            record["language"] or "", "; ".join(record["programs"]), "; ".join(record["topics"]),
            "; ".join(sorted({m.term for m in h.matches})), record["title"], record["url"] or "",
        ])
    return out.getvalue().rstrip("\n")


def feed_record(health: FeedHealth) -> dict[str, Any]:
    state = health.state
    return {
        "name": state.name,
        "url": state.url,
        "status": state.status,
        "http_status": state.http_status,
        "error": state.error,
        "failing_since": iso(state.failing_since),
        "consecutive_failures": state.error_count,
        "last_checked": iso(state.last_checked),
        "last_success": iso(state.last_success),
        "next_check": iso(state.next_check),
        "articles": health.articles,
        "last_article": iso(health.last_article),
    }


def format_feeds(feeds: Sequence[FeedHealth], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([feed_record(f) for f in feeds], ensure_ascii=False, indent=2)
    if not feeds:
        return "No feeds polled yet: run `armswatch poll`."
    rows = []
    for f in feeds:
        s = f.state
        failing = ""
        if s.failing_since:
            failing = f"{s.failing_since:%Y-%m-%d %H:%M} ({s.error_count}×)"
        rows.append([
            _shorten(s.name, 40), s.status,
            f"{s.last_checked:%Y-%m-%d %H:%M}" if s.last_checked else "never",
            _next_check(s), f.articles, failing, _shorten(s.error or "", 60),
        ])
    return str(tabulate(rows, headers=["feed", "status", "last check (UTC)", "next check",
                                       "articles", "failing since", "last error"]))


def _next_check(state: FeedState) -> str:
    if state.status == "gone":
        return "never (gone)"   # polled again only with `armswatch poll --feed NAME`
    return f"{state.next_check:%Y-%m-%d %H:%M}" if state.next_check else "now"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
