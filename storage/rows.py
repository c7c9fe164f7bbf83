"""Records to table rows and back: times become ISO-8601 UTC text, one format everywhere.

Times are stored to the second as ``2026-11-23T17:56:00+00:00``: fixed width, so text order is time
order and SQL comparisons on these columns are correct.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.records import Article, FeedState, Match

ARTICLE_COLUMNS = ("id", "feed", "guid", "url", "canonical_url", "title", "summary", "content",
                   "published", "first_seen", "language", "author")
FEED_COLUMNS = ("name", "url", "etag", "last_modified", "body_hash", "status", "http_status",
                "error", "error_count", "failing_since", "last_checked", "last_success",
                "next_check", "warning")
SOURCE_COLUMNS = ("article_id", "feed", "guid", "url", "canonical_url", "first_seen")
MATCH_COLUMNS = ("article_id", "item", "kind", "term", "field", "snippet")


def time_text(moment: datetime) -> str:
    """The stored form of a time; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def optional_time_text(moment: datetime | None) -> str | None:
    return None if moment is None else time_text(moment)


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def required_time(text: str) -> datetime:
    moment = parse_time(text)
    assert moment is not None
    return moment


def article_row(article: Article) -> tuple[Any, ...]:
    """Values in ARTICLE_COLUMNS order, for executemany."""
    return (article.id, article.feed, article.guid, article.url, article.canonical_url,
            article.title, article.summary, article.content, time_text(article.published),
            time_text(article.first_seen), article.language, article.author)


def source_row(article_id: str, article: Article) -> tuple[Any, ...]:
    """Values in SOURCE_COLUMNS order: ``article`` as one feed gave it, stored as ``article_id``."""
    return (article_id, article.feed, article.guid, article.url, article.canonical_url,
            time_text(article.first_seen))


def article_from_row(row: dict[str, Any]) -> Article:
    return Article(
        id=row["id"], feed=row["feed"], guid=row["guid"], url=row["url"],
        canonical_url=row["canonical_url"], title=row["title"], summary=row["summary"],
        content=row["content"], published=required_time(row["published"]),
        first_seen=required_time(row["first_seen"]), language=row["language"],
        author=row["author"], body=row.get("body") or "")


def match_row(article_id: str, match: Match) -> tuple[Any, ...]:
    """Values in MATCH_COLUMNS order, for executemany."""
    return (article_id, match.item, match.kind, match.term, match.field, match.snippet)


def match_from_row(row: dict[str, Any]) -> Match:
    return Match(item=row["item"], kind=row["kind"], term=row["term"], field=row["field"],
                 snippet=row["snippet"])


def feed_row(state: FeedState) -> dict[str, Any]:
    return {
        "name": state.name, "url": state.url, "etag": state.etag,
        "last_modified": state.last_modified, "body_hash": state.body_hash,
        "status": state.status, "http_status": state.http_status, "error": state.error,
        "error_count": state.error_count,
        "failing_since": optional_time_text(state.failing_since),
        "last_checked": optional_time_text(state.last_checked),
        "last_success": optional_time_text(state.last_success),
        "next_check": optional_time_text(state.next_check),
        "warning": state.warning,
    }


def feed_from_row(row: dict[str, Any]) -> FeedState:
    return FeedState(
        name=row["name"], url=row["url"], etag=row["etag"], last_modified=row["last_modified"],
        body_hash=row["body_hash"], status=row["status"], http_status=row["http_status"],
        error=row["error"], error_count=row["error_count"],
        failing_since=parse_time(row["failing_since"]),
        last_checked=parse_time(row["last_checked"]),
        last_success=parse_time(row["last_success"]),
        next_check=parse_time(row["next_check"]),
        warning=row["warning"])
