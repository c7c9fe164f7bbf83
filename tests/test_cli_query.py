"""The read-only commands as a new user meets them: a real poll from the loopback feed server into
a real SQLite file, then `hits`, `feeds` and `status` with a broken config, mistyped filters and
terminals of 80 and 200 columns."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer
from mailserver import free_port

from monitor.cli.commands import cli
from storage.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
EVERY_ITEM = Entry(
    title="Mission Firewall and the Security Implementation Group widen eTrace checks on gun "
          "trafficking along the whole southwest border",
    link="https://news.example.org/firewall", summary="ATF agents ran the trace requests.",
    published=NOW - timedelta(days=1))
GUNS = Entry(title="Guns seized at Nogales in a straw purchase case",
             link="https://news.example.org/straw", published=NOW - timedelta(days=10))
DECOY = Entry(title="New firewall appliance blocks ransomware", link="https://tech.example.com/fw",
              summary="The antivirus vendor said.", published=NOW - timedelta(days=2))
MERIDA = Entry(title="La Iniciativa Mérida deja lecciones sobre el tráfico de armas",
               link="https://noticias.example.mx/merida", published=NOW - timedelta(days=3))
ITEMS_OF_EVERY_ITEM = ("Mission Firewall", "Security Implementation Group", "eTrace",
                       "Arms trafficking")


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A config whose two feeds (English, Spanish) have been polled once into a real database."""
    english = feed_server.route("/en.xml", rss([EVERY_ITEM, GUNS, DECOY]))
    spanish = feed_server.route("/es.xml", rss([MERIDA], language="es"))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Border Wire": english, "Frontera Hoy": spanish})
    assert invoke(folder, "poll").exit_code == 0
    return folder


def invoke(config: Path, *args: str, columns: int = 200) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args],
                              env={"COLUMNS": str(columns)})


def titles(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [hit["title"] for hit in json.loads(result.stdout)]


def break_watchlist(config: Path) -> None:
    """The first item's kind misspelt, as a person editing the file might."""
    path = config / "watchlist.toml"
    text = re.sub(r'^kind = "program"$', 'kind = "programme"', path.read_text(encoding="utf-8"),
                  count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


WATCHLIST_PROBLEM = ('watchlist.toml: watch[1].kind: must be "program" or "topic", '
                     'not "programme"')


# -- read-only commands need only the database -------------------------------------------------

def test_a_broken_watch_list_does_not_stop_read_only_commands(config: Path) -> None:
    before = titles(invoke(config, "hits", "--format", "json"))
    break_watchlist(config)
    assert invoke(config, "check").exit_code == 2    # what `run` refuses to apply

    for args in (["hits", "--format", "json"], ["hits"], ["feeds"], ["status"]):
        result = invoke(config, *args)
        assert result.exit_code == 0, (args, result.output)
        warning = result.stderr.splitlines()
        assert len(warning) == 1 and warning[0].startswith("warning: "), (args, warning)
        assert warning[0].endswith(WATCHLIST_PROBLEM), warning
    assert titles(invoke(config, "hits", "--format", "json")) == before   # nothing lost
    assert "Border Wire" in invoke(config, "feeds").stdout


def test_status_reports_the_unapplied_edit_but_exits_on_polling_health(config: Path) -> None:
    break_watchlist(config)
    text = invoke(config, "status")
    assert text.exit_code == 0
    assert text.stdout.startswith("healthy: last successful poll")
    assert "config: 1 problem(s), not applied" in text.stdout
    assert f"  {WATCHLIST_PROBLEM}" in text.stdout
    record = json.loads(invoke(config, "status", "--format", "json").stdout)
    assert record["healthy"] is True and record["config_problems"] == [WATCHLIST_PROBLEM]

    with sqlite3.connect(config.parent / "armswatch.db") as db:
        db.execute("update feeds set last_success = ?",
                   ((datetime.now(UTC) - timedelta(days=1)).isoformat(),))
    stalled = invoke(config, "status", "--format", "json")
    assert stalled.exit_code == 1      # polling health, not the config, decides
    assert json.loads(stalled.stdout)["config_problems"] == [WATCHLIST_PROBLEM]


def test_a_broken_storage_section_needs_the_database_path_given(config: Path) -> None:
    settings = config / "armswatch.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("[storage]", "[stroage]"),
                        encoding="utf-8")
    unknown = invoke(config, "hits")
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[-1] == ("(the database path is not known: fix the config, "
                                               "or give it with --db or ARMSWATCH_DB)")
    assert "Traceback" not in unknown.output
    given = CliRunner().invoke(cli, ["--config", str(config), "--db",
                                     str(config.parent / "armswatch.db"), "hits", "--format",
                                     "json", "--item", "merida initiative"])
    assert given.exit_code == 0, given.output
    assert [h["title"] for h in json.loads(given.stdout)] == [MERIDA.title]
    assert len(given.stderr.splitlines()) == 1
    assert "stroage: unknown key" in given.stderr


def test_serve_browses_the_hits_despite_a_broken_watch_list(config: Path) -> None:
    break_watchlist(config)
    port = free_port()
    exe = Path(sys.executable).with_name("armswatch")
    served = subprocess.Popen([str(exe), "--config", str(config), "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert served.poll() is None, served.communicate()
            assert time.monotonic() < deadline, "serve did not answer in time"
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/armswatch/hits.json?_shape=array",
                                   timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert MERIDA.title in {row["title"] for row in answer.json()}
        served.send_signal(signal.SIGTERM)
        _, stderr = served.communicate(timeout=20)
    finally:
        if served.poll() is None:
            served.kill()
            served.communicate()
    assert served.returncode == 0
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].endswith(WATCHLIST_PROBLEM)


# -- tracebacks become messages ----------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--since", "99999999d"], '"99999999d" is too long (at most 36500d, 100 years)'),
    (["--since", "7 days"], '"7 days" is not a duration (use 30s, 15m, 2h, 1d, 1w)'),
    (["--since", "lately"], '"lately" is neither a duration (12h, 7d, 2w) nor a date'),
    (["--since", "2999-01-01"], '"2999-01-01" is in the future'),
    (["--since", "9999-12-31T23:00:00-05:00"], '"9999-12-31T23:00:00-05:00" is out of range'),
    (["--limit", "99999999999999999999"], "99999999999999999999 is not in the range "
                                          "1<=x<=100000"),
    (["--limit", "0"], "0 is not in the range 1<=x<=100000"),
    (["--search", '"Mission Firewall'], 'a quotation mark (") is not closed'),
    (["--search", "armas OR"], "OR at the end needs a word after it"),
    (["--search", "-firewall"], "a search needs a word to find, not only words to leave out"),
])
def test_a_bad_option_is_one_clear_usage_error(config: Path, args: list[str],
                                               message: str) -> None:
    result = invoke(config, "hits", *args)
    assert result.exit_code == 2
    assert message in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.output
    assert len(titles(invoke(config, "hits", "--format", "json"))) == 3   # nothing lost


