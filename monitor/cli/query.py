"""The read-only commands: `hits`, `feeds` and `status` (and `stories`: monitor/cli/stories.py).

They need only the database (design §8): a config with a problem costs one warning line, never a
refusal, so hits stay queryable and the healthcheck stays true while a running service keeps its
last good config. Their filters refuse what would silently find nothing (monitor.cli.filters).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import click

from monitor.cli.columns import terminal_width, wrap_lines
from monitor.cli.context import Context, pass_context
from monitor.cli.filters import (
    FilterError,
    parse_since,
    resolve_feed,
    resolve_item,
    resolve_language,
)
from monitor.cli.output import HIT_FORMATS, format_feeds, format_hits, format_stories
from monitor.service import assess, outage_line
from storage.hits import SearchError, fts_query
from storage.outages import NetworkOutages
from storage.outbox import DigestOutbox
from storage.store import Store

T = TypeVar("T")
MAX_LIMIT = 100_000   # more is a typo; `--format csv` of everything stays possible


def parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, str | None],
                                                   T | None]:
    """A click callback running one of our parsers, whose error becomes a usage error (exit 2)."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except (FilterError, SearchError) as exc:
            raise click.BadParameter(str(exc)) from None
    return callback


def _search(text: str) -> str:
    fts_query(text)   # refuses what is not a search, before the database is opened
    return text


@click.command()
@click.option("--item", metavar="NAME",
              help="Only hits of this watch item (any case, accents optional).")
@click.option("--since", metavar="7d|DATE", callback=parsed(parse_since),
              help="Only hits published since a duration ago (12h, 7d, 2w) or a date "
              "(2026-11-01).")
@click.option("--search", metavar="TEXT", callback=parsed(_search),
              help='Full-text search in titles and summaries: words, "a phrase", OR, -word.')
@click.option("--language", metavar="CODE|NAME",
              help="Only articles in this language: en, es, English, español, …")
@click.option("--feed", metavar="NAME", help="Only articles first seen in this feed.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True,
              help="At most this many hits.")
@click.option("--stories", "by_story", is_flag=True,
              help="One line per story (reports of one event) instead of one per hit.")
@click.option("--format", "fmt", type=click.Choice(HIT_FORMATS), default="table", show_default=True)
@pass_context
def hits(ctx: Context, item: str | None, since: datetime | None, search: str | None,
         language: str | None, feed: str | None, limit: int, by_story: bool, fmt: str) -> None:
    """Query stored hits, newest first."""
    with ctx.read_only_store() as store:
        name = item_name(ctx, store, item) if item is not None else None
        code = _language(store, language) if language is not None else None
        feed_name = _feed(store, feed) if feed is not None else None
        found = store.hits.query(item=name, since=since, search=search, language=code,
                                 limit=limit, feed=feed_name)
        if not found and fmt == "table":
            filtered = any(x is not None for x in (item, since, search, language, feed))
            click.echo(_nothing_found(store, filtered))
            return
        stories = store.stories.of_articles([h.article.id for h in found])
        if by_story:
            # The stories of the hits found, in the order their newest hit was found.
            order = list(dict.fromkeys(stories[h.article.id] for h in found
                                       if h.article.id in stories))
            listed = {s.id: s for s in store.stories.query(ids=order, limit=len(order) or 1)}
            click.echo(format_stories([listed[i] for i in order if i in listed], fmt,
                                      width=terminal_width()))
            return
    click.echo(format_hits(found, fmt, width=terminal_width(), stories=stories))


def item_name(ctx: Context, store: Store, name: str) -> str:
    """The item `name` means, among the watch list's items and those with stored hits."""
    # --db alone (no config needed) reads the watch list only when a name must be resolved.
    watch = ctx.read_only.watch or ()
    try:
        return resolve_item(name, [w.name for w in watch] + store.hits.item_names())
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'--item'") from None


def _feed(store: Store, name: str) -> str:
    try:
        return resolve_feed(name, [f.name for f in store.feeds.all()])
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'--feed'") from None


def _language(store: Store, text: str) -> str:
    try:
        return resolve_language(text, store.hits.languages)
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'--language'") from None


def _nothing_found(store: Store, filtered: bool) -> str:
    articles = store.articles.count()
    if not articles:
        return "Nothing has been polled yet: run `armswatch poll`."
    stored = store.hits.count()
    if filtered:
        return f"No hits match these filters (hits stored in all: {stored})."
    return f"No hits yet: none of the stored articles ({articles}) matches the watch list."


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_context
def feeds(ctx: Context, fmt: str) -> None:
    """Feed health: status, articles, last check, next check, last error."""
    with ctx.read_only_store() as store:
        health = ctx.feed_health(store)
        outage = NetworkOutages(store).ongoing()
    if outage is not None and fmt == "table":
        # Outage polls leave each feed's row as it was: say why the checks look old.
        click.echo(wrap_lines([outage_line(outage), ""], terminal_width()))
    click.echo(format_feeds(health, fmt, width=terminal_width()))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_context
def status(ctx: Context, fmt: str) -> None:
    """Health: last poll, failing feeds, pending and failed digests; exit 1 when polling has
    stalled or a digest was refused for good."""
    settings = ctx.read_only
    with ctx.read_only_store() as store:
        feeds = ctx.feed_health(store)
        outbox = DigestOutbox(store)
        pending = [d for name in settings.channels if (d := outbox.pending(name)) is not None]
        outage = NetworkOutages(store).last()
        failed = outbox.failed(settings.channels or None)
        waiting = store.pages.waiting()
    # The longest feed interval: every feed has had its chance within three of them.
    health = assess(feeds, pending, now=datetime.now(UTC), interval=settings.interval,
                    config_problems=settings.problems, outage=outage, failed=failed)
    if fmt == "json":
        click.echo(json.dumps({**health.record(), "article_pages_waiting": waiting}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(wrap_lines([*health.lines(), f"article pages waiting: {waiting}"],
                              terminal_width()))
    # The exit code is the healthcheck's: polling and delivery, whatever the config's state.
    if not health.healthy:
        sys.exit(1)
