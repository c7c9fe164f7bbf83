"""Reading the TOML config files: typed access to tables that records every problem instead of
stopping at the first, `${VAR}` interpolation, and the duration and size formats.

Each problem is written ``file: key.path: what is wrong``; array positions in key paths count from
1 (``feeds[3]`` is the third ``[[feeds]]`` block), the way a person counts blocks in the file.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import TypeVar

Key = str | int
KeyPath = tuple[Key, ...]
T = TypeVar("T")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DURATION = re.compile(r"(\d+)\s*([wdhms])", re.ASCII)
_DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Longer is a typo (and past what a datetime can hold): no interval or look-back needs a century.
MAX_DURATION = timedelta(days=36500)
# Weeks are read but never written: "14d" stays "14d" in messages, as people wrote it.
_FORMAT_UNITS = ("d", "h", "m", "s")
_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?", re.ASCII)
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2,
               "gb": 1024**3, "gib": 1024**3}
_VARIABLE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_duration(text: str) -> timedelta:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` or combinations in that order, e.g.
    ``"1h30m"``."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    units = [unit for _, unit in parts]
    ordered = units == sorted(set(units), key="wdhms".index)
    if not parts or not ordered or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{quote(text)} is not a duration (use 30s, 15m, 2h, 1d, 1w)")
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{quote(text)} is too long (at most {MAX_DURATION.days}d, 100 years)")
    return timedelta(seconds=seconds)


def format_duration(span: timedelta) -> str:
    """The inverse of parse_duration: ``timedelta(minutes=90)`` -> ``"1h30m"``."""
    seconds = int(span.total_seconds())
    parts = []
    for unit in _FORMAT_UNITS:
        count, seconds = divmod(seconds, _DURATION_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_size(text: str) -> int:
    """A byte count written ``"10MB"``, ``"512KB"`` or ``"2048"`` (KB and MB are 1024-based)."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{quote(text)} is not a size (use a number of bytes, 512KB or 10MB)")
    return int(match[1]) * _SIZE_UNITS[match[2] or "b"]


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def describe(value: object) -> str:
    """How a TOML value is named in a message: ``"15 minutes"``, ``true``, ``an array``."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


def one_of(choices: Sequence[str]) -> str:
    quoted = [quote(c) for c in choices]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else quote(part)
            text += f".{key}" if text else key
    return text


class Report:
    """Problems and warnings found in one file, already formatted for the user."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []
        self.problem_paths: list[KeyPath] = []   # where each problem is, () for the whole file
        self.warnings: list[str] = []

    def _line(self, path: KeyPath, message: str) -> str:
        return f"{self.file}: {format_path(path)}: {message}" if path else f"{self.file}: {message}"

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(self._line(path, message))
        self.problem_paths.append(path)

    def warning(self, path: KeyPath, message: str) -> None:
        self.warnings.append(self._line(path, message))


