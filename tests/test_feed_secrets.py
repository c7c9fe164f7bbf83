"""A feed URL built from ``${FEED_TOKEN}`` (issue 10, item 6): the token is used to fetch, and is
never stored or shown — not in the database file, `feeds --format json`, the poll report, an
error message or a config problem. Real polls from the loopback feed server into a real SQLite
file, through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from builders import Entry, rss, write_config
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli

SECRET = "tok-9Zq/Sx+42=="   # with characters that URLs percent-encode


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args],
                              env={"COLUMNS": "200", "FEED_TOKEN": SECRET})


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    forms = {SECRET, quote(SECRET, safe=""), SECRET.replace("+", "%2B"), "tok-9Zq"}
    return [form for form in forms if form.encode() in data]


def test_a_secret_in_a_feed_url_is_fetched_with_and_never_stored_or_shown(
        feed_server: FeedServer, tmp_path: Path) -> None:
    private = feed_server.route("/private.xml", rss([
        Entry(title="Mission Firewall briefing for members", link="#briefing", guid="p-1"),
        Entry(title="eTrace figures for members",
              link=f"https://members.example.org/etrace?token={SECRET}", guid="p-2")]))
    looping = feed_server.url("/loop.xml")
    feed_server.redirect("/loop.xml", f"{looping}?key={SECRET}")   # back to itself: an error
    db = tmp_path / "armswatch.db"
    folder = write_config(tmp_path / "config", db, {
        "Members": private + "?token=${FEED_TOKEN}", "Loop": looping + "?key=${FEED_TOKEN}"})

    polled = invoke(folder, "poll")
    assert polled.exit_code == 0, polled.output
    assert feed_server.requests_to(f"/private.xml?token={SECRET}")   # fetched with the token
    assert polled.output.splitlines()[1:] == [
        f"  failed: Loop: redirect loop: {looping}?key=${{FEED_TOKEN}} redirects back to itself"]
    feeds = json.loads(invoke(folder, "feeds", "--format", "json").output)
    assert [(f["name"], f["url"]) for f in feeds] == [
        ("Loop", looping + "?key=${FEED_TOKEN}"), ("Members", private + "?token=${FEED_TOKEN}")]
    hits = json.loads(invoke(folder, "hits", "--format", "json").output)
    assert sorted(h["url"] for h in hits) == [
        private + "?token=${FEED_TOKEN}#briefing",
        "https://members.example.org/etrace?token=${FEED_TOKEN}"]

    table = invoke(folder, "feeds").output + invoke(folder, "hits").output
    database = b"".join(path.read_bytes() for path in tmp_path.glob("armswatch.db*"))
    assert leaks(polled.output) == leaks(json.dumps(feeds)) == leaks(json.dumps(hits)) == []
    assert leaks(table) == leaks(database) == []


def test_a_config_problem_names_the_url_as_written(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Members": "ftp://members.example.org/rss?token=${FEED_TOKEN}"})
    checked = invoke(folder, "check")
    assert checked.exit_code == 2
    assert checked.output.splitlines()[0] == (
        'armswatch.toml: feeds[1].url: must be an http:// or https:// URL, not '
        '"ftp://members.example.org/rss?token=${FEED_TOKEN}"')
    assert leaks(checked.output) == []
