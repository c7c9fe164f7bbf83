"""Shared pytest fixtures. Each block names the module it serves; append yours below."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from feedserver import FeedServer
from slackserver import SlackServer

# Tests talk to loopback only: a proxy set in the environment (httpx honours HTTP_PROXY, as a
# deployed Armswatch should) must not catch their requests. Subprocesses inherit this.
_LOOPBACK = "127.0.0.1,localhost,::1"
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name, ""), _LOOPBACK]))


# -- loopback feed server (tests/feedserver.py) ------------------------------------------------
@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 (ephemeral port); register routes, read ``requests``."""
    with FeedServer() as server:
        yield server


# -- loopback Slack webhook (tests/slackserver.py): test_digest_slack, test_digest_isolation ---
@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """A webhook on 127.0.0.1 that answers as Slack does; queue answers, read ``posted``."""
    with SlackServer() as server:
        yield server
