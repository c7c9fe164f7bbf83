"""`armswatch demo`: the bundled sample feeds served on loopback, polled into a throwaway database.

Nothing leaves the machine: the feeds are files in this package, served by a stdlib HTTP server on
127.0.0.1 on a free port, and they are matched with the watch list shipped in the package, so the
demo works offline, from any directory, with no config folder.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.poll import PollReport
from monitor.service import Monitor
from monitor.settings import (
    Config,
    FeedConfig,
    PollingConfig,
    StorageConfig,
    WatchItem,
    default_watch_items,
)
from storage.records import Hit

FEEDS_DIR = Path(__file__).parent / "feeds"


@dataclass(frozen=True)
class DemoResult:
    report: PollReport
    hits: list[Hit]
    db_path: Path | None      # set when the database was kept


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — stdlib signature
        pass  # the demo prints its own summary; request lines would bury it


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve a folder over HTTP on 127.0.0.1 (free port); yields the base URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_feeds(base_url: str) -> tuple[FeedConfig, ...]:
    return tuple(
        FeedConfig(name=f"Demo: {path.stem}", url=f"{base_url}/{path.name}",
                   interval=timedelta(minutes=15))
        for path in sorted(FEEDS_DIR.glob("*.xml"))
    )


async def run_demo(watch: Sequence[WatchItem] | None = None, *, keep: bool = False) -> DemoResult:
    """Poll the demo feeds, matching with `watch` (default: the shipped watch list)."""
    watch_items = default_watch_items() if watch is None else tuple(watch)
    folder = Path(tempfile.mkdtemp(prefix="armswatch-demo-"))
    db_path = folder / "armswatch-demo.db"
    try:
        with serve_directory(FEEDS_DIR) as base_url:
            config = Config(
                directory=FEEDS_DIR, storage=StorageConfig(path=db_path),
                polling=PollingConfig(timeout=timedelta(seconds=10)),
                feeds=demo_feeds(base_url), channels=(), watch=watch_items)
            async with Monitor(config) as monitor:
                report = await monitor.poll(config.feeds)
                hits = monitor.store.hits.query(limit=100)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return DemoResult(report=report, hits=hits, db_path=db_path if keep else None)
