"""``python -m bench``: measure the pipeline against its limits; print a table, write JSON.

    python -m bench              # full run (a few minutes; builds bench/.cache/ the first time)
    python -m bench --quick      # the same figures on smaller inputs, under a minute
    python -m bench --only match --only store

Every figure is measured beside a baseline taken in the same run, so the ratios hold on a
machine that other work shares. Results go to bench/results.json (see docs/performance.md for
what each figure means and what was done to reach the targets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench import report, targets
from bench.backfillbench import backfill_figure
from bench.extractionbench import extraction_figure
from bench.fetchbench import fetch_figure
from bench.matchbench import match_figure
from bench.pagebench import page_figure
from bench.parsebench import parse_figure
from bench.querybench import CACHE, query_figure
from bench.sizes import FULL, QUICK, TINY, Sizes
from bench.storebench import store_figure
from bench.storiesbench import stories_figure
from monitor.matching import WatchList
from monitor.settings import load_watchlist

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("fetch", "parse", "match", "store", "query", "backfill", "extraction", "pages",
           "stories")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in ("httpx", "feedparser", "pyahocorasick", "sqlite-utils", "pebble", "lxml",
                 "trafilatura"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "memory_gb": psutil.virtual_memory().total / 1e9,
        "platform": platform.platform(), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "libraries": versions,
        "load_before": _load(), "commit": _commit(),
    }


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def run(sizes: Sizes, only: tuple[str, ...], cache: Path) -> dict[str, Any]:
    watch = load_watchlist(ROOT / "config" / "watchlist.toml")
    watchlist = WatchList(watch)
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": sizes.name, "started": datetime.now(UTC).isoformat(),
                               "machine": machine(), "sizes": vars(sizes), "figures": {}}
    with tempfile.TemporaryDirectory(prefix="armswatch-bench-") as folder:
        work: dict[str, Callable[[], dict[str, Any]]] = {
            "fetch": lambda: fetch_figure(
                feeds=sizes.feeds, items=sizes.items, sequential=sizes.sequential,
                concurrency=sizes.concurrency, seed=1, folder=Path(folder),
                cycle_runs=sizes.cycle_runs),
            "parse": lambda: parse_figure(items=sizes.parse_items, runs=sizes.parse_runs,
                                          min_seconds=sizes.parse_seconds),
            "match": lambda: match_figure(watch, megabytes=sizes.match_megabytes,
                                          phrases=sizes.match_phrases, runs=sizes.match_runs),
            "store": lambda: store_figure(watchlist, sizes.store_articles, Path(folder),
                                          sizes.store_runs),
            "query": lambda: query_figure(watchlist, sizes.query_articles, sizes.query_runs,
                                          cache),
            "backfill": lambda: backfill_figure(watch, sizes.query_articles,
                                                sizes.backfill_articles, cache),
            "extraction": lambda: extraction_figure(pages=sizes.extraction_pages,
                                                    runs=sizes.extraction_runs),
            "pages": lambda: page_figure(pages=sizes.pages, hosts=sizes.page_hosts,
                                         delay=sizes.page_delay),
            "stories": lambda: stories_figure(watchlist, sizes.stories_articles,
                                              sizes.stories_new, Path(folder)),
        }
        for name in FIGURES:
            if only and name not in only:
                continue
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            began = time.perf_counter()
            try:
                figure = work[name]()
            except Exception as exc:  # noqa: BLE001 — reported, and the other figures go on
                traceback.print_exc()
                figure = {"error": f"{type(exc).__name__}: {exc}"}
            figure["seconds"] = time.perf_counter() - began
            results["figures"][name] = figure
    results["machine"]["load_after"] = _load()
    results["duration_s"] = time.perf_counter() - started
    results["targets"] = targets.check(results["figures"], full=sizes.name == "full")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller inputs, under a minute")
    size.add_argument("--tiny", action="store_true",
                      help="smoke-test sizes: every code path in seconds, figures meaningless")
    parser.add_argument("--only", action="append", choices=FIGURES, default=[],
                        help="measure only this figure (repeatable)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json",
                        help="where to write the results (default bench/results.json)")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where the query databases are kept (default bench/.cache)")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    results = run(sizes, tuple(args.only), args.cache)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(report.table(results))
    print(f"\nwritten to {args.output}")
    failed = [name for name, figure in results["figures"].items() if "error" in figure]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
