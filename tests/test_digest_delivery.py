"""Delivery bookkeeping against a real SQLite file, through the file and stdout channels:
each (channel, article) once, backlog for new channels, immediate alerts, dry runs, retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_digest_support import (
    HOSTILE_TITLE,
    NOW,
    WATCH_ORDER,
    article,
    channel,
    delivered,
    digest_rows,
    file_channel,
    match,
    open_store,
    seed,
)

from alerts.delivery import backoff, deliver_pending, due_for_retry, resend_failed
from storage.outbox import DigestOutbox
from storage.records import FeedState
from storage.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        yield opened


def test_file_channel_writes_html_and_markdown_once_per_article(store: Store,
                                                                tmp_path: Path) -> None:
    seed(store, [(article("1", title=HOSTILE_TITLE, url="javascript:alert(1)"), [match()]),
                 (article("2"), [match("eTrace", "eTrace", snippet="el sistema eTrace de ATF")])])
    folder = file_channel("archive", tmp_path / "digests")
    report = deliver_pending(store, folder, now=NOW, watch_order=WATCH_ORDER)
    assert report.sent and report.hits == 2 and report.digest_id == 1
    files = sorted(p.name for p in (tmp_path / "digests").iterdir())
    assert files == ["20251123T130000Z-archive-digest-1.html",
                     "20251123T130000Z-archive-digest-1.md",
                     "20251123T130000Z-archive-digest-1.png"]   # the trend chart
    html = (tmp_path / "digests" / files[0]).read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "javascript:" not in html
    md = (tmp_path / "digests" / files[1]).read_text()
    assert md.startswith("# Armswatch digest: 2 new hits") and "## eTrace (program)" in md
    assert delivered(store, "archive") == {"a-1", "a-2"}
    assert digest_rows(store)[0]["status"] == "sent"
    # A second run finds nothing new and sends nothing.
    again = deliver_pending(store, folder, now=NOW + timedelta(hours=1), watch_order=WATCH_ORDER)
    assert not again.sent and again.skipped_reason == "no new hits"
    assert len(digest_rows(store)) == 1 and len(list((tmp_path / "digests").iterdir())) == 3
    # A new hit goes into a new digest, alone.
    seed(store, [(article("3", first_seen=NOW + timedelta(minutes=30)), [match()])])
    third = deliver_pending(store, folder, now=NOW + timedelta(hours=2), watch_order=WATCH_ORDER)
    assert third.sent and third.digest_id == 2 and third.hits == 1


def test_each_channel_gets_each_article_once_and_a_restart_repeats_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = channel("console", "stdout")
    with open_store(tmp_path) as store:
        seed(store, [(article("1"), [match()])])
        assert deliver_pending(store, out, now=NOW, watch_order=WATCH_ORDER).sent
        other = file_channel("archive", tmp_path / "d")
        assert deliver_pending(store, other, now=NOW, watch_order=WATCH_ORDER).hits == 1
    assert capsys.readouterr().out.count("Story 1") == 1
    with open_store(tmp_path) as reopened:                         # a restart
        report = deliver_pending(reopened, out, now=NOW + timedelta(hours=1),
                                 watch_order=WATCH_ORDER)
        assert not report.sent and report.skipped_reason == "no new hits"
    assert capsys.readouterr().out == ""


def test_new_channel_starts_from_its_backlog_window(store: Store) -> None:
    seed(store, [(article("old", first_seen=NOW - timedelta(days=10)), [match()]),
                 (article("week", first_seen=NOW - timedelta(days=6)), [match()]),
                 (article("day", first_seen=NOW - timedelta(hours=20)), [match()])])
    default = deliver_pending(store, channel("a", "stdout"), now=NOW, watch_order=WATCH_ORDER)
    assert default.hits == 2 and delivered(store, "a") == {"a-week", "a-day"}
    one_day = channel("b", "stdout", backlog=timedelta(days=1))
    short = deliver_pending(store, one_day, now=NOW, watch_order=WATCH_ORDER)
    assert delivered(store, "b") == {"a-day"} and short.hits == 1
    # Once started, history before the window stays out, later hits come in.
    seed(store, [(article("new", first_seen=NOW + timedelta(hours=1)), [match()])])
    later = deliver_pending(store, one_day, now=NOW + timedelta(days=3),
                            watch_order=WATCH_ORDER)
    assert later.hits == 1 and delivered(store, "b") == {"a-day", "a-new"}


def test_channel_restrictions_decide_what_is_delivered(store: Store) -> None:
    seed(store, [(article("p"), [match()]),
                 (article("t"), [match("arms trafficking", "tráfico de armas", kind="topic")])])
    topics = channel("topics", "stdout", kinds=("topic",))
    assert deliver_pending(store, topics, now=NOW, watch_order=WATCH_ORDER).hits == 1
    assert delivered(store, "topics") == {"a-t"}


def test_empty_digest_only_when_the_channel_asks(store: Store,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    quiet = deliver_pending(store, channel("q", "stdout"), now=NOW, watch_order=WATCH_ORDER)
    assert not quiet.sent and digest_rows(store) == []
    loud = deliver_pending(store, channel("l", "stdout", send_empty=True), now=NOW,
                           watch_order=WATCH_ORDER)
    assert loud.sent and loud.hits == 0
    assert "Armswatch digest: no new hits" in capsys.readouterr().out


def test_immediate_alert_sends_only_the_given_articles(store: Store,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, [(article("urgent"), [match()]), (article("normal"), [match()])])
    alerts = channel("alerts", "stdout", immediate=True)
    report = deliver_pending(store, alerts, now=NOW, watch_order=WATCH_ORDER,
                             only_articles=["a-urgent"])
    assert report.sent and report.hits == 1
    assert capsys.readouterr().out.startswith("Armswatch alert: Mission Firewall — 1 new hit")
    daily = deliver_pending(store, alerts, now=NOW + timedelta(hours=1), watch_order=WATCH_ORDER)
    assert daily.hits == 1 and delivered(store, "alerts") == {"a-urgent", "a-normal"}
    # A channel that did not opt in is left alone.
    skipped = deliver_pending(store, channel("plain", "stdout"), now=NOW,
                              watch_order=WATCH_ORDER, only_articles=["a-urgent"])
    assert skipped.skipped_reason == "channel does not take immediate alerts"
    assert delivered(store, "plain") == set()


def test_immediate_alerts_are_limited_per_hour_and_the_rest_wait_for_the_digest(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, [(article(str(n), first_seen=NOW + timedelta(minutes=n)), [match()])
                 for n in range(4)])
    alerts = channel("alerts", "stdout", immediate=True, alerts_per_hour=2)
    reports = [deliver_pending(store, alerts, now=NOW + timedelta(minutes=10 + n),
                               watch_order=WATCH_ORDER, only_articles=[f"a-{n}"])
               for n in range(4)]
    assert [r.sent for r in reports] == [True, True, False, False]
    assert reports[2].skipped_reason == (
        "2 alerts sent in the last hour already (alerts_per_hour); 1 new hit waits for the "
        "next digest")
    assert delivered(store, "alerts") == {"a-0", "a-1"}
    assert capsys.readouterr().out.count("Armswatch alert:") == 2
    # The overflow goes out with the next digest; an hour later alerts flow again.
    digest = deliver_pending(store, alerts, now=NOW + timedelta(minutes=30),
                             watch_order=WATCH_ORDER)
    assert digest.sent and digest.hits == 2 and delivered(store, "alerts") == {
        "a-0", "a-1", "a-2", "a-3"}
    seed(store, [(article("late", first_seen=NOW + timedelta(minutes=70)), [match()])])
    assert deliver_pending(store, alerts, now=NOW + timedelta(minutes=71),
                           watch_order=WATCH_ORDER, only_articles=["a-late"]).sent


def test_dry_run_shows_and_marks_nothing(store: Store, tmp_path: Path) -> None:
    seed(store, [(article("1", title=HOSTILE_TITLE), [match()])])
    preview = tmp_path / "preview" / "digest.html"
    report = deliver_pending(store, channel("c", "stdout"), now=NOW, watch_order=WATCH_ORDER,
                             dry_run=True, preview_path=preview)
    assert not report.sent and report.hits == 1 and report.preview is not None
    assert HOSTILE_TITLE in report.preview
    assert "&lt;script&gt;" in preview.read_text()
    assert digest_rows(store) == [] and delivered(store, "c") == set()


def test_failure_stays_pending_backs_off_and_is_named_in_other_digests(
        store: Store, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the channel wants a folder")
    broken = file_channel("archive", blocker / "sub")
    seed(store, [(article("1"), [match()])])
    first = deliver_pending(store, broken, now=NOW, watch_order=WATCH_ORDER)
    assert not first.sent and first.failed and "could not write the digest" in (first.error or "")
    assert first.next_attempt == NOW + backoff(1)
    row = digest_rows(store)[0]
    assert (row["status"], row["attempts"]) == ("pending", 1)
    # Before the backoff has passed, a scheduled run waits; the CLI's retry_now does not.
    waiting = deliver_pending(store, broken, now=NOW + timedelta(minutes=1),
                              watch_order=WATCH_ORDER)
    assert waiting.skipped_reason and "next attempt from" in waiting.skipped_reason
    assert due_for_retry(store, [broken], NOW + timedelta(minutes=1)) == []
    assert due_for_retry(store, [broken], NOW + timedelta(hours=1)) == [broken]
    second = deliver_pending(store, broken, now=NOW + timedelta(minutes=2),
                             watch_order=WATCH_ORDER, retry_now=True)
    assert second.failed and digest_rows(store)[0]["status"] == "pending"
    assert "(refusal 2 of 3 before it is marked failed); it stays pending" in second.summary()
    # Refused for good three times: failed, so it no longer holds up the digests after it.
    third = deliver_pending(store, broken, now=NOW + timedelta(minutes=3),
                            watch_order=WATCH_ORDER, retry_now=True)
    assert third.failed and third.marked_failed and third.digest_id == 1
    assert [(r["status"], r["attempts"]) for r in digest_rows(store)] == [("failed", 3)]
    assert "the digest is marked failed and no longer holds up newer digests" in third.summary()
    other = file_channel("console", tmp_path / "ok")
    assert deliver_pending(store, other, now=NOW, watch_order=WATCH_ORDER).sent
    text = next((tmp_path / "ok").glob("*.md")).read_text()
    assert "Channels failing" in text
    assert "Channel archive: 1 digest refused for good and marked failed (the last: could not " \
           "write the digest" in text
    # A channel no longer retried (removed from the config) drops out after a while.
    outbox = DigestOutbox(store)
    assert [r.channel for r in outbox.failing(3, active_since=NOW)] == ["archive"]
    assert outbox.failing(3, active_since=NOW + timedelta(days=2)) == []
    # Fixed: a new hit goes out at once; the failed digest waits for `digest resend`, and then
    # goes out (same id): nothing is lost or repeated.
    fixed = file_channel("archive", tmp_path / "fixed")
    seed(store, [(article("2", first_seen=NOW + timedelta(minutes=5)), [match()])])
    report = deliver_pending(store, fixed, now=NOW + timedelta(hours=1), watch_order=WATCH_ORDER)
    assert report.retried is None and report.sent and report.digest_id == 3 and report.hits == 1
    resent = resend_failed(store, fixed, 1, now=NOW + timedelta(hours=2), watch_order=WATCH_ORDER)
    assert resent.sent and resent.digest_id == 1 and resent.hits == 1
    assert [r["status"] for r in digest_rows(store)] == ["sent", "sent", "sent"]
    assert delivered(store, "archive") == {"a-1", "a-2"}


def test_failing_feeds_are_named(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, [(article("1"), [match()])])
    store.save_feed_state(FeedState(name="Milenio", url="https://milenio.example/rss",
                                    status="failed", error="HTTP 503 Service Unavailable",
                                    error_count=5, failing_since=NOW - timedelta(days=1)))
    store.save_feed_state(FeedState(name="Blip", url="https://blip.example/rss",
                                    status="failed", error="timed out after 30 s",
                                    error_count=1))
    deliver_pending(store, channel("c", "stdout"), now=NOW, watch_order=WATCH_ORDER)
    out = capsys.readouterr().out
    assert "Milenio: HTTP 503 Service Unavailable" in out and "5 failed checks" in out
    assert "Blip" not in out        # one failed check is a blip, not news


def test_a_digest_claimed_by_another_run_is_not_sent_twice(tmp_path: Path) -> None:
    with open_store(tmp_path) as first, open_store(tmp_path) as second:
        seed(first, [(article("1"), [match()])])
        (tmp_path / "blocker").write_text("a file where a folder should be")
        broken = file_channel("c", tmp_path / "blocker" / "digests")
        assert deliver_pending(first, broken, now=NOW, watch_order=WATCH_ORDER).failed
        mine, theirs = DigestOutbox(first), DigestOutbox(second)
        seen = mine.pending("c")
        assert seen is not None and theirs.pending("c") == seen
        assert theirs.record_attempt(seen.id, seen_attempts=seen.attempts, next_attempt=NOW)
        assert not mine.record_attempt(seen.id, seen_attempts=seen.attempts, next_attempt=NOW)
        assert digest_rows(first)[0]["attempts"] == seen.attempts + 1
