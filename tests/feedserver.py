"""A real HTTP server on 127.0.0.1 for tests, in background threads.

Tests register routes (static feeds with ETag/Last-Modified that really answer 304, status codes,
redirects, encoded bodies, bodies dripped a byte at a time, connections that hang, decompression
bombs) or serve a whole directory, then point real clients at ``server.url(path)``. Every request
is recorded (method, path, lower-case headers) so a test can assert what a client actually sent,
and the server counts how many requests it was answering at once.

Because it runs in its own threads it works the same from sync tests and from tests that drive an
event loop with ``asyncio.run``.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import mimetypes
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import brotli

MB = 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    at: float = field(default_factory=time.monotonic)  # when it arrived (politeness tests)


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # quoted, e.g. '"v1"'; enables If-None-Match → 304
    last_modified: str | None = None  # HTTP date; enables If-Modified-Since → 304
    content_type: str = "application/rss+xml; charset=utf-8"
    # Encode ``body`` on each request: gzip | deflate (zlib-wrapped) | deflate-raw | br.
    encoding: str | None = None
    content_length: bool = True  # False: no Content-Length, the body ends when the connection does
    drip: float | None = None  # seconds between body bytes
    hang: bool = False  # read the request, never answer
    raw: bytes | None = None  # write these bytes instead of an HTTP response, then close
    delay: float = 0.0  # seconds to hold before answering


def encode_body(body: bytes, encoding: str) -> tuple[bytes, str]:
    """``body`` encoded as ``encoding``, and the Content-Encoding value that announces it."""
    if encoding == "gzip":
        return gzip.compress(body), "gzip"
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    if encoding == "deflate-raw":  # what some servers wrongly send as "deflate"
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return packer.compress(body) + packer.flush(), "deflate"
    if encoding == "br":
        return brotli.compress(body), "br"
    raise ValueError(f"unknown encoding {encoding!r}")


@functools.lru_cache(maxsize=4)
def _deflate_zeros(size_mb: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``size_mb`` MiB of zero bytes, with its CRC-32 and Adler-32.

    After a full flush the compressor forgets its history, so every 1 MiB block compresses to the
    same bytes: compress one and repeat it, instead of spending seconds compressing a gigabyte.
    """
    chunk = bytes(MB)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    crc, adler = 0, 1
    for _ in range(size_mb):
        crc = zlib.crc32(chunk, crc)
        adler = zlib.adler32(chunk, adler)
    return block * size_mb + packer.flush(), crc, adler


def gzip_bomb(size_mb: int = 1024) -> bytes:
    """A valid gzip stream (~1 KB per MiB) that decodes to ``size_mb`` MiB of zeros."""
    raw, crc, _ = _deflate_zeros(size_mb)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw + struct.pack("<II", crc, (size_mb * MB) & 0xFFFFFFFF)


def deflate_bomb(size_mb: int = 1024) -> bytes:
    """A valid zlib stream (HTTP "deflate") that decodes to ``size_mb`` MiB of zeros."""
    raw, _, adler = _deflate_zeros(size_mb)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


@functools.lru_cache(maxsize=2)
def brotli_bomb(size_mb: int = 1024) -> bytes:
    """A brotli stream (~190 KB per GiB) that decodes to ``size_mb`` MiB of zeros."""
    packer = brotli.Compressor(quality=1)
    chunk = bytes(MB)
    parts = [packer.process(chunk) for _ in range(size_mb)]
    parts.append(packer.finish())
    return b"".join(parts)


