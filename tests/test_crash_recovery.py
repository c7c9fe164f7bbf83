"""A poll that dies (kill -9) or whose database fails (locked, disk full) loses nothing committed,
and the next cycle picks up where it stopped: real processes, a loopback server, real SQLite files.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from builders import Entry, rss, write_config
from feedserver import FeedServer

from monitor.poll.cycle import FeedOutcome
from monitor.service.monitor import Monitor
from monitor.settings.config import Config, FeedConfig, PollingConfig, StorageConfig, load_watchlist
from storage.errors import StorageError

ROOT = Path(__file__).resolve().parents[1]
ARMSWATCH = str(Path(sys.executable).with_name("armswatch"))
WATCH = tuple(load_watchlist(ROOT / "config" / "watchlist.toml"))

def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=5) as conn:
        return list(conn.execute(sql).fetchall())


def count(db: Path, sql: str) -> int:
    try:
        return int(query(db, sql)[0][0])
    except sqlite3.OperationalError:  # not created yet, or busy for a moment
        return 0


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


# -- kill -9 in the middle of a cycle --------------------------------------------------------

FEEDS = 200
SLOW_EVERY = 8        # every 8th feed answers only after SLOW seconds: still pending at the kill
SLOW = 30.0
SHARED = 10           # wire stories: each appears in FEEDS / SHARED feeds, stored once


def crash_feed(n: int) -> bytes:
    entries = [
        Entry(title=f"Mission Firewall report {n}", link=f"https://crash.example.org/{n}/a",
              summary="Inspectors traced the rifles with eTrace."),
        Entry(title=f"Weather report {n}", link=f"https://crash.example.org/{n}/b"),
        Entry(title=f"Gun trafficking ring charged, wire story {n % SHARED}",
              link=f"https://wire.example.org/{n % SHARED}", guid=f"wire-{n % SHARED}"),
    ]
    return rss(entries)


def snapshot(db: Path) -> tuple[set[object], set[tuple[object, ...]]]:
    articles = {row[0] for row in query(db, "select id from articles")}
    matches = set(query(db, "select article_id, item, term, field from matches"))
    return articles, matches


def kill_tree(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """SIGKILL the poll itself; return its child processes (parser pool) to watch them go."""
    children: list[psutil.Process] = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    return children


def reap(children: list[psutil.Process]) -> list[psutil.Process]:
    """Wait for the orphaned parser processes to notice their parent is gone and exit; stop any
    that does not, by pid, and return those."""
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()
    return list(alive)


@pytest.mark.timeout(180)
def test_kill_9_mid_poll_loses_nothing_and_the_next_poll_finishes_the_job(
        feed_server: FeedServer, tmp_path: Path) -> None:
    urls = {}
    for n in range(FEEDS):
        slow = n % SLOW_EVERY == 0
        urls[f"feed {n:03}"] = feed_server.route(f"/feed/{n}", crash_feed(n),
                                                 delay=SLOW if slow else 0.0)
    db = tmp_path / "armswatch.db"
    config = write_config(tmp_path / "config", db, urls,
                          'concurrency = 50\nper_host = 50\ntimeout = "60s"\n')
    poll = [ARMSWATCH, "--config", str(config), "poll"]

    first = subprocess.Popen(poll, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: count(db, "select count(*) from articles") >= 30, 60), \
            "the first poll stored nothing within a minute"
    finally:
        children = kill_tree(first)
    assert reap(children) == []  # no parser process outlives the poll it served
    assert first.returncode == -signal.SIGKILL

    assert query(db, "pragma integrity_check") == [("ok",)]
    articles_before, matches_before = snapshot(db)
    done_before = count(db, "select count(*) from feeds where status = 'ok'")
    assert 0 < done_before < FEEDS  # it died mid-cycle
    assert count(db, "select count(*) from feeds where status = 'new'") == FEEDS - done_before

    for n in range(0, FEEDS, SLOW_EVERY):  # the slow ones have recovered by now
        feed_server.route(f"/feed/{n}", crash_feed(n))
    second = subprocess.run(poll, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    # Only what the killed poll had not finished was due.
    assert f"{FEEDS - done_before} feeds: {FEEDS - done_before} ok" in second.stdout

    articles_after, matches_after = snapshot(db)
    assert articles_before <= articles_after and matches_before <= matches_after
    assert len(articles_after) == 2 * FEEDS + SHARED
    assert count(db, "select count(*) from articles where guid like 'wire-%'") == SHARED
    # Each "Mission Firewall report" has its two matches (title, and eTrace in the summary);
    # each wire story its topic match: none missing, none twice.
    assert count(db, "select count(*) from matches where item = 'Mission Firewall'") == FEEDS
    assert count(db, "select count(*) from matches where item = 'eTrace'") == FEEDS
    assert count(db, "select count(distinct article_id) from matches") == FEEDS + SHARED
    assert dict(query(db, "select status, count(*) from feeds group by status")) == {"ok": FEEDS}


# -- the database fails in the middle of a cycle ---------------------------------------------

class EscapedInAGroup(Exception):
    """The cycle's StorageError left wrapped in an ExceptionGroup, not as itself."""


