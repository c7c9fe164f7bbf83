"""What the read-only commands (hits, feeds, status, serve) take from the config, read from
whatever parts of the two files are sound.

A running service keeps its last good config when an edit is invalid (design §8), so a typo in
``watchlist.toml`` must not stop anyone from querying what the service stores: these commands need
only the database path. A part with a problem is left out (None) rather than guessed at, and the
problems are kept, for one warning line and for ``armswatch status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from monitor.settings.config import (
    TOP_KEYS,
    ConfigReading,
    FeedConfig,
    PollingConfig,
    WatchItem,
    read_config_files,
)
from storage.errors import ConfigError


@dataclass(frozen=True)
class ReadOnlySettings:
    storage_path: Path | None                # None: [storage] (or the file) has a problem
    feeds: tuple[FeedConfig, ...] | None     # None: the configured feeds are not known
    interval: timedelta                      # the longest feed interval (status's yardstick)
    channels: tuple[str, ...]                # names of the enabled digest channels
    watch: tuple[WatchItem, ...] | None      # None: watchlist.toml has a problem
    problems: tuple[str, ...] = ()           # every problem of both files, as `check` shows

    def database(self, given: Path | None) -> Path:
        """`given` (--db, ARMSWATCH_DB), else storage.path; ConfigError when neither is known."""
        if given is not None:
            return given
        if self.storage_path is None:
            raise ConfigError([*self.problems, "(the database path is not known: fix the "
                               "config, or give it with --db or ARMSWATCH_DB)"])
        return self.storage_path

    def warning(self) -> str | None:
        """One line saying the config is not what a running service uses, or None."""
        if not self.problems:
            return None
        more = len(self.problems) - 1
        others = f" (and {more} more: see `armswatch check`)" if more else ""
        return (f"warning: the config has a problem, so a running service keeps its last good "
                f"config; showing what is stored. {self.problems[0]}{others}")


def read_for_queries(directory: Path,
                     environ: Mapping[str, str] | None = None) -> ReadOnlySettings:
    """The sound parts of the config in `directory`; never raises for a problem in the files."""
    reading = read_config_files(directory, environ)
    sound = _SoundParts(reading)
    config = reading.config
    feeds = config.feeds if config is not None and sound.sections("feeds", "polling") else None
    if feeds:
        interval = max(f.interval for f in feeds)
    elif config is not None and sound.sections("polling"):
        interval = config.polling.interval
    else:
        interval = PollingConfig().interval
    return ReadOnlySettings(
        storage_path=(config.storage.path
                      if config is not None and sound.sections("storage") else None),
        feeds=feeds,
        interval=interval,
        channels=tuple(c.name for c in config.channels if c.name) if config is not None else (),
        watch=reading.watch if not reading.watchlist.problems else None,
        problems=reading.problems,
    )


def unreadable_config(problems: list[str]) -> ReadOnlySettings:
    """Nothing known of the config (there is no config folder), for a query given --db."""
    return ReadOnlySettings(storage_path=None, feeds=None, interval=PollingConfig().interval,
                            channels=(), watch=None, problems=tuple(problems))


class _SoundParts:
    """Which sections of armswatch.toml can be trusted despite problems elsewhere in it."""

    def __init__(self, reading: ConfigReading) -> None:
        self._paths = reading.settings.problem_paths

    def sections(self, *names: str) -> bool:
        # A problem in the file as a whole, or an unknown top-level key (a misspelt [storage]
        # leaves the default path, which is not the one meant), taints every section.
        return all(path and path[0] in TOP_KEYS and path[0] not in names for path in self._paths)
