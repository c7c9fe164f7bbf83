"""The `[articles]` table and each feed's `articles` key (issue 14): every value read, every bad
value refused as ``file: key.path: message``, and a bad value keeps the rest of the file read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_settings import SETTINGS, problems_of, settings_problem, write

from monitor.settings.articles import ArticlesConfig, user_agent_for
from monitor.settings.config import load_config, summarise

FEEDS = """
[[feeds]]
name = "Headlines"
url = "https://news.example/rss"
articles = "always"

[[feeds]]
name = "Wire"
url = "https://wire.example/rss"
articles = "never"
"""


def test_defaults_when_the_table_is_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), {})
    assert config.articles == ArticlesConfig()
    assert {feed.articles for feed in config.feeds} == {"auto"}
    assert config.articles.per_host == 2 and config.articles.delay == timedelta(seconds=1)
    assert "Armswatch" in config.articles.user_agent
    assert config.articles.contact in config.articles.user_agent


def test_every_key_is_read(tmp_path: Path) -> None:
    text = SETTINGS + FEEDS + """
[articles]
concurrency = 4
per_host = 1
delay = "3s"
timeout = "15s"
max_page = "1MB"
max_text = 5000
short_text = 250
contact = "mailto:desk@example.org"
poll_budget = "30s"
"""
    config = load_config(write(tmp_path, text), {})
    articles = config.articles
    assert (articles.concurrency, articles.per_host, articles.delay, articles.timeout) == (
        4, 1, timedelta(seconds=3), timedelta(seconds=15))
    assert (articles.max_page, articles.max_text, articles.short_text) == (1024 * 1024, 5000, 250)
    assert articles.poll_budget == timedelta(seconds=30)
    # The contact goes into the default User-Agent, so publishers know whom to write to.
    assert articles.user_agent == user_agent_for("mailto:desk@example.org")
    assert [f.articles for f in config.feeds] == ["auto", "auto", "auto", "always", "never"]
    assert "  Wire: every 15m, article pages never" in summarise(config)


def test_an_own_user_agent_replaces_the_default(tmp_path: Path) -> None:
    text = SETTINGS + '\n[articles]\nuser_agent = "NewsDesk/2 (+https://desk.example)"\n'
    assert load_config(write(tmp_path, text), {}).articles.user_agent == \
        "NewsDesk/2 (+https://desk.example)"


@pytest.mark.parametrize(("body", "expected"), [
    ("per_host = 3", "articles.per_host: must be between 1 and 2, not 3"),
    ("per_host = 0", "articles.per_host: must be between 1 and 2, not 0"),
    ('concurrency = "8"', 'articles.concurrency: must be an integer, not "8"'),
    ('delay = "fast"', 'articles.delay: "fast" is not a duration (use 30s, 15m, 2h, 1d, 1w)'),
    ('delay = "1h"', 'articles.delay: must be from 0s to 10m, not "1h"'),
    ('timeout = "0s"', "articles.timeout: must be longer than 0s"),
    ('max_page = "1KB"', 'articles.max_page: must be at least 16KB: a number of bytes or a size '
                         'like "2MB", not "1KB"'),
    ("max_page = true", 'articles.max_page: must be at least 16KB: a number of bytes or a size '
                        'like "2MB", not true'),
    ('max_page = "lots"', 'articles.max_page: "lots" is not a size (use a number of bytes, '
                          '512KB or 10MB)'),
    ("max_text = 10", "articles.max_text: must be between 1000 and 1000000, not 10"),
    ("short_text = -1", "articles.short_text: must be between 0 and 100000, not -1"),
    ('contact = "me"', 'articles.contact: must be a web address (https://…) or mailto: address '
                       'where publishers can reach the operator, not "me"'),
    ('user_agent = ""', "articles.user_agent: must not be empty"),
    ('poll_budget = "2h"', 'articles.poll_budget: must be from 0s to 1h, not "2h"'),
    ('dealy = "1s"', "articles.dealy: unknown key; did you mean delay? allowed keys: "
                     "concurrency, per_host, delay, timeout, max_page, max_text, short_text, "
                     "contact, user_agent, poll_budget"),
])
def test_bad_values_are_refused_with_their_place(tmp_path: Path, body: str,
                                                 expected: str) -> None:
    assert settings_problem(tmp_path, f"\n[articles]\n{body}\n") == \
        [f"armswatch.toml: {expected}"]


def test_a_feeds_bad_mode_is_refused_and_the_rest_still_read(tmp_path: Path) -> None:
    text = SETTINGS + '\n[[feeds]]\nname = "X"\nurl = "https://x.example/rss"\n' \
                      'articles = "sometimes"\n\n[articles]\nper_host = 5\n'
    assert problems_of(write(tmp_path, text)) == [
        "armswatch.toml: articles.per_host: must be between 1 and 2, not 5",
        'armswatch.toml: feeds[4].articles: must be one of "auto", "always", "never", '
        'not "sometimes"',
    ]


@pytest.mark.parametrize(("mode", "summary", "content", "fetched"), [
    ("auto", "", "", True),                        # a headline alone
    ("auto", "A teaser of two lines.", "", True),
    ("auto", "x" * 200, "y" * 199, True),          # 399 characters: still a teaser
    ("auto", "x" * 200, "y" * 200, False),         # the article is in the feed
    ("always", "x" * 5000, "", True),
    ("never", "", "", False),
])
def test_when_a_page_is_fetched(mode: str, summary: str, content: str, fetched: bool) -> None:
    assert ArticlesConfig().fetches(mode, summary, content) is fetched  # type: ignore[arg-type]
