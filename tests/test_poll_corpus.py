"""All 2,106 feeds of feedparser's own test suite, served on loopback, in ONE poll cycle.

They are feedparser's torture tests (odd encodings, ill-formed XML, every RSS and Atom
variant); together they check that a cycle over thousands of strange feeds completes, lets no
exception escape, and leaves every feed with a recorded status.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer

from monitor.poll.cycle import PollReport
from monitor.service.monitor import Monitor
from monitor.settings.config import Config, FeedConfig, PollingConfig, StorageConfig, load_watchlist

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FEEDPARSER_TESTS = SHARED / "feeds" / "feedparser-tests"

pytestmark = pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(),
                                reason=f"feedparser test corpus not found at {FEEDPARSER_TESTS}")


def corpus_config(tmp_path: Path, server: FeedServer) -> Config:
    paths = sorted(FEEDPARSER_TESTS.rglob("*.xml"))
    feeds = tuple(FeedConfig(name=path.relative_to(FEEDPARSER_TESTS).as_posix(),
                             url=server.file_url(path.relative_to(FEEDPARSER_TESTS)),
                             interval=timedelta(minutes=15))
                  for path in paths)
    polling = PollingConfig(concurrency=50, per_host=50, timeout=timedelta(seconds=30),
                            parse_timeout=timedelta(seconds=30))
    return Config(directory=tmp_path, storage=StorageConfig(path=tmp_path / "corpus.db"),
                  polling=polling, feeds=feeds, channels=(),
                  watch=tuple(load_watchlist(ROOT / "config" / "watchlist.toml")))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_whole_feedparser_corpus_in_one_cycle(feed_server: FeedServer,
                                                  tmp_path: Path) -> None:
    feed_server.serve_directory(FEEDPARSER_TESTS)
    config = corpus_config(tmp_path, feed_server)
    assert len(config.feeds) == 2106

    async def go() -> PollReport:
        async with Monitor(config) as monitor:
            return await monitor.poll(config.feeds)

    report = asyncio.run(go())  # no exception escapes the cycle

    assert len(report.outcomes) == len(config.feeds)
    assert {o.feed for o in report.outcomes} == {f.name for f in config.feeds}
    with sqlite3.connect(config.storage.path) as conn:
        stored = {name: (status, error, checked) for name, status, error, checked in conn.execute(
            "select name, status, error, last_checked from feeds")}
        orphans = conn.execute("select count(*) from matches "
                               "where article_id not in (select id from articles)").fetchone()
        articles = conn.execute("select count(*) from articles").fetchone()[0]
    assert set(stored) == {f.name for f in config.feeds}
    assert all(checked is not None for _, _, checked in stored.values())
    by_status = {status for status, _, _ in stored.values()}
    assert by_status <= {"ok", "failed"}, by_status
    failed = {name: error for name, (status, error, _) in stored.items() if status == "failed"}
    # The few files feedparser itself finds nothing in (an empty document, CDF channels with
    # neither entries nor a title) are refused in plain words; nothing else fails.
    assert all(str(error).startswith("not a feed: ") for error in failed.values()), failed
    assert len(failed) <= 10, failed
    assert report.count("ok") == len(config.feeds) - len(failed)
    assert orphans == (0,)
    # Many of the files repeat the same few example entries, stored once across the corpus.
    assert report.new_articles == articles > 200
