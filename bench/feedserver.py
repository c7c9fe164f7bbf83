"""The benchmark's feed server: many distinct feeds on loopback, each with its own latency.

Run as its own process (``python -m bench.feedserver FEEDS ITEMS SEED``) so that its CPU time is
never counted as ours. Feed ``i`` is served at ``http://127.<a>.<b>.<c>:<port>/feed/<i>.xml``:
one loopback address per feed, because 1,000 real feeds live on many hosts (so no connection is
reused and the per-host limit never binds), and Linux routes all of 127.0.0.0/8 to loopback.
Each answer waits its feed's latency, spread evenly over 0–200 ms, before the first byte. Bodies
carry an ETag and Last-Modified and are gzip-encoded when the client accepts it; a request with a
matching If-None-Match or If-Modified-Since gets 304.

Started, it prints one JSON line, ``{"urls": [...]}``, and serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from email.utils import format_datetime

from bench.corpus import BASE_DATE, FeedSpec, feed_body

MAX_LATENCY = 0.2
_LAST_MODIFIED = format_datetime(BASE_DATE, usegmt=True).encode()


LATENCY_PERIOD = 20  # latencies repeat every 20 feeds: any run of 20 has the mean of all


def latency(index: int) -> float:
    """Seconds feed ``index`` waits before answering: even over 0–200 ms in every run of 20."""
    return MAX_LATENCY * ((index % LATENCY_PERIOD) + 0.5) / LATENCY_PERIOD


def address(index: int) -> str:
    """The loopback address of feed ``index`` (127.1.0.1, 127.1.0.2, … never 127.0.0.1)."""
    return f"127.{1 + index // 62_500}.{(index // 250) % 250}.{1 + index % 250}"


@dataclass(frozen=True)
class ServedFeed:
    plain: bytes
    gzipped: bytes
    etag: bytes


def build_feeds(count: int, items: int, seed: int) -> list[ServedFeed]:
    feeds = []
    for index in range(count):
        body = feed_body(FeedSpec(index, items, seed))
        etag = b'"' + hashlib.sha1(body).hexdigest()[:16].encode() + b'"'
        feeds.append(ServedFeed(body, gzip.compress(body, 6, mtime=0), etag))
    return feeds


class FeedProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: just enough of it for GET with conditional headers."""

    def __init__(self, feeds: list[ServedFeed]) -> None:
        self.feeds = feeds
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self._request(head)

    def _request(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split()
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get(b"connection", b"").lower() == b"close"
        index = _feed_index(parts[1] if len(parts) > 1 else b"")
        if index is None or not 0 <= index < len(self.feeds):
            response = _response(b"404 Not Found", b"not found", b"text/plain", close=close)
            delay = 0.0
        else:
            response = self._feed_response(self.feeds[index], headers, close)
            delay = latency(index)
        asyncio.get_running_loop().call_later(delay, self._send, response, close)

    def _feed_response(self, feed: ServedFeed, headers: dict[bytes, bytes],
                       close: bool) -> bytes:
        extra = b"ETag: " + feed.etag + b"\r\nLast-Modified: " + _LAST_MODIFIED + b"\r\n"
        if (headers.get(b"if-none-match") == feed.etag
                or headers.get(b"if-modified-since") == _LAST_MODIFIED):
            return _status(b"304 Not Modified", close) + extra + b"\r\n"
        if b"gzip" in headers.get(b"accept-encoding", b""):
            body, extra = feed.gzipped, extra + b"Content-Encoding: gzip\r\n"
        else:
            body = feed.plain
        return _response(b"200 OK", body, b"application/rss+xml; charset=utf-8", close=close,
                         extra=extra + b"Cache-Control: max-age=300\r\nVary: Accept-Encoding\r\n")

    def _send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()


def _feed_index(path: bytes) -> int | None:
    if not (path.startswith(b"/feed/") and path.endswith(b".xml")):
        return None
    digits = path[6:-4]
    return int(digits) if digits.isdigit() else None


def _status(status: bytes, close: bool) -> bytes:
    connection = b"close" if close else b"keep-alive"
    return (b"HTTP/1.1 " + status + b"\r\nServer: bench\r\nConnection: " + connection + b"\r\n")


def _response(status: bytes, body: bytes, content_type: bytes, *, close: bool,
              extra: bytes = b"") -> bytes:
    return (_status(status, close) + b"Content-Type: " + content_type + b"\r\n"
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


async def serve(count: int, items: int, seed: int) -> None:
    feeds = build_feeds(count, items, seed)
    loop = asyncio.get_running_loop()
    servers = []
    urls = []
    for index in range(count):
        server = await loop.create_server(lambda: FeedProtocol(feeds), address(index), 0,
                                          backlog=64, reuse_address=True)
        servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        urls.append(f"http://{host}:{port}/feed/{index}.xml")
    print(json.dumps({"urls": urls}), flush=True)
    stopped = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), _stop_on_eof, stopped)
    await stopped
    for server in servers:
        server.close()


def _stop_on_eof(stopped: asyncio.Future[None]) -> None:
    if not os.read(sys.stdin.fileno(), 4096) and not stopped.done():
        stopped.set_result(None)


def main() -> None:
    count, items, seed = (int(arg) for arg in sys.argv[1:4])
    asyncio.run(serve(count, items, seed))


if __name__ == "__main__":
    main()
