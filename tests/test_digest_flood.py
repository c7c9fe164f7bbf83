"""Issue 10, item 1, end to end: a hostile feed must never silence email or flood the reader.

Real polls of loopback feeds (tests/feedserver.py), the real CLI, a real SMTP relay (aiosmtpd)
with a relay's size limit, a real SQLite file.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import builders
from builders import Entry, rss
from click.testing import CliRunner, Result
from feedserver import FeedServer
from mailserver import MailServer

from monitor.cli.commands import cli

POSTFIX_LIMIT = 10_240_000      # Postfix's default message_size_limit
# Under it a one-hit digest fits with its trend chart (a PNG of about 140 KB, 190 KB in base64;
# the message measured 193 KB), a 40-hit digest (238 KB) does not.
DIGEST_LIMIT = 215_000
SIX_MB = 6 * 1024 * 1024
REAL_HIT = Entry(title="Mission Firewall: ATF traces 120 rifles seized in Nogales",
                 link="https://www.justice.gov/opa/pr/mission-firewall-nogales",
                 guid="doj-1")


def write_config(folder: Path, feeds: dict[str, str], smtp_port: int) -> Path:
    return builders.write_config(folder, folder.parent / "armswatch.db", feeds, extra=f"""
[[channels]]
name = "team-email"
type = "email"
from = "armswatch@example.org"
to = ["analysts@example.org"]
smtp = {{ host = "127.0.0.1", port = {smtp_port}, security = "none", timeout = "10s" }}
""")


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def armswatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own: polling 12,000 items grows a process by some 150 MB,
    which must not stay in the test runner (later tests measure their children's peak memory,
    and Linux counts the parent's at fork)."""
    return subprocess.run([sys.executable, "-m", "monitor.cli.commands", "--config", str(config),
                           *args], capture_output=True, text=True, timeout=120, check=False)


def text_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def db_value(db: Path, sql: str, *args: object) -> object:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_a_12000_item_flood_and_a_6_mb_link_make_a_capped_digest_the_relay_accepts(
        tmp_path: Path, feed_server: FeedServer) -> None:
    flood = rss([Entry(title=f"Mission Firewall update {i}", link=f"https://flood.example/{i}",
                       guid=f"flood-{i}") for i in range(12_000)])
    long_link = rss([Entry(title="Misión Cortafuegos: decomisan fusiles en Sonora",
                           link="https://wire.example/" + "a" * SIX_MB, guid="wire-1")])
    doj = "/doj.xml"
    feeds = {"Flood News": feed_server.route("/flood.xml", flood),
             "Wire": feed_server.route("/wire.xml", long_link),
             "DOJ": feed_server.route(doj, rss([], title="DOJ"))}
    db = tmp_path / "armswatch.db"
    with MailServer(data_size_limit=POSTFIX_LIMIT) as relay:
        config = write_config(tmp_path / "config", feeds, relay.port)
        polled = armswatch(config, "poll")
        assert polled.returncode == 0, polled.stderr
        flooded = db_value(db, "SELECT count(DISTINCT m.article_id) FROM matches AS m JOIN"
                               " articles AS a ON a.id = m.article_id WHERE a.feed = ?",
                           "Flood News")
        assert isinstance(flooded, int) and flooded > 50        # a burst, whatever caps polls
        sent = armswatch(config, "digest")
        assert sent.returncode == 0, sent.stdout
        assert f"team-email: sent digest 1 ({flooded + 1:,} hits)" in sent.stdout

        [first] = relay.wait_for(1)
        assert len(first.raw) < 1_000_000                       # far below the relay's limit
        assert b"a" * 2001 not in first.raw                     # the 6 MB link is not in it
        text = text_of(first.raw)
        # The reader sees the burst as one line that says how to see it, and the real entry.
        burst = next(line for line in text.splitlines() if line.startswith("- Flood News"))
        assert re.fullmatch(
            rf"- Flood News produced {flooded:,} hits \(Mission Firewall {flooded:,}\), first "
            rf"seen .*: an unusual burst, not listed; see them with: armswatch hits --feed "
            rf"'Flood News' --since \d{{4}}-\d\d-\d\d --limit {flooded}", burst), burst
        assert "Mission Firewall update" not in text
        assert "* Misión Cortafuegos: decomisan fusiles en Sonora" in text
        assert ("(no web link: the feed's link is too long to show" in text
                or "(no web link: the feed gave none" in text)   # if the poll dropped it
        # Every hit is recorded as delivered with the digest (none is re-sent), and stays
        # queryable with the very command the digest gave.
        assert db_value(db, "SELECT count(*) FROM deliveries WHERE digest_id = 1") == flooded + 1
        command = shlex.split(burst.partition("see them with: ")[2])[1:]
        listed = armswatch(config, *command, "--format", "json")
        assert listed.returncode == 0, listed.stdout
        assert len(json.loads(listed.stdout)) == flooded

        # A real hit found afterwards goes out in the next digest.
        feed_server.route(doj, rss([REAL_HIT], title="DOJ"))
        assert armswatch(config, "poll", "--feed", "DOJ").returncode == 0
        after = armswatch(config, "digest")
        assert after.returncode == 0, after.stdout
        assert "team-email: sent digest 2 (1 hit)" in after.stdout
        second = relay.wait_for(2)[1]
        assert f"* {REAL_HIT.title}" in text_of(second.raw)
        assert len(relay.received) == 2                         # the relay accepted every one


