"""The email channel: one multipart/alternative message (text and HTML) per digest, over SMTP
with STARTTLS or implicit TLS and certificate verification (design §11: smtplib verifies nothing
unless given ssl.create_default_context()). smtplib is synchronous; so is delivery as a whole.

A digest with a trend carries its chart inline: the HTML part becomes multipart/related with the
PNG (``Content-ID``, shown where the HTML says ``cid:``). A chart that cannot be drawn is logged
and left out; the digest goes without it, its numbers still in both parts.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from alerts import wording
from alerts.caps import EMAIL_MAX_BYTES
from alerts.channels.smtp_errors import explain
from alerts.chart import alt_text, digest_chart
from alerts.config import EmailSettings
from alerts.digest import Digest, fit
from alerts.render_html import ChartImage, render_html
from alerts.render_text import render_text
from storage.errors import DeliveryError


class EmailChannel:
    def __init__(self, name: str, settings: EmailSettings) -> None:
        self.name = name
        self.sender = settings.sender
        self.recipients = settings.to
        self.smtp = settings.smtp
        self.subject_prefix = settings.subject_prefix

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "armswatch.invalid"

    def message(self, digest: Digest, message_id: str) -> EmailMessage:
        """The digest as one email of at most EMAIL_MAX_BYTES: fewer hits listed if need be."""
        chart = digest_chart(digest.trend, self.name)
        return fit(digest, lambda d: self._message(d, message_id, chart),
                   lambda m: len(m.as_bytes()), EMAIL_MAX_BYTES)

    def _message(self, digest: Digest, message_id: str,
                 chart: bytes | None = None) -> EmailMessage:
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
        if chart is None or not digest.trend:
            msg.add_alternative(render_html(digest), subtype="html")
            return msg
        # The Content-ID is the Message-ID's, so it is unique and the same on a re-send.
        cid = f"trend.{message_id.strip('<>')}"
        image = ChartImage(src=f"cid:{cid}", alt=alt_text(digest.trend))
        msg.add_alternative(render_html(digest, image), subtype="html")
        for part in msg.iter_parts():
            if part.get_content_type() == "text/html":   # becomes multipart/related
                part.add_related(chart, "image", "png", cid=f"<{cid}>", disposition="inline",
                                 filename="trend.png")
        return msg

    def _open(self) -> smtplib.SMTP:
        s = self.smtp
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        timeout = s.timeout.total_seconds()
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=timeout)
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
            raise explain(exc, self.smtp.where, self.smtp.timeout.total_seconds()) from None
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
