"""Channel settings are validated once, at config load: everything `digest` could refuse is an
`armswatch check` error with its exact line (exit 2), and what `check` accepts reaches the channel
as it was written. Real config files; the shipped watch list; real SMTP and Slack on loopback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from builders import toml_string, write_config
from click.testing import CliRunner, Result
from slackserver import Answer, SlackServer
from test_digest_support import NOW, article, match, open_store, seed

from alerts.channels import EmailChannel, FileChannel, SlackChannel, make_channel
from alerts.config import EmailSettings, FileSettings, SlackSettings, SmtpSettings
from monitor.cli.commands import cli
from monitor.service.dispatch import deliver
from monitor.settings import Config, load_config
from storage.errors import ConfigError

FEEDS = {"Loopback News": "http://127.0.0.1:9/feed.xml"}
TO = 'to = ["analysts@example.org"]\n'
SMTP = 'smtp = { host = "smtp.example.org" }\n'


def channel_config(folder: Path, block: str) -> Path:
    """A config folder whose only channel is ``[[channels]] name = "c"`` plus ``block``."""
    return write_config(folder / "config", folder / "armswatch.db", FEEDS,
                        extra=f'[[channels]]\nname = "c"\n{block}')


def problems(folder: Path, block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(channel_config(folder, block), {})
    return caught.value.problems


def loaded(folder: Path, block: str, environ: dict[str, str] | None = None) -> Config:
    return load_config(channel_config(folder, block), environ or {})


def check(config: Path) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "check"])


AT = "armswatch.toml: channels[1]"
LINE_BREAK = "(a line break or similar); a mail header must be one line of text"


@pytest.mark.parametrize(("block", "expected"), [
    # A login in clear text: check used to say "config OK", then digest refused the channel.
    ('type = "email"\n' + TO + 'smtp = { host = "smtp.example.org", security = "none", '
     'username = "bot", password = "pw" }',
     f'{AT}.smtp.security: "none" would send the SMTP login unencrypted to "smtp.example.org"; '
     'use "starttls" or "tls" (a login over plain SMTP is allowed only to localhost)'),
    # Header injection: check used to pass it, then digest crashed on every run.
    ('type = "email"\nfrom = "a@example.org\\r\\nBcc: victim@example.org"\n' + TO + SMTP,
     f"{AT}.from: contains the control character U+000D {LINE_BREAK}"),
    ('type = "email"\nto = ["analysts@example.org\\nBcc: victim@example.org"]\n' + SMTP,
     f"{AT}.to[1]: contains the control character U+000A {LINE_BREAK}"),
    ('type = "email"\nsubject_prefix = "[AW]\\u2028X-Evil: 1"\n' + TO + SMTP,
     f"{AT}.subject_prefix: contains the control character U+2028 {LINE_BREAK}"),
    ('type = "email"\nsubject_prefix = "[AW]\\u0007"\n' + TO + SMTP,
     f"{AT}.subject_prefix: contains the control character U+0007 {LINE_BREAK}"),
    ('type = "email"\nfrom = "Armswatch"\n' + TO + SMTP,
     f'{AT}.from: "Armswatch" is not an email address'),
    ('type = "email"\nfrom = "Armswatch <armswatch@example.org"\n' + TO + SMTP,
     f'{AT}.from: "Armswatch <armswatch@example.org" is not an email address'),
    ('type = "email"\nto = ["ok@example.org", "a@"]\n' + SMTP,
     f'{AT}.to[2]: "a@" is not an email address'),
    ('type = "email"\nto = ["a@example.org, b@example.org"]\n' + SMTP,
     f'{AT}.to[1]: "a@example.org, b@example.org" holds more than one address; write one '
     "address per string"),
    ('type = "email"\n' + TO + 'smtp = { host = "smtp example org" }',
     f'{AT}.smtp.host: "smtp example org" is not a host name'),
    ('type = "email"\n' + TO + 'smtp = { host = "h", timeout = "0s" }',
     f'{AT}.smtp.timeout: must be from 1s to 5m, not "0s"'),
    ('type = "email"\n' + TO + 'smtp = { host = "h", timeout = "1h" }',
     f'{AT}.smtp.timeout: must be from 1s to 5m, not "1h"'),
    ('type = "email"\n' + TO + 'smtp = { host = "h", ca_file = "/nowhere/ca.pem" }',
     f"{AT}.smtp.ca_file: names no file: /nowhere/ca.pem (a PEM file of the certificate "
     "authority to trust)"),
    # A webhook URL that does not parse used to give a traceback; the URL is never repeated.
    ('type = "slack"\nwebhook_url = "https://[::1/x"',
     f"{AT}.webhook_url: is not a valid URL (look at the host and port; an IPv6 address needs "
     "both brackets)"),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com:99999/services/x"',
     f"{AT}.webhook_url: is not a valid URL (look at the host and port; an IPv6 address needs "
     "both brackets)"),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/services/a b"',
     f"{AT}.webhook_url: must be a URL without spaces or control characters"),
    ('type = "slack"\nwebhook_url = "https:///services/x"',
     f"{AT}.webhook_url: must be an https:// URL (the Slack incoming webhook)"),
    # The Slack keys docs/channels.md promised and the loader used to reject, with their ranges.
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/x"\ntimeout = "0s"',
     f'{AT}.timeout: must be from 1s to 5m, not "0s"'),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/x"\nmax_wait = "2h"',
     f'{AT}.max_wait: must be from 0s to 1h, not "2h"'),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/x"\nretries = 11',
     f"{AT}.retries: must be between 0 and 10, not 11"),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/x"\nretry_delay = 2',
     f'{AT}.retry_delay: must be a duration such as "15m", not 2'),
    ('type = "slack"\nwebhook_url = "https://hooks.slack.com/x"\nmin_interval = "soon"',
     f'{AT}.min_interval: "soon" is not a duration (use 30s, 15m, 2h, 1d, 1w)'),
    ('type = "file"\npath = "out\\u0000x"',
     f"{AT}.path: contains a NUL character, which no file name can hold"),
    ('type = "file"\npath = "out"\nformats = []',
     f'{AT}.formats: needs at least one of "html", "markdown", "text"'),
])
def test_what_digest_would_refuse_is_a_config_error(tmp_path: Path, block: str,
                                                   expected: str) -> None:
    assert problems(tmp_path, block) == [expected]


def test_check_exits_2_with_the_exact_line_and_no_traceback(tmp_path: Path) -> None:
    cases = {
        "login": ('type = "email"\n' + TO + 'smtp = { host = "smtp.example.org", '
                  'security = "none", username = "bot", password = "pw" }',
                  f'{AT}.smtp.security: "none" would send the SMTP login unencrypted to '
                  '"smtp.example.org"; use "starttls" or "tls" (a login over plain SMTP is '
                  "allowed only to localhost)"),
        "header": ('type = "email"\nfrom = "a@example.org\\r\\nBcc: victim@example.org"\n'
                   + TO + SMTP, f"{AT}.from: contains the control character U+000D "
                   f"{LINE_BREAK}"),
        "webhook": ('type = "slack"\nwebhook_url = "https://[::1/x"',
                    f"{AT}.webhook_url: is not a valid URL (look at the host and port; an IPv6 "
                    "address needs both brackets)"),
    }
    for name, (block, expected) in cases.items():
        result = check(channel_config(tmp_path / name, block))
        assert (result.exit_code, result.stderr.splitlines()) == (2, [expected]), name
        assert "config OK" not in result.output and "Traceback" not in result.output


def test_a_path_that_names_a_file_is_not_a_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    assert problems(tmp_path, f'type = "file"\npath = {toml_string(str(blocker))}') == [
        f"{AT}.path: {blocker} is a file, not a folder"]
    below = blocker / "digests"
    assert problems(tmp_path, f'type = "file"\npath = {toml_string(str(below))}') == [
        f"{AT}.path: {below} cannot be created: {blocker} is a file, not a folder"]


def test_a_ca_file_that_holds_no_certificate(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate", encoding="utf-8")
    block = ('type = "email"\n' + TO +
             f'smtp = {{ host = "h", ca_file = {toml_string(str(not_pem))} }}')
    assert problems(tmp_path, block) == [
        f"{AT}.smtp.ca_file: {not_pem} holds no PEM certificate"]


def test_a_login_over_plain_smtp_to_localhost_is_allowed(tmp_path: Path) -> None:
    block = ('type = "email"\n' + TO + 'smtp = { host = "127.0.0.1", port = 2525, '
             'security = "none", username = "bot", password = "pw" }')
    (channel,) = loaded(tmp_path, block).channels
    assert isinstance(channel.settings, EmailSettings)
    assert channel.settings.smtp == SmtpSettings(host="127.0.0.1", port=2525, security="none",
                                                 username="bot", password="pw")
    assert channel.settings.sender == "armswatch@localhost"   # "bot" is not an address


def test_check_accepts_the_text_format_and_the_slack_tuning_keys(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db", FEEDS, extra="""
[[channels]]
name = "archive"
type = "file"
path = "out/digests"
formats = ["text", "html", "text"]