def test_a_digest_refused_552_is_failed_after_three_tries_and_never_blocks_the_next(
        tmp_path: Path, feed_server: FeedServer) -> None:
    wire = rss([Entry(title=f"Mission Firewall: operativo {i} en la frontera",
                      link=f"https://wire.example/{i}", guid=f"w{i}") for i in range(40)])
    doj = "/doj.xml"
    feeds = {"Wire": feed_server.route("/wire.xml", wire),
             "DOJ": feed_server.route(doj, rss([], title="DOJ"))}
    db = tmp_path / "armswatch.db"
    # A relay whose limit the 40-hit digest exceeds and a one-hit digest does not.
    with MailServer(data_size_limit=DIGEST_LIMIT) as relay:
        config = write_config(tmp_path / "config", feeds, relay.port)
        assert invoke(config, "poll").exit_code == 0
        refused = (f"team-email: digest 1 (40 hits) not sent: SMTP server 127.0.0.1:{relay.port}"
                   " refused the message as too large (552 Error: message size exceeds fixed "
                   "maximum message size); the server refuses this message itself (not the "
                   "channel's settings)")
        for attempt in (1, 2):
            result = invoke(config, "digest")
            assert result.exit_code == 1
            assert result.output.startswith(
                f"{refused} (refusal {attempt} of 3 before it is marked failed); it stays "
                "pending, next attempt from ")
        third = invoke(config, "digest")
        assert third.exit_code == 1
        assert third.output == (
            f"{refused}; refused for good, the digest is marked failed and no longer holds up "
            "newer digests; its hits stay in the database (`armswatch digest failed` lists it, "
            "`armswatch digest resend` sends it again)\n")
        assert db_value(db, "SELECT status FROM digests WHERE id = 1") == "failed"

        status = invoke(config, "status")
        assert status.exit_code == 1
        unwrapped = " ".join(status.output.split())        # wrapped to the terminal's width
        assert unwrapped.startswith(
            f"UNHEALTHY: channel team-email refused digest 1 for good: SMTP server "
            f"127.0.0.1:{relay.port} refused the message as too large (552 ")
        assert "failed digests: 1 (`armswatch digest failed` lists them" in unwrapped
        listing = invoke(config, "digest", "failed")
        assert listing.exit_code == 0
        assert listing.output.startswith("digest 1  team-email  created ")
        assert "  40 hits  3 attempts\n" in listing.output

        # The next digest, with a new hit, is not held up.
        feed_server.route(doj, rss([REAL_HIT], title="DOJ"))
        assert invoke(config, "poll", "--feed", "DOJ").exit_code == 0
        after = invoke(config, "digest")
        assert after.exit_code == 0, after.output
        assert after.output == "team-email: sent digest 2 (1 hit)\n"
        [message] = relay.wait_for(1)
        assert f"* {REAL_HIT.title}" in text_of(message.raw)
        assert "Mission Firewall: operativo" not in text_of(message.raw)

        # Re-sent, it is refused again at once; dropped, it is settled, its hits still stored.
        again = invoke(config, "digest", "resend", "1")
        assert again.exit_code == 1 and "marked failed" in again.output
        assert invoke(config, "digest", "drop", "1").output == (
            "team-email: dropped digest 1 (40 hits, still in the database: `armswatch hits`)\n")
        assert invoke(config, "status").exit_code == 0
        assert invoke(config, "digest", "failed").output == "No failed digests.\n"
        assert db_value(db, "SELECT count(*) FROM articles WHERE feed = 'Wire'") == 40
        misspelt = invoke(config, "hits", "--feed", "Wir")
        assert misspelt.exit_code == 2
        assert 'no feed is named "Wir"; did you mean "Wire"?' in misspelt.stderr
        assert invoke(config, "digest").output == "team-email: nothing sent: no new hits\n"
