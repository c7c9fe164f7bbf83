"""Fetch feeds over HTTP(S) within bounds on time, size, redirects and connections.

The only module that imports httpx (design §3). Its known pitfalls (design §11) shape the code:
- the read timeout is per chunk, so every fetch also runs under ``asyncio.timeout``;
- its decoders expand a tiny compressed body into one huge chunk before any cap can act, so we
  ask only for encodings we decode ourselves, read the raw stream, and decode with decompressors
  that emit a bounded amount per step (monitor/feeds/decoding.py), stopping once
  ``max_body`` is passed;
- redirects are followed here, by hand, to bound them, cut loops and refuse non-HTTP schemes;
- it has no per-host limit, so a semaphore per host sits beside the global one;
- it would resolve host names itself, so each connection goes through monitor/feeds/connect.py,
  which connects only to addresses the feed's ``AddressPolicy`` permits (no SSRF, design §12).
  One client per policy: a kept-alive connection is only reused under the policy that vetted it.
  Environment proxies (HTTP_PROXY) are not used: through a proxy, no check could see the address
  a connection really goes to.

Every network failure leaves as ``FetchError`` with a message in plain words.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpx

from monitor.feeds.addresses import REFUSED_ADDRESS, AddressPolicy, AddressRefused, Network
from monitor.feeds.connect import Resolver, VettedPool, system_resolver, vetted_pool
from monitor.feeds.decoding import ACCEPT_ENCODING, DECODE_ERRORS, ContentDecoder
from storage.errors import FetchError

DEFAULT_USER_AGENT = "Armswatch/0.1 (news monitor for US-Mexico arms trafficking coverage)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Feeds are polled minutes apart, so idle connections are rarely reused; keep a few for the
# same-host feeds of one poll (per_host of them at a time) and drop them soon after.
_KEEPALIVE_CONNECTIONS = 16
_KEEPALIVE_EXPIRY = 5.0
# A Location longer than this is refused, and no message quotes more than _SHOWN characters of a
# URL: a hostile server's 8,000-character Location must not fill every digest and log line.
MAX_LOCATION = 2000
_SHOWN = 200


# Exceptions that mean "the network or the server failed", translated into FetchError.
# UnicodeError: a host name the IDNA codec rejects can surface raw from name resolution.
_NETWORK_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, UnicodeError)


@dataclass(frozen=True)
class FetchRequest:
    """One feed to fetch, with the validators remembered from its last response."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    # The configured URL of the feed this fetch is for, when ``url`` is not it (an article link
    # taken from the feed): its address decides which private addresses the fetch may reach.
    feed_url: str | None = None
    # Media types a 2xx answer may have (empty: any); another is refused before its body is
    # read ("not html" for an article page that is a PDF).
    content_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    """What a fetch brought back. ``body`` is decoded, and None when the feed was not modified."""

    name: str
    url: str  # the final URL, after redirects
    status: int
    not_modified: bool
    body: bytes | None
    etag: str | None
    last_modified: str | None
    # Lower-case names, as feedparser wants. Content-Encoding and Content-Length are left out:
    # they describe the bytes on the wire, not the decoded body.
    headers: dict[str, str]
    elapsed: float  # seconds


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); None if invalid."""
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """Fetches feeds through one shared connection pool. Use as ``async with Fetcher() as f:``."""

    def __init__(self, *, concurrency: int = 50, per_host: int = 4, timeout: float = 30.0,
                 max_body: int = 10 * 1024 * 1024, max_redirects: int = 5,
                 user_agent: str = DEFAULT_USER_AGENT,
                 allow_private_addresses: tuple[Network, ...] = (),
                 resolver: Resolver = system_resolver, accept: str = FEED_ACCEPT) -> None:
        """``accept`` is the Accept header sent with every request (feeds, or web pages)."""
        if concurrency < 1 or per_host < 1 or timeout <= 0 or max_body < 1 or max_redirects < 0:
            raise ValueError("Fetcher limits must be positive (max_redirects may be 0)")
        self._concurrency = concurrency
        self._per_host = per_host
        self._timeout = timeout
        self._max_body = max_body
        self._max_redirects = max_redirects
        self._user_agent = user_agent
        self._accept = accept
        self._allow_private = allow_private_addresses
        self._resolver = resolver
        self._slots = asyncio.Semaphore(concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._clients: dict[AddressPolicy, httpx.AsyncClient] | None = None
        self._ssl_context: ssl.SSLContext | None = None

    async def __aenter__(self) -> Fetcher:
        # Fresh semaphores: an asyncio primitive stays bound to the loop it first waited on.
        self._slots = asyncio.Semaphore(self._concurrency)
        self._host_slots = {}
        self._clients = {}
        if self._ssl_context is None:  # loading the CA bundle takes a while: once, up front
            self._ssl_context = httpx.create_ssl_context()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        clients, self._clients = self._clients, None
        for client in (clients or {}).values():
            await client.aclose()

    def policy_for(self, feed_url: str) -> AddressPolicy:
        """The addresses a fetch for the feed configured at ``feed_url`` may reach."""
        return AddressPolicy.for_feed(feed_url, self._allow_private)

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one feed; raises FetchError, with a plain message, for every network problem."""
        if self._clients is None:
            raise RuntimeError("use the Fetcher inside 'async with Fetcher(...)'")
        policy = self.policy_for(request.feed_url or request.url)
        # Waiting for a free slot is not counted against the timeout; only network time is.
        async with self._slots:
            return await self._follow(self._client(policy), policy, request)

    def _client(self, policy: AddressPolicy) -> httpx.AsyncClient:
        assert self._clients is not None and self._ssl_context is not None
        client = self._clients.get(policy)
        if client is None:
            client = self._clients[policy] = httpx.AsyncClient(
                headers={"User-Agent": self._user_agent, "Accept": self._accept,
                         "Accept-Encoding": ACCEPT_ENCODING},
                timeout=httpx.Timeout(self._timeout),
                transport=_VettedTransport(vetted_pool(
                    policy, self._resolver, ssl_context=self._ssl_context,
                    # The semaphore already bounds requests in flight; the pool needs no more.
                    max_connections=self._concurrency,
                    max_keepalive_connections=min(self._concurrency, _KEEPALIVE_CONNECTIONS),
                    keepalive_expiry=_KEEPALIVE_EXPIRY)),
                follow_redirects=False, trust_env=False)
        return client

    # -- redirects and time budget ---------------------------------------------------------
    async def _follow(self, client: httpx.AsyncClient, policy: AddressPolicy,
                      request: FetchRequest) -> FetchResult:
        url = _checked_url(request.url)
        visited = {str(url)}
        budget = self._timeout
        started = asyncio.get_running_loop().time()
        for hop in range(self._max_redirects + 1):
            try:
                if hop:  # an address in any spelling is refused before resolving or connecting
                    policy.check(str(url))
                reply, budget = await self._timed_exchange(client, url, request, budget)
            except AddressRefused:
                raise FetchError(_refusal(request, redirected=bool(hop)),
                                 refused="refused address") from None
            if reply.location is None:
                elapsed = asyncio.get_running_loop().time() - started
                return _result(request, url, reply, elapsed)
            url = _redirect_target(url, reply.location, visited)
            visited.add(str(url))
        raise FetchError(f"too many redirects (more than {self._max_redirects})")

    async def _timed_exchange(self, client: httpx.AsyncClient, url: httpx.URL,
                              request: FetchRequest, budget: float) -> tuple[_Reply, float]:
        """One request under the host's semaphore, within what is left of the time budget."""
        async with self._host_slot(url):
            loop = asyncio.get_running_loop()
            began = loop.time()
            try:
                async with asyncio.timeout(budget):
                    reply = await self._exchange(client, url, request)
            except TimeoutError:
                raise FetchError(self._timed_out()) from None
            return reply, budget - (loop.time() - began)

    def _host_slot(self, url: httpx.URL) -> asyncio.Semaphore:
        return self._host_slots.setdefault(url.host, asyncio.Semaphore(self._per_host))

    def _timed_out(self) -> str:
        return f"timed out after {self._timeout:g} s"

    # -- one request -----------------------------------------------------------------------
    async def _exchange(self, client: httpx.AsyncClient, url: httpx.URL,
                        request: FetchRequest) -> _Reply:
        try:
            async with client.stream("GET", url, headers=_conditional_headers(request)) as response:
                return await self._reply(response, request.content_types)
        except _NETWORK_ERRORS as exc:
            raise network_error(exc, url, self._timed_out()) from exc

    async def _reply(self, response: httpx.Response,
                     content_types: tuple[str, ...]) -> _Reply:
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"{_status_text(status)} without a Location header",
                                 status=status)
            if len(location) > MAX_LOCATION:
                raise FetchError(f"refused a redirect to a URL of {len(location):,} characters "
                                 f"(at most {MAX_LOCATION:,})", status=status)
            return _Reply(status, response.headers, None, location)
        if status == 304:
            return _Reply(status, response.headers, None)
        if not 200 <= status < 300:
            raise _status_error(status, response.headers)
        if content_types:
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in content_types:
                raise FetchError(f"not a web page (content type {_shown(kind or 'none')})",
                                 status=status, refused="not html")
        return _Reply(status, response.headers, await self._read_body(response))

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, refused as soon as it (or the raw stream) passes ``max_body``."""
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self._max_body:
            raise self._too_large()
        encoding = response.headers.get("content-encoding", "")
        chain = ContentDecoder.for_header(encoding)
        parts: list[bytes] = []
        raw_size = decoded_size = 0
        try:
            async for chunk in response.aiter_raw():
                raw_size += len(chunk)
                if raw_size > self._max_body:
                    raise self._too_large()
                decoded_size = self._collect(chain.feed(chunk), parts, decoded_size)
            self._collect(chain.finish(), parts, decoded_size)
        except DECODE_ERRORS:
            raise FetchError(f"response body is not valid {encoding.strip()} data") from None
        return b"".join(parts)

    def _collect(self, pieces: Iterator[bytes], parts: list[bytes], size: int) -> int:
        """Append decoded pieces, refusing the body the moment it passes ``max_body``."""
        for piece in pieces:
            size += len(piece)
            if size > self._max_body:
                raise self._too_large()
            parts.append(piece)
        return size

    def _too_large(self) -> FetchError:
        return FetchError(f"response larger than {_size_text(self._max_body)}",
                          refused="too large")


class _VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a pool of vetted connections (monitor/feeds/connect.py).

    httpx 0.28 takes no network backend (encode/httpx#3749 proposes one), so the pool is set
    in place of the one ``AsyncHTTPTransport.__init__`` would build: that pool is all the
    transport holds, and building it first would load the CA bundle for nothing.
    """

    def __init__(self, pool: VettedPool) -> None:  # no super().__init__(): see above
        self._pool = pool


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes | None
    location: str | None = None


