"""How records are shown on the command line: tables for people, JSON/JSONL/CSV for programs.

The JSON shape of a hit is a contract (design §8): id, url, title, feed, published, first_seen,
language, programs, topics, matches [{item, kind, term, field, snippet}]. Tables fit the width
they are given (monitor.cli.columns): prose wraps, secondary columns give way, nothing is cut.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from monitor.cli.columns import Column, table
from storage.records import FeedHealth, FeedState, Hit, Match, PageStats, Story

HIT_FORMATS = ("table", "json", "jsonl", "csv")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, as every time in JSON output is given."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def hit_record(hit: Hit, story: str | None = None) -> dict[str, Any]:
    """A hit as JSON; ``story`` is the id of its story (design §13), null when not placed."""
    article = hit.article
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "summary": article.summary,
        "feed": article.feed,
        "sources": list(hit.sources) or [article.feed],   # every feed that carried it
        "published": iso(article.published),
        "first_seen": iso(article.first_seen),
        "language": article.language,
        "programs": hit.programs,
        "topics": hit.topics,
        "matches": [
            {"item": m.item, "kind": m.kind, "term": m.term, "field": m.field, "snippet": m.snippet}
            for m in hit.matches
        ],
        "story": story,
    }


def format_hits(hits: Sequence[Hit], fmt: str, *, width: int,
                stories: Mapping[str, str] | None = None) -> str:
    """`hits` in `fmt`; a table fits `width` columns (the other formats ignore it). ``stories``
    maps article ids to their story's id, for JSON."""
    story = (stories or {}).get
    if fmt == "json":
        return json.dumps([hit_record(h, story(h.article.id)) for h in hits],
                          ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps(hit_record(h, story(h.article.id)), ensure_ascii=False)
                         for h in hits)
    if fmt == "csv":
        return _hits_csv(hits)
    return _hits_table(hits, width)


# Least widths are where wrapping still reads well; the feed, then the language, give way first.
HIT_COLUMNS = (Column("published (UTC)"), Column("lang", give_way=2),
               Column("matched (term, field)", wrap_at=26), Column("title", wrap_at=28),
               Column("feed", wrap_at=16, give_way=3))


def _hits_table(hits: Sequence[Hit], width: int) -> str:
    rows = [[f"{h.article.published:%Y-%m-%d %H:%M}", h.article.language or "",
             _evidence(h.matches), h.article.title, h.article.feed] for h in hits]
    # An item's name never wraps, so it can be found (and read) whole; its evidence may.
    longest = max((len(m.item) for h in hits for m in h.matches), default=0)
    matched = HIT_COLUMNS[2]
    columns = list(HIT_COLUMNS)
    columns[2] = replace(matched, wrap_at=max(longest, matched.wrap_at or 0))
    return table(columns, rows, width)


def _evidence(matches: Sequence[Match]) -> str:
    """Every matched item (programs first, as stored), each with its terms and where they
    were found: ``Mission Firewall`` then ``  "Misión Cortafuegos" (title, summary)``."""
    terms: dict[str, dict[str, list[str]]] = {}
    for match in matches:
        fields = terms.setdefault(match.item, {}).setdefault(match.term, [])
        if match.field not in fields:
            fields.append(match.field)
    lines = []
    for item, found in terms.items():
        lines.append(item)
        lines += [f'  "{term}" ({", ".join(fields)})' for term, fields in found.items()]
    return "\n".join(lines)


# A spreadsheet reads a cell starting with one of these as a formula: a feed's title
# "=HYPERLINK(...)" would run when the CSV is opened. OWASP's advice: prefix such a cell with '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never evaluates it."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _hits_csv(hits: Sequence[Hit]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "published", "first_seen", "feed", "language", "programs", "topics",
                     "terms", "title", "url"])
    for h in hits:
        record = hit_record(h)
        writer.writerow([spreadsheet_safe(cell) for cell in (
            record["id"], record["published"], record["first_seen"], record["feed"],
            record["language"] or "", "; ".join(record["programs"]), "; ".join(record["topics"]),
            "; ".join(sorted({m.term for m in h.matches})), record["title"], record["url"] or "",
        )])
    return out.getvalue().rstrip("\n")


def story_record(story: Story) -> dict[str, Any]:
    """A story as JSON (design §13): its reports earliest first, each with why it joined."""
    return {
        "id": story.id,
        "title": story.title,
        "first_published": iso(story.first_published),
        "last_published": iso(story.last_published),
        "languages": story.languages,
        "programs": story.programs,
        "topics": story.topics,
        "articles": [
            {"id": r.hit.article.id, "url": r.hit.article.url, "title": r.hit.article.title,
             "feed": r.hit.article.feed, "language": r.hit.article.language,
             "published": iso(r.hit.article.published), "joined_by": r.method,
             "score": r.score, "like": r.like}
            for r in story.reports
        ],
    }


