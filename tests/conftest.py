"""Shared pytest fixtures. Each block names the module it serves; append yours below."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from feedserver import FeedServer


# -- loopback feed server (tests/feedserver.py) ------------------------------------------------
@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 (ephemeral port); register routes, read ``requests``."""
    with FeedServer() as server:
        yield server
