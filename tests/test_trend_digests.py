"""The trend in digests (design §15): the email's chart inline (multipart/related, cid:, alt
text) with its numbers beneath, over a real SMTP server; the PNG beside the file channel's HTML;
a sparkline line per program in Slack; and a digest that still goes out when the chart cannot
be drawn."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import vl_convert
from mailserver import MailServer
from PIL import Image
from slackserver import SlackServer
from test_digest_support import (
    NOW,
    WATCH_ORDER,
    article,
    email_channel,
    file_channel,
    match,
    open_store,
    seed,
    slack_channel,
)

from alerts.chart import PALETTE
from alerts.delivery import deliver_pending
from storage.store import Store
from storage.trends import week_label

# NOW is Sunday 23 November 2025, the last day of 2025-W47.
THIS_WEEK, LAST_WEEK = "2025-W47", "2025-W46"


def etrace(snippet: str = "… el sistema eTrace de la ATF …") -> list:  # type: ignore[type-arg]
    return [match("eTrace", "eTrace", snippet=snippet)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Mission Firewall: 2 articles this week (new), 1 last week, 1 eight weeks ago; eTrace: 1
    this week (new); a topic hit, which gets no line of the trend."""
    with open_store(tmp_path) as opened:
        old, last = NOW - timedelta(weeks=8), NOW - timedelta(days=7)
        seed(opened, [(article("old", published=old, first_seen=old), [match()]),
                      (article("last", published=last, first_seen=last), [match()])])
        # Delivered before: the next digest lists only this week's, its trend counts them all.
        deliver_pending(opened, file_channel("archive", Path(opened.path).parent / "old"),
                        now=NOW - timedelta(days=1), watch_order=WATCH_ORDER)
        seed(opened, [
            (article("new1", title="Misión Cortafuegos asegura armas"), [match()]),
            (article("new2", title="Segundo operativo"), [match()]),
            (article("tr", title="Rastreo con eTrace"), etrace()),
            (article("topic", title="Tráfico de armas"),
             [match("arms trafficking", "tráfico de armas", kind="topic")]),
        ])
        yield opened


def test_email_has_the_chart_inline_with_alt_text_and_the_numbers(store: Store) -> None:
    with MailServer() as server:
        report = deliver_pending(store, email_channel(server.port), now=NOW,
                                 watch_order=WATCH_ORDER)
        assert report.sent, report.summary()
        [received] = server.wait_for(1)
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = list(message.iter_parts())
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    assert cid.startswith("trend.armswatch-digest.")
    assert isinstance(html_part, EmailMessage) and isinstance(image, EmailMessage)
    html = str(html_part.get_content())
    assert f'<img src="cid:{cid}"' in html
    assert ('alt="Line chart, articles per week, 2025-W36 to 2025-W47. Mission Firewall: 2 this '
            'week, 1 last week, 4 in 12 weeks; eTrace: 1 this week, 0 last week, 1 in 12 '
            'weeks."') in html
    # The numbers beneath the chart: a row per program, a column per week, then the change.
    table = html[html.index(f'<img src="cid:{cid}"'):]
    assert "<caption" in table and ">W47</th>" in table and ">W36</th>" in table
    assert "Mission Firewall</th>" in table and "arms trafficking</th>" not in table
    assert '<td style="padding:3px 4px;text-align:right;border-bottom:1px solid #eaeef2;' in table
    picture = Image.open(io.BytesIO(image.get_content()))
    assert picture.format == "PNG" and picture.size[0] == 1200
    colours = {c for _n, c in picture.convert("RGB").getcolors(1 << 20) or []}
    assert {(0, 114, 178), (230, 159, 0)} <= colours       # two series: blue and orange
    assert (0, 158, 115) not in colours                     # no third
    # The text part carries the numbers.
    text = str(text_part.get_content())
    lines = text.splitlines()
    heading = f"Articles per week, 2025-W36 to {THIS_WEEK} ({THIS_WEEK}: this week, so far)"
    table = lines[lines.index(heading) + 2:]
    assert table[1].split()[:2] == ["W36", "W37"] and table[1].split()[-2:] == ["W47", "change"]
    [firewall] = [line for line in table if line.startswith("Mission Firewall ")]
    assert firewall.split() == ["Mission", "Firewall", "0", "0", "0", "1", *["0"] * 6, "1", "2",
                                "+1"]
    [row] = [line for line in table if line.startswith("eTrace ")]
    assert row.split()[-2:] == ["1", "+1"]


def test_the_digest_goes_out_without_its_chart_when_it_cannot_be_drawn(
        store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise ValueError("renderer crashed")
    monkeypatch.setattr(vl_convert, "vegalite_to_png", broken)   # the renderer, not our code
    with MailServer() as server, caplog.at_level(logging.WARNING):
        report = deliver_pending(store, email_channel(server.port), now=NOW,
                                 watch_order=WATCH_ORDER)
        assert report.sent, report.summary()
        [received] = server.wait_for(1)
    message = received.message
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    html = str(message.get_body(("html",)).get_content())   # type: ignore[union-attr]
    assert "<img" not in html and "Mission Firewall</th>" in html   # the numbers stay
    assert ("digest sent without its chart: the chart could not be drawn: renderer crashed"
            in caplog.text)
    assert store.db.execute("SELECT status FROM digests ORDER BY id DESC").fetchone()[0] == "sent"


def test_file_channel_writes_the_png_beside_its_html(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "digests"
    report = deliver_pending(store, file_channel("archive", folder), now=NOW,
                             watch_order=WATCH_ORDER)
    assert report.sent
    [html_file] = folder.glob("*.html")
    png = html_file.with_suffix(".png")
    assert png.is_file() and Image.open(png).format == "PNG"
    html = html_file.read_text()
    assert f'<img src="{png.name}" alt="Line chart, articles per week' in html
    assert (folder / html_file.with_suffix(".md").name).is_file()


def test_slack_gives_one_line_per_program(store: Store, slack: SlackServer) -> None:
    report = deliver_pending(store, slack_channel(slack), now=NOW, watch_order=WATCH_ORDER)
    assert report.sent
    [payload] = slack.accepted
    [section] = [b["text"]["text"] for b in payload["blocks"]
                 if b["type"] == "section" and "Articles per week" in b["text"]["text"]]
    heading, *lines = section.splitlines()
    assert heading == (f"*Articles per week, 2025-W36 to {THIS_WEEK} ({THIS_WEEK}: this week, "
                       "so far)*")
    assert lines == [
        "Mission Firewall `▁▁▁▅▁▁▁▁▁▁▅█` *2* this week (+1 from last week)",
        "eTrace `▁▁▁▁▁▁▁▁▁▁▁█` *1* this week (+1 from last week)",
    ]
    assert week_label((NOW - timedelta(days=7)).date()) == LAST_WEEK


def test_a_topic_only_digest_has_no_trend(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        seed(store, [(article("t"), [match("arms trafficking", "tráfico de armas",
                                           kind="topic")])])
        folder = tmp_path / "d"
        assert deliver_pending(store, file_channel("archive", folder), now=NOW,
                               watch_order=WATCH_ORDER).sent
    assert not list(folder.glob("*.png"))
    assert "Articles per week" not in next(folder.glob("*.html")).read_text()
    assert PALETTE[0] == "#0072B2"
