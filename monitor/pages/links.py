"""Which page to fetch for a feed item's link, decided without a network call (design §11, §12).

- Bing News RSS links are ``http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=…
  &url=https%3a%2f%2fpublisher.example%2fstory&c=…&mkt=en-us``: the article is the ``url=``
  parameter, taken when it is itself an http(s) link.
- Google News RSS links (``news.google.com/rss/articles/CBMi…``) are tokens that no longer carry
  the publisher's URL and lead there only through JavaScript: unresolvable here (the item keeps
  its headline match, and ``feeds`` reports why it has no body). Google's older redirect links
  (``news.google.com/news/url?…&url=…``) do carry it and are unwrapped like Bing's.
- Any other http(s) link is the article itself; anything else is refused.
- A link whose path ends in a document, image, audio, video or archive extension is refused as
  not an HTML page: no fetch is spent on a PDF (the fetcher still checks Content-Type).

Whatever this returns is still a link taken from feed content: the fetcher vets it against the
feed's private-address policy before connecting (monitor/feeds/addresses.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = ["NOT_HTML", "NOT_WEB_LINK", "UNRESOLVABLE", "ArticleLink", "article_link",
           "looks_like_non_html"]

# The reasons a link gives no page, as `feeds` reports them.
UNRESOLVABLE = "unresolvable link"
NOT_WEB_LINK = "not a web link"
NOT_HTML = "not html"

MAX_LINK = 2_000   # as monitor/feeds/entries.py: a longer link is not one a feed meant

_NON_HTML_EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "csv", "txt",
    "jpg", "jpeg", "png", "gif", "webp", "svg", "bmp", "tif", "tiff", "ico", "avif", "heic",
    "mp3", "m4a", "wav", "ogg", "oga", "flac", "aac", "mp4", "m4v", "mov", "avi", "webm",
    "mkv", "wmv", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "exe", "dmg", "apk",
    "iso", "epub", "json", "xml", "rss"})


@dataclass(frozen=True)
class ArticleLink:
    """The page to fetch for a link (``url``), or why there is none (``reason``)."""

    url: str | None
    reason: str | None = None
    unwrapped_from: str | None = None   # "bing" or "google" when taken out of a redirect link

    @property
    def fetchable(self) -> bool:
        return self.url is not None


def article_link(url: str) -> ArticleLink:
    link = url.strip()
    if not _is_web_link(link):
        return ArticleLink(None, NOT_WEB_LINK)
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if _on(host, "bing.com") and path.endswith("/apiclick.aspx"):
        return _unwrapped(_target(parts.query), "bing")
    if _on(host, "news.google.com"):
        if path.startswith("/news/url") or path == "/url":
            return _unwrapped(_target(parts.query), "google")
        # /rss/articles/…, /articles/…, /read/…: a token, resolvable only in a browser.
        return ArticleLink(None, UNRESOLVABLE)
    if looks_like_non_html(link):
        return ArticleLink(None, NOT_HTML)
    return ArticleLink(link)


def looks_like_non_html(url: str) -> bool:
    """Whether the link's path names a file that is not a web page (.pdf, .jpg, .mp4, ...)."""
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return False
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return False
    return name.rsplit(".", 1)[1].lower() in _NON_HTML_EXTENSIONS


def _target(query: str) -> str | None:
    values = parse_qs(query).get("url")
    return values[0] if values else None


def _unwrapped(target: str | None, via: str) -> ArticleLink:
    if target is None:
        return ArticleLink(None, UNRESOLVABLE)
    target = target.strip()
    if not _is_web_link(target):
        return ArticleLink(None, NOT_WEB_LINK)
    host = (urlsplit(target).hostname or "").lower()
    if _on(host, "bing.com") or _on(host, "news.google.com"):
        return ArticleLink(None, UNRESOLVABLE)  # a redirect wrapped in a redirect: no loops
    if looks_like_non_html(target):
        return ArticleLink(None, NOT_HTML)
    return ArticleLink(target, unwrapped_from=via)


def _is_web_link(link: str) -> bool:
    if not link or len(link) > MAX_LINK or any(c.isspace() or ord(c) < 32 for c in link):
        return False
    try:
        parts = urlsplit(link)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:          # a bad port or an unbalanced [IPv6] host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and port_ok


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)
