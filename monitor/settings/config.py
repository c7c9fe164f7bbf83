"""Configuration: the two TOML files of design §5, loaded and validated into frozen dataclasses.

``load_config(directory)`` reads ``armswatch.toml`` and ``watchlist.toml`` and either returns a
Config or raises ConfigError listing every problem in both files, each ``file: key.path: what is
wrong`` (array positions count from 1). Reading helpers live in monitor.settings.tables, channel
checks in monitor.settings.channels (common keys) and .channel_settings (each type's keys).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from alerts.config import ChannelConfig
from monitor.settings.channels import read_channel
from monitor.settings.tables import (
    KeyPath,
    Report,
    Table,
    Unresolved,
    first_duplicates,
    format_duration,
    interpolate,
    parse_duration,
    parse_size,
    quote,
    read_toml,
)
from storage.errors import ConfigError

__all__ = [
    "CONFIG_FILES",
    "ChannelConfig", "Config", "FeedConfig", "PollingConfig", "StorageConfig", "WatchItem",
    "format_duration", "load_config", "load_watchlist", "parse_duration", "parse_size",
    "summarise",
]

CONFIG_FILE = "armswatch.toml"
WATCHLIST_FILE = "watchlist.toml"
CONFIG_FILES = (CONFIG_FILE, WATCHLIST_FILE)

WatchKind = Literal["program", "topic"]


@dataclass(frozen=True)
class WatchItem:
    """One entry of watchlist.toml."""

    name: str                          # canonical name shown in digests and queries
    kind: WatchKind
    terms: tuple[str, ...] = ()        # always count
    guarded: tuple[str, ...] = ()      # count only with a context term in the same article
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()      # an article with one of these is not matched to this item
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


TOP_KEYS = ("storage", "polling", "feeds", "channels")
STORAGE_KEYS = ("path",)
POLLING_KEYS = ("interval", "concurrency", "per_host", "timeout", "parse_timeout", "max_body",
                "max_redirects", "max_interval", "user_agent")
FEED_KEYS = ("name", "url", "language", "interval")
WATCH_KEYS = ("name", "kind", "terms", "guarded", "context", "exclude", "priority")
DEFAULT_BACKLOG = timedelta(days=7)
_LANGUAGE = re.compile(r"[a-z]{2}")
_MATCHABLE = re.compile(r"[^\W_]")


def load_config(directory: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Both files of `directory`, checked; `environ` (default os.environ) fills ``${VAR}``."""
    settings = Report(CONFIG_FILE)
    watch_report = Report(WATCHLIST_FILE)
    watch = _load_watch_items(directory / WATCHLIST_FILE, watch_report)
    document = read_toml(directory / CONFIG_FILE, settings)
    config = None
    if document is not None:
        config = _read_config(document, directory, watch,
                              os.environ if environ is None else environ, settings)
    problems = settings.problems + watch_report.problems
    if problems or config is None:
        raise ConfigError(problems)
    return replace(config, warnings=tuple(settings.warnings + watch_report.warnings))


def load_watchlist(path: Path) -> tuple[WatchItem, ...]:
    """The watch items of one watchlist file; raises ConfigError listing every problem."""
    report = Report(path.name)
    items = _load_watch_items(path, report)
    if report.problems or items is None:
        raise ConfigError(report.problems)
    return items


