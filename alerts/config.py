"""A digest channel's settings, typed and frozen, one class per channel type.

Defined here, not in monitor.settings, because alerts never imports monitor (design §3).
monitor.settings.channels is the one place that validates armswatch.toml and builds these; the
channels take them as they are and check nothing again, so whatever `armswatch check` accepts,
`armswatch digest` can use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Literal, get_args

ChannelType = Literal["email", "slack", "file", "stdout"]
WatchKind = Literal["program", "topic"]
SmtpSecurity = Literal["starttls", "tls", "none"]
FileFormat = Literal["html", "markdown", "text"]

# The one list of file formats: the loader accepts these, the file channel renders each.
FILE_FORMATS: tuple[FileFormat, ...] = get_args(FileFormat)
DEFAULT_FILE_FORMATS: tuple[FileFormat, ...] = ("html", "markdown")
SMTP_SECURITY: tuple[SmtpSecurity, ...] = get_args(SmtpSecurity)
DEFAULT_PORTS: dict[SmtpSecurity, int] = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)   # never in logs or reprs
    timeout: timedelta = timedelta(seconds=30)                # connecting, and each reply
    ca_file: Path | None = None                               # None: the system's trust store

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EmailSettings:
    type: ClassVar[ChannelType] = "email"

    sender: str                      # the `from` key: an address, optionally with a name
    to: tuple[str, ...]
    smtp: SmtpSettings
    subject_prefix: str = "[Armswatch]"


@dataclass(frozen=True)
class SlackSettings:
    type: ClassVar[ChannelType] = "slack"

    webhook_url: str = field(repr=False)                 # a secret: never logged
    username: str | None = None      # legacy webhooks honour these overrides; app webhooks not
    channel: str | None = None
    timeout: timedelta = timedelta(seconds=15)           # per request
    max_wait: timedelta = timedelta(seconds=60)          # total 429 waits within one run
    retries: int = 2                                     # quick retries of a 5xx in one run
    retry_delay: timedelta = timedelta(seconds=2)        # doubled after each retry
    min_interval: timedelta = timedelta(seconds=1)       # between the messages of one digest
    max_messages: int = 5                                # posts per digest; fewer hits listed


@dataclass(frozen=True)
class FileSettings:
    type: ClassVar[ChannelType] = "file"

    path: Path                       # a folder, created when missing
    formats: tuple[FileFormat, ...] = DEFAULT_FILE_FORMATS


@dataclass(frozen=True)
class StdoutSettings:
    type: ClassVar[ChannelType] = "stdout"


ChannelSettings = EmailSettings | SlackSettings | FileSettings | StdoutSettings


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    settings: ChannelSettings        # the type-specific keys; their class is the channel type
    schedule: str = "0 7 * * *"        # cron, five fields, in `timezone`
    timezone: str = "UTC"
    items: tuple[str, ...] = ()        # empty: every item
    kinds: tuple[WatchKind, ...] = ()  # empty: every kind
    immediate: bool = False            # receive high-priority hits at once
    send_empty: bool = False
    backlog: timedelta = timedelta(days=7)   # how far back a new channel starts
    max_entries: int = 50              # hits listed in one digest; the rest are counted
    burst: int = 50                    # more hits than this from one feed: one line, not listed
    alerts_per_hour: int = 4           # immediate alerts; the overflow waits for the digest

    @property
    def type(self) -> ChannelType:
        return self.settings.type
