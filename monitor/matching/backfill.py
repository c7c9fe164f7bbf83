"""Keywords that reach back (design §14): re-match stored articles against the watch list.

The full-text index narrows the candidates of each item (storage/backfills.py); the real matcher
(``WatchList.match``: the same folding, guards, context and excludes as a poll) decides. Items
match independently of each other, so matching one item alone finds exactly what the whole list
finds for it. Planning (``plan_item``) and summing up (``ItemPlan``) are pure; ``backfill`` reads
and writes through the store it is given. History is never deleted: stored hits the current list
no longer matches are reported, not removed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from monitor.matching.normalise import normalise
from monitor.matching.watchlist import WatchList, hyphen_variants
from monitor.settings import WatchItem
from storage.backfills import BackfillRecord
from storage.records import Article, Match
from storage.store import Store

SAMPLES = 3
_WORD = re.compile(r"[^\W_]+")


def fingerprint(item: WatchItem) -> str:
    """A short hash of an item's definition: a backfill says which version of the item ran."""
    text = json.dumps(asdict(item), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def search_phrases(item: WatchItem) -> list[str] | None:
    """Phrases the full-text index can look up, one of which any article the item matches holds:
    each term and guarded term folded as the matcher folds it, in every hyphen spelling, and
    lower-cased only (the index keeps "ß" as it is where folding makes it "ss"). None when a term
    has nothing the index keeps: then every article is a candidate."""
    phrases: list[str] = []
    for term in (*item.terms, *item.guarded):
        forms = [normalise(term), *hyphen_variants(term),
                 " ".join(_WORD.findall(term.lower()))]
        if not any(forms):
            return None
        phrases += [form for form in forms if form]
    return list(dict.fromkeys(phrases))


@dataclass(frozen=True)
class Sample:
    article: Article
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class ItemPlan:
    """What a backfill of one item finds among the stored articles."""

    item: WatchItem
    candidates: int                                  # articles the matcher looked at
    added: dict[str, list[Match]]                    # article id -> matches not stored yet
    gained: list[Article]                            # articles that become hits of the item
    lost: list[Article]                              # stored hits it no longer matches
    overlap: Counter[str] = field(default_factory=Counter)  # other items of the gained ones

    @property
    def new_matches(self) -> int:
        return sum(len(found) for found in self.added.values())

    def samples(self, limit: int = SAMPLES) -> list[Sample]:
        """The newest gained articles with their new evidence."""
        return [Sample(a, tuple(self.added[a.id])) for a in self.gained[:limit]]

    def counts(self) -> dict[str, dict[str, int]]:
        """Gained articles per ISO week (its Monday's date), feed and language."""
        weeks = Counter(_week(a.published) for a in self.gained)
        feeds = Counter(a.feed for a in self.gained)
        languages = Counter(a.language or "unknown" for a in self.gained)
        return {"week": dict(sorted(weeks.items())), "feed": dict(feeds.most_common()),
                "language": dict(languages.most_common())}


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def plan_item(item: WatchItem, candidates: Iterable[Article],
              stored: Callable[[Sequence[str]], dict[str, list[Match]]]) -> ItemPlan:
    """Match ``candidates`` against ``item`` alone; ``stored`` gives the item's stored matches
    of a list of article ids (so a store or a dict can answer)."""
    matcher = WatchList([item])
    articles = list(candidates)
    held = stored([a.id for a in articles])
    added: dict[str, list[Match]] = {}
    gained: list[Article] = []
    lost: list[Article] = []
    for article in articles:
        found = matcher.match(article.title, article.summary, article.content, article.body)
        before = {(m.term, m.field) for m in held.get(article.id, ())}
        new = [m for m in found if (m.term, m.field) not in before]
        if new:
            added[article.id] = new
            if not before:
                gained.append(article)
        elif before and not found:
            lost.append(article)
    return ItemPlan(item=item, candidates=len(articles), added=added, gained=gained, lost=lost)


@dataclass(frozen=True)
class BackfillRun:
    plans: list[ItemPlan]
    recorded: list[BackfillRecord]       # empty for a dry run


def plan(store: Store, item: WatchItem, since: datetime | None, *,
         fresh: bool = False) -> ItemPlan:
    """What re-matching ``item`` over the articles published since ``since`` finds; ``fresh``
    plans as if the item had no stored hits (``watch test --stored``: what it would match)."""
    candidates = store.backfills.candidates(search_phrases(item), item.name, since)
    def stored(ids: Sequence[str]) -> dict[str, list[Match]]:
        return {} if fresh else store.backfills.stored_matches(item.name, ids)
    found = plan_item(item, candidates, stored)
    others = store.backfills.items_of([a.id for a in found.gained])
    found.overlap.update(name for names in others.values() for name in names
                         if name != item.name)
    return found


def backfill(store: Store, items: Sequence[WatchItem], *, since: datetime | None,
             now: datetime, dry_run: bool = False,
             on_item_done: Callable[[ItemPlan], None] | None = None) -> BackfillRun:
    """Re-match stored articles published since ``since`` against each of ``items``; record
    what is new (marked as backfilled) unless ``dry_run``. Re-runs add nothing."""
    plans: list[ItemPlan] = []
    recorded: list[BackfillRecord] = []
    for item in items:
        found = plan(store, item, since)
        if not dry_run and found.added:
            record = store.backfills.record(item.name, fingerprint(item), ran_at=now,
                                            since=since, articles=len(found.gained),
                                            matches=found.added)
            if record is not None:
                recorded.append(record)
        plans.append(found)
        if on_item_done is not None:
            on_item_done(found)
    return BackfillRun(plans=plans, recorded=recorded)
