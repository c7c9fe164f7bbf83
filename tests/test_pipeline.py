"""A whole poll cycle against a real loopback HTTP server and a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from builders import ROOT, Entry, atom, config_for, feed_config, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli
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


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env={"COLUMNS": "200"})


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


DOJ_FIREWALL = Entry(
    title="Justice Department charges 14 in Mission Firewall gun trafficking case",
    link="https://www.justice.gov/opa/pr/mission-firewall-charges?utm_source=rss",
    summary="Straw purchasers bought rifles in Arizona for a cartel in Sinaloa.", guid="1005")
DOJ_ETRACE = Entry(
    title="ATF eTrace data leads to southbound smuggling indictment",
    link="https://www.justice.gov/opa/pr/etrace-indictment",
    summary="Traced firearms were recovered in Sonora.", guid="1006")


def test_a_feed_polled_first_cannot_hide_another_feeds_items(
        feed_server: FeedServer, tmp_path: Path) -> None:
    """Issue 10, item 2: a hostile feed polled first with guid 1005 and with a real DOJ URL."""
    hostile = feed_server.route("/hostile.xml", rss([
        Entry(title="Win a free phone", link="https://spam.example/win", guid="1005"),
        Entry(title="Nothing to see here", link="https://www.justice.gov/opa/pr/etrace-indictment",
              guid="spam-2")]))
    doj = feed_server.route("/doj.xml", rss([DOJ_FIREWALL, DOJ_ETRACE]))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Hostile": hostile, "DOJ": doj})
    assert invoke(folder, "poll", "--feed", "Hostile").exit_code == 0
    polled = invoke(folder, "poll", "--feed", "DOJ")
    assert polled.exit_code == 0
    assert polled.output.startswith(
        "1 feeds: 1 ok, 0 not modified, 0 failed; 2 new articles, 2 new hits")
    hits = json.loads(invoke(folder, "hits", "--format", "json").output)
    assert sorted((h["title"], h["feed"], h["sources"], h["programs"]) for h in hits) == [
        (DOJ_ETRACE.title, "DOJ", ["DOJ"], ["eTrace"]),
        (DOJ_FIREWALL.title, "DOJ", ["DOJ"], ["Mission Firewall"])]
    # The hostile feed's own items are kept as they were: nothing of either feed was lost.
    stored = rows(tmp_path / "armswatch.db", "select feed, guid, title from articles order by 1, 2")
    assert stored == [("DOJ", "1005", DOJ_FIREWALL.title), ("DOJ", "1006", DOJ_ETRACE.title),
                      ("Hostile", "1005", "Win a free phone"),
                      ("Hostile", "spam-2", "Nothing to see here")]


def test_one_story_in_two_feeds_is_one_hit_with_two_sources(
        feed_server: FeedServer, tmp_path: Path) -> None:
    # The same item (same link once utm_* is removed, same text) in two of a site's feeds.
    syndicated = Entry(title="Straw purchasers charged in Arizona gun trafficking ring",
                       link="https://c.example/straw?utm_campaign=x",
                       summary="Prosecutors say the rifles were smuggled into Mexico.")
    elsewhere = Entry(title=syndicated.title, link="https://c.example/straw?utm_source=google",
                      summary=syndicated.summary, guid="two-7")
    config = config_for(tmp_path, [
        feed_config("one", feed_server.route("/one.xml", rss([syndicated, FIREWALL]))),
        feed_config("two", feed_server.route("/two.xml", rss([elsewhere]))),
    ])
    assert poll(config, ["one"]).new_articles == 2
    second = poll(config, ["two"])
    assert (second.new_articles, second.new_hits) == (0, 0)
    assert poll(config).new_articles == 0
    db = config.storage.path
    assert rows(db, "select count(*) from articles") == [(2,)]
    assert rows(db, "select title, sources from hits order by title") == [
        (FIREWALL.title, "one"), (syndicated.title, "one, two")]
    assert rows(db, "select count(*) from matches where article_id not in (select id from articles)"
                ) == [(0,)]


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
