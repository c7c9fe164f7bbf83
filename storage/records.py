"""The records that flow between stages: plain frozen dataclasses, no behaviour, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["program", "topic"]
Field = Literal["title", "summary", "content", "body"]
FeedStatus = Literal["new", "ok", "not_modified", "failed", "gone"]


@dataclass(frozen=True)
class Article:
    """One feed entry, cleaned: plain text, UTC times, canonical URL, stable id."""

    id: str                      # stable: from guid or canonical URL (monitor.feeds.urls)
    feed: str                    # the feed it came from (stored: the first of its sources)
    guid: str | None
    url: str | None              # the link as the feed gave it
    canonical_url: str | None    # tracking parameters removed, host lower-cased
    title: str                   # plain text, entities decoded
    summary: str                 # plain text
    content: str                 # plain text of the full content, when the feed has it
    published: datetime          # UTC, aware; falls back to updated, then fetch time
    first_seen: datetime         # UTC, aware
    language: str | None         # ISO 639-1, from the feed or detected
    author: str | None = None
    body: str = ""               # the article page's main text, when it was fetched (§12)


@dataclass(frozen=True)
class Match:
    """Evidence that an article matches one watch item."""

    item: str                    # canonical watch item name
    kind: Kind
    term: str                    # the term as configured
    field: Field
    snippet: str                 # original text around the match


@dataclass(frozen=True)
class FeedState:
    """What we remember about one feed between polls (the ``feeds`` table)."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    status: FeedStatus = "new"
    http_status: int | None = None
    error: str | None = None             # last error, in plain words
    error_count: int = 0                 # consecutive failures
    failing_since: datetime | None = None
    last_checked: datetime | None = None
    last_success: datetime | None = None
    next_check: datetime | None = None   # None: due now
    warning: str | None = None           # what the caps left out of the last body read


@dataclass(frozen=True)
class Hit:
    """A stored article with its matches, as queries return it."""

    article: Article
    matches: tuple[Match, ...] = field(default_factory=tuple)
    sources: tuple[str, ...] = ()        # the feeds that carried it, the first one first

    @property
    def programs(self) -> list[str]:
        return sorted({m.item for m in self.matches if m.kind == "program"})

    @property
    def topics(self) -> list[str]:
        return sorted({m.item for m in self.matches if m.kind == "topic"})


@dataclass(frozen=True)
class PageStats:
    """One feed's article pages (design §12), for ``armswatch feeds``."""

    wanted: int = 0                 # pages queued, in any state
    bodies: int = 0                 # fetched, with the article's text
    waiting: int = 0                # still to fetch (pending, or being fetched)
    reasons: dict[str, int] = field(default_factory=dict)   # why the others have no text


@dataclass(frozen=True)
class FeedHealth:
    """A feed's state with what it has brought in, for ``armswatch feeds``."""

    state: FeedState
    articles: int = 0                    # articles this feed brought in (linked ones included)
    last_article: datetime | None = None  # when the newest of them was first seen
    pages: PageStats = field(default_factory=PageStats)


@dataclass(frozen=True)
class SaveResult:
    """What one feed's write stored."""

    new_articles: list[str] = field(default_factory=list)  # ids actually inserted, in feed order
    new_hits: int = 0                                        # inserted articles that have matches
    # Stored articles that an item of this feed was linked to (same canonical URL, same text).
    linked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoryEntry:
    """One hit placed in a story, as it is written: why it joined, and what grouping read."""

    article_id: str
    story_id: str
    published: datetime
    title: str
    method: str                  # first, url, text or evidence (monitor/stories/grouping.py)
    score: float
    like: str | None             # the report it was found like (None: it started the story)
    evidence: str                # JSON
    keys: tuple[str, ...]        # what the candidate index files it under


@dataclass(frozen=True)
class StoryReport:
    """One report of a story: the hit, and why it is in the story."""

    hit: Hit
    method: str
    score: float
    like: str | None = None


@dataclass(frozen=True)
class Story:
    """Reports of one event, earliest first; ``title`` is its representative headline."""

    id: str
    title: str
    first_published: datetime
    last_published: datetime
    reports: tuple[StoryReport, ...] = ()

    @property
    def languages(self) -> list[str]:
        return sorted({r.hit.article.language or "" for r in self.reports} - {""})

    @property
    def programs(self) -> list[str]:
        return sorted({p for r in self.reports for p in r.hit.programs})

    @property
    def topics(self) -> list[str]:
        return sorted({t for r in self.reports for t in r.hit.topics})
