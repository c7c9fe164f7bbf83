"""A hostile feed must never reach inside the network (issue 10, item 3, and capped Locations).

The attacks of the security review, on loopback. Loopback stands in for both sides:
- the "internal" server is the usual feed server on 127.0.0.1, where every attack aims; each
  test asserts from its request log that no request reached it;
- the "public" feed server listens on 127.0.0.2 under the name ``feed.example``. A resolver stub
  gives that DNS answer (the one thing loopback cannot give), and the fetcher is told to treat
  127.0.0.2 as public the way an operator allows a network: ``allow_private_addresses``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import ROOT, Entry, feed_config, rss, write_config
from click.testing import CliRunner
from feedserver import FeedServer
from mailserver import free_port

from monitor.cli.commands import cli
from monitor.feeds.connect import system_resolver
from monitor.feeds.fetch import Fetcher, FetchRequest, FetchResult
from monitor.feeds.parse import ParserPool
from monitor.matching.watchlist import WatchList
from monitor.poll.cycle import Poller, PollReport
from monitor.settings.config import PollingConfig, load_watchlist
from storage.errors import FetchError
from storage.store import Store

REFUSED = "redirected to an address Armswatch does not fetch from (private network)"
FEED_HOST_REFUSED = ("the feed's host name leads to an address Armswatch does not fetch from "
                     "(private network); [polling] allow_private_addresses allows it")
PUBLIC = ipaddress.ip_network("127.0.0.2/32")  # the "public" server's address, allowed as public
WATCH = load_watchlist(ROOT / "config" / "watchlist.toml")

GOOD = rss([Entry(title="Mission Firewall seizes 120 rifles bound for Sinaloa",
                  link="https://news.example.org/firewall-rifles", guid="good-1")])
# What the internal server answers: a valid feed with a hit, so a followed redirect would be
# stored as an article (as the review saw) instead of failing for some other reason.
INTERNAL = rss([Entry(title="Mission Firewall internal admin page",
                      link="https://intranet.example/admin", guid="internal-1")])


class StubDNS:
    """Answers some names from a table, every other host (an address in any spelling,
    ``localhost``) as the system does. A name given several answers gives them one per query,
    the last one repeated: a rebinding DNS server."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.queries.append(host)
        given = self.answers.get(host)
        if given is None:
            return await system_resolver(host, port)
        return given.pop(0) if len(given) > 1 else given[0]


def public_dns(**more: list[list[str]]) -> StubDNS:
    return StubDNS({"feed.example": [["127.0.0.2"]], **more})


@pytest.fixture
def public() -> Iterator[FeedServer]:
    with FeedServer(host="127.0.0.2") as server:
        yield server


@pytest.fixture
def internal(feed_server: FeedServer) -> FeedServer:
    feed_server.route("/admin/delete-all", INTERNAL)
    return feed_server


def named(server: FeedServer, path: str) -> str:
    """The public server's URL for ``path``, under its name."""
    return f"http://feed.example:{server.port}{path}"


def fetch(url: str, dns: StubDNS, *, allow: Sequence[Any] = (PUBLIC,), **options: Any
          ) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(resolver=dns, allow_private_addresses=tuple(allow), timeout=5,
                           **options) as fetcher:
            return await fetcher.fetch(FetchRequest("hostile", url))

    return asyncio.run(run())


def fetch_error(url: str, dns: StubDNS, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, dns, **options)
    return caught.value


def attack_targets(internal_port: int) -> list[str]:
    """Every spelling of the inside the review tried, and the classes beyond loopback."""
    path = "/admin/delete-all"
    return [
        f"http://127.0.0.1:{internal_port}{path}",
        f"http://127.1:{internal_port}{path}",  # short form
        f"http://2130706433:{internal_port}{path}",  # decimal
        f"http://0x7f.1:{internal_port}{path}",  # hex
        f"http://[::ffff:127.0.0.1]:{internal_port}{path}",  # IPv4-mapped IPv6
        f"http://[::1]:{internal_port}{path}",
        f"http://0.0.0.0:{internal_port}{path}",  # Linux connects this to the host itself
        f"http://localhost:{internal_port}{path}",  # a name: refused on the address it gives
        f"http://intranet.example:{internal_port}{path}",  # a name answered with 127.0.0.1
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # cloud metadata
        "http://10.0.0.5/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://[fd00::1]/",  # unique local IPv6
        "http://[fe80::1]/",
    ]


