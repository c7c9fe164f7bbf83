"""parse_feed on the shared corpora: 26 real news feeds and feedparser's 2,106 test feeds.

No entry that feedparser itself can read may be lost, except entries with neither link, guid
nor title (which parse_feed drops on purpose).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor.feeds.parse import ParsedFeed, parse_feed
from storage.errors import ParseError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "feeds" / "real"
FEEDPARSER_TESTS = SHARED / "feeds" / "feedparser-tests"
FETCHED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
URL = "https://feeds.example.org/feed.xml"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(),
                                reason=f"shared corpora not found at {SHARED}")


def real_feeds() -> list[Path]:
    if not REAL.is_dir():
        return []
    return sorted(p for p in REAL.iterdir() if p.suffix not in (".md", ".tsv"))


def parse_file(path: Path) -> ParsedFeed:
    return parse_feed(path.read_bytes(), feed_name=path.name, url=URL, headers={},
                      language=None, fetched_at=FETCHED)


def readable_entries(body: bytes) -> int:
    """Entries feedparser reads that have a link, a guid or a title."""
    result = feedparser.parse(io.BytesIO(body), response_headers={"content-location": URL})

    def identifiable(entry: Any) -> bool:
        return any(isinstance(entry.get(key), str) and entry.get(key).strip()
                   for key in ("link", "id", "title"))

    return sum(identifiable(entry) for entry in result.entries)


def test_the_real_corpus_is_all_there() -> None:
    assert len(real_feeds()) == 26


@pytest.mark.parametrize("path", real_feeds(), ids=lambda p: p.name)
def test_real_feed_loses_no_entry(path: Path) -> None:
    feed = parse_file(path)
    assert len(feed.articles) == readable_entries(path.read_bytes())
    for article in feed.articles:
        assert re.fullmatch(r"[0-9a-f]{20}", article.id)
        assert article.title or article.url
        assert article.published.tzinfo is UTC
        assert article.published <= FETCHED.replace(day=25)
        assert article.url is None or article.url.startswith(("http://", "https://"))
        assert "<p>" not in article.summary and "&amp;" not in article.title


def test_real_feeds_yield_distinct_ids() -> None:
    for path in real_feeds():
        ids = [article.id for article in parse_file(path).articles]
        assert len(ids) == len(set(ids)), path.name


def test_spanish_feed_has_spanish_articles_without_mojibake() -> None:
    feed = parse_file(REAL / "20minutos-es-rdf.xml")
    assert feed.language == "es"
    assert len(feed.articles) == 15
    assert all(article.language == "es" for article in feed.articles)
    text = " ".join(f"{a.title} {a.summary}" for a in feed.articles)
    assert "Ã" not in text and "ó" in text


@pytest.mark.parametrize("name", ["lemonde-une-2017.xml", "spiegel-online-2017.xml",
                                  "japantimes-topstories.xml", "indianexpress-world.xml"])
def test_double_encoded_text_is_repaired(name: str) -> None:
    text = " ".join(f"{a.title} {a.summary}" for a in parse_file(REAL / name).articles)
    assert not re.search("Ã[\u00a0-\u00bf]|â€", text)


def test_feed_without_items_is_usable() -> None:
    feed = parse_file(REAL / "dailymail-worldnews-2017.xml")
    assert feed.articles == ()
    assert feed.title


def test_ill_formed_feeds_are_read_with_a_warning() -> None:
    physorg = parse_file(REAL / "physorg-latest-news.xml")
    assert len(physorg.articles) == 30
    assert physorg.warning is not None and "line 52" in physorg.warning
    uol = parse_file(REAL / "uol-noticias-2018.rss")
    assert len(uol.articles) == 15
    assert any("ç" in a.title or "ã" in a.title for a in uol.articles)  # Latin-1 sniffed


def test_legacy_encodings_are_decoded() -> None:
    russian = parse_file(REAL / "oren-ru-windows1251.xml")
    assert any(re.search("[а-яА-Я]{4}", a.title) for a in russian.articles)
    portuguese = parse_file(REAL / "jn-pt-ultimas-2018.rss")
    assert any(re.search("[ãçéó]", a.title) for a in portuguese.articles)


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason="feedparser test corpus not found")
def test_feedparser_corpus_raises_nothing_but_parse_error_and_loses_nothing() -> None:
    # In-process: all 2,106 files take ~2 s, and a hang would still be caught by pytest-timeout.
    paths = sorted(FEEDPARSER_TESTS.rglob("*.xml"))
    assert len(paths) == 2106
    refused: list[str] = []
    lost: list[str] = []
    for path in paths:
        try:
            feed = parse_file(path)
        except ParseError as error:
            assert str(error).startswith("not a feed: "), path
            refused.append(path.name)
            continue
        if len(feed.articles) != readable_entries(path.read_bytes()):
            lost.append(path.name)
    assert lost == []
    # Refused: an empty document and CDF channels with neither entries nor a title.
    assert len(refused) <= 10, refused
