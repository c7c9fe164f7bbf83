"""The watch list file (``watchlist.toml``, design §5): what to look for, read and checked.

Each problem is reported as ``watchlist.toml: watch[N].key: what is wrong``, like the rest of the
config (monitor.settings.tables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from monitor.settings.tables import Report, Table, check_duplicates, quote, read_toml
from storage.errors import ConfigError

WatchKind = Literal["program", "topic"]
WATCH_KEYS = ("name", "kind", "terms", "guarded", "context", "exclude", "priority")
_MATCHABLE = re.compile(r"[^\W_]")


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


def load_watchlist(path: Path) -> tuple[WatchItem, ...]:
    """The watch items of one watchlist file; raises ConfigError listing every problem."""
    report = Report(path.name)
    items = read_watch_items(path, report)
    if report.problems or items is None:
        raise ConfigError(report.problems)
    return items


def read_watch_items(path: Path, report: Report) -> tuple[WatchItem, ...] | None:
    """The items of a watch list file, or None when it could not be read or parsed."""
    document = read_toml(path, report)
    if document is None:
        return None
    top = Table(document, (), report)
    top.check_keys(("watch",))
    items = tuple(_read_watch_item(table) for table in top.tables("watch"))
    if not items and "watch" not in document:
        report.problem(("watch",), "no [[watch]] items: add at least one, or nothing can match")
    check_duplicates(top, "watch", "name", [(i, w.name.casefold()) for i, w in enumerate(items)])
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

