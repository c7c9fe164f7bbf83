"""Connections only to addresses the policy vetted: the check is on the address connected to.

httpcore (httpx's connection layer) would resolve a host name itself, after any check of ours,
so a name answering a public address to the check and a private one to the connection (DNS
rebinding) would pass. Here the network backend resolves the name once, keeps the addresses the
``AddressPolicy`` permits and connects to one of those, by address. TLS is unchanged: httpcore
still verifies the certificate against the URL's host name and sends it as SNI.

The only module that imports httpcore; monitor/feeds/fetch.py builds httpx's transport on
``vetted_pool``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore

from monitor.feeds.addresses import AddressPolicy, AddressRefused

# host name, port → the addresses it resolves to, as text. Tests pass their own to stand in for
# DNS answers that loopback cannot give (a public address, a rebinding server).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
VettedPool = httpcore.AsyncConnectionPool


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (getaddrinfo, off the event loop), as httpcore would ask."""
    # As bytes, as anyio passes it: a str goes through Python's IDNA codec, which fails on an
    # empty label ("feeds..invalid") with a UnicodeError instead of the resolver's answer.
    # httpx has already turned an international name into ASCII (xn--…).
    name = host.encode("ascii") if host.isascii() else host
    infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets, then connects by address; a refused address is never connected to."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        answers = await self._addresses(host, port)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "no address for this name")
        # Only the permitted addresses are tried: a name answering both a public and a private
        # address reaches the public one or nothing.
        permitted = [address for address in answers
                     if self._policy.permits(ipaddress.ip_address(address))]
        if not permitted:
            raise AddressRefused()
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in permitted:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _addresses(self, host: str, port: int) -> list[str]:
        # An address in its usual spelling is used as it is, as anyio does: asking the resolver
        # would wait for a thread of the event loop's executor, which other work may fill.
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return list(dict.fromkeys(await self._resolver(host, port)))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused()  # feeds are fetched over TCP only

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def vetted_pool(policy: AddressPolicy, resolver: Resolver, *, ssl_context: ssl.SSLContext,
                max_connections: int, max_keepalive_connections: int,
                keepalive_expiry: float) -> VettedPool:
    """A connection pool whose every connection goes to an address ``policy`` permits. A pool
    serves one policy only, so no connection is reused under a policy that did not vet it."""
    return VettedPool(
        ssl_context=ssl_context, max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections, keepalive_expiry=keepalive_expiry,
        network_backend=VettingBackend(policy, resolver))
