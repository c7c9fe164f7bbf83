"""What a hostile feed's text can do to the reader's terminal and spreadsheet (issue 10, item 6).

A title polled from the loopback server carries escape sequences (window title, colours, screen
clear, an OSC 8 hyperlink), a bell, a bidi override and 8-bit controls; every human-readable
output shows it as plain text. A title starting with ``=`` is a formula in a spreadsheet:
`hits --format csv` neutralises it, the JSON outputs keep the text as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from alerts.wording import clean, printable
from monitor.cli.commands import cli
from monitor.cli.output import spreadsheet_safe

HOSTILE_TITLE = ("Mission Firewall \x1b]0;owned\x07seizes \x1b[31;1mrifles\x1b[0m\x1b[2J "
                 "\x1b]8;;https://evil.example/\x1b\\in Sonora\x1b]8;;\x1b\\ "
                 "\u202eredro\u202c\x07 \x1bP+q544e\x1b\\crossing")
CLEAN_TITLE = "Mission Firewall seizes rifles in Sonora redro crossing"
FORMULA_TITLE = '=HYPERLINK("https://evil.example/","Mission Firewall: click")'
# A config a person could write from a hostile OPML list: the feed's own title as its name.
HOSTILE_NAME = "Border\x1b]0;owned\x07 Wire\x1b[8m"
CONTROL_CHARACTERS = ["\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\u202c", "\x08", "\r"]


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer) -> Path:
    feed = feed_server.route("/rss.xml", rss([
        Entry(title=HOSTILE_TITLE, link="https://news.example.org/1"),
        Entry(title=FORMULA_TITLE, link="https://news.example.org/2")]))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Hostile": feed, HOSTILE_NAME: feed_server.url("/missing.xml")},
                          extra='\n[[channels]]\nname = "console"\ntype = "stdout"\n'
                                'schedule = "0 7 * * *"\n')
    return folder


def invoke(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), *args],
                                env={"COLUMNS": "250"})
    assert result.exit_code in (0, 1), result.output
    return result


def assert_printable(text: str) -> None:
    assert [c for c in CONTROL_CHARACTERS if c in text] == []


def test_every_human_output_shows_feed_text_as_plain_text(config: Path) -> None:
    polled = invoke(config, "poll")
    assert_printable(polled.output)
    assert "  failed: Border Wire: HTTP 404 Not Found" in polled.stdout.splitlines()

    hits = invoke(config, "hits").stdout
    assert_printable(hits)
    assert CLEAN_TITLE in hits
    feeds = invoke(config, "feeds").stdout
    assert_printable(feeds)
    assert "Border Wire" in feeds
    status = invoke(config, "status").stdout
    assert_printable(status)
    assert "  failing: Border Wire: HTTP 404 Not Found (since " in status
    preview = invoke(config, "digest", "--dry-run").stdout
    assert_printable(preview)
    assert "https://news.example.org/1" in preview   # the hit is there, its text printable
    explained = invoke(config, "watch", "test", HOSTILE_TITLE).stdout
    assert_printable(explained)
    assert f'  term "Mission Firewall" found: {CLEAN_TITLE}' in explained.splitlines()

    # Programs get the text as it was stored: JSON escapes what it must.
    (stored, *_) = [h for h in json.loads(invoke(config, "hits", "--format", "json").stdout)
                    if h["url"].endswith("/1")]
    assert stored["title"] == HOSTILE_TITLE


def test_csv_cells_never_run_as_formulas_and_json_keeps_the_text(config: Path) -> None:
    invoke(config, "poll")
    rows = invoke(config, "hits", "--format", "csv").stdout.splitlines()
    formula = next(row for row in rows if "HYPERLINK" in row)
    assert formula.endswith(',"\'=HYPERLINK(""https://evil.example/"",""Mission Firewall: '
                            'click"")",https://news.example.org/2')
    for fmt in ("json", "jsonl"):
        text = invoke(config, "hits", "--format", fmt).stdout
        assert f'"title": {json.dumps(FORMULA_TITLE)}' in text


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[1;31mred\x1b[0m", "red"),
    ("\x9b2Jcleared", "cleared"),                       # 8-bit CSI
    ("\x1b]52;c;ZXZpbA==\x07copied", "copied"),         # OSC 52 writes the clipboard
    ("\x9d0;title\x9cafter", "after"),                   # 8-bit OSC and ST
    ("open \x1b]0;never ends\nnext line", "open \nnext line"),   # unterminated: the line ends it
    ("tab\there\r\x08\x00\x7f", "tab here"),
    ("\u2066isolated\u2069 \u200fmark", "isolated mark"),
    ("Misión Cortafuegos — «armas»", "Misión Cortafuegos — «armas»"),
])
def test_printable_removes_sequences_and_controls_and_keeps_text(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("Mission Firewall", "Mission Firewall"),
    ("a=1", "a=1"), ("", ""),
])
def test_spreadsheet_safe_prefixes_what_a_spreadsheet_would_evaluate(cell: str,
                                                                     written: str) -> None:
    assert spreadsheet_safe(cell) == written


def test_digest_text_drops_escape_sequences_whole() -> None:
    """The digest's one-line cleaner uses the same rule: no "]0;owned" left of a title escape."""
    assert clean("\x1b]0;owned\x07Mission \x1b[31;1mFirewall\x1b[0m\tseizes rifles", 40) == (
        "Mission Firewall seizes rifles")
