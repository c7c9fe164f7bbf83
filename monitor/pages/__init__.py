"""Article pages (design §12): which page to fetch for a feed item's link (``links``), the page
fetched politely (robots.txt, per-host pacing, HTML only, capped), its main text extracted
(``extract``), stored and matched. Comes after matching (it matches the text) and before poll
(the cycle queues pages)."""

from monitor.pages.extract import MAX_ELEMENTS, PAYWALL_SHORT_TEXT, ExtractedPage, extract_page
from monitor.pages.links import (
    NOT_HTML,
    NOT_WEB_LINK,
    UNRESOLVABLE,
    ArticleLink,
    article_link,
    looks_like_non_html,
)
from monitor.pages.pacing import HostPacer
from monitor.pages.robots import RobotsCache, parse_robots
from monitor.pages.wanted import pages_wanted
from monitor.pages.worker import HTML_TYPES, PAGE_ACCEPT, PageFetcher, PageReport, PageWorker

__all__ = [
    "HTML_TYPES", "MAX_ELEMENTS", "NOT_HTML", "NOT_WEB_LINK", "PAGE_ACCEPT", "PAYWALL_SHORT_TEXT",
    "UNRESOLVABLE", "ArticleLink", "ExtractedPage", "HostPacer", "PageFetcher", "PageReport",
    "PageWorker", "RobotsCache", "article_link", "extract_page", "looks_like_non_html",
    "pages_wanted", "parse_robots",
]