def test_an_unparseable_feed_url_is_a_config_error(config: Path) -> None:
    with (config / "armswatch.toml").open("a", encoding="utf-8") as settings:
        settings.write('\n[[feeds]]\nname = "Broken"\nurl = "http://[::1/feed"\n')
    for command in ("check", "poll"):
        result = invoke(config, command)
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            'armswatch.toml: feeds[3].url: "http://[::1/feed" is not a valid URL: the [ ] around '
            "an IPv6 address do not enclose a valid address"]
    assert len(titles(invoke(config, "hits", "--format", "json"))) == 3


# -- filters that cannot silently miss ---------------------------------------------------------

def test_item_names_ignore_case_and_accents(config: Path) -> None:
    for name in ("Mérida Initiative", "merida initiative", "MERIDA INITIATIVE"):
        assert titles(invoke(config, "hits", "--item", name, "--format", "json")) == [
            MERIDA.title]


def test_an_unknown_item_is_refused_with_a_suggestion(config: Path) -> None:
    result = invoke(config, "hits", "--item", "Firewall")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--item': no watch item is named \"Firewall\"; did you mean "
        '"Mission Firewall"?')
    nothing_like = invoke(config, "hits", "--item", "Zzyzx")
    assert nothing_like.exit_code == 2
    assert "the items are: Arms trafficking, Bicentennial Framework" in nothing_like.stderr


def test_items_without_a_watch_list_come_from_the_database(config: Path) -> None:
    break_watchlist(config)
    found = invoke(config, "hits", "--item", "Mérida Initiative", "--format", "json")
    assert titles(found) == [MERIDA.title]
    unknown = invoke(config, "hits", "--item", "Merida")
    assert unknown.exit_code == 2
    assert 'did you mean "Merida Initiative"?' in unknown.stderr


def test_languages_by_code_or_name(config: Path) -> None:
    spanish = [MERIDA.title]
    for name in ("es", "ES", "Spanish", "español", "espanol", "castellano"):
        assert titles(invoke(config, "hits", "--language", name, "--format", "json")) == spanish
    assert len(titles(invoke(config, "hits", "--language", "inglés", "--format", "json"))) == 2
    result = invoke(config, "hits", "--language", "spanihs")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--language': \"spanihs\" is not the language of any stored "
        'hit; did you mean "Spanish (es)"? Use a code (en, es) or a name (English, inglés, '
        "Spanish, español, castellano)")


