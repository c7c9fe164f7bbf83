"""Feed bytes → Articles: formats, text cleaning, dates, ids, URLs, hostile input, worker pool."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.feeds.entries import MAX_TEXT, parse_date_text, repair_mojibake
from monitor.feeds.parse import ParsedFeed, ParserPool, article_id, canonical_url, parse_feed
from storage.errors import ParseError

FETCHED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FEED_URL = "https://news.example.org/feeds/world.xml"


def parse(body: bytes | str, *, language: str | None = None, headers: dict[str, str] | None = None,
          fetched_at: datetime = FETCHED, name: str = "Example World") -> ParsedFeed:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return parse_feed(data, feed_name=name, url=FEED_URL, headers=headers or {},
                      language=language, fetched_at=fetched_at)


def rss(items: str, channel: str = "<title>Example World</title>") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>{channel}'
            f"{items}</channel></rss>")


# --- formats --------------------------------------------------------------------------------

def test_rss20_entry_becomes_a_clean_article() -> None:
    feed = parse(rss(
        """<item><title>Mission Firewall expands</title>
           <link>https://News.Example.org/2026/11/firewall?utm_source=rss&amp;id=7</link>
           <guid isPermaLink="false">firewall-7</guid>
           <description>&lt;p&gt;US and Mexico &lt;b&gt;share&lt;/b&gt;
             trace data.&lt;/p&gt;</description>
           <author>desk@example.org (Ana Ruiz)</author>
           <pubDate>Mon, 23 Nov 2026 10:30:00 -0600</pubDate></item>""",
        "<title>Example &amp;amp; World</title><language>en-us</language>"))
    assert feed.title == "Example & World"
    assert feed.language == "en"
    assert feed.warning is None
    (article,) = feed.articles
    assert article.feed == "Example World"
    assert article.guid == "firewall-7"
    assert article.url == "https://News.Example.org/2026/11/firewall?utm_source=rss&id=7"
    assert article.canonical_url == "https://news.example.org/2026/11/firewall?id=7"
    assert article.title == "Mission Firewall expands"
    assert article.summary == "US and Mexico share trace data."
    assert article.published == datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    assert article.first_seen == FETCHED
    assert article.language == "en"
    assert article.author == "desk@example.org (Ana Ruiz)"
    assert re.fullmatch(r"[0-9a-f]{20}", article.id)


def test_atom_entry_with_typed_text_and_html_content() -> None:
    feed = parse("""<?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es-MX">
          <title type="html">Noticias &lt;i&gt;México&lt;/i&gt;</title><id>urn:x:feed</id>
          <entry>
            <title type="text">Use &lt;b&gt; tags &amp; more</title>
            <link href="https://example.mx/a/1"/>
            <id>tag:example.mx,2026:1</id>
            <updated>2026-11-20T08:00:00-06:00</updated>
            <author><name>Luis Peña</name></author>
            <summary type="html">&lt;p&gt;Resumen&lt;/p&gt;</summary>
            <content type="html">&lt;p&gt;Primer&amp;nbsp;párrafo&lt;/p&gt;
              &lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Segundo&lt;/p&gt;</content>
          </entry>
        </feed>""")
    assert feed.title == "Noticias México"
    assert feed.language == "es"
    (article,) = feed.articles
    assert article.title == "Use <b> tags & more"  # type="text": markup is literal text
    assert article.summary == "Resumen"
    assert article.content == "Primer párrafo Segundo"
    assert article.published == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert article.guid == "tag:example.mx,2026:1"
    assert article.author == "Luis Peña"
    assert article.language == "es"


def test_rdf_items_are_read() -> None:
    feed = parse("""<?xml version="1.0"?>
        <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
                 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
          <channel rdf:about="https://example.es/"><title>Ejemplo</title>
            <link>https://example.es/</link><description>d</description><dc:language>es</dc:language>
          </channel>
          <item rdf:about="https://example.es/a/1"><title>Uno</title><link>https://example.es/a/1</link>
            <dc:date>2026-11-01T10:00:00+01:00</dc:date></item>
          <item rdf:about="https://example.es/a/2"><title>Dos</title><link>https://example.es/a/2</link></item>
        </rdf:RDF>""")
    assert feed.title == "Ejemplo"
    assert [a.title for a in feed.articles] == ["Uno", "Dos"]
    assert feed.articles[0].published == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert feed.articles[1].published == FETCHED  # no date at all: the fetch time
    assert {a.language for a in feed.articles} == {"es"}


def test_channel_without_items_is_a_feed_with_no_articles() -> None:
    feed = parse(rss(""))
    assert feed.articles == ()
    assert feed.title == "Example World"


def test_ill_formed_but_usable_feed_parses_with_a_warning() -> None:
    feed = parse(rss("<item><title>Guns & roses</title><link>https://example.org/g</link></item>"))
    assert [a.title for a in feed.articles] == ["Guns & roses"]
    assert feed.warning is not None and "not well-formed XML" in feed.warning


def test_response_headers_are_honoured_whatever_their_case() -> None:
    body = ('<rss version="2.0"><channel><title>Новости</title><item><title>Привет</title>'
            "<link>https://example.ru/1</link></item></channel></rss>").encode("cp1251")
    feed = parse(body, headers={"Content-Type": "application/rss+xml; charset=windows-1251"})
    assert feed.title == "Новости"
    assert feed.articles[0].title == "Привет"


# --- text -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("AT&amp;amp;T buys &lt;b&gt;ghost guns&lt;/b&gt; maker", "AT&T buys ghost guns maker"),
    ("Misi&amp;#243;n Cortafuegos", "Misión Cortafuegos"),
    ("<![CDATA[Tráfico de <em>armas</em>   en\n la frontera]]>", "Tráfico de armas en la frontera"),
    ("Caf&amp;eacute; &amp;amp; more", "Café & more"),
    ("MisiÃ³n Cortafuegos: informaciÃ³n", "Misión Cortafuegos: información"),
])
def test_titles_are_plain_text(raw: str, expected: str) -> None:
    feed = parse(rss(f"<item><title>{raw}</title><link>https://example.org/t</link></item>"))
    assert feed.articles[0].title == expected


def test_mojibake_repair_leaves_correct_text_alone() -> None:
    assert repair_mojibake("Prachanda’s â€˜secretâ€™ meet") == "Prachanda’s ‘secret’ meet"
    assert repair_mojibake("Beaucoup Ã\xa0 gauche") == "Beaucoup à gauche"
    for correct in ("Spaß\xa0heute", "«ACCIÓN»", "NAPOLEÃO", "niño", "Привет"):
        assert repair_mojibake(correct) == correct


def test_every_text_field_is_capped() -> None:
    words = "palabra " * 10_000
    feed = parse(rss(f"<item><title>{words}</title><link>https://example.org/l</link>"
                     f"<description>{words}</description></item>"))
    (article,) = feed.articles
    assert 0 < len(article.title) <= MAX_TEXT
    assert 0 < len(article.summary) <= MAX_TEXT
    assert article.summary.startswith("palabra palabra")


# --- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("lunes, 23 de noviembre de 2026", datetime(2026, 11, 23, tzinfo=UTC)),
    ("23 dic 2026", datetime(2026, 12, 23, tzinfo=UTC)),
    ("Lun, 23 Dic 2026 10:30:00 -0600", datetime(2026, 12, 23, 16, 30, tzinfo=UTC)),
    ("sábado 5 de sept. de 2026 a las 9:05", datetime(2026, 9, 5, 9, 5, tzinfo=UTC)),
    ("1 de abril del 2025, 18:45 hrs", datetime(2025, 4, 1, 18, 45, tzinfo=UTC)),
    ("2026-11-23 10:00:00+01:00", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
])
def test_raw_date_strings_feedparser_cannot_read(raw: str, expected: datetime) -> None:
    assert parse_date_text(raw) == expected


@pytest.mark.parametrize("raw", ["garbage", "31 de febrero de 2026", "23 foo 2026", ""])
def test_unreadable_dates_are_none(raw: str) -> None:
    assert parse_date_text(raw) is None


def test_spanish_dates_in_a_feed_and_fallbacks() -> None:
    feed = parse(rss("""
        <item><title>a</title><link>https://example.mx/a</link>
              <pubDate>lunes, 23 de noviembre de 2026</pubDate></item>
        <item><title>b</title><link>https://example.mx/b</link>
              <pubDate>hace un rato</pubDate></item>
        <item xmlns:dc="http://purl.org/dc/elements/1.1/"><title>c</title>
              <link>https://example.mx/c</link><dc:date>2026-11-02T00:00:00Z</dc:date></item>"""))
    published = [a.published for a in feed.articles]
    assert published == [datetime(2026, 11, 23, tzinfo=UTC), FETCHED,
                         datetime(2026, 11, 2, tzinfo=UTC)]
    assert all(p.tzinfo is UTC for p in published)


