"""The private-address policy as a rule (monitor/feeds/addresses.py): classes, spellings, and the
``AddressPolicy`` the full-article fetcher will use to vet links taken from feed content.
The attacks themselves, on loopback, are in test_ssrf.py."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.feeds.addresses import (
    REFUSED_ADDRESS,
    AddressPolicy,
    AddressRefused,
    address_class,
    literal_address,
)
from storage.errors import FetchError

PUBLIC_FEED = AddressPolicy.for_feed("https://www.justice.gov/news/rss?m=1")


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: the IPv4 address decides
    ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 wrapping 127.0.0.1
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("10.0.0.5", "private network"), ("172.31.255.1", "private network"),
    ("192.168.1.1", "private network"), ("fd00::1", "private network"),
    ("100.64.0.1", "shared address space"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("192.0.2.10", "reserved"), ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("2001:db8::1", "reserved"), ("::7f00:1", "reserved"), ("4000::1", "reserved"),
    ("8.8.8.8", None), ("172.32.0.1", None), ("2606:4700::1111", None),
    ("::ffff:8.8.8.8", None), ("64:ff9b::808:808", None),
])
def test_address_classes(address: str, expected: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == expected


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"), ("0x7F000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"), ("127.0.0.1.", "127.0.0.1"), ("[::1]", "::1"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ("feed.example", None), ("localhost", None), ("deadbeef.example", None), ("", None),
    ("cafe", None),  # a name made of hex letters only, not an address
])
def test_literal_addresses_in_every_spelling(host: str, expected: str | None) -> None:
    found = literal_address(host)
    assert (None if found is None else str(found)) == expected


def test_a_public_feed_reaches_global_addresses_only() -> None:
    assert PUBLIC_FEED == AddressPolicy()
    assert PUBLIC_FEED.permits(ipaddress.ip_address("93.184.215.14"))
    for inside in ("127.0.0.1", "10.0.0.5", "169.254.169.254", "fd00::1", "::ffff:10.0.0.5"):
        assert not PUBLIC_FEED.permits(ipaddress.ip_address(inside)), inside


@pytest.mark.parametrize(("feed_url", "classes"), [
    ("http://127.0.0.1:8080/rss", {"loopback"}),
    ("http://2130706433/rss", {"loopback"}),
    ("http://[::1]:8080/rss", {"loopback"}),
    ("http://localhost:8080/rss", {"loopback"}),
    ("http://10.1.2.3/rss", {"private network"}),
    ("http://[fd12::5]/rss", {"private network"}),
    # A name gives no class, whatever it resolves to: its DNS may be the attacker's.
    ("http://intranet.example/rss", set()),
    ("https://news.google.com/rss", set()),
])
def test_a_feed_on_a_private_address_may_reach_its_own_class(feed_url: str,
                                                             classes: set[str]) -> None:
    assert AddressPolicy.for_feed(feed_url).classes == classes


def test_a_private_feed_reaches_its_class_and_no_other() -> None:
    policy = AddressPolicy.for_feed("http://192.168.1.10/rss")
    assert policy.permits(ipaddress.ip_address("10.0.0.5"))
    assert policy.permits(ipaddress.ip_address("fd00::1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("169.254.169.254"))


def test_allowed_networks_open_exactly_those_addresses() -> None:
    policy = AddressPolicy.for_feed("https://feeds.example/rss",
                                    [ipaddress.ip_network("10.20.0.0/16")])
    assert policy.permits(ipaddress.ip_address("10.20.3.4"))
    assert policy.permits(ipaddress.ip_address("::ffff:10.20.3.4"))
    assert not policy.permits(ipaddress.ip_address("10.21.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("link", [
    "http://127.0.0.1/admin", "http://127.1/", "http://2130706433/", "http://0x7f.1/",
    "http://[::ffff:127.0.0.1]/", "http://[::1]:8080/", "https://169.254.169.254/latest",
    "http://10.0.0.5/", "http://[fd00::1]/", "http://0.0.0.0:9200/",
])
def test_check_refuses_links_to_the_inside(link: str) -> None:
    with pytest.raises(AddressRefused) as caught:
        PUBLIC_FEED.check(link)
    assert str(caught.value) == f"the link leads to {REFUSED_ADDRESS}"
    assert isinstance(caught.value, FetchError)  # caught where every fetch failure is


@pytest.mark.parametrize("link", [
    "https://www.borderreport.com/2025/10/firewall", "http://93.184.215.14/",
    "https://intranet.example/", "http://[::1/broken", "not a url",
])
def test_check_passes_public_addresses_and_names(link: str) -> None:
    # A name is checked on the address it resolves to, when the fetch connects.
    PUBLIC_FEED.check(link)


def test_check_follows_the_feeds_class() -> None:
    AddressPolicy.for_feed("http://127.0.0.1:8000/rss").check("http://127.1:9000/article")
    with pytest.raises(AddressRefused):
        AddressPolicy.for_feed("http://127.0.0.1:8000/rss").check("http://10.0.0.5/article")
