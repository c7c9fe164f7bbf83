"""`armswatch run` as a real process: it polls on schedule and stops cleanly on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from feedbuilder import Entry, rss
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[1]
ARMSWATCH = str(Path(sys.executable).with_name("armswatch"))


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:   # tables not created yet
        return 0


def wait_until(check: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_run_polls_on_schedule_and_stops_on_sigterm(tmp_path: Path,
                                                    feed_server: FeedServer) -> None:
    url = feed_server.route("/news.xml", rss([Entry(
        title="Misión Cortafuegos asegura armas en Sonora", link="https://example.mx/1")]))
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "watchlist.toml", config / "watchlist.toml")
    db = tmp_path / "armswatch.db"
    (config / "armswatch.toml").write_text(f"""
[storage]
path = "{db}"
[polling]
interval = "1s"
[[feeds]]
name = "Loopback"
url = "{url}"
""", encoding="utf-8")
    process = subprocess.Popen([ARMSWATCH, "--config", str(config), "run"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: count(db, "select count(*) from hits") == 1), \
            "no hit stored by the running service"
        # The feed keeps being polled on its 1 s interval.
        assert wait_until(lambda: len(feed_server.requests_to("/news.xml")) >= 3)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "poll: 1 feeds: 1 ok" in stderr
    assert "armswatch stopped" in stderr
    assert count(db, "select count(*) from articles") == 1
