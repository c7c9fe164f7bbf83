"""One entry per story in every digest (design §13), through real channels: the file channel
(HTML and Markdown), a real SMTP server and the Slack stand-in. A story's earliest report is
listed with "also reported by …" and the other reports' links folded under it; a story told of
in a digest sent before that gains reports comes back as one update line, never as new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from mailserver import MailServer
from slackserver import SlackServer
from test_digest_email import parts
from test_digest_support import (
    NOW,
    SHIPPED_ORDER,
    email_channel,
    file_channel,
    matched,
    open_store,
    seed,
    slack_channel,
)

from alerts.delivery import deliver_pending
from monitor.stories import Rules, place_unplaced
from storage.records import Article, Match
from storage.store import Store

LEAD = ("McALLEN, Texas (Reuters) - The United States and Mexico on Thursday launched Mission "
        "Firewall, a joint effort to stop firearms trafficking across the border, pledging "
        "real-time data sharing on 3,800 weapons seized this year and inspections at 11 ports "
        "of entry.")
WIRE = matched("wire", "https://www.reuters.com/firewall-launch", language="en", feed="Reuters",
               title="US and Mexico launch Mission Firewall to curb southbound gun flows",
               summary=LEAD, published=NOW - timedelta(hours=6))
REPRINT = matched("reprint", "https://news.yahoo.com/firewall-border-guns", language="en",
                  feed="Yahoo News", title="New border plan targets guns headed into Mexico",
                  summary=LEAD, published=NOW - timedelta(hours=5))
UNIVERSAL = matched(
    "universal", "https://www.eluniversal.com.mx/mision-firewall", feed="El Universal",
    title="México y EU lanzan la Misión Firewall contra el tráfico de armas",
    summary="Desde McAllen, Texas, México y Estados Unidos presentaron la Misión Firewall, que "
            "compartirá información sobre las 3.800 armas aseguradas este año e intensificará "
            "las revisiones en 11 puertos de entrada.", published=NOW - timedelta(hours=3))
MILENIO = matched(
    "milenio", "https://www.milenio.com/mision-cortafuegos-mcallen", feed="Milenio",
    title="Arranca Misión Cortafuegos; revisarán autos en 11 cruces fronterizos",
    summary="La Misión Cortafuegos, acordada en McAllen, busca frenar el tráfico de armas hacia "
            "México; se reportan 3.800 armas aseguradas en lo que va del año.",
    published=NOW - timedelta(hours=2))
POLICY = matched(
    "policy", "https://www.politico.com/mission-firewall-funding", language="en",
    feed="Politico", title="State Department puts $12 million more into Mission Firewall",
    summary="WASHINGTON - The State Department will add $12 million to Mission Firewall to pay "
            "for scanners, Deputy Secretary Landau said.", published=NOW - timedelta(hours=1))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        store_as_polled(opened, [WIRE, REPRINT, UNIVERSAL, POLICY])
        yield opened


def store_as_polled(store: Store, reports: list[tuple[Article, list[Match]]]) -> None:
    for article, found in reports:
        seed(store, [(article, found)], feed=article.feed)
        place_unplaced(store, Rules(), among=[article.id])


def test_the_file_channel_lists_each_story_once_with_the_others_folded(
        store: Store, tmp_path: Path) -> None:
    folder = file_channel("archive", tmp_path / "digests")
    report = deliver_pending(store, folder, now=NOW, watch_order=SHIPPED_ORDER)
    assert report.sent and report.hits == 4, report.summary()
    markdown = next((tmp_path / "digests").glob("*.md")).read_text(encoding="utf-8")
    html = next((tmp_path / "digests").glob("*.html")).read_text(encoding="utf-8")
    assert markdown.count("- **[") == 2                 # two stories, four hits
    assert "also reported by 2 outlets · EN 1 · ES 1" in markdown
    assert "[Yahoo News: New border plan targets guns headed into Mexico]" \
           "(https://news.yahoo.com/firewall-border-guns)" in markdown
    assert "Mission Firewall 4" in markdown             # the counts are still of hits
    assert markdown.index(WIRE[0].title) < markdown.index("Yahoo News:")
    assert "also reported by 2 outlets · EN 1 · ES 1" in html
    assert 'href="https://www.eluniversal.com.mx/mision-firewall"' in html


def test_a_story_sent_before_that_gains_a_report_is_one_update_line(
        store: Store, tmp_path: Path) -> None:
    folder = file_channel("archive", tmp_path / "digests")
    assert deliver_pending(store, folder, now=NOW, watch_order=SHIPPED_ORDER).sent
    store_as_polled(store, [MILENIO])
    later = deliver_pending(store, folder, now=NOW + timedelta(hours=2),
                            watch_order=SHIPPED_ORDER)
    assert later.sent and later.hits == 1
    newest = sorted((tmp_path / "digests").glob("*.md"))[-1].read_text(encoding="utf-8")
    assert newest.count("Update to a story sent before: 1 more report · ES 1") == 1
    assert MILENIO[0].title in newest and "also reported by" not in newest
    assert "Matched" not in newest and "“" not in newest   # no evidence: it is not news


def test_email_and_slack_show_the_story_line(store: Store, slack: SlackServer) -> None:
    with MailServer() as server:
        assert deliver_pending(store, email_channel(server.port), now=NOW,
                               watch_order=SHIPPED_ORDER).sent
        [received] = server.wait_for(1)
    body = parts(received.message)
    for text in (body["text/plain"], body["text/html"]):
        assert text.count("also reported by 2 outlets · EN 1 · ES 1") == 1
    assert "Yahoo News: New border plan targets guns headed into Mexico " \
           "https://news.yahoo.com/firewall-border-guns" in body["text/plain"]
    assert deliver_pending(store, slack_channel(slack), now=NOW, watch_order=SHIPPED_ORDER).sent
    dump = json.dumps(slack.accepted)
    assert dump.count("also reported by 2 outlets") == 1
    assert "<https://news.yahoo.com/firewall-border-guns|Yahoo News: New border plan" in dump
