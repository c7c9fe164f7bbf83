"""The floor for fetching: a minimal HTTP/1.1 GET on bare asyncio streams.

No redirects, no limits, no error translation, one connection per request: only what it takes to
bring the same bytes back (gzip included, so both sides decode the same body). Our Fetcher is
measured beside it to show what its safety costs.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawReply:
    status: int
    size: int              # decoded body bytes
    etag: bytes | None


async def raw_get(url: str, etag: bytes | None = None) -> RawReply:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                   "Accept-Encoding: gzip\r\nConnection: close\r\n").encode()
        if etag:
            request += b"If-None-Match: " + etag + b"\r\n"
        writer.write(request + b"\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if status == 200:
            body = await reader.readexactly(int(headers[b"content-length"]))
            if headers.get(b"content-encoding") == b"gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        return RawReply(status, len(body), headers.get(b"etag"))
    finally:
        writer.close()


async def raw_fetch_all(urls: list[str], etags: list[bytes | None],
                        concurrency: int) -> list[RawReply]:
    """Every URL, at most ``concurrency`` at a time, in order of the list."""
    slots = asyncio.Semaphore(concurrency)

    async def one(url: str, etag: bytes | None) -> RawReply:
        async with slots:
            return await raw_get(url, etag)

    return await asyncio.gather(*(one(u, e) for u, e in zip(urls, etags, strict=True)))