def _result(request: FetchRequest, url: httpx.URL, reply: _Reply, elapsed: float) -> FetchResult:
    not_modified = reply.status == 304
    etag = _validator(reply.headers, b"etag")
    last_modified = _validator(reply.headers, b"last-modified")
    if not_modified:  # a 304 may omit the validators; the ones we sent still hold
        etag = etag or request.etag
        last_modified = last_modified or request.last_modified
    headers = {name.lower(): value for name, value in reply.headers.items()
               if name.lower() not in ("content-encoding", "content-length")}
    return FetchResult(name=request.name, url=str(url), status=reply.status,
                       not_modified=not_modified, body=reply.body, etag=etag,
                       last_modified=last_modified, headers=headers, elapsed=elapsed)


def _validator(headers: httpx.Headers, name: bytes) -> str | None:
    """A validator as the server's exact bytes (latin-1 maps each byte to one character).

    httpx decodes header values as UTF-8 when they parse as such; sending that back re-encoded
    would change the bytes of a non-ASCII ETag, and the server would never answer 304.
    """
    for key, value in headers.raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _conditional_headers(request: FetchRequest) -> dict[bytes, bytes]:
    headers: dict[bytes, bytes] = {}
    if request.etag:
        headers[b"If-None-Match"] = _header_bytes(request.etag)
    if request.last_modified:
        headers[b"If-Modified-Since"] = _header_bytes(request.last_modified)
    return headers


