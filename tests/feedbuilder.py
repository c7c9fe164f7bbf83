"""Builds small RSS and Atom documents for tests: each test states only the entries it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    summary: str = ""
    guid: str | None = None
    published: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def rss(entries: list[Entry], *, title: str = "Test feed", language: str | None = "en") -> bytes:
    items = []
    for e in entries:
        guid = f"<guid isPermaLink=\"false\">{escape(e.guid)}</guid>" if e.guid else ""
        items.append(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f"<description>{escape(e.summary)}</description>{guid}"
            f"<pubDate>{format_datetime(e.published)}</pubDate></item>")
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>{lang}"
        + "".join(items) + "</channel></rss>"
    ).encode()


def atom(entries: list[Entry], *, title: str = "Test Atom feed") -> bytes:
    parts = []
    for e in entries:
        parts.append(
            f"<entry><title>{escape(e.title)}</title><link href=\"{escape(e.link)}\"/>"
            f"<id>{escape(e.guid or e.link)}</id><updated>{e.published.isoformat()}</updated>"
            f"<summary>{escape(e.summary)}</summary></entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2026-11-20T12:00:00Z</updated>"
        + "".join(parts) + "</feed>"
    ).encode()