def storage_error_in(raised: BaseException | None) -> StorageError:
    """The StorageError a failed cycle raised, even when wrapped in an ExceptionGroup."""
    if isinstance(raised, StorageError):
        return raised
    if isinstance(raised, BaseExceptionGroup):
        found: BaseException | None = raised.subgroup(StorageError)
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        if isinstance(found, StorageError):
            return found
    raise AssertionError(f"the cycle should have failed with a StorageError, not {raised!r}")


def expect_plain(raised: BaseException | None) -> None:
    """The cycle must end with the StorageError itself, which the CLI reports in one line."""
    if not isinstance(raised, StorageError):
        raise EscapedInAGroup(repr(raised))


def story(feed: str, n: int, summary: str = "") -> Entry:
    return Entry(title=f"Mission Firewall: {feed} story {n}",
                 link=f"https://{feed}.example.org/{n}", summary=summary)


def monitor_config(tmp_path: Path, feeds: dict[str, str]) -> Config:
    return Config(
        directory=tmp_path, storage=StorageConfig(path=tmp_path / "armswatch.db"),
        polling=PollingConfig(per_host=20, timeout=timedelta(seconds=10),
                              parse_timeout=timedelta(seconds=10)),
        feeds=tuple(FeedConfig(name=name, url=url, interval=timedelta(minutes=15))
                    for name, url in feeds.items()),
        channels=(), watch=WATCH)


def cycle(config: Config, *, every: bool = False,
          on_feed_done: Callable[[FeedOutcome], None] | None = None,
          max_pages: Callable[[int], int] | None = None) -> BaseException | None:
    """One poll cycle; returns what it raised. ``max_pages`` caps the database size."""
    async def go() -> None:
        async with Monitor(config) as monitor:
            if max_pages is not None:
                pages = monitor.store.db.execute("PRAGMA page_count").fetchone()[0]
                monitor.store.db.execute(f"PRAGMA max_page_count = {max_pages(pages)}")
            await monitor.poll(monitor.select_feeds(every=every), on_feed_done=on_feed_done)

    try:
        asyncio.run(go())
    except BaseException as raised:  # noqa: BLE001 — the test inspects it
        return raised
    return None


def stored_titles(db: Path) -> set[str]:
    return {str(row[0]) for row in query(db, "select title from articles")}


def test_database_locked_mid_cycle(feed_server: FeedServer, tmp_path: Path) -> None:
    # One feed at a time reaches the store: each write that finds the database locked waits
    # out the busy timeout (5 s) first.
    feeds = {name: feed_server.route(f"/{name}", rss([story(name, 1)]), delay=delay)
             for name, delay in (("first", 0.0), ("second", 0.5), ("third", 3.0))}
    config = monitor_config(tmp_path, feeds)
    db = config.storage.path
    blocker: list[sqlite3.Connection] = []

    def lock_after_the_first(outcome: FeedOutcome) -> None:
        if not blocker:  # another writer takes the database once "first" is committed
            blocker.append(sqlite3.connect(db, isolation_level=None))
            blocker[0].execute("BEGIN EXCLUSIVE")

    raised = cycle(config, on_feed_done=lock_after_the_first)
    blocker[0].execute("ROLLBACK")
    blocker[0].close()

    assert "the database is locked by another process" in str(storage_error_in(raised))
    assert stored_titles(db) == {"Mission Firewall: first story 1"}
    assert cycle(config) is None  # the next cycle polls what the failed one could not store
    assert stored_titles(db) == {f"Mission Firewall: {name} story 1" for name in feeds}
    assert dict(query(db, "select status, count(*) from feeds group by status")) == {"ok": 3}
    expect_plain(raised)


