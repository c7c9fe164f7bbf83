"""Matching articles against the watch list (design §6). Pure: no I/O, no clock.

Every configured phrase (terms, guarded terms, context and exclude terms, and the joined and spaced
forms of hyphenated ones) is folded with ``normalise`` and put, padded with one space on each side,
into a single Aho-Corasick automaton. A field is folded once, padded the same way and scanned once:
padding makes every hit a whole-word hit. Terms written in capitals only are checked against the
original text, which happens only when the lower-case form was found.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import ahocorasick

from monitor.matching.normalise import OffsetMap, normalise, normalise_keep_case, normalise_mapped
from monitor.settings import WatchItem
from storage.records import Field, Match

Role = Literal["term", "guarded", "context", "exclude"]

FIELDS: tuple[Field, ...] = ("title", "summary", "content", "body")
SNIPPET_WIDTH = 160
_HYPHENS = re.compile("[-\u2010\u2011]")
_VISIBLE = re.compile(r"\S")
_SHOWN_CONTEXT = 5             # context terms listed when a guarded term lacked one
_MAX_HYPHEN_COMBINATIONS = 4   # beyond 2**4 spellings keep only all-joined and all-spaced


@dataclass(frozen=True)
class _Entry:
    """One configured phrase of one item, as stored in the automaton."""

    role: Role
    item: int                 # index in WatchList.items
    term: str                 # as configured
    order: int                # rank among the item's terms and guarded terms, for ordering
    caps: bool                # written in capitals only: matches capitals only


@dataclass(frozen=True)
class _Hit:
    field: Field
    entry: _Entry
    start: int                # span in the folded text of the field
    end: int


@dataclass(frozen=True)
class ItemExplanation:
    """Why one watch item does or does not match a text."""

    name: str
    kind: Literal["program", "topic"]
    priority: str
    matched: bool
    terms: tuple[str, ...] = ()                    # terms found (they always count)
    guarded_counted: tuple[str, ...] = ()          # guarded terms found with a context term
    guarded_ignored: tuple[str, ...] = ()          # guarded terms found without context
    context: tuple[str, ...] = ()                  # context terms found
    needed_context: tuple[str, ...] = ()           # the item's context terms, for the message
    excluded_by: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()

    def lines(self) -> list[str]:
        label = f"{self.name} ({self.kind}{', high priority' if self.priority == 'high' else ''})"
        out = [f"{'MATCH' if self.matched else 'no match'}: {label}"]
        snippets = {m.term: m.snippet for m in self.matches}
        for term in self.terms:
            out.append(f'  term "{term}" found' + _quoted(snippets.get(term)))
        for term in self.guarded_counted:
            out.append(f'  guarded term "{term}" found, with context "{self.context[0]}"'
                       + _quoted(snippets.get(term)))
        for term in self.guarded_ignored:
            wanted = ", ".join(f'"{c}"' for c in self.needed_context[:_SHOWN_CONTEXT])
            if len(self.needed_context) > _SHOWN_CONTEXT:
                wanted += f" or {len(self.needed_context) - _SHOWN_CONTEXT} more"
            out.append(f'  guarded term "{term}" found but no context term '
                       f"(needs one of: {wanted}): not counted")
        if self.excluded_by:
            out.append("  excluded by " + ", ".join(f'"{t}"' for t in self.excluded_by)
                       + ": nothing counts for this item")
        return out


def _quoted(snippet: str | None) -> str:
    return f": {snippet}" if snippet else ""


@dataclass(frozen=True)
class Explanation:
    """What ``WatchList.explain`` found, item by item (items with nothing found are left out)."""

    items: tuple[ItemExplanation, ...]
    matches: tuple[Match, ...] = field(default=())

    @property
    def matched(self) -> list[str]:
        return [item.name for item in self.items if item.matched]

    def lines(self) -> list[str]:
        names = self.matched
        if names:
            head = f"Matches {len(names)} item{'s' if len(names) > 1 else ''}: " + ", ".join(names)
        else:
            head = "Matches no watch item."
        out = [head]
        for item in self.items:
            out.extend(item.lines())
        return out


@dataclass
class _Findings:
    """Everything found in one article, item by item, before the rules are applied."""

    terms: dict[int, list[_Hit]] = field(default_factory=dict)
    guarded: dict[int, list[_Hit]] = field(default_factory=dict)
    context: dict[int, list[str]] = field(default_factory=dict)
    exclude: dict[int, list[str]] = field(default_factory=dict)

    def add(self, hit: _Hit) -> None:
        entry = hit.entry
        if entry.role in ("term", "guarded"):
            bucket = self.terms if entry.role == "term" else self.guarded
            bucket.setdefault(entry.item, []).append(hit)
        else:
            found = (self.context if entry.role == "context" else self.exclude)
            names = found.setdefault(entry.item, [])
            if entry.term not in names:
                names.append(entry.term)

    def counted(self, item: int) -> list[_Hit]:
        if item in self.exclude:
            return []
        hits = list(self.terms.get(item, ()))
        if item in self.context:
            hits.extend(self.guarded.get(item, ()))
        return hits


class WatchList:
    """The watch items, compiled for matching many articles."""

    def __init__(self, items: Sequence[WatchItem]) -> None:
        self._items = tuple(items)
        self._automaton: Any = ahocorasick.Automaton()
        patterns: dict[str, list[_Entry]] = {}
        for index, item in enumerate(self._items):
            for pattern, entry in _entries(index, item):
                patterns.setdefault(pattern, []).append(entry)
        for pattern, entries in patterns.items():
            # The items this pattern is a term or guarded term of: only they can match.
            counted = frozenset(e.item for e in entries if e.role in ("term", "guarded"))
            self._automaton.add_word(pattern, (len(pattern), tuple(entries), counted))
        self._empty = not patterns
        if not self._empty:
            self._automaton.make_automaton()
        # programs first, then topics; within each, the order of the watch list
        self._rank = {i: (item.kind != "program", i) for i, item in enumerate(self._items)}

    @property
    def items(self) -> tuple[WatchItem, ...]:
        return self._items

    def priority(self, item_name: str) -> str:
        """The item's priority; "normal" for a name no longer in the watch list."""
        for item in self._items:
            if item.name == item_name:
                return item.priority
        return "normal"

    def match(self, title: str, summary: str, content: str = "", body: str = "") -> list[Match]:
        """Evidence for every item the article matches: one Match per (item, term, field).
        ``body`` is the text of the article's page (monitor/pages/), when it was fetched."""
        texts: dict[Field, str] = {"title": title, "summary": summary, "content": content,
                                   "body": body}
        maps: dict[Field, OffsetMap] = {}
        findings = self._find(texts, maps)
        if findings is None:
            return []
        matches: list[Match] = []
        found = findings.terms.keys() | findings.guarded.keys()
        for item in sorted(found, key=self._rank.__getitem__):
            matches.extend(self._item_matches(item, findings.counted(item), texts, maps))
        return matches

    def explain(self, text: str) -> Explanation:
        """Which items a text (taken as an article's content) matches, and why."""
        texts: dict[Field, str] = {"title": "", "summary": "", "content": text}
        maps: dict[Field, OffsetMap] = {}
        findings = self._find(texts, maps)
        if findings is None:
            return Explanation(items=())
        found = findings.terms.keys() | findings.guarded.keys()
        explained: list[ItemExplanation] = []
        for item in sorted(found, key=self._rank.__getitem__):
            matches = self._item_matches(item, findings.counted(item), texts, maps)
            explained.append(self._explain_item(item, findings, matches))
        everything = tuple(m for e in explained for m in e.matches)
        return Explanation(items=tuple(explained), matches=everything)

    def _explain_item(self, item: int, findings: _Findings,
                      matches: list[Match]) -> ItemExplanation:
        config = self._items[item]
        excluded = tuple(findings.exclude.get(item, ()))
        context = tuple(findings.context.get(item, ()))
        # A phrase found only inside a longer one of the same item ("Firewall" inside
        # "Operation Firewall") is not worth a line.
        shown = _outermost([*findings.terms.get(item, ()), *findings.guarded.get(item, ())])
        guarded = _unique(hit.entry.term for hit in shown if hit.entry.role == "guarded")
        return ItemExplanation(
            name=config.name, kind=config.kind, priority=config.priority,
            matched=bool(matches),
            terms=_unique(hit.entry.term for hit in shown if hit.entry.role == "term"),
            guarded_counted=guarded if context else (),
            guarded_ignored=() if context else guarded,
            context=context, needed_context=config.context,
            excluded_by=excluded, matches=tuple(matches))

    def _find(self, texts: dict[Field, str], maps: dict[Field, OffsetMap]) -> _Findings | None:
        """Scan every field once; None when no term or guarded term was found (the common case).

        Context and exclude terms only matter to an item whose own terms were found, and common
        words ("border", "armas") are context of many items: their hits are kept only for the
        items that can match, so an article without a term costs no more than the scan.
        """
        if self._empty:
            return None
        found: list[tuple[Field, int, int, tuple[_Entry, ...]]] = []
        candidates: set[int] = set()
        folded: dict[Field, str] = {}
        unfolded: dict[Field, str | None] = {}
        iterate = self._automaton.iter
        for name, text in texts.items():
            if not text:
                continue
            folded[name], unfolded[name] = normalise_mapped(text)
            for end, (length, entries, counted) in iterate(" " + folded[name] + " "):
                found.append((name, end, length, entries))
                if counted:
                    candidates |= counted
        if not candidates:
            return None
        for name, text in folded.items():  # snippets map positions back with the folded text
            maps.setdefault(name, OffsetMap(texts[name], text, unfolded[name]))
        findings = _Findings()
        capitals = _Capitals(texts, folded, maps)
        for name, end, length, entries in found:
            start = end - length + 1            # padded; folded text starts one earlier
            for entry in entries:
                if entry.item in candidates:
                    hit = _Hit(name, entry, start, end - 1)
                    if not entry.caps or capitals.check(hit):
                        findings.add(hit)
        return findings

    def _item_matches(self, item: int, hits: list[_Hit], texts: dict[Field, str],
                      maps: dict[Field, OffsetMap]) -> list[Match]:
        config = self._items[item]
        first: dict[tuple[Field, str], _Hit] = {}
        for hit in _outermost(hits):
            key = (hit.field, hit.entry.term)
            if key not in first or hit.start < first[key].start:
                first[key] = hit
        ordered = sorted(first.values(), key=lambda h: (FIELDS.index(h.field), h.entry.order))
        return [Match(item=config.name, kind=config.kind, term=hit.entry.term, field=hit.field,
                      snippet=_snippet(hit, texts, maps)) for hit in ordered]


