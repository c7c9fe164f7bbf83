"""Turning one parsed feed entry (a plain mapping) into an Article: plain text, UTC dates, language.

Nothing here imports feedparser: entries arrive as mappings with feedparser's keys, so the rules
can be tested and reused on their own. py3langid is owned by this module.
"""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import py3langid

from monitor.feeds.urls import article_id, canonical_url
from storage.records import Article

MAX_TEXT = 20_000        # characters of plain text kept per field
MAX_URL = 2_000          # characters of a link: a longer one is dropped, its article kept
_MAX_MARKUP = 200_000    # characters of markup read per field: bounds the HTML parsing time
_MAX_SHORT = 2_000       # guid and author: identifiers, not prose
_MIN_DETECT = 20         # shorter text is too little to tell the language
_FUTURE_SLACK = timedelta(days=1)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def entry_to_article(entry: Mapping[str, Any], *, feed_name: str, feed_url: str,
                     language: str | None, fetched_at: datetime) -> Article | None:
    """The Article for one entry, or None when the entry has no link, no guid and no title.

    Such an entry can neither be identified nor shown to a reader, so it is dropped.
    ``language`` is the configured or declared feed language; None means detect it.
    """
    guid = _short(entry.get("id"))
    link = entry_link(entry, feed_url)
    if not (guid or link or _short(entry.get("title"))):
        return None
    title = field_text(entry, "title")
    summary = field_text(entry, "summary")
    content = content_text(entry.get("content"))
    if content == summary:  # feedparser copies a lone Atom <content> into summary
        content = ""
    declared = declared_date(entry)
    url = link if link and urlsplit(link).scheme in ("http", "https") else None
    return Article(
        id=article_id(guid=guid, url=link, feed=feed_name, title=title, published=declared),
        feed=feed_name,
        guid=guid,
        url=url,
        canonical_url=canonical_url(url) if url else None,
        title=title,
        summary=summary,
        content=content,
        published=clamp_date(declared, fetched_at),
        first_seen=fetched_at,
        language=language or detect_language(f"{title} {summary}"),
        author=_short(plain_text(str(entry.get("author") or ""), "text/plain")),
    )


def _short(value: object) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text[:_MAX_SHORT] or None


def entry_link(entry: Mapping[str, Any], base: str) -> str | None:
    """The entry's link made absolute; None when it has none or it is longer than MAX_URL.

    No real article needs a longer address, and a 9 MB one would be stored (twice, with its
    canonical form) and sent in every digest that shows the article.
    """
    raw = entry.get("link")
    if isinstance(raw, str) and len(raw.strip()) > MAX_URL:
        return None
    link = _absolute(raw, base)
    return link if link is None or len(link) <= MAX_URL else None


def link_dropped(entry: Mapping[str, Any], base: str) -> bool:
    """Whether the entry had a link that ``entry_link`` drops for its length."""
    raw = entry.get("link")
    return isinstance(raw, str) and bool(raw.strip()) and entry_link(entry, base) is None


def _absolute(link: object, base: str) -> str | None:
    # feedparser resolves links against content-location already; this covers a base it
    # refused (e.g. an unusual scheme) and keeps a link that cannot be joined as it came.
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return link.strip()


# --- plain text -----------------------------------------------------------------------------

def field_text(entry: Mapping[str, Any], key: str) -> str:
    """Plain text of a text construct (title, summary), honouring its declared type."""
    value = entry.get(key)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{key}_detail")
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    return plain_text(value, kind if isinstance(kind, str) else "text/html")


def content_text(content: object) -> str:
    """Plain text of entry.content: every distinct part, in order."""
    if not isinstance(content, Sequence) or isinstance(content, str):
        return ""
    parts: list[str] = []
    for part in content:
        if isinstance(part, Mapping) and isinstance(part.get("value"), str):
            kind = part.get("type")
            text = plain_text(part["value"], kind if isinstance(kind, str) else "text/html")
            if text and text not in parts:
                parts.append(text)
    return " ".join(parts)[:MAX_TEXT].rstrip()


