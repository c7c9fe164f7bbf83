"""Configuration: the two TOML files of design §5, loaded and validated into frozen dataclasses.

``load_config(directory)`` reads ``armswatch.toml`` and ``watchlist.toml`` and either returns a
Config or raises ConfigError listing every problem in both files, each ``file: key.path: what is
wrong`` (array positions count from 1). Reading helpers live in monitor.settings.tables, channel
checks in monitor.settings.channels (common keys) and .channel_settings (each type's keys).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import cast
from urllib.parse import quote as quote_url
from urllib.parse import quote_plus, urlsplit

from alerts.config import ChannelConfig
from monitor.settings.articles import ArticleMode, ArticlesConfig, read_article_mode, read_articles
from monitor.settings.channels import read_channel
from monitor.settings.tables import (
    KeyPath,
    Report,
    Table,
    Unresolved,
    check_duplicates,
    describe,
    format_duration,
    interpolate,
    parse_duration,
    parse_size,
    quote,
    read_toml,
    variables,
)
from monitor.settings.watchitems import WatchItem, load_watchlist, read_watch_items
from storage.errors import ConfigError

__all__ = [
    "CONFIG_FILES", "TOP_KEYS",
    "ArticlesConfig", "ChannelConfig", "Config", "ConfigReading", "FeedConfig", "PollingConfig",
    "StorageConfig", "StoriesConfig", "WatchItem",
    "format_duration", "load_config", "load_watchlist", "parse_duration", "parse_size",
    "read_config_files", "summarise",
]

CONFIG_FILE = "armswatch.toml"
WATCHLIST_FILE = "watchlist.toml"
CONFIG_FILES = (CONFIG_FILE, WATCHLIST_FILE)


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str = field(repr=False)       # what is fetched, ${VAR}s filled in: may hold a secret
    interval: timedelta                # the feed's own, or [polling].interval
    language: str | None = None
    template: str | None = None        # the URL as written, when it uses ${VAR}
    # When the article page behind an item is fetched (monitor/settings/articles.py).
    articles: ArticleMode = "auto"
    # Each ${VAR} value the URL holds, with its reference, for ``redact``.
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def display_url(self) -> str:
        """The URL to store and show: as written in the config, never with a secret filled in."""
        return self.template or self.url

    def redact(self, text: str) -> str:
        """``text`` (an error message, a link) with every ${VAR} value of the URL put back as
        its reference, also where it appears percent-encoded."""
        for value, reference in sorted(self.secrets, key=lambda s: -len(s[0])):
            for form in dict.fromkeys((value, quote_url(value, safe=""),
                                       quote_plus(value, safe=""))):
                text = text.replace(form, reference)
        return text


@dataclass(frozen=True)
class PollingConfig:
    interval: timedelta = timedelta(minutes=15)
    concurrency: int = 50
    per_host: int = 4                  # simultaneous connections to one host
    timeout: timedelta = timedelta(seconds=30)        # total per fetch
    parse_timeout: timedelta = timedelta(seconds=20)  # per feed, in a worker process
    max_body: int = 10 * 1024 * 1024   # bytes after decoding
    max_redirects: int = 5
    max_entries: int = 500             # per fetch, the newest; the rest are counted, not stored
    max_interval: timedelta = timedelta(hours=6)      # cap on failure backoff
    user_agent: str = "Armswatch/0.1 (+https://github.com/armswatch/armswatch; news monitor)"
    # Non-global networks every feed may reach (monitor/feeds/addresses.py); true is everything.
    allow_private_addresses: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("data/armswatch.db")
    # How long the text (summary, content) of an article that matched nothing is kept; hits keep
    # theirs forever. 0: forever.
    keep_text: timedelta = timedelta(0)


@dataclass(frozen=True)
class MatchingConfig:
    # How far back a live reload re-matches stored articles for items it adds or changes
    # (design §14); 0: not at all.
    backfill: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class StoriesConfig:
    # Reports of one event published at most this far apart can join one story (design §13).
    window: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class Config:
    directory: Path
    storage: StorageConfig
    polling: PollingConfig
    feeds: tuple[FeedConfig, ...]
    channels: tuple[ChannelConfig, ...]   # enabled channels only
    watch: tuple[WatchItem, ...]
    warnings: tuple[str, ...] = ()        # e.g. a channel skipped because its ${VAR} is unset
    # Channels marked `optional = true` left out, quietly, because a ${VAR} of theirs is unset.
    skipped: tuple[str, ...] = ()
    matching: MatchingConfig = MatchingConfig()
    articles: ArticlesConfig = ArticlesConfig()
    stories: StoriesConfig = StoriesConfig()


TOP_KEYS = ("storage", "polling", "matching", "articles", "stories", "feeds", "channels")
STORAGE_KEYS = ("path", "keep_text")
MATCHING_KEYS = ("backfill",)
STORIES_KEYS = ("window",)
POLLING_KEYS = ("interval", "concurrency", "per_host", "timeout", "parse_timeout", "max_body",
                "max_redirects", "max_entries", "max_interval", "user_agent",
                "allow_private_addresses")
FEED_KEYS = ("name", "url", "language", "interval", "articles")
DEFAULT_BACKLOG = timedelta(days=7)
_LANGUAGE = re.compile(r"[a-z]{2}")


def load_config(directory: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Both files of `directory`, checked; `environ` (default os.environ) fills ``${VAR}``."""
    reading = read_config_files(directory, environ)
    if reading.problems or reading.config is None:
        raise ConfigError(list(reading.problems))
    return replace(reading.config,
                   warnings=tuple(reading.settings.warnings + reading.watchlist.warnings))


