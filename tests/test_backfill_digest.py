"""Backfilled hits in digests (design §14): never an immediate alert, and one line per item in
the next digest instead of one entry per article. A real store, real file channel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from test_digest_support import NOW, SHIPPED_ORDER, article, file_channel, matched, open_store, seed

from alerts.delivery import deliver_pending
from monitor.matching import backfill
from monitor.settings import WatchItem

PAPER_TRAIL = WatchItem(name="Operation Paper Trail", kind="program",
                        terms=("Operation Paper Trail",), priority="high")
ORDER = [*SHIPPED_ORDER, (PAPER_TRAIL.name, PAPER_TRAIL.kind)]


def test_backfilled_hits_reach_a_digest_as_one_line_per_item_and_never_as_alerts(
        tmp_path: Path) -> None:
    old = [(article(f"old-{n}", title=f"Operation Paper Trail: buyer {n} charged",
                    first_seen=NOW - timedelta(minutes=50 - n)), []) for n in range(37)]
    live = matched("live", "https://news.example.org/live",
                   title="Misión Cortafuegos asegura armas en Sonora")
    desk = file_channel("desk", tmp_path / "digests", immediate=True)
    with open_store(tmp_path) as store:
        seed(store, [*old, live])
        run = backfill(store, [PAPER_TRAIL], since=None, now=NOW)
        assert [(r.item, r.articles) for r in run.recorded] == [(PAPER_TRAIL.name, 37)]

        alert = deliver_pending(store, desk, now=NOW + timedelta(minutes=1),
                                watch_order=ORDER, only_articles=[a.id for a, _ in old])
        assert alert.skipped_reason == "no new hits"

        report = deliver_pending(store, desk, now=NOW + timedelta(minutes=2), watch_order=ORDER)
        assert report.error is None and report.digest_id is not None

    (text,) = [p.read_text(encoding="utf-8") for p in (tmp_path / "digests").glob("*.md")]
    assert "Misión Cortafuegos asegura armas en Sonora" in text          # the live hit, listed
    assert "buyer" not in text                                            # none of the 37
    lines = [line for line in text.splitlines() if "Operation Paper Trail" in line]
    assert lines == ["- new watch item Operation Paper Trail matched 37 stored articles — see "
                     "them with: armswatch hits --item 'Operation Paper Trail' --limit 37"]


def test_a_digest_with_only_a_backfill_is_sent_once(tmp_path: Path) -> None:
    old = [(article(f"old-{n}", title=f"Operation Paper Trail: buyer {n} charged"), [])
           for n in range(3)]
    desk = file_channel("desk", tmp_path / "digests")
    with open_store(tmp_path) as store:
        seed(store, old)
        backfill(store, [PAPER_TRAIL], since=NOW - timedelta(days=30), now=NOW)
        first = deliver_pending(store, desk, now=NOW + timedelta(minutes=1), watch_order=ORDER)
        second = deliver_pending(store, desk, now=NOW + timedelta(minutes=2), watch_order=ORDER)
    assert first.digest_id is not None and first.error is None
    assert second.skipped_reason == "no new hits"
    (text,) = [p.read_text(encoding="utf-8") for p in (tmp_path / "digests").glob("*.md")]
    since = f"{NOW - timedelta(days=30):%Y-%m-%d}"
    assert ("- new watch item Operation Paper Trail matched 3 stored articles — see them with: "
            f"armswatch hits --item 'Operation Paper Trail' --since {since} --limit 3"
            ) in text.splitlines()