def test_disk_full_mid_cycle(feed_server: FeedServer, tmp_path: Path) -> None:
    small = feed_server.route("/small", rss([story("small", 1)]))
    config = monitor_config(tmp_path, {"small": small})
    assert cycle(config) is None
    bulky = "arms trafficking " * 500
    feed_server.route("/small", rss([story("small", 1), story("small", 2)]))
    feed_server.route("/big", rss([story("big", n, bulky) for n in range(100)]))
    config = monitor_config(tmp_path, {"small": small, "big": feed_server.url("/big")})

    # No full disk without root here: a cap on this connection's database size fails the
    # same way (SQLITE_FULL). The test with a real full disk runs the CLI below.
    raised = cycle(config, every=True, max_pages=lambda pages: pages + 4)

    assert str(storage_error_in(raised)).startswith(f"{config.storage.path}: the disk is full")
    assert "Mission Firewall: small story 1" in stored_titles(config.storage.path)
    assert not any("big story" in title for title in stored_titles(config.storage.path))
    assert query(config.storage.path, "pragma integrity_check") == [("ok",)]
    assert cycle(config, every=True) is None  # space again: everything comes in
    titles = stored_titles(config.storage.path)
    assert len(titles) == 102 and "Mission Firewall: small story 2" in titles
    expect_plain(raised)


# -- the same, as a user of `armswatch poll` meets it ----------------------------------------

def plain_cli_failure(stderr: str, words: str) -> None:
    """One 'error: …' line naming the problem, and no traceback."""
    if "ExceptionGroup" in stderr:
        raise EscapedInAGroup(stderr[-500:])
    assert "Traceback" not in stderr, stderr
    assert any(line.startswith("error: ") and words in line for line in stderr.splitlines()), \
        stderr


