"""Configuration: the two TOML files of design §5, loaded and validated into frozen dataclasses.

(Dataclasses fixed by the team lead; the loader below them is owned by the config work.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from alerts.config import ChannelConfig

WatchKind = Literal["program", "topic"]


@dataclass(frozen=True)
class WatchItem:
    """One entry of watchlist.toml."""

    name: str                          # canonical name shown in digests and queries
    kind: WatchKind
    terms: tuple[str, ...] = ()        # always count
    guarded: tuple[str, ...] = ()      # count only with a context term in the same article
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()      # an article containing one of these is not matched to this item
    priority: Literal["normal", "high"] = "normal"


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    interval: timedelta                # the feed's own, or [polling].interval
    language: str | None = None


@dataclass(frozen=True)
class PollingConfig:
    interval: timedelta = timedelta(minutes=15)
    concurrency: int = 50
    per_host: int = 4                  # simultaneous connections to one host
    timeout: timedelta = timedelta(seconds=30)        # total per fetch
    parse_timeout: timedelta = timedelta(seconds=20)  # per feed, in a worker process
    max_body: int = 10 * 1024 * 1024   # bytes after decoding
    max_redirects: int = 5
    max_interval: timedelta = timedelta(hours=6)      # cap on failure backoff
    user_agent: str = "Armswatch/0.1 (+https://github.com/armswatch/armswatch; news monitor)"


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("data/armswatch.db")


@dataclass(frozen=True)
class Config:
    directory: Path
    storage: StorageConfig
    polling: PollingConfig
    feeds: tuple[FeedConfig, ...]
    channels: tuple[ChannelConfig, ...]   # enabled channels only
    watch: tuple[WatchItem, ...]
    warnings: tuple[str, ...] = ()        # e.g. a channel skipped because its ${VAR} is unset
