"""Stories in the database: a poll places its new hits in the same transaction as it stores
them, ids stay put across polls, a backfill's hits get stories, and a database from before
stories is regrouped by a rebuild with nothing else touched."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from builders import NOW, SHIPPED_WATCH, FakeFeeds, article, feed_config, labelled_reports
from sqlite_utils import Database

from monitor.matching import WatchList, backfill
from monitor.poll import Poller, PollReport
from monitor.settings import FeedConfig, PollingConfig, WatchItem
from monitor.stories import Rules, place_unplaced, rebuild, story_id
from storage.errors import StorageError
from storage.records import Article, FeedState
from storage.schema import MIGRATIONS
from storage.store import Store

REPORTS = {a.url: a for a, _ in labelled_reports("tuning")}
EN = REPORTS["https://www.reuters.com/world/americas/us-mexico-launch-mission-firewall-2025-09-04/"]
ES = REPORTS["https://www.eluniversal.com.mx/nacion/mexico-y-eu-lanzan-mision-firewall/"]
OTHER = REPORTS["https://www.politico.com/news/2025/09/24/state-department-mission-firewall-funding"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "armswatch.db") as opened:
        yield opened


def feed_state(name: str) -> FeedState:
    return FeedState(name=name, url=f"https://{name}")


def poll(store: Store, source: FakeFeeds, feeds: Sequence[FeedConfig],
         watch: Sequence[WatchItem] = SHIPPED_WATCH) -> PollReport:
    poller = Poller(store=store, watchlist=WatchList(watch), polling=PollingConfig(),
                    fetcher=source.fetcher, parser=source.parser, clock=lambda: NOW,
                    stories=Rules())
    return asyncio.run(poller.poll(feeds))


def as_feed(report: Article, feed: str) -> Article:
    return article(0, id=f"{feed}-{report.id}", feed=feed, guid=report.url, url=report.url,
                   canonical_url=report.url, title=report.title, summary=report.summary,
                   published=report.published, language=report.language)


def test_a_poll_places_its_hits_and_a_later_poll_keeps_their_story_ids(store: Store) -> None:
    english, spanish = feed_config("Wire"), feed_config("Prensa")
    source = FakeFeeds()
    plain = article(50, title="Rain expected in Monterrey", published=EN.published)
    source.set(english.url, [as_feed(EN, "Wire"), plain])
    poll(store, source, [english])
    first = store.stories.of_articles([f"Wire-{EN.id}", "id-50"])
    assert first == {f"Wire-{EN.id}": story_id(f"Wire-{EN.id}")}   # a non-hit has no story
    source.set(spanish.url, [as_feed(ES, "Prensa"), as_feed(OTHER, "Prensa")])
    poll(store, source, [spanish])
    placed = store.stories.of_articles([f"Wire-{EN.id}", f"Prensa-{ES.id}", f"Prensa-{OTHER.id}"])
    assert placed[f"Wire-{EN.id}"] == placed[f"Prensa-{ES.id}"] == first[f"Wire-{EN.id}"]
    assert placed[f"Prensa-{OTHER.id}"] == story_id(f"Prensa-{OTHER.id}")
    (story,) = store.stories.query(ids=[first[f"Wire-{EN.id}"]])
    assert [r.hit.article.id for r in story.reports] == [f"Wire-{EN.id}", f"Prensa-{ES.id}"]
    assert [(r.method, r.like) for r in story.reports] == [
        ("first", None), ("evidence", f"Wire-{EN.id}")]
    assert story.languages == ["en", "es"] and story.title == EN.title
    assert (story.first_published, story.last_published) == (EN.published, ES.published)


def test_a_failed_write_leaves_neither_the_hit_nor_a_story(store: Store, tmp_path: Path) -> None:
    """The hits and their stories are one transaction: when the story cannot be written, the
    feed's articles are not committed either, and what was stored before stays."""
    wire = feed_config("Wire")
    source = FakeFeeds()
    source.set(wire.url, [as_feed(EN, "Wire")])
    poll(store, source, [wire])
    store.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON story_keys"
                     " BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    source.set(wire.url, [as_feed(EN, "Wire"), as_feed(OTHER, "Wire")])
    with pytest.raises(StorageError):
        poll(store, source, [wire])
    assert store.articles.get(f"Wire-{OTHER.id}") is None
    assert store.stories.count() == 1 and store.hits.count() == 1


def test_backfilled_hits_join_stories(store: Store) -> None:
    only_etrace = [item for item in SHIPPED_WATCH if item.name == "eTrace"]
    wire = feed_config("Wire")
    source = FakeFeeds()
    source.set(wire.url, [as_feed(EN, "Wire"), as_feed(ES, "Wire")])
    poll(store, source, [wire], watch=only_etrace)
    assert store.hits.count() == 0 and store.stories.count() == 0
    run = backfill(store, SHIPPED_WATCH, since=None, now=NOW)
    gained = [a.id for p in run.plans for a in p.gained]
    assert len(gained) > 2   # both reports gained several items
    placed = place_unplaced(store, Rules(), among=gained)
    assert len(placed) == 2 and len({p.story_id for p in placed}) == 1
    assert place_unplaced(store, Rules(), among=gained) == []
    assert place_unplaced(store, Rules()) == []


def test_a_database_from_before_stories_keeps_its_hits_and_a_rebuild_groups_them(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    MIGRATIONS.apply(Database(conn), stop_before="0008_stories")
    conn.close()
    with Store.open(path) as store:
        for report in (EN, ES):
            store.save_feed_result(feed_state(report.feed), [report],
                                   {report.id: WatchList(SHIPPED_WATCH).match(
                                       report.title, report.summary, report.content)})
        assert store.stories.count() == 0 and store.hits.count() == 2
        seen: list[tuple[int, int]] = []
        placements = rebuild(store, Rules(), progress=lambda done, total: seen.append(
            (done, total)))
        assert seen[-1] == (2, 2)
        assert {p.story_id for p in placements} == {story_id(EN.id)}


def test_a_window_shorter_than_the_gap_keeps_reports_apart(store: Store) -> None:
    for report in (EN, ES):
        store.save_feed_result(feed_state(report.feed), [report],
                               {report.id: WatchList(SHIPPED_WATCH).match(
                                   report.title, report.summary, report.content)})
    gap = ES.published - EN.published
    assert len({p.story_id for p in rebuild(store, Rules(window=gap / 2))}) == 2
    assert len({p.story_id for p in rebuild(store, Rules(window=gap + timedelta(1)))}) == 1


def test_the_datasette_view_and_canned_query_show_the_stories(store: Store) -> None:
    """What `armswatch serve` shows of stories (monitor/cli/browse_metadata.py) runs on a real
    database: the story_reports view and the latest_stories canned query."""
    from monitor.cli.browse_metadata import metadata
    for report in (EN, ES, OTHER):
        store.save_feed_result(feed_state(report.feed), [report],
                               {report.id: WatchList(SHIPPED_WATCH).match(
                                   report.title, report.summary, report.content)})
    rebuild(store, Rules())
    rows = list(store.db.query("SELECT story, joined_by, language FROM story_reports"))
    assert [(r["joined_by"], r["language"]) for r in rows] == [
        ("first", "en"), ("first", "en"), ("evidence", "es")]
    sql = metadata()["databases"]["armswatch"]["queries"]["latest_stories"]["sql"]
    latest = list(store.db.query(sql))
    assert [(r["reports"], r["languages"]) for r in latest] == [(1, "en"), (2, "en,es")]
