"""`armswatch status`: the container healthcheck's view of the service."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import Entry, rss, write_config
from click.testing import CliRunner
from feedserver import FeedServer

from monitor.cli.commands import cli
from monitor.service.health import assess
from storage.records import FeedHealth, FeedState

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def feed(name: str, *, success: datetime | None, status: str = "ok") -> FeedHealth:
    return FeedHealth(state=FeedState(name=name, url="http://127.0.0.1/x", status=status,  # type: ignore[arg-type]
                                      last_checked=NOW - timedelta(minutes=1),
                                      last_success=success,
                                      error="HTTP 500" if status == "failed" else None))


def test_healthy_until_three_intervals_without_a_successful_poll() -> None:
    interval = timedelta(minutes=15)
    recent = assess([feed("a", success=NOW - timedelta(minutes=40))], [], now=NOW,
                    interval=interval)
    assert recent.healthy
    stale = assess([feed("a", success=NOW - timedelta(minutes=46), status="failed")], [],
                   now=NOW, interval=interval)
    assert not stale.healthy
    assert "more than three poll intervals" in stale.reason
    assert any(line.startswith("  failing: a: HTTP 500") for line in stale.lines())
    never = assess([], [], now=NOW, interval=interval)
    assert not never.healthy and "no feed has been polled successfully yet" in never.reason


def test_status_after_a_poll_and_when_polling_stalls(tmp_path: Path,
                                                     feed_server: FeedServer) -> None:
    url = feed_server.route("/news.xml", rss([Entry(title="Gun trafficking", link="https://x/1")]))
    config = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Loopback": url, "Broken": url + "-missing"})
    runner = CliRunner()
    missing = runner.invoke(cli, ["--config", str(config), "status"])
    assert missing.exit_code == 1 and "no database" in missing.stderr

    runner.invoke(cli, ["--config", str(config), "poll"])
    healthy = runner.invoke(cli, ["--config", str(config), "status"])
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output.startswith("healthy: last successful poll")
    assert "failing: Broken: HTTP 404 Not Found" in healthy.output
    record = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--format",
                                            "json"]).output)
    assert record["healthy"] is True
    assert [f["name"] for f in record["failing_feeds"]] == ["Broken"]

    long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    with sqlite3.connect(tmp_path / "armswatch.db") as db:
        db.execute("update feeds set last_success = ?", (long_ago,))
    stalled = runner.invoke(cli, ["--config", str(config), "status"])
    assert stalled.exit_code == 1
    assert stalled.output.startswith("UNHEALTHY: the last successful poll was 2 h ago")
