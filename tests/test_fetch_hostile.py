"""The fetcher against servers that misbehave: slow, silent, looping, oversized, bombs, broken.

Everything still runs on 127.0.0.1; every failure must come out as FetchError in plain words.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import PEAK_RSS_MB
from feedserver import (
    FeedServer,
    brotli_bomb,
    deflate_bomb,
    encode_body,
    gzip_bomb,
    self_signed_tls,
)

from monitor.feeds.decoding import PIECE, ContentDecoder
from monitor.feeds.fetch import Fetcher, FetchRequest, FetchResult
from storage.errors import FetchError

PROJECT = Path(__file__).resolve().parents[1]
FEED = b"<rss version='2.0'><channel><title>Frontera</title></channel></rss>"


def fetch(url: str, **options: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(**options) as fetcher:
            return await fetcher.fetch(FetchRequest("feed", url))

    return asyncio.run(run())


def fetch_error(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **options)
    return caught.value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- time ----------------------------------------------------------------------------------------
def test_drip_feed_is_abandoned_at_the_total_timeout(feed_server: FeedServer) -> None:
    # A byte every 0.25 s never trips httpx's per-read timeout (1 s); only the total bound can.
    url = feed_server.route("/drip", FEED, drip=0.25)
    error = fetch_error(url, timeout=1.0)
    assert str(error) == "timed out after 1 s"
    assert len(feed_server.requests_to("/drip")) == 1


def test_server_that_never_answers_times_out(feed_server: FeedServer) -> None:
    url = feed_server.route("/hang", hang=True)
    assert str(fetch_error(url, timeout=0.5)) == "timed out after 0.5 s"


def test_timeout_covers_the_whole_redirect_chain(feed_server: FeedServer) -> None:
    feed_server.redirect("/start", "/drip")
    feed_server.route("/drip", FEED, drip=0.25)
    assert str(fetch_error(feed_server.url("/start"), timeout=0.5)) == "timed out after 0.5 s"


# -- redirects -----------------------------------------------------------------------------------
def test_redirect_loop_is_cut(feed_server: FeedServer) -> None:
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    error = fetch_error(feed_server.url("/a"))
    assert str(error) == f"redirect loop: {feed_server.url('/a')} redirects back to itself"
    assert [r.path for r in feed_server.requests] == ["/a", "/b"]


def test_redirect_to_itself_is_a_loop(feed_server: FeedServer) -> None:
    feed_server.redirect("/self", "/self", status=308)
    assert str(fetch_error(feed_server.url("/self"))).startswith("redirect loop: ")
    assert len(feed_server.requests) == 1


def _chain(server: FeedServer, length: int) -> str:
    for hop in range(length):
        server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    server.route(f"/hop{length}", FEED)
    return server.url("/hop0")


def test_max_redirects_are_allowed(feed_server: FeedServer) -> None:
    result = fetch(_chain(feed_server, 5), max_redirects=5)
    assert (result.url, result.body) == (feed_server.url("/hop5"), FEED)


def test_too_many_redirects(feed_server: FeedServer) -> None:
    error = fetch_error(_chain(feed_server, 6), max_redirects=5)
    assert str(error) == "too many redirects (more than 5)"
    assert len(feed_server.requests) == 6  # it stopped; /hop6 was never asked for


def test_no_redirects_allowed(feed_server: FeedServer) -> None:
    assert str(fetch_error(_chain(feed_server, 1), max_redirects=0)) == (
        "too many redirects (more than 0)")


@pytest.mark.parametrize("target", ["ftp://example.org/feed.xml", "file:///etc/passwd"])
def test_redirect_to_another_scheme_is_refused(feed_server: FeedServer, target: str) -> None:
    error = fetch_error(feed_server.redirect("/r", target))
    assert str(error).startswith("refused redirect to a non-HTTP URL: ")
    assert target.split(":")[0] in str(error)
    assert len(feed_server.requests) == 1


@pytest.mark.parametrize("target", ["javascript:alert(1)", "http://[::1/feed"])
def test_redirect_to_an_invalid_url(feed_server: FeedServer, target: str) -> None:
    error = fetch_error(feed_server.redirect("/r", target))
    assert str(error) in ("the server redirected to an invalid URL",
                          f"redirect to an invalid URL: {target}")
    assert len(feed_server.requests) == 1


def test_redirect_without_location(feed_server: FeedServer) -> None:
    url = feed_server.route("/r", status=302)
    error = fetch_error(url)
    assert (str(error), error.status) == ("HTTP 302 Found without a Location header", 302)


# -- size ----------------------------------------------------------------------------------------
def test_declared_oversize_is_refused_without_reading_the_body(feed_server: FeedServer) -> None:
    # The body would take a minute to start: only refusing on Content-Length avoids a timeout.
    url = feed_server.route("/big", bytes(100 * 1024), drip=60)
    error = fetch_error(url, max_body=64 * 1024, timeout=5)
    assert str(error) == "response larger than 64 KB"


def test_oversize_without_content_length_is_cut_off(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", bytes(100 * 1024), content_length=False)
    assert str(fetch_error(url, max_body=64 * 1024)) == "response larger than 64 KB"


def test_small_on_the_wire_but_large_decoded_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", bytes(200 * 1024), encoding="gzip")
    assert str(fetch_error(url, max_body=64 * 1024)) == "response larger than 64 KB"


def test_body_of_exactly_max_body_is_accepted(feed_server: FeedServer) -> None:
    url = feed_server.route("/edge", bytes(64 * 1024), encoding="br")
    assert fetch(url, max_body=64 * 1024).body == bytes(64 * 1024)


def test_default_limit_is_10_mb(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", bytes(11 * 1024 * 1024))
    assert str(fetch_error(url)) == "response larger than 10 MB"


BOMB_CLIENT = PEAK_RSS_MB + """
import asyncio, json, sys
from monitor.feeds.fetch import Fetcher, FetchRequest
from storage.errors import FetchError

