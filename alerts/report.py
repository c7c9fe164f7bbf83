"""What one delivery run did for one channel, for the CLI and the scheduler's log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.wording import plural


@dataclass(frozen=True)
class DeliveryReport:
    channel: str
    digest_id: int | None = None     # the digest this run created, re-sent or previewed
    hits: int = 0                    # hits in that digest
    sent: bool = False
    skipped_reason: str | None = None
    error: str | None = None         # why the send failed
    permanent: bool = False          # refused for good: retrying will not help
    refused_message: bool = False    # ... because of this message (size, content), not settings
    attempt: int = 0                 # which attempt failed
    refusals: int = 0                # refusals for good after which the digest is marked failed
    marked_failed: bool = False      # so refused, it is failed and no longer holds up others
    next_attempt: datetime | None = None
    note: str | None = None          # sent, but with a problem worth telling (refused recipient)
    retried: DeliveryReport | None = None   # an earlier pending digest, re-sent first in this run
    preview: str | None = None       # dry run: the text rendering of what would be sent

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.retried is not None and self.retried.failed)

    def _what(self) -> str:
        return f"digest {self.digest_id} ({plural(self.hits, 'hit')})"

    def summary(self) -> str:
        """One line in plain words."""
        before = f"re-sent {self.retried._what()}; " if self.retried and self.retried.sent else ""
        if self.sent:
            text = f"{self.channel}: {before}sent {self._what()}"
            return text + (f" ({self.note})" if self.note else "")
        if self.error is not None:
            # No digest id: the run failed before a digest was recorded (nothing to re-send).
            what = f"{self._what()} not sent" if self.digest_id is not None else "not sent"
            return f"{self.channel}: {before}{what}: {self.error}{self._consequence()}"
        return f"{self.channel}: {before}nothing sent: {self.skipped_reason or 'nothing to send'}"

    def _consequence(self) -> str:
        """What happens to the digest after a failed send, in words."""
        text = ""
        if self.permanent:
            text = ("; the server refuses this message itself (not the channel's settings)"
                    if self.refused_message else
                    "; this will not fix itself: check the channel's settings")
        if self.marked_failed:
            return (f"{text}; refused for good, the digest is marked failed and no longer holds "
                    "up newer digests; its hits stay in the database (`armswatch digest failed` "
                    "lists it, `armswatch digest resend` sends it again)")
        if self.permanent and self.digest_id is not None and self.refusals:
            text += f" (refusal {self.attempt} of {self.refusals} before it is marked failed)"
        if self.next_attempt is not None:
            text += f"; it stays pending, next attempt from {self.next_attempt:%Y-%m-%d %H:%M} UTC"
        return text
