"""`armswatch run` as a real process: polls on schedule, follows config edits, stops cleanly."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import Entry, rss, write_config
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[1]
ARMSWATCH = str(Path(sys.executable).with_name("armswatch"))
PLAIN = Entry(title="Border crossing reopens after storm", link="https://example.mx/0")
FIREWALL = Entry(title="Misión Cortafuegos asegura armas en Sonora", link="https://example.mx/1")


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:   # tables not created yet
        return 0


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


class Service:
    """The service in a subprocess, with its config folder and database."""

    def __init__(self, tmp_path: Path, feed_url: str, *args: str) -> None:
        self.db = tmp_path / "armswatch.db"
        self.config = write_config(tmp_path / "config", self.db, {"Loopback": feed_url},
                                   polling='interval = "1s"\ntimeout = "10s"')
        self.process = subprocess.Popen([ARMSWATCH, "--config", str(self.config), "run", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def hits(self) -> int:
        return count(self.db, "select count(*) from hits")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> str:
        self.process.send_signal(sig)
        _, stderr = self.process.communicate(timeout=timeout)
        return stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def make(feed_url: str, *args: str) -> Service:
        service = Service(tmp_path, feed_url, *args)
        started.append(service)
        return service
    yield make
    for service in started:
        service.kill()


def test_run_polls_on_schedule_and_stops_on_sigterm(start: Callable[..., Service],
                                                    feed_server: FeedServer) -> None:
    service = start(feed_server.route("/news.xml", rss([FIREWALL])))
    assert wait_until(lambda: service.hits() == 1), "no hit stored by the running service"
    # The feed keeps being polled on its 1 s interval.
    assert wait_until(lambda: len(feed_server.requests_to("/news.xml")) >= 3)
    stderr = service.stop()
    assert service.process.returncode == 0, stderr
    assert "poll: 1 feeds: 1 ok" in stderr
    assert "armswatch stopped" in stderr
    assert count(service.db, "select count(*) from articles") == 1


def test_watch_list_edits_apply_live_and_bad_edits_are_refused(
        start: Callable[..., Service], feed_server: FeedServer) -> None:
    url = feed_server.route("/news.xml", rss([PLAIN]))
    service = start(url)
    assert wait_until(lambda: count(service.db, "select count(*) from articles") == 1)
    watchlist = service.config / "watchlist.toml"
    good = watchlist.read_text(encoding="utf-8")

    # A new item, then an article naming it: matched on the next poll, no restart.
    watchlist.write_text(good + '\n[[watch]]\nname = "Operation Paper Trail"\nkind = "program"\n'
                         'terms = ["Operation Paper Trail"]\n', encoding="utf-8")
    time.sleep(1.5)
    feed_server.route("/news.xml", rss([PLAIN, Entry(
        title="Operation Paper Trail charges 12 gun buyers", link="https://example.mx/2")]))
    assert wait_until(lambda: count(
        service.db, "select count(*) from matches where item = 'Operation Paper Trail'") == 1)

    # An invalid edit is reported with check's messages; the last good config stays in force.
    watchlist.write_text(good + '\n[[watch]]\nname = "Broken"\nkind = "programme"\n'
                         'terms = ["x"]\n', encoding="utf-8")
    time.sleep(1.5)
    feed_server.route("/news.xml", rss([PLAIN, FIREWALL]))
    assert wait_until(lambda: count(
        service.db, "select count(*) from matches where item = 'Mission Firewall'") >= 1)
    stderr = service.stop()
    assert service.process.returncode == 0
    assert "config reloaded" in stderr
    assert "watchlist.toml: watch[" in stderr and '"programme"' in stderr
    assert "the last good config stays in force" in stderr


PAPER_TRAIL = Entry(title="Operation Paper Trail charges 12 gun buyers", link="https://example.mx/2")
NEW_ITEM = ('\n[[watch]]\nname = "Operation Paper Trail"\nkind = "program"\npriority = "high"\n'
            'terms = ["Operation Paper Trail"]\n')


def test_a_reload_backfills_added_items_over_the_configured_window(
        start: Callable[..., Service], feed_server: FeedServer) -> None:
    service = start(feed_server.route("/news.xml", rss([PLAIN, PAPER_TRAIL])))
    assert wait_until(lambda: count(service.db, "select count(*) from articles") == 2)
    watchlist = service.config / "watchlist.toml"
    watchlist.write_text(watchlist.read_text(encoding="utf-8") + NEW_ITEM, encoding="utf-8")

    assert wait_until(lambda: count(service.db, "select count(*) from backfills") == 1)
    stderr = service.stop()
    assert service.process.returncode == 0, stderr
    assert ("backfill: new watch item Operation Paper Trail matched 1 stored articles "
            "(1 new matches) published in the last 30d") in stderr
    assert count(service.db, "select count(*) from matches where item = 'Operation Paper Trail'"
                 " and backfill_id is not null") == 1


def test_a_reload_does_not_backfill_when_the_window_is_0(
        tmp_path: Path, feed_server: FeedServer) -> None:
    service = Service(tmp_path, feed_server.route("/news.xml", rss([PLAIN, PAPER_TRAIL])))
    try:
        settings = service.config / "armswatch.toml"
        assert wait_until(lambda: count(service.db, "select count(*) from articles") == 2)
        settings.write_text(settings.read_text(encoding="utf-8")
                            + '\n[matching]\nbackfill = "0"\n', encoding="utf-8")
        watchlist = service.config / "watchlist.toml"
        watchlist.write_text(watchlist.read_text(encoding="utf-8") + NEW_ITEM, encoding="utf-8")
        time.sleep(3)
        stderr = service.stop()
    finally:
        service.kill()
    assert "config reloaded" in stderr and "backfill:" not in stderr
    assert count(service.db, "select count(*) from matches where item = 'Operation Paper Trail'"
                 ) == 0


def test_sigterm_during_a_poll_lets_it_finish_and_exits_0(
        start: Callable[..., Service], feed_server: FeedServer) -> None:
    url = feed_server.route("/slow.xml", rss([FIREWALL]), delay=3.0)
    service = start(url)
    assert wait_until(lambda: len(feed_server.requests_to("/slow.xml")) >= 1)
    began = time.monotonic()
    stderr = service.stop(timeout=15)
    assert service.process.returncode == 0, stderr
    assert time.monotonic() - began < 12
    assert "waiting up to 10 s for running work" in stderr
    # The poll in flight was allowed to finish and commit.
    assert service.hits() == 1


def test_json_log_lines_carry_the_cycle_figures(start: Callable[..., Service],
                                                feed_server: FeedServer) -> None:
    service = start(feed_server.route("/news.xml", rss([FIREWALL])), "--log-format", "json")
    assert wait_until(lambda: service.hits() == 1)
    time.sleep(0.5)
    stderr = service.stop()
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    polls = [r for r in records if r.get("event") == "poll"]
    assert polls, stderr
    first = polls[0]
    assert first["feeds"] == 1 and first["ok"] == 1 and first["new_hits"] == 1
    assert {"time", "level", "message", "duration", "failed", "new_articles"} <= set(first)


def test_kill_9_mid_poll_then_restart_loses_and_repeats_nothing(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = []
    for n in range(30):
        entries = [Entry(title=f"Gun trafficking case {n}-{i} reaches court",
                         link=f"https://example.org/{n}/{i}") for i in range(3)]
        feeds.append(feed_server.route(f"/f{n}.xml", rss(entries), delay=2.0 if n % 2 else 0))
    db = tmp_path / "armswatch.db"
    config = write_config(tmp_path / "config", db,
                          {f"f{n}": url for n, url in enumerate(feeds)}, 'interval = "1h"')

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([ARMSWATCH, "--config", str(config), "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    first = start()
    try:
        assert wait_until(lambda: count(db, "select count(*) from articles") > 0)
        first.kill()   # SIGKILL: no chance to finish or clean up
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    committed = count(db, "select count(*) from articles")
    assert 0 < committed < 90, "the kill should land mid-poll"

    second = start()
    try:
        assert wait_until(lambda: count(db, "select count(*) from articles") == 90)
        assert wait_until(lambda: count(db, "select count(*) from feeds where status = 'ok'")
                          == 30)
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=15)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0
    assert count(db, "select count(*) from articles") == 90
    assert count(db, "select count(*) from matches") == 90      # one match each, none twice
    assert count(db, "select count(distinct canonical_url) from articles") == 90
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
