"""The file channel: each digest written into a folder in the formats its settings name.

File names derive from the digest's creation time, channel and id, so re-sending a pending digest
overwrites the same files instead of adding copies. Writes go to a temporary file first and are
renamed into place, so a reader never sees half a digest. The .html of a digest with a trend
shows its chart, written beside it as a .png of the same name; a chart that cannot be drawn is
logged and left out.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from alerts.caps import FILE_MAX_BYTES, utf8_size
from alerts.chart import alt_text, digest_chart
from alerts.config import FILE_FORMATS, FileFormat, FileSettings
from alerts.digest import Digest, fit
from alerts.render_html import ChartImage, render_html
from alerts.render_text import render_markdown, render_text
from storage.errors import DeliveryError

_RENDERERS: dict[str, tuple[str, Callable[[Digest], str]]] = {
    "html": (".html", render_html),
    "markdown": (".md", render_markdown),
    "text": (".txt", render_text),
}
# One entry per format the loader accepts; a format added there without a renderer fails here,
# at import, not in the middle of a delivery.
RENDERERS: dict[FileFormat, tuple[str, Callable[[Digest], str]]] = {
    fmt: _RENDERERS[fmt] for fmt in FILE_FORMATS}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "channel"


def digest_stem(digest: Digest) -> str:
    ident = f"digest-{digest.digest_id}" if digest.digest_id is not None else "preview"
    return f"{digest.created:%Y%m%dT%H%M%SZ}-{_slug(digest.channel)}-{ident}"


def write_atomically(path: Path, content: str | bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content.encode() if isinstance(content, str) else content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FileChannel:
    def __init__(self, name: str, settings: FileSettings) -> None:
        self.name = name
        self.folder = settings.path
        self.formats = settings.formats

    def paths(self, digest: Digest) -> list[Path]:
        stem = digest_stem(digest)
        return [self.folder / (stem + RENDERERS[f][0]) for f in self.formats]

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            chart = digest_chart(digest.trend, self.name) if "html" in self.formats else None
            for path, fmt in zip(self.paths(digest), self.formats, strict=True):
                render = RENDERERS[fmt][1]
                if fmt == "html" and chart is not None and digest.trend:
                    image = ChartImage(src=path.with_suffix(".png").name,
                                       alt=alt_text(digest.trend))
                    write_atomically(path.with_suffix(".png"), chart)
                    render = partial(render_html, chart=image)
                write_atomically(path, fit(digest, render, utf8_size, FILE_MAX_BYTES))
        except OSError as exc:
            permanent = isinstance(exc, PermissionError | NotADirectoryError | FileExistsError)
            reason = exc.strerror or str(exc)
            raise DeliveryError(f"could not write the digest into {self.folder}: {reason}",
                                permanent=permanent) from None
        return None
