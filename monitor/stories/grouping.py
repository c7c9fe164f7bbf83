"""Which story a hit joins, pure: compare it with the earlier hits its keys find, and join the
story of the best one, or start a story.

Methods, strongest first: ``url`` (the same canonical URL), ``text`` (near-duplicate headline and
lead in one language: Jaccard similarity of word shingles), ``evidence`` (language-independent:
shared watch items, numbers, dates and names, scored). A hit is compared with single hits, not
with whole stories, and it never merges two stories: ids do not change once given.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.stories.evidence import URL_KEY, Evidence

Method = Literal["first", "url", "text", "evidence"]
_RANK: dict[str, int] = {"url": 3, "text": 2, "evidence": 1, "first": 0}
MAX_CANDIDATES = 60   # candidates compared in full, those sharing the most keys


@dataclass(frozen=True)
class Rules:
    """How close two hits must be to report one event (tuned on tests/data/stories/tuning.toml).

    Candidates come from an index of keys: the in-memory ``Grouper`` below, or the store's
    (``StoredCandidates`` in monitor/stories/assign.py), which choose alike."""

    window: timedelta = timedelta(hours=72)
    text: float = 0.4          # Jaccard of shingles, same language
    evidence: float = 3.5      # evidence score, any languages
    common_key: int = 40       # a key more hits in the window share than this finds nothing


@dataclass(frozen=True)
class Link:
    """Why a hit is in its story: the method, its score, and the hit it was found like."""

    method: Method
    score: float
    like: str | None = None


@dataclass(frozen=True)
class Placement:
    article_id: str
    story_id: str
    link: Link


def story_id(article_id: str) -> str:
    """A story's id comes from the hit that started it, so it never changes."""
    return "s" + hashlib.sha1(article_id.encode()).hexdigest()[:12]


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def evidence_score(new: Evidence, old: Evidence) -> float:
    """Language-independent evidence that two hits report one event; 0 unless they share a watch
    item. A number or a date is rarer than a name, so it weighs more; a shared program counts
    once, since one program has many events in a week."""
    programs = new.programs & old.programs
    if not programs and not new.topics & old.topics:
        return 0.0
    return (1.5 * len(new.numbers & old.numbers) + 1.5 * len(new.dates & old.dates)
            + 1.0 * len(new.names & old.names) + (1.0 if programs else 0.5))


def compare(new: Evidence, old: Evidence, rules: Rules) -> Link | None:
    """The strongest reason to put ``new`` in ``old``'s story, or None."""
    if abs(new.published - old.published) > rules.window:
        return None
    if new.canonical_url and new.canonical_url == old.canonical_url:
        return Link("url", 1.0, old.article_id)
    if new.language and new.language == old.language:
        similarity = jaccard(new.shingles, old.shingles)
        if similarity >= rules.text:
            return Link("text", round(similarity, 3), old.article_id)
    score = evidence_score(new, old)
    if score >= rules.evidence:
        return Link("evidence", round(score, 2), old.article_id)
    return None


def place(new: Evidence, candidates: Iterable[tuple[Evidence, str]], rules: Rules) -> Placement:
    """Join the story of the candidate with the strongest link (method, then score; ties to the
    earlier hit), or start a story."""
    best: tuple[tuple[int, float], str, Link] | None = None
    for old, story in sorted(candidates, key=lambda c: (c[0].published, c[0].article_id)):
        link = compare(new, old, rules)
        if link is not None and (best is None or (_RANK[link.method], link.score) > best[0]):
            best = ((_RANK[link.method], link.score), story, link)
    if best is None:
        return Placement(new.article_id, story_id(new.article_id), Link("first", 1.0))
    return Placement(new.article_id, best[1], best[2])


def most_shared(shared: Counter[str], same_url: Iterable[str] = ()) -> list[str]:
    """The candidates compared in full: those with the same URL, and those sharing at least two
    keys, the most first (ties: by id, so the index in memory and the one in the database
    choose alike). One key is never enough for evidence: a number or a date weighs 1.5, a name
    1, a shared item at most 1, and the threshold is 3.5; near-identical text shares its names
    and numbers as well as some of its sketch."""
    urls = sorted(set(same_url))
    ranked = sorted((a for a, n in shared.items() if n >= 2 and a not in urls),
                    key=lambda a: (-shared[a], a))
    return (urls + ranked)[:MAX_CANDIDATES]


def window_of(moment: datetime, rules: Rules) -> tuple[datetime, datetime]:
    return moment - rules.window, moment + rules.window


def in_order(hits: Iterable[Evidence]) -> list[Evidence]:
    """Published order (then id): a backlog groups the same whatever order it arrived in."""
    return sorted(hits, key=lambda e: (e.published, e.article_id))


class Grouper:
    """Grouping in memory, for a rebuild and for tests: an inverted index of keys to hits."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._postings: dict[str, list[tuple[datetime, str]]] = {}
        self._hits: dict[str, Evidence] = {}
        self._story: dict[str, str] = {}

    def near(self, keys: Sequence[str], start: datetime, end: datetime,
             cap: int) -> list[tuple[Evidence, str]]:
        shared: Counter[str] = Counter()
        same_url: list[str] = []
        for key in keys:
            posting = self._postings.get(key, [])
            low = bisect_left(posting, (start, ""))
            high = bisect_right(posting, (end, "\uffff"))
            if high - low <= cap:
                found = [article for _, article in posting[low:high]]
                shared.update(found)
                if key.startswith(URL_KEY):
                    same_url += found
        return [(self._hits[a], self._story[a]) for a in most_shared(shared, same_url)]

    def add(self, hit: Evidence) -> Placement:
        """Place one hit (against those added before) and remember it."""
        start, end = window_of(hit.published, self.rules)
        keys = hit.keys()
        placement = place(hit, self.near(keys, start, end, self.rules.common_key), self.rules)
        self.remember(hit, placement.story_id, keys)
        return placement

    def remember(self, hit: Evidence, story: str, keys: Sequence[str]) -> None:
        self._hits[hit.article_id] = hit
        self._story[hit.article_id] = story
        for key in keys:
            insort(self._postings.setdefault(key, []), (hit.published, hit.article_id))


def group(hits: Iterable[Evidence], rules: Rules) -> list[Placement]:
    """Every hit placed in a story, from scratch, in published order: deterministic."""
    grouper = Grouper(rules)
    return [grouper.add(hit) for hit in in_order(hits)]
