"""What every channel offers to delivery."""

from __future__ import annotations

from typing import Protocol

from alerts.digest import Digest
from storage.errors import DeliveryError


class MessageRefused(DeliveryError):
    """The server refused this very message (its size or its content), not the channel's
    settings: retrying it will not help, but the next digest may well go through."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class Channel(Protocol):
    """Sends one rendered digest. Raises storage.errors.DeliveryError when it could not; may
    return a note about a partial problem that did not stop delivery (a refused recipient)."""

    name: str

    def send(self, digest: Digest, *, message_id: str) -> str | None: ...
