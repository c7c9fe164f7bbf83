"""The configuration layer: real TOML files in tmp_path, each problem checked by its exact text."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.config import (
    EmailSettings,
    FileSettings,
    SlackSettings,
    SmtpSettings,
    StdoutSettings,
)
from monitor.settings import Secret, check_cron
from monitor.settings.config import (
    Config,
    format_duration,
    load_config,
    load_watchlist,
    parse_duration,
    parse_size,
    summarise,
)
from monitor.settings.readonly import read_for_queries
from storage.errors import ConfigError

PROJECT = Path(__file__).resolve().parents[1]
SHIPPED = PROJECT / "config"

WATCHLIST = """
[[watch]]
name = "Mission Firewall"
kind = "program"
terms = ["Mission Firewall", "Misión Cortafuegos"]
guarded = ["Operation Firewall"]
context = ["arms", "armas"]
exclude = ["antivirus"]
priority = "high"

[[watch]]
name = "eTrace"
kind = "program"
terms = ["eTrace"]

[[watch]]
name = "Arms trafficking"
kind = "topic"
terms = ["gun trafficking", "tráfico de armas"]
"""

SETTINGS = """
[storage]
path = "data/test.db"

[polling]
interval = "15m"

[[feeds]]
name = "Border Report"
url = "https://www.borderreport.com/feed/"
language = "en"

[[feeds]]
name = "InSight Crime"
url = "https://insightcrime.org/feed/"
interval = "1h"

[[feeds]]
name = "ATF"
url = "https://www.atf.gov/news/rss.xml"
"""

SLACK = """
[[channels]]
name = "slack"
type = "slack"
webhook_url = "${SLACK_WEBHOOK_URL}"
schedule = "0 * * * *"
"""

EMAIL = """
[[channels]]
name = "team-email"
type = "email"
schedule = "0 7 * * 1-5"
timezone = "America/Mexico_City"
to = ["analysts@example.org"]
smtp = { host = "${SMTP_HOST}", username = "${SMTP_USER}", password = "${SMTP_PASSWORD}" }
"""


def write(folder: Path, settings: str = SETTINGS, watchlist: str = WATCHLIST) -> Path:
    (folder / "armswatch.toml").write_text(settings, encoding="utf-8")
    (folder / "watchlist.toml").write_text(watchlist, encoding="utf-8")
    return folder


def problems_of(folder: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ or {})
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def settings_problem(tmp_path: Path, extra: str) -> list[str]:
    return problems_of(write(tmp_path, SETTINGS + extra))


def watch_problem(tmp_path: Path, extra: str) -> list[str]:
    return problems_of(write(tmp_path, watchlist=WATCHLIST + extra))


# --- durations and sizes -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)),
    ("15m", timedelta(minutes=15)),
    ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ("1w", timedelta(weeks=1)),
    ("2w3d", timedelta(days=17)),
    ("36500d", timedelta(days=36500)),
    (" 2H ", timedelta(hours=2)),
    ("1h 30m", timedelta(hours=1, minutes=30)),
])
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", [
    "15 minutes", "", "15", "m", "1m1h", "1h1h", "-5m", "1.5h", "15mins", "h15", "2 weeks",
    "1d1w",
])
def test_parse_duration_rejects_with_clear_message(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f'"{text}" is not a duration (use 30s, 15m, 2h, 1d, 1w)'


@pytest.mark.parametrize("text", ["36501d", "99999999d", "99999999999999999999w"])
def test_parse_duration_refuses_more_than_a_century(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f'"{text}" is too long (at most 36500d, 100 years)'


def test_format_duration_is_the_inverse() -> None:
    for text in ("30s", "15m", "2h", "1d", "1h30m", "1d2h3m4s"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(timedelta(0)) == "0s"


@given(st.integers(min_value=0, max_value=10**7))
def test_duration_round_trip(seconds: int) -> None:
    span = timedelta(seconds=seconds)
    assert parse_duration(format_duration(span)) == span


def test_parse_size() -> None:
    assert parse_size("10MB") == 10 * 1024 * 1024
    assert parse_size("512KB") == 512 * 1024
    assert parse_size("2048") == 2048
    assert parse_size("1 gb") == 1024**3
    with pytest.raises(ValueError, match=r'^"ten MB" is not a size \(use a number of bytes'):
        parse_size("ten MB")


# --- a good configuration ------------------------------------------------------------------------

def test_valid_config_loads(tmp_path: Path) -> None:
    environ = {"SMTP_HOST": "smtp.example.org", "SMTP_USER": "bot@example.org",
               "SMTP_PASSWORD": "hunter2"}
    config = load_config(write(tmp_path, SETTINGS + EMAIL), environ)

    assert config.directory == tmp_path
    assert config.storage.path == Path("data/test.db")   # relative to the working directory
    assert config.polling.interval == timedelta(minutes=15)
    assert [(f.name, f.interval, f.language) for f in config.feeds] == [
        ("Border Report", timedelta(minutes=15), "en"),
        ("InSight Crime", timedelta(hours=1), None),
        ("ATF", timedelta(minutes=15), None),
    ]
    assert [w.name for w in config.watch] == ["Mission Firewall", "eTrace", "Arms trafficking"]
    firewall = config.watch[0]
    assert firewall.kind == "program" and firewall.priority == "high"
    assert firewall.guarded == ("Operation Firewall",) and firewall.exclude == ("antivirus",)
    assert config.watch[2].kind == "topic" and config.watch[2].priority == "normal"

    (email,) = config.channels
    assert email.type == "email" and email.timezone == "America/Mexico_City"
    # Numeric weekdays become names: APScheduler 3 counts weekdays from Monday, cron from Sunday.
    assert email.schedule == "0 7 * * mon,tue,wed,thu,fri"
    assert email.backlog == timedelta(days=7)
    assert email.settings == EmailSettings(
        sender="bot@example.org",                  # no `from`: the login, as it is an address
        to=("analysts@example.org",), subject_prefix="[Armswatch]",
        smtp=SmtpSettings(host="smtp.example.org", port=587, username="bot@example.org",
                          password="hunter2", security="starttls",
                          timeout=timedelta(seconds=30), ca_file=None))
    # The password is a plain str to smtplib but never shows in a repr (logs, tracebacks).
    assert isinstance(email.settings.smtp.password, Secret)
    assert "hunter2" not in repr(email) and "hunter2" not in repr(config)
    assert config.warnings == ()


def test_polling_keys_all_read(tmp_path: Path) -> None:
    settings = SETTINGS.replace('interval = "15m"\n', """interval = "10m"
