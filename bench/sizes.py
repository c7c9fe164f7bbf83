"""How big each figure's inputs are in a full run, a quick run and a smoke test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    feeds: int               # distinct feeds (and loopback hosts) in the fetch figure
    items: int               # items per feed there
    sequential: int          # feeds fetched one by one (a multiple of 20), scaled to all
    concurrency: int         # the service's default [polling] concurrency
    cycle_runs: int          # whole cycles measured; the fastest is reported
    parse_items: int         # items per feed in the parse figure
    parse_runs: int
    parse_seconds: float     # least time spent timing each feed
    match_megabytes: float
    match_phrases: int
    match_runs: int
    store_articles: int
    store_runs: int
    query_articles: int
    query_runs: int
    backfill_articles: int   # the whole watch list is backfilled over this many
    stories_articles: int    # hits in one stories window
    stories_new: int         # new hits placed among them, one at a time
    extraction_pages: int | None = None   # pages of the shared benchmark (None: all 181)
    extraction_runs: int = 1
    pages: int = 1_000       # article pages in the pages figure ...
    page_hosts: int = 50     # ... over this many loopback hosts
    page_delay: float = 0.2  # seconds between two requests to one host


FULL = Sizes("full", feeds=1_000, items=25, sequential=200, concurrency=50, cycle_runs=2,
             parse_items=100, parse_runs=5, parse_seconds=1.0, match_megabytes=20,
             match_phrases=500, match_runs=3, store_articles=50_000, store_runs=2,
             query_articles=1_000_000, query_runs=40, backfill_articles=100_000,
             extraction_runs=3,
             stories_articles=100_000, stories_new=600)
QUICK = Sizes("quick", feeds=200, items=25, sequential=40, concurrency=50, cycle_runs=1,
              parse_items=100, parse_runs=2, parse_seconds=0.2, match_megabytes=2,
              match_phrases=500, match_runs=2, store_articles=5_000, store_runs=1,
              query_articles=50_000, query_runs=15, backfill_articles=50_000,
              pages=200, page_hosts=10,
              stories_articles=10_000, stories_new=300)
# For tests/test_bench.py: every code path in seconds; the figures mean nothing.
TINY = Sizes("tiny", feeds=4, items=3, sequential=2, concurrency=50, cycle_runs=1,
             parse_items=5, parse_runs=1, parse_seconds=0.0, match_megabytes=0.02,
             match_phrases=500, match_runs=1, store_articles=100, store_runs=1,
             query_articles=300, query_runs=2, backfill_articles=300, extraction_pages=5,
             pages=8, page_hosts=4, page_delay=0.05,
             stories_articles=300, stories_new=10)
