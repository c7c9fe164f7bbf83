"""The article page behind a headline (issue 14), end to end through `armswatch poll` on a
loopback publisher site: the feed on 127.0.0.1 gives headlines, its links lead to pages on
127.0.0.2 (and 127.0.0.3) wrapped in real-world furniture that names OTHER programs.

Each test asserts what was stored (body, matches, the queue's row and its reason) and what the
publisher's server was asked (robots.txt once, nothing it disallows, no page fetched twice).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import ROOT, Entry, publisher_page, rss, toml_string
from click.testing import CliRunner, Result
from feedserver import FeedServer

from monitor.cli.commands import cli
from storage.pages import PageRequest
from storage.store import Store

FIREWALL_BODY = [
    "Customs officers in Nogales said on Tuesday that inspections under Mission Firewall found "
    "41 rifles hidden in a southbound truck, the largest seizure at the crossing this year.",
    "Agents traced the weapons through eTrace to dealers in Arizona and Texas, and said straw "
    "buyers had bought most of them in the past six months.",
]
# Programs the page furniture names; the article's own text names none of them.
FURNITURE_PROGRAMS = ("Mérida Initiative", "Bicentennial Framework")
# A headline that names no watch item: only the article's own text can make it a hit.
PLAIN_HEADLINE = "Officers find rifles hidden in truck at Nogales crossing"


@pytest.fixture
def publisher() -> Iterator[FeedServer]:
    with FeedServer(host="127.0.0.2") as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[FeedServer]:
    with FeedServer(host="127.0.0.3") as server:
        yield server


def article_page(server: FeedServer, path: str, title: str = PLAIN_HEADLINE,
                 body: list[str] | None = None, **options: Any) -> str:
    options.setdefault("furniture_programs", FURNITURE_PROGRAMS)
    html = publisher_page(title, body or FIREWALL_BODY, **options)
    return server.route(path, html, content_type="text/html; charset=utf-8")


def write_site_config(folder: Path, feeds: dict[str, tuple[str, str]],
                      articles: str = 'delay = "0s"') -> Path:
    """A config folder: the shipped watch list, feeds {name: (url, articles mode)}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "watchlist.toml").write_text(
        (ROOT / "config" / "watchlist.toml").read_text(encoding="utf-8"), encoding="utf-8")
    blocks = "".join(f"\n[[feeds]]\nname = {toml_string(name)}\nurl = {toml_string(url)}\n"
                     f"articles = {toml_string(mode)}\n"
                     for name, (url, mode) in feeds.items())
    (folder / "armswatch.toml").write_text(
        f"[storage]\npath = {toml_string(str(folder / 'armswatch.db'))}\n\n"
        f'[polling]\ntimeout = "5s"\n\n[articles]\n{articles}\n{blocks}', encoding="utf-8")
    return folder