def summarise(config: Config) -> list[str]:
    """What the config holds, as lines for ``armswatch check`` (warnings are not included)."""
    polling = config.polling
    programs = sum(1 for item in config.watch if item.kind == "program")
    lines = [
        f"config: {config.directory}",
        f"database: {config.storage.path}",
        f"polling: every {format_duration(polling.interval)}, {polling.concurrency} feeds at "
        f"once ({polling.per_host} per host), timeout {format_duration(polling.timeout)}",
        f"feeds: {len(config.feeds)}",
    ]
    for feed in config.feeds:
        language = f" [{feed.language}]" if feed.language else ""
        lines.append(f"  {feed.name}: every {format_duration(feed.interval)}{language}")
    lines.append(f"watch items: {len(config.watch)} ({_count(programs, 'program')}, "
                 f"{_count(len(config.watch) - programs, 'topic')})")
    lines.append(f"channels: {len(config.channels)}")
    for channel in config.channels:
        at_once = ", high priority at once" if channel.immediate else ""
        lines.append(f"  {channel.name}: {channel.type}, schedule {quote(channel.schedule)} "
                     f"({channel.timezone}){at_once}")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _read_config(document: dict[str, object], directory: Path,
                 watch: tuple[WatchItem, ...] | None, environ: Mapping[str, str],
                 report: Report) -> Config:
    missing: list[tuple[KeyPath, str]] = []
    data = cast(dict[str, object], interpolate(document, (), environ, report, missing))
    skipped = _channels_to_skip(data, missing, report)
    top = Table(data, (), report)
    top.check_keys(TOP_KEYS)
    storage = _read_storage(top.table("storage"))
    polling = _read_polling(top.table("polling"))
    feeds = _read_feeds(top, polling.interval)
    watch_names = None if watch is None else [item.name for item in watch]
    channels = [read_channel(t, watch_names, DEFAULT_BACKLOG) for t in top.tables("channels")]
    _check_duplicates(top, "channels", "name", [(i, c.name.casefold())
                                                 for i, c in enumerate(channels)])
    kept = tuple(c for i, c in enumerate(channels) if i not in skipped)
    return Config(directory=directory, storage=storage, polling=polling, feeds=feeds,
                  channels=kept, watch=watch or ())


def _channels_to_skip(data: dict[str, object], missing: list[tuple[KeyPath, str]],
                      report: Report) -> set[int]:
    """Channels using unset variables (each gets one warning); unset elsewhere is a problem."""
    by_channel: dict[int, list[str]] = {}
    for path, name in missing:
        if path[:1] == ("channels",) and len(path) > 1 and isinstance(path[1], int):
            by_channel.setdefault(path[1], [])
            if name not in by_channel[path[1]]:
                by_channel[path[1]].append(name)
        else:
            report.problem(path, f"environment variable {name} is not set")
    channels = data.get("channels")
    for index, names in by_channel.items():
        table = channels[index] if isinstance(channels, list) else None
        label = table.get("name") if isinstance(table, dict) else None
        label = f" {quote(label)}" if isinstance(label, str) and label else ""
        several = len(names) > 1
        report.warning(("channels", index), f"channel{label} skipped: environment variable"
                       f"{'s' if several else ''} {', '.join(names)} "
                       f"{'are' if several else 'is'} not set")
    return set(by_channel)


def _read_storage(table: Table | None) -> StorageConfig:
    if table is None:
        return StorageConfig()
    table.check_keys(STORAGE_KEYS)
    path = table.text("path", str(StorageConfig.path))
    # Relative to the working directory, not the config folder (design §5).
    return StorageConfig(path=Path(path).expanduser())


def _read_polling(table: Table | None) -> PollingConfig:
    defaults = PollingConfig()
    if table is None:
        return defaults
    table.check_keys(POLLING_KEYS)
    polling = PollingConfig(
        interval=table.duration("interval", defaults.interval),
        concurrency=table.integer("concurrency", defaults.concurrency, low=1, high=1000),
        per_host=table.integer("per_host", defaults.per_host, low=1, high=100),
        timeout=table.duration("timeout", defaults.timeout),
        parse_timeout=table.duration("parse_timeout", defaults.parse_timeout),
        max_body=_max_body(table, defaults.max_body),
        max_redirects=table.integer("max_redirects", defaults.max_redirects, low=0, high=20),
        max_interval=table.duration("max_interval", defaults.max_interval),
        user_agent=table.text("user_agent", defaults.user_agent),
    )
    if polling.max_interval < polling.interval:
        table.problem("max_interval", f"{format_duration(polling.max_interval)} is shorter "
                      f"than polling.interval ({format_duration(polling.interval)})")
    return polling


def _max_body(table: Table, default: int) -> int:
    value = table.data.get("max_body", default)
    size = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and not isinstance(value, Unresolved):
        try:
            size = parse_size(value)
        except ValueError as exc:
            table.problem("max_body", str(exc))
            return default
    if size is None or size < 1024:
        table.problem("max_body", "must be at least 1KB: a number of bytes or a size like "
                      f'"10MB", not {quote(value) if isinstance(value, str) else value!r}')
        return default
    return size


