"""Delivery (design §9): each (channel, article) once, digests recorded before they are sent.

For one channel, a run first re-sends the channel's pending digest, if it has one (same hits,
same Message-ID); only when that went out are new hits gathered into a new digest, recorded with
them in one transaction, and sent. A failed send is recorded, reported and retried on a later run
with exponential backoff. A refusal for good (an SMTP 5xx, a Slack 4xx other than 429) is tried
REFUSALS times; then the digest is marked failed and no longer holds up the digests after it: its
hits stay recorded against it (never re-sent by themselves) until it is re-sent
(``resend_failed``) or dropped. Immediate alerts are limited to ``alerts_per_hour`` a channel;
hits beyond that wait for the channel's next digest.

The guarantee is at-least-once with a stable id: a crash after the server accepted a message but
before it was marked sent leaves the digest pending, and the next run sends it again with the
same Message-ID, so mail clients and the reader can tell it is the same digest.

Synchronous: call it from the thread that owns the Store (e.g. ``asyncio.to_thread`` with a
Store opened in that thread), since an SQLite connection cannot cross threads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from alerts.channels import Channel, EmailChannel, MessageRefused, make_channel
from alerts.config import ChannelConfig
from alerts.digest import (
    ChannelFailure,
    Digest,
    DigestContext,
    build_digest,
    channel_backfills,
)
from alerts.render_html import render_html
from alerts.render_text import render_text
from alerts.report import DeliveryReport
from alerts.trend import CHART_WEEKS, trend_of
from alerts.wording import clean, plural
from storage.backfills import BackfillRecord
from storage.errors import ArmswatchError, DeliveryError
from storage.outbox import ALERT_ID_PREFIX, DigestOutbox, DigestRecord
from storage.records import FeedState, Hit
from storage.rows import time_text
from storage.trends import weekly_counts

if TYPE_CHECKING:
    from storage.store import Store

__all__ = ["DeliveryReport", "backoff", "deliver_pending", "due_for_retry", "message_id_for",
           "resend_failed"]

log = logging.getLogger(__name__)

REPEATED_FAILURES = 3                   # attempts after which a channel is named in other digests
REFUSALS = 3                            # refusals for good after which a digest is marked failed
FAILURE_MEMORY = timedelta(days=8)      # a failing channel not retried for this long is not named
FEED_FAILURES_SHOWN = 2                 # consecutive failed checks before a feed is named
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(hours=6)
_ALERT, _DIGEST = "alert", "digest"


def backoff(attempt: int) -> timedelta:
    """Wait before the next try after ``attempt`` failed ones: 5 min, 10, 20, ... at most 6 h."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempt - 1, 0), 16)
    return min(wait, MAX_RETRY)


def message_id_for(channel: str, digest_id: int, created: datetime, *, domain: str,
                   immediate: bool = False) -> str:
    """The digest's Message-ID: the same on every re-send, different for a new database."""
    seed = f"{channel}\n{digest_id}\n{time_text(created)}".encode()
    token = hashlib.sha256(seed).hexdigest()[:16]
    return f"<armswatch-{_ALERT if immediate else _DIGEST}.{digest_id}.{token}@{domain}>"


def _is_alert(record: DigestRecord) -> bool:
    return (record.message_id or "").startswith(ALERT_ID_PREFIX)


def _channel_failures(records: Sequence[DigestRecord]) -> tuple[ChannelFailure, ...]:
    """One line's worth per channel: its digest being retried, and its digests marked failed."""
    failures: list[ChannelFailure] = []
    for record in records:
        previous = failures[-1] if failures else None
        if record.status == "failed" and previous and previous.channel == record.channel \
                and previous.failed:
            failures[-1] = replace(previous, failed=previous.failed + 1,
                                   error=record.last_error or previous.error)
            continue
        failures.append(ChannelFailure(record.channel, record.attempts,
                                       record.last_error or "unknown error", record.created,
                                       failed=int(record.status == "failed")))
    return tuple(failures)


def _failing(feed: FeedState) -> bool:
    # One failed check is usually a blip; a digest names feeds that keep failing or are gone.
    return feed.status == "gone" or (feed.status == "failed"
                                     and feed.error_count >= FEED_FAILURES_SHOWN)


