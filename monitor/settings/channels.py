"""The ``[[channels]]`` of armswatch.toml, validated into alerts.config.ChannelConfig: the keys
every channel has (schedule, time zone, filters) here, the keys of each channel type in
monitor.settings.channel_settings, which builds the typed settings object the channel uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from difflib import get_close_matches
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.config import ChannelConfig, ChannelType, StdoutSettings, WatchKind
from monitor.settings.channel_settings import TYPE_KEYS, read_settings
from monitor.settings.tables import Table, Unresolved, quote

CHANNEL_TYPES: tuple[ChannelType, ...] = ("email", "slack", "file", "stdout")
COMMON_KEYS = ("name", "type", "schedule", "timezone", "items", "kinds", "immediate",
               "send_empty", "backlog", "optional", "max_entries", "burst", "alerts_per_hour")
_ALL_TYPE_KEYS = tuple(dict.fromkeys(key for keys in TYPE_KEYS.values() for key in keys))

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, lowest, highest, names (numbered from lowest)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS), ("weekday", 0, 7, _WEEKDAYS),
)
_CRON_PART = re.compile(r"(\*|\w+(?:-\w+)?)(?:/(\d+))?", re.ASCII)


def check_cron(expression: str) -> str:
    """The five-field cron `expression`, checked; a weekday field other than ``*`` comes back as
    a list of day names, because APScheduler 3 numbers weekdays from Monday, cron from Sunday."""
    fields = expression.split()
    if len(fields) != 5:
        count = f"{len(fields)} field" + ("" if len(fields) == 1 else "s")
        raise ValueError(f"{quote(expression)} is not a cron schedule: it has {count}, "
                         'expected 5 (minute hour day month weekday), e.g. "0 7 * * *"')
    days = set()
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        values = _cron_values(text, name, low, high, names, expression)
        if name == "weekday":
            days = {v % 7 for v in values}
    if fields[4] != "*":
        fields[4] = "*" if len(days) == 7 else ",".join(_WEEKDAYS[d] for d in sorted(days))
    return " ".join(fields)


def _cron_values(text: str, name: str, low: int, high: int, names: tuple[str, ...],
                 expression: str) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        match = _CRON_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"{quote(expression)}: {name} {quote(part)} is not valid "
                             "(use numbers, *, ranges like 1-5, steps like */15, or lists)")
        first, _, last = match[1].partition("-")
        step = int(match[2] or 1)
        if step == 0:
            raise ValueError(f"{quote(expression)}: {name} step must be at least 1")
        start = low if first == "*" else _cron_number(first, name, low, high, names, expression)
        end = high if first == "*" or (not last and match[2]) else start
        if last:
            end = _cron_number(last, name, low, high, names, expression)
        if start > end:
            raise ValueError(f"{quote(expression)}: {name} range {part} runs backwards")
        values.update(range(start, end + 1, step))
    return values


def _cron_number(text: str, name: str, low: int, high: int, names: tuple[str, ...],
                 expression: str) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        known = f" or a name like {names[0]}" if names else ""
        raise ValueError(f"{quote(expression)}: {name} {quote(text)} is not a number{known}")
    if not low <= int(text) <= high:
        raise ValueError(f"{quote(expression)}: {name} {text} is out of range {low}-{high}")
    return int(text)


def read_channel(table: Table, watch_names: Sequence[str] | None,
                 default_backlog: timedelta) -> ChannelConfig:
    """One ``[[channels]]`` table; `watch_names` is None when the watch list could not be read."""
    kind = cast(ChannelType, table.choice("type", CHANNEL_TYPES, "stdout", required=True))
    known_type = table.data.get("type") in CHANNEL_TYPES
    # With no valid type, accept any channel key rather than report the wrong ones as unknown.
    table.check_keys(COMMON_KEYS + (TYPE_KEYS[kind] if known_type else _ALL_TYPE_KEYS))
    table.boolean("optional", False)  # checked here; it acts before this, in load_config
    return ChannelConfig(
        name=table.text("name", required=True),
        settings=read_settings(kind, table) if known_type else StdoutSettings(),
        schedule=_schedule(table),
        timezone=_timezone(table),
        items=_items(table, watch_names),
        kinds=cast(tuple[WatchKind, ...], _kinds(table)),
        immediate=table.boolean("immediate", False),
        send_empty=table.boolean("send_empty", False),
        backlog=table.duration("backlog", default_backlog),
        max_entries=table.integer("max_entries", 50, low=1, high=500),
        burst=table.integer("burst", 50, low=1, high=100_000),
        alerts_per_hour=table.integer("alerts_per_hour", 4, low=1, high=60),
    )


def _schedule(table: Table) -> str:
    text = table.text("schedule", "0 7 * * *")
    if isinstance(text, Unresolved):
        return text
    try:
        schedule = check_cron(text)
    except ValueError as exc:
        table.problem("schedule", str(exc))
        return "0 7 * * *"
    restricted = schedule.split()[2] != "*" and schedule.split()[4] != "*"
    if restricted:
        table.report.warning(table.at("schedule"), "both day of month and weekday are set; "
                             "digests go out only on days that match both")
    return schedule


def _timezone(table: Table) -> str:
    name = table.text("timezone", "UTC")
    if isinstance(name, Unresolved):
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        table.problem("timezone", f"{quote(name)} is not a time zone "
                      '(use a name like "America/Mexico_City" or "UTC")')
        return "UTC"
    return name


def _items(table: Table, watch_names: Sequence[str] | None) -> tuple[str, ...]:
    names = table.strings("items")
    if watch_names is None:  # the watch list could not be read: its problems are reported
        return names
    canonical = {n.casefold(): n for n in watch_names}
    raw = table.data.get("items")
    for index, name in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(name, str) and name.strip() and name.casefold() not in canonical:
            close = get_close_matches(name, list(watch_names), n=1)
            hint = f"; did you mean {quote(close[0])}?" if close else ""
            table.report.problem(table.at("items", index),
                                 f"{quote(name)} is not a watch item in watchlist.toml{hint}")
    return tuple(canonical.get(n.casefold(), n) for n in names)


def _kinds(table: Table) -> tuple[str, ...]:
    kinds = table.strings("kinds")
    for index, kind in enumerate(kinds):
        if kind not in ("program", "topic"):
            table.report.problem(table.at("kinds", index),
                                 f'must be "program" or "topic", not {quote(kind)}')
    return tuple(k for k in kinds if k in ("program", "topic"))
