"""smtplib, ssl and socket failures told in plain words, and whether retrying can help."""

from __future__ import annotations

import smtplib
import socket
import ssl

from alerts.channels.base import MessageRefused
from storage.errors import DeliveryError

TOO_LARGE = 552     # RFC 5321: exceeded storage allocation; what a relay's size limit answers


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}".strip()


def _smtp_reply(exc: smtplib.SMTPException, where: str) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr} ({_reply(code, text)})"
                            for addr, (code, text) in exc.recipients.items())
        return DeliveryError(f"SMTP server {where} refused every recipient: {refused}",
                             permanent=True)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP server {where} refused the login "
                             f"({_reply(exc.smtp_code, exc.smtp_error)}); check smtp.username "
                             "and smtp.password", permanent=True)
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError) \
            and exc.smtp_code == TOO_LARGE:
        # With SIZE the server refuses at MAIL FROM; without it, after the data.
        return MessageRefused(f"SMTP server {where} refused the message as too large "
                              f"({_reply(exc.smtp_code, exc.smtp_error)})")
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        return MessageRefused(f"SMTP server {where} refused the message "
                              f"({_reply(exc.smtp_code, exc.smtp_error)})")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return DeliveryError(f"SMTP server {where} refused the sender {exc.sender} "
                             f"({_reply(exc.smtp_code, exc.smtp_error)})",
                             permanent=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return DeliveryError(f"SMTP server {where} answered {reply}",
                             permanent=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"SMTP server {where} closed the connection unexpectedly")
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "AUTH" in str(exc):
        return DeliveryError(f"SMTP server {where} does not offer login (AUTH) on this "
                             "connection; servers usually offer it only over TLS (check "
                             "smtp.security) or not at all (remove smtp.username and "
                             "smtp.password)", permanent=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server {where} does not support what was asked: {exc}",
                             permanent=True)
    return DeliveryError(f"SMTP conversation with {where} failed: {exc}")


def _tls(exc: ssl.SSLError, where: str) -> DeliveryError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"could not verify the TLS certificate of SMTP server {where} "
            f"({exc.verify_message or exc.reason}); if the server uses a private certificate "
            "authority, set smtp.ca_file to its certificate", permanent=True)
    return DeliveryError(
        f"TLS handshake with SMTP server {where} failed ({exc.reason or exc}); check "
        'smtp.security: "tls" is implicit TLS (usually port 465), "starttls" upgrades a plain '
        "connection (usually port 587)", permanent=True)


def explain(exc: BaseException, where: str, timeout: float) -> DeliveryError:
    """The DeliveryError to report for ``exc``, raised while talking to the server at ``where``."""
    # Order matters: SMTPException and SSLError are both OSError subclasses.
    if isinstance(exc, smtplib.SMTPException):
        return _smtp_reply(exc, where)
    if isinstance(exc, ssl.SSLError):
        return _tls(exc, where)
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"could not connect to SMTP server {where}: connection refused")
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"SMTP server host not found: {where.rpartition(':')[0]}")
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"SMTP server {where} did not answer within {timeout:g} s")
    if isinstance(exc, OSError):
        return DeliveryError(f"could not talk to SMTP server {where}: "
                             f"{exc.strerror or exc.__class__.__name__}")
    return DeliveryError(f"sending to SMTP server {where} failed: {exc}")
