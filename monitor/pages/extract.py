# Placeholder: replaced by work-extract at merge
"""The article's main text from its page (trafilatura, its one owner): no navigation, related
lists, cookie banners, newsletter boxes, comments or footers. Pure; never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura

# schema.org's paywall mark (what publishers give search engines): isAccessibleForFree false.
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false"?', re.I)
# Page furniture that names other stories: dropped before extraction.
_FURNITURE = ("newsletter", "comment", "cookie", "related", "most-read", "paywall", "promo")
_PRUNE = [f"//*[contains(@class, '{name}') or contains(@id, '{name}')]" for name in _FURNITURE]


@dataclass(frozen=True)
class ExtractedPage:
    text: str
    title: str | None
    language: str | None
    paywalled: bool


def extract_page(html: bytes | str, url: str, *, max_chars: int = 20_000) -> ExtractedPage:
    """The page's main text, capped at ``max_chars``; empty text when there is none."""
    try:
        source = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
        text = trafilatura.extract(source, url=url, include_comments=False,
                                   include_tables=False, favor_precision=True,
                                   prune_xpath=_PRUNE) or ""
    except Exception:  # noqa: BLE001 — a page that breaks the extractor has no text
        return ExtractedPage(text="", title=None, language=None, paywalled=False)
    return ExtractedPage(text=text[:max_chars], title=None, language=None,
                         paywalled=bool(_NOT_FREE.search(source)))