def test_search_supports_or_phrases_and_exclusion(config: Path) -> None:
    def search(text: str) -> list[str]:
        return titles(invoke(config, "hits", "--search", text, "--format", "json"))

    assert search("armas OR guns") == [MERIDA.title, GUNS.title]
    assert search('"straw purchase" OR "tráfico de armas"') == [MERIDA.title, GUNS.title]
    assert search("armas OR guns -nogales") == [MERIDA.title]
    assert search("e-Trace") == [EVERY_ITEM.title]
    assert search("iniciativa merida") == [MERIDA.title]


def test_since_takes_weeks(config: Path) -> None:
    assert titles(invoke(config, "hits", "--since", "1w", "--format", "json")) == [
        EVERY_ITEM.title, MERIDA.title]
    assert len(titles(invoke(config, "hits", "--since", "2w", "--format", "json"))) == 3


def test_an_empty_answer_says_why(config: Path, tmp_path: Path) -> None:
    filtered = invoke(config, "hits", "--item", "NIBIN")
    assert filtered.exit_code == 0
    assert filtered.stdout == "No hits match these filters (hits stored in all: 3).\n"
    assert invoke(config, "hits", "--item", "NIBIN", "--format", "json").stdout == "[]\n"

    empty = tmp_path / "empty.db"
    Store.open(empty).close()
    nothing = CliRunner().invoke(cli, ["--db", str(empty), "hits"])
    assert nothing.exit_code == 0
    assert nothing.stdout == "Nothing has been polled yet: run `armswatch poll`.\n"


def test_articles_without_hits_are_not_an_empty_database(tmp_path: Path,
                                                         feed_server: FeedServer) -> None:
    url = feed_server.route("/decoy.xml", rss([DECOY]))
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db", {"Tech": url})
    invoke(folder, "poll")
    result = invoke(folder, "hits")
    assert result.exit_code == 0
    assert result.stdout == ("No hits yet: none of the stored articles (1) matches the watch "
                             "list.\n")


# -- output that fits the terminal -------------------------------------------------------------

@pytest.mark.parametrize("columns", [80, 200])
def test_tables_fit_the_terminal_and_show_every_item(config: Path, columns: int) -> None:
    table = invoke(config, "hits", columns=columns)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    for item in (*ITEMS_OF_EVERY_ITEM, "Merida Initiative", "Straw purchases"):
        assert any(item in line for line in lines), item
    assert '"e-Trace" (summary)' not in table.stdout    # the term as configured ...
    assert '"eTrace" (title)' in table.stdout           # ... with the field it was found in
    for command in ("feeds", "status"):
        result = invoke(config, command, columns=columns)
        assert max(len(line) for line in result.stdout.splitlines()) <= columns, command
    feeds = invoke(config, "feeds", columns=columns).stdout
    assert "Border Wire" in feeds and "Frontera Hoy" in feeds


def test_json_and_csv_stay_complete_on_a_narrow_terminal(config: Path) -> None:
    wide = invoke(config, "hits", "--format", "json", columns=200).stdout
    assert invoke(config, "hits", "--format", "json", columns=80).stdout == wide
    record = next(h for h in json.loads(wide) if h["title"] == EVERY_ITEM.title)
    assert set(record["programs"]) | set(record["topics"]) == set(ITEMS_OF_EVERY_ITEM)
    csv = invoke(config, "hits", "--format", "csv", columns=80).stdout.splitlines()
    assert EVERY_ITEM.title in csv[1]


def test_the_poll_progress_bar_never_fills_an_80_column_terminal(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = {f"Feed number {n} with a name far too long to show whole": feed_server.route(
        f"/f{n}.xml", rss([GUNS])) for n in range(3)}
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db", feeds)
    terminal, program_side = pty.openpty()   # click draws the bar only on a terminal
    exe = Path(sys.executable).with_name("armswatch")
    try:
        subprocess.run([str(exe), "--config", str(folder), "poll"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=program_side, timeout=60, check=True,
                       env={**os.environ, "COLUMNS": "80"})
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
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode("utf-8"))
    # Only the bar's frames: under load a parser worker may print to the same terminal.
    frames = [frame for frame in re.split(r"[\r\n]", plain) if frame.startswith("Polling")]
    assert any("3/3" in frame for frame in frames), plain
    assert max(len(frame) for frame in frames) < 80, frames


def test_check_names_the_config_folder_once(config: Path) -> None:
    result = invoke(config, "check")
    assert result.exit_code == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("config")] == [
        f"config: {config.resolve()} (from --config)", "config OK"]
