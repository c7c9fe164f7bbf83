"""The command line as a user meets it: real config files, a loopback feed server, real SQLite."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli
from monitor.cli.filters import parse_since

ROOT = Path(__file__).resolve().parents[1]

ENTRIES = [
    Entry(title="Mission Firewall seizes 120 rifles bound for Sinaloa",
          link="https://news.example.org/firewall?utm_source=rss",
          summary="Inspectors traced the rifles with eTrace."),
    Entry(title="Misión Cortafuegos asegura armas de fuego en Sonora",
          link="https://noticias.example.mx/sonora",
          summary="Las autoridades de México y Estados Unidos revisaron camiones."),
    Entry(title="New firewall appliance blocks ransomware",
          link="https://tech.example.com/firewall", summary="The antivirus vendor said."),
]


@pytest.fixture
def config_dir(tmp_path: Path, feed_server: FeedServer) -> Path:
    good = feed_server.route("/news.xml", rss(ENTRIES))
    broken = feed_server.status("/broken.xml", 503, {"Retry-After": "120"})
    return write_config(tmp_path / "config", tmp_path / "data" / "armswatch.db",
                        {"Loopback News": good, "Broken Feed": broken},
                        'interval = "15m"\ntimeout = "3s"')


def run(config_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_dir), *args], catch_exceptions=False)


def test_check_summarises_a_valid_config(config_dir: Path) -> None:
    result = run(config_dir, "check")
    assert result.exit_code == 0, result.output
    assert "feeds: 2" in result.output
    assert "watch items: 13 (8 programs, 5 topics)" in result.output
    assert result.output.rstrip().endswith("config OK")


def test_check_reports_every_error_of_both_files_at_once(tmp_path: Path) -> None:
    (tmp_path / "armswatch.toml").write_text(
        '[polling]\ninterval = "15 minutes"\ncolour = "red"\n', encoding="utf-8")
    (tmp_path / "watchlist.toml").write_text(
        '[[watch]]\nname = "X"\nkind = "programme"\nterms = ["x"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path), "check"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith("armswatch.toml: polling.interval: ") for line in lines), lines
    assert any(line.startswith("armswatch.toml: polling.colour: ") for line in lines), lines
    assert any(line.startswith("watchlist.toml: watch[1].kind: ") for line in lines), lines
    assert "Traceback" not in result.output


def test_poll_then_query_hits_in_every_format(config_dir: Path) -> None:
    polled = run(config_dir, "poll")
    assert polled.exit_code == 0
    assert "2 feeds: 1 ok, 0 not modified, 1 failed; 3 new articles, 2 new hits" in polled.output
    assert "failed: Broken Feed: HTTP 503" in polled.output

    as_json = json.loads(run(config_dir, "hits", "--format", "json").output)
    # Both were published at the same moment, so their order is not part of the contract.
    assert sorted(h["title"] for h in as_json) == sorted([ENTRIES[0].title, ENTRIES[1].title])
    first = next(h for h in as_json if h["title"] == ENTRIES[0].title)
    assert {"id", "url", "title", "feed", "published", "first_seen", "language", "programs",
            "topics", "matches"} <= set(first)
    assert first["programs"] == ["Mission Firewall", "eTrace"]
    assert first["feed"] == "Loopback News"
    assert first["published"] == "2026-11-20T12:00:00+00:00"
    assert {"item": "eTrace", "kind": "program", "term": "eTrace", "field": "summary",
            "snippet": "Inspectors traced the rifles with eTrace."} in first["matches"]

    jsonl = run(config_dir, "hits", "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["id"] for line in jsonl] == [h["id"] for h in as_json]
    csv_lines = run(config_dir, "hits", "--format", "csv").output.splitlines()
    assert csv_lines[0].startswith("id,published,first_seen,feed,language,programs")
    assert len(csv_lines) == 3
    table = run(config_dir, "hits").output
    assert "Mission Firewall" in table and "Misión Cortafuegos asegura" in table

    only = json.loads(run(config_dir, "hits", "--item", "etrace", "--format", "json").output)
    assert [h["title"] for h in only] == [ENTRIES[0].title]
    found = json.loads(run(config_dir, "hits", "--search", "mision", "--format", "json").output)
    assert [h["title"] for h in found] == [ENTRIES[1].title]
    assert json.loads(run(config_dir, "hits", "--since", "2026-11-21", "--format", "json").output
                      ) == []
    assert len(json.loads(run(config_dir, "hits", "--limit", "1", "--format", "json").output)) == 1


def test_feeds_names_the_failing_feed_and_its_error(config_dir: Path) -> None:
    run(config_dir, "poll")
    table = run(config_dir, "feeds")
    assert table.exit_code == 0
    broken = next(line for line in table.output.splitlines() if line.startswith("Broken Feed"))
    assert "failed" in broken and "HTTP 503" in broken
    listed = json.loads(run(config_dir, "feeds", "--format", "json").output)
    records = {r["name"]: r for r in listed}
    assert records["Loopback News"]["status"] == "ok" and records["Loopback News"]["articles"] == 3
    assert records["Broken Feed"]["consecutive_failures"] == 1
    assert records["Broken Feed"]["failing_since"] is not None


def test_poll_a_feed_by_name_and_an_unknown_feed(config_dir: Path) -> None:
    result = run(config_dir, "poll", "--feed", "loopback news")
    assert result.exit_code == 0 and "1 feeds: 1 ok" in result.output
    unknown = CliRunner().invoke(cli, ["--config", str(config_dir), "poll", "--feed", "Nope"])
    assert unknown.exit_code == 2
    assert "no feed named 'Nope'" in unknown.stderr


def test_bad_since_is_a_usage_error(config_dir: Path) -> None:
    run(config_dir, "poll")
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "hits", "--since", "lately"])
    assert result.exit_code == 2
    assert "neither a duration (12h, 7d, 2w) nor a date" in result.stderr


def test_hits_without_a_database_says_what_to_do(config_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "hits"])
    assert result.exit_code == 1
    assert "run `armswatch poll` first" in result.stderr


def test_locked_database_fails_cleanly_and_keeps_data(config_dir: Path, tmp_path: Path) -> None:
    run(config_dir, "poll")
    db = tmp_path / "data" / "armswatch.db"
    blocker = sqlite3.connect(db, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(cli, ["--config", str(config_dir), "poll", "--all"])
    finally:
        blocker.rollback()
        blocker.close()
    assert result.exit_code == 1
    assert "locked" in result.stderr and "Traceback" not in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (3,)


def test_watch_test_explains_matches(config_dir: Path, tmp_path: Path) -> None:
    result = run(config_dir, "watch", "test", "Brigadas abren un cortafuegos contra el incendio")
    assert result.exit_code == 0
    assert "MATCH" not in result.output
    text = tmp_path / "article.txt"
    text.write_text("ATF eTrace data show the guns came from Texas.", encoding="utf-8")
    from_file = run(config_dir, "watch", "test", "--file", str(text))
    assert "MATCH: eTrace" in from_file.output
    neither = CliRunner().invoke(cli, ["--config", str(config_dir), "watch", "test"])
    assert neither.exit_code == 2


def test_parse_since_accepts_durations_and_dates() -> None:
    from datetime import UTC, datetime, timedelta
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:30:00-06:00", now) == datetime(2026, 11, 1, 14, 30,
                                                                      tzinfo=UTC)


def test_demo_runs_offline_from_any_directory(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("armswatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")}
    result = subprocess.run([str(exe), "demo"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    for program in ("Mission Firewall", "eTrace", "Bicentennial Framework", "Merida Initiative",
                    "Operation Southbound", "Fast and Furious", "NIBIN",
                    "Security Implementation Group"):
        assert program in result.stdout, program
    assert "0 failed" in result.stdout
    assert list(tmp_path.iterdir()) == []   # wrote nothing where it was started