@dataclass(frozen=True)
class ConfigReading:
    """Both files read as far as they go, problems included (monitor.settings.readonly uses
    the sound parts)."""

    config: Config | None                  # defaults where a value is wrong; None: unparseable
    watch: tuple[WatchItem, ...] | None    # None: watchlist.toml could not be parsed
    settings: Report                       # what is wrong in armswatch.toml
    watchlist: Report                      # ... and in watchlist.toml

    @property
    def problems(self) -> tuple[str, ...]:
        return (*self.settings.problems, *self.watchlist.problems)


def read_config_files(directory: Path,
                      environ: Mapping[str, str] | None = None) -> ConfigReading:
    """Read both files of `directory`, recording every problem instead of raising."""
    settings = Report(CONFIG_FILE)
    watchlist = Report(WATCHLIST_FILE)
    watch = read_watch_items(directory / WATCHLIST_FILE, watchlist)
    document = read_toml(directory / CONFIG_FILE, settings)
    config = None
    if document is not None:
        config = _read_config(document, directory, watch,
                              os.environ if environ is None else environ, settings)
    return ConfigReading(config, watch, settings, watchlist)


def summarise(config: Config) -> list[str]:
    """What the config holds, as lines for ``armswatch check`` (warnings are not included)."""
    polling = config.polling
    programs = sum(1 for item in config.watch if item.kind == "program")
    lines = [
        f"config: {config.directory.resolve()}",
        f"database: {config.storage.path}",
        f"polling: every {format_duration(polling.interval)}, {polling.concurrency} feeds at "
        f"once ({polling.per_host} per host), timeout {format_duration(polling.timeout)}",
        f"article pages: {config.articles.concurrency} at once, {config.articles.per_host} per "
        f"host, {format_duration(config.articles.delay)} apart per host",
        f"stories: reports of one event up to {format_duration(config.stories.window)} apart",
        f"feeds: {len(config.feeds)}",
    ]
    if polling.allow_private_addresses:
        allowed = ("every address" if polling.allow_private_addresses == _EVERY_NETWORK else
                   ", ".join(str(network) for network in polling.allow_private_addresses))
        lines.insert(3, f"private addresses allowed: {allowed}")
    for feed in config.feeds:
        language = f" [{feed.language}]" if feed.language else ""
        pages = "" if feed.articles == "auto" else f", article pages {feed.articles}"
        lines.append(f"  {feed.name}: every {format_duration(feed.interval)}{language}{pages}")
    lines.append(f"watch items: {len(config.watch)} ({_count(programs, 'program')}, "
                 f"{_count(len(config.watch) - programs, 'topic')})")
    lines.append(f"channels: {len(config.channels)}")
    for channel in config.channels:
        at_once = ", high priority at once" if channel.immediate else ""
        lines.append(f"  {channel.name}: {channel.type}, schedule {quote(channel.schedule)} "
                     f"({channel.timezone}){at_once}")
    lines += [f"  {note}" for note in config.skipped]
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _read_config(document: dict[str, object], directory: Path,
                 watch: tuple[WatchItem, ...] | None, environ: Mapping[str, str],
                 report: Report) -> Config:
    missing: list[tuple[KeyPath, str]] = []
    data = cast(dict[str, object], interpolate(document, (), environ, report, missing))
    skipped, quiet = _channels_to_skip(data, missing, report)
    top = Table(data, (), report)
    top.check_keys(TOP_KEYS)
    storage = _read_storage(top.table("storage"))
    polling = _read_polling(top.table("polling"))
    matching = _read_matching(top.table("matching"))
    articles = read_articles(top.table("articles"))
    stories = _read_stories(top.table("stories"))
    feeds = _read_feeds(top, Table(document, (), report), polling.interval, environ)
    watch_names = None if watch is None else [item.name for item in watch]
    channels = [read_channel(t, watch_names, DEFAULT_BACKLOG) for t in top.tables("channels")]
    check_duplicates(top, "channels", "name", [(i, c.name.casefold())
                                                 for i, c in enumerate(channels)])
    kept = tuple(c for i, c in enumerate(channels) if i not in skipped)
    return Config(directory=directory, storage=storage, polling=polling, feeds=feeds,
                  channels=kept, watch=watch or (), skipped=tuple(quiet), matching=matching,
                  articles=articles, stories=stories)


