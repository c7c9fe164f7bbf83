"""What grouping knows of one hit, pure: its text's evidence (``text.py``) with its matched items,
the keys that find its candidates, and the form it is stored in (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.stories.text import dates, grouping_text, names, numbers, shingles, words
from storage.records import Article, Match

SKETCH = 6    # the smallest shingle hashes that serve as keys: near-duplicates share some
URL_KEY = "u:"


@dataclass(frozen=True)
class Evidence:
    """One hit as grouping sees it."""

    article_id: str
    published: datetime
    language: str                     # "" when unknown
    canonical_url: str
    title: str
    shingles: frozenset[int]
    numbers: frozenset[str]
    dates: frozenset[str]
    names: frozenset[str]
    programs: frozenset[str]
    topics: frozenset[str]

    def keys(self) -> list[str]:
        """What the candidate index files this hit under: its URL, numbers, dates, names and a
        bottom-k sketch of its shingles. Sorted, so every run looks them up in one order."""
        found = {f"n:{n}" for n in self.numbers} | {f"d:{d}" for d in self.dates}
        found |= {f"p:{n}" for n in self.names}
        found |= {f"s:{h}" for h in sorted(self.shingles)[:SKETCH]}
        if self.canonical_url:
            found.add(f"{URL_KEY}{self.canonical_url}")
        return sorted(found)

    def to_json(self) -> str:
        return json.dumps({"l": self.language, "u": self.canonical_url, "t": self.title,
                           "s": sorted(self.shingles), "n": sorted(self.numbers),
                           "d": sorted(self.dates), "p": sorted(self.names),
                           "g": sorted(self.programs), "o": sorted(self.topics)},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, article_id: str, published: datetime, text: str) -> Evidence:
        data = json.loads(text)
        return cls(article_id=article_id, published=published, language=data["l"],
                   canonical_url=data["u"], title=data["t"], shingles=frozenset(data["s"]),
                   numbers=frozenset(data["n"]), dates=frozenset(data["d"]),
                   names=frozenset(data["p"]), programs=frozenset(data["g"]),
                   topics=frozenset(data["o"]))


def evidence_of(article: Article, matches: Sequence[Match]) -> Evidence:
    """The evidence in one hit. Words of the matched terms are not names: every report on a
    program names it, so they would join unrelated events (its programs count on their own)."""
    headline, rest = grouping_text(article)
    found_dates, undated = dates(f"{headline}\n{rest}")
    term_words = {w for m in matches for w in words(m.term)} | {
        w for m in matches for w in words(m.item)}
    return Evidence(
        article_id=article.id, published=article.published,
        language=(article.language or "").lower(),
        canonical_url=article.canonical_url or article.url or "", title=article.title,
        shingles=shingles(headline, rest), numbers=numbers(undated), dates=found_dates,
        names=frozenset(n for n in names(headline, rest) if not set(n.split()) & term_words),
        programs=frozenset(m.item for m in matches if m.kind == "program"),
        topics=frozenset(m.item for m in matches if m.kind == "topic"))
