"""Channels: email (SMTP), slack (incoming webhook), file (a folder) and stdout.

``make_channel`` builds one from a ChannelConfig whose settings monitor.settings has already
validated; nothing here checks them again.
"""

from __future__ import annotations

from typing import assert_never

from alerts.channels.base import Channel, MessageRefused
from alerts.channels.folder import FileChannel
from alerts.channels.mail import EmailChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.stdout import StdoutChannel
from alerts.config import (
    ChannelConfig,
    EmailSettings,
    FileSettings,
    SlackSettings,
    StdoutSettings,
)

__all__ = ["Channel", "EmailChannel", "FileChannel", "MessageRefused", "SlackChannel",
           "StdoutChannel", "make_channel"]


def make_channel(config: ChannelConfig) -> Channel:
    settings = config.settings
    if isinstance(settings, EmailSettings):
        return EmailChannel(config.name, settings)
    if isinstance(settings, SlackSettings):
        return SlackChannel(config.name, settings)
    if isinstance(settings, FileSettings):
        return FileChannel(config.name, settings)
    if isinstance(settings, StdoutSettings):
        return StdoutChannel(config.name)
    assert_never(settings)
