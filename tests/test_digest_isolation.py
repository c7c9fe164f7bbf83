"""One channel's failure never stops the channels after it (design §9), through the service's
dispatch: a real SMTP server that refuses or is down, channels that fail in ways Armswatch does
not expect, and a Slack or file channel after them that still gets its digest."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from mailserver import MailServer, free_port
from slackserver import SlackServer
from test_digest_support import (
    NOW,
    article,
    digest_rows,
    email_channel,
    file_channel,
    match,
    open_store,
    seed,
    slack_channel,
)

from monitor.service.dispatch import deliver
from storage.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        seed(opened, [(article("1"), [match()]), (article("2"), [match()])])
        yield opened


def status_by_channel(store: Store) -> dict[str, str]:
    return {row["channel"]: row["status"] for row in digest_rows(store)}


def test_smtp_refusing_every_recipient_then_slack_still_gets_its_digest(
        store: Store, slack: SlackServer) -> None:
    with MailServer(refuse={"analysts@example.org", "desk@example.org"}) as mail:
        refused, posted = deliver(store.path, [email_channel(mail.port), slack_channel(slack)],
                                  [], now=NOW)
    assert refused.error is not None and refused.permanent
    assert refused.error.startswith(f"SMTP server 127.0.0.1:{mail.port} refused every "
                                    "recipient: analysts@example.org (550")
    assert posted.sent and posted.hits == 2 and len(slack.accepted) == 1
    assert status_by_channel(store) == {"team-email": "pending", "slack": "sent"}


def test_smtp_down_then_the_file_channel_still_gets_its_digest(store: Store,
                                                              tmp_path: Path) -> None:
    port = free_port()
    down, written = deliver(store.path, [email_channel(port),
                                         file_channel("archive", tmp_path / "digests")],
                            [], now=NOW)
    assert down.error == f"could not connect to SMTP server 127.0.0.1:{port}: connection refused"
    assert written.sent and written.hits == 2
    assert sorted(p.suffix for p in (tmp_path / "digests").iterdir()) == [".html", ".md", ".png"]
    assert status_by_channel(store) == {"team-email": "pending", "archive": "sent"}


def test_unexpected_errors_are_reported_for_their_channel_and_the_next_one_gets_its_digest(
        store: Store, tmp_path: Path, slack: SlackServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """Settings built without the config loader, which would have refused them: a line break in
    a mail header (the email package raises ValueError) and a time zone that does not exist."""
    injected = "armswatch@example.org\r\nBcc: victim@example.org"
    lost = file_channel("archive", tmp_path / "digests", timezone="Mars/Olympus_Mons")
    with MailServer() as mail, caplog.at_level(logging.ERROR, logger="alerts.delivery"):
        header, zone, posted = deliver(
            store.path, [email_channel(mail.port, sender=injected), lost, slack_channel(slack)],
            [], now=NOW)
    assert header.error == ("unexpected error (ValueError: Header values may not contain "
                            "linefeed or carriage return characters); see the log for details")
    assert zone.error is not None and zone.error.startswith(
        "unexpected error (ZoneInfoNotFoundError: ")
    assert "team-email: digest 1 (2 hits) not sent: unexpected error" in header.summary()
    assert mail.received == []
    assert posted.sent and posted.hits == 2 and len(slack.accepted) == 1
    # The failed digests stay pending with their error, for `status` and the next run.
    rows = {row["channel"]: row for row in digest_rows(store)}
    assert rows["team-email"]["status"] == rows["archive"]["status"] == "pending"
    assert rows["team-email"]["last_error"] == header.error
    # The operator's log has the traceback, to fix the bug with.
    logged = [r for r in caplog.records if "unexpected error while delivering" in r.message]
    assert [r.exc_info is not None for r in logged] == [True, True]