def _channels_to_skip(data: dict[str, object], missing: list[tuple[KeyPath, str]],
                      report: Report) -> tuple[set[int], list[str]]:
    """Channels using unset variables, and what `check` says of the optional ones among them.

    Each gets one warning, unless it says `optional = true`: a channel meant for some
    deployments only (the shipped "mailpit" one, turned on by docker-compose.yml) would
    otherwise warn on every command everywhere else. Unset elsewhere is a problem.
    """
    by_channel: dict[int, list[str]] = {}
    for path, name in missing:
        if path[:1] == ("channels",) and len(path) > 1 and isinstance(path[1], int):
            by_channel.setdefault(path[1], [])
            if name not in by_channel[path[1]]:
                by_channel[path[1]].append(name)
        else:
            report.problem(path, f"environment variable {name} is not set")
    channels = data.get("channels")
    quiet = []
    for index, names in by_channel.items():
        table = channels[index] if isinstance(channels, list) else None
        label = table.get("name") if isinstance(table, dict) else None
        label = f" {quote(label)}" if isinstance(label, str) and label else ""
        several = len(names) > 1
        unset = (f"environment variable{'s' if several else ''} {', '.join(names)} "
                 f"{'are' if several else 'is'} not set")
        if isinstance(table, dict) and table.get("optional") is True:
            quiet.append(f"channel{label} is off (optional): {unset}")
        else:
            report.warning(("channels", index), f"channel{label} skipped: {unset}")
    return set(by_channel), quiet


def _read_storage(table: Table | None) -> StorageConfig:
    if table is None:
        return StorageConfig()
    table.check_keys(STORAGE_KEYS)
    path = table.text("path", str(StorageConfig.path))
    # Relative to the working directory, not the config folder (design §5).
    return StorageConfig(path=Path(path).expanduser(),
                         keep_text=_duration_or_off(table, "keep_text", StorageConfig.keep_text))


def _duration_or_off(table: Table, key: str, default: timedelta) -> timedelta:
    """A duration, or "0" for none (the way the docs write "off")."""
    if table.data.get(key) == "0":
        return timedelta(0)
    return table.duration(key, default, low=timedelta(0))


def _read_matching(table: Table | None) -> MatchingConfig:
    if table is None:
        return MatchingConfig()
    table.check_keys(MATCHING_KEYS)
    return MatchingConfig(backfill=_duration_or_off(table, "backfill", MatchingConfig.backfill))