[[channels]]
name = "slack"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T0/B0/XYZ"
timeout = "5s"
max_wait = "0s"
retries = 0
retry_delay = "1s"
min_interval = "0s"
""")
    result = check(folder)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("config OK")
    archive, slack = load_config(folder, {}).channels
    assert archive.settings == FileSettings(path=Path("out/digests"), formats=("text", "html"))
    assert slack.settings == SlackSettings(
        webhook_url="https://hooks.slack.com/services/T0/B0/XYZ", timeout=timedelta(seconds=5),
        max_wait=timedelta(0), retries=0, retry_delay=timedelta(seconds=1),
        min_interval=timedelta(0))


def test_the_channels_use_the_settings_as_loaded(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db", FEEDS, extra="""
[[channels]]
name = "mail"
type = "email"
from = "Armswatch <alerts@example.org>"
to = ["a@example.org", "Desk <b@example.org>"]
subject_prefix = "[AW]"
smtp = { host = "smtp.example.org", username = "bot@example.org", timeout = "1m", \
         password = "${SMTP_PASSWORD}" }

[[channels]]
name = "slack"
type = "slack"
webhook_url = "${SLACK_WEBHOOK_URL}"
retries = 5
max_wait = "2m"

[[channels]]
name = "archive"
type = "file"
path = "~/digests"
formats = ["text"]
""")
    secrets = {"SMTP_PASSWORD": "hunter2-secret",
               "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SECRET"}
    mail, slack, archive = (make_channel(c) for c in load_config(folder, secrets).channels)
    assert isinstance(mail, EmailChannel) and mail.domain == "example.org"
    assert mail.recipients == ("a@example.org", "Desk <b@example.org>")
    assert mail.smtp.timeout == timedelta(minutes=1) and mail.smtp.port == 587
    assert "hunter2" not in repr(mail.smtp)
    assert isinstance(slack, SlackChannel) and (slack.retries, slack.max_wait) == (5, 120.0)
    assert "SECRET" not in repr(slack)
    assert isinstance(archive, FileChannel) and archive.formats == ("text",)
    assert archive.folder == Path("~/digests").expanduser()


def test_loaded_slack_tuning_reaches_the_channel(tmp_path: Path) -> None:
    """retries = 0 from the file: one post and no retry, where the default would retry twice."""
    with SlackServer() as slack, open_store(tmp_path) as store:
        seed(store, [(article("1"), [match()])])
        block = (f'type = "slack"\nwebhook_url = {toml_string(slack.webhook_url)}\n'
                 'retries = 0\nmin_interval = "0s"\n')
        config = loaded(tmp_path, block)
        slack.queue(Answer(500, "rollup_error"))
        (report,) = deliver(store.path, config.channels, config.watch, now=NOW)
    assert report.error == "Slack is failing (HTTP 500 Internal Server Error: rollup_error)"
    assert [p.status for p in slack.posted] == [500]


def test_an_empty_subject_prefix_means_none(tmp_path: Path) -> None:
    """`subject_prefix = ""` is a choice, not a mistake: the subject then names the product."""
    config = loaded(tmp_path, 'type = "email"\nsubject_prefix = ""\n' + TO + SMTP)
    (channel,) = config.channels
    assert isinstance(channel.settings, EmailSettings)
    assert channel.settings.subject_prefix == ""
    injected = 'type = "email"\nsubject_prefix = "[A]\\nBcc: x@example.org"\n' + TO + SMTP
    assert problems(tmp_path / "other", injected) == [
        f"{AT}.subject_prefix: contains the control character U+000A {LINE_BREAK}"]