def test_future_dates_are_not_trusted_beyond_a_day() -> None:
    soon = FETCHED + timedelta(hours=20)
    feed = parse(rss(f"""
        <item><title>a</title><link>https://example.org/a</link>
              <pubDate>{soon.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>
        <item><title>b</title><link>https://example.org/b</link>
              <pubDate>Sat, 01 Jan 2033 00:00:00 +0000</pubDate></item>"""))
    assert [a.published for a in feed.articles] == [soon, FETCHED]


def test_naive_fetch_time_is_taken_as_utc() -> None:
    feed = parse(rss("<item><title>a</title><link>https://example.org/a</link></item>"),
                 fetched_at=datetime(2026, 11, 24, 12, 0))
    assert feed.articles[0].first_seen == FETCHED
    assert feed.articles[0].published == FETCHED


# --- language -------------------------------------------------------------------------------

SPANISH = ("<item><title>Detienen a traficantes de armas en la frontera norte</title>"
           "<link>https://example.mx/1</link><description>La fiscalía informó que las armas "
           "de fuego fueron compradas por prestanombres en Texas.</description></item>")


def test_language_configured_wins_over_declared_and_detected() -> None:
    feed = parse(rss(SPANISH, "<title>x</title><language>en</language>"), language="ES-mx")
    assert feed.language == "es"
    assert feed.articles[0].language == "es"


