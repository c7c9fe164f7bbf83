"""Channels: email (SMTP), slack (incoming webhook), file (a folder) and stdout.

``make_channel`` builds one from a ChannelConfig and raises DeliveryError listing every problem in
its options; ``channel_problems`` returns them instead, for the config loader to report with the
rest of the file's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alerts.channels.base import Channel
from alerts.channels.folder import FILE_OPTIONS, FileChannel
from alerts.channels.mail import EMAIL_OPTIONS, EmailChannel
from alerts.channels.options import OptionReader
from alerts.channels.slack import SLACK_OPTIONS, SlackChannel
from alerts.channels.stdout import StdoutChannel
from alerts.config import ChannelConfig
from storage.errors import DeliveryError

__all__ = ["Channel", "EmailChannel", "FileChannel", "SlackChannel", "StdoutChannel",
           "OPTION_KEYS", "channel_problems", "make_channel"]

OPTION_KEYS: dict[str, set[str]] = {
    "email": EMAIL_OPTIONS, "slack": SLACK_OPTIONS, "file": FILE_OPTIONS, "stdout": set(),
}
_BUILDERS: dict[str, Callable[[str, Mapping[str, Any], list[str]], Channel]] = {
    "email": EmailChannel.from_options,
    "slack": SlackChannel.from_options,
    "file": FileChannel.from_options,
    "stdout": StdoutChannel.from_options,
}


def _build(config: ChannelConfig) -> tuple[Channel | None, list[str]]:
    problems: list[str] = []
    builder = _BUILDERS.get(config.type)
    if builder is None:
        return None, [f"channel {config.name}: type must be one of "
                      f"{', '.join(_BUILDERS)}, got {config.type!r}"]
    reader = OptionReader(config.name, config.options, problems=problems)
    reader.unknown(OPTION_KEYS[config.type])
    if config.backlog.total_seconds() < 0:
        problems.append(f"channel {config.name}: backlog must not be negative")
    channel = builder(config.name, config.options, problems)
    return channel, problems


def channel_problems(config: ChannelConfig) -> list[str]:
    """Every problem in the channel's settings, each as ``channel NAME: option KEY ...``."""
    return _build(config)[1]


def make_channel(config: ChannelConfig) -> Channel:
    channel, problems = _build(config)
    if problems or channel is None:
        raise DeliveryError("; ".join(problems), permanent=True)
    return channel
