"""What every channel offers to delivery."""

from __future__ import annotations

from typing import Protocol

from alerts.digest import Digest


class Channel(Protocol):
    """Sends one rendered digest. Raises storage.errors.DeliveryError when it could not; may
    return a note about a partial problem that did not stop delivery (a refused recipient)."""

    name: str

    def send(self, digest: Digest, *, message_id: str) -> str | None: ...