@dataclass(frozen=True)
class _Run:
    """Everything one run for one channel needs."""

    store: Store
    outbox: DigestOutbox
    config: ChannelConfig
    channel: Channel
    now: datetime
    watch_order: Sequence[tuple[str, str]]

    @property
    def name(self) -> str:
        return self.config.name

    def context(self, digest_id: int | None, created: datetime, start: datetime, end: datetime,
                immediate: bool, hits: Sequence[Hit] = ()) -> DigestContext:
        feeds = tuple(f.state for f in self.store.feeds.health() if _failing(f.state))
        channels = _channel_failures(self.outbox.failing(
            REPEATED_FAILURES, active_since=self.now - FAILURE_MEMORY))
        # One entry per story (design §13); a story this channel was told of before is an update.
        stories = self.store.stories.of_articles([h.article.id for h in hits])
        sent = self.store.stories.sent_before(self.name, list(stories.values()), digest_id)
        return DigestContext(digest_id=digest_id, created=created, period_start=start,
                             period_end=end, failing_feeds=feeds, failing_channels=channels,
                             immediate=immediate,
                             backfills=() if immediate else self.backfills(start, end),
                             stories=stories, sent_stories=frozenset(sent))

    def backfills(self, start: datetime, end: datetime) -> tuple[BackfillRecord, ...]:
        """The backfills of the period, of items this channel takes: one line each."""
        ran = [b for b in self.store.backfills.since(start) if b.ran_at <= end]
        return channel_backfills(ran, self.config, self.watch_order)

    def digest_of(self, record: DigestRecord) -> Digest:
        hits = self.outbox.hits_of(record.id)
        context = self.context(record.id, record.created, record.period_start or record.created,
                               record.period_end or record.created, _is_alert(record), hits)
        return self.with_trend(build_digest(hits, self.config, self.watch_order, context))

    def with_trend(self, digest: Digest) -> Digest:
        """``digest`` with the last CHART_WEEKS weeks of its programs (design §15), counted up
        to its creation, so a re-send shows the same numbers. Immediate alerts stay short. The
        trend is an extra: when it cannot be counted, the digest goes without it."""
        if digest.immediate or not digest.programs:
            return digest
        try:
            with self.store.translated():
                counts = weekly_counts(self.store.db.conn, items=digest.programs,
                                       weeks=CHART_WEEKS, now=digest.created)
        except ArmswatchError as exc:
            log.warning("channel %s: digest without its trend: %s", self.name, exc)
            return digest
        return replace(digest, trend=trend_of(counts))

    @property
    def domain(self) -> str:
        if isinstance(self.channel, EmailChannel):
            return self.channel.domain
        return "armswatch.invalid"