def _entries(index: int, item: WatchItem) -> Iterable[tuple[str, _Entry]]:
    """(padded folded pattern, entry) for every phrase of an item; one entry per pattern and role.

    When two terms fold alike ("e-Trace", "E-Trace"), or a term's joined form equals another term
    ("eTrace"), the pattern keeps the first: plain forms before joined or spaced variants.
    """
    seen: set[tuple[str, str, bool]] = set()
    counted: list[tuple[Role, str]] = [("term", t) for t in item.terms]
    counted += [("guarded", t) for t in item.guarded]
    others: list[tuple[Role, str]] = [("context", t) for t in item.context]
    others += [("exclude", t) for t in item.exclude]
    ranked = list(enumerate(counted)) + [(len(counted) + i, p) for i, p in enumerate(others)]
    for variant in (False, True):
        for order, (role, term) in ranked:
            forms = hyphen_variants(term) if variant else [normalise(term)]
            family = "counted" if role in ("term", "guarded") else role
            caps = term.isupper()
            for form in forms:
                # A capitals-only "NIBIN" and a plain "nibin" both stay: they match differently.
                if not form or (family, form, caps) in seen:
                    continue
                seen.add((family, form, caps))
                yield f" {form} ", _Entry(role, index, term, order, caps)


def hyphen_variants(term: str) -> list[str]:
    """Joined and spaced spellings of a hyphenated term ("e-Trace": "etrace", "e trace")."""
    parts = _HYPHENS.split(term)
    if len(parts) == 1:
        return []
    gaps = len(parts) - 1
    if gaps > _MAX_HYPHEN_COMBINATIONS:
        joins: Iterable[tuple[str, ...]] = [("",) * gaps, (" ",) * gaps]
    else:
        joins = itertools.product(("", " "), repeat=gaps)
    forms = []
    for join in joins:
        spelled = parts[0] + "".join(j + p for j, p in zip(join, parts[1:], strict=True))
        forms.append(normalise(spelled))
    return forms


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _offset_map(name: Field, texts: dict[Field, str], maps: dict[Field, OffsetMap]) -> OffsetMap:
    if name not in maps:
        maps[name] = OffsetMap(texts[name])
    return maps[name]


