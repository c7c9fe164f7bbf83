"""The email channel: one multipart/alternative message (text and HTML) per digest, over SMTP
with STARTTLS or implicit TLS and certificate verification (design §11: smtplib verifies nothing
unless given ssl.create_default_context()). smtplib is synchronous; so is delivery as a whole."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any

from alerts import wording
from alerts.channels.options import OptionReader
from alerts.channels.smtp_errors import explain
from alerts.digest import Digest
from alerts.render_html import render_html
from alerts.render_text import render_text
from storage.errors import DeliveryError

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
EMAIL_OPTIONS = {"from", "to", "subject_prefix", "smtp"}
SMTP_OPTIONS = {"host", "port", "username", "password", "security", "timeout", "ca_file"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)   # never in logs or reprs
    timeout: float = 30.0
    ca_file: Path | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _addresses(reader: OptionReader, key: str, values: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(addr for _name, addr in getaddresses(list(values)))
    bad = [addr for addr in found if "@" not in addr or " " in addr]
    if bad or (values and not found):
        shown = ", ".join(bad) or values[0]
        reader.problem(key, f"has an address that is not valid: {shown}")
    return found


def read_smtp(reader: OptionReader) -> SmtpSettings:
    smtp = reader.table("smtp", required=True)
    smtp.unknown(SMTP_OPTIONS)
    security = smtp.choice("security", "starttls", SECURITY)
    settings = SmtpSettings(
        host=smtp.string("host", required=True) or "",
        port=smtp.integer("port", DEFAULT_PORTS[security], low=1, high=65535) or 0,
        security=security,
        username=smtp.string("username"),
        password=smtp.string("password"),
        timeout=smtp.number("timeout", 30.0, minimum=1),
        ca_file=Path(ca) if (ca := smtp.string("ca_file")) else None,
    )
    if (settings.username is None) != (settings.password is None):
        smtp.problem("username", "and smtp.password must be given together")
    if settings.username and security == "none" and settings.host not in _LOOPBACK:
        smtp.problem("security", '= "none" would send the password unencrypted; '
                                 'use "starttls" or "tls"')
    if settings.ca_file is not None and not settings.ca_file.is_file():
        smtp.problem("ca_file", f"names a file that does not exist: {settings.ca_file}")
    return settings


class EmailChannel:
    def __init__(self, name: str, sender: str, recipients: tuple[str, ...], smtp: SmtpSettings,
                 subject_prefix: str = "[Armswatch]") -> None:
        self.name = name
        self.sender = sender
        self.recipients = recipients
        self.smtp = smtp
        self.subject_prefix = subject_prefix

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any],
                     problems: list[str]) -> EmailChannel:
        reader = OptionReader(name, options, problems=problems)
        sender = reader.string("from", required=True) or ""
        _addresses(reader, "from", (sender,) if sender else ())
        recipients = reader.strings("to", required=True)
        _addresses(reader, "to", recipients)
        return cls(name, sender, recipients, read_smtp(reader),
                   reader.string("subject_prefix", "[Armswatch]") or "")

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "armswatch.invalid"

    def message(self, digest: Digest, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = wording.clean(wording.subject(digest, self.subject_prefix))
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = format_datetime(digest.created)    # the digest's, so a re-send is identical
        msg["Message-ID"] = message_id
        msg["Auto-Submitted"] = "auto-generated"
        if digest.digest_id is not None:
            msg["X-Armswatch-Digest"] = str(digest.digest_id)
        msg.set_content(render_text(digest))
        msg.add_alternative(render_html(digest), subtype="html")
        return msg

    def _open(self) -> smtplib.SMTP:
        s = self.smtp
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            client.ehlo()
            if s.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"SMTP server {s.where} does not offer STARTTLS; "
                                        'set smtp.security to "tls" or "none"', permanent=True)
                client.starttls(context=context)
                client.ehlo()
            if s.username and s.password:
                client.login(s.username, s.password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, digest: Digest, *, message_id: str) -> str | None:
        msg = self.message(digest, message_id)
        sender = parseaddr(self.sender)[1]
        to = [addr for _name, addr in getaddresses(list(self.recipients))]
        try:
            client = self._open()
            try:
                refused = client.send_message(msg, from_addr=sender, to_addrs=to)
            finally:
                _quit(client)
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise explain(exc, self.smtp.where, self.smtp.timeout) from None
        if refused:
            return "the SMTP server refused " + ", ".join(
                f"{addr} ({code} {reply.decode(errors='replace')})"
                for addr, (code, reply) in refused.items())
        return None


def _quit(client: smtplib.SMTP) -> None:
    # The message is accepted once DATA got its 250; a failing QUIT must not turn that into a
    # failure (a re-send would duplicate it).
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