def read_toml(path: Path, report: Report) -> dict[str, object] | None:
    """The parsed file, or None with the reason (missing, unreadable, syntax error) reported."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        report.problem((), f"file not found (looked for {path})")
        return None
    except OSError as exc:
        report.problem((), f"cannot be read ({exc.strerror or exc})")
        return None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        report.problem((), f"line {line}: not valid UTF-8 text; save the file as UTF-8")
    except tomllib.TOMLDecodeError as exc:
        report.problem((), _syntax_message(str(exc), raw))
    return None


def _syntax_message(message: str, raw: bytes) -> str:
    at = _SYNTAX_AT.search(message)
    if at is not None:
        what = message[: at.start()]
        return f"line {at[1]}: {what} (column {at[2]})"
    what = message.replace(" (at end of document)", "")
    last_line = raw.count(b"\n") + 1
    return f"line {last_line}: {what} (at the end of the file)"


def variables(text: str) -> list[str]:
    """The names of the ``${VAR}`` references in ``text``, in order (``$${`` is no reference)."""
    return [match[1] for match in _VARIABLE.finditer(text)
            if match[1] is not None and _VARIABLE_NAME.fullmatch(match[1])]


class Unresolved(str):
    """A string whose ``${VAR}`` was not set; format checks skip it (the cause is reported)."""


def interpolate(value: object, path: KeyPath, environ: Mapping[str, str], report: Report,
                missing: list[tuple[KeyPath, str]]) -> object:
    """`value` with every ``${VAR}`` in its strings filled in from `environ`; ``$${`` is a literal
    ``${``. Unset (or empty) variables are added to `missing` with where they were used."""
    if isinstance(value, dict):
        return {k: interpolate(v, (*path, k), environ, report, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, (*path, i), environ, report, missing) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    unset: list[str] = []

    def fill(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        name = match[1]
        if name is None:
            report.problem(path, f"{quote(match.string)} has a ${{ without a closing }}")
        elif not _VARIABLE_NAME.fullmatch(name):
            report.problem(path, f"{quote(match[0])} is not a variable reference "
                                 "(use ${NAME} with letters, digits and _)")
        elif environ.get(name):
            return environ[name]
        else:
            unset.append(name)
        return match[0]

    filled = _VARIABLE.sub(fill, value)
    missing.extend((path, name) for name in unset)
    return Unresolved(filled) if unset else filled


class Table:
    """One TOML table being read. Each getter returns the value, or `default` after reporting
    what is wrong, so reading goes on and every problem is found in one pass."""

    def __init__(self, data: Mapping[str, object], path: KeyPath, report: Report) -> None:
        self.data = data
        self.path = path
        self.report = report

    def at(self, *keys: Key) -> KeyPath:
        return (*self.path, *keys)

    def problem(self, key: Key | None, message: str) -> None:
        self.report.problem(self.path if key is None else self.at(key), message)

    def check_keys(self, allowed: Sequence[str]) -> None:
        for key in self.data:
            if key not in allowed:
                close = get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                self.problem(key, f"unknown key; {hint}allowed keys: {', '.join(allowed)}")

    def _get(self, key: str, kind: type[T], expected: str,
             required: bool) -> T | None:
        if key not in self.data:
            if required:
                self.problem(key, "required key is missing")
            return None
        value = self.data[key]
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is int):
            return value
        self.problem(key, f"must be {expected}, not {describe(value)}")
        return None

    def text(self, key: str, default: str = "", *, required: bool = False,
             allow_empty: bool = False) -> str:
        value = self._get(key, str, "a string", required)
        if value is not None and not value.strip() and not allow_empty:
            self.problem(key, "must not be empty")
            return default
        return default if value is None else value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self._get(key, int, "an integer", False)
        if value is not None and not low <= value <= high:
            self.problem(key, f"must be between {low} and {high}, not {value}")
            return default
        return default if value is None else value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, bool, "true or false", False)
        return default if value is None else value

    def duration(self, key: str, default: timedelta, *, low: timedelta | None = None,
                 high: timedelta | None = None) -> timedelta:
        """A duration; without `low`, it must be longer than 0s."""
        value = self._get(key, str, 'a duration such as "15m"', False)
        if value is None or isinstance(value, Unresolved):
            return default
        try:
            span = parse_duration(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return default
        if low is None and not span:
            self.problem(key, "must be longer than 0s")
            return default
        if (low is not None and span < low) or (high is not None and span > high):
            bounds = f"from {format_duration(low)}" if low is not None else "up"
            bounds += f" to {format_duration(high)}" if high is not None else ""
            self.problem(key, f"must be {bounds}, not {quote(value)}")
            return default
        return span

    def choice(self, key: str, choices: Sequence[str], default: str, *,
               required: bool = False) -> str:
        if key not in self.data:
            if required:
                self.problem(key, f"required key is missing (use {one_of(choices)})")
            return default
        value = self.data[key]
        if value in choices and isinstance(value, str):
            return value
        self.problem(key, f"must be {one_of(choices)}, not {describe(value)}")
        return default

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self._get(key, list, "an array of strings", False)
        if values is None:
            return default
        good = []
        for index, value in enumerate(values):
            if not isinstance(value, str):
                self.report.problem(self.at(key, index),
                                    f"must be a string, not {describe(value)}")
            elif not value.strip():
                self.report.problem(self.at(key, index), "must not be empty")
            else:
                good.append(value)
        return tuple(good)

    def table(self, key: str) -> Table | None:
        value = self._get(key, dict, "a table", False)
        return None if value is None else Table(value, self.at(key), self.report)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (``[[feeds]]``)."""
        values = self._get(key, list, f"an array of tables ([[{key}]])", False)
        tables = []
        for index, value in enumerate(values or []):
            if isinstance(value, dict):
                tables.append(Table(value, self.at(key, index), self.report))
            else:
                self.report.problem(self.at(key, index), f"must be a table, not {describe(value)}")
        return tables


def first_duplicates(keys: Iterable[tuple[int, str]]) -> Iterable[tuple[int, int]]:
    """(index, index of the first with the same key) for every repeated key."""
    first: dict[str, int] = {}
    for index, key in keys:
        if key in first:
            yield index, first[key]
        else:
            first[key] = index


def check_duplicates(top: Table, array: str, key: str, keys: list[tuple[int, str]]) -> None:
    raw = top.data.get(array)
    for index, first in first_duplicates(k for k in keys if k[1]):
        value = raw[index].get(key) if isinstance(raw, list) else None
        top.report.problem((array, index, key), f"{quote(str(value))} is already the {key} of "
                           f"{array}[{first + 1}]")
