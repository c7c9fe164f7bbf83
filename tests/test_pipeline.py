"""A whole poll cycle against a real loopback HTTP server and a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from builders import ROOT, Entry, atom, config_for, feed_config, rss
from feedserver import FeedServer

from monitor.poll.cycle import PollReport
from monitor.service.monitor import Monitor
from monitor.settings.config import (
    Config,
)
from storage.store import Store

FIREWALL = Entry(
    title="Mission Firewall seizes 120 rifles bound for Sinaloa",
    link="https://news.example.org/2026/firewall-rifles?utm_source=rss&utm_medium=feed",
    summary="US inspectors working under Mission Firewall stopped southbound trucks at Laredo.",
    guid="news-example-1")
CORTAFUEGOS = Entry(
    title="Misión Cortafuegos: aseguran armas de fuego en Sonora",
    link="https://noticias.example.mx/misión-cortafuegos-sonora",
    summary="La Misión Cortafuegos y la ATF rastrearon las armas con eTrace.")
WILDFIRE = Entry(
    title="Brigadas abren cortafuegos para frenar el incendio en la sierra",
    link="https://noticias.example.mx/incendio-sierra",
    summary="Las brechas cortafuegos protegieron a tres comunidades.")


def poll(config: Config, names: Sequence[str] = (), every: bool = True) -> PollReport:
    async def go() -> PollReport:
        async with Monitor(config) as monitor:
            return await monitor.poll(monitor.select_feeds(names, every=every))
    return asyncio.run(go())


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_one_failing_feed_never_stops_the_others(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds = [
        feed_config("good", feed_server.route("/good.xml", rss([FIREWALL, WILDFIRE]))),
        feed_config("spanish", feed_server.route("/es.xml", atom([CORTAFUEGOS])), language="es"),
        feed_config("missing", feed_server.status("/missing.xml", 404)),
        feed_config("broken", feed_server.status("/broken.xml", 500)),
        feed_config("silent", feed_server.route("/silent.xml", rss([]), hang=True)),
        feed_config("not a feed", feed_server.route("/page.html", "<html><body>Hello</body></html>",
                                             content_type="text/html")),
    ]
    config = config_for(tmp_path, feeds, timeout=2.0)
    report = poll(config)

    status = {o.feed: o.status for o in report.outcomes}
    assert status == {"good": "ok", "spanish": "ok", "missing": "failed", "broken": "failed",
                      "silent": "failed", "not a feed": "failed"}
    errors = {o.feed: o.error for o in report.failures}
    assert errors["missing"] == "HTTP 404 Not Found"
    assert "HTTP 500" in (errors["broken"] or "")
    assert errors["silent"] == "timed out after 2 s"
    assert (errors["not a feed"] or "").startswith("not a feed")
    assert (report.new_articles, report.new_hits) == (3, 2)

    db = config.storage.path
    assert sorted(rows(db, "select item, term, field from matches")) == sorted([
        ("Mission Firewall", "Mission Firewall", "summary"),
        ("Mission Firewall", "Mission Firewall", "title"),
        ("Mission Firewall", "Misión Cortafuegos", "summary"),
        ("Mission Firewall", "Misión Cortafuegos", "title"),
        ("eTrace", "eTrace", "summary"),
    ])
    # The wildfire article is stored but is no hit: a firebreak is not the program.
    assert rows(db, "select count(*) from hits") == [(2,)]
    # Each feed's state is recorded, in plain words, with its failure count.
    states = dict(rows(db, "select name, status || ':' || error_count from feeds"))
    assert states == {"good": "ok:0", "spanish": "ok:0", "missing": "failed:1",
                      "broken": "failed:1", "silent": "failed:1", "not a feed": "failed:1"}


def test_tracking_parameters_are_removed_and_language_kept(feed_server: FeedServer,
                                                          tmp_path: Path) -> None:
    config = config_for(tmp_path, [
        feed_config("good", feed_server.route("/good.xml", rss([FIREWALL]))),
        feed_config("spanish", feed_server.route("/es.xml", atom([CORTAFUEGOS])), language="es")])
    poll(config)
    stored = dict(rows(config.storage.path, "select canonical_url, language from articles"))
    assert stored == {"https://news.example.org/2026/firewall-rifles": "en",
                      "https://noticias.example.mx/misi%C3%B3n-cortafuegos-sonora": "es"}


def test_conditional_get_sends_validators_and_304_keeps_everything(
        feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.route("/etag.xml", rss([FIREWALL]), etag='"v1"',
                            last_modified="Fri, 20 Nov 2026 12:00:00 GMT")
    config = config_for(tmp_path, [feed_config("etag", url)])
    first = poll(config)
    second = poll(config)
    assert [o.status for o in first.outcomes] == ["ok"]
    assert [o.status for o in second.outcomes] == ["not_modified"]
    sent = feed_server.requests_to("/etag.xml")[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Fri, 20 Nov 2026 12:00:00 GMT"
    assert rows(config.storage.path, "select count(*) from articles") == [(1,)]
    assert rows(config.storage.path, "select status, etag from feeds") == [("not_modified", '"v1"')]


def test_identical_body_without_validators_is_not_parsed_again(
        feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.route("/plain.xml", rss([FIREWALL]))
    config = config_for(tmp_path, [feed_config("plain", url)])
    poll(config)
    second = poll(config)
    assert [(o.status, o.new_articles) for o in second.outcomes] == [("unchanged", 0)]


def test_same_article_in_two_feeds_is_stored_and_matched_once(
        feed_server: FeedServer, tmp_path: Path) -> None:
    # Same guid in one pair, same link (after removing utm_*) in the other.
    same_guid = Entry(title="Mission Firewall reaches Tijuana", link="https://a.example/1",
                      guid="shared-guid-42")
    same_guid_elsewhere = Entry(title="Mission Firewall reaches Tijuana (wire copy)",
                                link="https://b.example/wire/1", guid="shared-guid-42")
    via_link = Entry(title="Straw purchasers charged in Arizona gun trafficking ring",
                     link="https://c.example/straw?utm_campaign=x",
                     summary="Prosecutors say the rifles were smuggled into Mexico.")
    via_link_elsewhere = Entry(title="Straw purchasers charged in Arizona gun trafficking ring",
                               link="https://c.example/straw?utm_source=google")
    config = config_for(tmp_path, [
        feed_config("one", feed_server.route("/one.xml", rss([same_guid, via_link]))),
        feed_config("two", feed_server.route(
            "/two.xml", rss([same_guid_elsewhere, via_link_elsewhere]))),
    ])
    report = poll(config)
    assert report.new_articles == 2
    poll_again = poll(config)
    assert poll_again.new_articles == 0
    db = config.storage.path
    assert rows(db, "select count(*) from articles") == [(2,)]
    assert rows(db, "select count(*) from matches where article_id not in (select id from articles)"
                ) == [(0,)]
    assert rows(db, "select count(distinct article_id) from matches") == [(2,)]


def test_a_feed_polled_by_name_and_an_unknown_name(feed_server: FeedServer,
                                                   tmp_path: Path) -> None:
    config = config_for(tmp_path, [
        feed_config("Good", feed_server.route("/good.xml", rss([FIREWALL]))),
        feed_config("Other", feed_server.route("/other.xml", rss([WILDFIRE])))])
    report = poll(config, ["good"])
    assert [o.feed for o in report.outcomes] == ["Good"]
    from storage.errors import ConfigError
    with pytest.raises(ConfigError, match="no feed named 'nope'"):
        poll(config, ["nope"])


def test_due_feeds_respect_their_schedule(feed_server: FeedServer, tmp_path: Path) -> None:
    good = feed_server.route("/good.xml", rss([FIREWALL]))
    config = config_for(tmp_path, [feed_config("good", good)])
    assert len(poll(config, every=False).outcomes) == 1   # fresh database: every feed is due
    assert poll(config, every=False).outcomes == []        # polled a moment ago: not due
    assert len(feed_server.requests_to("/good.xml")) == 1


def test_gone_feed_is_not_polled_on_schedule(feed_server: FeedServer, tmp_path: Path) -> None:
    config = config_for(tmp_path, [feed_config("gone", feed_server.status("/gone.xml", 410))])
    report = poll(config)
    assert [(o.status, o.error) for o in report.outcomes] == [("gone", "feed is gone (HTTP 410)")]
    with Store.open(config.storage.path) as store:
        state = store.feeds.get("gone")
        assert state is not None and state.status == "gone"


SHARED_REAL = ROOT.parent / "shared" / "feeds" / "real"


@pytest.mark.skipif(not SHARED_REAL.is_dir(), reason=f"shared corpus not found at {SHARED_REAL}")
def test_every_real_feed_is_polled_and_no_readable_entry_is_lost(
        feed_server: FeedServer, tmp_path: Path) -> None:
    import feedparser  # only to count what feedparser itself can read

    files = sorted(p for p in SHARED_REAL.iterdir() if p.suffix in (".xml", ".rss", ".atom"))
    assert len(files) >= 20
    feed_server.serve_directory(SHARED_REAL, "/real")
    config = config_for(tmp_path, [feed_config(p.stem, feed_server.file_url(p.name, "/real"))
                                   for p in files], timeout=10.0)
    report = poll(config)
    assert len(report.outcomes) == len(files)
    assert all(o.status == "ok" for o in report.outcomes), report.failures
    counts = dict(rows(config.storage.path, "select feed, count(*) from articles group by feed"))
    for path in files:
        readable = feedparser.parse(io.BytesIO(path.read_bytes())).entries
        # Every entry is stored, except repeats of one article within the feed.
        distinct = {e.get("id") or e.get("link") or e.get("title") for e in readable}
        assert counts.get(path.stem, 0) == len(distinct), path.name