concurrency = 20
per_host = 2
timeout = "45s"
parse_timeout = "10s"
max_body = "512KB"
max_redirects = 3
max_interval = "12h"
user_agent = "Test/1.0"
allow_private_addresses = ["10.20.0.0/16", "fd00::/8", "192.168.1.5"]
""", 1)
    polling = load_config(write(tmp_path, settings), {}).polling
    assert (polling.interval, polling.concurrency, polling.per_host) == (
        timedelta(minutes=10), 20, 2)
    assert (polling.timeout, polling.parse_timeout) == (timedelta(seconds=45),
                                                         timedelta(seconds=10))
    assert (polling.max_body, polling.max_redirects) == (512 * 1024, 3)
    assert (polling.max_interval, polling.user_agent) == (timedelta(hours=12), "Test/1.0")
    assert [str(network) for network in polling.allow_private_addresses] == [
        "10.20.0.0/16", "fd00::/8", "192.168.1.5/32"]


@pytest.mark.parametrize(("value", "networks"), [
    ("true", ["0.0.0.0/0", "::/0"]), ("false", []),
])
def test_allow_private_addresses_true_or_false(tmp_path: Path, value: str,
                                               networks: list[str]) -> None:
    settings = SETTINGS.replace('interval = "15m"\n',
                                f'interval = "15m"\nallow_private_addresses = {value}\n', 1)
    polling = load_config(write(tmp_path, settings), {}).polling
    assert [str(network) for network in polling.allow_private_addresses] == networks


def test_max_body_accepts_a_byte_count(tmp_path: Path) -> None:
    settings = SETTINGS.replace('interval = "15m"', 'interval = "15m"\nmax_body = 2000000', 1)
    assert load_config(write(tmp_path, settings), {}).polling.max_body == 2_000_000


def test_defaults_when_sections_are_absent(tmp_path: Path) -> None:
    settings = '[[feeds]]\nname = "A"\nurl = "http://127.0.0.1:8000/a.xml"\n'
    config = load_config(write(tmp_path, settings), {})
    assert config.storage.path == Path("data/armswatch.db")
    assert config.polling.interval == timedelta(minutes=15)
    assert config.feeds[0].interval == timedelta(minutes=15)
    assert config.channels == ()


def test_channel_types_build_their_settings(tmp_path: Path) -> None:
    channels = """
[[channels]]
name = "slack"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T0/B0/XYZ"
username = "Armswatch"
items = ["mission firewall"]
kinds = ["program"]
immediate = true

[[channels]]
name = "archive"
type = "file"
path = "out/digests"
backlog = "2d"
send_empty = true

[[channels]]
name = "console"
type = "stdout"

