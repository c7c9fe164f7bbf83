"""`armswatch trends`: distinct articles per watch item per ISO week (design §15), as a table
with a sparkline, JSON or CSV, and the chart as a PNG file.

Read-only like `hits`: it needs only the database, and the watch list (when it can be read) for
the items to show — every item, even one with no articles yet, is a row of zeros, so silence
shows as silence. The counting is storage.trends.weekly_counts, the one the digests and
`armswatch serve` use.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from alerts.chart import render_png
from alerts.trend import Trend, signed, sparkline, trend_of
from monitor.cli.columns import GAP, Column, table, terminal_width, wrap_lines
from monitor.cli.context import Context, pass_context
from monitor.cli.filters import FilterError, resolve_item
from monitor.cli.output import spreadsheet_safe
from storage.errors import ChartError
from storage.store import Store
from storage.trends import MAX_WEEKS, weekly_counts

TREND_FORMATS = ("table", "json", "csv")
# Last week's count is this week's less the change: its column made room for the stories.
_NUMBERS = (Column("this week", right=True), Column("stories", right=True),
            Column("change", right=True), Column("total", right=True))
_ITEM_WRAP = 30        # the longest default item name (29) never wraps
_FEWEST_BARS = 4     # a sparkline narrower than this says nothing


@click.command()
@click.option("--weeks", type=click.IntRange(1, MAX_WEEKS), default=12, show_default=True,
              help="How many ISO weeks, ending with this one.")
@click.option("--item", "items", metavar="NAME", multiple=True,
              help="Only this watch item (any case, accents optional); may be repeated.")
@click.option("--format", "fmt", type=click.Choice(TREND_FORMATS), default="table",
              show_default=True)
@click.option("--png", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Also write the chart to FILE (PNG, 1200 px wide).")
@pass_context
def trends(ctx: Context, weeks: int, items: tuple[str, ...], fmt: str,
           png: Path | None) -> None:
    """Articles per watch item per ISO week (published time, UTC), with a sparkline."""
    with ctx.read_only_store() as store:
        names = _items(ctx, store, items)
        with store.translated():
            counts = weekly_counts(store.db.conn, items=names, weeks=weeks,
                                   now=datetime.now(UTC))
    trend = trend_of(counts)
    if png is not None:
        write_png(png, render_png(trend))
    if fmt == "json":
        click.echo(json.dumps([{"item": c.item, "week": c.week, "week_start": c.monday.isoformat(),
                                "articles": c.articles, "stories": c.stories} for c in counts],
                              ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(trend_csv(trend))
    else:
        click.echo(trend_table(trend, terminal_width()))
    if png is not None and fmt == "table":
        click.echo(f"Chart written to {png}")


def _items(ctx: Context, store: Store, asked: Sequence[str]) -> list[str]:
    """The items to count: those asked for, resolved like `hits --item`; else every item of
    the watch list (in its order), then any other item with stored hits."""
    watch = [w.name for w in ctx.read_only.watch or ()]
    known = list(dict.fromkeys(watch + store.hits.item_names()))
    if not asked:
        return known
    try:
        return list(dict.fromkeys(resolve_item(name, known) for name in asked))
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'--item'") from None


def write_png(path: Path, data: bytes) -> None:
    """``data`` into ``path`` through a temporary file, so a reader never sees half a chart."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent or Path("."),
                                             prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ChartError(f"cannot write the chart to {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ChartError(f"cannot write the chart to {path}: {exc.strerror or exc}") from None


def trend_table(trend: Trend, width: int) -> str:
    """One row per item: its sparkline over the weeks that fit, then the numbers."""
    heading = (f"Articles per ISO week (published, UTC), {trend.weeks[0]} to {trend.weeks[-1]};"
               f" {trend.weeks[-1]} is this week, so far.")
    heading = wrap_lines([heading], width)
    if not trend.series:
        return heading + "\nNo watch items: the watch list cannot be read and no hits are stored."
    numbers = [[str(s.this_week), str(s.stories_this_week), signed(s.change), str(s.total)]
               for s in trend.series]
    fixed = sum(max(len(c.header), *(len(row[i]) for row in numbers))
                for i, c in enumerate(_NUMBERS))
    item_width = min(max(len(s.item) for s in trend.series), _ITEM_WRAP)
    room = width - fixed - item_width - len(GAP) * (len(_NUMBERS) + 1)
    bars = max(min(len(trend.mondays), room), min(_FEWEST_BARS, len(trend.mondays)))
    header = "weeks" if bars == len(trend.mondays) else f"last {bars} weeks"
    columns = [Column("item", wrap_at=_ITEM_WRAP), Column(header), *_NUMBERS]
    rows = [[s.item, sparkline(s.counts)[-bars:], *row]
            for s, row in zip(trend.series, numbers, strict=True)]
    return heading + "\n\n" + table(columns, rows, width)


def trend_csv(trend: Trend) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["item", "week", "week_start", "articles", "stories"])
    for series in trend.series:
        for week, monday, count, stories in zip(trend.weeks, trend.mondays, series.counts,
                                                series.stories, strict=True):
            writer.writerow([spreadsheet_safe(series.item), week, monday.isoformat(), count,
                             stories])
    return out.getvalue().rstrip("\n")