def _read_stories(table: Table | None) -> StoriesConfig:
    if table is None:
        return StoriesConfig()
    table.check_keys(STORIES_KEYS)
    # At least an hour (a wire story's reprints come within minutes, a translation within hours)
    # and at most 30 days, beyond which "one event" means little and the index grows.
    return StoriesConfig(window=table.duration("window", StoriesConfig.window,
                                               low=timedelta(hours=1), high=timedelta(days=30)))


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
        max_entries=table.integer("max_entries", defaults.max_entries, low=1, high=100_000),
        max_interval=table.duration("max_interval", defaults.max_interval),
        user_agent=table.text("user_agent", defaults.user_agent),
        allow_private_addresses=_private_networks(table),
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


_EVERY_NETWORK = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _private_networks(table: Table
                      ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`allow_private_addresses`: false (the default), true (every address), or a list of
    networks and addresses such as ["10.20.0.0/16", "fd00::/8", "192.168.1.5"]."""
    value = table.data.get("allow_private_addresses", False)
    if isinstance(value, bool):
        return _EVERY_NETWORK if value else ()
    if not isinstance(value, list):
        table.problem("allow_private_addresses", "must be true, false or a list of networks "
                      f'such as ["10.0.0.0/8"], not {describe(value)}')
        return ()
    table.strings("allow_private_addresses")  # reports what is not a string
    networks = []
    for index, text in enumerate(value):
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            table.report.problem(table.at("allow_private_addresses", index),
                                 f"{quote(text)} is not an IP address or network "
                                 '(e.g. "10.0.0.0/8", "fd00::/8", "192.168.1.5")')
    return tuple(networks)


def _read_feeds(top: Table, written: Table, default_interval: timedelta,
                environ: Mapping[str, str]) -> tuple[FeedConfig, ...]:
    """The [[feeds]] of ``top`` (``${VAR}``s filled in); ``written`` is the file as written, for
    the URL templates: a secret in a feed URL is fetched with, never stored or shown."""
    raw = written.data.get("feeds")
    feeds = []
    for index, table in enumerate(top.tables("feeds")):
        table.check_keys(FEED_KEYS)
        as_written = raw[index].get("url") if isinstance(raw, list) else None
        template = as_written.strip() if isinstance(as_written, str) and "${" in as_written \
            else None
        feeds.append(FeedConfig(
            name=table.text("name", required=True),
            url=_feed_url(table, template),
            interval=table.duration("interval", default_interval),
            language=_language(table),
            template=template,
            articles=read_article_mode(table),
            secrets=tuple((environ[name], f"${{{name}}}") for name in variables(template or "")
                          if environ.get(name)),
        ))
    if not feeds and "feeds" not in top.data:
        top.report.warning(("feeds",), "no [[feeds]] defined: there is nothing to poll")
    check_duplicates(top, "feeds", "name", [(i, f.name.casefold()) for i, f in enumerate(feeds)])
    # Named as written, so a duplicate's message shows no secret.
    check_duplicates(written, "feeds", "url", [(i, _url_key(f.url)) for i, f in enumerate(feeds)])
    return tuple(feeds)


def _feed_url(table: Table, template: str | None) -> str:
    url = table.text("url", required=True)
    if not url or isinstance(url, Unresolved):
        return url
    url = url.strip()
    problem = _url_problem(url, shown=template)
    if problem:
        table.problem("url", problem)
    return url


def _url_problem(url: str, shown: str | None = None) -> str | None:
    """What keeps `url` from being fetched, in words; None when it is a usable feed URL.

    ``shown`` is how the URL is named in the message (its template, when it holds a secret)."""
    named = quote(shown or url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port is a number in range
    except ValueError as exc:
        why = ("its port must be a number from 0 to 65535" if "Port" in str(exc)
               else "the [ ] around an IPv6 address do not enclose a valid address")
        return f"{named} is not a valid URL: {why}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http:// or https:// URL, not {named}"
    if any(c.isspace() for c in url):
        return "contains a space; write it as %20 (or + in a query)"
    return None


def _url_key(url: str) -> str:
    if _url_problem(url):
        return ""   # reported already; not compared for duplicates
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _language(table: Table) -> str | None:
    code = table.text("language") or None
    if code is not None and not _LANGUAGE.fullmatch(code.lower()):
        table.problem("language", 'must be a two-letter language code such as "en" or "es", '
                      f"not {quote(code)}")
        return None
    return code.lower() if code else None
