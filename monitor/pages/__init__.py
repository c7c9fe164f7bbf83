"""Article pages: the page behind a headline fetched politely (robots.txt, per-host pacing,
HTML only, capped), its main text extracted, stored and matched (design §12). Comes after
matching (it matches the text) and before poll (the cycle queues pages)."""

from monitor.pages.extract import ExtractedPage, extract_page
from monitor.pages.links import ArticleLink, article_link
from monitor.pages.pacing import HostPacer
from monitor.pages.robots import RobotsCache, parse_robots
from monitor.pages.wanted import pages_wanted
from monitor.pages.worker import HTML_TYPES, PAGE_ACCEPT, PageFetcher, PageReport, PageWorker

__all__ = ["HTML_TYPES", "PAGE_ACCEPT", "ArticleLink", "ExtractedPage", "HostPacer",
           "PageFetcher", "PageReport", "PageWorker", "RobotsCache", "article_link",
           "extract_page", "pages_wanted", "parse_robots"]