def test_language_declared_by_the_feed() -> None:
    feed = parse(rss(SPANISH, "<title>x</title><language>pt-BR</language>"))
    assert feed.articles[0].language == "pt"


def test_language_detected_when_undeclared_and_none_when_too_short() -> None:
    feed = parse(rss(SPANISH + "<item><title>Ok</title><link>https://example.mx/2</link></item>"))
    assert [a.language for a in feed.articles] == ["es", None]
    assert feed.language is None


# --- identity -------------------------------------------------------------------------------

def test_entries_without_link_guid_and_title_are_dropped_and_the_rest_kept() -> None:
    feed = parse(rss("""
        <item><description>only a description</description></item>
        <item><guid isPermaLink="false">only-a-guid</guid></item>
        <item><title>only a title</title></item>
        <item><link>https://example.org/only-a-link</link></item>"""))
    assert [(a.guid, a.title, a.url) for a in feed.articles] == [
        ("only-a-guid", "", None),
        (None, "only a title", None),
        (None, "", "https://example.org/only-a-link"),
    ]
    assert len({a.id for a in feed.articles}) == 3


def test_entries_without_guid_get_ids_that_are_stable_across_polls() -> None:
    body = rss("<item><title>Sin enlace ni guid</title></item>"
               "<item><title>With link</title><link>https://example.org/x?utm_medium=rss</link></item>")
    first = parse(body, fetched_at=FETCHED)
    second = parse(body, fetched_at=FETCHED + timedelta(hours=3))
    assert [a.id for a in first.articles] == [a.id for a in second.articles]


