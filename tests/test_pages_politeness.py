"""Politeness and safety of the article page fetcher (issue 14): at most 2 connections to one
host and its requests spaced by the delay, across feeds; robots.txt Crawl-delay when longer;
links from a public feed never reach a private address; a killed `armswatch poll` loses
nothing and its restart refetches no page it had finished.

Several loopback hosts (127.0.0.2, .3, .4) stand in for publishers; each server counts the
requests it answers at once and records when each arrived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import ROOT, Entry, article, publisher_page, rss
from feedserver import FeedServer
from test_pages import FIREWALL_BODY, PLAIN_HEADLINE, rows, write_site_config
from test_ssrf import PUBLIC, named, public_dns

from monitor.feeds import Fetcher
from monitor.matching import WatchList
from monitor.pages import PAGE_ACCEPT, HostPacer, PageWorker, RobotsCache
from monitor.settings import ArticlesConfig, FeedConfig
from monitor.settings.config import load_watchlist
from storage.pages import PageRequest
from storage.store import Store

ARMSWATCH = str(Path(sys.executable).with_name("armswatch"))
WATCH = WatchList(load_watchlist(ROOT / "config" / "watchlist.toml"))


@pytest.fixture
def hosts() -> Iterator[list[FeedServer]]:
    servers = [FeedServer(host=f"127.0.0.{n}").start() for n in (2, 3, 4)]
    yield servers
    for server in servers:
        server.stop()


# The worker spaces the starts of its requests by the delay; the server sees them arrive
# after a connection is opened, which on a loaded machine varies by some tens of ms.
ARRIVAL_JITTER = 0.1


def page_starts(server: FeedServer) -> list[float]:
    return sorted(r.at for r in server.requests)


def test_at_most_two_connections_per_host_and_starts_a_delay_apart_across_feeds(
        tmp_path: Path, feed_server: FeedServer, hosts: list[FeedServer]) -> None:
    # Slow pages (1.5 s) with a 1 s delay: a third request is due while two are still open.
    links = {server: [server.route(f"/story/{n}", publisher_page(PLAIN_HEADLINE, FIREWALL_BODY),
                                   content_type="text/html", delay=1.5) for n in range(3)]
             for server in hosts}
    # Two feeds link to the same publishers: the pace is the host's, not the feed's.
    first = [Entry(title=f"{PLAIN_HEADLINE} {n}", link=links[s][n], guid=f"a{n}{i}")
             for i, s in enumerate(hosts) for n in (0, 1)]
    second = [Entry(title=f"{PLAIN_HEADLINE} {n}", link=links[s][2], guid=f"b{i}")
              for i, s in enumerate(hosts) for n in (2,)]
    folder = write_site_config(tmp_path / "config", {
        "First": (feed_server.route("/first.xml", rss(first)), "auto"),
        "Second": (feed_server.route("/second.xml", rss(second)), "auto")},
        articles='delay = "1s"\nper_host = 2')
    result = subprocess.run([ARMSWATCH, "--config", str(folder), "poll"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "article pages: 9 with text" in result.stdout
    for server in hosts:
        assert server.peak_concurrency == 2, "per-host limit not reached or exceeded"
        starts = page_starts(server)
        assert len(starts) == 4   # robots.txt, then three pages
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        print(f"{server.base_url}: gaps between requests {[round(g, 2) for g in gaps]} s")
        assert min(gaps) >= 1.0 - ARRIVAL_JITTER


def test_robots_crawl_delay_wins_when_longer(hosts: list[FeedServer], tmp_path: Path) -> None:
    server = hosts[0]
    server.route("/robots.txt", "User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    urls = [server.route(f"/p{n}", publisher_page(PLAIN_HEADLINE, FIREWALL_BODY),
                         content_type="text/html") for n in range(3)]
    feed = FeedConfig(name="Feed A", url="http://127.0.0.1:9/rss", interval=ArticlesConfig(
    ).delay)
    report = asyncio.run(_work(tmp_path, feed, urls, delay=0.0))
    assert report == 3
    starts = page_starts(server)
    gaps = [b - a for a, b in zip(starts[1:], starts[2:], strict=False)]  # pages only
    assert min(gaps) >= 1.0 - ARRIVAL_JITTER, gaps


def test_a_link_from_a_public_feed_never_reaches_a_private_address(
        tmp_path: Path, feed_server: FeedServer, hosts: list[FeedServer]) -> None:
    public = hosts[0]   # 127.0.0.2, answered for feed.example and allowed as public
    internal = feed_server  # 127.0.0.1: the inside
    internal.route("/admin", "<html><body><p>secret</p></body></html>",
                   content_type="text/html")
    good = named(public, "/story")
    public.route("/story", publisher_page(PLAIN_HEADLINE, FIREWALL_BODY),
                 content_type="text/html")
    public.redirect("/bounce", internal.url("/admin"))
    links = [internal.url("/admin"), f"http://127.1:{internal.port}/admin",
             named(public, "/bounce"), good]
    feed = FeedConfig(name="Feed A", url=named(public, "/rss"), interval=ArticlesConfig().delay)
    asyncio.run(_work(tmp_path, feed, links, delay=0.0, dns=True))
    assert internal.requests == [], "a link from feed content reached a private address"
    with sqlite3.connect(tmp_path / "a.db") as db:
        states = dict(db.execute("SELECT url, reason FROM article_pages").fetchall())
    assert states == {links[0]: "refused address", links[1]: "refused address",
                      links[2]: "refused address", good: None}


async def _work(folder: Path, feed: FeedConfig, urls: list[str], *, delay: float,
                dns: bool = False) -> int:
    """Queue one article per URL of ``feed`` and let a worker fetch them; pages with text."""
    now = datetime.now(UTC)
    with Store.open(folder / "a.db") as store:
        articles = [article(n, title=PLAIN_HEADLINE, summary="") for n in range(len(urls))]
        store.articles.insert_new(articles)
        store.pages.enqueue([PageRequest(a.id, feed.name, url, host=url.split("/")[2]
                                         .split(":")[0]) for a, url in zip(articles, urls,
                                                                            strict=True)], now)
        options = {"resolver": public_dns(), "allow_private_addresses": (PUBLIC,)} if dns \
            else {}
        async with Fetcher(timeout=5, accept=PAGE_ACCEPT, **options) as fetcher:  # type: ignore[arg-type]
            worker = PageWorker(store=store, fetcher=fetcher, watchlist=WATCH,
                                feeds={feed.name: feed}, settings=ArticlesConfig(),
                                pacer=HostPacer(per_host=2, delay=delay),
                                robots=RobotsCache(lambda: datetime.now(UTC)),
                                clock=lambda: datetime.now(UTC))
            report = await worker.work(store.pages.due(datetime.now(UTC)))
        return report.bodies


def one_publisher(tmp_path: Path, feed_server: FeedServer, server: FeedServer,
                  pages: int) -> tuple[Path, list[str]]:
    """A headline feed of ``pages`` items linking to one host, paced 1 s, one connection."""
    links = [server.route(f"/story/{n}", publisher_page(PLAIN_HEADLINE, FIREWALL_BODY),
                          content_type="text/html") for n in range(pages)]
    entries = [Entry(title=f"{PLAIN_HEADLINE} {n}", link=link, guid=f"s{n}")
               for n, link in enumerate(links)]
    folder = write_site_config(tmp_path / "config",
                               {"Feed": (feed_server.route("/news.xml", rss(entries)), "auto")},
                               articles='delay = "1s"\nper_host = 1')
    return folder, links


def test_kill_9_mid_queue_loses_nothing_and_refetches_no_finished_page(
        tmp_path: Path, feed_server: FeedServer, hosts: list[FeedServer]) -> None:
    server = hosts[0]
    folder, links = one_publisher(tmp_path, feed_server, server, 6)
    process = subprocess.Popen([ARMSWATCH, "--config", str(folder), "poll"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _done(folder) < 3:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = _done(folder)
    assert 3 <= finished < len(links), "the kill did not land mid-queue"
    assert rows(folder, "SELECT count(*) FROM article_pages") == [(len(links),)]

    restarted = subprocess.run([ARMSWATCH, "--config", str(folder), "poll"],
                               capture_output=True, text=True, timeout=60)
    assert restarted.returncode == 0, restarted.stderr
    assert _done(folder) == len(links)
    fetched = [r.path for r in server.requests if r.path.startswith("/story/")]
    # Each page at most once, except the one in flight at the kill (fetched, not stored).
    assert len(fetched) <= len(links) + 1
    assert len(set(fetched)) == len(links)
    assert rows(folder, "SELECT count(*) FROM articles WHERE body != ''") == [(len(links),)]


def _done(folder: Path) -> int:
    try:
        return rows(folder, "SELECT count(*) FROM article_pages WHERE state = 'done'")[0][0]
    except sqlite3.OperationalError:   # not created yet
        return 0


def test_run_works_the_queue_beside_polls_and_stops_cleanly(
        tmp_path: Path, feed_server: FeedServer, hosts: list[FeedServer]) -> None:
    server = hosts[0]
    folder, links = one_publisher(tmp_path, feed_server, server, 6)
    (folder / "armswatch.toml").write_text(
        (folder / "armswatch.toml").read_text(encoding="utf-8").replace(
            '[polling]\n', '[polling]\ninterval = "1s"\n'), encoding="utf-8")
    process = subprocess.Popen([ARMSWATCH, "--config", str(folder), "run"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _done(folder) < 3:
            time.sleep(0.05)
        polls_meanwhile = len(feed_server.requests_to("/news.xml"))
        # The pages take ~6 s at 1 s apart; the feed, due every second, is polled meanwhile.
        assert _done(folder) < len(links) and polls_meanwhile >= 3, polls_meanwhile
        while time.monotonic() < deadline and _done(folder) < len(links):
            time.sleep(0.05)
        assert _done(folder) == len(links)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert time.monotonic() - started < 15
    assert "article pages: " in stderr and "armswatch stopped" in stderr
    assert len([r for r in server.requests if r.path.startswith("/story/")]) == len(links)


def test_robots_txt_is_kept_a_day_then_asked_for_conditionally(hosts: list[FeedServer]
                                                               ) -> None:
    """RFC 9309: 2xx rules, 4xx allow everything, 5xx disallow everything for now; a cached
    robots.txt is asked for again after a day with its validators, and a 304 keeps it."""
    rules_host, missing_host, failing_host = hosts
    rules_host.route("/robots.txt", "User-agent: *\nDisallow: /members/\n",
                     content_type="text/plain", etag='"r1"')
    failing_host.status("/robots.txt", 503)
    now = [datetime(2026, 11, 20, 12, 0, tzinfo=UTC)]
    feed = FeedConfig(name="Feed A", url="http://127.0.0.1:9/rss", interval=ArticlesConfig(
    ).delay)

    async def ask() -> list[bool]:
        async with Fetcher(timeout=5, accept=PAGE_ACCEPT) as fetcher:
            with Store.open(":memory:") as store:
                worker = PageWorker(store=store, fetcher=fetcher, watchlist=WATCH,
                                    feeds={feed.name: feed}, settings=ArticlesConfig(),
                                    pacer=HostPacer(per_host=2, delay=0), robots=robots,
                                    clock=lambda: now[0])
                fetch = worker._robots_fetch(feed, asyncio.Semaphore(4))
                found = []
                for url in (rules_host.url("/members/a"), rules_host.url("/news/a"),
                            missing_host.url("/any"), failing_host.url("/any")):
                    found.append((await robots.rules(url, fetch)).allowed(url))
                return found

    robots = RobotsCache(lambda: now[0])
    assert asyncio.run(ask()) == [False, True, True, False]
    asyncio.run(ask())                             # within the day: nothing asked again
    assert len(rules_host.requests_to("/robots.txt")) == 1
    now[0] += timedelta(hours=25)
    assert asyncio.run(ask()) == [False, True, True, False]
    again = rules_host.requests_to("/robots.txt")
    assert len(again) == 2 and again[1].headers["if-none-match"] == '"r1"'
