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
    error: str | None = None         # why the send failed; the digest stays pending
    permanent: bool = False          # the error will recur until the channel's settings change
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
            text = f"{self.channel}: {before}{what}: {self.error}"
            if self.permanent:
                text += "; this will not fix itself: check the channel's settings"
            if self.next_attempt is not None:
                text += (f"; it stays pending, next attempt from "
                         f"{self.next_attempt:%Y-%m-%d %H:%M} UTC")
            return text
        return f"{self.channel}: {before}nothing sent: {self.skipped_reason or 'nothing to send'}"
