"""Size caps on what one feed can make us store (issue 10, item 4): a link is at most 2,000
characters, and a fetch gives at most ``[polling] max_entries`` articles, the newest. Real
polls from the loopback feed server into a real SQLite file, through the command line."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli

REAL = Entry(title="Mission Firewall inspectors seize rifles at Laredo",
             link="https://news.example.org/laredo", guid="real-1",
             summary="Southbound trucks were checked under Mission Firewall.")


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env={"COLUMNS": "200"})


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_9_mb_link_is_stored_as_nothing_and_its_article_is_kept(
        feed_server: FeedServer, tmp_path: Path) -> None:
    huge = Entry(title="Mission Firewall: ATF traces 300 rifles to Arizona gun shops",
                 link="https://spam.example/" + "a" * 9_000_000, guid="huge-1")
    url = feed_server.route("/huge.xml", rss([huge, REAL]))
    db = tmp_path / "armswatch.db"
    folder = write_config(tmp_path / "config", db, {"Huge": url})
    polled = invoke(folder, "poll")
    assert polled.exit_code == 0, polled.output
    assert polled.output.splitlines()[1:] == [
        "  warning: Huge: 1 link longer than 2,000 characters dropped (the articles were kept)"]
    assert rows(db, "select guid, title, url, canonical_url from articles order by guid") == [
        ("huge-1", huge.title, None, None),
        ("real-1", REAL.title, "https://news.example.org/laredo",
         "https://news.example.org/laredo")]
    assert rows(db, "select max(length(url)) from article_sources") == [(31,)]
    hits = json.loads(invoke(folder, "hits", "--format", "json").output)
    assert sorted((h["title"], h["url"], h["programs"]) for h in hits) == [
        (REAL.title, REAL.link, ["Mission Firewall"]), (huge.title, None, ["Mission Firewall"])]
    [feed] = json.loads(invoke(folder, "feeds", "--format", "json").output)
    assert (feed["status"], feed["articles"], feed["warning"]) == (
        "ok", 2, "1 link longer than 2,000 characters dropped (the articles were kept)")


def flood(count: int, newest: int, now: datetime) -> bytes:
    """``count`` entries, dated an hour apart going back, except that the ``newest`` most recent
    ones sit at the end of the feed, not the top: a cap must keep them, not the first ones."""
    guid = '<guid isPermaLink="false">'
    items = [f"<item><title>Cheap watches {n}</title>{guid}spam-{n}</guid>"
             f"<pubDate>{format_datetime(now - timedelta(days=30, minutes=n))}</pubDate></item>"
             for n in range(count - newest)]
    items += [f"<item><title>Mission Firewall update {n}</title>{guid}new-{n}</guid>"
              f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
              for n in range(newest)]
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>Flood</title>" + "".join(items) + "</channel></rss>").encode()


def test_a_feed_of_20000_entries_stores_the_newest_and_reports_the_rest(
        feed_server: FeedServer, tmp_path: Path) -> None:
    # 20,000 rather than the 100,000 of the security review: the cap acts the same on both,
    # and parsing 100,000 entries takes feedparser seconds this suite should not spend.
    url = feed_server.route("/flood.xml", flood(20_000, 100, datetime.now(UTC)))
    db = tmp_path / "armswatch.db"
    folder = write_config(tmp_path / "config", db, {"Flood": url, "Real": feed_server.route(
        "/real.xml", rss([REAL]))}, polling='max_entries = 100\nparse_timeout = "60s"')
    polled = invoke(folder, "poll")
    assert polled.exit_code == 0, polled.output
    left_out = "19,900 of 20,000 entries left out, the oldest (polling.max_entries = 100)"
    assert polled.output.splitlines()[0].startswith(
        "2 feeds: 2 ok, 0 not modified, 0 failed; 101 new articles, 101 new hits")
    assert polled.output.splitlines()[1:] == [f"  warning: Flood: {left_out}"]
    assert rows(db, "select count(*), min(guid), max(guid) from articles where feed = 'Flood'"
                ) == [(100, "new-0", "new-99")]
    assert rows(db, "select guid from articles where feed = 'Real'") == [("real-1",)]
    feeds = json.loads(invoke(folder, "feeds", "--format", "json").output)
    assert [(f["name"], f["articles"], f["warning"]) for f in feeds] == [
        ("Flood", 100, left_out), ("Real", 1, None)]


def test_max_entries_is_checked(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"A": "https://feeds.example/a"}, polling="max_entries = 0")
    checked = invoke(folder, "check")
    assert checked.exit_code == 2
    assert "armswatch.toml: polling.max_entries: must be between 1 and 100000, not 0" \
        in checked.output
