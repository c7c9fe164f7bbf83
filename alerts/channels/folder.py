"""The file channel: each digest written into a folder as HTML and Markdown (and text, if asked).

File names derive from the digest's creation time, channel and id, so re-sending a pending digest
overwrites the same files instead of adding copies. Writes go to a temporary file first and are
renamed into place, so a reader never sees half a digest.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from alerts.channels.options import OptionReader
from alerts.digest import Digest
from alerts.render_html import render_html
from alerts.render_text import render_markdown, render_text
from storage.errors import DeliveryError

FILE_OPTIONS = {"path", "formats"}
RENDERERS: dict[str, tuple[str, Callable[[Digest], str]]] = {
    "html": (".html", render_html),
    "markdown": (".md", render_markdown),
    "text": (".txt", render_text),
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "channel"


def digest_stem(digest: Digest) -> str:
    ident = f"digest-{digest.digest_id}" if digest.digest_id is not None else "preview"
    return f"{digest.created:%Y%m%dT%H%M%SZ}-{_slug(digest.channel)}-{ident}"


def write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FileChannel:
    def __init__(self, name: str, folder: Path,
                 formats: tuple[str, ...] = ("html", "markdown")) -> None:
        self.name = name
        self.folder = folder
        self.formats = formats

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any],
                     problems: list[str]) -> FileChannel:
        reader = OptionReader(name, options, problems=problems)
        raw = options.get("path")
        folder = str(raw) if isinstance(raw, os.PathLike) else (
            reader.string("path", required=True) or ".")
        if "\0" in folder:
            reader.problem("path", "contains a NUL character")
        formats = reader.strings("formats") or ("html", "markdown")
        unknown = [f for f in formats if f not in RENDERERS]
        if unknown:
            reader.problem("formats", f"has unknown formats {', '.join(unknown)}; "
                                      f"use {', '.join(RENDERERS)}")
        return cls(name, Path(folder), tuple(f for f in formats if f in RENDERERS))

    def paths(self, digest: Digest) -> list[Path]:
        stem = digest_stem(digest)
        return [self.folder / (stem + RENDERERS[f][0]) for f in self.formats]

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for path, fmt in zip(self.paths(digest), self.formats, strict=True):
                write_atomically(path, RENDERERS[fmt][1](digest))
        except (OSError, ValueError) as exc:
            permanent = not isinstance(exc, OSError) or isinstance(
                exc, PermissionError | NotADirectoryError | FileExistsError)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DeliveryError(f"could not write the digest into {self.folder}: {reason}",
                                permanent=permanent) from None
        return None
