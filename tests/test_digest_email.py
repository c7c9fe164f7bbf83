"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1: the message as a mail
client sees it, TLS with certificate verification, login, an SMTP server that is down, and a
client killed after the server accepted the message."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from mailserver import MailServer, ThrowawayCA, free_port, make_test_ca
from test_digest_support import (
    HOSTILE_TITLE,
    NOW,
    SHIPPED_ORDER,
    WATCH_ORDER,
    article,
    delivered,
    digest_rows,
    email_channel,
    match,
    matched,
    open_store,
    seed,
)

from alerts.delivery import deliver_pending
from storage.store import Store

LOGIN = ("armswatch", "correct horse battery staple")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        seed(opened, [
            (article("evil", title=HOSTILE_TITLE, url="javascript:alert(document.cookie)"),
             [match(snippet="<img src=x onerror=alert(1)> la Misión Cortafuegos")]),
            (article("good", title="Misión Cortafuegos: 120 armas aseguradas"), [match()]),
        ])
        yield opened


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    pytest.importorskip("cryptography", reason="the TLS tests make certificates with it")
    return make_test_ca(tmp_path_factory.mktemp("ca"))


def parts(message: EmailMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in message.walk():
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = str(part.get_content())
    return found


def test_digest_arrives_as_multipart_alternative_with_safe_html(store: Store) -> None:
    with MailServer() as server:
        report = deliver_pending(store, email_channel(server.port), now=NOW,
                                 watch_order=WATCH_ORDER)
        assert report.sent and report.hits == 2, report.summary()
        [received] = server.wait_for(1)
        # A second run sends nothing more.
        again = deliver_pending(store, email_channel(server.port), now=NOW + timedelta(days=1),
                                watch_order=WATCH_ORDER)
        assert not again.sent and len(server.received) == 1
    message = received.message
    assert received.rcpt_tos == ["analysts@example.org", "desk@example.org"]
    assert received.mail_from == "armswatch@example.org"
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "[Armswatch] 2 new hits: Mission Firewall 2 (16-23 Nov 2025)"
    assert message["Message-ID"] == digest_rows(store)[0]["message_id"]
    assert message["Message-ID"].endswith("@example.org>")
    body = parts(message)
    # The HTML part is multipart/related with the trend chart (tests/test_trend_digests.py).
    assert set(body) == {"text/plain", "text/html", "image/png"}
    html, text = body["text/html"], body["text/plain"]
    assert "<script" not in html and "&lt;script&gt;" in html
    # The feed's <img onerror> is text; the one image is the chart, from the message itself.
    assert html.count("<img") == 1 and '<img src="cid:trend.' in html
    assert "onerror" not in html.replace("&lt;img src=x onerror", "") and "javascript:" not in html
    assert 'href="https://news.example.org/good?a=1&amp;b=2"' in html
    assert html.count("<a ") == 1                 # the javascript: link is not a link
    assert HOSTILE_TITLE in text and "javascript:" not in text
    assert "https://news.example.org/good?a=1&b=2" in text
    assert "config/watchlist.toml" in text and "config/watchlist.toml" in html


def test_links_are_canonical_and_the_subject_takes_the_channels_prefix(tmp_path: Path) -> None:
    tracked = matched("t", "https://www.Example.org/armas?utm_source=newsletter&id=9&utm_campaign=x",
                      title="Misión Cortafuegos asegura 80 fusiles en Sonora",
                      summary="Los fusiles se rastrearon con eTrace, el sistema de la ATF.")
    with open_store(tmp_path) as store, MailServer() as server:
        seed(store, [tracked])
        report = deliver_pending(store, email_channel(server.port, subject_prefix="[Arms desk]"),
                                 now=NOW, watch_order=SHIPPED_ORDER)
        assert report.sent, report.summary()
        [received] = server.wait_for(1)
    message = received.message
    assert message["Subject"] == "[Arms desk] 1 new hit: Mission Firewall 1 (16-23 Nov 2025)"
    body = parts(message)
    link = "https://www.example.org/armas?id=9"
    assert f'href="{link}"' in body["text/html"] and f"  {link}" in body["text/plain"].splitlines()
    assert "utm_" not in body["text/html"] + body["text/plain"]
    assert ("matched “Misión Cortafuegos” in the title: “*Misión Cortafuegos* asegura 80 fusiles "
            "en Sonora”") in body["text/plain"]
    assert "Also matches: eTrace" in body["text/plain"]


def test_starttls_refuses_an_unverifiable_certificate_then_works_with_ca_file(
        store: Store, ca: ThrowawayCA) -> None:
    with MailServer(security="starttls", ca=ca, login=LOGIN) as server:
        untrusted = email_channel(server.port, security="starttls", username=LOGIN[0],
                                  password=LOGIN[1])
        report = deliver_pending(store, untrusted, now=NOW, watch_order=WATCH_ORDER)
        assert not report.sent and report.permanent
        assert report.error is not None
        assert report.error.startswith("could not verify the TLS certificate of SMTP server "
                                       f"127.0.0.1:{server.port}")
        assert "set smtp.ca_file" in report.error and LOGIN[1] not in report.error
        assert server.received == [] and digest_rows(store)[0]["status"] == "pending"

        trusted = email_channel(server.port, security="starttls", username=LOGIN[0],
                                password=LOGIN[1], ca_file=ca.ca_file)
        retry = deliver_pending(store, trusted, now=NOW + timedelta(minutes=1),
                                watch_order=WATCH_ORDER, retry_now=True)
        assert retry.sent and retry.digest_id == 1, retry.summary()
        [received] = server.wait_for(1)
    assert received.message["Message-ID"] == digest_rows(store)[0]["message_id"]
    assert digest_rows(store)[0]["attempts"] == 2


# aiosmtpd cannot tell that an implicit-TLS connection is encrypted, and warns about AUTH.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_and_a_refused_login(store: Store, ca: ThrowawayCA) -> None:
    with MailServer(security="tls", ca=ca, login=LOGIN) as server:
        wrong = email_channel(server.port, security="tls", ca_file=ca.ca_file,
                              username=LOGIN[0], password="wrong")
        report = deliver_pending(store, wrong, now=NOW, watch_order=WATCH_ORDER)
        assert report.error is not None and report.permanent
        assert "refused the login (535" in report.error
        assert "check smtp.username and smtp.password" in report.error
        right = email_channel(server.port, security="tls", ca_file=ca.ca_file,
                              username=LOGIN[0], password=LOGIN[1])
        assert deliver_pending(store, right, now=NOW + timedelta(hours=1),
                               watch_order=WATCH_ORDER).sent
        assert len(server.wait_for(1)) == 1


def test_tls_against_a_plain_server_says_what_to_check(store: Store) -> None:
    with MailServer() as server:
        report = deliver_pending(store, email_channel(server.port, security="tls"), now=NOW,
                                 watch_order=WATCH_ORDER)
    assert report.error is not None and "TLS handshake with SMTP server" in report.error
    assert 'check smtp.security' in report.error


def test_smtp_down_leaves_the_digest_pending_until_the_next_run(store: Store) -> None:
    port = free_port()
    config = email_channel(port)
    down = deliver_pending(store, config, now=NOW, watch_order=WATCH_ORDER)
    assert not down.sent and not down.permanent
    assert down.error == f"could not connect to SMTP server 127.0.0.1:{port}: connection refused"
    assert "stays pending, next attempt from 2025-11-23 13:05 UTC" in down.summary()
    assert delivered(store, "team-email") == {"a-evil", "a-good"}   # recorded before sending
    seed(store, [(article("later", first_seen=NOW + timedelta(minutes=30)), [match()])])
    with MailServer(port=port) as server:
        up = deliver_pending(store, config, now=NOW + timedelta(hours=1), watch_order=WATCH_ORDER)
        messages = server.wait_for(2)
    assert up.retried is not None and up.retried.sent and up.retried.hits == 2
    assert up.sent and up.hits == 1
    ids = [r["message_id"] for r in digest_rows(store)]
    assert [m.message["Message-ID"] for m in messages] == ids
    assert "Story later" not in parts(messages[0].message)["text/plain"]


def test_refused_recipients(store: Store) -> None:
    with MailServer(refuse={"desk@example.org"}) as server:
        some = deliver_pending(store, email_channel(server.port), now=NOW,
                               watch_order=WATCH_ORDER)
        assert some.sent and some.note is not None and "desk@example.org (550" in some.note
        assert server.wait_for(1)[0].rcpt_tos == ["analysts@example.org"]
    seed(store, [(article("more"), [match()])])
    with MailServer(refuse={"analysts@example.org", "desk@example.org"}) as server:
        none = deliver_pending(store, email_channel(server.port), now=NOW + timedelta(hours=1),
                               watch_order=WATCH_ORDER)
    assert none.permanent and none.error is not None
    assert "refused every recipient" in none.error


_SEND_ONCE = """
import pickle, sys
from alerts.delivery import deliver_pending
from storage.store import Store
db, channel, now = pickle.loads(bytes.fromhex(sys.argv[1]))
with Store.open(db) as store:
    deliver_pending(store, channel, now=now, watch_order=[])
"""


def test_crash_after_the_server_accepted_resends_with_the_same_message_id(
        store: Store) -> None:
    """At-least-once with a stable id: the copy the server got before the crash and the re-send
    carry the same Message-ID, so the recipient's mail client can drop the duplicate."""
    with MailServer(hold_after_data=60) as server:
        config = email_channel(server.port)
        args = pickle.dumps((store.path, config, NOW)).hex()
        process = subprocess.Popen([sys.executable, "-c", _SEND_ONCE, args])
        try:
            server.wait_for(1, timeout=30)   # the server has it; the client awaits its reply
        finally:
            process.kill()
            process.wait()
        row = digest_rows(store)[0]
        assert (row["status"], row["attempts"]) == ("pending", 1)
        server.hold_after_data = 0
        soon = deliver_pending(store, config, now=NOW + timedelta(minutes=1),
                               watch_order=WATCH_ORDER)
        assert soon.skipped_reason is not None and "stopped mid-send" in soon.skipped_reason
        report = deliver_pending(store, config, now=NOW + timedelta(hours=1),
                                 watch_order=WATCH_ORDER)
        first, second = server.wait_for(2)
        again = deliver_pending(store, config, now=NOW + timedelta(hours=2),
                                watch_order=WATCH_ORDER)
    assert report.sent and report.digest_id == row["id"] and not again.sent
    assert first.message["Message-ID"] == second.message["Message-ID"] == row["message_id"]
    assert first.message["Subject"] == second.message["Subject"]
    assert first.message["Date"] == second.message["Date"]
    assert len(server.received) == 2 and digest_rows(store)[0]["status"] == "sent"
