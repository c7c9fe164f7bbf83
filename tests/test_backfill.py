"""Keywords that reach back (design §14): `watch backfill` and `watch test --stored` on real
polls from the loopback feed server into real SQLite files.

The written articles of tests/data/articles are served as two feeds; a poll with part of the
shipped watch list, then a backfill with all of it, must store exactly what a fresh poll with all
of it stores."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import ROOT, Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli

NOW = datetime.now(UTC).replace(microsecond=0)
WATCHLIST = (ROOT / "config" / "watchlist.toml").read_text(encoding="utf-8")
HEADER, *BLOCKS = WATCHLIST.split("\n[[watch]]\n")
# Items kept in the first config: every other one, so guarded items and excludes are on both sides.
FIRST_BLOCKS = BLOCKS[::2]


def written_articles(language: str) -> list[Entry]:
    data = tomllib.loads((ROOT / "tests" / "data" / "articles" / f"{language}.toml")
                         .read_text(encoding="utf-8"))
    return [Entry(title=a["title"], link=f"https://news.example.org/{a['id']}",
                  summary=a.get("summary", ""), content=a.get("content", ""), guid=a["id"],
                  published=NOW - timedelta(days=1 + n % 20))
            for n, a in enumerate(data["article"])]


@pytest.fixture
def feeds(feed_server: FeedServer) -> dict[str, str]:
    return {"Border Wire": feed_server.route("/en.xml", rss(written_articles("en"))),
            "Frontera Hoy": feed_server.route("/es.xml", rss(written_articles("es"),
                                                             language="es"))}


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env={"COLUMNS": "200"})


def keep_items(config: Path, blocks: list[str]) -> None:
    (config / "watchlist.toml").write_text(HEADER + "".join("\n[[watch]]\n" + b for b in blocks),
                                           encoding="utf-8")


def matches(db: Path) -> set[tuple[str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT article_id, item, term, field, snippet FROM matches"))


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("articles", "matches", "backfills", "feeds", "article_sources")}


@pytest.fixture
def partial(tmp_path: Path, feeds: dict[str, str]) -> Path:
    """A config polled with half of the shipped watch list, then given all of it."""
    config = write_config(tmp_path / "partial", tmp_path / "partial.db", feeds)
    keep_items(config, FIRST_BLOCKS)
    assert invoke(config, "poll").exit_code == 0
    keep_items(config, BLOCKS)
    return config


def test_backfill_finds_exactly_what_a_fresh_poll_finds(partial: Path, tmp_path: Path,
                                                        feeds: dict[str, str]) -> None:
    fresh = write_config(tmp_path / "fresh", tmp_path / "fresh.db", feeds)
    assert invoke(fresh, "poll").exit_code == 0
    before = matches(tmp_path / "partial.db")
    expected = matches(tmp_path / "fresh.db")
    assert {m[1] for m in before} < {m[1] for m in expected}   # the poll missed the added items
    assert any(m[3] == "content" for m in expected - before)   # and the body is re-read too

    result = invoke(partial, "watch", "backfill")

    assert result.exit_code == 0, result.output
    assert matches(tmp_path / "partial.db") == expected
    added = len(expected - before)
    assert result.stdout.splitlines()[-1].startswith(f"13 items: added {added} matches, ")
    with sqlite3.connect(tmp_path / "partial.db") as conn:
        marked = set(conn.execute(
            "SELECT m.article_id, m.item, m.term, m.field, m.snippet FROM matches AS m"
            " JOIN backfills AS b ON b.id = m.backfill_id AND b.item = m.item"))
        unmarked = conn.execute(
            "SELECT count(*) FROM matches WHERE backfill_id IS NULL").fetchone()[0]
    assert marked == expected - before and unmarked == len(before)


def test_a_second_backfill_adds_nothing(partial: Path, tmp_path: Path) -> None:
    assert invoke(partial, "watch", "backfill").exit_code == 0
    stored = matches(tmp_path / "partial.db"), counts(tmp_path / "partial.db")

    again = invoke(partial, "watch", "backfill")

    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == "13 items: added 0 matches, 0 new hits"
    assert (matches(tmp_path / "partial.db"), counts(tmp_path / "partial.db")) == stored


def _file_bytes(db: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in db.parent.glob(db.name + "*") if p.name != db.name + "-shm"}


def test_a_dry_run_changes_nothing_and_shows_what_would_be_gained(partial: Path,
                                                                  tmp_path: Path) -> None:
    db = tmp_path / "partial.db"
    stored, files = counts(db), _file_bytes(db)

    result = invoke(partial, "watch", "backfill", "--dry-run", "--item", "straw purchases",
                    "--format", "json")

    assert result.exit_code == 0, result.output
    assert (counts(db), _file_bytes(db)) == (stored, files)
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["since"] is None
    (item,) = report["items"]
    assert item["item"] == "Straw purchases" and item["gained"] >= 1
    assert sum(item["counts"]["feed"].values()) == item["gained"]
    assert sum(item["counts"]["week"].values()) == item["gained"]
    assert len(item["samples"]) == min(item["gained"], 3)
    evidence = item["samples"][0]["evidence"][0]
    assert set(evidence) == {"term", "field", "snippet"}
    assert evidence["term"].casefold() in evidence["snippet"].casefold()
    assert invoke(partial, "watch", "backfill", "--item", "Straw purchases").exit_code == 0
    assert counts(db)["matches"] == stored["matches"] + item["new_matches"]


def test_since_limits_the_articles_rematched(partial: Path, tmp_path: Path) -> None:
    recent = invoke(partial, "watch", "backfill", "--dry-run", "--format", "json")
    week = invoke(partial, "watch", "backfill", "--dry-run", "--since", "7d", "--format", "json")
    assert week.exit_code == 0, week.output
    total = sum(i["gained"] for i in json.loads(recent.stdout)["items"])
    in_week = sum(i["gained"] for i in json.loads(week.stdout)["items"])
    assert 0 < in_week < total


def test_stored_hits_no_longer_matched_are_reported_and_kept(partial: Path,
                                                             tmp_path: Path) -> None:
    assert invoke(partial, "watch", "backfill").exit_code == 0
    stored = matches(tmp_path / "partial.db")
    path = partial / "watchlist.toml"
    # NIBIN's terms replaced by one no article has: none of its stored hits matches now.
    path.write_text(re.sub(r'terms = \["NIBIN",.*?guarded = \["IBIS"\]', 'terms = ["Zzyzx"]',
                           path.read_text(encoding="utf-8"), flags=re.S), encoding="utf-8")

    result = invoke(partial, "watch", "backfill", "--item", "NIBIN")

    assert result.exit_code == 0, result.output
    lost = sum(1 for m in {(m[0], m[1]) for m in stored} if m[1] == "NIBIN")
    assert lost > 0
    assert result.stdout.splitlines()[0] == (
        f"NIBIN: 0 articles became hits (0 new matches, {lost} looked at); "
        f"{lost} stored hit{'s' if lost > 1 else ''} no longer matched (kept)")
    assert matches(tmp_path / "partial.db") == stored


# -- watch test --stored ----------------------------------------------------------------------

def test_a_term_is_tried_on_the_stored_articles(partial: Path) -> None:
    result = invoke(partial, "watch", "test", "--stored", "gun shows")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith('"gun shows" would match ')
    found = int(lines[0].split()[4])
    assert found >= 1
    assert any(line.startswith("  also hits of: ") for line in lines)
    assert sum('"gun shows" in ' in line for line in lines) >= min(found, 3)
    nothing = invoke(partial, "watch", "test", "--stored", "zzyzx quux")
    assert nothing.stdout.splitlines()[0].startswith('"zzyzx quux" would match 0 stored articles')


def test_an_item_is_tried_on_the_stored_articles(partial: Path) -> None:
    result = invoke(partial, "watch", "test", "--stored", "--item", "ghost guns",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)["items"]
    assert item["item"] == "Ghost guns" and item["gained"] >= 1


# -- bad input: exact message, exit 2, nothing stored changes ---------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (("watch", "backfill", "--item", "Firewall"),
     "Error: Invalid value for '--item': no watch item is named \"Firewall\"; did you mean "
     '"Mission Firewall"?'),
    (("watch", "backfill", "--since", "soon"),
     "Error: Invalid value for '--since': \"soon\" is neither a duration (12h, 7d, 2w) nor a "
     "date (2026-11-01)"),
    (("watch", "backfill", "--since", "2999-01-01"),
     "Error: Invalid value for '--since': \"2999-01-01\" is in the future"),
    (("watch", "test", "--stored"),
     "Error: with --stored, give a term to test, or --item NAME (not both, and not --file)"),
    (("watch", "test", "--stored", "x", "--item", "NIBIN"),
     "Error: with --stored, give a term to test, or --item NAME (not both, and not --file)"),
    (("watch", "test", "--item", "NIBIN"), "Error: --item and --since go with --stored"),
    (("watch", "test", "--stored", "--item", "Nibbin"),
     "Error: Invalid value for '--item': no watch item is named \"Nibbin\"; did you mean "
     '"NIBIN"?'),
])
def test_bad_input_is_refused_and_nothing_changes(partial: Path, tmp_path: Path,
                                                  args: tuple[str, ...], message: str) -> None:
    stored = counts(tmp_path / "partial.db"), matches(tmp_path / "partial.db")
    result = invoke(partial, *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == message
    assert (counts(tmp_path / "partial.db"), matches(tmp_path / "partial.db")) == stored


def test_a_broken_watch_list_stops_a_backfill(partial: Path, tmp_path: Path) -> None:
    stored = counts(tmp_path / "partial.db"), matches(tmp_path / "partial.db")
    path = partial / "watchlist.toml"
    path.write_text(re.sub(r'^kind = "program"$', 'kind = "programme"',
                           path.read_text(encoding="utf-8"), count=1, flags=re.M),
                    encoding="utf-8")
    result = invoke(partial, "watch", "backfill")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'watchlist.toml: watch[1].kind: must be "program" or "topic", not "programme"']
    assert (counts(tmp_path / "partial.db"), matches(tmp_path / "partial.db")) == stored
