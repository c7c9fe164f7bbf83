"""The feed fetcher on a real loopback server: statuses, conditional GET, encodings, redirects."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from feedserver import FeedServer, deflate_bomb, encode_body, gzip_bomb

from monitor.feeds.fetch import (
    Fetcher,
    FetchRequest,
    FetchResult,
    network_error,
    parse_retry_after,
)
from storage.errors import FetchError

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Frontera</title>'
    b"<item><title>Misi\xc3\xb3n Cortafuegos: decomisan armas en Sonora</title></item>"
    b"</channel></rss>"
)
LAST_MODIFIED = "Tue, 07 Oct 2025 12:00:00 GMT"


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          **options: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(**options) as fetcher:
            return await fetcher.fetch(FetchRequest("feed", url, etag, last_modified))

    return asyncio.run(run())


def fetch_error(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **options)
    return caught.value


# -- 200 and conditional GET -------------------------------------------------------------------
def test_ok_returns_body_validators_and_lower_case_headers(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, etag='"v1"', last_modified=LAST_MODIFIED,
                            headers={"X-Feed-Shard": "north"})
    result = fetch(url)
    assert (result.name, result.url, result.status) == ("feed", url, 200)
    assert result.not_modified is False
    assert result.body == FEED
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)
    assert result.headers["x-feed-shard"] == "north"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert all(name == name.lower() for name in result.headers)
    assert result.elapsed >= 0


def test_first_fetch_sends_no_validators(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, etag='"v1"', last_modified=LAST_MODIFIED)
    fetch(url)
    (sent,) = feed_server.requests_to("/rss")
    assert "if-none-match" not in sent.headers
    assert "if-modified-since" not in sent.headers


def test_known_validators_are_sent_and_304_means_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, etag='"v1"', last_modified=LAST_MODIFIED)
    result = fetch(url, etag='"v1"', last_modified=LAST_MODIFIED)
    (sent,) = feed_server.requests_to("/rss")
    assert sent.headers["if-none-match"] == '"v1"'
    assert sent.headers["if-modified-since"] == LAST_MODIFIED
    assert (result.status, result.not_modified, result.body) == (304, True, None)
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)


def test_last_modified_alone_gives_304(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, last_modified=LAST_MODIFIED)
    assert fetch(url, last_modified=LAST_MODIFIED).not_modified is True
    older = "Mon, 06 Oct 2025 12:00:00 GMT"
    refreshed = fetch(url, last_modified=older)
    assert (refreshed.status, refreshed.body) == (200, FEED)
    assert refreshed.last_modified == LAST_MODIFIED


def test_changed_etag_brings_the_new_body(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, etag='"v2"')
    result = fetch(url, etag='"v1"')
    assert (result.status, result.not_modified, result.body, result.etag) == (
        200, False, FEED, '"v2"')


def test_bare_304_keeps_the_validators_that_were_sent(feed_server: FeedServer) -> None:
    url = feed_server.route("/bare", status=304)
    result = fetch(url, etag='"kept"', last_modified=LAST_MODIFIED)
    assert result.not_modified is True
    assert (result.etag, result.last_modified) == ('"kept"', LAST_MODIFIED)


def test_non_ascii_etag_is_sent_back_as_received(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED, etag='"misi\u00f3n"')
    first = fetch(url)
    assert first.etag is not None
    second = fetch(url, etag=first.etag)
    assert second.not_modified is True


# -- request headers ---------------------------------------------------------------------------
def test_user_agent_accept_and_encodings_are_sent(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED)
    fetch(url)
    (sent,) = feed_server.requests_to("/rss")
    assert sent.headers["user-agent"].startswith("Armswatch/")
    assert "application/rss+xml" in sent.headers["accept"]
    assert "application/atom+xml" in sent.headers["accept"]
    assert sent.headers["accept-encoding"] == "gzip, deflate, br"


def test_custom_user_agent(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED)
    fetch(url, user_agent="Armswatch/0.1 (ops@example.org)")
    assert feed_server.requests_to("/rss")[0].headers["user-agent"] == (
        "Armswatch/0.1 (ops@example.org)")


# -- status codes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "message"), [
    (404, "HTTP 404 Not Found"),
    (403, "HTTP 403 Forbidden"),
    (500, "HTTP 500 Internal Server Error"),
    (502, "HTTP 502 Bad Gateway"),
    (503, "HTTP 503 Service Unavailable"),
])
def test_error_status_gives_plain_message(feed_server: FeedServer, status: int,
                                          message: str) -> None:
    error = fetch_error(feed_server.status("/feed", status))
    assert str(error) == message
    assert (error.status, error.gone, error.retry_after) == (status, False, None)


def test_410_means_gone(feed_server: FeedServer) -> None:
    error = fetch_error(feed_server.status("/feed", 410))
    assert str(error) == "feed is gone (HTTP 410)"
    assert (error.status, error.gone) == (410, True)


def test_429_with_retry_after_seconds(feed_server: FeedServer) -> None:
    error = fetch_error(feed_server.status("/feed", 429, {"Retry-After": "120"}))
    assert str(error) == "HTTP 429 Too Many Requests (retry after 120 s)"
    assert (error.status, error.retry_after) == (429, 120.0)


def test_503_with_retry_after_date(feed_server: FeedServer) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    header = email.utils.format_datetime(later, usegmt=True)
    error = fetch_error(feed_server.status("/feed", 503, {"Retry-After": header}))
    assert error.status == 503
    assert error.retry_after is not None and 3500 < error.retry_after <= 3600
    assert str(error).startswith("HTTP 503 Service Unavailable (retry after ")


def test_unparseable_retry_after_is_ignored(feed_server: FeedServer) -> None:
    error = fetch_error(feed_server.status("/feed", 429, {"Retry-After": "soon"}))
    assert (str(error), error.retry_after) == ("HTTP 429 Too Many Requests", None)


# -- Retry-After parsing -----------------------------------------------------------------------
NOW = datetime(2025, 10, 7, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0),
    (" 0 ", 0.0),
    ("Tue, 07 Oct 2025 12:05:00 GMT", 300.0),
    ("Tuesday, 07-Oct-25 12:00:30 GMT", 30.0),  # the obsolete RFC 850 form
    ("Tue, 07 Oct 2025 11:00:00 GMT", 0.0),  # already past: retry now, never negative
    ("", None),
    ("soon", None),
    ("-5", None),
    ("1.5", None),
    ("\u00b2", None),  # a Unicode digit is not a delta-seconds
])
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_parse_retry_after_accepts_naive_now() -> None:
    assert parse_retry_after("Tue, 07 Oct 2025 12:01:00 GMT", NOW.replace(tzinfo=None)) == 60.0


# -- content encodings -------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
def test_encoded_bodies_are_decoded(feed_server: FeedServer, encoding: str) -> None:
    body = FEED * 500  # several raw chunks and several decoded pieces
    url = feed_server.route("/rss", body, encoding=encoding)
    result = fetch(url)
    assert result.body == body
    assert "content-encoding" not in result.headers  # the body handed on is decoded
    assert "content-length" not in result.headers


def test_gzip_bomb_stream_is_what_it_claims() -> None:
    # The hostile tests rely on these helpers; prove the streams are valid and expand as stated.
    assert gzip.decompress(gzip_bomb(16)) == bytes(16 * 1024 * 1024)
    assert zlib.decompress(deflate_bomb(16)) == bytes(16 * 1024 * 1024)


def test_body_without_content_length_is_read_to_the_end(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", FEED * 100, content_length=False, encoding="gzip")
    assert fetch(url).body == FEED * 100


def test_corrupt_gzip_is_a_clear_error(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", b"\x1f\x8b\x08\x00 this is not gzip at all",
                            headers={"Content-Encoding": "gzip"})
    assert str(fetch_error(url)) == "response body is not valid gzip data"


def test_encoding_we_did_not_ask_for_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.route("/rss", b"(\xb5/\xfd...", headers={"Content-Encoding": "zstd"})
    assert str(fetch_error(url)) == (
        "the server used a content encoding we did not ask for (zstd)")


def test_stacked_encodings_are_undone_in_reverse(feed_server: FeedServer) -> None:
    inner, _ = encode_body(FEED, "br")
    outer, _ = encode_body(inner, "gzip")
    url = feed_server.route("/rss", outer, headers={"Content-Encoding": "br, gzip"})
    assert fetch(url).body == FEED


# -- redirects ---------------------------------------------------------------------------------
def test_redirect_chain_is_followed_with_validators(feed_server: FeedServer) -> None:
    feed_server.redirect("/old", "/moved", status=301)
    feed_server.redirect("/moved", feed_server.url("/rss?x=1"), status=307)
    final = feed_server.route("/rss", FEED, etag='"v1"')
    result = fetch(feed_server.url("/old"), etag='"v0"')
    assert (result.url, result.status, result.body) == (final + "?x=1", 200, FEED)
    paths = [request.path for request in feed_server.requests]
    assert paths == ["/old", "/moved", "/rss?x=1"]
    assert all(request.headers.get("if-none-match") == '"v0"'
               for request in feed_server.requests)


def test_relative_redirect_resolves_against_the_current_url(feed_server: FeedServer) -> None:
    feed_server.redirect("/feeds/a", "b")
    feed_server.route("/feeds/b", FEED)
    result = fetch(feed_server.url("/feeds/a"))
    assert result.url == feed_server.url("/feeds/b")


# -- URLs we refuse before connecting ----------------------------------------------------------
@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.org/feed.xml", "unsupported URL scheme 'ftp' (only http and https)"),
    ("file:///etc/passwd", "unsupported URL scheme 'file' (only http and https)"),
    ("feeds/local.xml", "invalid URL: 'feeds/local.xml' (expected http:// or https://)"),
    ("http:///no-host", "invalid URL: no host name"),
])
def test_unusable_urls_are_refused(url: str, message: str) -> None:
    assert str(fetch_error(url)) == message


# -- one Fetcher, many feeds -------------------------------------------------------------------
def test_one_fetcher_serves_many_feeds_concurrently(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/feed/{n}", f"<rss>{n}</rss>") for n in range(12)]

    async def run() -> list[FetchResult]:
        async with Fetcher(per_host=3) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(FetchRequest(f"f{n}", url)) for n, url in enumerate(urls)))

    results = asyncio.run(run())
    assert [r.body for r in results] == [f"<rss>{n}</rss>".encode() for n in range(12)]
    assert [r.name for r in results] == [f"f{n}" for n in range(12)]


def test_fetch_outside_the_context_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(Fetcher().fetch(FetchRequest("feed", "http://127.0.0.1/")))


# -- the server's directory mode (for corpus tests) --------------------------------------------
def test_directory_is_served_with_validators(feed_server: FeedServer, tmp_path: Path) -> None:
    (tmp_path / "mx").mkdir()
    (tmp_path / "mx" / "la jornada.xml").write_bytes(FEED)
    (tmp_path.parent / "secret.txt").write_text("outside")
    feed_server.serve_directory(tmp_path)
    url = feed_server.file_url("mx/la jornada.xml")
    assert url == feed_server.url("/corpus/mx/la%20jornada.xml")
    first = fetch(url)
    assert (first.body, first.headers["content-type"]) == (FEED, "application/xml")
    assert fetch(url, etag=first.etag).not_modified is True
    assert fetch_error(feed_server.url("/corpus/%2e%2e/secret.txt")).status == 404
    assert feed_server.requests[-1].path == "/corpus/%2e%2e/secret.txt"  # it did try to escape
    assert fetch_error(feed_server.url("/corpus/mx/missing.xml")).status == 404


def test_a_fetcher_can_be_reopened_in_another_event_loop(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/feed/{n}", FEED, delay=0.05) for n in range(3)]
    fetcher = Fetcher(concurrency=1, per_host=1)  # every fetch after the first has to wait

    async def run() -> list[FetchResult]:
        async with fetcher:
            return await asyncio.gather(*(fetcher.fetch(FetchRequest(u, u)) for u in urls))

    first, second = asyncio.run(run()), asyncio.run(run())
    assert [r.body for r in first + second] == [FEED] * 6


# -- errors that say nothing --------------------------------------------------------------------
def wrapped(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(("error", "message"), [
    (httpx.ConnectError(""), "could not connect (connect error, no details given)"),
    (httpx.ProxyError(""), "network error: proxy error, no details given"),
    (wrapped(httpx.ConnectError(""), OSError(101, "Network is unreachable")),
     "could not connect (Network is unreachable)"),
    (httpx.ConnectError("All connection attempts failed"),
     "could not connect (All connection attempts failed)"),
])
def test_an_empty_error_message_is_named_in_words(error: Exception, message: str) -> None:
    # httpx raises these with an empty message when the OS gives no reason; no loopback server
    # can be made to fail that way, so the wording is checked on the exceptions themselves.
    assert str(network_error(error, httpx.URL("http://127.0.0.1/"), "timed out")) == message
