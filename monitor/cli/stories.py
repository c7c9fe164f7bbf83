"""`armswatch stories`: hits grouped into stories (design §13), and `--rebuild`, which regroups
every hit from scratch with the config's `[stories] window`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import click

from monitor.cli.columns import terminal_width
from monitor.cli.context import Context, pass_context
from monitor.cli.filters import parse_since
from monitor.cli.output import HIT_FORMATS, format_stories
from monitor.cli.query import MAX_LIMIT, item_name, parsed
from monitor.stories import rebuild, rules_for
from storage.store import Store


@click.command()
@click.option("--since", metavar="7d|DATE", callback=parsed(parse_since),
              help="Only stories with a report published since a duration ago (12h, 7d) or a "
              "date (2026-11-01).")
@click.option("--item", metavar="NAME", help="Only stories with a hit of this watch item.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True,
              help="At most this many stories.")
@click.option("--format", "fmt", type=click.Choice(HIT_FORMATS), default="table", show_default=True)
@click.option("--rebuild", "regroup", is_flag=True,
              help="Regroup every hit from scratch first (after changing [stories] window).")
@pass_context
def stories(ctx: Context, since: datetime | None, item: str | None, limit: int, fmt: str,
            regroup: bool) -> None:
    """Hits grouped into stories, the latest report first: one line per event."""
    if regroup:
        rules = rules_for(ctx.config.stories)   # a write: the whole config, like `poll`
        with Store.open(ctx.existing_db()) as store:
            total = store.hits.count()
            with _progress(total) as advance:
                placements = rebuild(store, rules, progress=advance)
        click.echo(f"Regrouped {len(placements)} hits into "
                   f"{len({p.story_id for p in placements})} stories.", err=True)
    with ctx.read_only_store() as store:
        name = item_name(ctx, store, item) if item is not None else None
        found = store.stories.query(since=since, item=name, limit=limit)
        if not found and fmt == "table":
            click.echo("No stories match these filters." if (since or item) else
                       "No stories yet: hits are grouped into stories as they are polled "
                       "(`armswatch stories --rebuild` groups hits stored before).")
            return
    click.echo(format_stories(found, fmt, width=terminal_width()))


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; nothing when output goes to a file or a pipe."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    with click.progressbar(length=total, label="Regrouping", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.update(done - shown)
            shown = done
        yield advance
