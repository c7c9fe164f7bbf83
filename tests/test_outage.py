"""An outage of the monitor's own network is not a failure of every feed (issue 10, item 5).

Offline, every feed fails with the same DNS error; if each feed's backoff grew on its own, the
feeds would be hours away when the network returned. Here: the rule (pure), whole poll cycles on
a real SQLite file with a fake clock (FakeFeeds raising what the fetcher raises), the fetcher's
own classification on loopback (`.invalid` names fail to resolve locally; closed loopback ports
refuse), and `poll`, `status`, `feeds` and `run` as a user meets them.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from builders import NOW, Entry, FakeFeeds, article, feed_config, rss, write_config
from click.testing import CliRunner
from feedserver import FeedServer
from mailserver import free_port

from monitor.cli.commands import cli
from monitor.feeds import Fetcher, FetchRequest
from monitor.feeds.fetch import network_error
from monitor.matching import WatchList
from monitor.poll import Poller, PollReport, due_feeds
from monitor.poll.outage import Attempt, find_outage
from monitor.settings import FeedConfig, PollingConfig
from storage.errors import FetchError
from storage.outages import NetworkOutages
from storage.store import Store

INTERVAL = timedelta(minutes=15)
OUTAGE_LINE = ("network outage: 4 of 4 feeds failed with 'could not resolve host' — checking "
               "again at the normal interval")
FEEDS = [feed_config(f"Feed {n}", f"https://news{n}.example/rss.xml") for n in range(4)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "armswatch.db") as opened:
        yield opened


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No proxy from the environment: `.invalid` names must reach the local resolver."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def poll(store: Store, source: FakeFeeds, feeds: Sequence[FeedConfig],
         at: timedelta) -> PollReport:
    poller = Poller(store=store, watchlist=WatchList(()), polling=PollingConfig(),
                    fetcher=source.fetcher, parser=source.parser, clock=lambda: NOW + at)
    return asyncio.run(poller.poll(feeds))


def offline(source: FakeFeeds, feeds: Sequence[FeedConfig]) -> None:
    for feed in feeds:
        host = httpx.URL(feed.url).host
        source.fail_fetch(feed.url, FetchError(f"could not resolve host name {host}",
                                               local_cause="dns"))


def online(source: FakeFeeds, feeds: Sequence[FeedConfig]) -> None:
    for n, feed in enumerate(feeds):
        source.set(feed.url, [article(n)])


# -- the rule ---------------------------------------------------------------------------------

def attempts(*causes: str | None, hosts: int = 4) -> list[Attempt]:
    return [Attempt(feed=f"f{n}", host=f"h{n % hosts}", local_cause=c)
            for n, c in enumerate(causes)]


@pytest.mark.parametrize(("cycle", "ongoing", "expected"), [
    (attempts("dns", "dns", "dns", "dns", None), False, ("dns", 4, 5)),       # 80 %: an outage
    (attempts("dns", "dns", "dns", None), False, None),                       # 75 %: the feeds'
    (attempts("dns", "dns"), False, None),                                    # too few to tell
    (attempts("dns", "dns", "dns", "dns", hosts=1), False, None),             # one host's DNS
    (attempts("refused", "refused", "refused", "refused", "dns"), False, ("refused", 4, 5)),
    (attempts("dns", "unreachable", "proxy", "refused"), False, None),        # no common cause
    (attempts("dns"), True, ("dns", 1, 1)),                   # an outage goes on, however few
    (attempts("dns", None), True, None),                      # ... until a feed is reached
    (attempts(None, None, None), False, None),
])
def test_an_outage_is_most_feeds_on_several_hosts_failing_with_one_local_cause(
        cycle: list[Attempt], ongoing: bool, expected: tuple[str, int, int] | None) -> None:
    outage = find_outage(cycle, ongoing=ongoing)
    assert (None if outage is None else (outage.cause, outage.failed, outage.polled)) == expected


# -- whole cycles with a fake clock -----------------------------------------------------------

def test_offline_cycles_keep_the_normal_interval_and_the_feeds_are_due_when_it_returns(
        store: Store) -> None:
    source = FakeFeeds()
    online(source, FEEDS)
    poll(store, source, FEEDS, timedelta(0))
    before = {s.name: s for s in store.feeds.all()}
    offline(source, FEEDS)
    for cycle in (1, 2, 3, 4):   # an hour offline, every feed tried at each normal interval
        at = INTERVAL * cycle
        assert due_feeds(FEEDS, store, NOW + at) == FEEDS
        report = poll(store, source, FEEDS, at)
        assert report.outage is not None and report.outage.line() == OUTAGE_LINE
        assert report.own_failures == []
        for state in store.feeds.all():
            # As if not tried: still "ok", no failure counted; checked again after one interval.
            assert (state.status, state.error, state.error_count, state.last_checked) == (
                "ok", None, 0, before[state.name].last_checked)
            assert state.next_check == NOW + at + INTERVAL
    ongoing = NetworkOutages(store).ongoing()
    assert ongoing is not None
    assert (ongoing.cause, ongoing.polls, ongoing.started, ongoing.last_seen) == (
        "dns", 4, NOW + INTERVAL, NOW + 4 * INTERVAL)

    online(source, FEEDS)   # the network is back: every feed is due at the next interval
    back = INTERVAL * 5
    assert due_feeds(FEEDS, store, NOW + back) == FEEDS
    report = poll(store, source, FEEDS, back)
    assert report.outage is None and report.count("unchanged") == 4
    last = NetworkOutages(store).last()
    assert last is not None and last.ended == NOW + back
    # What the feeds stored before the outage is all still there.
    assert store.db.execute("SELECT count(*) FROM articles").fetchone() == (4,)


def test_one_failing_feed_among_healthy_ones_still_backs_off(store: Store) -> None:
    source = FakeFeeds()
    online(source, FEEDS)
    typo = feed_config("Typo", "https://news-typo.example/rss.xml")
    offline(source, [typo])
    for cycle, at in enumerate((timedelta(0), timedelta(hours=1)), start=1):
        report = poll(store, source, [*FEEDS, typo], at)
        assert report.outage is None
        assert [o.feed for o in report.own_failures] == ["Typo"]
        state = store.feeds.get("Typo")
        assert state is not None and state.error_count == cycle
        assert state.error == "could not resolve host name news-typo.example"
    assert state.next_check is not None and state.next_check > NOW + timedelta(hours=1) + INTERVAL
    assert NetworkOutages(store).last() is None


def test_every_feed_of_one_host_failing_is_that_hosts_problem(store: Store) -> None:
    one_host = [feed_config(f"Search {n}") for n in range(4)]   # all on feeds.example
    source = FakeFeeds()
    offline(source, one_host)
    poll(store, source, one_host, timedelta(0))
    poll(store, source, one_host, timedelta(hours=1))
    assert {s.error_count for s in store.feeds.all()} == {2}
    assert NetworkOutages(store).last() is None


def test_an_outage_goes_on_through_cycles_with_fewer_feeds_due(store: Store) -> None:
    source = FakeFeeds()
    offline(source, FEEDS)
    poll(store, source, FEEDS, timedelta(0))
    report = poll(store, source, FEEDS[:1], INTERVAL)   # one feed due, still offline
    assert report.outage is not None and report.outage.line() == (
        "network outage: 1 of 1 feeds failed with 'could not resolve host' — checking again at "
        "the normal interval")
    state = store.feeds.get("Feed 0")
    assert state is not None and (state.error_count, state.next_check) == (0, NOW + 2 * INTERVAL)


# -- the fetcher says which failures may be local -----------------------------------------------

def test_the_fetcher_marks_failures_that_may_be_local(feed_server: FeedServer,
                                                      no_proxy: dict[str, str]) -> None:
    closed = free_port()
    urls = {"dns": "http://feed-a.invalid/rss.xml",
            "refused": f"http://127.0.0.2:{closed}/rss.xml",
            None: feed_server.status("/down.xml", 503)}

    async def errors() -> dict[str | None, tuple[str, str | None]]:
        found = {}
        async with Fetcher(timeout=5) as fetcher:
            for expected, url in urls.items():
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch(FetchRequest(url, url))
                found[expected] = (str(caught.value), caught.value.local_cause)
        return found

    assert asyncio.run(errors()) == {
        "dns": ("could not resolve host name feed-a.invalid", "dns"),
        "refused": ("connection refused", "refused"),
        None: ("HTTP 503 Service Unavailable", None)}


@pytest.mark.parametrize(("error", "cause"), [
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
    (httpx.ProxyError("502 Bad Gateway"), "proxy"),
    (OSError(errno.ECONNRESET, "Connection reset by peer"), None),
])
def test_no_route_and_proxy_failures_are_local_causes(error: Exception,
                                                      cause: str | None) -> None:
    # No loopback address can be made unroutable, so these are checked on the exceptions
    # httpx raises for them.
    raised = httpx.ConnectError("")
    raised.__cause__ = error
    assert network_error(raised, httpx.URL("http://127.0.0.1/"), "timed out").local_cause == cause


# -- as a user meets it -------------------------------------------------------------------------

def offline_config(tmp_path: Path, feed_server: FeedServer) -> Path:
    """Four feeds whose names do not resolve, one on a loopback address that works."""
    feeds = {f"Offline {n}": f"http://news{n}.invalid/rss.xml" for n in range(4)}
    feeds["Loopback"] = feed_server.route("/rss.xml", rss([Entry(
        title="Mission Firewall inspects southbound trucks", link="https://news.example/1")]))
    return write_config(tmp_path / "config", tmp_path / "armswatch.db", feeds)


def test_poll_and_status_name_the_outage(tmp_path: Path, feed_server: FeedServer,
                                         no_proxy: dict[str, str]) -> None:
    config = offline_config(tmp_path, feed_server)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--config", str(config), *args], env={"COLUMNS": "250"})
        return result.exit_code, result.stdout

    code, out = invoke("poll")
    assert code == 0
    assert out.splitlines()[1:] == [
        "network outage: 4 of 5 feeds failed with 'could not resolve host' — checking again "
        "at the normal interval"]
    code, out = invoke("poll", "--all")   # a second outage poll: still no backoff
    feeds = json.loads(invoke("feeds", "--format", "json")[1])
    offline_feeds = [f for f in feeds if f["name"].startswith("Offline")]
    assert {(f["status"], f["consecutive_failures"], f["error"]) for f in offline_feeds} == {
        ("new", 0, None)}
    for feed in offline_feeds:
        wait = datetime.fromisoformat(feed["next_check"]) - datetime.now(UTC)
        assert timedelta(minutes=14) < wait <= INTERVAL
    code, text = invoke("feeds")
    assert text.startswith("network outage since ")

    code, text = invoke("status")
    assert code == 0, text   # a successful poll a moment ago: healthy, with the outage named
    lines = text.splitlines()
    assert lines[0].startswith("healthy: last successful poll")
    assert lines[3].startswith("network outage since ")
    assert lines[3].endswith(": 4 of 5 feeds failed with 'could not resolve host' at "
                             f"{lines[1].removeprefix('last poll: ')} (2 poll(s) so far); feeds "
                             "are checked again at their normal interval, without backoff")
    assert "failing:" not in text
    record = json.loads(invoke("status", "--format", "json")[1])["network_outage"]
    assert (record["ongoing"], record["cause"], record["cause_text"], record["polls"],
            record["failed_feeds"], record["polled_feeds"], record["ended"]) == (
        True, "dns", "could not resolve host", 2, 4, 5, None)

    # Offline for longer than three intervals: unhealthy, and the outage is the reason given.
    with sqlite3.connect(tmp_path / "armswatch.db") as db:
        db.execute("UPDATE feeds SET last_success = ?",
                   ((datetime.now(UTC) - timedelta(hours=2)).isoformat(),))
    code, text = invoke("status")
    assert code == 1
    assert text.startswith("UNHEALTHY: network outage since ")
    assert text.splitlines()[0].endswith(": the last successful poll was 2 h ago, more than "
                                         "three poll intervals (45 min)")
    # The hit found before is still there.
    assert len(json.loads(invoke("hits", "--format", "json")[1])) == 1


def test_run_logs_one_line_per_offline_cycle(tmp_path: Path, no_proxy: dict[str, str]) -> None:
    db = tmp_path / "armswatch.db"
    feeds = {f"Offline {n}": f"http://news{n}.invalid/rss.xml" for n in range(3)}
    config = write_config(tmp_path / "config", db, feeds, polling='interval = "1s"')
    armswatch = str(Path(sys.executable).with_name("armswatch"))
    process = subprocess.Popen([armswatch, "--config", str(config), "run", "--log-format",
                                "json"], stderr=subprocess.PIPE, text=True, env=no_proxy)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _outage_polls(db) < 3:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    outages = [r for r in records if r.get("event") == "outage"]
    assert len(outages) >= 3, stderr
    assert {(r["level"], r["message"], r["cause"], r["failed"]) for r in outages} == {(
        "warning", "network outage: 3 of 3 feeds failed with 'could not resolve host' — "
        "checking again at the normal interval", "dns", 3)}
    # Nothing else about those cycles: no line per feed, no second summary.
    assert [r for r in records if r.get("event") in ("feed_failed", "poll")] == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT max(error_count) FROM feeds").fetchone() == (0,)


def _outage_polls(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT max(polls) FROM network_outages").fetchone()
    except sqlite3.OperationalError:   # not created yet
        return 0
    return int(row[0] or 0)
