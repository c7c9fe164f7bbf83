"""The digest as data: hits grouped for reading (one entry per story), with what every rendering
needs. Pure: no I/O, the current time and the channel's settings come in as arguments (design
§3)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from alerts.caps import Burst, Placed, allocate, earliest, split_bursts
from alerts.config import ChannelConfig
from alerts.highlight import contains
from alerts.trend import Trend
from storage.backfills import BackfillRecord
from storage.records import Article, FeedState, Field, Hit, Kind, Match

T = TypeVar("T")

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
    # The story's other reports in this digest (design §13), folded under this one, earliest
    # first; and whether a digest sent before told of the story already (then: one update line).
    others: tuple[Article, ...] = ()
    update: bool = False

    @property
    def reports(self) -> int:
        """The hits this entry stands for: itself and the reports folded under it."""
        return 1 + len(self.others)

    @property
    def terms(self) -> tuple[str, ...]:
        """The configured terms that matched, for this item."""
        return tuple(dict.fromkeys(t for e in self.evidence for t in e.terms))


@dataclass(frozen=True)
class Group:
    item: str
    kind: Kind
    entries: tuple[Entry, ...]           # the stories listed (one entry each), newest first
    unlisted: int = 0                    # more hits of this item, left out by the caps
    since: datetime | None = None        # `armswatch hits --since` from here shows them all

    @property
    def total(self) -> int:
        """Hits: those listed, those folded under them, and those left out."""
        return sum(e.reports for e in self.entries) + self.unlisted


@dataclass(frozen=True)
class ChannelFailure:
    """Another channel whose digest keeps failing: named in this digest so someone notices."""

    channel: str
    attempts: int
    error: str
    since: datetime
    failed: int = 0                  # digests refused for good and marked failed (not retried)


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
    bursts: tuple[Burst, ...] = ()   # feeds with an unusual number of hits: one line each
    # Items a backfill gave hits among stored articles (design §14): one line each, not listed.
    backfills: tuple[BackfillRecord, ...] = ()
    # Articles per week of the digest's programs (design §15): a chart in email and files, a
    # sparkline per program in Slack, the numbers in text. None: not counted (or it failed).
    trend: Trend | None = None

    @property
    def programs(self) -> list[str]:
        """The programs the digest lists hits of, in its order."""
        return [g.item for g in self.groups if g.kind == "program"]

    @property
    def hit_count(self) -> int:
        """Every hit the digest carries: listed, left out by the caps, or in a burst."""
        return sum(g.total for g in self.groups) + sum(b.hits for b in self.bursts)

    @property
    def listed(self) -> int:
        return sum(len(g.entries) for g in self.groups)

    @property
    def entries(self) -> list[Entry]:
        return [e for g in self.groups for e in g.entries]

    def listing(self, limit: int) -> Digest:
        """The same digest listing at most ``limit`` hits; the others are counted instead."""
        shares = allocate([len(g.entries) for g in self.groups], limit)
        return replace(self, groups=tuple(
            replace(g, entries=g.entries[:share],
                    unlisted=g.unlisted + sum(e.reports for e in g.entries[share:]))
            for g, share in zip(self.groups, shares, strict=True)))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))


def allowed_matches(hit: Hit, channel: ChannelConfig) -> list[Match]:
    """The matches of ``hit`` that ``channel`` takes (its ``items`` and ``kinds`` restrictions)."""
    items = {name.casefold() for name in channel.items}
    return [m for m in hit.matches
            if (not items or m.item.casefold() in items)
            and (not channel.kinds or m.kind in channel.kinds)]


def channel_backfills(records: Iterable[BackfillRecord], channel: ChannelConfig,
                      watch_order: Sequence[tuple[str, str]]) -> tuple[BackfillRecord, ...]:
    """The backfills of items ``channel`` takes (its ``items`` and ``kinds``)."""
    items = {name.casefold() for name in channel.items}
    kinds = dict(watch_order)
    return tuple(b for b in records if (not items or b.item.casefold() in items)
                 and (not channel.kinds or kinds.get(b.item) in channel.kinds))


class _ItemOrder:
    """Programs before topics; within a kind, the order of the watch list; unknown items last."""

    def __init__(self, watch_order: Sequence[tuple[str, str]]) -> None:
        self._position = {name: index for index, (name, _kind) in enumerate(watch_order)}

    def key(self, item: str, kind: str) -> tuple[int, int, str]:
        return (_KIND_RANK.get(kind, 2), self._position.get(item, len(self._position)),
                item.casefold())


def _place(hit: Hit, channel: ChannelConfig, order: _ItemOrder) -> Placed | None:
    """The hit under the first item (in reading order) that ``channel`` takes; None if none."""
    matches = allowed_matches(hit, channel)
    if not matches:
        return None
    kinds: dict[str, Kind] = {}
    for m in matches:
        kinds.setdefault(m.item, m.kind)
    item = min(kinds, key=lambda name: order.key(name, kinds[name]))
    return Placed(hit, tuple(matches), item, kinds[item])


def _entry(placed: Placed, order: _ItemOrder) -> Entry:
    # Evidence is worked out only for hits that are listed: it is the costly part.
    kinds = {m.item: m.kind for m in placed.matches}
    others = sorted((name for name in kinds if name != placed.item),
                    key=lambda name: order.key(name, kinds[name]))
    mine = [m for m in placed.matches if m.item == placed.item]
    return Entry(article=placed.hit.article, item=placed.item, evidence=group_evidence(mine),
                 also=tuple(others), others=tuple(h.article for h in placed.others),
                 update=placed.update)


def one_per_story(placed: Sequence[Placed], stories: Mapping[str, str],
                  sent: Collection[str]) -> list[Placed]:
    """Each story once: its earliest report (the original, whose headline is shown) with the
    others folded under it, marked as an update when a digest sent before told of the story.
    A hit in no story stands alone."""
    by_story: dict[str, list[Placed]] = {}
    for one in placed:
        article = one.hit.article
        by_story.setdefault(stories.get(article.id, f"article:{article.id}"), []).append(one)
    found = []
    for story, members in by_story.items():
        lead, *rest = sorted(members, key=lambda p: (p.hit.article.published, p.hit.article.id))
        found.append(replace(lead, others=tuple(p.hit for p in rest), update=story in sent))
    return found


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


def _newest_first(placed: Placed) -> tuple[float, float, str]:
    a = placed.hit.article
    return (-a.published.timestamp(), -a.first_seen.timestamp(), a.id)


def _groups(placed: Iterable[Placed], order: _ItemOrder, limit: int | None) -> tuple[Group, ...]:
    by_item: dict[str, list[Placed]] = {}
    for one in placed:
        by_item.setdefault(one.item, []).append(one)
    items = sorted(by_item, key=lambda name: order.key(name, by_item[name][0].kind))
    members = [sorted(by_item[name], key=_newest_first) for name in items]
    sizes = [len(m) for m in members]
    shares = sizes if limit is None else allocate(sizes, limit)
    return tuple(Group(item=name, kind=mine[0].kind,
                       entries=tuple(_entry(p, order) for p in mine[:share]),
                       unlisted=sum(1 + len(p.others) for p in mine[share:]),
                       since=earliest([h for p in mine for h in (p.hit, *p.others)]))
                 for name, mine, share in zip(items, members, shares, strict=True))


def group_hits(hits: Iterable[Hit], channel: ChannelConfig,
               watch_order: Sequence[tuple[str, str]],
               limit: int | None = None) -> tuple[Group, ...]:
    """Each hit once, under its first item (programs first, then topics), newest first; at most
    ``limit`` listed, shared between the items in turn."""
    order = _ItemOrder(watch_order)
    placed = [p for hit in hits if (p := _place(hit, channel, order)) is not None]
    return _groups(placed, order, limit)


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
    backfills: tuple[BackfillRecord, ...] = ()
    stories: Mapping[str, str] = field(default_factory=dict)   # article id -> story id
    sent_stories: frozenset[str] = frozenset()   # stories a digest sent before told of


def build_digest(hits: Iterable[Hit], channel: ChannelConfig,
                 watch_order: Sequence[tuple[str, str]], context: DigestContext) -> Digest:
    """The digest of ``hits`` for ``channel``: bursts set apart, at most ``max_entries``
    listed (caps.py)."""
    order = _ItemOrder(watch_order)
    placed = [p for hit in hits if (p := _place(hit, channel, order)) is not None]
    kept, bursts = split_bursts(placed, channel.burst)
    kept = one_per_story(kept, context.stories, context.sent_stories)
    return Digest(channel=channel.name, digest_id=context.digest_id, created=context.created,
                  period_start=context.period_start, period_end=context.period_end,
                  timezone=channel.timezone, groups=_groups(kept, order, channel.max_entries),
                  failing_feeds=context.failing_feeds,
                  failing_channels=tuple(f for f in context.failing_channels
                                         if f.channel != channel.name),
                  immediate=context.immediate, bursts=bursts,
                  backfills=channel_backfills(context.backfills, channel, watch_order))


def fit(digest: Digest, render: Callable[[Digest], T], size: Callable[[T], int],
        limit: int) -> T:
    """``digest`` rendered, listing fewer hits (half each time) until its size is at most
    ``limit``; what is no longer listed is counted in the rendering instead."""
    rendered = render(digest)
    while size(rendered) > limit and digest.listed:
        digest = digest.listing(digest.listed // 2)
        rendered = render(digest)
    return rendered