def _header_bytes(value: str) -> bytes:
    # Validators we stored round-trip through latin-1; anything else is sent as UTF-8.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL: {exc}") from None
    if not parsed.scheme:
        raise FetchError(f"invalid URL: {url!r} (expected http:// or https://)")
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme '{parsed.scheme}' (only http and https)")
    if not parsed.host:
        raise FetchError("invalid URL: no host name")
    return parsed


def _redirect_target(current: httpx.URL, location: str, visited: set[str]) -> httpx.URL:
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise FetchError(f"redirect to an invalid URL: {_shown(location)}") from None
    if target.scheme not in ("http", "https"):
        raise FetchError(f"refused redirect to a non-HTTP URL: {_shown(str(target))}")
    if not target.host:
        raise FetchError(f"redirect to an invalid URL: {_shown(location)}")
    if str(target) in visited:
        raise FetchError(f"redirect loop: {_shown(str(target))} redirects back to itself")
    return target


def _refusal(request: FetchRequest, *, redirected: bool) -> str:
    """One text per kind of hop, whatever the address, its port or why it is refused."""
    if redirected:
        return f"redirected to {REFUSED_ADDRESS}"
    if request.feed_url and request.feed_url != request.url:
        return f"the link leads to {REFUSED_ADDRESS}"
    return (f"the feed's host name leads to {REFUSED_ADDRESS}; "
            "[polling] allow_private_addresses allows it")


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _status_text(status: int) -> str:
    return f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()


