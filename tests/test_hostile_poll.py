"""Whole poll cycles against feeds that misbehave: the poller survives everything.

Fetch-level and parse-level cases each have their own tests (test_fetch_hostile.py,
test_parse.py); here they all meet in real poll cycles over one loopback server and a real
SQLite file, next to good feeds whose hits must still be stored, and the per-feed states those
cycles leave (status, error in plain words, next check) are checked as `armswatch feeds` shows them.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import builders
import pytest
from builders import PEAK_RSS_MB, Entry, atom, feed_config, rss, write_config
from click.testing import CliRunner
from feedserver import FeedServer, gzip_bomb

from monitor.cli.commands import cli
from monitor.poll.cycle import PollReport, due_feeds
from monitor.service.monitor import Monitor
from monitor.settings.config import (
    Config,
    load_watchlist,
)
from storage.records import FeedState

ROOT = Path(__file__).resolve().parents[1]
WATCH = load_watchlist(ROOT / "config" / "watchlist.toml")
SECRET = "TOP-SECRET-LOCAL-FILE-CONTENT"

FIREWALL = Entry(title="Mission Firewall seizes 120 rifles bound for Sinaloa",
                 link="https://news.example.org/firewall-rifles", guid="hostile-good-1",
                 summary="US inspectors working under Mission Firewall stopped southbound trucks.")
WILDFIRE = Entry(title="Brigadas abren cortafuegos para frenar el incendio",
                 link="https://noticias.example.mx/incendio")
CORTAFUEGOS = Entry(title="Misión Cortafuegos: aseguran armas de fuego en Sonora",
                    link="https://noticias.example.mx/cortafuegos-sonora")
ETRACE = Entry(title="ATF eTrace requests from Mexico rose again",
               link="https://news.example.org/etrace-requests")
NIBIN = Entry(title="NIBIN links casings from Juárez to a Phoenix gun store",
              link="https://news.example.org/nibin-juarez")
FEED = rss([Entry(title="Never seen", link="https://example.org/never")])

# feedparser#562: the author-email regex backtracks quadratically; seconds of CPU per item.
SLOW_PARSE = rss([Entry(title=f"slow {i}", link=f"https://example.org/slow/{i}")
                  for i in range(3)]).replace(
    b"</item>", b"<author>a@" + b"a." * 16_000 + b"!</author></item>")


def entity_bomb() -> bytes:
    levels = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]>'
            '<rss version="2.0"><channel><title>bomb &lol9;</title><item><title>a &lol9;</title>'
            "<link>https://bomb.example.org/a</link></item></channel></rss>").encode()


def external_entities(secret: Path, probe_url: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">
               <!ENTITY remote SYSTEM "{probe_url}">]>
<rss version="2.0"><channel><title>Entities &xxe;</title>
<item><title>Mission Firewall &xxe; &remote;</title><link>https://xxe.example.org/1</link>
<description>&xxe; &remote;</description></item></channel></rss>""".encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args).fetchall())


# -- every hostile case at once --------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """A feed of the hostile set and what its row in the feeds table must say afterwards."""

    name: str
    url: str
    status: str                 # ok | failed | gone
    error: str | None = None    # the start of the error, in plain words (None: no error)


