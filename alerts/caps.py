"""How much a digest lists (design §9): a person reads a few dozen hits, not thousands.

A feed that brought more than the channel's ``burst`` hits into one digest is a burst: it is
reported in one line with the command that shows its hits, never listed, so a hostile or broken
feed cannot fill (or wedge) a digest. The other hits are listed up to ``max_entries``, shared
between the watch items in turn, so a flood of one item cannot push out the others; what is not
listed is counted, with the command that shows it. Every rendering also has a size it must fit
(``fit``): fewer hits are listed until it does. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.records import Hit, Kind, Match

# Far below common relay limits (Postfix's default is 10,240,000 bytes).
EMAIL_MAX_BYTES = 1_000_000
FILE_MAX_BYTES = 2_000_000      # each file of the file channel
TEXT_MAX_BYTES = 1_000_000      # the stdout channel
BURST_ITEMS_NAMED = 3


@dataclass(frozen=True)
class Placed:
    """A hit with the matches a channel takes, and the item it is listed under."""

    hit: Hit
    matches: tuple[Match, ...]
    item: str
    kind: Kind
    others: tuple[Hit, ...] = ()    # the story's other reports in this digest, folded under it
    update: bool = False            # the story was in a digest sent before (design §13)


@dataclass(frozen=True)
class Burst:
    """One feed's unusual number of hits in one digest: reported in one line, not listed."""

    feed: str
    hits: int
    items: tuple[tuple[str, int], ...]   # hits per item, most first
    first_seen: datetime                 # the earliest and latest first sighting
    last_seen: datetime
    since: datetime                      # from here, `armswatch hits --since` finds all of them


def utf8_size(text: str) -> int:
    """A rendering's size in bytes, as written to a file or a stream."""
    return len(text.encode("utf-8", "replace"))


def earliest(hits: Sequence[Hit]) -> datetime:
    """The earliest published or first-seen time of ``hits``: `hits --since` filters on the
    published time, which a feed may set to anything, so the earlier of the two."""
    return min(min(h.article.published, h.article.first_seen) for h in hits)


def split_bursts(placed: Sequence[Placed], threshold: int) -> tuple[list[Placed],
                                                                    tuple[Burst, ...]]:
    """The hits to list, and the bursts: feeds with more than ``threshold`` hits."""
    per_feed = Counter(p.hit.article.feed for p in placed)
    loud = {feed for feed, count in per_feed.items() if count > threshold}
    if not loud:
        return list(placed), ()
    kept = [p for p in placed if p.hit.article.feed not in loud]
    bursts = []
    for feed in sorted(loud, key=lambda name: (-per_feed[name], name)):
        mine = [p for p in placed if p.hit.article.feed == feed]
        items = Counter(p.item for p in mine)
        seen = [p.hit.article.first_seen for p in mine]
        bursts.append(Burst(feed=feed, hits=len(mine),
                            items=tuple(sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))),
                            first_seen=min(seen), last_seen=max(seen),
                            since=earliest([p.hit for p in mine])))
    return kept, tuple(bursts)


def allocate(sizes: Sequence[int], limit: int) -> list[int]:
    """How many of each group to list: one from each group in turn (in reading order) until
    ``limit`` are listed or every group is."""
    shares = [0] * len(sizes)
    left = max(limit, 0)
    while left:
        growing = [index for index, size in enumerate(sizes) if shares[index] < size]
        if not growing:
            break
        for index in growing[:left]:
            shares[index] += 1
        left -= min(len(growing), left)
    return shares