@pytest.mark.timeout(120)
def test_cli_poll_with_the_database_locked_mid_cycle(feed_server: FeedServer,
                                                    tmp_path: Path) -> None:
    urls = {f"fast {n}": feed_server.route(f"/fast/{n}", rss([story(f"fast{n}", 1)]))
            for n in range(6)}
    # Still out when the lock is taken, and one at a time (each locked write waits 5 s).
    urls |= {f"slow {n}": feed_server.route(f"/slow/{n}", rss([story(f"slow{n}", 1)]),
                                            delay=delay) for n, delay in enumerate((3.0, 6.0))}
    db = tmp_path / "armswatch.db"
    poll = [ARMSWATCH, "--config",
            str(write_config(tmp_path / "config", db, urls, 'per_host = 20\ntimeout = "10s"\n')),
            "poll"]

    first = subprocess.Popen(poll, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    assert wait_until(lambda: count(db, "select count(*) from articles") == 6, 60)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer, while the slow feeds are still out
    try:
        _, stderr = first.communicate(timeout=60)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert first.returncode == 1
    committed = snapshot(db)
    assert len(committed[0]) == 6
    second = subprocess.run(poll, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    articles, matches = snapshot(db)
    assert committed[0] <= articles and committed[1] <= matches
    assert len(articles) == len(urls)
    assert dict(query(db, "select status, count(*) from feeds group by status")) == {
        "ok": len(urls)}
    plain_cli_failure(stderr, "the database is locked by another process")


def user_namespaces_work() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = [unshare, "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


# Runs in a user and mount namespace, where an unprivileged user may mount a tmpfs: a real,
# tiny disk that fills up. $1 the disk, $2 the served feed folder, $3 the CLI, $4 the config.
FULL_DISK_SCRIPT = r"""
set -u
disk=$1; feeds=$2; poll="$3 --config $4 poll --all"
fill() { dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null; sync; }
mount -t tmpfs -o size=8m tmpfs "$disk"
$poll > step1.out 2> step1.err; echo $? > step1.code
fill
$poll > step2.out 2> step2.err; echo $? > step2.code
rm "$disk/filler"
# A reader holding the database open (as a browser of it would) keeps its -shm and -wal
# files: with the disk full again, the cycle fails on a write, not on opening.
python3 -c "
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1]); conn.execute('select count(*) from articles').fetchone()
open('reader.ready', 'w').close(); time.sleep(60)" "$disk/armswatch.db" &
reader=$!
while [ ! -e reader.ready ]; do sleep 0.05; done
cp "$feeds/big.next" "$feeds/big.xml"
fill
$poll > step3.out 2> step3.err; echo $? > step3.code
rm "$disk/filler"; kill $reader; wait $reader 2>/dev/null
$poll > step4.out 2> step4.err; echo $? > step4.code
mkdir final; cp "$disk"/armswatch.db* final/
"""


@pytest.mark.skipif(not user_namespaces_work(),
                    reason="no unprivileged user namespaces here to mount a tiny tmpfs")
@pytest.mark.timeout(120)
def test_cli_poll_on_a_full_disk(feed_server: FeedServer, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "small.xml").write_bytes(rss([story("small", n) for n in range(3)]))
    (served / "big.xml").write_bytes(rss([story("big", 0)]))
    bulky = "arms trafficking " * 300
    (served / "big.next").write_bytes(rss([story("big", n, bulky) for n in range(400)]))
    feed_server.serve_directory(served, "/served")
    disk = tmp_path / "disk"
    disk.mkdir()
    config = write_config(tmp_path / "config", disk / "armswatch.db", {
        "small": feed_server.file_url("small.xml", "/served"),
        "big": feed_server.file_url("big.xml", "/served")}, 'timeout = "10s"\n')

    subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                    FULL_DISK_SCRIPT, "sh", str(disk), str(served), ARMSWATCH, str(config)],
                   cwd=tmp_path, check=True, timeout=100)

    def step(n: int) -> tuple[int, str, str]:
        return (int((tmp_path / f"step{n}.code").read_text()),
                (tmp_path / f"step{n}.out").read_text(), (tmp_path / f"step{n}.err").read_text())

    assert step(1)[:2] == (0, "2 feeds: 2 ok, 0 not modified, 0 failed; "
                              "4 new articles, 4 new hits") or step(1)[1].startswith(
        "2 feeds: 2 ok, 0 not modified, 0 failed; 4 new articles, 4 new hits"), step(1)
    code, _, stderr = step(2)  # full before it starts: the database cannot even be opened
    assert code == 1
    plain_cli_failure(stderr, "the disk is full")
    code, _, stderr = step(4)  # space again
    assert code == 0, stderr
    final = tmp_path / "final" / "armswatch.db"
    assert query(final, "pragma integrity_check") == [("ok",)]
    titles = stored_titles(final)
    assert {f"Mission Firewall: small story {n}" for n in range(3)} <= titles
    assert len(titles) == 3 + 400
    code, _, stderr = step(3)  # full in the middle of the cycle
    assert code == 1
    plain_cli_failure(stderr, "the disk is full")


def test_no_room_for_the_shared_memory_file_is_reported_as_a_full_disk(tmp_path: Path) -> None:
    # What SQLite raises when a WAL database is opened on a full disk (seen on the tmpfs above);
    # kept here too for machines where that test is skipped.
    from storage.sqlite_errors import describe

    no_room = sqlite3.OperationalError("disk I/O error")
    no_room.sqlite_errorcode = 10 | (19 << 8)  # SQLITE_IOERR_SHMSIZE
    other = sqlite3.OperationalError("disk I/O error")
    other.sqlite_errorcode = 10 | (3 << 8)  # SQLITE_IOERR_WRITE
    db = tmp_path / "armswatch.db"
    assert describe(no_room, db).startswith(f"{db}: the disk is full")
    assert describe(other, db) == f"{db}: disk I/O error while reading or writing the database"
