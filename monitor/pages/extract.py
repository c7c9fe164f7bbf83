"""The main text of an article page: the one owner of trafilatura (design §11, §12).

Only the article body is kept. Navigation, "most read" and related-story lists, cookie
banners, newsletter boxes, comments and footers are dropped: on news pages they name other
programs and would create false hits. The options were chosen by measuring on the shared
Article Extraction Benchmark (docs/performance.md, "Main-text extraction"):
``favor_precision=True`` drops more doubtful blocks at a small cost in recall and raised both
precision and F1 there; comments are never included; tables are kept (they raised recall and
cost no precision); ``fast=False`` keeps trafilatura's fallback extractors, which lost too much
recall in precision mode when turned off.

Pure and safe on hostile input: no I/O, no shared mutable state, and any page, however broken
(empty, binary, huge, nested 10,000 deep), gives an ``ExtractedPage`` — with empty text when
nothing can be read — never an exception.

trafilatura (with courlan, htmldate, dateparser, babel, ...) takes a few tenths of a second to
import, so it is imported on the first extraction: commands that never extract stay fast.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["MAX_ELEMENTS", "PAYWALL_SHORT_TEXT", "ExtractedPage", "extract_page"]

# A page that announces a paywall is called paywalled only when it gives less text than this:
# publishers that mark an article as paid but serve it whole (to crawlers, or metered) have
# their text kept and matched.
PAYWALL_SHORT_TEXT = 1_500

# Markers a page carries when it announces a subscription wall (checked only on pages with
# short text). schema.org's paywall markup, which Google asks paywalled publishers to add:
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false"?', re.IGNORECASE)
# Class and id names of common paywall components (our own list; "paywall" covers most).
_WALL_CLASS = re.compile(
    r"paywall|pay-wall|regwall|subscriber-only|subscribers-only|premium-wall|"
    r"subscription-wall|article-locked|content-locked|piano-offer|meteredcontent",
    re.IGNORECASE)
# What a wall says, in English and Spanish.
_WALL_WORDS = re.compile(
    r"subscribe to (?:continue|keep) reading|subscribers only|for subscribers|"
    r"already a subscriber|to continue reading,? (?:please )?(?:subscribe|log in|sign in)|"
    r"suscr[ií]bete para (?:seguir|continuar) leyendo|exclusivo para suscriptores|"
    r"contenido exclusivo|ya eres suscriptor",
    re.IGNORECASE)
# Furniture trafilatura keeps when the article is short (it then widens its search): boxes whose
# class or id says what they are, in English and Spanish. Only small ones (under 4 paragraphs,
# no <article> inside, never <body>/<main>/<article> themselves) are pruned: pages put words
# like "cookie-consent" or "has-comments" on the element that holds the whole article, and
# pruning those cost 5 points of recall on the benchmark; bounded like this it costs none.
_FURNITURE_WORDS = (
    "newsletter", "cookie", "consent", "most-read", "mostread", "most-popular", "popular-",
    "related-", "paywall", "subscribe", "signup", "sign-up", "promo", "comments",
    "boletin", "mas-leid", "lo-mas", "relacionad", "comentario", "suscri")
_FURNITURE = (
    "//*[(" + " or ".join(f"contains(@class, '{w}') or contains(@id, '{w}')"
                          for w in _FURNITURE_WORDS)
    # Banners and pop-ups (cookie consent, sign-up walls) announce themselves as dialogs.
    + " or @role = 'dialog' or @role = 'alertdialog' or @aria-modal = 'true'"
    + ") and not(self::html or self::body or self::main or self::article)"
    " and count(.//p) < 4 and not(.//article)]")
# The largest page of the benchmark has 1,600 elements; trafilatura's time grows with the
# element count (50,000 cost 7 s here), so a page of more than this is not an article.
MAX_ELEMENTS = 30_000
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\s*\n\s*")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class ExtractedPage:
    text: str              # the main text, plain, paragraphs separated by "\n\n"; "" if none
    title: str | None
    language: str | None   # from the page's own markup (html lang, content-language, og:locale)
    paywalled: bool        # announces a paywall / subscription wall and has little text


EMPTY = ExtractedPage(text="", title=None, language=None, paywalled=False)


@functools.cache
def _trafilatura() -> ModuleType:
    import trafilatura

    # Its loggers report every page it gives up on ("discarding data") as a warning or an
    # error: an expected outcome here, reported through ExtractedPage, not the service's logs.
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return trafilatura


def extract_page(html: bytes | str, url: str, *, max_chars: int = 20_000) -> ExtractedPage:
    """The article body of ``html`` (fetched from ``url``), its title, language and whether it
    is paywalled; the text is cut to ``max_chars`` at a paragraph or word boundary."""
    try:
        return _extract(html, url, max_chars)
    except Exception:  # noqa: BLE001 — hostile pages (RecursionError included): no text
        return EMPTY


def _extract(html: bytes | str, url: str, max_chars: int) -> ExtractedPage:
    if not html or not html.strip():
        return EMPTY
    trafilatura = _trafilatura()
    tree = trafilatura.load_html(html)
    if tree is None or sum(1 for _ in tree.iter()) > MAX_ELEMENTS:
        return EMPTY
    title, language = _title(tree), _language(tree)
    document = trafilatura.bare_extraction(
        tree, url=url or None, include_comments=False, favor_precision=True,
        include_tables=True, include_images=False, include_links=False,
        include_formatting=False, with_metadata=False, prune_xpath=_FURNITURE)
    text = _plain(getattr(document, "text", None) or "", max_chars)
    # bare_extraction worked on a copy: the markers are read from the page as it came.
    paywalled = len(text) < PAYWALL_SHORT_TEXT and _announces_paywall(tree)
    return ExtractedPage(text=text, title=title, language=language, paywalled=paywalled)


def _plain(text: str, max_chars: int) -> str:
    """One paragraph per line from trafilatura → paragraphs separated by a blank line."""
    paragraphs = [_SPACES.sub(" ", line).strip() for line in _BLANK_LINES.split(text)]
    joined = "\n\n".join(p for p in paragraphs if p)
    if len(joined) <= max_chars:
        return joined
    cut = joined[:max_chars]
    # Prefer ending on a whole paragraph, else a whole word, if that keeps most of the text.
    for boundary in ("\n\n", " "):
        at = cut.rfind(boundary)
        if at >= max_chars * 0.8:
            return cut[:at].rstrip()
    return cut


def _first(tree: Any, xpath: str) -> str | None:
    """The first non-blank value ``xpath`` finds (attributes, text nodes or elements' text)."""
    for found in tree.xpath(xpath):
        text = found.text_content() if hasattr(found, "text_content") else str(found)
        value = " ".join(text.split())
        if value:
            return value
    return None


def _title(tree: Any) -> str | None:
    """The page's own headline: og:title, else the first <h1>, else <title>."""
    title = (_first(tree, '//meta[@property="og:title"]/@content')
             or _first(tree, "//h1") or _first(tree, "//title"))
    return title[:500] if title else None


def _language(tree: Any) -> str | None:
    for xpath in ("/html/@lang", "//html/@lang", "//html/@xml:lang",
                  '//meta[translate(@http-equiv, "CONTENT-LANGUAGE", "content-language")'
                  '="content-language"]/@content',
                  '//meta[@property="og:locale"]/@content'):
        try:
            value = _first(tree, xpath)
        except Exception:  # noqa: BLE001 — an unknown prefix (xml:) on odd parsers
            continue
        match = _LANGUAGE.match(value or "")
        if match:
            return match.group(1).lower()
    return None


def _announces_paywall(tree: Any) -> bool:
    """schema.org ``isAccessibleForFree: false``, ``article:content_tier`` locked or metered,
    a paywall component by its class or id, or a wall's words in the page."""
    for script in tree.xpath('//script[contains(@type, "ld+json")]/text()'):
        if _NOT_FREE.search(script):
            return True
    if tree.xpath('//*[@itemprop="isAccessibleForFree"][translate(@content, "FALSE", "false")'
                  '="false"]'):
        return True
    if tree.xpath('//meta[@property="article:content_tier"][@content="locked"]'):
        return True
    for value in tree.xpath("//@class | //@id"):
        if len(value) < 500 and _WALL_CLASS.search(value):
            return True
    return any(_WALL_WORDS.search(text) for text in tree.xpath("//body//text()")
               if len(text) < 300)
