"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, in a background thread.

Plain, STARTTLS or implicit TLS, with or without AUTH, with a certificate signed by a throwaway
CA made with ``cryptography`` (so a client can verify it when told to trust that CA). Every
message accepted is parsed back with the email package; a test can refuse recipients, set a
size limit (``data_size_limit``, answered 552 as a relay does), or hold a message after
receiving it (to kill a client between "server has it" and "client marked it").
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ThrowawayCA:
    """A CA certificate (what a client trusts) and a server certificate and key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_test_ca(directory: Path) -> ThrowawayCA:
    """A CA and a certificate for 127.0.0.1 / localhost signed by it, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Armswatch test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    paths = ThrowawayCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class _Handler:
    server: MailServer
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.server._accept(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                     message, raw))
        if self.server.hold_after_data:
            await asyncio.sleep(self.server.hold_after_data)
        return "250 2.0.0 Message accepted for delivery"


class MailServer:
    """``with MailServer(...) as server:`` then send to ``server.host``/``server.port``."""

    def __init__(self, *, port: int | None = None, security: str = "none",
                 ca: ThrowawayCA | None = None, login: tuple[str, str] | None = None,
                 refuse: set[str] | None = None, hold_after_data: float = 0.0,
                 data_size_limit: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.hold_after_data = hold_after_data
        self.received: list[Received] = []
        self._lock = threading.Condition()
        kwargs: dict[str, Any] = {}
        if data_size_limit is not None:
            # As a relay's size limit does (Postfix: 10,240,000 bytes): advertised with SIZE, a
            # larger message is refused "552" at MAIL FROM, or after its data without SIZE.
            kwargs.update(data_size_limit=data_size_limit)
        if security in ("starttls", "tls") and ca is None:
            raise ValueError("a TLS server needs a ThrowawayCA")
        if security == "starttls" and ca is not None:
            kwargs.update(tls_context=ca.server_context(), require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=self._authenticator(login), auth_required=True,
                          # For implicit TLS aiosmtpd cannot tell the connection is encrypted.
                          auth_require_tls=security == "starttls")
        self._controller = Controller(
            _Handler(self, refuse or set()), hostname=self.host, port=self.port,
            ssl_context=ca.server_context() if security == "tls" and ca else None, **kwargs)

    @staticmethod
    def _authenticator(login: tuple[str, str]) -> Any:
        def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword)
                  and (auth_data.login.decode(), auth_data.password.decode()) == login)
            return AuthResult(success=ok, handled=False)
        return check

    def _accept(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` messages have arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.received)}")
                self._lock.wait(left)
            return list(self.received)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