def plain_text(value: str, kind: str = "text/html") -> str:
    """Markup removed, entities decoded, whitespace collapsed, mojibake repaired, capped."""
    value = value[:_MAX_MARKUP]
    if kind in _HTML_TYPES and ("<" in value or "&" in value):
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        value = extractor.text()
    else:
        # Double-escaped entities ("AT&amp;amp;T") are common in plain-text RSS fields.
        value = html.unescape(value)
    # Repair before collapsing whitespace: a no-break space can be half of a mojibake "à".
    return " ".join(repair_mojibake(value).split())[:MAX_TEXT].rstrip()


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block elements become word breaks."""

    _SKIPPED = frozenset({"script", "style", "template"})
    _BLOCKS = frozenset({
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    })

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self._parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._parts.append(data)

    def text(self) -> str:
        return "".join(self._parts)


# UTF-8 read as windows-1252 (or Latin-1): each UTF-8 sequence became a lead character Â..ô
# followed by continuation characters, i.e. whatever those encodings show for bytes 0x80-0xBF.
_CONT = ("[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
         "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}}")
# What Latin-script mojibake repairs to: Latin-1 and Latin Extended-A letters, typographic
# punctuation, the euro and trade-mark signs.
_REPAIRED = re.compile("[\u00a0-\u017f\u2010-\u2044\u20ac\u2122]")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as windows-1252 ("informaciÃ³n" → "información").

    Each suspicious sequence is repaired on its own (feeds mix good and broken text), and only
    when it decodes to a Latin letter or punctuation mark; so "Spaß" before a no-break space
    or "«ACCIÓN»", which would decode to letters of other scripts, stay as they are.
    """
    return _MOJIBAKE.sub(_repair_sequence, text) if _MOJIBAKE.search(text) else text


def _repair_sequence(found: re.Match[str]) -> str:
    sequence = found.group()
    try:
        fixed = bytes(ord(ch) if ord(ch) < 0x100 else ch.encode("cp1252")[0]
                      for ch in sequence).decode("utf-8")
    except UnicodeError:
        return sequence
    return fixed if _REPAIRED.fullmatch(fixed) else sequence


# --- dates ----------------------------------------------------------------------------------

def declared_date(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's own date in UTC: published, else updated, else created; None if none."""
    for key in ("published", "updated", "created"):
        parsed = _from_struct(entry.get(f"{key}_parsed"))
        if parsed is None and isinstance(entry.get(key), str):
            parsed = parse_date_text(entry[key])
        if parsed is not None:
            return parsed
    return None


def clamp_date(declared: datetime | None, fetched_at: datetime) -> datetime:
    """The publication time to store: the declared date unless missing or implausibly future.

    A date more than a day past the fetch is a broken clock or a typo, so the fetch time is the
    better estimate; up to a day ahead is tolerated for publishers that mislabel their zone.
    """
    if declared is None or declared > fetched_at + _FUTURE_SLACK:
        return fetched_at
    return declared


def _from_struct(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:  # timegm normalises out-of-range fields such as a leap second
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


_MONTHS = {
    "ene": 1, "enero": 1, "feb": 2, "febrero": 2, "mar": 3, "marzo": 3, "abr": 4, "abril": 4,
    "may": 5, "mayo": 5, "jun": 6, "junio": 6, "jul": 7, "julio": 7, "ago": 8, "agosto": 8,
    "sep": 9, "sept": 9, "set": 9, "septiembre": 9, "setiembre": 9, "oct": 10, "octubre": 10,
    "nov": 11, "noviembre": 11, "dic": 12, "diciembre": 12,
}
_SPANISH_DATE = re.compile(
    r"(\d{1,2})\s*(?:de\s+)?([a-z]+)\.?,?\s*(?:de\s+|del\s+)?(\d{4})"
    r"(?:\D{1,12}?(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(?:h(?:rs?)?\.?\s*)?"
    r"(z|utc|gmt|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def parse_date_text(raw: str) -> datetime | None:
    """A date string feedparser could not read: RFC 822, ISO 8601, or Spanish, in UTC."""
    text = raw.strip()
    for parse in (parsedate_to_datetime, datetime.fromisoformat, _parse_spanish):
        try:
            value = parse(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if value is not None:
            return _as_utc(value)
    return None


def _parse_spanish(text: str) -> datetime | None:
    found = _SPANISH_DATE.search(text)
    if not found or found.group(2).lower() not in _MONTHS:
        return None
    day, month_name, year, hour, minute, second, zone = found.groups()
    value = datetime(int(year), _MONTHS[month_name.lower()], int(day), int(hour or 0),
                     int(minute or 0), int(second or 0))
    if zone and zone[0] in "+-":
        digits = zone.replace(":", "")
        offset = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        value -= offset if zone[0] == "+" else -offset
    return value.replace(tzinfo=UTC)


def _as_utc(value: datetime) -> datetime:
    # A date without a zone is taken as UTC: the usual meaning in feeds, and never far off.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- language -------------------------------------------------------------------------------

def language_code(value: object) -> str | None:
    """ISO 639-1 code from a declared language ("es-MX" → "es"), None when it is not one."""
    if not isinstance(value, str):
        return None
    code = value.strip()[:2].lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


def detect_language(text: str) -> str | None:
    """The language of a title and summary, or None when there is too little text."""
    sample = text.strip()[:1000]
    if len(sample) < _MIN_DETECT:
        return None
    code, _score = py3langid.classify(sample)
    return language_code(code)


def warm_language_model() -> None:
    """Load py3langid's model now (about a second) instead of during the first parse."""
    py3langid.classify("warm up the language model")
