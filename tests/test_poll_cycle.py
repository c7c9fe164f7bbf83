"""The poll cycle's own rules on a real SQLite file, with feeds served from memory (FakeFeeds).

What a feed's bytes look like on the wire is tested against the loopback server elsewhere
(test_pipeline, test_fetch*, test_hostile_poll); here the cycle decides what is new, what
matched, what to skip and how a failure is recorded.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from builders import NOW, FakeFeeds, article, feed_config

from monitor.matching import WatchList
from monitor.poll import Poller, PollReport, due_feeds
from monitor.settings import FeedConfig, PollingConfig, WatchItem
from storage.errors import FetchError
from storage.store import Store

WATCH = (
    WatchItem(name="Mission Firewall", kind="program", terms=("Mission Firewall",),
              priority="high"),
    WatchItem(name="eTrace", kind="program", terms=("eTrace",)),
)
FIREWALL = article(1, title="Mission Firewall inspects southbound trucks")
ETRACE = article(2, summary="Traced with eTrace to a Phoenix gun shop")
PLAIN = article(3, title="Rain expected in Monterrey")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "armswatch.db") as opened:
        yield opened


def poll(store: Store, source: FakeFeeds, feeds: Sequence[FeedConfig],
         minutes_later: int = 0) -> PollReport:
    poller = Poller(store=store, watchlist=WatchList(WATCH), polling=PollingConfig(),
                    fetcher=source.fetcher, parser=source.parser,
                    clock=lambda: NOW + timedelta(minutes=minutes_later))
    return asyncio.run(poller.poll(feeds))


def test_a_poll_stores_new_articles_their_evidence_and_which_need_an_alert(
        store: Store) -> None:
    source = FakeFeeds()
    news = feed_config("News")
    source.set(news.url, [FIREWALL, ETRACE, PLAIN])
    report = poll(store, source, [news])
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.new_articles, outcome.new_hits) == ("ok", 3, 2)
    assert set(outcome.hit_ids) == {"id-1", "id-2"}
    assert outcome.alert_ids == ("id-1",)  # Mission Firewall is high priority, eTrace is not
    rows = store.db.execute("SELECT article_id, item, field FROM matches ORDER BY item").fetchall()
    assert rows == [("id-1", "Mission Firewall", "title"), ("id-2", "eTrace", "summary")]
    assert store.db.execute("SELECT feed FROM articles WHERE id = 'id-3'").fetchone() == ("News",)


def test_an_unchanged_body_is_not_parsed_again_and_a_change_brings_only_the_new(
        store: Store) -> None:
    source = FakeFeeds()
    news = feed_config("News")
    source.set(news.url, [FIREWALL])
    poll(store, source, [news])
    again = poll(store, source, [news], minutes_later=20)
    assert [o.status for o in again.outcomes] == ["unchanged"]
    assert source.parsed == [news.url]  # the same bytes were not parsed twice
    source.set(news.url, [FIREWALL, ETRACE])
    later = poll(store, source, [news], minutes_later=40)
    assert (later.new_articles, later.new_hits, later.hit_ids) == (1, 1, ["id-2"])


def test_a_304_sends_the_validator_back_and_keeps_what_was_stored(store: Store) -> None:
    source = FakeFeeds()
    news = feed_config("News")
    source.set(news.url, [FIREWALL], etag='"v1"')
    poll(store, source, [news])
    report = poll(store, source, [news], minutes_later=20)
    assert [o.status for o in report.outcomes] == ["not_modified"]
    assert [r.etag for r in source.requests] == [None, '"v1"']
    assert store.db.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_one_article_in_two_feeds_and_twice_in_one_is_stored_and_counted_once(
        store: Store) -> None:
    source = FakeFeeds()
    first, second = feed_config("First"), feed_config("Second")
    source.set(first.url, [FIREWALL, FIREWALL])
    # The same item (link and text) in another feed, under that feed's own id.
    source.set(second.url, [replace(FIREWALL, id="id-in-second")])
    report = poll(store, source, [first, second])
    assert report.new_articles == 1 and report.new_hits == 1
    assert store.db.execute("SELECT count(*) FROM matches").fetchone() == (1,)
    assert store.articles.sources(FIREWALL.id) == ["First", "Second"]


def test_failures_are_recorded_per_feed_and_keep_what_the_feed_stored_before(
        store: Store) -> None:
    source = FakeFeeds()
    good, gone, broken = feed_config("Good"), feed_config("Gone"), feed_config("Broken")
    source.set(good.url, [ETRACE])
    source.set(broken.url, [FIREWALL])
    poll(store, source, [good, broken])
    source.fail_fetch(gone.url, FetchError("HTTP 410 Gone", status=410, gone=True))
    source.fail_parse(broken.url, "not a feed: an HTML page")
    report = poll(store, source, [good, gone, broken], minutes_later=20)
    assert {o.feed: (o.status, o.error) for o in report.outcomes} == {
        "Good": ("unchanged", None), "Gone": ("gone", "HTTP 410 Gone"),
        "Broken": ("failed", "not a feed: an HTML page")}
    state = store.feeds.get("Broken")
    assert state is not None
    assert (state.error_count, state.error) == (1, "not a feed: an HTML page")
    assert state.next_check is not None and state.next_check > NOW + timedelta(minutes=20)
    # The article the broken feed brought before is still there, with its match.
    assert store.db.execute("SELECT count(*) FROM matches WHERE article_id = 'id-1'"
                            ).fetchone() == (1,)
    # A gone feed is no longer due on its own; the others are, once their interval has passed.
    due = due_feeds([good, gone, broken], store, NOW + timedelta(days=2))
    assert sorted(f.name for f in due) == ["Broken", "Good"]


def test_looking_for_due_feeds_takes_no_write_lock_when_the_feeds_did_not_change(
        store: Store, tmp_path: Path) -> None:
    news = feed_config("News")
    assert due_feeds([news], store, NOW) == [news]  # a new feed is recorded, due at once
    writer = sqlite3.connect(tmp_path / "armswatch.db", timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the one write lock
    try:
        # Every scheduler tick asks this; it must not wait for (or fail on) the write lock.
        assert due_feeds([news], store, NOW) == [news]
    finally:
        writer.rollback()
        writer.close()
