"""Builders shared by the tests: records, settings, feed documents, config folders, and an
in-memory feed source.

``FakeFeeds`` stands in for the fetcher and the parser together, like reader's fake parser: a
test says which articles a feed URL holds now, and the poll cycle (monitor.poll.Poller) runs on a
real SQLite file with no network and no parser process. Network behaviour (timeouts, redirects,
encodings, hostile servers) stays with the loopback server of tests/feedserver.py.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from monitor.feeds import FetchRequest, FetchResult, ParsedFeed
from monitor.settings import (
    Config,
    FeedConfig,
    PollingConfig,
    StorageConfig,
    WatchItem,
    load_watchlist,
)
from storage.errors import FetchError, ParseError
from storage.records import Article

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 17, 56, tzinfo=UTC)
SHIPPED_WATCH = load_watchlist(ROOT / "config" / "watchlist.toml")


def article(n: int, **changes: Any) -> Article:
    """Article number ``n`` of "Feed A": unique id, guid and URL; override any field."""
    base = Article(
        id=f"id-{n}", feed="Feed A", guid=f"guid-{n}", url=f"https://news.example/{n}?utm=x",
        canonical_url=f"https://news.example/{n}", title=f"Story number {n}",
        summary=f"Summary of story {n}", content="", published=NOW - timedelta(hours=n),
        first_seen=NOW, language="en")
    return replace(base, **changes)


def feed_config(name: str, url: str | None = None, *, language: str | None = None,
                interval: timedelta = timedelta(minutes=15)) -> FeedConfig:
    return FeedConfig(name=name, url=url or f"https://feeds.example/{name.replace(' ', '-')}",
                      interval=interval, language=language)


def config_for(folder: Path, feeds: Sequence[FeedConfig], *,
               watch: Sequence[WatchItem] = SHIPPED_WATCH, timeout: float = 3.0,
               **polling: Any) -> Config:
    """Settings with a database in ``folder``, as load_config would give them, without files;
    ``polling`` overrides PollingConfig fields (short timeouts by default, for tests)."""
    limits = PollingConfig(timeout=timedelta(seconds=timeout),
                           parse_timeout=timedelta(seconds=10))
    return Config(directory=folder, storage=StorageConfig(path=folder / "armswatch.db"),
                  polling=replace(limits, **polling), feeds=tuple(feeds), channels=(),
                  watch=tuple(watch))


@dataclass
class _Feed:
    articles: tuple[Article, ...] = ()
    fetch_error: FetchError | None = None
    parse_error: str | None = None
    etag: str | None = None


@dataclass
class FakeFeeds:
    """Feed URLs and what each holds now; ``.fetcher`` and ``.parser`` serve them from memory.

    The body a fetch returns is a digest of the feed's current articles, so an unchanged feed
    sends the same bytes again (and the cycle's body-hash check can skip it), and a changed one
    does not. A feed given an ``etag`` answers 304 to a request that sends it back.
    """

    feeds: dict[str, _Feed] = field(default_factory=dict)
    requests: list[FetchRequest] = field(default_factory=list)
    parsed: list[str] = field(default_factory=list)   # URLs whose body reached the parser

    def set(self, url: str, articles: Sequence[Article], *, etag: str | None = None) -> None:
        self.feeds[url] = _Feed(articles=tuple(articles), etag=etag)

    def fail_fetch(self, url: str, error: FetchError) -> None:
        self.feeds[url] = _Feed(fetch_error=error)

    def fail_parse(self, url: str, message: str) -> None:
        self.feeds[url] = _Feed(parse_error=message)

    @property
    def fetcher(self) -> _FakeFetcher:
        return _FakeFetcher(self)

    @property
    def parser(self) -> _FakeParser:
        return _FakeParser(self)

    def body(self, url: str) -> bytes:
        held = self.feeds[url]
        return hashlib.sha256(repr((held.articles, held.parse_error)).encode()).hexdigest().encode()


@dataclass
class _FakeFetcher:
    source: FakeFeeds

    async def fetch(self, request: FetchRequest) -> FetchResult:
        self.source.requests.append(request)
        held = self.source.feeds.get(request.url)
        if held is None:
            raise FetchError("HTTP 404 Not Found", status=404)
        if held.fetch_error is not None:
            raise held.fetch_error
        not_modified = held.etag is not None and request.etag == held.etag
        return FetchResult(
            name=request.name, url=request.url, status=304 if not_modified else 200,
            not_modified=not_modified, body=None if not_modified else self.source.body(request.url),
            etag=held.etag, last_modified=None, headers={}, elapsed=0.0)


@dataclass
class _FakeParser:
    source: FakeFeeds

    async def parse(self, body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
                    language: str | None, fetched_at: datetime, timeout: float,
                    max_entries: int | None = None) -> ParsedFeed:
        self.source.parsed.append(url)
        held = self.source.feeds[url]
        if held.parse_error is not None:
            raise ParseError(held.parse_error)
        articles = tuple(replace(a, feed=feed_name, first_seen=fetched_at) for a in held.articles)
        return ParsedFeed(title=feed_name, language=language, articles=articles, warning=None)


# -- feed documents: each test states only the entries it needs ---------------------------------

@dataclass(frozen=True)
class Entry:
    """One item of a feed written by ``rss`` or ``atom``."""

    title: str
    link: str
    summary: str = ""
    guid: str | None = None
    published: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    content: str = ""          # the full text, as <content:encoded> (RSS only)


def rss(entries: list[Entry], *, title: str = "Test feed", language: str | None = "en") -> bytes:
    items = []
    for e in entries:
        guid = f"<guid isPermaLink=\"false\">{escape(e.guid)}</guid>" if e.guid else ""
        content = f"<content:encoded>{escape(e.content)}</content:encoded>" if e.content else ""
        items.append(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f"<description>{escape(e.summary)}</description>{content}{guid}"
            f"<pubDate>{format_datetime(e.published)}</pubDate></item>")
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>{lang}"
        + "".join(items) + "</channel></rss>"
    ).encode()


def atom(entries: list[Entry], *, title: str = "Test Atom feed") -> bytes:
    parts = []
    for e in entries:
        parts.append(
            f"<entry><title>{escape(e.title)}</title><link href=\"{escape(e.link)}\"/>"
            f"<id>{escape(e.guid or e.link)}</id><updated>{e.published.isoformat()}</updated>"
            f"<summary>{escape(e.summary)}</summary></entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2026-11-20T12:00:00Z</updated>"
        + "".join(parts) + "</feed>"
    ).encode()


# -- a publisher's article page, with the furniture real news pages carry -------------------------

FURNITURE_PROGRAMS = ("Mérida Initiative", "eTrace")


def publisher_page(title: str, body_paragraphs: Sequence[str], *,
                   furniture_programs: Sequence[str] = FURNITURE_PROGRAMS,
                   paywalled: bool = False, language: str = "en",
                   site: str = "Border Daily News", author: str = "Ana Ruiz",
                   published: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)) -> str:
    """An HTML news article page shaped like a real publisher's: ``title`` and
    ``body_paragraphs`` inside ``<article>``, and around it the furniture main-text extraction
    must drop — menu, cookie banner, "most read" and related-story lists, newsletter box,
    comments and footer. Every piece of furniture names each of ``furniture_programs``, so a
    test can assert that none of them reaches the extracted text (or a hit).

    ``paywalled``: only the first paragraph is shown, followed by a subscription wall, and the
    page's schema.org data says ``"isAccessibleForFree": false``, as paywalled publishers do.
    Paragraphs are escaped; the text is returned (encode it for a server).
    """
    programs = list(furniture_programs) or ["Operation Example"]
    shown = list(body_paragraphs[:1]) if paywalled else list(body_paragraphs)

    def items(pattern: str) -> str:
        return "".join(f"<li><a href=\"/news/{n}\">{escape(pattern.format(p))}</a></li>"
                       for n, p in enumerate(programs, 1))

    ld: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
        "datePublished": published.isoformat(), "inLanguage": language,
        "author": {"@type": "Person", "name": author}, "isAccessibleForFree": not paywalled}
    if paywalled:
        ld["hasPart"] = {"@type": "WebPageElement", "isAccessibleForFree": False,
                         "cssSelector": ".paywall"}
    named = ", ".join(programs)
    paywall = (
        '<div class="paywall" id="paywall"><h3>Subscribe to continue reading</h3>'
        "<p>This article is for subscribers only. Subscribe now for unlimited access to all our "
        "journalism.</p><a class=\"subscribe-button\" href=\"/subscribe\">Subscribe</a>"
        "<p>Already a subscriber? <a href=\"/login\">Log in</a></p></div>") if paywalled else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in shown)
    data = json.dumps(ld, ensure_ascii=False).replace("</", "<\\/")  # no "</script>" inside
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<title>{escape(title)} | {escape(site)}</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:type" content="article">
<meta name="author" content="{html.escape(author)}">
<script type="application/ld+json">{data}</script>
</head>
<body>
<div id="cookie-consent" class="cookie-banner" role="dialog">
<p>We use cookies to improve your experience. Read how our partners covering the
{escape(named)} use them in our cookie policy.</p>
<button>Accept all</button><button>Manage preferences</button>
</div>
<header class="site-header">
<a class="logo" href="/">{escape(site)}</a>
<nav class="main-menu"><ul>
<li><a href="/">Home</a></li><li><a href="/border">Border</a></li>
{items("Topics: {}")}
<li><a href="/opinion">Opinion</a></li>
</ul></nav>
</header>
<main>
<article class="story">
<h1>{escape(title)}</h1>
<div class="byline">By <a href="/authors/1" rel="author">{escape(author)}</a>
<time datetime="{published.isoformat()}">{published:%B %d, %Y}</time></div>
<div class="article-body">
{body}
{paywall}
</div>
</article>
<aside class="related-stories"><h2>Related stories</h2><ul>
{items("How the {} changed border policing")}
</ul></aside>
<aside class="most-read"><h2>Most read</h2><ol>
{items("{} under review after audit finds gaps")}
</ol></aside>
<div class="newsletter-signup"><h3>Get our morning briefing</h3>
<p>Sign up for our newsletter: the latest on the {escape(named)} in your inbox every day.</p>
<form action="/subscribe"><input type="email" placeholder="Your email"><button>Sign up</button>
</form></div>
<section id="comments" class="comments"><h2>3 comments</h2>
<div class="comment"><span class="comment-author">reader1</span>
<p>What about the {escape(programs[0])}? Nobody talks about it any more.</p></div>
<div class="comment"><span class="comment-author">borderwatcher</span>
<p>The {escape(programs[-1])} was a failure from the start.</p></div>
</section>
</main>
<footer class="site-footer">
<p>Our coverage: {escape(named)}.</p>
<ul><li><a href="/about">About us</a></li><li><a href="/privacy">Privacy</a></li>
<li><a href="/contact">Contact</a></li></ul>
<p>&copy; 2026 {escape(site)}. All rights reserved.</p>
</footer>
</body>
</html>
"""


# -- a config folder on disk, for tests that run Armswatch as a user would -------------------------

def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def write_config(folder: Path, db: Path, feeds: Mapping[str, str], polling: str = "",
                 extra: str = "") -> Path:
    """``folder`` with the shipped watchlist.toml and an armswatch.toml for ``feeds``.

    ``polling`` is the body of [polling]; ``extra`` is appended (e.g. [[channels]] blocks).
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config" / "watchlist.toml", folder / "watchlist.toml")
    blocks = "".join(f"\n[[feeds]]\nname = {toml_string(name)}\nurl = {toml_string(url)}\n"
                     for name, url in feeds.items())
    (folder / "armswatch.toml").write_text(
        f"[storage]\npath = {toml_string(str(db))}\n\n[polling]\n{polling}\n{blocks}\n{extra}",
        encoding="utf-8")
    return folder


# -- measuring a child process's memory -------------------------------------------------------

# Source text for scripts run with `python -c`: the peak resident memory of this process image.
# Not ru_maxrss: on Linux a child started by fork+exec inherits the parent's high-water mark, so a
# big pytest process would count as the child's own. VmHWM starts afresh with the exec.
PEAK_RSS_MB = """
import resource

def peak_rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""



# -- labelled reports for story grouping (tests/data/stories/*.toml) ---------------------------
STORIES_DATA = ROOT / "tests" / "data" / "stories"


def labelled_reports(name: str) -> list[tuple[Article, str]]:
    """The articles of ``tests/data/stories/<name>.toml``, each with its labelled event."""
    import tomllib
    found = []
    for row in tomllib.loads((STORIES_DATA / f"{name}.toml").read_text(encoding="utf-8"))[
            "article"]:
        found.append((Article(
            id=hashlib.sha256(row["url"].encode()).hexdigest()[:24], feed=row["feed"],
            guid=row["url"], url=row["url"], canonical_url=row["url"], title=row["title"],
            summary=row["summary"], content=row.get("content", ""), published=row["published"],
            first_seen=row["published"], language=row["language"]), row["event"]))
    return found
