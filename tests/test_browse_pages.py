"""`armswatch serve` for an analyst: the hits view's layout, the article page at
/<db>/hits/<id>, the trend page and its chart, the index's links, the weekly counts query — over
real HTTP, and screenshots in headless Chromium at 1280 and 800 px (tests/artifacts/)."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageStat
from test_browse import ARTIFACTS, CHROMIUM, serving

from alerts.chart import PALETTE
from monitor.stories import Rules, place_hits
from storage.records import Article, FeedState, Hit, Match
from storage.store import Store
from storage.trends import week_label, weekly_counts

NOW = datetime.now(UTC)
LONG_TITLE = ("Misión Cortafuegos: México y Estados Unidos refuerzan el rastreo de armas "
              "aseguradas en la frontera norte")


def article(key: str, title: str, *, days_ago: float, feed: str = "Feed ES",
            language: str = "es", summary: str = "") -> Article:
    url = f"https://noticias.example/{key}?utm_source=rss&session=abcdefghijklmnopqrstuvwxyz"
    return Article(id=key, feed=feed, guid=key, url=url, canonical_url=url, title=title,
                   summary=summary, content="", published=NOW - timedelta(days=days_ago),
                   first_seen=NOW - timedelta(days=days_ago), language=language)


def evidence(item: str, term: str, field: str, snippet: str, kind: str = "program") -> Match:
    return Match(item=item, kind=kind, term=term, field=field, snippet=snippet)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "armswatch.db"
    hits: list[tuple[Article, list[Match]]] = [
        (article("mf-1", LONG_TITLE, days_ago=0,
                 summary="La Misión Cortafuegos aseguró 120 fusiles rastreados con eTrace en "
                         "Nogales, Sonora."),
         [evidence("Mission Firewall", "Misión Cortafuegos", "title",
                   "Misión Cortafuegos: México y Estados Unidos refuerzan el rastreo"),
          evidence("Mission Firewall", "Misión Cortafuegos", "summary",
                   "La Misión Cortafuegos aseguró 120 fusiles"),
          evidence("eTrace", "eTrace", "summary", "120 fusiles rastreados con eTrace."),
          evidence("Arms trafficking", "tráfico de armas", "summary",
                   "contra el tráfico de armas", kind="topic")]),
        # The same event, reported in English: one story with mf-1 (design §13).
        (article("mf-en", "Mission Firewall: 120 rifles traced with eTrace", days_ago=0.1,
                 feed="Feed EN", language="en",
                 summary="Mission Firewall seized 120 rifles in Nogales, Sonora, traced with "
                         "eTrace."),
         [evidence("Mission Firewall", "Mission Firewall", "title",
                   "Mission Firewall: 120 rifles traced with eTrace"),
          evidence("eTrace", "eTrace", "title", "120 rifles traced with eTrace")]),
        (Article(id="evil", feed="Feed ES", guid="evil", url="javascript:alert(1)",
                 canonical_url=None, title='<script>alert("x")</script> Misión Cortafuegos',
                 summary="", content="", published=NOW - timedelta(days=3),
                 first_seen=NOW - timedelta(days=3), language="es"),
         [evidence("Mission Firewall", "Misión Cortafuegos", "title",
                   '<img src=x onerror=alert(1)> Misión Cortafuegos')]),
    ]
    # Twelve weeks of coverage that rises, so the chart has something to show.
    for week in range(12):
        for n in range(1 + (11 - week) // 3):
            key = f"w{week}-{n}"
            hits.append((article(key, f"Mission Firewall report {key}", days_ago=7 * week + n + 0.1,
                                 feed="Feed EN", language="en"),
                         [evidence("Mission Firewall", "Mission Firewall", "title",
                                   f"Mission Firewall report {key}")]))
        if week % 2:
            hits.append((article(f"e{week}", f"eTrace access widened {week}", days_ago=7 * week,
                                 feed="Feed EN", language="en"),
                         [evidence("eTrace", "eTrace", "title", f"eTrace access widened {week}")]))
    with Store.open(path) as store:
        for feed in ("Feed ES", "Feed EN"):
            mine = [(a, m) for a, m in hits if a.feed == feed]
            store.save_feed_result(FeedState(name=feed, url=f"https://feeds.example/{feed[-2:]}",
                                             status="ok"),
                                   [a for a, _ in mine], {a.id: m for a, m in mine})
        place_hits(store, [Hit(article=a, matches=tuple(m)) for a, m in hits], Rules())
    return path


@pytest.fixture(scope="module")
def base_url(db_path: Path) -> Iterator[str]:
    with serving(db_path) as url:
        yield url


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30)


def test_the_index_links_to_the_hits_and_the_trend(base_url: str) -> None:
    home = get(f"{base_url}/").text
    assert '<a href="/armswatch/hits">the hits</a>' in home
    assert '<a href="/-/trends">Coverage per week</a>' in home


def test_the_hits_view_leads_with_published_and_a_linked_title(base_url: str) -> None:
    page = get(f"{base_url}/armswatch/hits").text
    headers = re.findall(r'<th class="col-([a-z]+)" scope="col">', page)
    assert headers == ["published", "title", "programs", "topics", "terms", "feed", "language"]
    assert (f'<a href="/armswatch/hits/mf-1">{LONG_TITLE}</a>') in page
    first_row = page[page.index("<tbody>"):page.index("</tr>", page.index("<tbody>"))]
    assert "Mission Firewall, eTrace" in first_row and "Arms trafficking" in first_row
    assert "utm_source" not in first_row          # the URL is on the article page, not here
    # JSON and facets are Datasette's, unchanged.
    rows = get(f"{base_url}/armswatch/hits.json?_shape=array").json()
    assert rows[0]["id"] == "mf-1" and rows[0]["url"].startswith("https://noticias.example/")


def test_every_hit_has_a_readable_article_page(base_url: str) -> None:
    response = get(f"{base_url}/armswatch/hits/mf-1")
    assert response.status_code == 200
    page = response.text
    assert f"<h1>{LONG_TITLE}</h1>" in page
    assert "<dt>Source</dt><dd>Feed ES — <a href=\"https://noticias.example/mf-1?" in page
    assert "<dt>Language</dt><dd>Spanish</dd>" in page
    assert "<dt>Programs</dt><dd>Mission Firewall, eTrace</dd>" in page
    # Every match, with its snippet and the term marked.
    assert page.count('<div class="match">') == 4
    assert "<mark>Misión Cortafuegos</mark> aseguró 120 fusiles" in page
    assert "“tráfico de armas” in the summary" in page
    # The other report of its story, in English, linked to its own page.
    others = page[page.index("Other reports of this story"):]
    assert ('<a href="/armswatch/hits/mf-en">Mission Firewall: 120 rifles traced with eTrace</a>'
            " — Feed EN") in others and "English" in others
    assert others.count("<li>") == 1
    english = get(f"{base_url}/armswatch/hits/mf-en").text
    assert '<a href="/armswatch/hits/mf-1">' in english
    hostile = get(f"{base_url}/armswatch/hits/evil").text
    assert "<script>alert" not in hostile and "&lt;script&gt;alert" in hostile
    assert "<img src=x" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile
    assert "javascript:" not in hostile and "read it at the source" not in hostile
    assert "Other reports of this story" not in hostile     # a story of one report
    missing = get(f"{base_url}/armswatch/hits/no-such-id")
    assert missing.status_code == 404 and "No hit has this id" in missing.text


def test_the_trend_page_shows_our_chart_and_its_numbers(base_url: str, db_path: Path) -> None:
    page = get(f"{base_url}/-/trends").text
    assert '<img src="/-/trends.png?weeks=12&amp;kind=program" width="600"' in page
    assert 'alt="Line chart, articles per week' in page
    assert '?program_list__arraycontains=Mission%20Firewall">Mission Firewall</a>' in page
    chart = get(f"{base_url}/-/trends.png?weeks=12&kind=program")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(chart.content)).convert("RGB")
    assert picture.size[0] == 1200
    colours = {c for _n, c in picture.getcolors(1 << 20) or []}
    assert {(0, 114, 178), (230, 159, 0)} <= colours and (0, 158, 115) not in colours
    assert PALETTE[:2] == ("#0072B2", "#E69F00")
    # Silly parameters fall back to the defaults rather than failing.
    assert get(f"{base_url}/-/trends?weeks=abc&kind=nope").status_code == 200


def test_the_weekly_counts_query_agrees_with_the_trend(base_url: str, db_path: Path) -> None:
    rows = get(f"{base_url}/armswatch/weekly_counts.json?_shape=array").json()
    this_week = week_label(NOW.date())
    served = {(r["item"], r["week"]): r["articles"] for r in rows}
    with Store.open(db_path) as store:
        counted = weekly_counts(store.db.conn, items=["Mission Firewall", "eTrace",
                                                      "Arms trafficking"], weeks=12, now=NOW)
    assert {(c.item, c.week): c.articles for c in counted if c.articles} == served
    assert served[("Mission Firewall", this_week)] >= 1    # mf-1, published now


# -- screenshots ---------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (`make test` installs it "
    "when run as root with apt-get): the screenshot tests need a headless Chromium")


def screenshot(url: str, target: Path, width: int, profile: Path) -> Image.Image:
    target.unlink(missing_ok=True)
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
         f"--screenshot={target}", f"--window-size={width},1000", url],
        capture_output=True, text=True, timeout=90)
    assert target.is_file(), result.stderr[-2000:]
    image = Image.open(target)
    image.load()
    assert image.size == (width, 1000)
    return image.convert("RGB")


def busy(image: Image.Image) -> float:
    """How far from one flat colour the page is: a blank or error page is close to 0."""
    return sum(ImageStat.Stat(image).stddev) / 3


@needs_chromium
@pytest.mark.parametrize("width", [1280, 800])
def test_screenshots_of_the_hits_article_and_trend_pages(base_url: str, tmp_path: Path,
                                                         width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    profile = tmp_path / "chromium"
    pages = {"hits": f"{base_url}/armswatch/hits", "article": f"{base_url}/armswatch/hits/mf-1",
             "trends": f"{base_url}/-/trends"}
    shots = {name: screenshot(url, ARTIFACTS / f"serve-{name}-{width}.png", width, profile)
             for name, url in pages.items()}
    for name, image in shots.items():
        assert busy(image) > 20, (name, busy(image))
    # The trend page shows the chart: its series' colours are on the screen.
    colours = {c for _n, c in shots["trends"].getcolors(1 << 22) or []}
    assert (0, 114, 178) in colours and (230, 159, 0) in colours
    # The hits page is not the chart page, nor the article page.
    assert shots["hits"].tobytes() != shots["article"].tobytes()
