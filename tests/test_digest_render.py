"""The pure parts of digests: grouping, highlighting and each rendering's escaping and limits."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

from slackserver import slack_problem
from test_digest_support import HOSTILE_TITLE, NOW, WATCH_ORDER, article, channel, match

from alerts.digest import ChannelFailure, Digest, DigestContext, build_digest
from alerts.highlight import highlight
from alerts.links import safe_url
from alerts.render_html import render_html
from alerts.render_slack import MAX_BLOCKS, MAX_SECTION_CHARS, render_slack
from alerts.render_text import render_markdown, render_text
from alerts.wording import subject
from storage.records import FeedState, Hit

CONTEXT = DigestContext(digest_id=7, created=NOW, period_start=NOW - timedelta(days=1),
                        period_end=NOW)
EMAIL = channel("team-email", "email", timezone="America/Mexico_City")


def make(hits: list[Hit], context: DigestContext = CONTEXT, config: object = EMAIL) -> Digest:
    assert config is EMAIL or hasattr(config, "name")
    return build_digest(hits, config, WATCH_ORDER, context)  # type: ignore[arg-type]


def hostile() -> Hit:
    return Hit(article(
        "evil", title=HOSTILE_TITLE, url="javascript:alert(document.cookie)",
        feed="Feed <i>x</i>"), (match(snippet="<img src=x onerror=alert(1)> la Misión "
                                             "Cortafuegos & <!channel> *bold*"),))


def test_hits_grouped_programs_first_in_watch_order_newest_first_each_once() -> None:
    old = article("old", first_seen=NOW - timedelta(hours=5))
    new = article("new", first_seen=NOW - timedelta(hours=1))
    both = article("both", first_seen=NOW - timedelta(hours=2))
    topic = article("topic", first_seen=NOW - timedelta(hours=3))
    digest = make([
        Hit(topic, (match("arms trafficking", "tráfico de armas", kind="topic"),)),
        Hit(old, (match(),)),
        Hit(both, (match("arms trafficking", "tráfico de armas", kind="topic"),
                   match("eTrace", "eTrace"), match())),
        Hit(new, (match(),)),
    ])
    assert [(g.item, [e.article.id for e in g.entries]) for g in digest.groups] == [
        ("Mission Firewall", ["a-new", "a-both", "a-old"]),
        ("arms trafficking", ["a-topic"]),
    ]
    both_entry = digest.groups[0].entries[1]
    assert both_entry.also == ("eTrace", "arms trafficking")
    assert digest.hit_count == 4


def test_channel_restrictions_keep_only_its_items_and_kinds() -> None:
    hits = [Hit(article("p"), (match(),)),
            Hit(article("t"), (match("arms trafficking", "tráfico de armas", kind="topic"),))]
    only_topics = channel("t", "stdout", kinds=("topic",))
    assert [g.item for g in make(hits, config=only_topics).groups] == ["arms trafficking"]
    only_item = channel("i", "stdout", items=("mission firewall",))   # any case
    assert [g.item for g in make(hits, config=only_item).groups] == ["Mission Firewall"]


def test_highlight_ignores_case_accents_and_hyphens_but_not_partial_words() -> None:
    parts = highlight("La MISION  cortafuegos, el eTrace y misiones", ["Misión Cortafuegos",
                                                                       "e-Trace"])
    assert [p.text for p in parts if p.marked] == ["MISION  cortafuegos", "eTrace"]
    assert "".join(p.text for p in parts) == "La MISION  cortafuegos, el eTrace y misiones"
    assert not any(p.marked for p in highlight("las misiones", ["Misión"]))


def test_safe_url_allows_only_http_and_https() -> None:
    assert safe_url("https://a.example/x?q=1&r=<2>|") == "https://a.example/x?q=1&r=%3C2%3E%7C"
    for bad in ("javascript:alert(1)", " JAVASCRIPT:alert(1)", "data:text/html,x", "/relative",
                "http://", "mailto:a@b.c", "https://a.example/\nx", None, ""):
        assert safe_url(bad) is None, bad


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]
        assert not any(k.startswith("on") for k, _ in attrs), attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_feed_text_and_renders_unsafe_links_inert() -> None:
    html = render_html(make([hostile(), Hit(article("ok"), (match(),))]))
    parsed = _Tags()
    parsed.feed(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "i" not in parsed.tags
    assert parsed.hrefs == ["https://news.example.org/ok?a=1&b=2"]
    assert "javascript:" not in html.split("<body")[1].lower().replace("javascript:alert(document",
                                                                        "")
    text = "".join(parsed.text)
    assert HOSTILE_TITLE in text           # shown, as text
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert "<style" not in html and "<script" not in html


def test_html_highlights_the_term_and_has_footer_and_period() -> None:
    html = render_html(make([Hit(article("ok"), (match(),))]))
    assert re.search(r"<strong[^>]*>Misión Cortafuegos</strong>", html)
    assert "config/watchlist.toml" in html and "armswatch watch test" in html
    assert "22 Nov 2025" in html and "CST" in html          # the channel's time zone


def test_text_and_markdown_renderings() -> None:
    digest = make([hostile(), Hit(article("ok", language="en"), (match(),))])
    text = render_text(digest)
    assert "javascript:" not in text and "no web link" in text
    assert "*Misión Cortafuegos*" in text
    assert "https://news.example.org/ok?a=1&b=2" in text and "English" in text
    md = render_markdown(digest)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "](javascript" not in md and "javascript:" not in md
    assert "[Story ok](https://news.example.org/ok?a=1&b=2)" in md
    assert "**Misión Cortafuegos**" in md and r"\*bold\*" in md


def test_slack_escapes_mrkdwn_and_never_links_unsafe_urls() -> None:
    payloads = render_slack(make([hostile()]))
    dump = json.dumps(payloads)
    assert "<!channel>" not in dump and "&lt;!channel&gt;" in dump
    assert "javascript" not in dump
    assert "&lt;script&gt;" in dump and "<script" not in dump
    assert "<https://" not in dump
    ok = json.dumps(render_slack(make([Hit(article("ok"), (match(),))])))
    assert "<https://news.example.org/ok?a=1&amp;b=2|Story ok>" in ok


def test_slack_text_from_a_feed_cannot_format_itself() -> None:
    found = Hit(article("fmt", title="*Bold* _italic_ ~struck~ `code` claims",
                        feed="Feed_with_*stars*"),
                (match(snippet="la Misión Cortafuegos *ya* _no_ ~es~ `nada`"),))
    blocks = [b for p in render_slack(make([found])) for b in p["blocks"]]
    text = "\n".join(b["text"]["text"] if "text" in b else b["elements"][0]["text"]
                     for b in blocks)
    for raw in ("*Bold*", "_italic_", "~struck~", "`code`", "*ya*", "_no_", "~es~", "`nada`",
                "Feed_with"):
        assert raw not in text, raw
    assert "∗Bold∗ ˍitalicˍ ∼struck∼ ˋcodeˋ claims" in text
    assert "Feedˍwithˍ∗stars∗" in text
    assert "*Misión Cortafuegos*" in text                  # our own emphasis stays


def test_failing_feeds_are_capped_in_number_and_length() -> None:
    location = "https://evil.example/" + "x" * 8000
    failing = tuple(FeedState(name=f"Feed {i:02}", url="https://x", status="failed",
                              error=f"redirect loop: {location} redirects back to itself",
                              error_count=3) for i in range(25))
    digest = make([], DigestContext(7, NOW, NOW - timedelta(days=1), NOW, failing_feeds=failing))
    for rendered in (render_text(digest), render_markdown(digest), render_html(digest),
                     json.dumps(render_slack(digest))):
        assert "x" * 400 not in rendered
        assert len(rendered) < 20_000
    text = render_text(digest)
    assert text.count("- Feed ") == 10
    assert "- Feed 09: redirect loop: https://evil.example/xxx" in text
    assert "- and 15 more failing feeds: see them with `armswatch feeds`" in text


def test_500_hits_split_into_slack_messages_within_block_kit_limits() -> None:
    hits = [Hit(article(f"n{i}", title="Título " + "largo " * 40 + str(i),
                        first_seen=NOW - timedelta(minutes=i)),
                (match(snippet="… " + "palabras de contexto " * 20 + "Misión Cortafuegos …"),
                 match("arms trafficking", "tráfico de armas", kind="topic")))
            for i in range(500)]
    failing = tuple(FeedState(name=f"Feed {i}", url="https://x", status="failed", error="HTTP 500",
                              error_count=4) for i in range(40))
    context = DigestContext(7, NOW, NOW - timedelta(days=1), NOW, failing_feeds=failing)
    # A channel that lists up to 500 hits and takes 500 from one feed as no burst.
    listing_all = channel("slack", "slack", max_entries=500, burst=500)
    payloads = render_slack(make(hits, context, listing_all))
    assert len(payloads) > 1
    for number, payload in enumerate(payloads, start=1):
        assert slack_problem(payload) is None, number
        assert len(payload["blocks"]) <= MAX_BLOCKS
        assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS
                   for b in payload["blocks"] if b["type"] == "section")
        assert f"part {number} of {len(payloads)}" in payload["text"]
    shown = sum(json.dumps(p).count("news.example.org/n") for p in payloads)
    assert shown == 500                                     # every hit, once
    assert "Feeds failing" in json.dumps(payloads[-1])


def test_empty_digest_and_problem_sections() -> None:
    failure = ChannelFailure("slack", 4, "Slack is failing (HTTP 500)", NOW - timedelta(hours=3))
    gone = FeedState(name="Milenio", url="https://x", status="gone", error="HTTP 410 Gone")
    context = DigestContext(7, NOW, NOW - timedelta(days=1), NOW, failing_feeds=(gone,),
                            failing_channels=(failure,))
    digest = make([], context)
    assert subject(digest, "[Armswatch]") == "[Armswatch] no new hits (22-23 Nov 2025)"
    text = render_text(digest)
    assert "Milenio: HTTP 410 Gone" in text
    assert "Channel slack: Slack is failing (HTTP 500) — 4 failed attempts" in text
    # A channel is never told about its own failures.
    own = build_digest([], channel("slack", "slack"), WATCH_ORDER, context)
    assert own.failing_channels == ()


def test_subject_counts_items_and_names_the_period_and_the_product_once() -> None:
    digest = make([Hit(article("a"), (match(),)), Hit(article("b"), (match(),)),
                   Hit(article("c"), (match("eTrace", "eTrace"),))])
    period = " (22-23 Nov 2025)"   # in the channel's time zone; the body has the hours
    assert subject(digest, "[Armswatch]") == (
        "[Armswatch] 3 new hits: Mission Firewall 2, eTrace 1" + period)
    # Without a prefix the subject names the product itself, once.
    assert subject(digest, "") == subject(digest, "  ") == (
        "Armswatch digest with 3 new hits: Mission Firewall 2, eTrace 1" + period)
    alert = make([Hit(article("a"), (match(),))], DigestContext(
        8, NOW, NOW - timedelta(minutes=5), NOW, immediate=True))
    assert subject(alert, "[AW]") == (
        "[AW] Alert - 1 new hit: Mission Firewall 1 (23 Nov 2025, 06:55-07:00 CST)")
    assert subject(alert).startswith("Armswatch alert with 1 new hit: Mission Firewall 1 (")
    many = make([Hit(article(name), (match(name, name),)) for name in "ABCDE"])
    assert subject(many, "[Armswatch]") == (
        "[Armswatch] 5 new hits: A 1, B 1, C 1 +2 more" + period)
    month_end = DigestContext(9, NOW, NOW - timedelta(days=30), NOW)
    assert subject(make([], month_end), "[A]") == "[A] no new hits (24 Oct - 23 Nov 2025)"


def test_links_use_the_canonical_url_and_fall_back_to_the_feeds_link() -> None:
    tracked = "https://news.example.org/t?utm_source=rss&id=3&utm_medium=feed"
    canonical = article("c", url=tracked, canonical="https://news.example.org/t?id=3")
    no_canonical = article("f", url="https://news.example.org/f?a=1")
    hostile_canonical = article("h", url="javascript:alert(1)", canonical="javascript:alert(1)")
    digest = make([Hit(a, (match(),)) for a in (canonical, no_canonical, hostile_canonical)])
    text, html = render_text(digest), render_html(digest)
    markdown, slack = render_markdown(digest), json.dumps(render_slack(digest))
    for rendering in (text, html, markdown, slack):
        assert "https://news.example.org/t?id=3" in rendering
        assert "https://news.example.org/f?a=1" in rendering
        assert "utm_" not in rendering and "javascript:" not in rendering
    parsed = _Tags()
    parsed.feed(html)
    assert parsed.hrefs == ["https://news.example.org/t?id=3", "https://news.example.org/f?a=1"]


def test_highlight_marks_a_capitals_only_term_only_in_capitals() -> None:
    parts = highlight("An ibis landed near the IBIS scanner", ["IBIS"])
    assert [p.text for p in parts if p.marked] == ["IBIS"]


def test_evidence_is_grouped_by_the_field_each_term_was_found_in() -> None:
    """The bug this replaces: every term was labelled with the field of the first snippet."""
    found = Hit(article("e"), (
        match("eTrace", "solicitudes de rastreo", field="title",
              snippet="Solicitudes de rastreo crecen en Sonora"),
        match("eTrace", "eTrace", field="summary", snippet="… por eTrace, el sistema …"),
        match("eTrace", "rastreo de armas", field="summary",
              snippet="… el rastreo de armas por eTrace …")))
    [entry] = make([found]).entries
    assert [(e.field, e.terms, e.snippet) for e in entry.evidence] == [
        ("title", ("solicitudes de rastreo",), "Solicitudes de rastreo crecen en Sonora"),
        # The second snippet shows both summary terms: one line, not two.
        ("summary", ("eTrace", "rastreo de armas"), "… el rastreo de armas por eTrace …"),
    ]
    text = render_text(make([found]))
    assert ("matched “solicitudes de rastreo” in the title: “*Solicitudes de rastreo* crecen en "
            "Sonora”") in text
    assert ("matched “eTrace”, “rastreo de armas” in the summary: “… el *rastreo de armas* por "
            "*eTrace* …”") in text
    assert text.count("matched “") == 2


def test_slack_sections_stay_within_limits_when_escaping_grows_the_text() -> None:
    worst = [Hit(article(f"w{i}", title="&" * 400, url="https://x.example/" + "<" * 900,
                         feed="Feed & <co>"),
                 (match(snippet="<" * 800 + " Misión Cortafuegos " + "&" * 800),))
             for i in range(30)]
    payloads = render_slack(make(worst))
    for payload in payloads:
        assert slack_problem(payload) is None
    dump = json.dumps(payloads)
    assert dump.count("Feed &amp; &lt;co&gt;") == 30          # every hit is there
    assert dump.count("<https://x.example") == 0            # a 2,700-character link is not
