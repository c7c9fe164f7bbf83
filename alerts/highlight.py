"""Find the matched terms inside a snippet, the way matching compares text (design §6).

Case, accents and punctuation are ignored and whole words only count, so "Misión Cortafuegos"
highlights "MISION cortafuegos" and "e-Trace" highlights "eTrace"; a term written in capitals only
("IBIS") marks capitals only, as it matches. The result is a list of segments; each renderer
escapes and marks them for its own medium.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool = False


def _fold(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _normalise(text: str) -> tuple[str, list[int]]:
    """Normalised text (alphanumerics, single spaces) and, per character, its index in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for folded in _fold(ch):
            if folded.isalnum():
                chars.append(folded)
                origin.append(index)
            elif chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
    return "".join(chars), origin


def _term_forms(term: str) -> set[str]:
    normal, _ = _normalise(term)
    normal = normal.strip()
    if not normal:
        return set()
    forms = {normal}
    if any(not ch.isalnum() and not ch.isspace() for ch in term):
        forms.add(normal.replace(" ", ""))   # "e-Trace" also matches "eTrace"
    return forms


def _capitals_only(term: str) -> bool:
    letters = [ch for ch in term if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def _spans(text: str, normal: str, origin: list[int],
           forms: Iterable[tuple[str, bool]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for form, capitals in forms:
        start = normal.find(form)
        while start != -1:
            end = start + len(form)
            before_ok = start == 0 or normal[start - 1] == " "
            after_ok = end == len(normal) or normal[end] == " "
            found = text[origin[start]:origin[end - 1] + 1]
            if before_ok and after_ok and (not capitals or _capitals_only(found)):
                spans.append((start, end))
            start = normal.find(form, start + 1)
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Iterable[str]) -> list[Segment]:
    """Split ``text`` into plain and marked segments; every whole-word occurrence is marked."""
    normal, origin = _normalise(text)
    forms: set[tuple[str, bool]] = set()
    for term in terms:
        forms |= {(form, _capitals_only(term)) for form in _term_forms(term)}
    segments: list[Segment] = []
    position = 0
    for start, end in _merge(_spans(text, normal, origin, forms)):
        # A folded character may expand ("ß" -> "ss"): spans are mapped back to whole characters.
        first, last = max(origin[start], position), origin[end - 1] + 1
        if last <= first:
            continue
        if first > position:
            segments.append(Segment(text[position:first]))
        segments.append(Segment(text[first:last], marked=True))
        position = last
    if position < len(text):
        segments.append(Segment(text[position:]))
    return segments


def contains(text: str, term: str) -> bool:
    """Whether ``highlight`` would mark ``term`` somewhere in ``text``."""
    return any(segment.marked for segment in highlight(text, [term]))


def _as_is(text: str) -> str:
    return text


def marked(text: str, terms: Iterable[str], mark: Callable[[str], str],
           escape: Callable[[str], str] = _as_is) -> str:
    """``text`` escaped for a medium, with every occurrence of ``terms`` escaped and marked."""
    return "".join(mark(escape(s.text)) if s.marked else escape(s.text)
                   for s in highlight(text, terms))