def hostile_cases(server: FeedServer, tmp_path: Path) -> list[Case]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    for hop in range(7):
        server.redirect(f"/chain{hop}", f"/chain{hop + 1}")
    server.route("/chain7", FEED)
    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    server.route("/xxe-probe", "PROBE-CONTENT", content_type="text/plain")
    retry_at = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    gzip_body = rss([ETRACE])
    return [
        # good feeds, mixed in
        Case("Good EN", server.route("/good-en.xml", rss([FIREWALL, WILDFIRE])), "ok"),
        Case("Good ES", server.route("/good-es.xml", atom([CORTAFUEGOS])), "ok"),
        Case("Good gzip", server.route("/good-gz.xml", gzip_body, encoding="gzip"), "ok"),
        Case("Good after redirect", server.redirect(
            "/moved.xml", server.route("/good-moved.xml", rss([NIBIN])), status=301), "ok"),
        # the network and the server misbehave
        Case("Gzip bomb", server.route("/bomb.xml", gzip_bomb(1024),
                                       headers={"Content-Encoding": "gzip"}),
             "failed", "response larger than 10 MB"),
        Case("Truncated gzip", server.route(
            "/truncated.xml", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"\x00" * 40,
            headers={"Content-Encoding": "gzip"}), "failed", "response body is not valid gzip"),
        Case("Drips a byte a second", server.route("/drip.xml", FEED, drip=1.0),
             "failed", "timed out after 2 s"),
        Case("Never answers", server.route("/hang.xml", hang=True),
             "failed", "timed out after 2 s"),
        Case("Redirect loop", server.url("/loop-a"), "failed", "redirect loop: "),
        Case("Long redirect chain", server.url("/chain0"), "failed",
             "too many redirects (more than 5)"),
        Case("Redirect to a file", server.redirect("/to-file", "file:///etc/passwd"),
             "failed", "refused redirect to a non-HTTP URL: file:"),
        Case("Redirect to FTP", server.redirect("/to-ftp", "ftp://example.org/feed.xml"),
             "failed", "refused redirect to a non-HTTP URL: ftp://"),
        Case("Not found", server.status("/404.xml", 404), "failed", "HTTP 404 Not Found"),
        Case("Gone", server.status("/410.xml", 410), "gone", "feed is gone (HTTP 410)"),
        Case("Rate limited", server.status("/429.xml", 429, {"Retry-After": "600"}),
             "failed", "HTTP 429 Too Many Requests (retry after 600 s)"),
        Case("Unavailable", server.status("/503.xml", 503, {"Retry-After": retry_at}),
             "failed", "HTTP 503 Service Unavailable (retry after "),
        Case("Server error", server.status("/500.xml", 500),
             "failed", "HTTP 500 Internal Server Error"),
        Case("Connection refused", f"http://127.0.0.1:{free_port()}/feed.xml",
             "failed", "connection refused"),
        Case("Not HTTP", server.route("/garbage", raw=b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
             "failed", "the server sent a broken HTTP response"),
        # the body is not what it should be
        Case("Slow to parse", server.route("/slow-parse.xml", SLOW_PARSE),
             "failed", "parse took longer than 2 s"),
        Case("HTML page", server.route(
            "/page.html", "<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>",
            content_type="text/html; charset=utf-8"),
             "failed", "not a feed: the server sent an HTML page"),
        Case("Empty body", server.route("/empty.xml", b""),
             "failed", "not a feed: the response body is empty"),
        Case("Binary junk", server.route("/junk.bin", random.Random(7).randbytes(4096),
                                         content_type="application/octet-stream"),
             "failed", "not a feed: the body is binary data"),
        Case("Wrong charset header", server.route(
            "/latin1-header.xml", rss([CORTAFUEGOS]).replace(b"example.mx/", b"example.mx/l1/"),
            content_type="application/rss+xml; charset=iso-8859-1"), "ok"),
        Case("Wrong encoding declaration", server.route(
            "/cp1252-body.xml",
            rss([CORTAFUEGOS]).replace(b"example.mx/", b"example.mx/cp/").decode()
            .encode("cp1252")), "ok"),
        Case("Entity expansion", server.route("/lol.xml", entity_bomb()), "ok"),
        Case("External entities", server.route("/xxe.xml", external_entities(
            secret, server.url("/xxe-probe"))), "ok"),
    ]


POLLING = """interval = "15m"
concurrency = 50
per_host = 50
timeout = "2s"
parse_timeout = "2s"
"""
TIME_BOUND = (2 + 2) * 3  # (timeout + parse_timeout) x 3: not a benchmark, a bound on hanging

# Runs the CLI in this process so its peak memory is the poller's own (parser workers aside,
# and no bomb ever reaches them).
MEASURED_CLI = PEAK_RSS_MB + """
import sys
from monitor.cli.commands import main
try:
    main()
finally:
    peak = int(peak_rss_mb())
    print(f"peak-rss-mb {peak}", file=sys.stderr)
"""


@pytest.fixture(scope="module")
def hostile_poll(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostilePoll]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    with FeedServer() as server:
        cases = hostile_cases(server, tmp_path)
        db = tmp_path / "armswatch.db"
        config = write_config(tmp_path / "config", db, {c.name: c.url for c in cases}, POLLING)
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-c", MEASURED_CLI, "--config", str(config), "poll"],
            cwd=tmp_path, capture_output=True, text=True, timeout=TIME_BOUND + 30)
        yield HostilePoll(cases, config, db, completed, time.monotonic() - started, server)


