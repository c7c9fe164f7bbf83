"""Hands stored hits to the digest channels: scheduled digests, `armswatch digest`, and the
immediate alerts of high-priority items found by a poll.

Delivery is synchronous (smtplib; a Slack 429 may be waited out), so the service runs it in a
worker thread with a Store opened in that thread: an SQLite connection cannot cross threads, and
WAL lets it read and write beside the poller's connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

from alerts.config import ChannelConfig
from alerts.delivery import deliver_pending, due_for_retry, resend_failed
from alerts.report import DeliveryReport
from monitor.settings import WatchItem
from storage.store import Store

log = logging.getLogger("armswatch")


def watch_order(items: Sequence[WatchItem]) -> list[tuple[str, str]]:
    return [(item.name, item.kind) for item in items]


def deliver(db_path: Path, channels: Sequence[ChannelConfig], watch: Sequence[WatchItem], *,
            now: datetime | None = None, dry_run: bool = False, preview_path: Path | None = None,
            only_articles: Collection[str] | None = None,
            retry_now: bool = False) -> list[DeliveryReport]:
    """Deliver what is pending to each channel, one after the other, in the calling thread."""
    moment = now or datetime.now(UTC)
    with Store.open(db_path) as store:
        return _deliver(store, channels, watch, now=moment, dry_run=dry_run,
                        preview_path=preview_path, only_articles=only_articles,
                        retry_now=retry_now)


def _deliver(store: Store, channels: Sequence[ChannelConfig], watch: Sequence[WatchItem], *,
             now: datetime, dry_run: bool = False, preview_path: Path | None = None,
             only_articles: Collection[str] | None = None,
             retry_now: bool = False) -> list[DeliveryReport]:
    # deliver_pending reports any failure of its channel (a refused send, a database error, a
    # bug) in its DeliveryReport instead of raising, so every channel of the list gets its turn.
    return [deliver_pending(store, channel, now=now, watch_order=watch_order(watch),
                            dry_run=dry_run, preview_path=preview_path,
                            only_articles=only_articles, retry_now=retry_now)
            for channel in channels]


def resend(db_path: Path, digests: Sequence[tuple[int, ChannelConfig]],
           watch: Sequence[WatchItem]) -> list[DeliveryReport]:
    """Send failed digests again, each through its channel (`armswatch digest resend`)."""
    now = datetime.now(UTC)
    with Store.open(db_path) as store:
        return [resend_failed(store, channel, digest_id, now=now, watch_order=watch_order(watch))
                for digest_id, channel in digests]


def retry_due(db_path: Path, channels: Sequence[ChannelConfig],
              watch: Sequence[WatchItem]) -> list[DeliveryReport]:
    """Re-send the failed digests whose backoff has passed (between scheduled runs)."""
    if not channels:
        return []
    now = datetime.now(UTC)
    with Store.open(db_path) as store:
        due = due_for_retry(store, channels, now)
        return _deliver(store, due, watch, now=now)


async def send_alerts(db_path: Path, channels: Sequence[ChannelConfig],
                      watch: Sequence[WatchItem],
                      alert_ids: Collection[str]) -> list[DeliveryReport]:
    """Immediate alerts: the new high-priority hits, to the channels that take them."""
    takers = [c for c in channels if c.immediate]
    if not alert_ids or not takers:
        return []
    reports = await asyncio.to_thread(deliver, db_path, takers, watch,
                                      only_articles=list(alert_ids))
    log_reports(reports)
    return reports


def log_reports(reports: Sequence[DeliveryReport]) -> None:
    """One line per digest sent or failed; a run with nothing to send stays quiet."""
    for report in reports:
        fields = {"event": "digest", "channel": report.channel, "digest_id": report.digest_id,
                  "hits": report.hits, "sent": report.sent, "error": report.error}
        if report.failed:
            log.warning("digest: %s", report.summary(), extra={"fields": fields})
        elif report.sent or report.retried is not None:
            log.info("digest: %s", report.summary(), extra={"fields": fields})