[[channels]]
name = "tls-mail"
type = "email"
from = "Armswatch <alerts@example.org>"
to = ["a@example.org", "b@example.org"]
subject_prefix = "[AW]"
smtp = { host = "mail.example.org", security = "tls", timeout = "1m" }
"""
    config = load_config(write(tmp_path, SETTINGS + channels), {})
    slack, archive, console, mail = config.channels
    assert slack.settings == SlackSettings(
        webhook_url="https://hooks.slack.com/services/T0/B0/XYZ", username="Armswatch")
    assert "XYZ" not in repr(slack)
    assert slack.items == ("Mission Firewall",)   # the canonical spelling from the watch list
    assert slack.kinds == ("program",) and slack.immediate
    assert slack.schedule == "0 7 * * *" and slack.timezone == "UTC"
    assert archive.settings == FileSettings(path=Path("out/digests"),
                                            formats=("html", "markdown"))
    assert archive.backlog == timedelta(days=2) and archive.send_empty
    assert console.settings == StdoutSettings()
    assert mail.settings == EmailSettings(
        sender="Armswatch <alerts@example.org>", to=("a@example.org", "b@example.org"),
        subject_prefix="[AW]", smtp=SmtpSettings(host="mail.example.org", port=465,
                                                 security="tls", timeout=timedelta(minutes=1)))


def test_summarise(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SETTINGS + EMAIL),
                         {"SMTP_HOST": "h", "SMTP_USER": "u", "SMTP_PASSWORD": "p"})
    lines = summarise(config)
    assert lines[0] == f"config: {tmp_path}"
    assert "database: data/test.db" in lines
    assert "feeds: 3" in lines
    assert "article pages: 8 at once, 2 per host, 1s apart per host" in lines
    assert "stories: reports of one event up to 3d apart" in lines
    assert "  InSight Crime: every 1h" in lines
    assert "  Border Report: every 15m [en]" in lines
    assert "watch items: 3 (2 programs, 1 topic)" in lines
    assert "channels: 1" in lines
    assert ('  team-email: email, schedule "0 7 * * mon,tue,wed,thu,fri" '
            "(America/Mexico_City)") in lines


# --- every kind of problem, with its exact text ---------------------------------------------------

ALLOWED_POLLING = ("interval, concurrency, per_host, timeout, parse_timeout, max_body, "
                   "max_redirects, max_entries, max_interval, user_agent, "
                   "allow_private_addresses")


@pytest.mark.parametrize(("extra", "expected"), [
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\ninterval = "15 minutes"\n',
     'armswatch.toml: feeds[4].interval: "15 minutes" is not a duration '
     "(use 30s, 15m, 2h, 1d, 1w)"),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\ninterval = "99999999d"\n',
     'armswatch.toml: feeds[4].interval: "99999999d" is too long (at most 36500d, 100 years)'),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\ninterval = 900\n',
     'armswatch.toml: feeds[4].interval: must be a duration such as "15m", not 900'),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\ninterval = "0s"\n',
     "armswatch.toml: feeds[4].interval: must be longer than 0s"),
    ('[[feeds]]\nname = "X"\nurl = "ftp://x.org/feed"\n',
     'armswatch.toml: feeds[4].url: must be an http:// or https:// URL, not "ftp://x.org/feed"'),
    ('[[feeds]]\nname = "X"\nurl = "x.org/feed"\n',
     'armswatch.toml: feeds[4].url: must be an http:// or https:// URL, not "x.org/feed"'),
    ('[[feeds]]\nname = "X"\nurl = "http://[::1/feed"\n',
     'armswatch.toml: feeds[4].url: "http://[::1/feed" is not a valid URL: the [ ] around an '
     "IPv6 address do not enclose a valid address"),
    ('[[feeds]]\nname = "X"\nurl = "http://[zz]/feed"\n',
     'armswatch.toml: feeds[4].url: "http://[zz]/feed" is not a valid URL: the [ ] around an '
     "IPv6 address do not enclose a valid address"),
    ('[[feeds]]\nname = "X"\nurl = "http://x.org:99999/feed"\n',
     'armswatch.toml: feeds[4].url: "http://x.org:99999/feed" is not a valid URL: its port must '
     "be a number from 0 to 65535"),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/a feed"\n',
     "armswatch.toml: feeds[4].url: contains a space; write it as %20 (or + in a query)"),
    ('[[feeds]]\nname = "X"\n',
     "armswatch.toml: feeds[4].url: required key is missing"),
    ('[[feeds]]\nurl = "https://x.org/feed"\n',
     "armswatch.toml: feeds[4].name: required key is missing"),
    ('[[feeds]]\nname = ""\nurl = "https://x.org/feed"\n',
     "armswatch.toml: feeds[4].name: must not be empty"),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\nlanguage = "spa"\n',
     'armswatch.toml: feeds[4].language: must be a two-letter language code such as "en" or '
     '"es", not "spa"'),
    ('[[feeds]]\nname = "border report"\nurl = "https://x.org/feed"\n',
     'armswatch.toml: feeds[4].name: "border report" is already the name of feeds[1]'),
    ('[[feeds]]\nname = "X"\nurl = "https://INSIGHTCRIME.org/feed/"\n',
     'armswatch.toml: feeds[4].url: "https://INSIGHTCRIME.org/feed/" is already the url of '
     "feeds[2]"),
    ('[[feeds]]\nname = "X"\nurl = "https://x.org/feed"\nhomepage = "X"\n',
     "armswatch.toml: feeds[4].homepage: unknown key; allowed keys: name, url, language, "
     "interval, articles"),
    ('[[feeds]]\nname = 7\nurl = "https://x.org/feed"\n',
     "armswatch.toml: feeds[4].name: must be a string, not 7"),
    ("feeds_extra = 1\n",
     "armswatch.toml: feeds_extra: unknown key; did you mean feeds? allowed keys: storage, "
     "polling, matching, articles, stories, feeds, channels"),
])
def test_feed_problems(tmp_path: Path, extra: str, expected: str) -> None:
    if extra.startswith("feeds_extra"):
        assert problems_of(write(tmp_path, extra + SETTINGS)) == [expected]
    else:
        assert settings_problem(tmp_path, extra) == [expected]


@pytest.mark.parametrize(("polling", "expected"), [
    ('intervall = "1m"', "armswatch.toml: polling.intervall: unknown key; did you mean interval? "
                         f"allowed keys: {ALLOWED_POLLING}"),
    ('concurrency = "50"', 'armswatch.toml: polling.concurrency: must be an integer, not "50"'),
    ("concurrency = true", "armswatch.toml: polling.concurrency: must be an integer, not true"),
    ("concurrency = 5.0", "armswatch.toml: polling.concurrency: must be an integer, not 5.0"),
    ("concurrency = 0", "armswatch.toml: polling.concurrency: must be between 1 and 1000, not 0"),
    ("max_redirects = -1",
     "armswatch.toml: polling.max_redirects: must be between 0 and 20, not -1"),
    ('max_body = "ten MB"', 'armswatch.toml: polling.max_body: "ten MB" is not a size (use a '
                            "number of bytes, 512KB or 10MB)"),
    ("max_body = 10", 'armswatch.toml: polling.max_body: must be at least 1KB: a number of '
                      'bytes or a size like "10MB", not 10'),
    ('timeout = "soon"', 'armswatch.toml: polling.timeout: "soon" is not a duration '
                         "(use 30s, 15m, 2h, 1d, 1w)"),
    ('max_interval = "5m"', "armswatch.toml: polling.max_interval: 5m is shorter than "
                            "polling.interval (15m)"),
    ('user_agent = ""', "armswatch.toml: polling.user_agent: must not be empty"),
    ('user_agent = ["a"]', "armswatch.toml: polling.user_agent: must be a string, not an array"),
    ('allow_private_addresses = "yes"', "armswatch.toml: polling.allow_private_addresses: must be "
     'true, false or a list of networks such as ["10.0.0.0/8"], not "yes"'),
    ('allow_private_addresses = ["10.0.0/8"]', "armswatch.toml: polling.allow_private_addresses[1]:"
     ' "10.0.0/8" is not an IP address or network (e.g. "10.0.0.0/8", "fd00::/8", "192.168.1.5")'),
])
def test_polling_problems(tmp_path: Path, polling: str, expected: str) -> None:
    settings = SETTINGS.replace('interval = "15m"', f'interval = "15m"\n{polling}', 1)
    assert problems_of(write(tmp_path, settings)) == [expected]


def test_storage_problems(tmp_path: Path) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', 'path = 5\nfile = "x"')
    assert problems_of(write(tmp_path, settings)) == [
        "armswatch.toml: storage.file: unknown key; allowed keys: path, keep_text",
        "armswatch.toml: storage.path: must be a string, not 5",
    ]


@pytest.mark.parametrize(("matching", "expected"), [
    ("", timedelta(days=30)),
    ('backfill = "0"', timedelta(0)),
    ('backfill = "2w"', timedelta(weeks=2)),
])
def test_matching_backfill_window(tmp_path: Path, matching: str, expected: timedelta) -> None:
    settings = SETTINGS.replace("[[feeds]]", f"[matching]\n{matching}\n\n[[feeds]]", 1)
    assert load_config(write(tmp_path, settings), {}).matching.backfill == expected


@pytest.mark.parametrize(("keep", "expected"), [
    ("", timedelta(0)), ('keep_text = "0"', timedelta(0)),
    ('keep_text = "90d"', timedelta(days=90)),
])
def test_storage_keep_text(tmp_path: Path, keep: str, expected: timedelta) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', f'path = "data/test.db"\n{keep}', 1)
    assert load_config(write(tmp_path, settings), {}).storage.keep_text == expected


def test_storage_keep_text_problem(tmp_path: Path) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', 'path = "data/test.db"\n'
                                'keep_text = "three months"', 1)
    assert problems_of(write(tmp_path, settings)) == [
        'armswatch.toml: storage.keep_text: "three months" is not a duration '
        "(use 30s, 15m, 2h, 1d, 1w)"]


@pytest.mark.parametrize(("matching", "expected"), [
    ('backfill = "a month"', 'armswatch.toml: matching.backfill: "a month" is not a duration '
                             "(use 30s, 15m, 2h, 1d, 1w)"),
    ("backfill = 30", 'armswatch.toml: matching.backfill: must be a duration such as "15m", '
                    "not 30"),
    ('window = "30d"', "armswatch.toml: matching.window: unknown key; allowed keys: backfill"),
])
def test_matching_problems(tmp_path: Path, matching: str, expected: str) -> None:
    settings = SETTINGS.replace("[[feeds]]", f"[matching]\n{matching}\n\n[[feeds]]", 1)
    assert problems_of(write(tmp_path, settings)) == [expected]


@pytest.mark.parametrize(("stories", "expected"), [
    ("", timedelta(hours=72)), ('window = "36h"', timedelta(hours=36)),
    ('window = "1w"', timedelta(weeks=1)),
])
def test_stories_window(tmp_path: Path, stories: str, expected: timedelta) -> None:
    settings = SETTINGS.replace("[[feeds]]", f"[stories]\n{stories}\n\n[[feeds]]", 1)
    assert load_config(write(tmp_path, settings), {}).stories.window == expected


@pytest.mark.parametrize(("stories", "expected"), [
    ('window = "10m"', 'armswatch.toml: stories.window: must be from 1h to 30d, not "10m"'),
    ('window = "60d"', 'armswatch.toml: stories.window: must be from 1h to 30d, not "60d"'),
    ('window = "three days"', 'armswatch.toml: stories.window: "three days" is not a duration '
                              "(use 30s, 15m, 2h, 1d, 1w)"),
    ('span = "3d"', "armswatch.toml: stories.span: unknown key; allowed keys: window"),
])
def test_stories_problems(tmp_path: Path, stories: str, expected: str) -> None:
    settings = SETTINGS.replace("[[feeds]]", f"[stories]\n{stories}\n\n[[feeds]]", 1)
    assert problems_of(write(tmp_path, settings)) == [expected]


def test_wrong_shapes(tmp_path: Path) -> None:
    settings = 'storage = "data/x.db"\nfeeds = ["https://x.org/feed"]\n[channels]\nname = "x"\n'
    assert problems_of(write(tmp_path, settings)) == [
        'armswatch.toml: storage: must be a table, not "data/x.db"',
        'armswatch.toml: feeds[1]: must be a table, not "https://x.org/feed"',
        "armswatch.toml: channels: must be an array of tables ([[channels]]), not a table",
    ]


CHANNEL = '[[channels]]\nname = "c"\n'


@pytest.mark.parametrize(("channel", "expected"), [
    ('type = "sms"', 'armswatch.toml: channels[1].type: must be one of "email", "slack", "file", '
                     '"stdout", not "sms"'),
    ("", 'armswatch.toml: channels[1].type: required key is missing (use one of "email", '
         '"slack", "file", "stdout")'),
    ('type = "stdout"\nschedule = "0 7 * *"',
     'armswatch.toml: channels[1].schedule: "0 7 * *" is not a cron schedule: it has 4 fields, '
     'expected 5 (minute hour day month weekday), e.g. "0 7 * * *"'),
    ('type = "stdout"\nschedule = "0 25 * * *"',
     'armswatch.toml: channels[1].schedule: "0 25 * * *": hour 25 is out of range 0-23'),
    ('type = "stdout"\nschedule = "0 7 * * funday"',
     'armswatch.toml: channels[1].schedule: "0 7 * * funday": weekday "funday" is not a number '
     "or a name like sun"),
    ('type = "stdout"\ntimezone = "Mexico City"',
     'armswatch.toml: channels[1].timezone: "Mexico City" is not a time zone (use a name like '
     '"America/Mexico_City" or "UTC")'),
    ('type = "stdout"\nitems = ["Mission Firewal"]',
     'armswatch.toml: channels[1].items[1]: "Mission Firewal" is not a watch item in '
     'watchlist.toml; did you mean "Mission Firewall"?'),
    ('type = "stdout"\nkinds = ["programs"]',
     'armswatch.toml: channels[1].kinds[1]: must be "program" or "topic", not "programs"'),
    ('type = "stdout"\nimmediate = "yes"',
     'armswatch.toml: channels[1].immediate: must be true or false, not "yes"'),
    ('type = "stdout"\nbacklog = "a week"',
     'armswatch.toml: channels[1].backlog: "a week" is not a duration (use 30s, 15m, 2h, 1d, 1w)'),
    ('type = "stdout"\nto = ["a@example.org"]',
     "armswatch.toml: channels[1].to: unknown key; allowed keys: name, type, schedule, timezone, "
     "items, kinds, immediate, send_empty, backlog, optional, max_entries, burst, "
     "alerts_per_hour"),
    ('type = "stdout"\nmax_entries = 0',
     "armswatch.toml: channels[1].max_entries: must be between 1 and 500, not 0"),
    ('type = "stdout"\nalerts_per_hour = 1000',
     "armswatch.toml: channels[1].alerts_per_hour: must be between 1 and 60, not 1000"),
    ('type = "stdout"\nburst = "many"',
     "armswatch.toml: channels[1].burst: must be an integer, not \"many\""),
    ('type = "slack"',
     "armswatch.toml: channels[1].webhook_url: required key is missing"),
    ('type = "slack"\nwebhook_url = "http://hooks.slack.com/services/SECRET"',
     "armswatch.toml: channels[1].webhook_url: must be an https:// URL (the Slack incoming "
     "webhook)"),
    ('type = "file"', "armswatch.toml: channels[1].path: required key is missing"),
    ('type = "file"\npath = "out"\nformats = ["pdf"]',
     'armswatch.toml: channels[1].formats[1]: must be one of "html", "markdown", "text", '
     'not "pdf"'),
    ('type = "email"\nsmtp = { host = "h" }',
     "armswatch.toml: channels[1].to: required key is missing (a list of addresses)"),
    ('type = "email"\nto = []\nsmtp = { host = "h" }',
     "armswatch.toml: channels[1].to: needs at least one address"),
    ('type = "email"\nto = ["analysts"]\nsmtp = { host = "h" }',
     'armswatch.toml: channels[1].to[1]: "analysts" is not an email address'),
    ('type = "email"\nto = ["a@example.org"]',
     'armswatch.toml: channels[1].smtp: required key is missing (e.g. smtp = { host = '
     '"${SMTP_HOST}" })'),
    ('type = "email"\nto = ["a@example.org"]\nsmtp = { port = 25 }',
     "armswatch.toml: channels[1].smtp.host: required key is missing"),
    ('type = "email"\nto = ["a@example.org"]\nsmtp = { host = "h", port = 70000 }',
     "armswatch.toml: channels[1].smtp.port: must be a port number between 1 and 65535, "
     "not 70000"),
    ('type = "email"\nto = ["a@example.org"]\nsmtp = { host = "h", security = "ssl" }',
     'armswatch.toml: channels[1].smtp.security: must be one of "starttls", "tls", "none", '
     'not "ssl"'),
    ('type = "email"\nto = ["a@example.org"]\nsmtp = { host = "h", username = "u" }',
     "armswatch.toml: channels[1].smtp.password: required when smtp.username is set"),
    ('type = "email"\nto = ["a@example.org"]\nsmtp = { host = "h", pass = "p" }',
     "armswatch.toml: channels[1].smtp.pass: unknown key; did you mean password? allowed keys: "
     "host, port, username, password, security, timeout, ca_file"),
])
def test_channel_problems(tmp_path: Path, channel: str, expected: str) -> None:
    assert settings_problem(tmp_path, CHANNEL + channel + "\n") == [expected]


def test_webhook_problem_does_not_repeat_the_secret(tmp_path: Path) -> None:
    extra = CHANNEL + 'type = "slack"\nwebhook_url = "http://hooks.slack.com/services/SECRET"\n'
    assert "SECRET" not in "\n".join(settings_problem(tmp_path, extra))


def test_duplicate_channel_names(tmp_path: Path) -> None:
    extra = CHANNEL + 'type = "stdout"\n' + '[[channels]]\nname = "C"\ntype = "stdout"\n'
    assert settings_problem(tmp_path, extra) == [
        'armswatch.toml: channels[2].name: "C" is already the name of channels[1]']


@pytest.mark.parametrize(("item", "expected"), [
    ('name = "X"\nkind = "programme"\nterms = ["x"]',
     'watchlist.toml: watch[4].kind: must be "program" or "topic", not "programme"'),
    ('name = "X"\nterms = ["x"]',
     'watchlist.toml: watch[4].kind: required key is missing (use "program" or "topic")'),
    ('kind = "topic"\nterms = ["x"]', "watchlist.toml: watch[4].name: required key is missing"),
    ('name = "X"\nkind = "topic"',
     "watchlist.toml: watch[4]: needs at least one term in terms or guarded, or it can never "
     "match"),
    ('name = "X"\nkind = "topic"\nterms = []',
     "watchlist.toml: watch[4]: needs at least one term in terms or guarded, or it can never "
     "match"),
    ('name = "X"\nkind = "topic"\nguarded = ["Firewall"]',
     "watchlist.toml: watch[4].context: required when guarded is set (a guarded term counts "
     "only when a context term is in the same article)"),
    ('name = "X"\nkind = "topic"\nterms = "x"',
     'watchlist.toml: watch[4].terms: must be an array of strings, not "x"'),
    ('name = "X"\nkind = "topic"\nterms = ["x", 5]',
     "watchlist.toml: watch[4].terms[2]: must be a string, not 5"),
    ('name = "X"\nkind = "topic"\nterms = ["x", " "]',
     "watchlist.toml: watch[4].terms[2]: must not be empty"),
    ('name = "X"\nkind = "topic"\nterms = ["x", "--"]',
     'watchlist.toml: watch[4].terms[2]: "--" has no letters or digits, so it can never match'),
    ('name = "X"\nkind = "topic"\nterms = ["x"]\nexclude = ["__"]',
     'watchlist.toml: watch[4].exclude[1]: "__" has no letters or digits, so it can never match'),
    ('name = "X"\nkind = "topic"\nterms = ["x"]\npriority = "urgent"',
     'watchlist.toml: watch[4].priority: must be "normal" or "high", not "urgent"'),
    ('name = "X"\nkind = "topic"\nterms = ["x"]\nalias = ["y"]',
     "watchlist.toml: watch[4].alias: unknown key; allowed keys: name, kind, terms, guarded, "
     "context, exclude, priority"),
    ('name = "ETRACE"\nkind = "topic"\nterms = ["x"]',
     'watchlist.toml: watch[4].name: "ETRACE" is already the name of watch[2]'),
])
def test_watch_problems(tmp_path: Path, item: str, expected: str) -> None:
    assert watch_problem(tmp_path, "\n[[watch]]\n" + item + "\n") == [expected]


def test_empty_watchlist_is_a_problem(tmp_path: Path) -> None:
    assert problems_of(write(tmp_path, watchlist="# nothing yet\n")) == [
        "watchlist.toml: watch: no [[watch]] items: add at least one, or nothing can match"]


def test_context_without_guarded_is_a_warning(tmp_path: Path) -> None:
    watchlist = WATCHLIST + '\n[[watch]]\nname = "X"\nkind = "topic"\nterms = ["x"]\n' \
                            'context = ["y"]\n'
    config = load_config(write(tmp_path, watchlist=watchlist), {})
    assert config.warnings == (
        "watchlist.toml: watch[4].context: has no effect without guarded terms",)


# --- files that cannot be read --------------------------------------------------------------------

def test_syntax_error_gives_the_line(tmp_path: Path) -> None:
    settings = '[polling]\ninterval = "15m"\nconcurrency = 50x\n'
    assert problems_of(write(tmp_path, settings)) == [
        "armswatch.toml: line 3: Expected newline or end of document after a statement "
        "(column 17)"]


def test_syntax_error_at_the_end_of_a_file(tmp_path: Path) -> None:
    watchlist = '[[watch]]\nname = "x"\nkind = "topic"\nterms = ["a"'
    assert problems_of(write(tmp_path, watchlist=watchlist)) == [
        "watchlist.toml: line 4: Unclosed array (at the end of the file)"]


def test_missing_files(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [
        f"armswatch.toml: file not found (looked for {tmp_path / 'armswatch.toml'})",
        f"watchlist.toml: file not found (looked for {tmp_path / 'watchlist.toml'})",
    ]


def test_file_not_utf8(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "armswatch.toml").write_bytes(b'[storage]\npath = "caf\xe9.db"\n')
    assert problems_of(tmp_path) == [
        "armswatch.toml: line 2: not valid UTF-8 text; save the file as UTF-8"]


def test_every_problem_in_both_files_at_once(tmp_path: Path) -> None:
    settings = SETTINGS.replace('interval = "15m"', 'interval = "15 minutes"\nconcurrency = "5"')
    settings += '[[feeds]]\nname = "ATF"\nurl = "gopher://atf"\n'
    settings += CHANNEL + 'type = "pager"\n'
    watchlist = WATCHLIST + '\n[[watch]]\nname = "eTrace"\nkind = "programme"\n'
    write(tmp_path, settings, watchlist)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    assert problems_of(tmp_path) == [
        'armswatch.toml: polling.interval: "15 minutes" is not a duration '
        "(use 30s, 15m, 2h, 1d, 1w)",
        'armswatch.toml: polling.concurrency: must be an integer, not "5"',
        'armswatch.toml: feeds[4].url: must be an http:// or https:// URL, not "gopher://atf"',
        'armswatch.toml: feeds[4].name: "ATF" is already the name of feeds[3]',
        'armswatch.toml: channels[1].type: must be one of "email", "slack", "file", "stdout", '
        'not "pager"',
        'watchlist.toml: watch[4].kind: must be "program" or "topic", not "programme"',
        "watchlist.toml: watch[4]: needs at least one term in terms or guarded, or it can never "
        "match",
        'watchlist.toml: watch[4].name: "eTrace" is already the name of watch[2]',
    ]
    # Loading only reads: the files are exactly as they were.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_syntax_error_in_one_file_and_problems_in_the_other(tmp_path: Path) -> None:
    settings = SETTINGS + CHANNEL + 'type = "stdout"\nitems = ["Nowhere"]\n'
    write(tmp_path, settings, watchlist="[[watch]\n")
    # The channel's items are not checked against a watch list that could not be read.
    assert problems_of(tmp_path) == [
        "watchlist.toml: line 1: Expected ']]' at the end of an array declaration (column 8)"]
    write(tmp_path, SETTINGS + "[polling\n", WATCHLIST + '[[watch]]\nname = 5\n')
    problems = problems_of(tmp_path)
    assert problems[0].startswith("armswatch.toml: line 21: ")
    assert "watchlist.toml: watch[4].name: must be a string, not 5" in problems


# --- ${VAR} interpolation -------------------------------------------------------------------------

def test_interpolation_fills_strings_everywhere(tmp_path: Path) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', 'path = "${DATA_DIR}/armswatch.db"')
    settings = settings.replace("https://www.atf.gov/news/rss.xml", "https://${ATF_HOST}/rss.xml")
    settings += CHANNEL + 'type = "file"\npath = "$${NOT_A_VAR}/x"\n'
    environ = {"DATA_DIR": "/srv/aw", "ATF_HOST": "atf.example.org:8443"}
    config = load_config(write(tmp_path, settings), environ)
    assert config.storage.path == Path("/srv/aw/armswatch.db")
    assert config.feeds[2].url == "https://atf.example.org:8443/rss.xml"
    # $${ is a literal ${
    assert config.channels[0].settings == FileSettings(path=Path("${NOT_A_VAR}/x"))


def test_environment_values_are_not_interpolated_again(tmp_path: Path) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', 'path = "${DB}"')
    config = load_config(write(tmp_path, settings), {"DB": "${HOME}/x.db", "HOME": "/root"})
    assert config.storage.path == Path("${HOME}/x.db")


def test_channel_with_unset_variables_is_skipped_with_one_warning(tmp_path: Path) -> None:
    settings = SETTINGS + EMAIL + SLACK
    environ = {"SMTP_HOST": "smtp.example.org", "SMTP_PASSWORD": ""}   # empty counts as unset
    config = load_config(write(tmp_path, settings), environ)
    assert config.channels == ()
    assert config.warnings == (
        'armswatch.toml: channels[1]: channel "team-email" skipped: environment variables '
        "SMTP_USER, SMTP_PASSWORD are not set",
        'armswatch.toml: channels[2]: channel "slack" skipped: environment variable '
        "SLACK_WEBHOOK_URL is not set",
    )
    config = load_config(tmp_path, {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/A"})
    assert [c.name for c in config.channels] == ["slack"]
    assert len(config.warnings) == 1


def test_an_optional_channel_with_unset_variables_is_off_without_a_warning(
        tmp_path: Path) -> None:
    settings = SETTINGS + SLACK + "optional = true\n"
    config = load_config(write(tmp_path, settings), {})
    assert (config.channels, config.warnings) == ((), ())
    assert config.skipped == ('channel "slack" is off (optional): environment variable '
                              "SLACK_WEBHOOK_URL is not set",)
    config = load_config(tmp_path, {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/A"})
    assert ([c.name for c in config.channels], config.skipped) == (["slack"], ())
    assert settings_problem(tmp_path, SLACK + 'optional = "yes"\n') == [
        'armswatch.toml: channels[1].optional: must be true or false, not "yes"']


def test_skipped_channel_is_still_checked_for_mistakes(tmp_path: Path) -> None:
    extra = SLACK + 'schedul = "0 7 * * *"\n'
    assert settings_problem(tmp_path, extra) == [
        "armswatch.toml: channels[1].schedul: unknown key; did you mean schedule? allowed keys: "
        "name, type, schedule, timezone, items, kinds, immediate, send_empty, backlog, optional, "
        "max_entries, burst, alerts_per_hour, webhook_url, username, channel, timeout, "
        "max_wait, retries, retry_delay, min_interval, max_messages"]


def test_unset_variable_outside_a_channel_is_an_error(tmp_path: Path) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', 'path = "${DATA_DIR}/armswatch.db"')
    assert problems_of(write(tmp_path, settings)) == [
        "armswatch.toml: storage.path: environment variable DATA_DIR is not set"]


@pytest.mark.parametrize(("value", "expected"), [
    ("${1ST}", '"${1ST}" is not a variable reference (use ${NAME} with letters, digits and _)'),
    ("${HOME", '"${HOME" has a ${ without a closing }'),
])
def test_bad_variable_references(tmp_path: Path, value: str, expected: str) -> None:
    settings = SETTINGS.replace('path = "data/test.db"', f'path = "{value}"')
    assert problems_of(write(tmp_path, settings), {"HOME": "/root"}) == [
        f"armswatch.toml: storage.path: {expected}"]


def test_smtp_port_from_the_environment(tmp_path: Path) -> None:
    extra = CHANNEL + 'type = "email"\nto = ["a@example.org"]\n' \
                      'smtp = { host = "h", port = "${SMTP_PORT}" }\n'
    config = load_config(write(tmp_path, SETTINGS + extra), {"SMTP_PORT": "2525"})
    assert isinstance(config.channels[0].settings, EmailSettings)
    assert config.channels[0].settings.smtp.port == 2525


def test_watchlist_is_not_interpolated(tmp_path: Path) -> None:
    watchlist = WATCHLIST + '\n[[watch]]\nname = "Dollar"\nkind = "topic"\nterms = ["${X}"]\n'
    config = load_config(write(tmp_path, watchlist=watchlist), {"X": "replaced"})
    assert config.watch[3].terms == ("${X}",)


# --- cron ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "canonical"), [
    ("0 7 * * *", "0 7 * * *"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("0 7 * * 1-5", "0 7 * * mon,tue,wed,thu,fri"),
    ("0 7 * * 0", "0 7 * * sun"),
    ("0 7 * * 7", "0 7 * * sun"),
    ("0 7 * * Mon-Fri", "0 7 * * mon,tue,wed,thu,fri"),
    ("0 7 * * 0-6", "0 7 * * *"),
    ("0 7 * * */2", "0 7 * * sun,tue,thu,sat"),
    ("30 8 1,15 jan-mar *", "30 8 1,15 jan-mar *"),
    ("0 0-23/6 * * *", "0 0-23/6 * * *"),
])
def test_check_cron_accepts(expression: str, canonical: str) -> None:
    assert check_cron(expression) == canonical


@pytest.mark.parametrize(("expression", "message"), [
    ("@daily", '"@daily" is not a cron schedule: it has 1 field, expected 5'),
    ("60 * * * *", '"60 * * * *": minute 60 is out of range 0-59'),
    ("0 7 32 * *", '"0 7 32 * *": day of month 32 is out of range 1-31'),
    ("0 7 * 13 *", '"0 7 * 13 *": month 13 is out of range 1-12'),
    ("0 7 * * 5-1", '"0 7 * * 5-1": weekday range 5-1 runs backwards'),
    ("*/0 * * * *", '"*/0 * * * *": minute step must be at least 1'),
    ("0 7 L * *", '"0 7 L * *": day of month "L" is not a number'),
    ("0 7 * * mon-", '"0 7 * * mon-": weekday "mon-" is not valid'),
    ("0,,5 7 * * *", '"0,,5 7 * * *": minute "" is not valid'),
])
def test_check_cron_rejects(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_cron(expression)
    assert str(caught.value).startswith(message)


def test_day_and_weekday_together_warn(tmp_path: Path) -> None:
    extra = CHANNEL + 'type = "stdout"\nschedule = "0 7 1 * mon"\n'
    config = load_config(write(tmp_path, SETTINGS + extra), {})
    assert config.warnings == (
        "armswatch.toml: channels[1].schedule: both day of month and weekday are set; digests "
        "go out only on days that match both",)


# --- load_watchlist alone ------------------------------------------------------------------------

def test_load_watchlist_alone(tmp_path: Path) -> None:
    path = tmp_path / "my-list.toml"
    path.write_text(WATCHLIST, encoding="utf-8")
    items = load_watchlist(path)
    assert [(i.name, i.kind) for i in items] == [
        ("Mission Firewall", "program"), ("eTrace", "program"), ("Arms trafficking", "topic")]
    path.write_text(WATCHLIST + '[[watch]]\nname = "X"\nkind = "topic"\nguarded = ["y"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    assert caught.value.problems == [
        "my-list.toml: watch[4].context: required when guarded is set (a guarded term counts "
        "only when a context term is in the same article)"]


def test_load_watchlist_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_watchlist(tmp_path / "watchlist.toml")
    assert caught.value.problems == [
        f"watchlist.toml: file not found (looked for {tmp_path / 'watchlist.toml'})"]


# --- the shipped configuration -------------------------------------------------------------------

MINIMAL_WATCHLIST = """
[[watch]]
name = "Mission Firewall"
kind = "program"
terms = ["Mission Firewall"]

