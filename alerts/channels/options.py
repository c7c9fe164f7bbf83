"""Reading a channel's type-specific options (ChannelConfig.options) with messages a user can act
on. Every problem is collected, so a config with three mistakes is reported once, not thrice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta | None:
    """A duration: "30s", "15m", "2h", "7d", "1w", a timedelta or seconds; None if not one."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(seconds=value) if value >= 0 else None
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    return None


class OptionReader:
    """Typed access to one options table; problems are gathered in ``problems``."""

    def __init__(self, channel: str, options: Mapping[str, Any], prefix: str = "",
                 problems: list[str] | None = None) -> None:
        self.channel = channel
        self.options = options
        self.prefix = prefix
        self.problems: list[str] = [] if problems is None else problems

    def _where(self, key: str) -> str:
        return f"channel {self.channel}: option {self.prefix}{key}"

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self._where(key)} {text}")

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.options.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(key, "is required")
            return default
        if not isinstance(value, str):
            self.problem(key, f"must be text, got {value!r}")
            return default
        return value.strip()

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.options.get(key)
        if isinstance(value, str):
            value = [value]
        if value is None or value == []:
            if required:
                self.problem(key, "is required")
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.problem(key, f"must be text or a list of text, got {value!r}")
            return ()
        return tuple(v.strip() for v in value if v.strip())

    def number(self, key: str, default: float, *, minimum: float = 0) -> float:
        value = self.options.get(key, default)
        seconds = parse_duration(value)
        if seconds is None or seconds.total_seconds() < minimum:
            self.problem(key, f'must be a duration like "30s" or a number of seconds '
                              f"(at least {minimum:g}), got {value!r}")
            return default
        return seconds.total_seconds()

    def integer(self, key: str, default: int | None, *, low: int, high: int) -> int | None:
        value = self.options.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(key, f"must be a whole number from {low} to {high}, got {value!r}")
            return default
        return value

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.options.get(key, default)
        if value not in allowed:
            self.problem(key, f"must be one of {', '.join(allowed)}, got {value!r}")
            return default
        return str(value)

    def table(self, key: str, *, required: bool = False) -> OptionReader:
        value = self.options.get(key)
        if value is None:
            if required:
                self.problem(key, "is required (a table of settings)")
            value = {}
        elif not isinstance(value, Mapping):
            self.problem(key, f"must be a table of settings, got {value!r}")
            value = {}
        return OptionReader(self.channel, value, f"{self.prefix}{key}.", self.problems)

    def unknown(self, known: set[str]) -> None:
        for key in sorted(set(self.options) - known):
            self.problem(key, "is not a known option")
