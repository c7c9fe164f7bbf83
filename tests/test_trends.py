"""Trends (design §15): storage.trends.weekly_counts against what is stored, `armswatch trends`
on a real database file, and the chart as a decoded PNG."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from alerts.chart import MAX_SERIES, PALETTE, alt_text, chart_spec, render_png
from alerts.trend import Series, Trend, signed, sparkline, trend_of
from monitor.cli.commands import cli
from monitor.feeds.entries import entry_to_article
from monitor.stories import Rules, place_hits
from storage.records import Article, FeedState, Hit, Match
from storage.store import Store
from storage.trends import WeekCount, week_label, week_starts, weekly_counts

# Monday 23 November 2026 is the first day of ISO week 2026-W48.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)   # a Wednesday of 2026-W48
W48 = date(2026, 11, 23)
W47 = date(2026, 11, 16)


def article(key: str, published: datetime, *, first_seen: datetime | None = None) -> Article:
    return Article(id=key, feed="Wire", guid=key, url=f"https://news.example/{key}",
                   canonical_url=f"https://news.example/{key}", title=f"Story {key}",
                   summary="", content="", published=published,
                   first_seen=first_seen or published, language="en")


def match(item: str, term: str | None = None, field: str = "title") -> Match:
    return Match(item=item, kind="program", term=term or item, field=field,  # type: ignore[arg-type]
                 snippet=f"… {term or item} …")


def save(store: Store, *hits: tuple[Article, list[Match]]) -> None:
    store.save_feed_result(FeedState(name="Wire", url="https://wire.example/rss", status="ok"),
                           [a for a, _ in hits], {a.id: m for a, m in hits})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "armswatch.db") as opened:
        yield opened


def counts(store: Store, items: list[str], weeks: int = 2,
           now: datetime = NOW) -> dict[tuple[str, str], int]:
    return {(c.item, c.week): c.articles
            for c in weekly_counts(store.db.conn, items=items, weeks=weeks, now=now)}


def test_week_boundaries_are_monday_midnight_utc(store: Store) -> None:
    sunday_late = datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC)
    monday_start = datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC)
    save(store, (article("sun", sunday_late), [match("Mission Firewall")]),
         (article("mon", monday_start), [match("Mission Firewall")]),
         (article("mon2", monday_start + timedelta(hours=5)), [match("Mission Firewall")]))
    assert counts(store, ["Mission Firewall"]) == {("Mission Firewall", "2026-W47"): 1,
                                                   ("Mission Firewall", "2026-W48"): 2}


def test_a_time_with_another_offset_counts_in_its_utc_week(store: Store) -> None:
    # Monday 03:00 in UTC+05:00 is Sunday 22:00 UTC: last week. Sunday 20:00 in UTC-05:00 is
    # Monday 01:00 UTC: this week.
    east = datetime(2026, 11, 23, 3, 0, tzinfo=timezone(timedelta(hours=5)))
    west = datetime(2026, 11, 22, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    save(store, (article("east", east), [match("eTrace")]),
         (article("west", west), [match("eTrace")]))
    assert counts(store, ["eTrace"]) == {("eTrace", "2026-W47"): 1, ("eTrace", "2026-W48"): 1}


def test_an_entry_without_a_date_counts_in_the_week_it_was_first_seen(store: Store) -> None:
    # The parser stores such an entry with the fetch time (entries.clamp_date).
    fetched = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
    undated = entry_to_article({"id": "u1", "title": "Mission Firewall: sin fecha",
                                  "link": "https://news.example/u1"}, feed_name="Wire",
                                 feed_url="https://wire.example/rss", language=None,
                                 fetched_at=fetched)
    assert undated is not None and undated.published == undated.first_seen == fetched
    save(store, (undated, [match("Mission Firewall")]))
    assert counts(store, ["Mission Firewall"]) == {("Mission Firewall", "2026-W47"): 1,
                                                   ("Mission Firewall", "2026-W48"): 0}


def test_an_article_is_counted_once_per_item_and_under_each_of_its_items(store: Store) -> None:
    when = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    save(store, (article("both", when), [match("Mission Firewall", "Mission Firewall"),
                                         match("Mission Firewall", "Misión Cortafuegos",
                                               "summary"),
                                         match("eTrace")]))
    assert counts(store, ["Mission Firewall", "eTrace"]) == {
        ("Mission Firewall", "2026-W47"): 0, ("Mission Firewall", "2026-W48"): 1,
        ("eTrace", "2026-W47"): 0, ("eTrace", "2026-W48"): 1}


def test_backfilled_hits_count_in_their_articles_week(store: Store) -> None:
    old = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    save(store, (article("quiet", old), []))              # stored, matched nothing then
    run = store.backfills.record("NIBIN", "f", ran_at=NOW, since=None, articles=1,
                                 matches={"quiet": [match("NIBIN")]})
    assert run is not None
    assert counts(store, ["NIBIN"]) == {("NIBIN", "2026-W47"): 1, ("NIBIN", "2026-W48"): 0}


def test_counts_equal_the_stored_hits_week_by_week(store: Store) -> None:
    # Seventy articles spread over ten weeks and two items, some before the window.
    start = datetime(2026, 9, 14, 6, 0, tzinfo=UTC)
    items = ["Mission Firewall", "eTrace"]
    hits = [(article(f"a{n}", start + timedelta(hours=23 * n)),
             [match(items[n % 2])] + ([match(items[1])] if n % 7 == 0 else []))
            for n in range(70)]
    save(store, *hits)
    found = weekly_counts(store.db.conn, items=items, weeks=8, now=NOW)
    for item in items:
        for monday in week_starts(8, NOW):
            expected = {h.article.id for h in store.hits.query(item=item, limit=1000)
                        if monday <= h.article.published.date() < monday + timedelta(weeks=1)}
            [count] = [c for c in found if c.item == item and c.monday == monday]
            assert count.articles == len(expected), (item, monday)
    assert sum(c.articles for c in found) > 0


def test_items_are_matched_in_any_case_and_unknown_ones_are_zero(store: Store) -> None:
    save(store, (article("x", NOW - timedelta(hours=1)), [match("eTrace")]))
    found = weekly_counts(store.db.conn, items=["ETRACE", "Nothing Yet"], weeks=1, now=NOW)
    # A hit in no story (stored before stories, never regrouped) is a story of its own.
    assert found == [WeekCount("ETRACE", W48, 1, 1), WeekCount("Nothing Yet", W48, 0, 0)]


def test_weeks_out_of_range_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="weeks must be from 1 to 520, not 0"):
        weekly_counts(store.db.conn, items=["eTrace"], weeks=0, now=NOW)


def test_iso_week_labels_across_a_year_end() -> None:
    assert week_label(date(2026, 12, 28)) == "2026-W53"
    assert week_label(date(2027, 1, 4)) == "2027-W01"
    assert week_label(date(2025, 12, 29)) == "2026-W01"   # ISO 2026 begins in December 2025
    assert week_starts(3, datetime(2027, 1, 5, tzinfo=UTC)) == [
        date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4)]


def test_sparkline_and_change() -> None:
    assert sparkline([0, 1, 4, 8]) == "▁▂▅█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 1]) == "▁█"
    assert [signed(n) for n in (3, -2, 0)] == ["+3", "\u22122", "\u00b10"]
    series = Series("eTrace", (1, 4, 2))
    assert (series.this_week, series.last_week, series.change, series.total) == (2, 4, -2, 7)


# -- the chart ------------------------------------------------------------------------------------

def trend_with(n: int) -> Trend:
    mondays = tuple(W48 - timedelta(weeks=w) for w in range(11, -1, -1))
    return Trend(mondays, tuple(Series(f"Item {i}", tuple((i + w) % 5 for w in range(12)))
                                for i in range(n)))


def colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    found = image.getcolors(maxcolors=1 << 20)
    assert found is not None
    return {(c[0], c[1], c[2]) for _count, c in found if isinstance(c, tuple)}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


@pytest.mark.parametrize("series", [1, 3])
def test_the_png_decodes_and_draws_one_colour_per_item(series: int) -> None:
    png = render_png(trend_with(series))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == 1200   # 600 px wide, drawn at 2x
    seen = colours(png)
    for colour in PALETTE[:series]:
        assert rgb(colour) in seen, colour
    for colour in PALETTE[series:]:
        if colour != "#000000":                  # the colour of the text, too
            assert rgb(colour) not in seen, colour


def test_the_chart_shows_at_most_the_palette_and_says_the_rest() -> None:
    trend = trend_with(MAX_SERIES + 3)
    spec = chart_spec(trend)
    assert len({v["item"] for v in spec["data"]["values"]}) == MAX_SERIES
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Articles"
    assert "ISO week" in spec["layer"][0]["encoding"]["x"]["title"]
    assert alt_text(trend).endswith("; 3 more in the table.")
    assert rgb(PALETTE[-1]) in colours(render_png(trend))


def test_trend_of_keeps_items_in_order_with_their_weeks() -> None:
    found = trend_of([WeekCount("b", W47, 1), WeekCount("b", W48, 2), WeekCount("a", W47, 0),
                      WeekCount("a", W48, 5)])
    assert found.weeks == ("2026-W47", "2026-W48") and found.this_week == "2026-W48"
    assert [(s.item, s.counts) for s in found.series] == [("b", (1, 2)), ("a", (0, 5))]


# -- armswatch trends -----------------------------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "armswatch.db"
    now = datetime.now(UTC)
    with Store.open(path) as store:
        save(store, (article("n1", now - timedelta(minutes=5)), [match("Mission Firewall")]),
             (article("n2", now - timedelta(days=7)), [match("Mission Firewall"),
                                                       match("Security Implementation Group")]))
    return path


def run(db: Path, *args: str) -> Result:
    env = {"COLUMNS": "80", "ARMSWATCH_CONFIG": str(Path(__file__).parents[1] / "config")}
    return CliRunner().invoke(cli, ["--db", str(db), "trends", *args], env=env)


def test_trends_table_fits_80_columns_with_a_sparkline(db: Path) -> None:
    result = run(db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    [firewall] = [line for line in lines if line.startswith("Mission Firewall ")]
    assert "▁" in firewall and "█" in firewall
    [group] = [line for line in lines if line.startswith("Security Implementation Group")]
    assert group.split()[-4:] == ["0", "0", "\u22121", "1"]   # this week, stories, change, total
    assert any(line.startswith("Ghost guns ") for line in lines)   # no articles: zeros


def test_trends_json_and_csv_match_the_stored_hits(db: Path) -> None:
    result = run(db, "--format", "json", "--item", "mission firewall", "--weeks", "3")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    this, last = week_starts(2, datetime.now(UTC))[::-1]
    assert [(r["item"], r["articles"]) for r in rows] == [("Mission Firewall", 0),
                                                          ("Mission Firewall", 1),
                                                          ("Mission Firewall", 1)]
    assert rows[-1]["week"] == week_label(this) and rows[-2]["week_start"] == last.isoformat()
    csv_out = run(db, "--format", "csv", "--item", "eTrace", "--weeks", "1")
    assert csv_out.output.splitlines() == ["item,week,week_start,articles,stories",
                                           f"eTrace,{week_label(this)},{this.isoformat()},0,0"]


def test_trends_writes_the_chart(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    result = run(db, "--item", "Mission Firewall", "--png", str(target))
    assert result.exit_code == 0, result.output
    assert f"Chart written to {target}" in result.output
    assert Image.open(target).size[0] == 1200
    assert rgb(PALETTE[0]) in colours(target.read_bytes())


def test_bad_input_is_refused_in_one_line_and_the_database_survives(db: Path,
                                                                      tmp_path: Path) -> None:
    unknown = run(db, "--item", "Mision Firewal")
    assert unknown.exit_code == 2
    assert ('no watch item is named "Mision Firewal"; did you mean "Mission Firewall"?'
            in unknown.output)
    weeks = run(db, "--weeks", "0")
    assert weeks.exit_code == 2 and "'--weeks': 0 is not in the range 1<=x<=520" in weeks.output
    folder = tmp_path / "no-such-folder" / "chart.png"
    unwritable = run(db, "--png", str(folder))
    assert unwritable.exit_code == 1
    assert unwritable.output == (f"error: cannot write the chart to {folder}: "
                                 "No such file or directory\n")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        denied = run(db, "--png", str(locked / "chart.png"))
        assert denied.exit_code == 1 and "Permission denied" in denied.output
    with Store.open(db) as store:
        assert store.hits.count() == 2


def test_reports_of_one_event_count_as_one_story(store: Store) -> None:
    lead = ("Troops found 86 rifles and 14,500 rounds at the Mariposa crossing in Nogales, "
            "Sonora, the first large seizure credited to Mission Firewall.")
    reports = [replace(article(key, NOW - timedelta(hours=hours)),
                       title="Soldiers seize 86 rifles at Nogales crossing", summary=lead)
               for key, hours in (("wire", 5), ("reprint", 4), ("paper", 3))]
    other = replace(article("policy", NOW - timedelta(hours=2)),
                    title="State Department adds $12 million to Mission Firewall",
                    summary="WASHINGTON - Scanners for the border, Deputy Secretary Landau said.")
    hits = [(a, [match("Mission Firewall")]) for a in (*reports, other)]
    save(store, *hits)
    place_hits(store, [Hit(article=a, matches=tuple(m)) for a, m in hits], Rules())
    [found] = weekly_counts(store.db.conn, items=["Mission Firewall"], weeks=1, now=NOW)
    assert (found.articles, found.stories) == (4, 2)
    assert trend_of([found]).series[0].stories_this_week == 2
