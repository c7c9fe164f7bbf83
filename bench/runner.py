"""The measured side of the fetch, cycle and memory figures, run in a fresh process.

``python -m bench.runner '<json>'`` with ``{"mode": ..., ...}``:

- ``cycle``: opens a Monitor (store, fetcher, parser pool) on the given feeds and runs a cold
  poll cycle, then a second one over every feed (all 304 when the server says so).
- ``fetch``: our Fetcher alone over the URLs at a given concurrency, twice (200, then 304).
- ``raw``: the minimal asyncio client (bench/rawclient.py) the same way.

Before each phase the runner prints ``{"event": "ready", ...}`` and waits for a line on standard
input, so the parent can take its snapshot of the process tree (the parser workers are not our
children: their CPU time and memory can only be read from outside). After it, it prints one JSON
line; CPU seconds there are this process's own (``RUSAGE_SELF``).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.rawclient import raw_fetch_all
from bench.timing import cpu_seconds
from monitor.feeds import Fetcher, FetchRequest, FetchResult
from monitor.service import Monitor
from monitor.settings import Config, FeedConfig, PollingConfig, StorageConfig, load_watchlist
from storage.errors import FetchError

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def peak_rss_mb() -> float:
    """This process image's peak resident memory. VmHWM, not ru_maxrss: after fork+exec, Linux's
    ru_maxrss still holds the parent's high-water mark."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def wait_for_go(phase: str) -> None:
    """Tell the parent a phase is about to start, and wait until it has taken its snapshot."""
    emit({"event": "ready", "phase": phase})
    sys.stdin.readline()


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = await work()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


# --- cycle ----------------------------------------------------------------------------------

def cycle_config(urls: list[str], db: Path, concurrency: int) -> Config:
    feeds = tuple(FeedConfig(name=f"feed {i:04d}", url=url, interval=timedelta(minutes=15))
                  for i, url in enumerate(urls))
    return Config(directory=ROOT / "config", storage=StorageConfig(path=db),
                  polling=PollingConfig(concurrency=concurrency), feeds=feeds, channels=(),
                  watch=load_watchlist(ROOT / "config" / "watchlist.toml"))


async def run_cycles(args: dict[str, Any]) -> None:
    config = cycle_config(args["urls"], Path(args["db"]), args["concurrency"])
    started = time.perf_counter()
    async with Monitor(config) as monitor:
        opened = time.perf_counter() - started
        for phase in ("cold", "not_modified"):
            wait_for_go(phase)
            feeds = monitor.select_feeds(every=True)
            report, wall, cpu = await timed(partial(monitor.poll, feeds))
            statuses = Counter(o.status for o in report.outcomes)
            errors = Counter(o.error for o in report.outcomes if o.error)
            emit({"event": "done", "phase": phase, "wall": wall, "cpu": cpu,
                  "statuses": dict(statuses), "errors": dict(errors.most_common(3)),
                  "new_articles": report.new_articles, "new_hits": report.new_hits,
                  "peak_rss_mb": peak_rss_mb(), "open_seconds": opened})


# --- fetch only -----------------------------------------------------------------------------

async def fetch_passes(args: dict[str, Any]) -> None:
    urls: list[str] = args["urls"]
    async with Fetcher(concurrency=args["concurrency"]) as fetcher:
        async def one(request: FetchRequest) -> FetchResult | FetchError:
            try:
                return await fetcher.fetch(request)
            except FetchError as exc:
                return exc

        async def every(requests: list[FetchRequest]) -> list[FetchResult | FetchError]:
            return await asyncio.gather(*(one(request) for request in requests))

        requests = [FetchRequest(name=str(i), url=u) for i, u in enumerate(urls)]
        for phase in ("200", "304"):
            wait_for_go(phase)
            results, wall, cpu = await timed(partial(every, requests))
            statuses = Counter(r.status if isinstance(r, FetchResult) else "error"
                               for r in results)
            emit({"event": "done", "phase": phase, "wall": wall, "cpu": cpu,
                  "statuses": {str(k): v for k, v in statuses.items()},
                  "bytes": sum(len(r.body or b"") for r in results
                               if isinstance(r, FetchResult))})
            requests = [FetchRequest(name=q.name, url=q.url, etag=r.etag,
                                     last_modified=r.last_modified)
                        if isinstance(r, FetchResult) else q
                        for q, r in zip(requests, results, strict=True)]


async def raw_passes(args: dict[str, Any]) -> None:
    urls: list[str] = args["urls"]
    etags: list[bytes | None] = [None] * len(urls)
    for phase in ("200", "304"):
        wait_for_go(phase)
        replies, wall, cpu = await timed(partial(raw_fetch_all, urls, etags,
                                                 args["concurrency"]))
        statuses = Counter(str(r.status) for r in replies)
        emit({"event": "done", "phase": phase, "wall": wall, "cpu": cpu,
              "statuses": dict(statuses), "bytes": sum(r.size for r in replies)})
        etags = [r.etag for r in replies]


MODES: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, None]]] = {
    "cycle": run_cycles, "fetch": fetch_passes, "raw": raw_passes,
}


def main() -> None:
    args = json.loads(sys.argv[1])
    asyncio.run(MODES[args["mode"]](args))


if __name__ == "__main__":
    main()
