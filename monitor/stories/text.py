"""The language-independent evidence in one article's text, pure: folded words and shingles for
near-duplicate text, and numbers, dates and names, which read the same in English and Spanish.

``grouping_text`` is the one place that says which of an article's fields grouping reads.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

from monitor.matching import normalise
from storage.records import Article

LEAD_WORDS = 80          # words after the headline that count as the lead for shingles
SHINGLE = 3              # words per shingle (shingles() joins three)
LEAD_CHARACTERS = 4_000  # more than LEAD_WORDS words take
# A fetched page's opening paragraphs: where a news report says who, what, where and when.
BODY_LEAD_CHARACTERS = 1_500
_WORD = re.compile(r"[^\W_]+")
_MONTHS = {
    "january": 1, "jan": 1, "enero": 1, "february": 2, "feb": 2, "febrero": 2, "march": 3,
    "mar": 3, "marzo": 3, "april": 4, "apr": 4, "abril": 4, "may": 5, "mayo": 5, "june": 6,
    "jun": 6, "junio": 6, "july": 7, "jul": 7, "julio": 7, "august": 8, "aug": 8, "agosto": 8,
    "september": 9, "sept": 9, "sep": 9, "septiembre": 9, "setiembre": 9, "october": 10,
    "oct": 10, "octubre": 10, "november": 11, "nov": 11, "noviembre": 11, "december": 12,
    "dec": 12, "diciembre": 12}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "September 12", "Sept. 12" and "12 de septiembre", "12 September".
_DATE = re.compile(rf"\b(?:({_MONTH})\.?\s+(\d{{1,2}})\b|(\d{{1,2}})\s+(?:de\s+)?({_MONTH})\b)",
                   re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d+)?)(?![\w])"
                     r"(?:\s*(million(?:es)?|mill[oó]n|millones|billion|thousand|mil)\b)?",
                     re.IGNORECASE)
_SPANISH_THOUSANDS = re.compile(r"\b(\d{1,3})\s+mil\s+(\d{3})\b")   # "14 mil 500"
_SCALE = {"million": 10**6, "millones": 10**6, "millon": 10**6, "millón": 10**6,
          "billion": 10**9, "thousand": 10**3, "mil": 10**3}
_CAPITALISED = re.compile(r"(?<![\w-])[A-ZÁÉÍÓÚÑÜ][\w'’-]*[^\W_]|[A-Z]{2,}")
_POSSESSIVE = ("'s", "’s")   # "ATF's" is ATF
_CLAUSE_END = frozenset('.!?:;"“”«»—–(')
# Capitalised words that say nothing about which event it is: function words at the start of a
# clause, titles, weekdays, and the two countries every article on this subject names.
_NOT_NAMES = frozenset("""
the a an in on at of for but and or to as by with from after before while when where what who
this that these those its it he she they we his her their our officials official authorities
el la los las un una unos unas en de del por para con sin tras según segun este esta estos estas
ese esa al lo se su sus que como cuando donde mientras y o pero entre sobre desde hasta
mr mrs ms dr sr sra gen gov president presidente secretary secretario secretaria minister
monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves viernes
sabado domingo today hoy yesterday ayer
mexico mexican mexicans mexicano mexicanos mexicana mexicanas united states us usa estados unidos
eeuu eu american americans estadounidense estadounidenses government gobierno federal
""".split())


def grouping_text(article: Article) -> tuple[str, str]:
    """The headline, and the text after it that grouping reads: the feed's summary and content,
    and, for an item that gave little text of its own, the lead of its fetched page (design §12).

    Only the page's lead: the rest of an article (background, earlier events, quotes) names
    what every report on the beat names, and would join unrelated events."""
    rest = " ".join(part for part in (article.summary, article.content) if part)
    if article.body and len(rest) < BODY_LEAD_CHARACTERS:
        rest = f"{rest} {_lead(article.body, BODY_LEAD_CHARACTERS - len(rest))}".strip()
    return article.title, rest


def _lead(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut.rsplit(None, 1)[0] if " " in cut else cut


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation a space: "México" and "Mexico" are one word.
    The matcher's folding (design §6), which does it in C-level string operations."""
    return normalise(text)


def words(text: str) -> list[str]:
    return normalise(text).split()


def shingles(headline: str, rest: str) -> frozenset[int]:
    """Hashed word shingles of the headline and the lead; crc32 is stable across runs."""
    # The lead is at most LEAD_WORDS words: no need to fold 20,000 characters of content for it.
    tokens = words(headline) + words(rest[:LEAD_CHARACTERS])[:LEAD_WORDS]
    if len(tokens) < SHINGLE:
        return frozenset({zlib.crc32(" ".join(tokens).encode())} if tokens else ())
    joined = [" ".join(t) for t in zip(tokens, tokens[1:], tokens[2:], strict=False)]
    return frozenset(map(zlib.crc32, map(str.encode, joined)))


def dates(text: str) -> tuple[frozenset[str], str]:
    """Month-day dates in either language, and the text with them blanked out (so the day is
    not also read as a number)."""
    found: set[str] = set()

    def blank(match: re.Match[str]) -> str:
        month = match.group(1) or match.group(4)
        day = int(match.group(2) or match.group(3))
        if 1 <= day <= 31:
            found.add(f"{_MONTHS[month.casefold()]}-{day}")
        return " " * len(match.group(0))

    undated = _DATE.sub(blank, text)
    return frozenset(found), undated


def numbers(text: str) -> frozenset[str]:
    """Quantities and amounts, written either way: "1,200" and "1.200", "2.5 million" and
    "2,5 millones" are the same number. Years and numbers under 10 say too little to count."""
    found: set[str] = set()
    for match in _NUMBER.finditer(_SPANISH_THOUSANDS.sub(r"\1\2", text)):
        value = _value(match.group(1))
        scale = match.group(2)
        if scale:
            value *= _SCALE.get(fold(scale), _SCALE.get(scale.casefold(), 1))
        elif value < 10 or (1900 <= value <= 2100 and value == int(value)):
            continue
        found.add(f"{value:g}")
    return frozenset(found)


def _value(digits: str) -> float:
    # A single separator followed by exactly three digits groups thousands in both languages;
    # any other separator is the decimal point (or comma).
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", digits):
        return float(re.sub(r"[.,]", "", digits))
    return float(digits.replace(",", "."))


def names(headline: str, rest: str) -> frozenset[str]:
    """Places, people and organisations: capitalised words not at a sentence's start, folded.

    A headline in Title Case capitalises every word, so only its acronyms count."""
    found = set(_names_in(rest))
    title_words = _WORD.findall(headline)
    title_case = sum(1 for w in title_words if w[:1].isupper()) > 0.6 * max(len(title_words), 1)
    found |= {n for n in _names_in(headline) if not title_case or n.upper() == n}
    folded = {fold(n) for n in found}
    return frozenset(folded - _NOT_NAMES - {""})


def _names_in(text: str) -> Iterable[str]:
    for match in _CAPITALISED.finditer(text):
        before = text[max(0, match.start() - 4):match.start()].rstrip()
        if (before and before[-1] not in _CLAUSE_END) or match.group(0).isupper():
            name = match.group(0)
            yield (name[:-2] if name.endswith(_POSSESSIVE) else name).strip("'’-")
