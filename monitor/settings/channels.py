"""The ``[[channels]]`` of armswatch.toml, validated into alerts.config.ChannelConfig.

The type-specific keys go into ``ChannelConfig.options`` complete, with defaults filled in:

- email: ``from`` (str), ``to`` (tuple of str), ``subject_prefix`` (str), ``smtp`` = {``host``,
  ``port`` (int), ``username`` (str | None), ``password`` (Secret | None), ``security``
  ("starttls" | "tls" | "none"), ``timeout`` (timedelta)}
- slack: ``webhook_url`` (Secret), ``username`` (str | None), ``channel`` (str | None)
- file: ``path`` (Path, a folder; relative to the working directory), ``formats`` (tuple of
  "html" | "markdown")
- stdout: nothing
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from difflib import get_close_matches
from email.utils import parseaddr
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.config import ChannelConfig, ChannelType, WatchKind
from monitor.settings.tables import Table, Unresolved, one_of, quote

CHANNEL_TYPES = ("email", "slack", "file", "stdout")
COMMON_KEYS = ("name", "type", "schedule", "timezone", "items", "kinds", "immediate",
               "send_empty", "backlog")
TYPE_KEYS = {
    "email": ("from", "to", "subject_prefix", "smtp"),
    "slack": ("webhook_url", "username", "channel"),
    "file": ("path", "formats"),
    "stdout": (),
}
_ALL_TYPE_KEYS = tuple(key for keys in TYPE_KEYS.values() for key in keys)
SMTP_KEYS = ("host", "port", "username", "password", "security", "timeout", "ca_file")
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}
FILE_FORMATS = ("html", "markdown")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, lowest, highest, names (numbered from lowest)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS), ("weekday", 0, 7, _WEEKDAYS),
)
_CRON_PART = re.compile(r"(\*|\w+(?:-\w+)?)(?:/(\d+))?", re.ASCII)


class Secret(str):
    """A password or webhook URL: a plain string whose repr hides it, keeping it out of logs."""

    def __repr__(self) -> str:
        return "Secret('***')"


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
    kind = table.choice("type", CHANNEL_TYPES, "stdout", required=True)
    known_type = table.data.get("type") in CHANNEL_TYPES
    # With no valid type, accept any channel key rather than report the wrong ones as unknown.
    table.check_keys(COMMON_KEYS + (TYPE_KEYS[kind] if known_type else _ALL_TYPE_KEYS))
    return ChannelConfig(
        name=table.text("name", required=True),
        type=cast(ChannelType, kind),
        schedule=_schedule(table),
        timezone=_timezone(table),
        items=_items(table, watch_names),
        kinds=cast(tuple[WatchKind, ...], _kinds(table)),
        immediate=table.boolean("immediate", False),
        send_empty=table.boolean("send_empty", False),
        backlog=table.duration("backlog", default_backlog),
        options=_OPTION_READERS[kind](table) if known_type else {},
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


def _email_options(table: Table) -> dict[str, Any]:
    recipients = table.strings("to")
    if "to" not in table.data:
        table.problem("to", "required key is missing (a list of addresses)")
    elif table.data["to"] == []:
        table.problem("to", "needs at least one address")
    for index, address in enumerate(recipients):
        _check_address(table, ("to", index), address)
    smtp = table.table("smtp")
    if smtp is None and "smtp" not in table.data:
        table.problem("smtp", "required key is missing (e.g. smtp = { host = \"${SMTP_HOST}\" })")
    smtp_options = _smtp_options(smtp) if smtp is not None else {}
    sender = table.text("from") or _default_sender(smtp_options.get("username"))
    if "from" in table.data:
        _check_address(table, ("from",), sender)
    return {"from": sender, "to": recipients,
            "subject_prefix": table.text("subject_prefix", "[Armswatch]"), "smtp": smtp_options}


def _default_sender(username: object) -> str:
    return username if isinstance(username, str) and "@" in username else "armswatch@localhost"


def _check_address(table: Table, keys: tuple[str | int, ...], address: str) -> None:
    if isinstance(address, Unresolved):
        return
    _, parsed = parseaddr(address)
    if "@" not in parsed or " " in parsed:
        table.report.problem(table.at(*keys), f"{quote(address)} is not an email address")


def _smtp_options(smtp: Table) -> dict[str, Any]:
    smtp.check_keys(SMTP_KEYS)
    security = smtp.choice("security", tuple(SMTP_PORTS), "starttls")
    username = smtp.text("username") or None
    password = smtp.text("password") or None
    if username and not password:
        smtp.problem("password", "required when smtp.username is set")
    if password and not username:
        smtp.problem("username", "required when smtp.password is set")
    if password and security == "none":
        smtp.report.warning(smtp.at("security"),
                            '"none" sends the SMTP password unencrypted; use "starttls" or "tls"')
    return {"host": smtp.text("host", required=True), "port": _port(smtp, security),
            "username": username, "password": Secret(password) if password else None,
            "security": security, "timeout": smtp.duration("timeout", timedelta(seconds=30)),
            # A private CA for a self-hosted relay; the system's trust store otherwise.
            "ca_file": smtp.text("ca_file") or None}


def _port(smtp: Table, security: str) -> int:
    value = smtp.data.get("port", SMTP_PORTS[security])
    if isinstance(value, Unresolved):
        return SMTP_PORTS[security]
    if isinstance(value, str) and value.isdigit():
        value = int(value)  # from ${SMTP_PORT}: environment values are always strings
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    smtp.problem("port", f"must be a port number between 1 and 65535, not {value!r}")
    return SMTP_PORTS[security]


def _slack_options(table: Table) -> dict[str, Any]:
    url = table.text("webhook_url", required=True)
    parts = urlsplit(url)
    # Plain http only on loopback, for a local Slack emulator; the real webhook is https.
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if url and not isinstance(url, Unresolved) and not (
            (parts.scheme == "https" or loopback) and parts.netloc):
        # The URL itself is a secret: say what is wrong without repeating it.
        table.problem("webhook_url", "must be an https:// URL (the Slack incoming webhook)")
    return {"webhook_url": Secret(url), "username": table.text("username") or None,
            "channel": table.text("channel") or None}


def _file_options(table: Table) -> dict[str, Any]:
    folder = table.text("path", required=True)
    formats = table.strings("formats", FILE_FORMATS)
    for index, name in enumerate(formats):
        if name not in FILE_FORMATS:
            table.report.problem(table.at("formats", index),
                                 f"must be {one_of(FILE_FORMATS)}, not {quote(name)}")
    if "formats" in table.data and not formats:
        table.problem("formats", f"needs at least one of {one_of(FILE_FORMATS)}")
    chosen = tuple(dict.fromkeys(f for f in formats if f in FILE_FORMATS))
    return {"path": Path(folder).expanduser(), "formats": chosen}


def _no_options(table: Table) -> dict[str, Any]:
    return {}


_OPTION_READERS = {"email": _email_options, "slack": _slack_options, "file": _file_options,
                   "stdout": _no_options}