def _read_feeds(top: Table, default_interval: timedelta) -> tuple[FeedConfig, ...]:
    feeds = []
    for table in top.tables("feeds"):
        table.check_keys(FEED_KEYS)
        feeds.append(FeedConfig(
            name=table.text("name", required=True),
            url=_feed_url(table),
            interval=table.duration("interval", default_interval),
            language=_language(table),
        ))
    if not feeds and "feeds" not in top.data:
        top.report.warning(("feeds",), "no [[feeds]] defined: there is nothing to poll")
    _check_duplicates(top, "feeds", "name", [(i, f.name.casefold()) for i, f in enumerate(feeds)])
    _check_duplicates(top, "feeds", "url", [(i, _url_key(f.url)) for i, f in enumerate(feeds)])
    return tuple(feeds)


def _feed_url(table: Table) -> str:
    url = table.text("url", required=True)
    if not url or isinstance(url, Unresolved):
        return url
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        table.problem("url", f"must be an http:// or https:// URL, not {quote(url)}")
    elif any(c.isspace() for c in url.strip()):
        table.problem("url", "contains a space; write it as %20 (or + in a query)")
    return url.strip()


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _language(table: Table) -> str | None:
    code = table.text("language") or None
    if code is not None and not _LANGUAGE.fullmatch(code.lower()):
        table.problem("language", 'must be a two-letter language code such as "en" or "es", '
                      f"not {quote(code)}")
        return None
    return code.lower() if code else None


def _check_duplicates(top: Table, array: str, key: str, keys: list[tuple[int, str]]) -> None:
    raw = top.data.get(array)
    for index, first in first_duplicates(k for k in keys if k[1]):
        value = raw[index].get(key) if isinstance(raw, list) else None
        top.report.problem((array, index, key), f"{quote(str(value))} is already the {key} of "
                           f"{array}[{first + 1}]")


def _load_watch_items(path: Path, report: Report) -> tuple[WatchItem, ...] | None:
    """The items of a watch list file, or None when it could not be read or parsed."""
    document = read_toml(path, report)
    if document is None:
        return None
    top = Table(document, (), report)
    top.check_keys(("watch",))
    items = tuple(_read_watch_item(table) for table in top.tables("watch"))
    if not items and "watch" not in document:
        report.problem(("watch",), "no [[watch]] items: add at least one, or nothing can match")
    _check_duplicates(top, "watch", "name", [(i, w.name.casefold()) for i, w in enumerate(items)])
    return items


def _read_watch_item(table: Table) -> WatchItem:
    table.check_keys(WATCH_KEYS)
    item = WatchItem(
        name=table.text("name", required=True),
        kind=cast(Literal["program", "topic"],
                  table.choice("kind", ("program", "topic"), "topic", required=True)),
        terms=_terms(table, "terms"),
        guarded=_terms(table, "guarded"),
        context=_terms(table, "context"),
        exclude=_terms(table, "exclude"),
        priority=cast(Literal["normal", "high"],
                      table.choice("priority", ("normal", "high"), "normal")),
    )
    # Entries that were there but wrong are reported already; this is for none at all.
    if not any(table.data.get(key) for key in ("terms", "guarded")):
        table.problem(None, "needs at least one term in terms or guarded, or it can never match")
    if item.guarded and not item.context:
        table.problem("context", "required when guarded is set (a guarded term counts only "
                      "when a context term is in the same article)")
    if item.context and not item.guarded:
        table.report.warning(table.at("context"), "has no effect without guarded terms")
    return item


def _terms(table: Table, key: str) -> tuple[str, ...]:
    terms = table.strings(key)
    raw = table.data.get(key)
    for index, term in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(term, str) and term.strip() and not _MATCHABLE.search(term):
            table.report.problem(table.at(key, index),
                                 f"{quote(term)} has no letters or digits, so it can never match")
    return tuple(t for t in terms if _MATCHABLE.search(t))