def self_signed_tls(directory: Path) -> ssl.SSLContext | None:
    """Server TLS context, new self-signed certificate for 127.0.0.1; None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 asks for If-None-Match."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
        modified = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return modified <= since


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test's output should show the test, not an access log."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        headers = {name.lower(): value for name, value in self.headers.items()}
        owner._record(RecordedRequest(self.command, self.path, headers))
        owner._enter()
        try:
            self._respond(owner._route_for(self.path), headers, send_body=send_body)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True  # the client went away; that is what many tests do
        finally:
            owner._leave()

    def _respond(self, route: Route, request: dict[str, str], *, send_body: bool) -> None:
        stop = self.server.owner.stopping
        if route.hang:
            stop.wait(60)
            self.close_connection = True
            return
        if route.delay and stop.wait(route.delay):
            return
        if route.raw is not None:
            self.wfile.write(route.raw)
            self.close_connection = True
            return
        if self._is_not_modified(route, request):
            self._send_head(304, route, None)
            return
        body, encoding = route.body, None
        if route.encoding:
            body, encoding = encode_body(body, route.encoding)
        self._send_head(route.status, route, body, encoding)
        if send_body:
            self._send_body(route, body)

    def _is_not_modified(self, route: Route, request: dict[str, str]) -> bool:
        if route.status != 200:
            return False
        if route.etag and "if-none-match" in request:  # takes precedence over the date
            return _etag_matches(request["if-none-match"], route.etag)
        if route.last_modified and "if-modified-since" in request:
            return _not_modified_since(request["if-modified-since"], route.last_modified)
        return False

    def _send_head(self, status: int, route: Route, body: bytes | None,
                   encoding: str | None = None) -> None:
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", route.content_type)
            if route.content_length:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_body(self, route: Route, body: bytes) -> None:
        if route.drip is None:
            self.wfile.write(body)
            return
        for index in range(len(body)):
            if self.server.owner.stopping.wait(route.drip):
                self.close_connection = True
                return
            self.wfile.write(body[index:index + 1])
            self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a poll that opens dozens of
    # connections at once on a busy machine; each then waits a second for its retransmission.
    request_queue_size = 128
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is expected here; anything else still prints."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            super().handle_error(request, client_address)


class FeedServer:
    """Start with ``with FeedServer() as server:`` (or the ``feed_server`` fixture)."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        # Another loopback address (127.0.0.2) lets tests/test_ssrf.py stand in for a public
        # server next to an "internal" one on 127.0.0.1.
        self._tls = tls
        self._host = host
        self._routes: dict[str, Route] = {}
        self._directories: dict[str, Path] = {}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._active = 0
        self._peak = 0
        self.stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FeedServer:
        httpd = _HTTPServer((self._host, 0), _Handler)
        httpd.owner = self
        if self._tls is not None:
            # The handshake happens in the handler thread, so a stuck client cannot block accept().
            httpd.socket = self._tls.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="feedserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake every handler (hanging, dripping or idle) and close."""
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def file_url(self, relpath: str | Path, prefix: str = "/corpus") -> str:
        """The URL of a file under a directory given to ``serve_directory``."""
        return self.url(prefix.rstrip("/") + "/" + quote(Path(relpath).as_posix()))

    # -- routes ----------------------------------------------------------------------------
    def route(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Answer ``path`` as ``Route(body, **options)`` says; returns its full URL."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._routes[path] = Route(body=data, **options)
        return self.url(path)

    def status(self, path: str, status: int, headers: dict[str, str] | None = None) -> str:
        return self.route(path, f"status {status}", status=status, headers=headers or {},
                          content_type="text/plain")

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, status=status, headers={"Location": location},
                          content_type="text/plain")

    def serve_directory(self, directory: Path, prefix: str = "/corpus") -> None:
        """Serve ``directory/<relpath>`` at ``prefix/<relpath>``, with ETag and Last-Modified."""
        with self._lock:
            self._directories[prefix.rstrip("/") + "/"] = Path(directory).resolve()

    # -- what happened ---------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    @property
    def peak_concurrency(self) -> int:
        """The most requests the server was answering at the same moment."""
        with self._lock:
            return self._peak

    # -- called from handler threads -------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self._peak = max(self._peak, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _route_for(self, raw_path: str) -> Route:
        path = urlsplit(raw_path).path
        with self._lock:
            route = self._routes.get(raw_path) or self._routes.get(path)
            directories = list(self._directories.items())
        if route is not None:
            return route
        for prefix, directory in directories:
            if path.startswith(prefix):
                found = _file_route(directory, unquote(path[len(prefix):]))
                if found is not None:
                    return found
        return Route(body=b"no such route", status=404, content_type="text/plain")


_FEED_TYPES = {
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
}


def _file_route(directory: Path, relpath: str) -> Route | None:
    target = (directory / relpath).resolve()
    if not target.is_relative_to(directory) or not target.is_file():
        return None
    data = target.read_bytes()
    content_type = _FEED_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
    return Route(
        body=data,
        content_type=content_type or "application/octet-stream",
        etag='"' + hashlib.sha1(data).hexdigest()[:16] + '"',
        last_modified=email.utils.formatdate(target.stat().st_mtime, usegmt=True),
    )
