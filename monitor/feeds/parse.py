"""Feed bytes → ParsedFeed of Articles. The only module that imports feedparser (design §3, §11).

feedparser is slow and has a quadratic regex on long author strings (feedparser#562), so the
service parses in worker processes that are killed on a timeout (ParserPool), never on the event
loop and never in a thread (a thread cannot be stopped).
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import multiprocessing
import os
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import feedparser
import pebble

from monitor.feeds.entries import (
    MAX_URL,
    clamp_date,
    declared_date,
    entry_to_article,
    language_code,
    link_dropped,
    plain_text,
    warm_language_model,
)
from monitor.feeds.urls import article_id, canonical_url
from storage.errors import ParseError
from storage.records import Article

__all__ = ["ParsedFeed", "ParserPool", "article_id", "canonical_url", "parse_feed"]

log = logging.getLogger(__name__)


def _memoise_base_uri_joins() -> None:
    """Cache feedparser's ``urls._urljoin``, a pure function of two strings.

    On every start tag feedparser re-resolves the current base URI against itself
    (``make_safe_absolute_uri(base, base)``, in ``_FeedParserMixin.unknown_starttag``): a full
    urljoin per element, a sixth of the whole parse. Within a feed the arguments repeat, so a
    small cache answers nearly all of them; the results are the same strings.
    """
    urls: Any = getattr(feedparser, "urls", None)
    join = getattr(urls, "_urljoin", None)
    if callable(join) and not hasattr(join, "cache_info"):
        urls._urljoin = functools.lru_cache(maxsize=1024)(join)


_memoise_base_uri_joins()


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    language: str | None                 # configured, else declared by the feed; ISO 639-1
    articles: tuple[Article, ...]
    warning: str | None                  # what was wrong with a feed that was still usable
    # What the caps left out (entries past max_entries, overlong links): reported in `feeds`,
    # unlike lenient XML, which is common in healthy feeds.
    left_out: str | None = None


def parse_feed(body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
               language: str | None, fetched_at: datetime,
               max_entries: int | None = None) -> ParsedFeed:
    """Parse one feed body; raise ParseError when nothing usable came out of it.

    ``url`` is the final URL after redirects (relative links resolve against it), ``headers``
    the response headers, ``language`` the configured feed language (None: from the feed, else
    detected per article). Only the newest ``max_entries`` entries become articles, in feed
    order; the rest are counted in ``left_out`` (and the warning). A feed that repeats an item
    yields the same id twice, and storage ignores the repeat.
    """
    if not body.strip():
        raise ParseError("not a feed: the response body is empty")
    response_headers = {key.lower(): value for key, value in headers.items()}
    response_headers["content-location"] = url  # base for relative links
    result = _feedparser_parse(body, response_headers)
    feed: Mapping[str, Any] = result.get("feed") or {}
    # Plain dicts: FeedParserDict maps a missing "updated" to "published" with a warning.
    entries: list[dict[str, Any]] = [dict(entry) for entry in result.get("entries") or []]
    if not entries and not result.get("version") and not feed.get("title"):
        raise ParseError("not a feed: " + _why_not_a_feed(body, response_headers, result))
    fetched = fetched_at.replace(tzinfo=UTC) if fetched_at.tzinfo is None \
        else fetched_at.astimezone(UTC)  # a naive time is taken as UTC
    feed_language = language_code(language) or language_code(feed.get("language"))
    kept = _newest(entries, max_entries, fetched)
    articles = (entry_to_article(entry, feed_name=feed_name, feed_url=url,
                                 language=feed_language, fetched_at=fetched)
                for entry in kept)
    capped = _joined([_left_out_note(len(kept), len(entries)),
                      _dropped_links_note(sum(link_dropped(entry, url) for entry in kept))])
    return ParsedFeed(
        title=_feed_title(feed),
        language=feed_language,
        articles=tuple(article for article in articles if article is not None),
        warning=_joined([capped, _bozo_warning(result, response_headers)]),
        left_out=capped,
    )


def _joined(notes: list[str | None]) -> str | None:
    return "; ".join(note for note in notes if note) or None


def _newest(entries: list[dict[str, Any]], limit: int | None,
            fetched: datetime) -> list[dict[str, Any]]:
    """The newest ``limit`` entries (an undated one counts as new), in feed order."""
    if limit is None or len(entries) <= limit:
        return entries
    # A stable sort: among entries of the same date, the earlier in the feed is kept.
    by_date = sorted(range(len(entries)), reverse=True,
                     key=lambda i: clamp_date(declared_date(entries[i]), fetched))
    return [entries[i] for i in sorted(by_date[:limit])]


def _left_out_note(kept: int, total: int) -> str | None:
    if kept == total:
        return None
    return (f"{total - kept:,} of {total:,} entries left out, the oldest "
            f"(polling.max_entries = {kept:,})")


def _dropped_links_note(dropped: int) -> str | None:
    if not dropped:
        return None
    links = "1 link" if dropped == 1 else f"{dropped:,} links"
    return f"{links} longer than {MAX_URL:,} characters dropped (the articles were kept)"


def _feed_title(feed: Mapping[str, Any]) -> str | None:
    title, detail = feed.get("title"), feed.get("title_detail")
    if not isinstance(title, str):
        return None
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    return plain_text(title, kind if isinstance(kind, str) else "text/html") or None


def _feedparser_parse(body: bytes, response_headers: dict[str, str]) -> Any:
    # A BytesIO, never bytes: feedparser tries bytes as a file path or URL first (design §11).
    # sanitize_html=False and resolve_relative_uris=False more than halve the parse time; both
    # only rewrite markup inside HTML fields, which we reduce to plain text anyway, so nothing
    # of theirs would survive (and digests escape everything for their medium).
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                                sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # a feedparser bug on odd input: the feed is unreadable to us
        raise ParseError(f"not a feed: the parser failed on it ({type(exc).__name__}: {exc})") \
            from exc


def _why_not_a_feed(body: bytes, headers: Mapping[str, str], result: Any) -> str:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "text/html" or head.startswith((b"<!doctype html", b"<html")):
        return "the server sent an HTML page, not RSS or Atom"
    if head.startswith(b"\x1f\x8b"):
        return "the body is gzip-compressed data that was not decompressed"
    if b"\x00" in head or sum(byte < 9 or 13 < byte < 32 for byte in head) > len(head) // 20:
        return "the body is binary data, not RSS or Atom"
    if head.startswith((b"{", b"[")):
        return "the body is JSON, not RSS or Atom"
    problem = _describe_bozo(result.get("bozo_exception"))
    if problem and isinstance(result.get("bozo_exception"), xml.sax.SAXException):
        return f"the body is not XML ({problem})"
    return "the XML holds no RSS, Atom or RDF channel and no entries"


def _bozo_warning(result: Any, headers: Mapping[str, str]) -> str | None:
    exc = result.get("bozo_exception") if result.get("bozo") else None
    if exc is None:
        return None
    if isinstance(exc, feedparser.NonXMLContentType) and "content-type" not in headers:
        return None  # feedparser's complaint about a header we simply were not given
    problem = _describe_bozo(exc)
    if isinstance(exc, xml.sax.SAXException):
        return f"the feed is not well-formed XML ({problem}); it was read leniently"
    return problem


def _describe_bozo(exc: object) -> str | None:
    if exc is None:
        return None
    if isinstance(exc, xml.sax.SAXParseException):
        return f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()}"
    return str(exc) or type(exc).__name__


# --- worker processes -----------------------------------------------------------------------

def _start_worker() -> None:
    # Before any task starts, so it never counts against a timeout; a no-op when the worker
    # inherited the model from the fork server (monitor/feeds/parser_preload.py).
    warm_language_model()


class ParserPool:
    """Runs parse_feed in worker processes that can be killed when a parse runs too long.

    Use as a context manager. Workers are forked from a clean fork server (not from the
    service, whose threads and open SQLite files a forked child would inherit) and replaced
    after ``max_tasks`` parses to bound any memory feedparser leaks. As with any fork-server
    or spawn pool, a script that opens one needs the ``if __name__ == "__main__":`` guard,
    because each worker imports the main module.
    """

    def __init__(self, workers: int | None = None, *, max_tasks: int = 200) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._max_tasks = max_tasks
        self._pool: pebble.ProcessPool | None = None

    def __enter__(self) -> ParserPool:
        context = multiprocessing.get_context("forkserver")
        # The fork server imports these before it forks any worker (see parser_preload).
        context.set_forkserver_preload([__name__, "monitor.feeds.parser_preload"])
        self._pool = pebble.ProcessPool(max_workers=self._workers, max_tasks=self._max_tasks,
                                        initializer=_start_worker, context=context)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers at once; parses still running are abandoned."""
        if self._pool is not None:
            self._pool.stop()  # type: ignore[no-untyped-call]  # pebble lacks a hint here
            self._pool.join()
            self._pool = None

    async def parse(self, body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
                    language: str | None, fetched_at: datetime, timeout: float,
                    max_entries: int | None = None) -> ParsedFeed:
        """parse_feed in a worker; ParseError also when it exceeds ``timeout`` s or crashes."""
        future = self._schedule(body, feed_name, url, headers, language, fetched_at, timeout,
                                max_entries)
        try:  # cancelling this coroutine cancels the future, and pebble kills the worker
            result: ParsedFeed = await asyncio.wrap_future(future)
        except Exception as exc:
            raise _as_parse_error(exc, timeout) from exc
        return result

    def parse_sync(self, body: bytes, *, feed_name: str, url: str, headers: Mapping[str, str],
                   language: str | None, fetched_at: datetime, timeout: float,
                   max_entries: int | None = None) -> ParsedFeed:
        """The blocking form of ``parse``, for command-line tools."""
        future = self._schedule(body, feed_name, url, headers, language, fetched_at, timeout,
                                max_entries)
        try:
            result: ParsedFeed = future.result()
        except Exception as exc:
            raise _as_parse_error(exc, timeout) from exc
        return result

    def _schedule(self, body: bytes, feed_name: str, url: str, headers: Mapping[str, str],
                  language: str | None, fetched_at: datetime, timeout: float,
                  max_entries: int | None) -> pebble.ProcessFuture[ParsedFeed]:
        if self._pool is None:
            raise RuntimeError("ParserPool is not open: use it as a context manager")
        kwargs = {"feed_name": feed_name, "url": url, "headers": dict(headers),
                  "language": language, "fetched_at": fetched_at, "max_entries": max_entries}
        return self._pool.schedule(parse_feed, args=(body,), kwargs=kwargs, timeout=timeout)


def _as_parse_error(exc: Exception, timeout: float) -> ParseError:
    if isinstance(exc, ParseError):
        return exc
    if isinstance(exc, TimeoutError):
        return ParseError(f"parse took longer than {timeout:g} s")
    if isinstance(exc, pebble.ProcessExpired):
        return ParseError(f"the parser process died ({exc})")
    # A bug of ours in the worker: keep the service running, but leave the traceback in the log.
    log.error("parser failed unexpectedly: %r\n%s", exc, getattr(exc, "traceback", ""))
    return ParseError(f"the parser failed unexpectedly ({type(exc).__name__}: {exc})")
