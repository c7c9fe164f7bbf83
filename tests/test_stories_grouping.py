"""The grouping rules, pure (monitor/stories/): what counts as evidence, which story a hit joins,
and that order of arrival changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from builders import NOW, SHIPPED_WATCH, article

from monitor.matching import WatchList
from monitor.stories import Grouper, Rules, evidence_of, group, story_id
from monitor.stories.text import BODY_LEAD_CHARACTERS, dates, grouping_text, names, numbers
from storage.records import Article

WATCH = WatchList(SHIPPED_WATCH)


def hit(n: int, title: str, summary: str, *, hours: float = 0, language: str = "en",
        url: str | None = None) -> Article:
    return article(n, title=title, summary=summary, language=language,
                   published=NOW + timedelta(hours=hours),
                   canonical_url=url or f"https://news.example/{n}")


def evidence(a: Article):  # type: ignore[no-untyped-def]
    matches = WATCH.match(a.title, a.summary, a.content)
    assert matches, a.title
    return evidence_of(a, matches)


SEIZURE_EN = hit(1, "Soldiers seize 86 rifles at Nogales crossing",
                 "Troops found 86 rifles and 14,500 rounds at the Mariposa crossing in Nogales, "
                 "Sonora, the first large seizure credited to Mission Firewall.")
SEIZURE_ES = hit(2, "Aseguran 86 rifles en la garita Mariposa",
                 "Elementos del Ejército aseguraron 86 rifles y 14 mil 500 cartuchos en la garita "
                 "Mariposa de Nogales, Sonora, como parte de la Misión Cortafuegos.",
                 hours=3, language="es")
POLICY_EN = hit(3, "State Department puts $12 million more into Mission Firewall",
                "WASHINGTON - The State Department will add $12 million to Mission Firewall for "
                "scanners at the border, Deputy Secretary Landau said.", hours=20)


def test_numbers_read_alike_in_both_languages() -> None:
    assert numbers("1,200 rifles, $2.5 million") == numbers("1.200 fusiles, 2,5 millones")
    assert numbers("14 mil 500 cartuchos") == numbers("14,500 rounds") == {"14500"}
    assert numbers("213 mil armas") == numbers("213,000 guns")
    # Years and small counts say nothing about which event it is.
    assert numbers("in 2025, 3 suspects") == frozenset()


def test_dates_read_alike_in_both_languages_and_are_not_numbers() -> None:
    found, rest = dates("met on November 20 in Washington")
    assert found == dates("se reunieron el 20 de noviembre")[0] == {"11-20"}
    assert "20" not in rest


def test_names_are_folded_and_skip_sentence_starts_and_title_case_headlines() -> None:
    assert names("", "The raid in Ciudad Juárez. Police said") == {"ciudad", "juarez"}
    assert names("Aseguran armas en Juárez", "") == {"juarez"}
    assert names("Soldiers Seize Rifles At Nogales Crossing", "the ATF's agents") == {"atf"}
    assert "mexico" not in names("", "guns bound for México and Mexico")


def test_a_translation_joins_and_a_near_miss_stays_apart() -> None:
    placed = {p.article_id: p for p in group(map(evidence, [SEIZURE_EN, SEIZURE_ES, POLICY_EN]),
                                             Rules())}
    assert placed["id-2"].story_id == placed["id-1"].story_id == story_id("id-1")
    assert placed["id-2"].link.method == "evidence" and placed["id-2"].link.like == "id-1"
    assert placed["id-2"].link.score >= Rules().evidence
    # Same program, same week, a different event.
    assert placed["id-3"].story_id == story_id("id-3")
    assert placed["id-3"].link.method == "first"


def test_a_reprint_under_a_new_headline_joins_by_text() -> None:
    reprint = replace(SEIZURE_EN, id="id-9", title="Big gun haul on the border",
                      canonical_url="https://other.example/9", published=NOW + timedelta(hours=1))
    placed = group([evidence(SEIZURE_EN), evidence(reprint)], Rules())
    assert placed[1].story_id == placed[0].story_id
    assert placed[1].link.method == "text" and 0.4 <= placed[1].link.score < 1


def test_the_same_canonical_url_is_one_story_even_with_other_words() -> None:
    other = hit(5, "Ghost guns found in Tijuana", "Police found ghost guns.",
                hours=1, url=SEIZURE_EN.canonical_url)
    placed = group([evidence(SEIZURE_EN), evidence(other)], Rules())
    assert placed[1].story_id == placed[0].story_id and placed[1].link.method == "url"


def test_reports_further_apart_than_the_window_are_two_stories() -> None:
    late = replace(SEIZURE_ES, published=SEIZURE_EN.published + timedelta(hours=73))
    assert len({p.story_id for p in group([evidence(SEIZURE_EN), evidence(late)], Rules())}) == 2
    wide = Rules(window=timedelta(days=5))
    assert len({p.story_id for p in group([evidence(SEIZURE_EN), evidence(late)], wide)}) == 1


def test_arrival_order_does_not_change_a_backlog() -> None:
    hits = list(map(evidence, [SEIZURE_EN, SEIZURE_ES, POLICY_EN]))
    assert group(hits, Rules()) == group(hits[::-1], Rules())


def test_a_late_older_report_joins_the_story_its_newer_reports_formed() -> None:
    """Polled after the story began, an earlier-published report joins it; the story keeps the
    id of the report that started it, so no id changes."""
    grouper = Grouper(Rules())
    first = grouper.add(evidence(SEIZURE_ES))
    older = replace(SEIZURE_EN, published=SEIZURE_ES.published - timedelta(hours=10))
    late = grouper.add(evidence(older))
    assert late.story_id == first.story_id == story_id("id-2")
    assert late.link.like == "id-2"


def test_a_key_every_hit_shares_finds_no_candidates() -> None:
    rules = Rules(common_key=1)
    a, b = evidence(SEIZURE_EN), evidence(replace(SEIZURE_EN, id="id-8", published=NOW))
    grouper = Grouper(rules)
    grouper.add(a)
    assert grouper.near(b.keys(), NOW - rules.window, NOW + rules.window, 1)
    grouper.add(b)
    # Now each key is shared by two hits, over the cap: a third report finds nothing.
    assert grouper.near(b.keys(), NOW - rules.window, NOW + rules.window, 1) == []


def test_a_headline_only_report_joins_through_the_lead_of_its_fetched_page() -> None:
    # A Spanish headline that shares nothing with the English report but the program; the
    # page's lead carries the numbers, place and names that tell the same event.
    headline_only = replace(
        hit(6, "Misión Cortafuegos: golpe en la frontera", "", hours=2, language="es"),
        body="Elementos del Ejército aseguraron 86 rifles y 14 mil 500 cartuchos en la garita "
             "Mariposa de Nogales, Sonora.\n\n" + "Antecedentes de la relación bilateral. " * 200)
    without_page = replace(headline_only, body="")
    assert grouping_text(without_page) == (headline_only.title, "")
    title, rest = grouping_text(headline_only)
    assert rest.startswith("Elementos del Ejército") and len(rest) <= BODY_LEAD_CHARACTERS
    placed = group([evidence(SEIZURE_EN), evidence(headline_only)], Rules())
    assert placed[1].story_id == placed[0].story_id and placed[1].link.method == "evidence"
    alone = group([evidence(SEIZURE_EN), evidence(without_page)], Rules())
    assert alone[1].story_id != alone[0].story_id


def test_a_page_is_not_read_past_its_lead_nor_when_the_feed_gave_text() -> None:
    # Background far down a page names everything the beat names: not read.
    body = "Officials met on Tuesday. " * 100 + "Nogales Sonora 86 rifles 14,500 rounds."
    headline_only = replace(hit(7, "Mission Firewall update", ""), body=body)
    assert "Nogales" not in grouping_text(headline_only)[1]
    # A feed that gives the article's text: the page adds nothing to read.
    full = replace(SEIZURE_EN, content="Troops searched every southbound truck. " * 40)
    with_page = replace(full, body="Page text that the feed's own text makes unneeded.")
    assert grouping_text(with_page) == grouping_text(full)
