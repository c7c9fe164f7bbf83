"""Article pages (design §12): which page to fetch for a feed item's link (``links``), and the
main text of a fetched page (``extract``). Both pure: the fetching lives beside them."""

from monitor.pages.extract import MAX_ELEMENTS, PAYWALL_SHORT_TEXT, ExtractedPage, extract_page
from monitor.pages.links import (
    NOT_HTML,
    NOT_WEB_LINK,
    UNRESOLVABLE,
    ArticleLink,
    article_link,
    looks_like_non_html,
)

__all__ = [
    "MAX_ELEMENTS", "NOT_HTML", "NOT_WEB_LINK", "PAYWALL_SHORT_TEXT", "UNRESOLVABLE",
    "ArticleLink", "ExtractedPage", "article_link", "extract_page", "looks_like_non_html",
]
