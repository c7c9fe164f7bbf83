"""The digest as data: hits grouped for reading, with what every rendering needs. Pure: no I/O,
the current time and the channel's settings come in as arguments (design §3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.config import ChannelConfig
from alerts.highlight import contains
from storage.records import Article, FeedState, Field, Hit, Kind, Match

_KIND_RANK: dict[str, int] = {"program": 0, "topic": 1}
_FIELD_RANK: dict[str, int] = {"title": 0, "summary": 1, "content": 2, "body": 3}


@dataclass(frozen=True)
class Evidence:
    """Terms found in one field, with a snippet of that field in which each of them appears."""

    field: Field
    terms: tuple[str, ...]          # configured terms, each matched in this very field
    snippet: str
    marks: tuple[str, ...]          # every term matched in this field: what to highlight


@dataclass(frozen=True)
class Entry:
    """One hit as a digest shows it, under the first item it matches."""

    article: Article
    item: str
    evidence: tuple[Evidence, ...]  # for this item, by field (title first), fewest snippets
    also: tuple[str, ...] = ()      # other items of this channel the article matches

    @property
    def terms(self) -> tuple[str, ...]:
        """The configured terms that matched, for this item."""
        return tuple(dict.fromkeys(t for e in self.evidence for t in e.terms))


@dataclass(frozen=True)
class Group:
    item: str
    kind: Kind
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class ChannelFailure:
    """Another channel whose digest keeps failing: named in this digest so someone notices."""

    channel: str
    attempts: int
    error: str
    since: datetime


@dataclass(frozen=True)
class Digest:
    channel: str
    digest_id: int | None            # None: a preview of hits not yet recorded
    created: datetime                # UTC; part of the stable Message-ID
    period_start: datetime
    period_end: datetime
    timezone: str                    # for showing times to the reader
    groups: tuple[Group, ...] = ()
    failing_feeds: tuple[FeedState, ...] = ()
    failing_channels: tuple[ChannelFailure, ...] = ()
    immediate: bool = False          # a high-priority alert rather than a scheduled digest

    @property
    def hit_count(self) -> int:
        return sum(len(g.entries) for g in self.groups)

    @property
    def entries(self) -> list[Entry]:
        return [e for g in self.groups for e in g.entries]

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))


def allowed_matches(hit: Hit, channel: ChannelConfig) -> list[Match]:
    """The matches of ``hit`` that ``channel`` takes (its ``items`` and ``kinds`` restrictions)."""
    items = {name.casefold() for name in channel.items}
    return [m for m in hit.matches
            if (not items or m.item.casefold() in items)
            and (not channel.kinds or m.kind in channel.kinds)]


class _ItemOrder:
    """Programs before topics; within a kind, the order of the watch list; unknown items last."""

    def __init__(self, watch_order: Sequence[tuple[str, str]]) -> None:
        self._position = {name: index for index, (name, _kind) in enumerate(watch_order)}

    def key(self, item: str, kind: str) -> tuple[int, int, str]:
        return (_KIND_RANK.get(kind, 2), self._position.get(item, len(self._position)),
                item.casefold())


def _entry(hit: Hit, matches: list[Match], order: _ItemOrder) -> Entry:
    kinds: dict[str, str] = {}
    for m in matches:
        kinds.setdefault(m.item, m.kind)
    items = sorted(kinds, key=lambda name: order.key(name, kinds[name]))
    item = items[0]
    mine = [m for m in matches if m.item == item]
    return Entry(article=hit.article, item=item, evidence=group_evidence(mine),
                 also=tuple(items[1:]))


def group_evidence(matches: Sequence[Match]) -> tuple[Evidence, ...]:
    """Per field, the fewest snippets that show every term matched there.

    Each match carries a snippet around its own term; when another term of the same field also
    appears in it, one snippet serves both. A term is never listed under a field it was not
    matched in, nor beside a snippet it does not appear in.
    """
    by_field: dict[Field, list[Match]] = {}
    for m in sorted(matches, key=lambda m: _FIELD_RANK.get(m.field, len(_FIELD_RANK))):
        by_field.setdefault(m.field, []).append(m)
    found: list[Evidence] = []
    for name, mine in by_field.items():
        terms = tuple(dict.fromkeys(m.term for m in mine))
        left = list(terms)
        while left:
            # The snippet that shows most of the terms still to show; the earlier one on a tie.
            best = max(mine, key=lambda m: len(_shown_in(m, left)))
            shown = _shown_in(best, left)
            found.append(Evidence(field=name, terms=shown, snippet=best.snippet, marks=terms))
            left = [t for t in left if t not in shown]
    return tuple(found)


def _shown_in(match: Match, terms: Sequence[str]) -> tuple[str, ...]:
    """The terms ``match``'s snippet shows: its own term always (it was found there), others
    when they appear in the snippet."""
    return tuple(t for t in terms if t == match.term or contains(match.snippet, t))


def _newest_first(entry: Entry) -> tuple[float, float, str]:
    a = entry.article
    return (-a.published.timestamp(), -a.first_seen.timestamp(), a.id)


def group_hits(hits: Iterable[Hit], channel: ChannelConfig,
               watch_order: Sequence[tuple[str, str]]) -> tuple[Group, ...]:
    """Each hit once, under its first item (programs first, then topics), newest first."""
    order = _ItemOrder(watch_order)
    by_item: dict[str, list[Entry]] = {}
    kinds: dict[str, Kind] = {}
    for hit in hits:
        matches = allowed_matches(hit, channel)
        if not matches:
            continue
        entry = _entry(hit, matches, order)
        by_item.setdefault(entry.item, []).append(entry)
        kinds.setdefault(entry.item, next(m.kind for m in matches if m.item == entry.item))
    items = sorted(by_item, key=lambda name: order.key(name, kinds[name]))
    return tuple(Group(item=name, kind=kinds[name],
                       entries=tuple(sorted(by_item[name], key=_newest_first)))
                 for name in items)


@dataclass(frozen=True)
class DigestContext:
    """What a digest says besides its hits: the period and the health of feeds and channels."""

    digest_id: int | None
    created: datetime
    period_start: datetime
    period_end: datetime
    failing_feeds: tuple[FeedState, ...] = ()
    failing_channels: tuple[ChannelFailure, ...] = field(default_factory=tuple)
    immediate: bool = False


def build_digest(hits: Iterable[Hit], channel: ChannelConfig,
                 watch_order: Sequence[tuple[str, str]], context: DigestContext) -> Digest:
    return Digest(channel=channel.name, digest_id=context.digest_id, created=context.created,
                  period_start=context.period_start, period_end=context.period_end,
                  timezone=channel.timezone, groups=group_hits(hits, channel, watch_order),
                  failing_feeds=context.failing_feeds,
                  failing_channels=tuple(f for f in context.failing_channels
                                         if f.channel != channel.name),
                  immediate=context.immediate)