def _as_delivery_error(channel: str, exc: Exception) -> DeliveryError:
    """``exc`` as the failure to record and report; anything but a DeliveryError is a bug, logged
    with its traceback for whoever fixes it."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, ArmswatchError):      # e.g. the database is locked
        return DeliveryError(str(exc))
    log.error("channel %s: unexpected error while delivering", channel, exc_info=exc)
    return DeliveryError(f"unexpected error ({exc.__class__.__name__}: {clean(str(exc), 200)}); "
                         "see the log for details")


def _send(run: _Run, record: DigestRecord, refusals: int = REFUSALS) -> DeliveryReport:
    """Send ``record``; after its ``refusals``-th refusal for good, mark it failed."""
    digest = run.digest_of(record)
    attempt = record.attempts + 1
    # Counted before sending: if this process dies mid-send, the next run knows it was tried.
    if not run.outbox.record_attempt(record.id, seen_attempts=record.attempts,
                                     next_attempt=run.now + backoff(attempt)):
        return DeliveryReport(run.name, record.id, digest.hit_count,
                              skipped_reason=f"another run is sending digest {record.id}")
    message_id = record.message_id or message_id_for(run.name, record.id, record.created,
                                                     domain=run.domain)
    try:
        note = run.channel.send(digest, message_id=message_id)
    except Exception as raised:   # a channel's bug must not cost the digest or other channels
        exc = _as_delivery_error(run.name, raised)
        level = logging.ERROR if attempt >= REPEATED_FAILURES else logging.WARNING
        log.log(level, "channel %s: digest %d not sent (attempt %d): %s", run.name, record.id,
                attempt, exc)
        failure = DeliveryReport(run.name, record.id, digest.hit_count, error=str(exc),
                                 permanent=exc.permanent, attempt=attempt, refusals=refusals,
                                 refused_message=isinstance(exc, MessageRefused))
        if exc.permanent and attempt >= refusals:
            run.outbox.mark_refused(record.id, error=str(exc))
            return replace(failure, marked_failed=True)
        wait = max(backoff(attempt), timedelta(seconds=exc.retry_after or 0))
        run.outbox.mark_failed(record.id, error=str(exc), next_attempt=run.now + wait)
        return replace(failure, next_attempt=run.now + wait)
    run.outbox.mark_sent(record.id, sent_at=run.now, note=note)
    log.info("channel %s: digest %d sent (%d hits)", run.name, record.id, digest.hit_count)
    return DeliveryReport(run.name, record.id, digest.hit_count, sent=True, note=note)


@dataclass(frozen=True)
class _Plan:
    """The new hits a run would put into a new digest, and the period it covers."""

    hits: list[Hit]
    start: datetime
    backfills: tuple[BackfillRecord, ...] = ()

    @property
    def article_ids(self) -> list[str]:
        return [h.article.id for h in self.hits]


def _plan(run: _Run, only_articles: Collection[str] | None) -> _Plan:
    since = run.outbox.channel_start(run.name) or run.now - run.config.backlog
    hits = run.outbox.undelivered(run.name, since=since, items=run.config.items,
                                  kinds=run.config.kinds, only_articles=only_articles)
    last = run.outbox.last(run.name)
    start = last.period_end if last and last.period_end else since
    # A hit matched late (or held back by an alert) may predate the last digest: cover it.
    start = min([start, *(h.article.first_seen for h in hits)])
    start = min(start, run.now)
    return _Plan(hits, start, () if only_articles is not None else run.backfills(start, run.now))


def _new_digest(run: _Run, only_articles: Collection[str] | None) -> DeliveryReport:
    plan = _plan(run, only_articles)
    immediate = only_articles is not None
    if not plan.article_ids and not plan.backfills and (immediate or not run.config.send_empty):
        return DeliveryReport(run.name, skipped_reason="no new hits")
    if immediate:
        limit = run.config.alerts_per_hour
        if run.outbox.alerts_since(run.name, run.now - timedelta(hours=1)) >= limit:
            return DeliveryReport(run.name, skipped_reason=(
                f"{plural(limit, 'alert')} sent in the last hour already (alerts_per_hour); "
                f"{plural(len(plan.hits), 'new hit')} "
                f"{'waits' if len(plan.hits) == 1 else 'wait'} for the next digest"))
    record = run.outbox.create(
        run.name, plan.article_ids, created=run.now, period_start=plan.start, period_end=run.now,
        message_id=lambda digest_id: message_id_for(run.name, digest_id, run.now,
                                                    domain=run.domain, immediate=immediate))
    if record is None:
        return DeliveryReport(run.name, skipped_reason="another run is delivering to this channel")
    return _send(run, record)


def _preview(run: _Run, only_articles: Collection[str] | None,
             preview_path: Path | None) -> DeliveryReport:
    digests: list[Digest] = []
    pending = run.outbox.pending(run.name)
    if pending is not None:
        digests.append(run.digest_of(pending))
    plan = _plan(run, only_articles)
    immediate = only_articles is not None
    if plan.article_ids or plan.backfills or (run.config.send_empty and not immediate):
        context = run.context(None, run.now, plan.start, run.now, immediate, plan.hits)
        digests.append(run.with_trend(build_digest(plan.hits, run.config, run.watch_order,
                                                   context)))
    if not digests:
        return DeliveryReport(run.name, preview="",
                              skipped_reason="dry run: no new hits, nothing would be sent")
    if preview_path is not None:
        _write_preview(preview_path, render_html(digests[0]))
    return DeliveryReport(run.name, digests[0].digest_id, sum(d.hit_count for d in digests),
                          skipped_reason="dry run: nothing sent or marked",
                          preview="\n".join(render_text(d) for d in digests))


def _write_preview(path: Path, html: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        # Not permanent: it is about the preview file, not the channel's settings.
        raise DeliveryError(f"could not write the preview to {path}: {exc.strerror or exc}"
                            ) from None


def deliver_pending(store: Store, channel: ChannelConfig, *, now: datetime,
                    watch_order: Sequence[tuple[str, str]], dry_run: bool = False,
                    preview_path: Path | None = None,
                    only_articles: Collection[str] | None = None,
                    retry_now: bool = False) -> DeliveryReport:
    """Send ``channel`` what is pending for it; see the module docstring.

    ``watch_order``: (item name, kind) in watch-list order, for ordering groups.
    ``only_articles``: an immediate alert of just these new articles (channels with
    ``immediate = true``). ``retry_now``: re-send a pending digest even before its backoff has
    passed (``armswatch digest`` does). Every failure for this channel — a refused send, a
    database error, a bug in a channel — is reported in the DeliveryReport, never raised, so the
    caller's next channel still gets its digest; DeliveryError is raised only for a naive ``now``.
    """
    if now.tzinfo is None:
        raise DeliveryError("deliver_pending needs an aware UTC time for now", permanent=True)
    if only_articles is not None and not channel.immediate:
        return DeliveryReport(channel.name, skipped_reason="channel does not take immediate alerts")
    try:
        run = _Run(store, DigestOutbox(store), channel, make_channel(channel), now, watch_order)
        if dry_run:
            return _preview(run, only_articles, preview_path)
        return _resend_then_new(run, only_articles, retry_now=retry_now)
    except Exception as raised:   # reported for this channel; the caller goes on to the next
        exc = _as_delivery_error(channel.name, raised)
        return DeliveryReport(channel.name, error=str(exc), permanent=exc.permanent)


def _resend_then_new(run: _Run, only_articles: Collection[str] | None, *,
                     retry_now: bool) -> DeliveryReport:
    retried: DeliveryReport | None = None
    pending = run.outbox.pending(run.name)
    if pending is not None:
        if not retry_now and pending.next_attempt is not None and pending.next_attempt > run.now:
            return _waiting(pending)
        retried = _send(run, pending)
        if not retried.sent and not retried.marked_failed:
            return retried
    report = _new_digest(run, only_articles)
    if retried is not None and report.digest_id is None:
        return replace(retried, retried=None)    # the re-send was all this run did
    return replace(report, retried=retried)


def _waiting(pending: DigestRecord) -> DeliveryReport:
    why = (f"failed before ({pending.last_error})" if pending.last_error
           else "is being sent, or its last run stopped mid-send")
    when = f"{pending.next_attempt:%Y-%m-%d %H:%M} UTC" if pending.next_attempt else "now"
    return DeliveryReport(pending.channel, pending.id, next_attempt=pending.next_attempt,
                          skipped_reason=f"digest {pending.id} {why}; next attempt from {when}")


def due_for_retry(store: Store, channels: Sequence[ChannelConfig],
                  now: datetime) -> list[ChannelConfig]:
    """Channels whose pending digest may be re-sent now (for a retry job between schedules)."""
    outbox = DigestOutbox(store)
    due: list[ChannelConfig] = []
    for channel in channels:
        pending = outbox.pending(channel.name)
        if pending is not None and (pending.next_attempt is None or pending.next_attempt <= now):
            due.append(channel)
    return due


def resend_failed(store: Store, channel: ChannelConfig, digest_id: int, *, now: datetime,
                  watch_order: Sequence[tuple[str, str]]) -> DeliveryReport:
    """Send a failed digest of ``channel`` again, now (`armswatch digest resend`). Refused for
    good once more, it is failed again at once; any other failure leaves it pending, retried
    like any other. DeliveryError when it is not a failed digest of this channel."""
    outbox = DigestOutbox(store)
    record = outbox.get(digest_id)
    if record is None or record.channel != channel.name or record.status != "failed":
        what = "no such digest" if record is None else (
            f"it is a digest of channel {record.channel}" if record.channel != channel.name
            else f"it is {record.status}, not failed")
        raise DeliveryError(f"digest {digest_id} cannot be re-sent: {what}", permanent=True)
    reopened = outbox.reopen(digest_id)
    if reopened is None:
        raise DeliveryError(f"digest {digest_id} cannot be re-sent: another run took it")
    run = _Run(store, outbox, channel, make_channel(channel), now, watch_order)
    return _send(run, reopened, refusals=1)