class _Capitals:
    """Tells whether a hit of a capitals-only term is written in capitals in the original."""

    def __init__(self, texts: dict[Field, str], folded: dict[Field, str],
                 maps: dict[Field, OffsetMap]) -> None:
        self._texts, self._folded, self._maps = texts, folded, maps
        self._kept: dict[Field, str | None] = {}

    def check(self, hit: _Hit) -> bool:
        kept = self._kept_case(hit.field)
        if kept is not None:
            word = kept[hit.start:hit.end]
            if normalise(word) == self._folded[hit.field][hit.start:hit.end]:
                return word.isupper()
        # Case folding changed the length ("ß" -> "ss"): find the words in the original.
        start, end = _offset_map(hit.field, self._texts, self._maps).span(hit.start, hit.end)
        return normalise_keep_case(self._texts[hit.field][start:end]).isupper()

    def _kept_case(self, name: Field) -> str | None:
        # Folding keeping case gives the same positions unless casefold lengthened a character.
        if name not in self._kept:
            kept = normalise_keep_case(self._texts[name])
            self._kept[name] = kept if len(kept) == len(self._folded[name]) else None
        return self._kept[name]


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """Drop hits lying inside a longer hit of the same item in the same field.

    "Operation Fast and Furious" found means "Fast and Furious" at the same place adds nothing.
    """
    keep = []
    reach: dict[Field, int] = {}      # furthest end of the hits seen so far, per field
    for hit in sorted(hits, key=lambda h: (h.field, h.start, h.start - h.end)):
        if reach.get(hit.field, -1) < hit.end:
            keep.append(hit)
            reach[hit.field] = hit.end
    return keep


