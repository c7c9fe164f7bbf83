"""Figure 2: items/s of our parse step on realistic 100-item feeds, beside a bare XML parse.

Our step is ``monitor.feeds.parse.parse_feed`` (feedparser, then each entry made an Article: plain
text, dates, language, canonical URL and id), run here in-process on one core; the service runs
it in one worker process per core. Beside it, feedparser alone, to show what our conversion
adds, and the baseline: ``lxml.etree.fromstring`` on the same bytes (``xml.etree`` when lxml is
not installed), the cost of merely reading the XML.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.corpus import FeedSpec, feed_body
from bench.timing import best_of
from monitor.feeds.entries import warm_language_model
from monitor.feeds.parse import _feedparser_parse, parse_feed

FEEDS = {  # FeedSpec index → what it is (see bench/corpus.py)
    "rss": 2,                  # RSS 2.0, English, HTML descriptions
    "rss_full_content": 10,    # RSS 2.0, English, with content:encoded (whole articles)
    "atom": 3,                 # Atom 1.0, Spanish, HTML summaries
}
URL = "https://news.example.org/feed.xml"
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def xml_baseline() -> tuple[str, Callable[[bytes], object]]:
    """lxml.etree.fromstring when lxml is installed, else xml.etree.ElementTree.fromstring."""
    try:
        from lxml import etree  # optional: wanted in the dev extras
    except ImportError:
        import xml.etree.ElementTree as ElementTree
        return "xml.etree.ElementTree.fromstring", ElementTree.fromstring
    return "lxml.etree.fromstring", etree.fromstring


def parse_figure(*, items: int, runs: int, min_seconds: float) -> dict[str, Any]:
    warm_language_model()
    baseline_name, baseline = xml_baseline()
    now = datetime.now(UTC)
    out: dict[str, Any] = {"items_per_feed": items, "baseline": baseline_name, "feeds": {}}
    totals = {"ours": 0.0, "feedparser": 0.0, "baseline": 0.0}
    for name, index in FEEDS.items():
        body = feed_body(FeedSpec(index, items, seed=7))
        parsed = parse_feed(body, feed_name=name, url=URL, headers=HEADERS, language=None,
                            fetched_at=now)
        assert len(parsed.articles) == items, f"{name}: {len(parsed.articles)} articles"
        work: dict[str, Callable[[], object]] = {
            "ours": partial(parse_feed, body, feed_name=name, url=URL, headers=HEADERS,
                            language=None, fetched_at=now),
            "feedparser": partial(_feedparser_parse, body, {**HEADERS, "content-location": URL}),
            "baseline": partial(baseline, body),
        }
        timings = {key: best_of(job, runs=runs, min_seconds=min_seconds)
                   for key, job in work.items()}
        for key, measure in timings.items():
            totals[key] += measure.wall
        out["feeds"][name] = {
            "bytes": len(body),
            **{f"{key}_items_per_s": items / m.wall for key, m in timings.items()},
        }
    count = items * len(FEEDS)
    out["items_per_s"] = count / totals["ours"]
    out["feedparser_items_per_s"] = count / totals["feedparser"]
    out["baseline_items_per_s"] = count / totals["baseline"]
    out["ratio_to_baseline"] = totals["baseline"] / totals["ours"]
    return out
