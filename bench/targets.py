"""The issue's targets, checked against a run's figures.

Targets that depend on the size of the input (a 1,000-feed cycle and its speed-up over fetching
one by one, a million articles, the memory of that cycle) are only checked in a full run; the
others, rates of work, in every run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    key: str
    text: str                                  # what is measured, in words
    figure: str                                # the figure it reads
    read: Callable[[Figures], float]
    op: str                                    # "<=" or ">="
    limit: float
    unit: str
    full_only: bool = False


TARGETS = (
    Target("cycle_304_wall", "1,000-feed cycle, all 304: wall", "fetch",
           lambda f: f["fetch"]["cycle"]["not_modified"]["wall_s"], "<=", 2.5, "s", True),
    Target("cycle_304_cpu", "1,000-feed cycle, all 304: CPU (whole process tree)", "fetch",
           lambda f: f["fetch"]["cycle"]["not_modified"]["tree_cpu_s"], "<=", 2.5, "CPU-s",
           True),
    Target("cycle_cold_wall", "cold 1,000 x 25 cycle: wall", "fetch",
           lambda f: f["fetch"]["cycle"]["cold"]["wall_s"], "<=", 15.0, "s", True),
    # Size-dependent too: with fewer feeds the last, slowest ones weigh more in the wall time.
    Target("fetch_speedup", "fetch vs sequential (all 200)", "fetch",
           lambda f: f["fetch"]["speedup_vs_sequential"]["200"], ">=", 35.0, "x", True),
    Target("match_rate", "normalise + match", "match",
           lambda f: f["match"]["mb_per_s"], ">=", 40.0, "MB/s"),
    Target("match_ratio", "normalise + match vs normalisation alone", "match",
           lambda f: f["match"]["ratio_to_normalise"], ">=", 0.5, "x"),
    Target("store_rate", "store with matches and FTS", "store",
           lambda f: f["store"]["articles_per_s"], ">=", 10_000, "articles/s"),
    Target("query_selective_p95", "selective search p95, 1M articles", "query",
           lambda f: f["query"]["selective"]["p95_ms"], "<=", 20.0, "ms", True),
    Target("backfill_one_term", "backfill of one new term, 1M articles", "backfill",
           lambda f: f["backfill"]["one_term"]["seconds"], "<=", 5.0, "s", True),
    Target("backfill_whole_list", "backfill of the whole watch list, 100,000 articles",
           "backfill", lambda f: f["backfill"]["whole_list"]["seconds"], "<=", 30.0, "s", True),
    # Pages per host x delay is the floor; extraction (~6 ms of CPU a page) must not stretch it
    # by more than half again on the 2 shared cores.
    Target("pages_wall_to_floor", "1,000 article pages over 50 hosts: wall / politeness floor",
           "pages", lambda f: f["pages"]["wall_to_floor"], "<=", 2.0, "x", True),
    Target("stories_place", "story grouping per new hit, 100,000 hits in the window (p50, "
           "placing minus storing alone)", "stories",
           lambda f: f["stories"]["grouping_ms"], "<=", 5.0, "ms", True),
    Target("peak_memory", "peak memory of the cold cycle (PSS, main + parser processes)",
           "fetch", lambda f: f["fetch"]["memory"]["total_peak_pss_mb"], "<=", 300.0, "MB",
           True),
    Target("extraction_rate", "main-text extraction, real news pages, one core", "extraction",
           lambda f: f["extraction"]["pages_per_s"], ">=", 10.0, "pages/s"),
    Target("extraction_f1", "main-text extraction F1, Article Extraction Benchmark",
           "extraction", lambda f: f["extraction"]["f1"], ">=", 0.95, ""),
)

_OPS = {"<=": operator.le, ">=": operator.ge}


def check(figures: Figures, *, full: bool) -> list[dict[str, Any]]:
    """One record per target: the value, the limit, and whether it is met (None: not checked)."""
    results = []
    for target in TARGETS:
        record: dict[str, Any] = {"key": target.key, "text": target.text,
                                  "limit": target.limit, "op": target.op, "unit": target.unit,
                                  "value": None, "met": None}
        if target.figure in figures and not {"error", "skipped"} & figures[target.figure].keys():
            record["value"] = target.read(figures)
            if full or not target.full_only:
                record["met"] = bool(_OPS[target.op](record["value"], target.limit))
            else:
                record["note"] = "checked in a full run only (input size)"
        results.append(record)
    return results
