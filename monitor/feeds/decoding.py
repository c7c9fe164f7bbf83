"""Bounded decoding of HTTP Content-Encoding (gzip, deflate, br) for the feed fetcher.

httpx's own decoders turn a 1.6 KB brotli or 1 MB gzip body into one 1 GB chunk before any size
cap can act (design §11). These decoders never emit more than about ``PIECE`` bytes a step, so the
caller can count decoded bytes and stop at its limit having held only that limit in memory.
No I/O and no httpx here: bytes in, bounded pieces out.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Iterator
from typing import Any, Protocol

from storage.errors import FetchError

PIECE = 64 * 1024  # the most decoded bytes one decompression step may produce (brotli: ~1.5x)


def _bounded_brotli() -> Any:
    """The brotli module when its decompressor can bound its output (brotli >= 1.2), else None."""
    try:
        module = importlib.import_module("brotli")
    except ImportError:
        return None
    # Older Decompressor.process has no output limit: 1.6 KB of input can become 1 GB at once.
    return module if hasattr(module.Decompressor, "can_accept_more_data") else None


_brotli: Any = _bounded_brotli()
ACCEPT_ENCODING = "gzip, deflate, br" if _brotli is not None else "gzip, deflate"
# What a corrupt body raises while being decoded.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    (zlib.error, _brotli.error) if _brotli is not None else (zlib.error,)
)


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...
    def finish(self) -> Iterator[bytes]: ...


class _ZlibDecoder:
    """gzip or deflate, at most ``PIECE`` bytes a step (``max_length`` + ``unconsumed_tail``)."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # some servers send raw deflate, no zlib header
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            out = self._step(pending)
            if not out and self._inflater.unconsumed_tail == pending:
                break  # no progress (cannot happen with max_length > 0, but never spin)
            pending = self._inflater.unconsumed_tail
            if out:
                yield out

    def finish(self) -> Iterator[bytes]:
        while not self._inflater.eof:
            out = self._inflater.decompress(b"", PIECE)
            if not out:
                break  # a truncated stream: keep what came, as httpx does
            yield out

    def _step(self, data: bytes) -> bytes:
        if self._started or not self._raw_fallback:
            return self._inflater.decompress(data, PIECE)
        self._started = True
        try:
            return self._inflater.decompress(data, PIECE)
        except zlib.error:
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflater.decompress(data, PIECE)


class _BrotliDecoder:
    """brotli via ``process(data, output_buffer_limit=)``: roughly ``PIECE`` bytes a step."""

    def __init__(self) -> None:
        self._decompressor = _brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out: bytes = self._decompressor.process(data, output_buffer_limit=PIECE)
        if out:
            yield out
        # Until it can accept more input, the decompressor must be drained with empty input.
        while not self._decompressor.can_accept_more_data():
            out = self._decompressor.process(b"", output_buffer_limit=PIECE)
            if not out:
                break
            yield out

    def finish(self) -> Iterator[bytes]:
        while not self._decompressor.is_finished():
            out: bytes = self._decompressor.process(b"", output_buffer_limit=PIECE)
            if not out:
                break
            yield out


class ContentDecoder:
    """The decoders for one Content-Encoding header, applied in reverse of the listed order."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    @classmethod
    def for_header(cls, header: str) -> ContentDecoder:
        names = [name.strip().lower() for name in header.split(",") if name.strip()]
        return cls([_decoder_for(name) for name in reversed(names) if name != "identity"])

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self._decoders):
            for piece in decoder.finish():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._decoders):
            if data:
                yield data
            return
        for piece in self._decoders[index].feed(data):
            yield from self._through(index + 1, piece)


def _decoder_for(name: str) -> _Decoder:
    if name in ("gzip", "x-gzip"):
        return _ZlibDecoder(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True)
    if name == "br" and _brotli is not None:
        return _BrotliDecoder()
    raise FetchError(f"the server used a content encoding we did not ask for ({name})")
