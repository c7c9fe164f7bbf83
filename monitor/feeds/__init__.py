"""Feeds: fetch over HTTP within bounds (httpx) and only from addresses the private-address policy
permits, parse in killable workers (feedparser), and turn entries into Articles with canonical
URLs and stable ids."""

from monitor.feeds.addresses import AddressPolicy, AddressRefused
from monitor.feeds.fetch import Fetcher, FetchRequest, FetchResult
from monitor.feeds.parse import ParsedFeed, ParserPool, parse_feed
from monitor.feeds.urls import article_id, canonical_url

__all__ = ["AddressPolicy", "AddressRefused", "FetchRequest", "FetchResult", "Fetcher",
           "ParsedFeed", "ParserPool", "article_id", "canonical_url", "parse_feed"]
