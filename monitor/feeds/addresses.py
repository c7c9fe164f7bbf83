"""Which network addresses a fetch may reach: the private-address (SSRF) policy.

A feed is attacker-controlled content: a redirect, or a link taken from an entry, could point
Armswatch at the machine it runs on, its network or a cloud metadata service. By default only
globally routable addresses are reached. A feed whose configured URL is itself on a non-global
address (a loopback test server, an intranet feed written as an IP address) may reach addresses
of that same class, and the operator may allow networks outright
(``[polling] allow_private_addresses``).

The rule is applied to the address actually connected to (monitor/feeds/connect.py resolves the
host name itself and connects to the address it vetted), so every spelling of an address
(``127.1``, ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) and DNS rebinding end the same way.
``AddressPolicy.check`` is the quick check of a URL's literal host, before any connection; the
full-article fetcher uses it to vet links from feed content (design §12).

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from storage.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Every refusal says the same words, whatever the address, its port or the reason: a message that
# told "refused" from "connection refused" from "not a feed" would map the inside network.
REFUSED_ADDRESS = "an address Armswatch does not fetch from (private network)"

# Non-global address blocks, by class; the first block that holds an address names its class.
# IANA's special-purpose registries (RFC 6890 and successors), grouped by what they reach.
_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("unspecified", ("0.0.0.0/8", "::/128")),
    ("private network", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("shared address space", ("100.64.0.0/10",)),  # carrier-grade NAT (RFC 6598)
    ("link-local", ("169.254.0.0/16", "fe80::/10")),  # 169.254.169.254: cloud metadata
    ("multicast", ("224.0.0.0/4", "ff00::/8")),
    ("reserved", ("192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
                  "203.0.113.0/24", "240.0.0.0/4", "100::/64", "2001::/23", "2001:db8::/32",
                  "3fff::/20", "fec0::/10")),
)
_BLOCKS: tuple[tuple[str, Network], ...] = tuple(
    (name, ipaddress.ip_network(block)) for name, blocks in _CLASSES for block in blocks)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton reads as IPv4 besides the dotted quad: 127.1, 2130706433, 0x7f.1, 0177.0.0.1.
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")


class AddressRefused(FetchError):
    """A URL or a connection leads to an address the policy refuses.

    The message never names the address or the port, so refusals cannot serve as a scanner.
    """

    def __init__(self, message: str = f"the link leads to {REFUSED_ADDRESS}") -> None:
        super().__init__(message)


def address_class(address: IPAddress) -> str | None:
    """The class of a non-global address ("loopback", "private network", …); None if global.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped, 6to4, NAT64) has the IPv4's class.
    """
    address = _embedded_ipv4(address)
    for name, block in _BLOCKS:
        if address.version == block.version and address in block:
            return name
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return "reserved"  # everything outside 2000::/3 is unassigned or special
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names when it is written as one, in any spelling; else None."""
    text = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text) and any(ch.isdigit() for ch in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """The addresses one feed's fetches may reach: every global address, the non-global classes
    in ``classes`` and the networks in ``networks``. Hashable, so fetches can share a connection
    pool per policy (a connection is only reused under the policy that vetted it)."""

    classes: frozenset[str] = frozenset()
    networks: frozenset[Network] = field(default_factory=frozenset)

    @classmethod
    def for_feed(cls, feed_url: str, allowed: Iterable[Network] = ()) -> AddressPolicy:
        """The policy for a feed (and the links in it) configured at ``feed_url``.

        Only an address written in the URL, or ``localhost``, gives the feed its class: what a
        host name resolves to is decided by whoever runs its DNS, who may be the attacker.
        """
        host = _host(feed_url).rstrip(".")
        classes: set[str] = set()
        if host == "localhost" or host.endswith(".localhost"):
            classes.add("loopback")
        else:
            literal = literal_address(host)
            feed_class = address_class(literal) if literal is not None else None
            if feed_class is not None:
                classes.add(feed_class)
        return cls(frozenset(classes), frozenset(allowed))

    def permits(self, address: IPAddress) -> bool:
        """Whether a connection to ``address`` is allowed."""
        address_of_class = address_class(address)
        if address_of_class is None or address_of_class in self.classes:
            return True
        plain = _embedded_ipv4(address)
        return any(candidate.version == network.version and candidate in network
                   for network in self.networks for candidate in (address, plain))

    def check(self, url: str) -> None:
        """Refuse ``url`` at once when its host is an address (in any spelling) this policy
        refuses. A host name passes here; it is checked on the address connected to."""
        literal = literal_address(_host(url))
        if literal is not None and not self.permits(literal):
            raise AddressRefused()


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _SIX_TO_FOUR and address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed "[": no address to vet; the fetch refuses the URL
        return ""