@dataclass
class HostilePoll:
    cases: list[Case]
    config: Path
    db: Path
    completed: subprocess.CompletedProcess[str]
    seconds: float
    server: FeedServer


def test_the_cycle_completes_in_bounded_time_and_exits_0(hostile_poll: HostilePoll) -> None:
    done = hostile_poll.completed
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # Startup (imports, the parser pool) is outside the bound; the cycle itself is inside it.
    assert hostile_poll.seconds < TIME_BOUND + 10
    failing = sum(c.status != "ok" for c in hostile_poll.cases)
    assert f"{len(hostile_poll.cases)} feeds: {len(hostile_poll.cases) - failing} ok, " \
        f"0 not modified, {failing} failed;" in done.stdout


def test_the_bomb_never_raised_memory_past_200_mb(hostile_poll: HostilePoll) -> None:
    peak = next(line for line in hostile_poll.completed.stderr.splitlines()
                if line.startswith("peak-rss-mb "))
    assert int(peak.split()[1]) < 200


def test_every_feed_has_its_status_and_error_in_plain_words(hostile_poll: HostilePoll) -> None:
    stored = {name: (status, error) for name, status, error in rows(
        hostile_poll.db, "select name, status, error from feeds")}
    assert set(stored) == {c.name for c in hostile_poll.cases}
    for case in hostile_poll.cases:
        status, error = stored[case.name]
        assert status == case.status, (case.name, error)
        if case.error is None:
            assert error is None, case.name
        else:
            assert isinstance(error, str) and error.startswith(case.error), (case.name, error)
            assert f"failed: {case.name}: {error}" in hostile_poll.completed.stdout


def test_the_good_feeds_hits_are_stored(hostile_poll: HostilePoll) -> None:
    hits = dict(rows(hostile_poll.db, "select a.feed, group_concat(distinct m.item) "
                                      "from matches m join articles a on a.id = m.article_id "
                                      "group by a.feed"))
    assert hits["Good EN"] == "Mission Firewall"
    assert hits["Good ES"] == "Mission Firewall"
    assert hits["Good gzip"] == "eTrace"
    assert hits["Good after redirect"] == "NIBIN"
    # The wildfire firebreak is stored, and is no hit.
    assert rows(hostile_poll.db, "select count(*) from articles where feed = 'Good EN'") == [(2,)]


def test_wrongly_declared_encodings_are_read_as_the_text_meant(hostile_poll: HostilePoll) -> None:
    titles = dict(rows(hostile_poll.db,
                       "select feed, title from articles where feed like 'Wrong%'"))
    assert titles == {"Wrong charset header": CORTAFUEGOS.title,
                      "Wrong encoding declaration": CORTAFUEGOS.title}


def test_entities_are_neither_expanded_nor_read_from_disk_or_network(
        hostile_poll: HostilePoll) -> None:
    longest = rows(hostile_poll.db, "select max(length(title) + length(summary)) from articles")
    assert longest[0][0] < 1_000
    for path in hostile_poll.db.parent.glob(hostile_poll.db.name + "*"):  # with -wal and -shm
        assert SECRET.encode() not in path.read_bytes()
        assert b"root:x:0:0" not in path.read_bytes()
    assert hostile_poll.server.requests_to("/xxe-probe") == []