def run(folder: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(folder), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def rows(folder: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "armswatch.db") as db:
        return db.execute(sql, params).fetchall()


def page_rows(folder: Path) -> dict[str, tuple[str, str | None]]:
    """url → (state, reason) of every queued page."""
    return {url: (state, reason) for url, state, reason in rows(
        folder, "SELECT url, state, reason FROM article_pages WHERE url IS NOT NULL")}


def headline_feed(feed_server: FeedServer, *links: str, title: str = PLAIN_HEADLINE) -> str:
    entries = [Entry(title=f"{title} ({n})", link=link, guid=f"item-{n}")
               for n, link in enumerate(links, 1)]
    return feed_server.route("/news.xml", rss(entries))


def test_a_headline_becomes_a_hit_from_its_article_text_and_never_from_furniture(
        tmp_path: Path, feed_server: FeedServer, publisher: FeedServer) -> None:
    link = article_page(publisher, "/2026/11/rifles-nogales")
    folder = write_site_config(tmp_path / "config",
                               {"Headlines": (headline_feed(feed_server, link), "auto")})
    output = run(folder, "poll").output
    assert "article pages: 1 with text, 0 without" in output
    assert "1 new hits from article text" in output

    matches = rows(folder, "SELECT item, field, snippet FROM matches")
    items = {item for item, _, _ in matches}
    assert "Mission Firewall" in items and "eTrace" in items
    assert {field for _, field, _ in matches} == {"body"}
    assert items.isdisjoint(FURNITURE_PROGRAMS), "page furniture became a hit"
    assert any("Mission Firewall found 41 rifles" in snippet for _, _, snippet in matches)
    # The body is stored and in the full-text index.
    assert rows(folder, "SELECT count(*) FROM articles WHERE body LIKE '%Nogales%'") == [(1,)]
    assert rows(folder, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH "
                        "'body : southbound'") == [(1,)]
    assert page_rows(folder) == {link: ("done", None)}
    # Shown in `hits` with the field it was found in.
    found = json.loads(run(folder, "hits", "--format", "json").output)
    assert {m["field"] for hit in found for m in hit["matches"]} == {"body"}
    # The page was asked for once, with an honest User-Agent, after robots.txt.
    paths = [r.path for r in publisher.requests]
    assert paths == ["/robots.txt", "/2026/11/rifles-nogales"]
    agent = publisher.requests[-1].headers["user-agent"]
    assert agent.startswith("Armswatch/") and "https://" in agent
    assert "text/html" in publisher.requests[-1].headers["accept"]

    # The next poll finds nothing new, and no page is fetched again.
    run(folder, "poll", "--all")
    assert [r.path for r in publisher.requests].count("/2026/11/rifles-nogales") == 1


def test_robots_txt_is_obeyed_for_a_disallowed_folder(tmp_path: Path, feed_server: FeedServer,
                                                      publisher: FeedServer) -> None:
    publisher.route("/robots.txt", "User-agent: *\nDisallow: /members/\n",
                    content_type="text/plain")
    open_link = article_page(publisher, "/news/open")
    closed_link = article_page(publisher, "/members/closed")
    folder = write_site_config(tmp_path / "config", {
        "Headlines": (headline_feed(feed_server, open_link, closed_link), "auto")})
    run(folder, "poll")
    assert page_rows(folder) == {open_link: ("done", None), closed_link: ("skipped", "robots")}
    assert publisher.requests_to("/members/closed") == []
    assert len(publisher.requests_to("/robots.txt")) == 1   # cached for the host


def test_pages_without_a_body_are_marked_and_keep_the_headline_match(
        tmp_path: Path, feed_server: FeedServer, publisher: FeedServer,
        elsewhere: FeedServer) -> None:
    paywalled = article_page(publisher, "/paid", paywalled=True)
    missing = publisher.url("/gone")   # 404
    huge = publisher.route("/huge", "<html><body>" + "<p>x</p>" * 200_000 + "</body></html>",
                           content_type="text/html")
    pdf_by_type = publisher.route("/report", b"%PDF-1.7 ...", content_type="application/pdf")
    pdf_by_name = publisher.url("/files/report.pdf")
    moved = article_page(elsewhere, "/moved-here")
    redirected = publisher.redirect("/old-address", moved)
    google = "https://news.google.com/rss/articles/CBMiXWh0dHBzOi8vZXhhbXBsZQ?oc=5"
    links = [paywalled, missing, huge, pdf_by_type, pdf_by_name, redirected, google]
    folder = write_site_config(
        tmp_path / "config",
        {"Headlines": (headline_feed(feed_server, *links, title="Mission Firewall update"),
                       "auto")},
        articles='delay = "0s"\nmax_page = "64KB"')
    run(folder, "poll")
    states = page_rows(folder)
    assert states[paywalled] == ("done", "paywall")
    assert states[missing] == ("failed", "http status")
    assert states[huge] == ("skipped", "too large")
    assert states[pdf_by_type] == ("skipped", "not html")
    assert states[pdf_by_name] == ("skipped", "not html")
    assert states[redirected] == ("done", None)     # the other host's page was read
    assert rows(folder, "SELECT state, reason FROM article_pages WHERE url IS NULL") == [
        ("skipped", "unresolvable link")]
    assert publisher.requests_to("/files/report.pdf") == []
    assert [r.path for r in elsewhere.requests] == ["/moved-here"]
    assert rows(folder, "SELECT http_status FROM article_pages WHERE url = ?", missing) == [
        (404,)]
    # Every item keeps its headline match; none lost its hit for want of a body.
    assert rows(folder, "SELECT count(DISTINCT article_id) FROM matches WHERE field = 'title'"
                ) == [(len(links),)]

    # `feeds` shows, per feed, the share of items that got a body, and why the others did not.
    table = " ".join(run(folder, "feeds").output.split())
    assert "1/7 bodies" in table, table
    for reason in ("paywall", "http status", "too large", "not html", "unresolvable link"):
        assert reason in table
    record = json.loads(run(folder, "feeds", "--format", "json").output)[0]["pages"]
    assert record == {"wanted": 7, "bodies": 1, "waiting": 0, "reasons": {
        "http status": 1, "not html": 2, "paywall": 1, "too large": 1, "unresolvable link": 1}}


def test_a_slow_page_times_out_and_waits_for_a_later_attempt(
        tmp_path: Path, feed_server: FeedServer, publisher: FeedServer) -> None:
    slow = publisher.route("/slow", publisher_page(PLAIN_HEADLINE, FIREWALL_BODY),
                           content_type="text/html", delay=3.0)
    folder = write_site_config(tmp_path / "config",
                               {"Headlines": (headline_feed(feed_server, slow), "auto")},
                               articles='delay = "0s"\ntimeout = "1s"')
    run(folder, "poll")
    assert rows(folder, "SELECT state, reason, attempts, next_attempt > fetched_at, detail"
                        " FROM article_pages") == [
        ("pending", "error", 1, 1, "timed out after 1 s")]
    # Not due yet: the next poll leaves it alone.
    run(folder, "poll", "--all")
    assert len(publisher.requests_to("/slow")) == 1
    # `status` counts it as waiting.
    status = CliRunner().invoke(cli, ["--config", str(folder), "status", "--format", "json"])
    assert json.loads(status.output)["article_pages_waiting"] == 1


def test_a_feed_set_to_never_queues_nothing_and_full_text_items_are_not_fetched(
        tmp_path: Path, feed_server: FeedServer, publisher: FeedServer) -> None:
    link = article_page(publisher, "/a")
    never = feed_server.route("/never.xml", rss([Entry(title=PLAIN_HEADLINE, link=link,
                                                       guid="n1")]))
    full = feed_server.route("/full.xml", rss([Entry(
        title=PLAIN_HEADLINE, link=publisher.url("/b"), guid="f1",
        content=" ".join(FIREWALL_BODY) * 2)]))
    folder = write_site_config(tmp_path / "config", {"Never": (never, "never"),
                                                     "Full": (full, "auto")})
    run(folder, "poll")
    assert rows(folder, "SELECT count(*) FROM article_pages") == [(0,)]
    assert publisher.requests == []
    # The full-text item is matched from its own content, as before.
    assert ("Mission Firewall", "content") in rows(folder, "SELECT item, field FROM matches")


def test_an_article_matched_only_by_its_body_is_delivered_once(tmp_path: Path) -> None:
    """Digests take the hits a channel has not been sent, whenever their evidence arrived: an
    article that matched nothing until its page was read goes out in the next digest, once,
    with the body's snippet."""
    from test_digest_support import NOW, WATCH_ORDER, article, file_channel, open_store, seed

    from alerts.delivery import deliver_pending
    from monitor.matching import WatchList
    from monitor.settings.config import load_watchlist

    watch = WatchList(load_watchlist(ROOT / "config" / "watchlist.toml"))
    folder = file_channel("archive", tmp_path / "digests")
    with open_store(tmp_path) as store:
        first = article("1", title="Rifles seized at the border")
        later = article("2", title=PLAIN_HEADLINE)
        seed(store, [(first, watch.match(first.title, "", "", " ".join(FIREWALL_BODY))),
                     (later, [])])
        assert deliver_pending(store, folder, now=NOW, watch_order=WATCH_ORDER).hits == 1
        store.pages.enqueue([PageRequest(later.id, later.feed, "https://news.example/2",
                                         host="news.example")], NOW)
        text = " ".join(FIREWALL_BODY)
        assert store.pages.store_body(later.id, text, watch.match(later.title, "", "", text),
                                      now=NOW) is True
        report = deliver_pending(store, folder, now=NOW + timedelta(hours=1),
                                 watch_order=WATCH_ORDER)
        assert report.sent and report.hits == 1
        digest = next(p for p in sorted((tmp_path / "digests").iterdir())
                      if p.name.endswith("-2.md")).read_text(encoding="utf-8")
        assert PLAIN_HEADLINE in digest and "found 41 rifles" in digest
        assert not deliver_pending(store, folder, now=NOW + timedelta(hours=2),
                                   watch_order=WATCH_ORDER).sent


def test_migration_0007_keeps_stored_matches_and_indexes_the_body(tmp_path: Path) -> None:
    from test_storage import database_before

    conn, db = database_before(tmp_path / "db" / "a.db", "0007_article_pages")
    db.execute("INSERT INTO articles (id, feed, title, summary, published, first_seen) VALUES"
               " ('old-1', 'Feed A', 'Mission Firewall', '', '2026-11-20T12:00:00+00:00',"
               " '2026-11-20T12:00:00+00:00')")
    db.execute("INSERT INTO matches (article_id, item, kind, term, field, snippet) VALUES"
               " ('old-1', 'Mission Firewall', 'program', 'Mission Firewall', 'title',"
               " 'Mission Firewall')")
    conn.commit()
    conn.close()
    with Store.open(tmp_path / "db" / "a.db") as store:
        assert store.hits.get("old-1") is not None
        names = {row[0] for row in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'matches'")}
        assert {"matches_item", "matches_backfill"} <= names
        store.db.execute("UPDATE articles SET body = 'Cortafuegos southbound' WHERE id = 'old-1'")
        assert store.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH"
                                " 'body : southbound'").fetchone() == (1,)
        assert store.db.execute("SELECT count(*) FROM hits").fetchone() == (1,)


def test_a_hit_found_in_the_page_belongs_to_a_story(
        tmp_path: Path, feed_server: FeedServer, publisher: FeedServer) -> None:
    link = article_page(publisher, "/2026/11/rifles-nogales")
    folder = write_site_config(tmp_path / "config",
                               {"Headlines": (headline_feed(feed_server, link), "auto")})
    run(folder, "poll")
    (article_id,) = rows(folder, "SELECT DISTINCT article_id FROM matches")[0]
    # Every hit belongs to exactly one story (design §13), a hit from article text too.
    assert rows(folder, "SELECT count(*) FROM story_articles WHERE article_id = ?",
                article_id) == [(1,)]
    stories = json.loads(run(folder, "stories", "--format", "json").output)
    assert [[a["title"] for a in s["articles"]] for s in stories] == [[f"{PLAIN_HEADLINE} (1)"]]
    assert "Mission Firewall" in stories[0]["programs"]


def test_the_queue_counts_only_the_rows_due_now(tmp_path: Path) -> None:
    from test_digest_support import NOW, article, open_store, seed

    with open_store(tmp_path) as store:
        articles = [article(str(n), title=f"{PLAIN_HEADLINE} {n}") for n in range(4)]
        seed(store, [(a, []) for a in articles])
        store.pages.enqueue(
            [PageRequest(a.id, a.feed, f"https://news.example/{a.id}", host="news.example")
             for a in articles[:3]]
            + [PageRequest(articles[3].id, articles[3].feed, None, reason="unresolvable link")],
            NOW)
        store.pages.finish_without_body(articles[2].id, state="pending", reason="http status",
                                        now=NOW, retry_at=NOW + timedelta(minutes=10))
        # Two due now; one waits for its retry; the skipped row is never due.
        assert store.pages.due_count(NOW) == len(store.pages.due(NOW)) == 2
        assert store.pages.due_count(NOW + timedelta(minutes=10)) == 3