def _snippet(hit: _Hit, texts: dict[Field, str], maps: dict[Field, OffsetMap]) -> str:
    text = texts[hit.field]
    start, end = _offset_map(hit.field, texts, maps).span(hit.start, hit.end)
    return snippet(text, start, end)


def snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About ``width`` characters of ``text`` around [start, end), cut at word boundaries."""
    room = max(width - (end - start), 0)
    left, right = start - room // 2, end + room - room // 2
    if left < 0:                       # room unused on one side goes to the other
        left, right = 0, right - left
    if right > len(text):
        left, right = max(left - (right - len(text)), 0), len(text)
    if left > 0:
        space = _first_space(text, left - 1, start)
        left = start if space < 0 else space + 1
    if right < len(text):
        space = _last_space(text, end, right)
        right = end if space < 0 else space
    body = " ".join(text[left:right].split())
    cut_left = _VISIBLE.search(text, 0, left) is not None    # leaving out spaces is no cut
    cut_right = _VISIBLE.search(text, right) is not None
    return ("…" if cut_left else "") + body + ("…" if cut_right else "")


def _first_space(text: str, start: int, stop: int) -> int:
    for index in range(start, stop):
        if text[index].isspace():
            return index
    return -1


def _last_space(text: str, start: int, stop: int) -> int:
    for index in range(stop, start - 1, -1):
        if text[index].isspace():
            return index
    return -1