# -- redirects to the inside -------------------------------------------------------------------
@pytest.mark.parametrize("index", range(14))
def test_redirect_inside_is_refused_in_every_spelling(public: FeedServer, internal: FeedServer,
                                                      index: int) -> None:
    target = attack_targets(internal.port)[index]
    public.redirect("/rss", target)
    dns = public_dns(**{"intranet.example": [["127.0.0.1"]]})
    assert str(fetch_error(named(public, "/rss"), dns)) == REFUSED
    assert internal.requests == []
    assert [request.path for request in public.requests] == ["/rss"]


def test_the_message_never_tells_an_open_port_from_a_closed_one(
        public: FeedServer, internal: FeedServer) -> None:
    internal.route("/page.html", "<html>not a feed</html>", content_type="text/html")
    internal.status("/missing", 404)
    targets = {
        "/feed": f"http://127.0.0.1:{internal.port}/admin/delete-all",  # open, a real feed
        "/page": f"http://127.0.0.1:{internal.port}/page.html",  # open, not a feed
        "/gone": f"http://127.0.0.1:{internal.port}/missing",  # open, 404
        "/closed": f"http://127.0.0.1:{free_port()}/",  # nothing listening
    }
    for path, target in targets.items():
        public.redirect(path, target)
    messages = {str(fetch_error(named(public, path), public_dns())) for path in targets}
    assert messages == {REFUSED}
    assert internal.requests == []


def test_a_loopback_feed_still_follows_loopback_redirects(feed_server: FeedServer,
                                                          public: FeedServer) -> None:
    # Every other test feeds from 127.0.0.1: a feed configured on a loopback address may reach
    # loopback addresses (another port, another spelling), as before.
    feed_server.route("/rss", GOOD)
    public.redirect("/moved", f"http://127.1:{feed_server.port}/rss")
    result = fetch(public.url("/moved"), StubDNS({}), allow=())
    assert (result.status, result.body) == (200, GOOD)
    assert [request.path for request in feed_server.requests] == ["/rss"]


def test_a_loopback_feed_may_not_reach_other_private_classes(feed_server: FeedServer) -> None:
    feed_server.redirect("/rss", f"http://0.0.0.0:{feed_server.port}/admin")
    feed_server.route("/admin", INTERNAL)
    assert str(fetch_error(feed_server.url("/rss"), StubDNS({}), allow=())) == REFUSED
    assert feed_server.requests_to("/admin") == []


# -- DNS rebinding -----------------------------------------------------------------------------
def test_rebinding_on_a_redirect_is_refused_on_the_address_connected_to(
        public: FeedServer, internal: FeedServer) -> None:
    # The first answer (public) is the one a check-then-fetch client would have checked; the
    # second (inside) is the one it would have connected to.
    dns = StubDNS({"rebind.example": [["127.0.0.2"], ["127.0.0.1"]]})
    public.redirect("/rss", f"http://rebind.example:{internal.port}/admin/delete-all")
    error = fetch_error(f"http://rebind.example:{public.port}/rss", dns)
    assert str(error) == REFUSED
    assert dns.queries == ["rebind.example", "rebind.example"]
    assert internal.requests == []


def test_a_feed_host_that_rebinds_is_refused_and_never_asked_twice(public: FeedServer) -> None:
    public.route("/rss", GOOD)
    dns = StubDNS({"feed.example": [["127.0.0.2"], ["127.0.0.1"]]})
    url = named(public, "/rss")
    assert fetch(url, dns).body == GOOD
    assert dns.queries == ["feed.example"]  # one answer, checked and connected to
    assert str(fetch_error(url, dns)) == FEED_HOST_REFUSED
    assert len(public.requests) == 1


def test_a_name_with_a_public_and_a_private_answer_reaches_only_the_public_one(
        public: FeedServer, internal: FeedServer) -> None:
    public.route("/admin/delete-all", GOOD)
    dns = StubDNS({"both.example": [["127.0.0.1", "127.0.0.2"]]})
    port = public.port
    result = fetch(f"http://both.example:{port}/admin/delete-all", dns)
    assert result.body == GOOD
    assert internal.requests == []


# -- the explicit setting ----------------------------------------------------------------------
def test_allowed_networks_may_be_reached(public: FeedServer, internal: FeedServer) -> None:
    public.redirect("/rss", f"http://127.1:{internal.port}/admin/delete-all")
    result = fetch(named(public, "/rss"), public_dns(),
                   allow=(PUBLIC, ipaddress.ip_network("127.0.0.0/8")))
    assert result.body == INTERNAL
    assert [request.path for request in internal.requests] == ["/admin/delete-all"]


def _poll_cli(tmp_path: Path, feed_url: str, polling: str) -> tuple[Any, Path]:
    db = tmp_path / "armswatch.db"
    folder = write_config(tmp_path / "config", db, {"loopback": feed_url}, polling=polling)
    result = CliRunner().invoke(cli, ["--config", str(folder), "poll"])
    return result, db


