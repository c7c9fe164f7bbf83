"""Stories in the database: place new hits (a poll, a backfill) through the store's key index,
or regroup every hit from scratch (``stories --rebuild``). The decisions are ``grouping.py``'s;
this module only reads and writes through the store it is given."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.settings import StoriesConfig
from monitor.stories.evidence import URL_KEY, Evidence, evidence_of
from monitor.stories.grouping import (
    Grouper,
    Placement,
    Rules,
    in_order,
    most_shared,
    place,
    window_of,
)
from storage.records import Hit, StoryEntry
from storage.store import Store

REBUILD_BATCH = 2_000   # placements written per statement batch during a rebuild


def rules_for(settings: StoriesConfig) -> Rules:
    """The grouping rules with the window of ``[stories]``."""
    return Rules(window=settings.window)


class StoredCandidates:
    """Earlier hits from the store's key index: the ``Candidates`` the poll uses."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def near(self, keys: Sequence[str], start: datetime, end: datetime,
             cap: int) -> list[tuple[Evidence, str]]:
        shared: Counter[str] = Counter()
        same_url: list[str] = []
        for key in keys:
            found = self.store.stories.postings(key, start, end, cap + 1)
            if len(found) <= cap:
                shared.update(found)
                if key.startswith(URL_KEY):
                    same_url += found
        rows = self.store.stories.evidence(most_shared(shared, same_url))
        return [(Evidence.from_json(article, published, text), story)
                for article, story, published, text in rows]


def entry(hit: Evidence, placement: Placement, keys: Sequence[str]) -> StoryEntry:
    return StoryEntry(article_id=hit.article_id, story_id=placement.story_id,
                      published=hit.published, title=hit.title, method=placement.link.method,
                      score=placement.link.score, like=placement.link.like,
                      evidence=hit.to_json(), keys=tuple(keys))


def evidence_of_hits(hits: Sequence[Hit]) -> list[Evidence]:
    return [evidence_of(h.article, h.matches) for h in hits]


def place_hits(store: Store, hits: Sequence[Hit], rules: Rules) -> list[Placement]:
    """Place hits that are in no story yet, in published order, each against the stored hits
    and those placed before it; written in the caller's transaction when there is one."""
    candidates = StoredCandidates(store)
    placements: list[Placement] = []
    with store.transaction():
        for hit in in_order(evidence_of_hits(hits)):
            start, end = window_of(hit.published, rules)
            keys = hit.keys()
            placement = place(hit, candidates.near(keys, start, end, rules.common_key), rules)
            store.stories.add([entry(hit, placement, keys)])
            placements.append(placement)
    return placements


def place_unplaced(store: Store, rules: Rules,
                   among: Sequence[str] | None = None) -> list[Placement]:
    """Place the hits that are in no story yet: of the articles ``among`` (what a backfill
    gained: an article that was a hit already keeps its story), or every one."""
    return place_hits(store, store.stories.unplaced(among), rules)


def rebuild(store: Store, rules: Rules,
            progress: Callable[[int, int], None] | None = None) -> list[Placement]:
    """Regroup every hit from scratch, in one transaction: the same hits give the same stories,
    with the same ids. ``progress(done, total)`` is called as it goes."""
    with store.transaction():
        hits = evidence_of_hits(store.stories.all_hits())
        store.stories.clear()
        grouper = Grouper(rules)
        placements: list[Placement] = []
        batch: list[StoryEntry] = []
        for done, hit in enumerate(in_order(hits), start=1):
            placement = grouper.add(hit)
            placements.append(placement)
            batch.append(entry(hit, placement, hit.keys()))
            if len(batch) >= REBUILD_BATCH or done == len(hits):
                store.stories.add(batch)
                batch = []
                if progress is not None:
                    progress(done, len(hits))
    return placements
