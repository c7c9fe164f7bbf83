"""Figure 6: backfills (design §14) on the query figure's databases, beside the plain matcher.

- One new term over the big database (a name about ten articles in a million mention, like a
  newly reported operation): what `armswatch watch test --stored` and a backfill of one new item
  cost. The full-text index narrows, the matcher decides.
- The whole shipped watch list over a smaller database, as a dry run (nothing written; every hit
  is already stored, so this is the cost of the re-match, not of writing).
- The baseline: the plain matcher (normalise + Aho-Corasick) over every article of that
  smaller database, read from it, i.e. a backfill without the index.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.querybench import CACHE, query_database
from bench.records import NEWEST, rare_name
from monitor.matching import WatchList, backfill, plan
from monitor.settings import WatchItem
from storage.store import Store


def backfill_figure(watch: Sequence[WatchItem], one_term_articles: int, whole_list_articles: int,
                    cache: Path = CACHE) -> dict[str, Any]:
    watchlist = WatchList(watch)
    big, _ = query_database(watchlist, one_term_articles, cache)
    new_item = WatchItem(name="Bench new item", kind="topic", terms=(rare_name(17),))
    with Store.open(big) as store:
        started = time.perf_counter()
        found = plan(store, new_item, None, fresh=True)
        one_term_s = time.perf_counter() - started
    small, _ = query_database(watchlist, whole_list_articles, cache)
    with Store.open(small) as store:
        started = time.perf_counter()
        run = backfill(store, watch, since=None, now=NEWEST, dry_run=True)
        whole_list_s = time.perf_counter() - started
        started = time.perf_counter()
        matched = sum(1 for title, summary, content in store.db.execute(
            "SELECT title, summary, content FROM articles") if watchlist.match(
                title, summary, content))
        plain_s = time.perf_counter() - started
    candidates = sum(p.candidates for p in run.plans)
    return {
        "one_term": {"articles": one_term_articles, "term": new_item.terms[0],
                     "candidates": found.candidates, "matched": len(found.gained),
                     "seconds": one_term_s},
        "whole_list": {"articles": whole_list_articles, "items": len(watch),
                       "candidates": candidates, "new_matches": sum(p.new_matches
                                                                    for p in run.plans),
                       "seconds": whole_list_s},
        "plain_matcher": {"articles": whole_list_articles, "matched": matched,
                          "seconds": plain_s,
                          "articles_per_s": whole_list_articles / max(plain_s, 1e-9)},
    }
