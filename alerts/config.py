"""A digest channel's settings. Defined here, not in monitor.settings, because alerts never
imports monitor (design §3); monitor.settings builds these from armswatch.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

ChannelType = Literal["email", "slack", "file", "stdout"]
WatchKind = Literal["program", "topic"]


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: ChannelType
    schedule: str = "0 7 * * *"        # cron, five fields, in `timezone`
    timezone: str = "UTC"
    items: tuple[str, ...] = ()        # empty: every item
    kinds: tuple[WatchKind, ...] = ()  # empty: every kind
    immediate: bool = False            # receive high-priority hits at once
    send_empty: bool = False
    backlog: timedelta = timedelta(days=7)   # how far back a new channel starts
    options: Mapping[str, Any] = field(default_factory=dict)  # type-specific keys, interpolated
