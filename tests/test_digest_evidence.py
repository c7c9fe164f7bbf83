"""What a digest says about why an article matched: each term with the field it was found in and
a snippet of that field, through every channel. Articles are matched by the real matcher with the
shipped watch list, stored in a real SQLite file, and delivered by the real channels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from slackserver import SlackServer, slack_problem
from test_digest_support import (
    NOW,
    SHIPPED_ORDER,
    channel,
    file_channel,
    matched,
    open_store,
    seed,
    slack_channel,
)

from alerts.config import ChannelConfig
from alerts.delivery import deliver_pending
from alerts.digest import DigestContext, build_digest
from alerts.render_slack import render_slack
from alerts.render_text import render_text
from storage.records import Hit
from storage.store import Store

RASTREO_URL = "https://Noticias.example.mx/rastreo?utm_source=rss&id=7&utm_medium=feed"
RASTREO_LINK = "https://noticias.example.mx/rastreo?id=7"
# The reported bug: "solicitudes de rastreo" is in the title, "eTrace" only in the summary.
RASTREO = matched(
    "rastreo", RASTREO_URL, first_seen=NOW - timedelta(hours=1),
    title="Solicitudes de rastreo a la ATF crecen 40% en Sonora",
    summary="Las fiscalías enviaron los datos de 900 fusiles por eTrace, el sistema de la ATF.")
# Two terms in one sentence of the summary: one line, one snippet.
SHARED = matched(
    "shared", "https://noticias.example.mx/sistema", first_seen=NOW - timedelta(hours=2),
    title="Fiscalías de Sonora piden datos de fusiles",
    summary="El sistema eTrace de Estados Unidos recibe cada solicitud de rastreo de México.")
# Four pieces of evidence (two far apart in the summary): three lines and "and 1 more".
MANY = matched(
    "many", "https://wire.example.com/etrace-2025", first_seen=NOW - timedelta(hours=3),
    language="en", feed="Wire",
    title="ATF: eTrace requests from Mexico rose in 2025",
    summary="Mexico sent eTrace requests for 900 rifles. " + "Officials in both countries said "
            "the figure reflects more seizures at the border crossings. " * 3
            + "Each solicitud de rastreo goes to the ATF.",
    content="Analysts compared firearm trace data across the Bicentennial Framework years.")
# The item is in the title, another item only in the content.
FIREWALL = matched(
    "firewall", "https://news.example.com/laredo#top", first_seen=NOW - timedelta(hours=4),
    language="en", feed="Border News",
    title="Mission Firewall inspectors seize 120 rifles at Laredo",
    summary="Agents said the rifles were bound for Sinaloa.",
    content="Casings from the rifles were entered into NIBIN, ATF's ballistic network.")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        seed(opened, [RASTREO, SHARED, MANY, FIREWALL])
        yield opened


def deliver(store: Store, config: ChannelConfig) -> None:
    config = replace(config, timezone="America/Mexico_City")
    report = deliver_pending(store, config, now=NOW, watch_order=SHIPPED_ORDER)
    assert report.sent and report.hits == 4, report.summary()


def test_the_matcher_put_the_terms_where_the_digest_must_say_they_are() -> None:
    """The articles mean what the other tests assume (the matcher is not the code under test)."""
    assert [(m.term, m.field) for m in RASTREO[1]] == [("solicitudes de rastreo", "title"),
                                                       ("eTrace", "summary")]
    summary = [m.snippet for m in MANY[1] if m.field == "summary"]
    assert len(summary) == 2 and "rastreo" not in summary[0] and "eTrace" not in summary[1]


def test_text_names_each_terms_own_field_and_snippet(store: Store,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    deliver(store, channel("stdout"))
    lines = capsys.readouterr().out.splitlines()
    first = lines.index("* Solicitudes de rastreo a la ATF crecen 40% en Sonora")
    assert lines[first:first + 6] == [
        "* Solicitudes de rastreo a la ATF crecen 40% en Sonora",
        "  " + RASTREO_LINK,
        "  El Universal (noticias.example.mx) · 23 Nov 2025 06:00 · Spanish",
        "  matched “solicitudes de rastreo” in the title: “*Solicitudes de rastreo* a la ATF "
        "crecen 40% en Sonora”",
        "  matched “eTrace” in the summary: “Las fiscalías enviaron los datos de 900 fusiles por "
        "*eTrace*, el sistema de la ATF.”",
        "",
    ]
    assert ("  matched “eTrace”, “solicitud de rastreo” in the summary: “El sistema *eTrace* de "
            "Estados Unidos recibe cada *solicitud de rastreo* de México.”") in lines
    many = lines.index("* ATF: eTrace requests from Mexico rose in 2025")
    # The cap drops a repeat of "eTrace" (the summary's), never a term itself.
    expected = ["  matched “eTrace” in the title: “ATF: *eTrace* requests from Mexico rose in 2025",
                "  matched “solicitud de rastreo” in the summary: “…",
                "  matched “firearm trace” in the content: “Analysts compared *firearm trace* data",
                "  and 1 more match: “eTrace” in the summary",
                "  Also matches: Bicentennial Framework"]
    shown = lines[many + 3:many + 8]
    assert all(line.startswith(start) for line, start in zip(shown, expected, strict=True)), shown
    assert lines[many + 4].endswith("Each *solicitud de rastreo* goes to the ATF.”")
    firewall = lines.index("* Mission Firewall inspectors seize 120 rifles at Laredo")
    assert lines[firewall + 1:firewall + 5] == [
        "  https://news.example.com/laredo",
        "  Border News (news.example.com) · 23 Nov 2025 03:00 · English",
        "  matched “Mission Firewall” in the title: “*Mission Firewall* inspectors seize 120 "
        "rifles at Laredo”",
        "  Also matches: NIBIN",
    ]


def test_file_channel_markdown_and_html_show_the_same_evidence(store: Store,
                                                               tmp_path: Path) -> None:
    deliver(store, file_channel("file", tmp_path / "digests"))
    [html_file] = (tmp_path / "digests").glob("*.html")
    [md_file] = (tmp_path / "digests").glob("*.md")
    md = md_file.read_text(encoding="utf-8")
    assert (f"- **[Solicitudes de rastreo a la ATF crecen 40% en Sonora]({RASTREO_LINK})**  \n"
            "  El Universal (noticias.example.mx) · 23 Nov 2025 06:00 · Spanish\n"
            "  - matched “solicitudes de rastreo” in the title: “**Solicitudes de rastreo** a la "
            "ATF crecen 40% en Sonora”\n"
            "  - matched “eTrace” in the summary: “Las fiscalías enviaron los datos de 900 "
            "fusiles por **eTrace**, el sistema de la ATF.”\n") in md
    assert "  - and 1 more match: “eTrace” in the summary\n" in md
    html = html_file.read_text(encoding="utf-8")
    assert f'href="{RASTREO_LINK}"' in html and "utm_" not in html
    mark = r'<strong style="[^"]*">{}</strong>'
    label_then_snippet = r"{}</div><div[^>]*>{}</div>"
    assert re.search(label_then_snippet.format(
        "matched “solicitudes de rastreo” in the title",
        mark.format("Solicitudes de rastreo") + " a la ATF crecen 40% en Sonora"), html)
    assert re.search(label_then_snippet.format(
        "matched “eTrace” in the summary",
        "Las fiscalías enviaron los datos de 900 fusiles por " + mark.format("eTrace")
        + ", el sistema de la ATF."), html)
    assert "and 1 more match: “eTrace” in the summary" in html
    assert "“solicitudes de rastreo”, “eTrace”" not in html + md


def test_slack_blocks_quote_each_fields_snippet(store: Store) -> None:
    with SlackServer() as slack:
        deliver(store, slack_channel(slack))
        [payload] = slack.accepted
    assert payload["text"] == ("Armswatch digest with 4 new hits: Mission Firewall 1, eTrace 3"
                               " (16-23 Nov 2025)")   # a new channel's 7-day backlog
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    [rastreo] = [s for s in sections if RASTREO_LINK in s]
    assert (f"*<{RASTREO_LINK}|Solicitudes de rastreo a la ATF crecen 40% en Sonora>*\n"
            "El Universal (noticias.example.mx) · 23 Nov 2025 06:00 · Spanish\n"
            "matched “solicitudes de rastreo” in the title:\n"
            ">*Solicitudes de rastreo* a la ATF crecen 40% en Sonora\n"
            "matched “eTrace” in the summary:\n"
            ">Las fiscalías enviaron los datos de 900 fusiles por *eTrace*, el sistema de la ATF."
            ) in rastreo
    assert "utm_" not in json.dumps(payload)


def test_evidence_lines_keep_slack_sections_within_limits() -> None:
    """Long snippets in several fields, escaped: every hit still fits its section."""
    long = "&lt;" * 60
    hits = [matched(f"big{i}", f"https://x.example/{i}", first_seen=NOW - timedelta(minutes=i),
                    title=f"eTrace {long} " * 3, summary=f"eTrace {long} " * 20
                    + "solicitud de rastreo de la ATF " + f"{long} " * 20,
                    content=f"firearm trace {long} " * 20) for i in range(60)]
    listing_all = channel("s", "slack", max_entries=60, burst=60)
    digest = build_digest([Hit(a, tuple(m)) for a, m in hits], listing_all,
                          SHIPPED_ORDER, DigestContext(1, NOW, NOW - timedelta(days=1), NOW))
    assert all(len(e.evidence) == 4 for e in digest.entries)
    payloads = render_slack(digest)
    assert all(slack_problem(payload) is None for payload in payloads)
    assert sum(json.dumps(p).count("x.example/") for p in payloads) == 60
    assert render_text(digest).count("and 1 more match: “eTrace” in the summary") == 60
