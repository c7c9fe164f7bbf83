"""The trend chart (design §15): one Vega-Lite definition, rendered offline to PNG.

Every chart Armswatch draws — the email digest's, the file channel's, `armswatch trends --png`
and the page of `armswatch serve` — is ``chart_spec`` rendered by ``render_png``, the only use of
vl-convert (docs/architecture.md says why it, not matplotlib). vl-convert runs Vega in an
embedded JavaScript engine with fonts of its own: nothing is fetched, no browser is needed.

Readable at 600 px wide (the width mail clients give an image), drawn at twice that for sharp
screens. Colours are Okabe and Ito's palette for colour-blind readers, yellow last (it is faint
on white); a chart has at most that many series, the items with most articles.
"""

from __future__ import annotations

import logging
from typing import Any

from alerts.trend import Trend
from storage.errors import ChartError

log = logging.getLogger(__name__)

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, black, yellow.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442")
MAX_SERIES = len(PALETTE)
WIDTH = 600                       # CSS pixels, as the chart is shown
SCALE = 2                         # pixels drawn per CSS pixel
_FONT = "Liberation Sans, Arial, sans-serif"


def charted(trend: Trend) -> Trend:
    """The series the chart shows: at most MAX_SERIES, those with most articles, in order."""
    if len(trend.series) <= MAX_SERIES:
        return trend
    kept = sorted(trend.series, key=lambda s: -s.total)[:MAX_SERIES]
    return Trend(trend.mondays, tuple(s for s in trend.series if s in kept))


def chart_title(trend: Trend) -> str:
    return (f"Articles per week, {trend.weeks[0]} to {trend.weeks[-1]}" if trend
            else "Articles per week")


def alt_text(trend: Trend) -> str:
    """What the chart shows, for a reader who cannot see it (the numbers follow it anyway)."""
    shown = charted(trend)
    parts = [f"{s.item}: {s.this_week} this week, {s.last_week} last week, {s.total} in "
             f"{len(s.counts)} weeks" for s in shown.series]
    more = len(trend.series) - len(shown.series)
    tail = f"; {more} more in the table" if more else ""
    title = chart_title(trend)
    return f"Line chart, {title[0].lower()}{title[1:]}. " + "; ".join(parts) + tail + "."


def chart_spec(trend: Trend, *, width: int = WIDTH) -> dict[str, Any]:
    """The Vega-Lite definition of the chart of ``trend``."""
    shown = charted(trend)
    items = [s.item for s in shown.series]
    values = [{"week": week, "item": s.item, "articles": n}
              for s in shown.series for week, n in zip(shown.weeks, s.counts, strict=True)]
    x = {"field": "week", "type": "ordinal", "sort": list(shown.weeks),
         "title": "ISO week (Monday to Sunday, UTC)",  # labels: W47
         "axis": {"labelAngle": 0, "labelExpr": "slice(datum.value, 5)"}}
    lines = {
        "mark": {"type": "line", "strokeWidth": 2.5, "point": {"size": 40, "filled": True}},
        "encoding": {
            "x": x,
            "y": {"field": "articles", "type": "quantitative", "title": "Articles",
                  "axis": {"tickMinStep": 1, "format": "d"}, "scale": {"domainMin": 0}},
            "color": {"field": "item", "type": "nominal", "title": None,
                      "scale": {"domain": items, "range": list(PALETTE[:len(items)])},
                      "legend": {"orient": "bottom", "columns": 2, "labelLimit": 280,
                                 "symbolType": "stroke", "symbolStrokeWidth": 3}},
        },
    }
    this_week = {
        "data": {"values": [{"week": shown.this_week, "label": "this week (so far)"}]},
        "layer": [
            {"mark": {"type": "rule", "color": "#555555", "strokeDash": [4, 3]},
             "encoding": {"x": x}},
            {"mark": {"type": "text", "align": "right", "dx": -4, "dy": 2, "baseline": "top",
                      "color": "#333333", "fontSize": 11},
             "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label"}}},
        ],
    }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": chart_title(trend), "anchor": "start", "fontSize": 15},
        # The whole image, axes and legend included, is ``width`` wide.
        "width": width, "height": 360, "background": "white", "padding": 8,
        "autosize": {"type": "fit", "contains": "padding"},
        "config": {"font": _FONT, "axis": {"labelFontSize": 11, "titleFontSize": 12},
                   "legend": {"labelFontSize": 12}, "view": {"stroke": None}},
        "data": {"values": values},
        "layer": [lines, this_week],
    }


def render_png(trend: Trend, *, width: int = WIDTH, scale: int = SCALE) -> bytes:
    """The chart as PNG bytes; ChartError when it cannot be drawn (nothing to draw, or the
    renderer failed)."""
    if not trend:
        raise ChartError("no weeks or items to chart")
    # Imported here, not with the module: the CLI is the __main__ that the parser pool's fork
    # server imports, so a module-level import put vl-convert's 84 MB library into every parser
    # process. Only a process that draws loads it.
    import vl_convert

    try:
        return bytes(vl_convert.vegalite_to_png(chart_spec(trend, width=width), scale=scale))
    except Exception as exc:    # the renderer raises plain ValueError/RuntimeError
        raise ChartError(f"the chart could not be drawn: {exc}") from exc


def digest_chart(trend: Trend | None, channel: str) -> bytes | None:
    """The chart of a digest's trend, or None: no trend, or it cannot be drawn. A chart is an
    extra: its failure is logged and the digest goes without it (its numbers still in it)."""
    if not trend:
        return None
    try:
        return render_png(trend)
    except ChartError as exc:
        log.warning("channel %s: digest sent without its chart: %s", channel, exc)
        return None
