"""The type-specific keys of a ``[[channels]]`` table, validated into the settings classes of
alerts.config (EmailSettings, SlackSettings, FileSettings, StdoutSettings).

This is the only place channel settings are checked: the channels use what they are given. So
everything a send could trip over that the file alone decides — a line break in a mail header,
an address that is not one, an unparseable webhook URL, a folder path that cannot be a folder,
a timeout out of range — is reported here, by `armswatch check`, with the rest of the file's
problems. What only the moment of sending can tell (a server down, a refused login) is not.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from datetime import timedelta
from email import policy
from email.utils import parseaddr
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from alerts.config import (
    DEFAULT_FILE_FORMATS,
    DEFAULT_PORTS,
    FILE_FORMATS,
    SMTP_SECURITY,
    ChannelSettings,
    ChannelType,
    EmailSettings,
    FileSettings,
    SlackSettings,
    SmtpSecurity,
    SmtpSettings,
    StdoutSettings,
)
from monitor.settings.tables import Key, Table, Unresolved, one_of, quote

TYPE_KEYS: dict[ChannelType, tuple[str, ...]] = {
    "email": ("from", "to", "subject_prefix", "smtp"),
    "slack": ("webhook_url", "username", "channel", "timeout", "max_wait", "retries",
              "retry_delay", "min_interval", "max_messages"),
    "file": ("path", "formats"),
    "stdout": (),
}
SMTP_KEYS = ("host", "port", "username", "password", "security", "timeout", "ca_file")
DEFAULT_SENDER = "armswatch@localhost"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Control characters, including the Unicode line and paragraph separators: none belongs in a
# mail header (a CR/LF would start a new header: "Bcc: ...").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SECONDS = timedelta(seconds=1)


class Secret(str):
    """A password or webhook URL: a plain string whose repr hides it, keeping it out of logs."""

    def __repr__(self) -> str:
        return "Secret('***')"


def read_settings(kind: ChannelType, table: Table) -> ChannelSettings:
    """The settings of a channel of type `kind`; every problem is reported on `table`."""
    return _READERS[kind](table)


# --- email ---------------------------------------------------------------------------------------

def _email(table: Table) -> EmailSettings:
    if "to" not in table.data:
        table.problem("to", "required key is missing (a list of addresses)")
    elif table.data["to"] == []:
        table.problem("to", "needs at least one address")
    recipients = table.strings("to")
    raw = table.data.get("to")
    for index, address in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(address, str) and address.strip():
            _check_header(table, ("to", index), address, address=True)
    smtp_table = table.table("smtp")
    if smtp_table is None and "smtp" not in table.data:
        table.problem("smtp", "required key is missing (e.g. smtp = { host = \"${SMTP_HOST}\" })")
    smtp = _smtp(smtp_table) if smtp_table is not None else SmtpSettings(host="")
    sender = table.text("from")
    if sender:
        _check_header(table, ("from",), sender, address=True)
    # "" is a choice: no prefix (the subject then names the product itself).
    prefix = table.text("subject_prefix", "[Armswatch]", allow_empty=True).strip()
    _check_header(table, ("subject_prefix",), prefix, address=False)
    return EmailSettings(sender=sender or _default_sender(smtp.username), to=recipients,
                         smtp=smtp, subject_prefix=prefix)


def _default_sender(username: str | None) -> str:
    """The SMTP login when it is an address (providers often insist), else a local name."""
    if username and not isinstance(username, Unresolved) \
            and _header_problem(username, address=True) is None:
        return username
    return DEFAULT_SENDER


def _check_header(table: Table, keys: tuple[Key, ...], value: str, *, address: bool) -> None:
    problem = None if isinstance(value, Unresolved) else _header_problem(value, address=address)
    if problem is not None:
        table.report.problem(table.at(*keys), problem)


def _header_problem(value: str, *, address: bool) -> str | None:
    control = _CONTROL.search(value)
    if control is not None:
        return (f"contains the control character U+{ord(control[0]):04X} (a line break or "
                "similar); a mail header must be one line of text")
    if not address:
        return None
    _, parsed = parseaddr(value)
    local, _, domain = parsed.rpartition("@")
    if not local or not domain or any(c.isspace() for c in parsed):
        return f"{quote(value)} is not an email address"
    # What the message will hold: the email package's own reading of the header.
    header = policy.default.header_factory("To", value)
    if len(header.addresses) > 1:
        return f"{quote(value)} holds more than one address; write one address per string"
    if header.defects:
        return f"{quote(value)} is not an email address"
    return None


def _smtp(smtp: Table) -> SmtpSettings:
    smtp.check_keys(SMTP_KEYS)
    security = cast(SmtpSecurity, smtp.choice("security", SMTP_SECURITY, "starttls"))
    host = smtp.text("host", required=True)
    if any(c.isspace() or not c.isprintable() for c in host):
        smtp.problem("host", f"{quote(host)} is not a host name")
    username = smtp.text("username") or None
    password = smtp.text("password") or None
    if username and not password:
        smtp.problem("password", "required when smtp.username is set")
    if password and not username:
        smtp.problem("username", "required when smtp.password is set")
    if (username or password) and security == "none" and not isinstance(host, Unresolved) \
            and host not in _LOOPBACK:
        smtp.problem("security", '"none" would send the SMTP login unencrypted to '
                     f'{quote(host)}; use "starttls" or "tls" (a login over plain SMTP is '
                     "allowed only to localhost)")
    return SmtpSettings(
        host=host, port=_port(smtp, security), security=security, username=username,
        password=Secret(password) if password else None,
        timeout=smtp.duration("timeout", timedelta(seconds=30), low=_SECONDS,
                              high=timedelta(minutes=5)),
        ca_file=_ca_file(smtp))


def _port(smtp: Table, security: SmtpSecurity) -> int:
    value = smtp.data.get("port", DEFAULT_PORTS[security])
    if isinstance(value, Unresolved):
        return DEFAULT_PORTS[security]
    if isinstance(value, str) and value.isdigit():
        value = int(value)  # from ${SMTP_PORT}: environment values are always strings
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    smtp.problem("port", f"must be a port number between 1 and 65535, not {value!r}")
    return DEFAULT_PORTS[security]


def _ca_file(smtp: Table) -> Path | None:
    """A private CA for a self-hosted relay (relative to the working directory); None: the
    system's trust store."""
    text = smtp.text("ca_file")
    if not text or isinstance(text, Unresolved):
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        smtp.problem("ca_file", f"names no file: {path} (a PEM file of the certificate "
                     "authority to trust)")
        return None
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:           # before OSError, its base class
        smtp.problem("ca_file", f"{path} holds no PEM certificate")
    except OSError as exc:
        smtp.problem("ca_file", f"{path} cannot be read ({exc.strerror or exc})")
    return path