def test_one_article_gets_one_id_in_its_feed_and_one_canonical_url_everywhere() -> None:
    link = "https://example.org/2026/etrace"
    with_guid = parse(rss(f"<item><title>eTrace</title><guid>{link}?utm_source=a</guid></item>"),
                      name="Feed A")
    with_link = parse(rss(f"<item><title>eTrace (updated)</title><link>{link}#top</link></item>"),
                      name="Feed A")
    tracked = parse(rss(f"<item><title>x</title><link>{link}?fbclid=1&amp;gclid=2</link></item>"),
                    name="Feed C")
    assert with_guid.articles[0].id == with_link.articles[0].id   # a permalink guid is its URL
    assert tracked.articles[0].id != with_link.articles[0].id     # ids are scoped by feed ...
    assert {a.articles[0].canonical_url for a in (with_link, tracked)} == {link}  # ... URLs not


def test_guids_are_scoped_by_feed() -> None:
    # Another feed giving the same guid, even with a link to the same site, is another item:
    # storage links items across feeds by canonical URL and text, never by id.
    one = article_id(guid="1005", url="https://www.justice.gov/a", feed="DOJ", title="t")
    assert one == article_id(guid="1005", url="https://www.justice.gov/b", feed="DOJ", title="u")
    assert one != article_id(guid="1005", url="https://www.justice.gov/a", feed="Hostile",
                             title="t")
    tag = "tag:example.org,2026:99"
    assert article_id(guid=tag, url="https://a.example/1", feed="A", title="") != \
        article_id(guid=tag, url=None, feed="Z", title="other")


def test_relative_links_resolve_against_the_final_url() -> None:
    feed = parse(rss("<item><title>a</title><link>/2026/11/a?utm_campaign=x</link></item>"
                     "<item><title>b</title><link>b.html</link></item>"))
    assert [a.url for a in feed.articles] == ["https://news.example.org/2026/11/a?utm_campaign=x",
                                              "https://news.example.org/feeds/b.html"]
    assert feed.articles[0].canonical_url == "https://news.example.org/2026/11/a"


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://Example.COM:80/a?utm_source=x&b=1&fbclid=2&c#frag", "http://example.com/a?b=1&c"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:443/p?UTM_Medium=x&mc_cid=1&mc_eid=2&ocid=3&cmpid=4",
     "https://example.com/p"),
    ("https://example.com:8443/p?q=Misi%C3%B3n&gclid=1&page=2", "https://example.com:8443/p?q=Misi%C3%B3n&page=2"),
    ("https://[2001:DB8::1]:443/p", "https://[2001:db8::1]/p"),
    ("https://example.com/#!/story/42", "https://example.com/#!/story/42"),
    ("  not a url ", "not a url"),
])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@given(st.tuples(st.sampled_from(["http://", "HTTPS://", "ftp://", "", "//"]),
                 st.text(alphabet="aB:/?#&=@[]%._-+!; é", max_size=30),
                 st.sampled_from(["", "?utm_source=x", "&fbclid=y", ":80", "#f"])).map("".join))
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


# --- what is not a feed ---------------------------------------------------------------------

@pytest.mark.parametrize(("body", "headers", "message"), [
    (b"", {}, "the response body is empty"),
    (b"  \r\n ", {}, "the response body is empty"),
    (b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>",
     {"Content-Type": "text/html; charset=utf-8"}, "HTML page"),
    (b"<html><body><p>Moved</p></body></html>", {}, "HTML page"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, {}, "binary data"),
    (b"\x1f\x8b\x08\x00" + bytes(range(200)), {}, "gzip-compressed"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', {}, "JSON"),
    (b"hello, world", {}, "not XML"),
    (b'<?xml version="1.0"?><inventory><item-count>3</item-count></inventory>', {},
     "no RSS, Atom or RDF"),
])
def test_not_a_feed(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(ParseError, match="not a feed") as caught:
        parse(body, headers=headers)
    assert message in str(caught.value)


def test_external_entities_never_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = f"""<?xml version="1.0"?>
        <!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">
                       <!ENTITY passwd SYSTEM "file:///etc/passwd">]>
        <rss version="2.0"><channel><title>t &xxe;</title>
        <item><title>x &xxe; &passwd;</title><link>https://example.org/x</link>
        <description>&xxe;</description></item></channel></rss>"""
    feed = parse(body)
    texts = [feed.title or ""] + [f for a in feed.articles for f in (a.title, a.summary, a.content)]
    assert feed.articles
    assert not any("TOP-SECRET" in t or "root:" in t for t in texts)


def test_entity_expansion_bomb_is_harmless() -> None:
    levels = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]>'
            '<rss version="2.0"><channel><title>bomb &lol9;</title><item><title>a &lol9;</title>'
            "<link>https://example.org/a</link></item></channel></rss>")
    try:
        feed = parse(body)
    except ParseError as error:  # refusing the feed is as good as reading it unexpanded
        assert "not a feed" in str(error)
        return
    assert all(len(a.title) < 1_000 for a in feed.articles)
    assert len(feed.title or "") < 1_000


