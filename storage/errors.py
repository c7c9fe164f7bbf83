"""The one exception hierarchy of Armswatch.

It lives in ``storage`` because storage is the bottom layer: every other package may import it,
and storage imports none of ours (design §3). Only the CLI turns these into messages and exit codes.
"""

from __future__ import annotations


class ArmswatchError(Exception):
    """Root of every expected failure; its message is written for the user."""


class StorageError(ArmswatchError):
    """The database could not be opened, read or written (locked, full disk, corrupt file)."""


class ConfigError(ArmswatchError):
    """One or more problems in the configuration files, each ``file: key.path: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(ArmswatchError):
    """A feed could not be fetched; the message says why in plain words.

    ``local_cause`` names a failure that may lie on this machine's side of the network rather
    than the feed's: ``dns`` (name resolution), ``unreachable`` (no route), ``proxy``,
    ``refused``. One such failure means little; most feeds failing with one together is an
    outage of the monitor's own network (monitor/poll/outage.py).
    """

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, gone: bool = False,
                 local_cause: str | None = None, refused: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.gone = gone
        self.local_cause = local_cause
        # What the fetcher refused, for the article pages' record: "too large", "not html" (a
        # content type not asked for, refused before its body is read) or "refused address".
        self.refused = refused


class ParseError(ArmswatchError):
    """A feed body yielded nothing usable (not a feed, or the parse ran too long)."""


class DeliveryError(ArmswatchError):
    """A digest could not be delivered; ``permanent`` means retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class ChartError(ArmswatchError):
    """A trend chart could not be drawn or written; a digest is then sent without it."""