def _status_error(status: int, headers: httpx.Headers) -> FetchError:
    if status == 410:
        return FetchError("feed is gone (HTTP 410)", status=status, gone=True)
    retry_after = None
    if "retry-after" in headers:
        retry_after = parse_retry_after(headers["retry-after"], datetime.now(UTC))
    message = _status_text(status)
    if retry_after is not None:
        message += f" (retry after {retry_after:.0f} s)"
    return FetchError(message, status=status, retry_after=retry_after)


def network_error(exc: Exception, url: httpx.URL, timed_out: str) -> FetchError:
    """The FetchError for a network failure: its words, and whether the cause may be local."""
    error = _described(exc, url, timed_out)
    error.local_cause = _local_cause(exc)
    return error


def _local_cause(exc: BaseException) -> str | None:
    """``dns``, ``unreachable``, ``proxy`` or ``refused`` when the failure may lie on our side
    of the network (monitor/poll/outage.py decides whether it does); None otherwise."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return "dns"
        if isinstance(cause, httpx.ProxyError):
            return "proxy"
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE:
            return "unreachable"
    return None


_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})


def _described(exc: Exception, url: httpx.URL, timed_out: str) -> FetchError:
    """Plain words for what went wrong, looking through httpx's chain of wrapped exceptions."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError(f"TLS error: certificate not trusted ({cause.verify_message})")
        if isinstance(cause, ssl.SSLError):
            reason = str(cause.reason or cause).replace("_", " ").lower()
            return FetchError(f"TLS error: {reason}")
        if isinstance(cause, socket.gaierror):
            return FetchError(f"could not resolve host name {_shown(url.host)}")
        if isinstance(cause, ConnectionRefusedError):
            return FetchError("connection refused")
        if isinstance(cause, ConnectionResetError):
            return FetchError("connection reset by the server")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return FetchError(timed_out)
    if isinstance(exc, httpx.InvalidURL) or "location header" in str(exc):
        # Our URL was checked before sending, so this is httpx reading a redirect's Location.
        return FetchError("the server redirected to an invalid URL")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(f"invalid URL: {exc}")
    if isinstance(exc, UnicodeError):
        return FetchError(f"invalid host name {_shown(url.host)}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return _protocol_error(str(exc))
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect ({_reason(exc)})")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return FetchError("connection lost during the transfer")
    return FetchError(f"network error: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    """What the error, or one it wraps, says; when none says anything, its kind in words
    (an empty message must never print as "()")."""
    for cause in _causes(exc):
        said = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        if said.strip():
            return said.strip()
    kind = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(exc).__name__).lower()
    return f"{kind}, no details given"


def _protocol_error(text: str) -> FetchError:
    if "without sending a response" in text:
        return FetchError("the server closed the connection without answering")
    if "incomplete" in text or "without sending complete" in text:
        return FetchError("the server closed the connection before the response was complete")
    # h11's text names the fault, then quotes the offending bytes; the fault is enough.
    return FetchError(f"the server sent a broken HTTP response ({text.split(':')[0].rstrip('.')})")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _size_text(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"
