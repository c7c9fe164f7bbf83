"""Figure 8: story grouping (design §13) with every stored hit inside one window.

- ``place``: what a poll adds per new hit — its evidence, the candidate lookup in the store's key
  index, the comparisons, and the writes (story, report, keys) — with ``articles`` hits already
  in the window around it. Each new hit is placed in its own transaction, as a feed's write is,
  and timed beside the same store write without placement (the baseline).
- ``rebuild``: `armswatch stories --rebuild` of all of them: every hit regrouped from scratch
  in memory and written in one transaction.

The hits come from the store figure's sentence pool: every headline and sentence is reused by
many articles, so shingles, names and numbers are shared far more than in real news, and the
index's cap on common keys is exercised.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.records import NEWEST, SentencePool, article_batches
from bench.timing import measured, percentiles
from monitor.matching import WatchList
from monitor.stories import Rules, place_hits, rebuild
from storage.records import Article, FeedState, Hit, Match
from storage.store import Store

RULES = Rules()


def _hits(pool: SentencePool, count: int, seed: int) -> Iterator[tuple[Article, list[Match]]]:
    """``count`` hits published within one window, oldest first."""
    made = 0
    for articles, matches in article_batches(pool, count * 4, seed=seed):
        for article in articles:
            if article.id in matches and made < count:
                published = NEWEST - RULES.window + RULES.window * (made / count)
                yield replace(article, published=published, first_seen=published), \
                    matches[article.id]
                made += 1
        if made >= count:
            return


def stories_figure(watchlist: WatchList, articles: int, new: int,
                   folder: Path) -> dict[str, Any]:
    pool = SentencePool(watchlist)
    path = folder / "stories.db"
    feed = FeedState(name="bench", url="https://bench.example/rss")
    with Store.open(path) as store:
        stored = list(_hits(pool, articles, seed=5))
        for start in range(0, len(stored), 25):
            chunk = stored[start:start + 25]
            store.save_feed_result(feed, [a for a, _ in chunk], {a.id: m for a, m in chunk})
        progress: list[int] = []
        whole = measured(lambda: progress.append(len(rebuild(store, RULES))))
        # New hits inside the window, each stored and placed like one feed's write.
        fresh = [(replace(a, id=f"new-{a.id}", guid=f"new-{a.guid}",
                          url=f"{a.url}-new", canonical_url=f"{a.canonical_url}-new",
                          published=NEWEST - timedelta(hours=1)), m)
                 for a, m in _hits(pool, new, seed=9)]
        placing, storing = [], []
        for index, (article, found) in enumerate(fresh):
            started = time.perf_counter()
            if index % 2:   # alternate, so load on the machine weighs on both alike
                with store.transaction():
                    store.save_feed_result(feed, [article], {article.id: found})
                    place_hits(store, [Hit(article, tuple(found))], RULES)
                placing.append(time.perf_counter() - started)
            else:
                store.save_feed_result(feed, [article], {article.id: found})
                storing.append(time.perf_counter() - started)
        stories = store.stories.count()
        methods = dict(store.db.execute(
            "SELECT method, count(*) FROM story_articles GROUP BY method").fetchall())
        keys = store.db.execute("SELECT count(*) FROM story_keys").fetchone()[0]
    place_ms = percentiles(placing)
    store_ms = percentiles(storing)
    return {
        "articles": articles, "stories": stories, "methods": methods, "keys": keys,
        "window_hours": RULES.window.total_seconds() / 3600,
        "rebuild": {**whole.as_dict(rate=progress[0]), "hits": progress[0]},
        "place": {"new": len(placing), **place_ms,
                  "mean_ms": 1000 * sum(placing) / max(len(placing), 1)},
        "store_only": {"new": len(storing), **store_ms},
        "grouping_ms": max(place_ms["p50_ms"] - store_ms["p50_ms"], 0.0),
    }
