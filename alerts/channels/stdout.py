"""The stdout channel: the plain-text digest on standard output (cron mail, logs, trying out)."""

from __future__ import annotations

import sys
from typing import TextIO

from alerts.caps import TEXT_MAX_BYTES, utf8_size
from alerts.digest import Digest, fit
from alerts.render_text import render_text
from storage.errors import DeliveryError


class StdoutChannel:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream       # None: sys.stdout at send time (so redirection works)

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        stream = self._stream or sys.stdout
        try:
            stream.write(fit(digest, render_text, utf8_size, TEXT_MAX_BYTES))
            stream.flush()
        except (OSError, ValueError) as exc:   # closed pipe or stream
            raise DeliveryError(f"could not write the digest to standard output: {exc}") from None
        return None