def table_rows(output: str) -> dict[str, dict[str, str]]:
    """A table of one line per row (header, dashes, rows) as {first cell: {header: cell}}."""
    header, dashes, *lines = output.splitlines()
    spans, start = [], 0
    for dash in dashes.split("  "):
        if dash:
            begin = dashes.index(dash, start)
            spans.append((begin, begin + len(dash)))
            start = begin + len(dash)
    spans[-1] = (spans[-1][0], max(len(line) for line in [header, *lines]))
    names = [header[a:b].strip() for a, b in spans]
    cells = [{name: line[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)}
             for line in lines]
    return {row[names[0]]: row for row in cells}


def feeds_table(config: Path) -> dict[str, dict[str, str]]:
    """`armswatch feeds` as {feed: {column: cell}}, with the error column named "error"."""
    # Wide enough that nothing wraps: one line per feed.
    result = CliRunner().invoke(cli, ["--config", str(config), "feeds"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    table = table_rows(result.output)
    for row in table.values():
        row["error"] = next(cell for header, cell in row.items() if "error" in header)
    return table


def test_feeds_command_names_each_failing_feed_and_its_error(hostile_poll: HostilePoll) -> None:
    table = feeds_table(hostile_poll.config)
    as_json = CliRunner().invoke(cli, ["--config", str(hostile_poll.config), "feeds",
                                       "--format", "json"])
    records = {r["name"]: r for r in json.loads(as_json.output)}
    assert set(table) == set(records) == {c.name for c in hostile_poll.cases}
    for case in hostile_poll.cases:
        record, row = records[case.name], table[case.name]
        assert row["status"] == record["status"] == case.status
        if case.status == "ok":
            assert record["error"] is None and record["failing_since"] is None
            assert row["error"] == ""
            continue
        assert record["error"].startswith(case.error or "")
        assert row["error"].startswith(record["error"][:40])
        assert record["consecutive_failures"] == 1
        assert record["failing_since"] == record["last_checked"] is not None


def test_feeds_table_says_since_when_each_feed_fails(hostile_poll: HostilePoll) -> None:
    table = feeds_table(hostile_poll.config)
    since = {name: datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
             for name, value in rows(hostile_poll.db, "select name, failing_since from feeds "
                                                      "where failing_since is not null")}
    assert len(since) == sum(c.status != "ok" for c in hostile_poll.cases)
    for name, moment in since.items():
        shown = [cell for header, cell in table[name].items() if "since" in header] + [
            table[name]["error"]]
        assert any(moment in cell for cell in shown), table[name]


# -- what each status code does to the schedule ----------------------------------------------

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def config_for(tmp_path: Path, feeds: dict[str, str], *, interval: timedelta,
               max_interval: timedelta) -> Config:
    return builders.config_for(
        tmp_path, [feed_config(name, url, interval=interval) for name, url in feeds.items()],
        interval=interval, max_interval=max_interval, per_host=20)


def states(monitor: Monitor) -> dict[str, FeedState]:
    return {state.name: state for state in monitor.store.feeds.all()}


def test_retry_after_sets_the_next_check_within_a_day(feed_server: FeedServer,
                                                      tmp_path: Path) -> None:
    in_three_hours = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    config = config_for(tmp_path, {
        "429 in seconds": feed_server.status("/429", 429, {"Retry-After": "7200"}),
        "503 as a date": feed_server.status("/503", 503, {"Retry-After": in_three_hours}),
        "503 for ten days": feed_server.status("/503-long", 503, {"Retry-After": "864000"}),
        "429 unreadable": feed_server.status("/429-bad", 429, {"Retry-After": "soon"}),
    }, interval=timedelta(minutes=15), max_interval=timedelta(hours=6))

    async def go() -> dict[str, FeedState]:
        async with Monitor(config) as monitor:
            await monitor.poll(config.feeds)
            return states(monitor)

    found = {name: state.next_check - state.last_checked
             for name, state in asyncio.run(go()).items()
             if state.next_check and state.last_checked}
    assert found["429 in seconds"] == timedelta(seconds=7200)
    assert abs(found["503 as a date"] - timedelta(hours=3)) < timedelta(seconds=10)
    assert found["503 for ten days"] == timedelta(days=1)  # a confused server cannot park a feed
    # Unreadable: ordinary backoff, the interval with jitter.
    assert timedelta(minutes=12) <= found["429 unreadable"] <= timedelta(minutes=18)


def test_failures_back_off_with_jitter_up_to_the_cap_and_are_never_given_up(
        feed_server: FeedServer, tmp_path: Path) -> None:
    failing = {f"500 #{n}": feed_server.status(f"/500-{n}", 500) for n in range(3)}
    failing["404"] = feed_server.status("/404", 404)
    minute, cap, cycles = timedelta(minutes=1), timedelta(minutes=20), 8
    config = config_for(tmp_path, failing, interval=minute, max_interval=cap)
    delays: dict[str, list[timedelta]] = {name: [] for name in failing}
    clock = [START]

    async def go() -> tuple[dict[str, FeedState], PollReport]:
        async with Monitor(config) as monitor:
            poller = monitor.poller()
            poller.clock = lambda: clock[0]
            for _ in range(cycles):
                due = due_feeds(config.feeds, monitor.store, clock[0])
                # Still polled: never given up (in order of how overdue they are).
                assert sorted(f.name for f in due) == sorted(failing)
                await poller.poll(due)
                for name, state in states(monitor).items():
                    assert state.next_check is not None
                    delays[name].append(state.next_check - clock[0])
                clock[0] += max(d[-1] for d in delays.values())
            for path in ("/500-0", "/404"):  # two of them recover
                feed_server.route(path, rss([FIREWALL]) if path == "/404" else rss([ETRACE]))
            report = await poller.poll(due_feeds(config.feeds, monitor.store, clock[0]))
            return states(monitor), report

    final, recovered = asyncio.run(go())
    for name, observed in delays.items():
        for count, delay in enumerate(observed, start=1):
            base = min(minute * 2 ** (count - 1), cap)
            assert base * 0.8 <= delay <= min(base * 1.2, cap), (name, count, delay)
        assert len(feed_server.requests_to(failing[name].removeprefix(feed_server.base_url))) \
            == cycles + 1
    # Jitter: feeds failing together do not all come back at the same moment. (Stored times
    # have whole seconds, so two of them may still meet; all four would be a 1-in-10^4 fluke.)
    assert len({observed[0] for observed in delays.values()}) >= 2
    assert {o.feed: o.status for o in recovered.outcomes} == {
        "500 #0": "ok", "500 #1": "failed", "500 #2": "failed", "404": "ok"}
    assert (final["500 #0"].status, final["500 #0"].error, final["500 #0"].error_count) == (
        "ok", None, 0)
    assert final["500 #0"].next_check == clock[0] + minute
    assert (final["500 #1"].error_count, final["500 #1"].failing_since) == (cycles + 1, START)
    assert recovered.new_hits == 2


def test_a_gone_feed_stays_unpolled_until_asked_for_by_name(feed_server: FeedServer,
                                                            tmp_path: Path) -> None:
    config = config_for(tmp_path, {"Gone": feed_server.status("/gone", 410),
                                   "Fine": feed_server.route("/fine", rss([ETRACE]))},
                        interval=timedelta(minutes=15), max_interval=timedelta(hours=6))

    async def go() -> list[PollReport]:
        async with Monitor(config) as monitor:
            first = await monitor.poll(config.feeds)
            a_year_on = datetime.now(UTC) + timedelta(days=365)
            assert [f.name for f in due_feeds(config.feeds, monitor.store, a_year_on)] == ["Fine"]
            feed_server.route("/gone", rss([NIBIN]))  # it came back
            return [first, await monitor.poll(monitor.select_feeds(["gone"]))]

    first, by_name = asyncio.run(go())
    assert [(o.feed, o.status, o.error) for o in first.failures] == [
        ("Gone", "gone", "feed is gone (HTTP 410)")]
    assert [(o.feed, o.status, o.new_hits) for o in by_name.outcomes] == [("Gone", "ok", 1)]
