"""Which page a feed item's link leads to (monitor/pages/links.py), with links shaped as the real
feeds write them: Bing News RSS (apiclick.aspx, the target in url=, lower-case escapes), Google
News RSS (rss/articles tokens; the old news/url redirects), and publishers' own."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.pages import (
    NOT_HTML,
    NOT_WEB_LINK,
    UNRESOLVABLE,
    ArticleLink,
    article_link,
    looks_like_non_html,
)

TARGET = "https://www.borderreport.com/news/mission-firewall-seizes-rifles/?utm_source=bing"


def bing(target: str, *, host: str = "www.bing.com", scheme: str = "http") -> str:
    # As Bing writes it: lower-case percent escapes, url= among its tracking parameters.
    escaped = quote(target, safe="").replace("%3A", "%3a").replace("%2F", "%2f")
    return (f"{scheme}://{host}/news/apiclick.aspx?ref=FexRss&aid=&tid=67E1B9F4A2C54F2C"
            f"&url={escaped}&c=13398201234567890&mkt=en-us")


def test_bing_news_links_lead_to_their_target() -> None:
    link = article_link(bing(TARGET))
    assert link == ArticleLink(TARGET, unwrapped_from="bing") and link.fetchable
    spanish = "https://www.milenio.com/policia/mision-firewall-asegura-armas-sonora"
    assert article_link(bing(spanish, host="WWW.BING.COM", scheme="https")).url == spanish
    assert article_link(bing(TARGET).replace("apiclick.aspx", "ApiClick.aspx")).url == TARGET


@pytest.mark.parametrize(("target", "reason"), [
    ("javascript:alert(1)", NOT_WEB_LINK),
    ("file:///etc/passwd", NOT_WEB_LINK),
    ("/news/relative-link", NOT_WEB_LINK),
    ("https://www.atf.gov/file/123/download/report.pdf", NOT_HTML),
    (bing(TARGET), UNRESOLVABLE),               # a redirect inside a redirect
    ("https://news.google.com/rss/articles/CBMiX2h0dHBz?oc=5", UNRESOLVABLE),
])
def test_a_bing_link_with_a_bad_target_gives_no_page(target: str, reason: str) -> None:
    assert article_link(bing(target)) == ArticleLink(None, reason)


def test_a_bing_link_without_a_target_is_unresolvable() -> None:
    link = "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=67E1B9F4&mkt=en-us"
    assert article_link(link) == ArticleLink(None, UNRESOLVABLE)
    assert not article_link(link).fetchable


def test_only_bing_itself_is_unwrapped() -> None:
    """A look-alike host is an ordinary link: fetched as it is (and vetted by the fetcher)."""
    for host in ("bing.com.evil.example", "notbing.com"):
        link = bing(TARGET, host=host)
        assert article_link(link) == ArticleLink(link)
    # A Bing page that is not the click redirect is not an article either way: left as is.
    search = "https://www.bing.com/news/search?q=Mission+Firewall&format=rss"
    assert article_link(search).url == search


def test_google_news_article_tokens_are_unresolvable() -> None:
    for link in (
        "https://news.google.com/rss/articles/CBMiswFBVV95cUxPbV9tZ2Y0dWFfN2x4c0VjaG5WZ3FXZUl"
        "0eGs1S3JpSzFiMWxQZkZ1TEpfNXVhbTZtZDVXZk5oVHl6RTdzT0c?oc=5",
        "https://news.google.com/articles/CBMiWWh0dHBzOi8vd3d3LmVsdW5pdmVyc2FsLmNvbS5teA?hl=es-419",
        "https://news.google.com/read/CBMiswFBVV95cUxP?hl=en-US&gl=US&ceid=US:en",
    ):
        assert article_link(link) == ArticleLink(None, UNRESOLVABLE)


def test_google_news_redirects_that_carry_the_target_are_unwrapped() -> None:
    link = ("https://news.google.com/news/url?sa=t&fd=R&ct2=us&usg=AFQjCNGx2y5x&clid=c3a7d30b"
            f"&ei=Q1xyWMi&url={quote(TARGET, safe='')}")
    assert article_link(link) == ArticleLink(TARGET, unwrapped_from="google")


@pytest.mark.parametrize("link", [
    "https://insightcrime.org/news/mexico-arms-trafficking-mission-firewall/",
    "https://www.eluniversal.com.mx/nacion/mision-firewall-aseguran-armas/",
    "http://127.0.0.1:8080/article.html?id=1",        # the fetcher's address policy decides
    "  https://www.proceso.com.mx/nacional/2025/10/1/armas.html  ",
    "https://www.example.com/report.php?file=summary.pdf",  # a page about a PDF, not a PDF
])
def test_publisher_links_are_the_article(link: str) -> None:
    assert article_link(link) == ArticleLink(link.strip())


@pytest.mark.parametrize("link", [
    "", "   ", "javascript:void(0)", "mailto:desk@example.com", "ftp://files.example/a.html",
    "data:text/html,<p>hi</p>", "file:///etc/passwd", "news/relative.html", "//cdn.example/a",
    "https://", "https://exa mple.com/a", "https://example.com:99999/a",
    "https://[::1/a", "https://example.com/\x00a", "https://example.com/" + "a" * 2_000,
])
def test_links_that_are_not_web_links_are_refused(link: str) -> None:
    assert article_link(link) == ArticleLink(None, NOT_WEB_LINK)


@pytest.mark.parametrize(("link", "non_html"), [
    ("https://www.justice.gov/d9/2025-10/indictment.pdf", True),
    ("https://cdn.example.com/photos/rifles.JPG?w=800", True),
    ("https://video.example.com/clip.mp4#t=10", True),
    ("https://example.com/data/feed.xml", True),
    ("https://example.com/news/story.html", False),
    ("https://example.com/news/story.aspx?id=5", False),
    ("https://example.com/news/2025/10/01/", False),
    ("https://example.com/news/v1.2-release", False),
    ("https://example.com/a.pdf/view", False),
])
def test_looks_like_non_html(link: str, non_html: bool) -> None:
    assert looks_like_non_html(link) is non_html
    assert (article_link(link).reason == NOT_HTML) is non_html


@given(st.text(max_size=300))
def test_any_text_gives_a_web_link_or_a_reason(text: str) -> None:
    link = article_link(text)
    assert (link.url is None) != (link.reason is None)
    if link.url is not None:
        parts = urlsplit(link.url)
        assert parts.scheme in ("http", "https") and parts.hostname


@given(st.text(max_size=200))
def test_any_bing_target_gives_a_web_link_or_a_reason(target: str) -> None:
    link = article_link(bing(target))
    assert (link.url is None) != (link.reason is None)
    if link.url is not None:
        assert urlsplit(link.url).scheme in ("http", "https") and link.unwrapped_from == "bing"


def test_most_shipped_sources_lead_to_the_article() -> None:
    """config/armswatch.toml prefers feeds whose links reach the article (issue 14): publishers'
    own in both languages, Bing News searches in both; Google News stays a minority."""
    shipped = Path(__file__).resolve().parents[1] / "config" / "armswatch.toml"
    feeds = tomllib.loads(shipped.read_text(encoding="utf-8"))["feeds"]
    by_host: dict[str, list[dict[str, str]]] = {}
    for feed in feeds:
        by_host.setdefault(urlsplit(feed["url"]).hostname or "", []).append(feed)
    google, bing = by_host.pop("news.google.com", []), by_host.pop("www.bing.com", [])
    by_host.pop("api.gdeltproject.org")
    assert len(google) < len(feeds) / 3
    assert {f["language"] for f in bing} == {"en", "es"}
    assert all("format=rss" in f["url"] for f in bing)
    publishers = [f for group in by_host.values() for f in group]
    assert {f["language"] for f in publishers} == {"en", "es"}
    assert len(publishers) > len(google)