# --- slack ---------------------------------------------------------------------------------------

def _slack(table: Table) -> SlackSettings:
    url = table.text("webhook_url", required=True)
    if url and not isinstance(url, Unresolved):
        problem = _webhook_problem(url)
        if problem is not None:
            table.problem("webhook_url", problem)
    return SlackSettings(
        webhook_url=Secret(url), username=table.text("username") or None,
        channel=table.text("channel") or None,
        timeout=table.duration("timeout", timedelta(seconds=15), low=_SECONDS,
                               high=timedelta(minutes=5)),
        max_wait=table.duration("max_wait", timedelta(seconds=60), low=timedelta(0),
                                high=timedelta(hours=1)),
        retries=table.integer("retries", 2, low=0, high=10),
        retry_delay=table.duration("retry_delay", timedelta(seconds=2), low=timedelta(0),
                                   high=timedelta(minutes=1)),
        min_interval=table.duration("min_interval", timedelta(seconds=1), low=timedelta(0),
                                    high=timedelta(minutes=1)),
        max_messages=table.integer("max_messages", 5, low=1, high=20))


def _webhook_problem(url: str) -> str | None:
    # The URL is a secret: say what is wrong without repeating it.
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port    # .port raises for a bad port
    except ValueError:
        return ("is not a valid URL (look at the host and port; an IPv6 address needs both "
                "brackets)")
    # Plain http only on loopback, for a local Slack emulator; the real webhook is https.
    loopback = parts.scheme == "http" and host in _LOOPBACK
    if not (parts.scheme == "https" or loopback) or not host:
        return "must be an https:// URL (the Slack incoming webhook)"
    return None


# --- file and stdout -----------------------------------------------------------------------------

def _file(table: Table) -> FileSettings:
    folder = table.text("path", required=True)
    path = Path(folder).expanduser()
    if folder and not isinstance(folder, Unresolved):
        problem = _folder_problem(folder, path)
        if problem is not None:
            table.problem("path", problem)
    formats = table.strings("formats", DEFAULT_FILE_FORMATS)
    for index, name in enumerate(formats):
        if name not in FILE_FORMATS:
            table.report.problem(table.at("formats", index),
                                 f"must be {one_of(FILE_FORMATS)}, not {quote(name)}")
    if "formats" in table.data and not formats:
        table.problem("formats", "needs at least one of "
                      + ", ".join(quote(f) for f in FILE_FORMATS))
    chosen = tuple(dict.fromkeys(f for f in formats if f in FILE_FORMATS))
    return FileSettings(path=path, formats=chosen)


def _folder_problem(text: str, path: Path) -> str | None:
    """Why `path` can never be the channel's folder, if it cannot (the file system decides
    whether it can be written when a digest is)."""
    if "\0" in text:
        return "contains a NUL character, which no file name can hold"
    try:
        if path.exists():
            return None if path.is_dir() else f"{path} is a file, not a folder"
        for parent in path.parents:
            if parent.exists():
                return None if parent.is_dir() else (
                    f"{path} cannot be created: {parent} is a file, not a folder")
    except OSError as exc:
        return f"{quote(text)} is not a usable folder name ({exc.strerror or exc})"
    return None


def _stdout(table: Table) -> StdoutSettings:
    return StdoutSettings()


_READERS: dict[ChannelType, Callable[[Table], ChannelSettings]] = {
    "email": _email, "slack": _slack, "file": _file, "stdout": _stdout,
}
