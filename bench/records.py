"""Articles and matches in bulk, for the store and query figures.

Writing a million stories word by word would take minutes, so articles are assembled from a pool
of pre-written sentences; each sentence's watch-list matches are found once, and an article's
matches are those of its sentences. One article in twenty also names one of 5,000 rare names,
so a search for one of them is selective (about ten articles in a million), as a search for a
person or a small town is.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.corpus import NewsText
from monitor.matching import WatchList
from storage.records import Article, Match

RARE_NAMES = 5_000
RARE_SHARE = 0.05   # articles naming one: about ten per name in a million articles
_SYLLABLES = ("tla", "co", "pan", "zin", "gua", "ma", "que", "ro", "chi", "hua", "ta", "xal",
              "mi", "ne", "to", "ca", "yu", "te", "pec", "lo")
NEWEST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=730)  # articles are spread over two years


def rare_name(number: int) -> str:
    """The ``number``-th rare proper name ("Tlacopan…"): a word no vocabulary list holds."""
    parts = []
    value = number + len(_SYLLABLES)
    while value:
        value, digit = divmod(value, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts).capitalize() + "ez"


@dataclass(frozen=True)
class Sentence:
    text: str
    language: str
    matches: tuple[Match, ...]   # as if the sentence were a whole summary


class SentencePool:
    """Sentences in both languages, each with the matches it would have as a summary."""

    def __init__(self, watchlist: WatchList, *, size: int = 6_000, seed: int = 11) -> None:
        text = NewsText(seed)
        self.sentences: dict[str, list[Sentence]] = {"en": [], "es": []}
        for number in range(size):
            language = "en" if number % 2 == 0 else "es"
            words = text.sentence(language)
            self.sentences[language].append(
                Sentence(words, language, tuple(watchlist.match("", words))))


def article_batches(pool: SentencePool, count: int, *, batch: int = 25, seed: int = 5,
                    feeds: int = 1_000) -> Iterator[tuple[list[Article], dict[str, list[Match]]]]:
    """``count`` articles in batches of ``batch`` (one feed's worth), with their matches."""
    rng = random.Random(seed)
    step = SPAN / max(count, 1)   # oldest first, newest last, as a feed reader stores them
    made = 0
    while made < count:
        articles: list[Article] = []
        matches: dict[str, list[Match]] = {}
        for _ in range(min(batch, count - made)):
            article, found = _article(pool, rng, made, feeds,
                                      NEWEST - step * (count - made))
            articles.append(article)
            if found:
                matches[article.id] = found
            made += 1
        yield articles, matches


def _article(pool: SentencePool, rng: random.Random, number: int, feeds: int,
             published: datetime) -> tuple[Article, list[Match]]:
    language = "en" if rng.random() < 0.5 else "es"
    sentences = pool.sentences[language]
    title = rng.choice(sentences)
    body = [rng.choice(sentences) for _ in range(rng.randint(2, 3))]
    feed = f"feed {number % feeds:04d}"
    site = f"news{number % feeds}.example.org"
    url = f"https://{site}/2026/story-{number:08d}"
    found: list[Match] = []
    seen: set[tuple[str, str, str]] = set()
    for field, sentence in [("title", title)] + [("summary", s) for s in body]:
        for match in sentence.matches:
            key = (match.item, match.term, field)
            if key not in seen:
                seen.add(key)
                found.append(Match(item=match.item, kind=match.kind, term=match.term,
                                   field=field,  # type: ignore[arg-type]
                                   snippet=match.snippet))
    summary = " ".join(s.text for s in body)
    if rng.random() < RARE_SHARE:  # a person or a place few stories name
        summary += f" ({rare_name(rng.randrange(RARE_NAMES))})"
    article = Article(
        id=hashlib.sha1(url.encode()).hexdigest()[:20], feed=feed, guid=f"{site}-{number}",
        url=url, canonical_url=url, title=title.text.rstrip(".?"), summary=summary, content="",
        published=published, first_seen=published + timedelta(minutes=rng.randrange(5, 90)),
        language=language, author=None)
    return article, found