async def main(urls):
    outcome = {}
    async with Fetcher() as fetcher:
        for name, url in urls.items():
            try:
                result = await fetcher.fetch(FetchRequest(name, url))
                outcome[name] = f"accepted {len(result.body or b'')} bytes"
            except FetchError as error:
                outcome[name] = str(error)
    return outcome

outcome = asyncio.run(main(json.loads(sys.argv[1])))
outcome["peak_mb"] = peak_rss_mb()
print(json.dumps(outcome))
"""


def test_one_gigabyte_bombs_are_refused_within_the_memory_bound(feed_server: FeedServer) -> None:
    # Each body is small on the wire (1 MB gzip/deflate, 190 KB brotli) and 1 GiB decoded. The
    # fetch runs in a fresh process so its peak resident memory is the fetcher's own.
    urls = {
        "gzip": feed_server.route("/gzip", gzip_bomb(1024), headers={"Content-Encoding": "gzip"}),
        "deflate": feed_server.route("/deflate", deflate_bomb(1024),
                                     headers={"Content-Encoding": "deflate"}),
        "br": feed_server.route("/br", brotli_bomb(1024), headers={"Content-Encoding": "br"}),
    }
    completed = subprocess.run(
        [sys.executable, "-c", BOMB_CLIENT, json.dumps(urls)],
        cwd=PROJECT, capture_output=True, text=True, timeout=60, check=True)
    outcome = json.loads(completed.stdout)
    for name in urls:
        assert outcome[name] == "response larger than 10 MB", name
    assert outcome["peak_mb"] < 200


# -- connections ---------------------------------------------------------------------------------
def _fetch_all(urls: list[str], **options: Any) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(**options) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(FetchRequest(u, u)) for u in urls))

    return asyncio.run(run())


def test_per_host_limit_bounds_simultaneous_requests(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/slow{n}", FEED, delay=0.25) for n in range(4)]
    results = _fetch_all(urls, per_host=2, concurrency=10)
    assert all(result.body == FEED for result in results)
    assert feed_server.peak_concurrency == 2


def test_global_limit_bounds_simultaneous_requests(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/slow{n}", FEED, delay=0.25) for n in range(6)]
    _fetch_all(urls, per_host=10, concurrency=3)
    assert feed_server.peak_concurrency == 3


def _localhost_is_ipv4_loopback() -> bool:
    try:
        return {info[4][0] for info in socket.getaddrinfo("localhost", 80)} >= {"127.0.0.1"}
    except OSError:
        return False


@pytest.mark.skipif(not _localhost_is_ipv4_loopback(), reason="localhost is not 127.0.0.1 here")
def test_per_host_limit_is_counted_per_host_name(feed_server: FeedServer) -> None:
    paths = [f"/slow{n}" for n in range(4)]
    for path in paths:
        feed_server.route(path, FEED, delay=0.25)
    by_ip = [feed_server.url(path) for path in paths]
    by_name = [f"http://localhost:{feed_server.port}{path}" for path in paths]
    _fetch_all(by_ip + by_name, per_host=2, concurrency=10)
    assert feed_server.peak_concurrency == 4


# -- network failures ----------------------------------------------------------------------------
def test_connection_refused() -> None:
    error = fetch_error(f"http://127.0.0.1:{free_port()}/rss")
    assert (str(error), error.status) == ("connection refused", None)


def test_unresolvable_host_name() -> None:
    # An empty label makes the resolver fail locally, without asking any DNS server.
    assert str(fetch_error("http://feeds..invalid/rss", timeout=5)) == (
        "could not resolve host name feeds..invalid")


def test_tls_to_a_plain_http_server(feed_server: FeedServer) -> None:
    feed_server.route("/rss", FEED)
    error = fetch_error(feed_server.url("/rss").replace("http://", "https://"), timeout=5)
    assert str(error).startswith("TLS error: ")  # "wrong version number" in OpenSSL's words


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[FeedServer]:
    context = self_signed_tls(tmp_path)
    if context is None:
        pytest.skip("no openssl command to make a test certificate")
    with FeedServer(tls=context) as server:
        yield server


def test_untrusted_certificate(tls_server: FeedServer) -> None:
    url = tls_server.route("/rss", FEED)
    error = fetch_error(url, timeout=5)
    assert str(error).startswith("TLS error: certificate not trusted (")
    assert "self-signed" in str(error) or "self signed" in str(error)


def test_connection_closed_mid_body(feed_server: FeedServer) -> None:
    url = feed_server.route("/cut", FEED, content_length=False, headers={"Content-Length": "5000"})
    assert str(fetch_error(url)) == (
        "the server closed the connection before the response was complete")


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "the server closed the connection without answering"),
    (b"this is not HTTP at all\r\n\r\n",
     "the server sent a broken HTTP response (illegal status line)"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
     "the server sent a broken HTTP response (bad Content-Length)"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     "the server sent a broken HTTP response (illegal chunk header)"),
])
def test_garbage_responses_are_fetch_errors(feed_server: FeedServer, raw: bytes,
                                            message: str) -> None:
    error = fetch_error(feed_server.route("/junk", raw=raw), timeout=5)
    assert str(error) == message


def test_truncated_compressed_body_is_a_clear_error(feed_server: FeedServer) -> None:
    packed, _ = encode_body(FEED * 50, "gzip")
    url = feed_server.route("/rss", packed[: len(packed) // 2] + b"\xff" * 64,
                            headers={"Content-Encoding": "gzip"})
    assert str(fetch_error(url)) == "response body is not valid gzip data"


@pytest.mark.parametrize(("encoding", "bomb"), [
    ("gzip", gzip_bomb), ("deflate", deflate_bomb), ("br", brotli_bomb),
])
def test_decoder_never_emits_more_than_a_piece_at_a_time(encoding: str, bomb: Any) -> None:
    # Fed the whole bomb in one chunk, the decoder still hands out small pieces: the property
    # that lets the fetcher stop at max_body without ever holding more.
    decoder = ContentDecoder.for_header(encoding)
    largest = total = 0
    for piece in [*decoder.feed(bomb(32)), *decoder.finish()]:
        largest = max(largest, len(piece))
        total += len(piece)
    assert total == 32 * 1024 * 1024
    assert largest <= 2 * PIECE
