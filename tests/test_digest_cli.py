"""`armswatch digest` and immediate alerts end to end: config file, poll, real SMTP, real files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import builders
import pytest
from builders import Entry, rss
from click.testing import CliRunner, Result
from feedserver import FeedServer
from mailserver import MailServer, free_port

from monitor.cli.commands import cli

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = [
    Entry(title="Mission Firewall seizes 120 rifles bound for Sinaloa",
          link="https://news.example.org/firewall?utm_source=rss&id=4&utm_medium=feed",
          summary="Inspectors used eTrace."),
    Entry(title="Straw purchasers charged in Arizona gun trafficking ring",
          link="https://news.example.org/straw",
          summary="Prosecutors say the rifles were smuggled into Mexico."),
]


def write_config(folder: Path, feed_url: str, smtp_port: int, *, immediate: bool = False) -> Path:
    return builders.write_config(
        folder, folder.parent / "armswatch.db", {"Loopback News": feed_url}, extra=f"""
[[channels]]
name = "team-email"
type = "email"
schedule = "0 7 * * *"
timezone = "America/Mexico_City"
from = "armswatch@example.org"
to = ["analysts@example.org"]
smtp = {{ host = "127.0.0.1", port = {smtp_port}, security = "none", timeout = "5s" }}

[[channels]]
name = "archive"
type = "file"
path = "{folder.parent / 'digests'}"
schedule = "0 * * * *"
immediate = {str(immediate).lower()}
""")


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


@pytest.fixture
def feed_url(feed_server: FeedServer) -> str:
    return feed_server.route("/news.xml", rss(ENTRIES))


def test_digest_sends_each_hit_once_to_each_channel(tmp_path: Path, feed_url: str) -> None:
    with MailServer() as mail:
        config = write_config(tmp_path / "config", feed_url, mail.port)
        assert invoke(config, "poll").exit_code == 0
        first = invoke(config, "digest")
        assert first.exit_code == 0, first.output
        assert "team-email: sent digest" in first.output and "(2 hits)" in first.output
        message = mail.wait_for(1)[0].message
        assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
        # The HTML part, with the trend chart beside it (tests/test_trend_digests.py).
        assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain",
                                                                       "multipart/related"}
        text = message.get_body(("plain",)).get_content()   # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()    # type: ignore[union-attr]
        assert "Mission Firewall seizes 120 rifles" in text
        # The link is the canonical URL the poll stored; the subject says what is inside.
        assert "  https://news.example.org/firewall?id=4" in text.splitlines()
        assert 'href="https://news.example.org/firewall?id=4"' in html
        assert "utm_" not in text + html
        assert message["Subject"].startswith(
            "[Armswatch] 2 new hits: Mission Firewall 1, Arms trafficking 1 (")
        assert ("  matched “Mission Firewall” in the title: “*Mission Firewall* seizes 120 rifles "
                "bound for Sinaloa”") in text.splitlines()
        assert sorted(p.suffix for p in (tmp_path / "digests").iterdir()) == [".html", ".md",
                                                                                ".png"]

        again = invoke(config, "digest")
        assert again.exit_code == 0
        assert "team-email: nothing sent" in again.output
        assert len(mail.received) == 1


def test_dry_run_shows_and_marks_nothing(tmp_path: Path, feed_url: str) -> None:
    with MailServer() as mail:
        config = write_config(tmp_path / "config", feed_url, mail.port)
        invoke(config, "poll")
        preview = tmp_path / "preview.html"
        dry = invoke(config, "digest", "--channel", "team-email", "--dry-run",
                     "--preview", str(preview))
        assert dry.exit_code == 0, dry.output
        assert "Mission Firewall seizes 120 rifles" in dry.output
        assert "<html" in preview.read_text(encoding="utf-8").lower()
        assert mail.received == []
        with sqlite3.connect(tmp_path / "armswatch.db") as db:
            assert db.execute("select count(*) from deliveries").fetchone() == (0,)


def test_smtp_down_keeps_the_digest_pending_until_the_next_run(tmp_path: Path,
                                                               feed_url: str) -> None:
    port = free_port()
    config = write_config(tmp_path / "config", feed_url, port)
    invoke(config, "poll")
    down = invoke(config, "digest", "--channel", "team-email")
    assert down.exit_code == 1
    assert "not sent" in down.output and "stays pending" in down.output
    with sqlite3.connect(tmp_path / "armswatch.db") as db:
        assert db.execute("select status from digests").fetchall() == [("pending",)]
        assert db.execute("select count(*) from articles").fetchone() == (2,)
    with MailServer(port=port) as mail:
        up = invoke(config, "digest", "--channel", "team-email")
        assert up.exit_code == 0, up.output
        assert len(mail.wait_for(1)) == 1


def test_a_refusing_smtp_server_does_not_stop_the_file_channel_after_it(
        tmp_path: Path, feed_url: str) -> None:
    with MailServer(refuse={"analysts@example.org"}) as mail:
        config = write_config(tmp_path / "config", feed_url, mail.port)
        invoke(config, "poll")
        result = invoke(config, "digest")
    assert result.exit_code == 1
    refused, sent = result.output.splitlines()
    assert refused.startswith(f"team-email: digest 1 (2 hits) not sent: SMTP server "
                              f"127.0.0.1:{mail.port} refused every recipient: "
                              "analysts@example.org (550")
    assert sent == "archive: sent digest 2 (2 hits)"
    assert sorted(p.suffix for p in (tmp_path / "digests").iterdir()) == [".html", ".md", ".png"]


def test_bad_channel_settings_stop_digest_before_anything_is_recorded(tmp_path: Path,
                                                                      feed_url: str) -> None:
    config = write_config(tmp_path / "config", feed_url, free_port())
    assert invoke(config, "poll").exit_code == 0
    settings = config / "armswatch.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('to = ["analysts@example.org"]',
                                     'to = ["analysts"]\ncolour = "blue"').replace(
        'security = "none"', 'security = "ssl"'), encoding="utf-8")
    result = invoke(config, "digest")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "armswatch.toml: channels[1].colour: unknown key; allowed keys: name, type, schedule, "
        "timezone, items, kinds, immediate, send_empty, backlog, optional, max_entries, burst, "
        "alerts_per_hour, from, to, subject_prefix, smtp",
        'armswatch.toml: channels[1].to[1]: "analysts" is not an email address',
        'armswatch.toml: channels[1].smtp.security: must be one of "starttls", "tls", "none", '
        'not "ssl"',
    ]
    with sqlite3.connect(tmp_path / "armswatch.db") as db:
        assert db.execute("select count(*) from digests").fetchone() == (0,)
        assert db.execute("select count(*) from matches").fetchone() != (0,)


def test_an_unwritable_preview_is_reported_and_nothing_claims_it_was_written(
        tmp_path: Path, feed_url: str) -> None:
    config = write_config(tmp_path / "config", feed_url, free_port())
    invoke(config, "poll")
    (tmp_path / "blocker").write_text("a file where a folder should be", encoding="utf-8")
    preview = tmp_path / "blocker" / "preview.html"
    result = invoke(config, "digest", "--channel", "archive", "--dry-run", "--preview",
                    str(preview))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"archive: not sent: could not write the preview to {preview}: File exists")
    assert "HTML preview written" not in result.output


def test_unknown_channel_and_no_channels(tmp_path: Path, feed_url: str) -> None:
    config = write_config(tmp_path / "config", feed_url, free_port())
    invoke(config, "poll")
    unknown = invoke(config, "digest", "--channel", "nope")
    assert unknown.exit_code == 2 and "no channel named 'nope'" in unknown.stderr


def test_high_priority_hits_go_out_in_the_poll_that_found_them(tmp_path: Path,
                                                               feed_url: str) -> None:
    config = write_config(tmp_path / "config", feed_url, free_port(), immediate=True)
    polled = invoke(config, "poll")
    assert polled.exit_code == 0
    assert "alert: archive: sent" in polled.output and "(1 hit)" in polled.output
    written = [p for p in (tmp_path / "digests").iterdir() if p.suffix == ".md"]
    assert len(written) == 1
    assert "Mission Firewall seizes" in written[0].read_text(encoding="utf-8")
    assert "Straw purchasers" not in written[0].read_text(encoding="utf-8")
