"""Story grouping measured on reports labelled by event (tests/data/stories/), through the real
path: matched with the shipped watch list, stored in a SQLite file, placed as a poll places them,
and regrouped by a rebuild. Pairwise precision and recall, and the share of same-event pairs in
two languages that are found."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from builders import SHIPPED_WATCH, labelled_reports

from monitor.matching import WatchList
from monitor.stories import Rules, place_unplaced, rebuild
from storage.records import Article, FeedState
from storage.store import Store

WATCH = WatchList(SHIPPED_WATCH)


@dataclass(frozen=True)
class Figures:
    precision: float
    recall: float
    cross_language: float
    pairs: int

    def __str__(self) -> str:
        return (f"precision {self.precision:.3f}  recall {self.recall:.3f}  cross-language "
                f"recall {self.cross_language:.3f}  ({self.pairs} same-event pairs)")


def store_reports(store: Store, reports: Sequence[Article]) -> list[str]:
    """Save each report as its feed's poll would: matched, one feed's write at a time."""
    ids = []
    for article in reports:
        matches = WATCH.match(article.title, article.summary, article.content)
        assert matches, f"{article.url} matches nothing in the shipped watch list"
        store.save_feed_result(FeedState(name=article.feed, url=f"https://{article.feed}"),
                               [article], {article.id: matches})
        ids.append(article.id)
    return ids


def figures(labelled: Sequence[tuple[Article, str]], story: dict[str, str]) -> Figures:
    found = right = same = same_found = cross = cross_found = 0
    for (a, event_a), (b, event_b) in itertools.combinations(labelled, 2):
        together = story[a.id] == story[b.id]
        found += together
        right += together and event_a == event_b
        if event_a == event_b:
            same += 1
            same_found += together
            if a.language != b.language:
                cross += 1
                cross_found += together
    return Figures(precision=right / found if found else 1.0, recall=same_found / same,
                   cross_language=cross_found / cross, pairs=same)


def grouped(tmp_path: Path, name: str, *, shuffle: int | None = None) -> dict[str, str]:
    labelled = labelled_reports(name)
    reports = [a for a, _ in labelled]
    if shuffle is not None:
        random.Random(shuffle).shuffle(reports)
    with Store.open(tmp_path / f"{name}-{shuffle}.db") as store:
        ids = store_reports(store, reports)
        place_unplaced(store, Rules(), among=ids)   # a backlog polled at once
        return store.stories.of_articles(ids)


@pytest.mark.parametrize("name", ["tuning", "heldout", "heldout2"])
def test_grouping_meets_its_targets(tmp_path: Path, name: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    labelled = labelled_reports(name)
    result = figures(labelled, grouped(tmp_path, name))
    with capsys.disabled():
        print(f"\nstories, {name} set ({len(labelled)} reports, "
              f"{len({e for _, e in labelled})} events): {result}")
    assert len({e for _, e in labelled}) >= 6
    assert result.precision >= 0.95
    assert result.recall >= 0.85
    assert result.cross_language >= 0.7


def test_the_labelled_set_is_big_enough() -> None:
    sets = [labelled_reports(name) for name in ("tuning", "heldout", "heldout2")]
    assert sum(len(s) for s in sets) >= 90
    assert sum(len({e for _, e in s}) for s in sets) >= 25


def test_a_backlog_groups_the_same_in_any_arrival_order(tmp_path: Path) -> None:
    first = grouped(tmp_path, "tuning", shuffle=1)
    assert grouped(tmp_path, "tuning", shuffle=2) == first
    assert grouped(tmp_path, "tuning") == first


def test_a_rebuild_regroups_alike_and_is_deterministic(tmp_path: Path) -> None:
    """One poll at a time, then a rebuild twice: the rebuild gives the backlog's grouping, and
    the same ids each time; every hit is in exactly one story."""
    labelled = labelled_reports("tuning")
    with Store.open(tmp_path / "one-by-one.db") as store:
        ids = []
        for article in sorted((a for a, _ in labelled), key=lambda a: a.published):
            ids += store_reports(store, [article])
            place_unplaced(store, Rules(), among=ids[-1:])
        rebuild(store, Rules())
        once = store.stories.of_articles(ids)
        rebuild(store, Rules())
        assert store.stories.of_articles(ids) == once
        assert sorted(once) == sorted(ids)
        assert sum(len(s.reports) for s in store.stories.query(limit=1000)) == len(ids)
    assert once == grouped(tmp_path, "tuning")