def language_counts(story: Story) -> str:
    """"EN 3 · ES 1": how many reports in each language, most first."""
    counts: dict[str, int] = {}
    for report in story.reports:
        code = (report.hit.article.language or "?").upper()
        counts[code] = counts.get(code, 0) + 1
    return " · ".join(f"{code} {n}" for code, n in sorted(counts.items(),
                                                         key=lambda c: (-c[1], c[0])))


STORY_COLUMNS = (Column("latest (UTC)"), Column("reports", wrap_at=10),
                 Column("programs / topics", wrap_at=22), Column("title", wrap_at=28),
                 Column("story", give_way=2))


def format_stories(stories: Sequence[Story], fmt: str, *, width: int) -> str:
    """`stories` in `fmt`: one line (row) per story; a table fits `width` columns."""
    if fmt == "json":
        return json.dumps([story_record(s) for s in stories], ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps(story_record(s), ensure_ascii=False) for s in stories)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "first_published", "last_published", "reports", "languages",
                         "programs", "topics", "title", "urls"])
        for story in stories:
            writer.writerow([spreadsheet_safe(cell) for cell in (
                story.id, iso(story.first_published) or "", iso(story.last_published) or "",
                str(len(story.reports)), "; ".join(story.languages), "; ".join(story.programs),
                "; ".join(story.topics), story.title,
                " ".join(r.hit.article.url or "" for r in story.reports))])
        return out.getvalue().rstrip("\n")
    rows = [[f"{s.last_published:%Y-%m-%d %H:%M}", f"{len(s.reports)}: {language_counts(s)}",
             "\n".join(s.programs + s.topics), s.title, s.id] for s in stories]
    return table(STORY_COLUMNS, rows, width)


def feed_record(health: FeedHealth) -> dict[str, Any]:
    state = health.state
    return {
        "name": state.name,
        "url": state.url,
        "status": state.status,
        "http_status": state.http_status,
        "error": state.error,
        "warning": state.warning,
        "failing_since": iso(state.failing_since),
        "consecutive_failures": state.error_count,
        "last_checked": iso(state.last_checked),
        "last_success": iso(state.last_success),
        "next_check": iso(state.next_check),
        "articles": health.articles,
        "pages": {"wanted": health.pages.wanted, "bodies": health.pages.bodies,
                  "waiting": health.pages.waiting, "reasons": dict(sorted(
                      health.pages.reasons.items()))},
        "last_article": iso(health.last_article),
    }


FEED_COLUMNS = (Column("feed", wrap_at=16), Column("status"), Column("articles", right=True),
                Column("article pages", wrap_at=14),
                Column("last check (UTC)", give_way=2), Column("next check", give_way=3),
                Column("last error", wrap_at=20))


def format_feeds(feeds: Sequence[FeedHealth], fmt: str, *, width: int) -> str:
    if fmt == "json":
        return json.dumps([feed_record(f) for f in feeds], ensure_ascii=False, indent=2)
    if not feeds:
        return "No feeds polled yet: run `armswatch poll`."
    rows = []
    for f in feeds:
        s = f.state
        error = s.error or (f"warning: {s.warning}" if s.warning else "")
        if s.failing_since:
            times = "once" if s.error_count == 1 else f"{s.error_count} times in a row"
            error += f" (failing since {s.failing_since:%Y-%m-%d %H:%M}, {times})"
        rows.append([s.name, s.status, str(f.articles), pages_cell(f.pages),
                     f"{s.last_checked:%Y-%m-%d %H:%M}" if s.last_checked else "never",
                     _next_check(s), error])
    return table(FEED_COLUMNS, rows, width)


def pages_cell(pages: PageStats) -> str:
    """Of the items whose page was wanted, how many got a body, and why the others did not:
    "2/7 bodies; not html 2, paywall 1" ("-" when none was wanted)."""
    if not pages.wanted:
        return "-"
    text = f"{pages.bodies}/{pages.wanted} bodies"
    why = [f"{reason} {count}" for reason, count in
           sorted(pages.reasons.items(), key=lambda r: (-r[1], r[0]))]
    if pages.waiting:
        why.append(f"{pages.waiting} waiting")
    return text + ("; " + ", ".join(why) if why else "")


def _next_check(state: FeedState) -> str:
    if state.status == "gone":
        return "never (gone)"   # polled again only with `armswatch poll --feed NAME`
    return f"{state.next_check:%Y-%m-%d %H:%M}" if state.next_check else "now"
