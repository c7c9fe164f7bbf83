"""A digest is for a person (design §9): at most max_entries listed, shared between the items,
bursts in one line, every rendering within its size; what is left out is said, with the command
that shows it, and recorded as delivered. Real SQLite files and real channel output."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_digest_support import (
    NOW,
    WATCH_ORDER,
    article,
    channel,
    delivered,
    file_channel,
    match,
    open_store,
    seed,
)

from alerts.caps import FILE_MAX_BYTES
from alerts.delivery import deliver_pending
from storage.store import Store

ETRACE = match("eTrace", "eTrace", snippet="el sistema eTrace de la ATF")
TOPIC = match("arms trafficking", "tráfico de armas", kind="topic",
              snippet="una red de tráfico de armas")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        yield opened


def seed_feeds(store: Store, feeds: int, per_feed: int, title: str = "Story") -> None:
    for f in range(feeds):
        seed(store, [(article(f"f{f}-{i}", feed=f"Feed {f}", title=f"{title} {f}-{i}",
                              first_seen=NOW - timedelta(minutes=i + 1)), [match()])
                     for i in range(per_feed)], feed=f"Feed {f}")


def test_a_flood_of_one_item_cannot_push_out_another_items_hit(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seed_feeds(store, feeds=20, per_feed=25)                 # 500 hits, no feed a burst
    seed(store, [(article("etrace"), [ETRACE]), (article("topic"), [TOPIC])], feed="Other")
    report = deliver_pending(store, channel("c", "stdout", max_entries=10), now=NOW,
                             watch_order=WATCH_ORDER)
    assert report.sent and report.hits == 502
    text = capsys.readouterr().out
    assert "Story etrace" in text and "Story topic" in text  # one listed each
    assert text.count("\n* ") == 10
    assert "Mission Firewall (program) — 500 hits, the newest 8 listed" in text
    assert ("492 more Mission Firewall hits not listed here; see them with: armswatch hits "
            "--item 'Mission Firewall' --since 2025-11-23 --limit 500") in text
    assert len(delivered(store, "c")) == 502                 # none of them is sent again
    again = deliver_pending(store, channel("c", "stdout", max_entries=10),
                            now=NOW + timedelta(hours=1), watch_order=WATCH_ORDER)
    assert again.skipped_reason == "no new hits"


def test_a_burst_is_one_line_and_the_other_feeds_are_listed(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seed_feeds(store, feeds=1, per_feed=51, title="Flood")   # more than burst (50)
    seed(store, [(article("real"), [ETRACE])], feed="Other")
    report = deliver_pending(store, channel("c", "stdout"), now=NOW, watch_order=WATCH_ORDER)
    assert report.sent and report.hits == 52
    text = capsys.readouterr().out
    assert "Flood 0-" not in text and "* Story real" in text
    assert text.splitlines()[2] == "eTrace 1 · burst from Feed 0 51"
    assert ("- Feed 0 produced 51 hits (Mission Firewall 51), first seen 23 Nov 2025 "
            "12:09–12:59: an unusual burst, not listed; see them with: armswatch hits --feed "
            "'Feed 0' --since 2025-11-23 --limit 51") in text
    assert len(delivered(store, "c")) == 52


def test_the_file_channel_stays_within_its_size(store: Store, tmp_path: Path) -> None:
    """The review's 100,000 hits made a 68 MB HTML file. Here 500 may be listed, and each hit,
    escaped ("&" is "&amp;" in HTML), is big enough that 500 would pass FILE_MAX_BYTES."""
    loud = "&" * 400
    for f in range(12):
        seed(store, [(article(f"f{f}-{i}", feed=f"Feed {f}", title="Misión Cortafuegos " + loud,
                              first_seen=NOW - timedelta(minutes=i + 1)),
                      [match(snippet=f"{loud} Misión Cortafuegos {loud}"),
                       match(term="Mission Firewall", snippet=f"Mission Firewall {loud}"),
                       match(term="Misión Firewall", snippet=f"Misión Firewall {loud}")])
                     for i in range(50)], feed=f"Feed {f}")
    folder = file_channel("archive", tmp_path / "digests", max_entries=500)
    report = deliver_pending(store, folder, now=NOW, watch_order=WATCH_ORDER)
    assert report.sent and report.hits == 600
    html = next((tmp_path / "digests").glob("*.html")).read_text(encoding="utf-8")
    assert len(html.encode()) <= FILE_MAX_BYTES
    listed = html.count("<a href=")
    assert 0 < listed < 500                                 # fewer listed, to fit
    assert (f"{600 - listed} more Mission Firewall hits not listed here; see them with: "
            "armswatch hits --item &#x27;Mission Firewall&#x27; --since 2025-11-23 --limit 600"
            ) in html
    markdown = next((tmp_path / "digests").glob("*.md")).read_text(encoding="utf-8")
    assert len(markdown.encode()) <= FILE_MAX_BYTES
