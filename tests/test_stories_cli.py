"""`armswatch stories` and the story fields of `hits`, after a real poll from the loopback feed
server into a real SQLite file: an event reported by a wire, its reprint and a Spanish outlet is
one story; a different event about the same program is another."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli

NOW = datetime.now(UTC).replace(microsecond=0)
LEAD = ("Troops at the Mariposa crossing in Nogales, Sonora found 86 rifles and 14,500 rounds in "
        "a trailer, the first large seizure credited to Mission Firewall inspections.")
WIRE = Entry(title="Soldiers seize 86 rifles at Nogales crossing", link="https://wire.example/1",
             summary=LEAD, published=NOW - timedelta(hours=30))
REPRINT = Entry(title="Big gun haul at the border", link="https://reprint.example/1",
                summary=LEAD, published=NOW - timedelta(hours=29))
POLICY = Entry(title="State Department puts $12 million more into Mission Firewall",
               link="https://wire.example/2", published=NOW - timedelta(hours=5),
               summary="WASHINGTON - The State Department will add $12 million to Mission "
                       "Firewall for scanners, Deputy Secretary Landau said.")
SPANISH = Entry(title="Aseguran 86 rifles en la garita Mariposa de Nogales",
                link="https://prensa.example/1", published=NOW - timedelta(hours=26),
                summary="Elementos del Ejército aseguraron 86 rifles y 14 mil 500 cartuchos en "
                        "la garita Mariposa de Nogales, Sonora, como parte de la Misión "
                        "Cortafuegos.")


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer) -> Path:
    english = feed_server.route("/en.xml", rss([WIRE, REPRINT, POLICY]))
    spanish = feed_server.route("/es.xml", rss([SPANISH], language="es"))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Border Wire": english, "Frontera Hoy": spanish})
    assert invoke(folder, "poll").exit_code == 0
    return folder


def invoke(config: Path, *args: str, columns: int = 200) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args],
                              env={"COLUMNS": str(columns)})


def stories_json(config: Path, *args: str) -> list[dict[str, object]]:
    result = invoke(config, "stories", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_stories_json_groups_one_event_across_outlets_and_languages(config: Path) -> None:
    """The story's headline is its earliest report's, whichever feed was stored first."""
    policy, seizure = stories_json(config)   # the latest report first
    assert [a["url"] for a in seizure["articles"]] == [   # type: ignore[index]
        WIRE.link, REPRINT.link, SPANISH.link]
    assert seizure["title"] == WIRE.title and seizure["languages"] == ["en", "es"]
    assert seizure["programs"] == ["Mission Firewall"]
    assert seizure["first_published"] == WIRE.published.isoformat()
    assert seizure["last_published"] == SPANISH.published.isoformat()
    # The feeds are polled concurrently: whichever report was stored first started the story,
    # and the other joined it on the evidence; the reprint joined the wire's text.
    wire, reprint, spanish = seizure["articles"]   # type: ignore[misc]
    assert {wire["joined_by"], spanish["joined_by"]} == {"first", "evidence"}
    assert (reprint["joined_by"], reprint["like"]) == ("text", wire["id"])
    assert 0.4 <= reprint["score"] < 1
    first = seizure["articles"][0]   # type: ignore[index]
    assert set(first) >= {"url", "title", "feed", "language", "published"}
    assert [a["url"] for a in policy["articles"]] == [POLICY.link]   # type: ignore[index]
    assert set(seizure) >= {"id", "title", "first_published", "last_published", "languages",
                            "programs", "topics", "articles"}


def test_hits_json_names_each_hits_story_and_hits_stories_shows_one_line_each(
        config: Path) -> None:
    ids = {s["id"] for s in stories_json(config)}
    hits = json.loads(invoke(config, "hits", "--format", "json").stdout)
    assert len(hits) == 4 and {h["story"] for h in hits} == ids
    table = invoke(config, "hits", "--stories")
    assert table.exit_code == 0
    assert all(table.stdout.count(i) == 1 for i in ids)
    assert "3: EN 2 · ES 1" in table.stdout
    assert len(json.loads(invoke(config, "hits", "--stories", "--format", "json").stdout)) == 2


def test_filters_and_formats(config: Path) -> None:
    assert len(stories_json(config, "--since", "10h")) == 1
    assert len(stories_json(config, "--item", "mission firewall")) == 2
    assert stories_json(config, "--item", "eTrace") == []
    assert len(stories_json(config, "--limit", "1")) == 1
    csv = invoke(config, "stories", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("id,first_published,last_published,reports") and len(csv) == 3
    lines = invoke(config, "stories", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [s["id"] for s in stories_json(config)]


def test_rebuild_regroups_alike_and_is_deterministic(config: Path) -> None:
    def grouping() -> set[frozenset[str]]:
        return {frozenset(a["url"] for a in s["articles"])   # type: ignore[attr-defined]
                for s in stories_json(config)}
    before = grouping()
    result = invoke(config, "stories", "--rebuild", "--format", "json")
    assert result.exit_code == 0 and "Regrouped 4 hits into 2 stories." in result.stderr
    once = stories_json(config)
    assert grouping() == before
    invoke(config, "stories", "--rebuild")
    assert stories_json(config) == once


def test_bad_input_is_refused_and_nothing_stored_is_lost(config: Path, tmp_path: Path) -> None:
    before = stories_json(config)
    unknown = invoke(config, "stories", "--item", "Firewal")
    assert unknown.exit_code == 2 and 'did you mean "Mission Firewall"?' in unknown.output
    since = invoke(config, "stories", "--since", "yesterday-ish")
    assert since.exit_code == 2 and "--since" in since.output
    # --rebuild writes, so it needs the whole config: a broken one stops it before any change.
    toml = config / "armswatch.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[stories]\nwindow = "5m"\n',
                    encoding="utf-8")
    broken = invoke(config, "stories", "--rebuild")
    assert broken.exit_code == 2
    assert 'stories.window: must be from 1h to 30d, not "5m"' in broken.output
    assert stories_json(config) == before   # and reading still works, with a warning
    nothing = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "stories"])
    assert nothing.exit_code == 1 and "no database at" in nothing.output


def test_rebuild_shows_its_progress_on_a_terminal_only(config: Path) -> None:
    terminal, program_side = pty.openpty()   # click draws the bar only on a terminal
    exe = Path(sys.executable).with_name("armswatch")
    try:
        done = subprocess.run([str(exe), "--config", str(config), "stories", "--rebuild"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=program_side, timeout=60, check=True)
    finally:
        os.close(program_side)
    drawn = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:   # EIO: the program's side is closed and everything was read
            break
        if not chunk:
            break
        drawn += chunk
    os.close(terminal)
    assert "Regrouping" in drawn.decode("utf-8") and "4/4" in drawn.decode("utf-8")
    assert b"Regrouping" not in done.stdout
    piped = invoke(config, "stories", "--rebuild")
    assert "Regrouping" not in piped.output and "Regrouped 4 hits" in piped.stderr


def test_watch_backfill_gives_its_new_hits_stories(tmp_path: Path,
                                                   feed_server: FeedServer) -> None:
    bridge = Entry(title="Mariposa crossing reopens to trucks after repairs",
                   link="https://wire.example/3", published=NOW - timedelta(hours=2))
    feed = feed_server.route("/bridge.xml", rss([WIRE, bridge]))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db", {"Border Wire": feed})
    assert invoke(folder, "poll").exit_code == 0
    watchlist = folder / "watchlist.toml"
    watchlist.write_text(watchlist.read_text(encoding="utf-8") + '\n[[watch]]\nname = '
                         '"Mariposa port"\nkind = "topic"\nterms = ["Mariposa crossing"]\n',
                         encoding="utf-8")
    assert invoke(folder, "watch", "backfill", "--item", "Mariposa port").exit_code == 0
    hits = json.loads(invoke(folder, "hits", "--format", "json").stdout)
    assert {h["url"]: h["story"] is not None for h in hits} == {WIRE.link: True,
                                                                 bridge.link: True}
    assert len({h["story"] for h in hits}) == 2   # a bridge reopening is another event