def test_the_setting_in_armswatch_toml(tmp_path: Path, feed_server: FeedServer) -> None:
    # A loopback feed redirecting to 0.0.0.0 (which reaches this host): refused by default ...
    feed_server.route("/admin", INTERNAL)
    url = feed_server.redirect("/rss", f"http://0.0.0.0:{feed_server.port}/admin")
    result, db = _poll_cli(tmp_path / "default", url, "")
    assert result.exit_code == 0, result.output
    assert f"failed: loopback: {REFUSED}" in result.output
    assert feed_server.requests_to("/admin") == []
    assert _count(db, "articles") == 0
    # ... and followed once the config allows it.
    result, db = _poll_cli(tmp_path / "allowed", url, "allow_private_addresses = true")
    assert result.exit_code == 0, result.output
    assert "1 ok, 0 not modified, 0 failed" in result.output
    assert len(feed_server.requests_to("/admin")) == 1
    assert _count(db, "articles") == 1
    checked = CliRunner().invoke(cli, ["--config", str(tmp_path / "allowed" / "config"), "check"])
    assert "private addresses allowed: every address" in checked.output


# -- a whole poll cycle: refused, nothing stored, what was stored kept --------------------------
def _poll(db: Path, dns: StubDNS, feeds: dict[str, str]) -> PollReport:
    async def run() -> PollReport:
        polling = PollingConfig(timeout=timedelta(seconds=5), allow_private_addresses=(PUBLIC,))
        store = Store.open(db)
        try:
            async with Fetcher(resolver=dns, timeout=5,
                               allow_private_addresses=polling.allow_private_addresses) as fetcher:
                with ParserPool(workers=1) as parser:
                    poller = Poller(store=store, watchlist=WatchList(WATCH), polling=polling,
                                    fetcher=fetcher, parser=parser)
                    return await poller.poll([feed_config(name, url)
                                              for name, url in feeds.items()])
        finally:
            store.close()

    return asyncio.run(run())


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_poll_stores_nothing_from_inside_and_keeps_what_it_had(
        tmp_path: Path, public: FeedServer, internal: FeedServer) -> None:
    db = tmp_path / "armswatch.db"
    dns = public_dns(**{"intranet.example": [["127.0.0.1"]]})
    targets = attack_targets(internal.port)
    feeds = {f"hostile {n}": named(public, f"/hostile/{n}") for n in range(len(targets))}
    for n in range(len(targets)):
        public.route(f"/hostile/{n}", GOOD)
    first = _poll(db, dns, feeds)
    assert first.count("ok") == len(targets) and _count(db, "articles") == 1
    # The feeds turn hostile: each now redirects to one spelling of the inside.
    for n, target in enumerate(targets):
        public.redirect(f"/hostile/{n}", target)
    report = _poll(db, dns, feeds)
    assert {outcome.error for outcome in report.outcomes} == {REFUSED}
    assert internal.requests == []
    assert _count(db, "articles") == 1 and _count(db, "matches") >= 1
    with sqlite3.connect(db) as conn:
        errors = {row[0] for row in conn.execute("SELECT error FROM feeds")}
    assert errors == {REFUSED}


# -- Location values are capped ----------------------------------------------------------------
LONG = "http://feed.example/" + "a" * 7980  # 8,000 characters


def test_a_location_over_2000_characters_is_refused(public: FeedServer) -> None:
    public.redirect("/rss", LONG)
    error = fetch_error(named(public, "/rss"), public_dns())
    assert str(error) == "refused a redirect to a URL of 8,000 characters (at most 2,000)"
    assert len(public.requests) == 1


@pytest.mark.parametrize(("location", "start"), [
    ("ftp://feed.example/" + "c" * 1900, "refused redirect to a non-HTTP URL: ftp://feed.exa"),
    ("http://" + "c" * 1900 + ".invalid/", "could not resolve host name cccc"),
    ("/loop?" + "c" * 1900, "redirect loop: http://feed.example:"),
])
def test_a_long_location_is_never_quoted_whole(public: FeedServer, location: str,
                                               start: str) -> None:
    public.redirect("/rss", location)
    public.redirect("/loop", location)
    message = str(fetch_error(named(public, "/rss"), public_dns()))
    assert message.startswith(start)
    assert len(message) < 260 and "c" * 201 not in message


def test_a_long_location_reaches_neither_the_database_nor_the_output(
        tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.redirect("/rss", LONG)
    result, db = _poll_cli(tmp_path, url, "")
    assert "refused a redirect to a URL of 8,000 characters (at most 2,000)" in result.output
    assert "a" * 300 not in result.output
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("armswatch.db*"))
    assert b"a" * 300 not in stored and db.exists()