[[watch]]
name = "eTrace"
kind = "program"
terms = ["eTrace"]
"""


def shipped_config(tmp_path: Path) -> Config:
    if (SHIPPED / "watchlist.toml").exists():
        return load_config(SHIPPED, {})
    shutil.copy(SHIPPED / "armswatch.toml", tmp_path / "armswatch.toml")
    (tmp_path / "watchlist.toml").write_text(MINIMAL_WATCHLIST, encoding="utf-8")
    return load_config(tmp_path, {})


def test_shipped_config_loads(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    assert config.storage.path == Path("data/armswatch.db")
    assert config.polling.interval == timedelta(minutes=15)
    # The one channel on by default is local: digests as files, nothing leaves the machine.
    assert [(c.name, c.settings) for c in config.channels] == [
        ("local-digest", FileSettings(path=Path("data/digests")))]
    assert len(config.feeds) >= 12
    languages = {feed.language for feed in config.feeds}
    assert {"en", "es"} <= languages
    google = [f for f in config.feeds if f.url.startswith("https://news.google.com/rss/search?")]
    assert any(f.url.endswith("&hl=en-US&gl=US&ceid=US:en") for f in google)
    assert any(f.url.endswith("&hl=es-419&gl=MX&ceid=MX:es-419") for f in google)
    for feed in config.feeds:
        # Percent-encoded: nothing outside unreserved/reserved ASCII in any URL.
        assert re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", feed.url), feed.url
    assert any("api.gdeltproject.org/api/v2/doc/doc?" in f.url and "format=rss" in f.url
               for f in config.feeds)


def test_shipped_channel_examples_load_when_uncommented(tmp_path: Path) -> None:
    text = (SHIPPED / "armswatch.toml").read_text(encoding="utf-8")
    start = text.index("# [[channels]]")
    text = text[:start] + re.sub(r"(?m)^# ?", "", text[start:])
    write(tmp_path, text, MINIMAL_WATCHLIST)
    environ = {"SMTP_HOST": "smtp.example.org", "SMTP_USER": "bot@example.org",
               "SMTP_PASSWORD": "pw", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/A",
               "MAILPIT_HOST": "mailpit"}
    config = load_config(tmp_path, environ)
    assert [(c.name, c.type) for c in config.channels] == [
        ("local-digest", "file"), ("mailpit", "email"), ("team-email", "email"),
        ("slack", "slack"), ("weekly-archive", "file")]
    email = config.channels[2]
    assert email.settings == EmailSettings(
        sender="armswatch@example.org", to=("analysts@example.org",),
        smtp=SmtpSettings(host="smtp.example.org", username="bot@example.org", password="pw"))
    assert config.warnings == ()


# --- the tolerant read of the read-only commands (monitor.settings.readonly) ----------------------

def test_read_for_queries_of_a_valid_config_has_everything(tmp_path: Path) -> None:
    found = read_for_queries(write(tmp_path), {})
    assert found.problems == () and found.warning() is None
    assert found.storage_path == Path("data/test.db")
    assert [f.name for f in found.feeds or ()] == ["Border Report", "InSight Crime", "ATF"]
    assert found.interval == timedelta(hours=1)   # the longest feed interval
    assert [w.name for w in found.watch or ()] == ["Mission Firewall", "eTrace", "Arms trafficking"]


def test_read_for_queries_keeps_the_sound_parts_of_a_broken_config(tmp_path: Path) -> None:
    typo = WATCHLIST.replace('kind = "topic"', 'kind = "topics"')
    broken_watch = read_for_queries(write(tmp_path, watchlist=typo), {})
    assert broken_watch.watch is None
    assert broken_watch.storage_path == Path("data/test.db") and broken_watch.feeds
    assert broken_watch.problems == ('watchlist.toml: watch[3].kind: must be "program" or '
                                     '"topic", not "topics"',)
    warning = broken_watch.warning()
    assert warning is not None and "\n" not in warning
    assert warning.endswith(broken_watch.problems[0])

    bad_feed = read_for_queries(write(tmp_path, SETTINGS + '[[feeds]]\nname = "X"\nurl = "x"\n'),
                                {})
    assert bad_feed.storage_path == Path("data/test.db")
    assert bad_feed.feeds is None and bad_feed.watch is not None
    assert bad_feed.interval == timedelta(minutes=15)   # [polling] is sound

    # A misspelt [storage] would leave the default path, which is not the one meant.
    misspelt = read_for_queries(write(tmp_path, SETTINGS.replace("[storage]", "[stroage]")), {})
    assert misspelt.storage_path is None and misspelt.feeds is None
    assert misspelt.database(Path("given.db")) == Path("given.db")
    with pytest.raises(ConfigError) as caught:
        misspelt.database(None)
    assert caught.value.problems[0].startswith("armswatch.toml: stroage: unknown key; did you mean")
    assert caught.value.problems[-1] == ("(the database path is not known: fix the config, or "
                                         "give it with --db or ARMSWATCH_DB)")

    unparseable = read_for_queries(write(tmp_path, "[storage\n"), {})
    assert unparseable.storage_path is None and unparseable.channels == ()
    assert unparseable.watch is not None
