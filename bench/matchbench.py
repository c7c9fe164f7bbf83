"""Figure 3: MB/s of normalise + match over news text, beside normalisation alone.

The default watch list is scaled to 500 phrases (terms, guarded terms, context and exclude terms
all count, as each is a pattern in the automaton) by adding program-like items built from the
same vocabulary as the text, so the automaton meets many partial matches, as a real list of
names does. The text is English and Spanish articles (title, summary, full content) made by
bench/corpus.py; MB are megabytes (10^6 bytes) of UTF-8.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bench.corpus import NewsText
from bench.timing import best_of
from monitor.matching import WatchList, normalise
from monitor.settings import WatchItem

_EN_WORDS = ("border", "federal", "security", "task", "force", "customs", "weapons", "trade",
             "national", "joint", "regional", "cartel", "bridge", "program", "initiative")
_ES_WORDS = ("frontera", "federal", "seguridad", "fuerza", "aduanas", "armas", "comercio",
             "nacional", "conjunta", "regional", "cártel", "puente", "programa", "iniciativa")


def phrase_count(items: tuple[WatchItem, ...] | list[WatchItem]) -> int:
    return sum(len(i.terms) + len(i.guarded) + len(i.context) + len(i.exclude) for i in items)


def scaled_watchlist(items: tuple[WatchItem, ...], phrases: int, seed: int = 3) -> list[WatchItem]:
    """The given items plus invented ones, until they hold ``phrases`` phrases in all."""
    rng = random.Random(seed)
    scaled = list(items)
    number = 0
    while phrase_count(scaled) < phrases:
        number += 1
        en = " ".join(rng.sample(_EN_WORDS, 2)).title()
        es = " ".join(rng.sample(_ES_WORDS, 2)).title()
        terms = (f"Operation {en} {number}", f"Operación {es} {number}", f"{en} Program")
        room = phrases - phrase_count(scaled)
        scaled.append(WatchItem(
            name=f"Program {number}", kind="program", terms=terms[:room],
            guarded=(f"{en} Unit",)[:max(room - 3, 0)],
            context=("weapons", "armas")[:max(room - 4, 0)]))
    return scaled


@dataclass(frozen=True)
class Text:
    title: str
    summary: str
    content: str


# General news: one sentence in a hundred names a program or topic, one in a hundred a
# look-alike; about one long article in five is then a hit.
MENTIONS = 0.01
DECOYS = 0.01


def articles(megabytes: float, seed: int = 2, *, mentions: float = MENTIONS) -> list[Text]:
    """Articles (half English, half Spanish) adding up to about ``megabytes`` MB of UTF-8."""
    text = NewsText(seed, mentions=mentions, decoys=DECOYS)
    out: list[Text] = []
    size = 0
    goal = megabytes * 1_000_000
    while size < goal:
        story = text.story("en" if len(out) % 2 == 0 else "es", paragraphs=6)
        item = Text(story.title, story.summary, "\n\n".join(story.paragraphs))
        out.append(item)
        size += sum(len(part.encode()) for part in (item.title, item.summary, item.content))
    return out


def match_figure(items: tuple[WatchItem, ...], *, megabytes: float, phrases: int,
                 runs: int) -> dict[str, Any]:
    scaled = scaled_watchlist(items, phrases)
    watchlist = WatchList(scaled)
    corpus = articles(megabytes)
    size = sum(len(p.encode()) for t in corpus for p in (t.title, t.summary, t.content)) / 1e6

    def normalise_only() -> None:
        for t in corpus:
            normalise(t.title)
            normalise(t.summary)
            normalise(t.content)

    found: list[int] = []

    def normalise_and_match() -> None:
        found.clear()
        for t in corpus:
            found.append(len(watchlist.match(t.title, t.summary, t.content)))

    base = best_of(normalise_only, runs=runs)
    ours = best_of(normalise_and_match, runs=runs)
    return {
        "megabytes": size, "articles": len(corpus), "phrases": phrase_count(scaled),
        "items": len(scaled), "hits": sum(1 for n in found if n), "matches": sum(found),
        "ours": ours.as_dict(), "normalise": base.as_dict(),
        "mb_per_s": size / ours.wall, "normalise_mb_per_s": size / base.wall,
        "ratio_to_normalise": base.wall / ours.wall,
    }
