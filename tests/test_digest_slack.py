"""The Slack channel against a loopback webhook emulator that answers as Slack does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from slackserver import OK, Answer, SlackServer, rate_limited
from test_digest_support import (
    HOSTILE_TITLE,
    NOW,
    WATCH_ORDER,
    article,
    delivered,
    digest_rows,
    match,
    open_store,
    seed,
    slack_channel,
)

from alerts.delivery import deliver_pending
from storage.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        seed(opened, [(article("1", title=HOSTILE_TITLE, url="javascript:alert(1)"), [match()]),
                      (article("2"), [match()])])
        yield opened


def test_digest_is_posted_with_escaped_mrkdwn(store: Store, slack: SlackServer) -> None:
    report = deliver_pending(store, slack_channel(slack), now=NOW, watch_order=WATCH_ORDER)
    assert report.sent and report.hits == 2
    [payload] = slack.accepted
    dump = json.dumps(payload)
    assert "&lt;script&gt;" in dump and "<script" not in dump and "javascript" not in dump
    assert "<https://news.example.org/2?a=1&amp;b=2|Story 2>" in dump
    assert payload["text"].startswith("Armswatch digest with 2 new hits: Mission Firewall 2 (")
    again = deliver_pending(store, slack_channel(slack), now=NOW + timedelta(hours=1),
                            watch_order=WATCH_ORDER)
    assert not again.sent and len(slack.posted) == 1


def test_429_retry_after_is_waited_out_within_the_run(store: Store, slack: SlackServer) -> None:
    slack.queue(rate_limited(1))
    report = deliver_pending(store, slack_channel(slack), now=NOW, watch_order=WATCH_ORDER)
    assert report.sent
    assert [p.status for p in slack.posted] == [429, 200]
    assert slack.posted[0].payload == slack.posted[1].payload


def test_429_beyond_the_wait_bound_leaves_the_digest_pending(store: Store,
                                                             slack: SlackServer) -> None:
    slack.queue(rate_limited(3600))
    report = deliver_pending(store, slack_channel(slack, max_wait=timedelta(seconds=30)), now=NOW,
                             watch_order=WATCH_ORDER)
    assert not report.sent and not report.permanent and report.error is not None
    assert "Slack rate limit" in report.error and "waiting 3600 s would exceed" in report.error
    assert report.next_attempt == NOW + timedelta(hours=1)       # Retry-After, not 5 min
    assert len(slack.posted) == 1 and digest_rows(store)[0]["status"] == "pending"
    later = deliver_pending(store, slack_channel(slack), now=NOW + timedelta(hours=1),
                            watch_order=WATCH_ORDER)
    assert later.sent and later.digest_id == 1


def test_400_is_reported_as_permanent_and_kept_pending(store: Store, slack: SlackServer) -> None:
    slack.queue(Answer(403, "invalid_token"))
    report = deliver_pending(store, slack_channel(slack), now=NOW, watch_order=WATCH_ORDER)
    assert report.permanent and report.error == (
        "Slack refused the message (HTTP 403 Forbidden: invalid_token); check webhook_url")
    assert slack.webhook_url not in report.summary()       # the URL is a secret
    assert "this will not fix itself" in report.summary()
    assert len(slack.posted) == 1                          # no pointless retries
    assert digest_rows(store)[0]["status"] == "pending"


def test_a_message_slack_refuses_is_failed_after_three_tries_and_the_next_goes_out(
        store: Store, slack: SlackServer) -> None:
    slack.queue(*[Answer(400, "invalid_blocks")] * 3)
    reports = [deliver_pending(store, slack_channel(slack), now=NOW + timedelta(minutes=n),
                               watch_order=WATCH_ORDER, retry_now=True) for n in range(3)]
    assert [r.marked_failed for r in reports] == [False, False, True]
    assert reports[0].error == "Slack refused the message (HTTP 400 Bad Request: invalid_blocks)"
    assert "the server refuses this message itself (not the channel's settings)" in \
        reports[2].summary() and "check webhook_url" not in reports[2].summary()
    assert digest_rows(store)[0]["status"] == "failed"
    seed(store, [(article("3", first_seen=NOW + timedelta(minutes=5)), [match()])])
    after = deliver_pending(store, slack_channel(slack), now=NOW + timedelta(hours=1),
                            watch_order=WATCH_ORDER)
    assert after.sent and after.digest_id == 2 and after.hits == 1
    assert "Story 3" in json.dumps(slack.accepted[-1])


def test_unknown_webhook_path_is_a_clear_404(store: Store, slack: SlackServer) -> None:
    config = slack_channel(slack, webhook_url=slack.webhook_url + "-revoked")
    report = deliver_pending(store, config, now=NOW, watch_order=WATCH_ORDER)
    assert report.error == ("Slack refused the message (HTTP 404 Not Found: no_service); "
                            "check webhook_url")


def test_500_is_retried_with_backoff_then_left_pending(store: Store, slack: SlackServer) -> None:
    slack.queue(Answer(500, "rollup_error"), OK)
    assert deliver_pending(store, slack_channel(slack), now=NOW, watch_order=WATCH_ORDER).sent
    assert [p.status for p in slack.posted] == [500, 200]

    seed(store, [(article("3", first_seen=NOW + timedelta(minutes=1)), [match()])])
    slack.queue(*[Answer(503, "service_unavailable")] * 3)
    report = deliver_pending(store, slack_channel(slack, retries=2), now=NOW + timedelta(hours=1),
                             watch_order=WATCH_ORDER)
    assert not report.sent and not report.permanent
    assert report.error == "Slack is failing (HTTP 503 Service Unavailable: service_unavailable)"
    assert [p.status for p in slack.posted][2:] == [503, 503, 503]
    assert digest_rows(store)[1]["status"] == "pending"
    # The next run re-sends the same digest before anything new.
    assert deliver_pending(store, slack_channel(slack), now=NOW + timedelta(hours=2),
                           watch_order=WATCH_ORDER).digest_id == 2


def test_slack_down_is_a_plain_connection_error(store: Store) -> None:
    with SlackServer() as gone:
        url = gone.webhook_url
    config = slack_channel(webhook_url=url, retries=0)
    report = deliver_pending(store, config, now=NOW, watch_order=WATCH_ORDER)
    assert report.error is not None and report.error.startswith("could not connect to Slack")


def test_3000_hits_become_a_few_posts_that_say_what_they_left_out(tmp_path: Path,
                                                                 slack: SlackServer) -> None:
    """The review's flood: 3,000 hits made 47 posts. Now at most max_messages, every one
    accepted, and the hits not listed are counted with the command that shows them."""
    with open_store(tmp_path / "big") as store:
        for f in range(60):       # 50 hits from each of 60 feeds: no one feed is a burst
            seed(store, [(article(f"n{f}-{i}", feed=f"Feed {f}",
                                  title="Misión Cortafuegos " + "x" * 150 + str(i),
                                  first_seen=NOW - timedelta(minutes=i)),
                          [match(snippet="… " + "contexto " * 40 + "Misión Cortafuegos …")])
                         for i in range(50)], feed=f"Feed {f}")
        report = deliver_pending(store, slack_channel(slack, max_messages=2), now=NOW,
                                 watch_order=WATCH_ORDER)
        assert len(delivered(store, "slack")) == 3000      # all recorded: none is re-sent
    assert report.sent and report.hits == 3000, report.summary()
    assert 1 <= len(slack.accepted) == len(slack.posted) <= 2
    listed = sum(json.dumps(p).count("news.example.org/n") for p in slack.accepted)
    assert 0 < listed < 50
    text = json.dumps([b for p in slack.accepted for b in p["blocks"]], ensure_ascii=False)
    assert (f"{3000 - listed:,} more Mission Firewall hits not listed here; see them with: "
            "`armswatch hits --item 'Mission Firewall' --since 2025-11-23 --limit 3000`") in text