# --- worker pool ----------------------------------------------------------------------------

SIMPLE = rss("<item><title>Mission Firewall</title><link>https://example.org/mf</link></item>")
# feedparser#562: the author-email regex backtracks quadratically; ~3 s of CPU per item here.
SLOW = rss("".join(f"<item><title>slow {i}</title><link>https://example.org/{i}</link>"
                   f"<author>a@{'a.' * 16_000}!</author></item>" for i in range(3)))


def pool_parse(pool: ParserPool, body: str, timeout: float = 10) -> ParsedFeed:
    return asyncio.run(pool.parse(body.encode(), feed_name="pool", url=FEED_URL,
                                  headers={"Content-Type": "application/rss+xml"},
                                  language=None, fetched_at=FETCHED, timeout=timeout))


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    with ParserPool(workers=1) as opened:
        yield opened


def test_pool_parses_in_a_worker(pool: ParserPool) -> None:
    feed = pool_parse(pool, SIMPLE)
    assert [a.title for a in feed.articles] == ["Mission Firewall"]
    assert feed.articles[0].id == parse(SIMPLE, name="pool").articles[0].id


def test_pool_passes_parse_errors_through(pool: ParserPool) -> None:
    with pytest.raises(ParseError, match="HTML page"):
        pool_parse(pool, "<!DOCTYPE html><html><body>no feed</body></html>")


def test_slow_parse_is_killed_at_the_timeout_and_the_pool_recovers(pool: ParserPool) -> None:
    with pytest.raises(ParseError, match=r"^parse took longer than 1 s$"):
        pool_parse(pool, SLOW, timeout=1)
    assert [a.title for a in pool_parse(pool, SIMPLE).articles] == ["Mission Firewall"]


def test_parse_sync(pool: ParserPool) -> None:
    feed = pool.parse_sync(SIMPLE.encode(), feed_name="cli", url=FEED_URL, headers={},
                           language="en", fetched_at=FETCHED, timeout=10)
    assert feed.articles[0].language == "en"


def _our_workers() -> set[int]:
    # Pool workers are forked by the fork server, so they are our grandchildren.
    me = os.getpid()
    return {p.pid for p in psutil.Process(me).children(recursive=True) if p.ppid() != me}


def test_a_crashed_worker_becomes_a_parse_error() -> None:
    before = _our_workers()
    with ParserPool(workers=1) as crashing:
        pool_parse(crashing, SIMPLE)  # starts (and warms) the single worker
        (worker_pid,) = _our_workers() - before
        worker = psutil.Process(worker_pid)

        async def crash_during_parse() -> None:
            busy_before = sum(worker.cpu_times()[:2])
            parsing = asyncio.ensure_future(crashing.parse(
                SLOW.encode(), feed_name="x", url=FEED_URL, headers={}, language=None,
                fetched_at=FETCHED, timeout=60))
            deadline = time.monotonic() + 30
            while sum(worker.cpu_times()[:2]) < busy_before + 0.3:  # the slow parse is running
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            os.kill(worker_pid, signal.SIGKILL)
            with pytest.raises(ParseError, match="the parser process died"):
                await parsing

        asyncio.run(crash_during_parse())
        assert [a.title for a in pool_parse(crashing, SIMPLE).articles] == ["Mission Firewall"]


def test_closed_pool_refuses_work() -> None:
    unopened = ParserPool(workers=1)
    with pytest.raises(RuntimeError, match="not open"):
        unopened.parse_sync(b"<rss/>", feed_name="x", url=FEED_URL, headers={}, language=None,
                            fetched_at=FETCHED, timeout=1)
