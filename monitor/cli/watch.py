"""`armswatch watch …`: test a text or a term against the watch list, and backfill stored
articles with what the watch list holds now (design §14)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from alerts.wording import printable
from monitor.cli.context import Context, pass_context
from monitor.cli.filters import FilterError, parse_since, resolve_item
from monitor.cli.output import iso
from monitor.matching import ItemPlan, WatchList, backfill, fingerprint, plan
from monitor.settings import WatchItem
from monitor.stories import place_unplaced, rules_for
from storage.store import Store

FORMATS = ("table", "json")


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except FilterError as exc:
        raise click.BadParameter(str(exc)) from None


def _items(config_items: Sequence[WatchItem], names: Sequence[str]) -> list[WatchItem]:
    """The watch items ``names`` mean (all of them when none is named), or a usage error."""
    if not names:
        return list(config_items)
    by_name = {item.name: item for item in config_items}
    try:
        chosen = [by_name[resolve_item(name, by_name)] for name in names]
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'--item'") from None
    return list({item.name: item for item in chosen}.values())


@contextmanager
def _store(ctx: Context) -> Iterator[Store]:
    store = Store.open(ctx.existing_db())
    try:
        yield store
    finally:
        store.close()


@click.group()
def watch() -> None:
    """Work with the watch list."""


@watch.command("test")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.File("r", encoding="utf-8"),
              help="Read the text from this file ('-' for standard input).")
@click.option("--stored", is_flag=True,
              help="Take TEXT as a term: how many stored articles it would match, and which.")
@click.option("--item", metavar="NAME",
              help="With --stored: how many stored articles this watch item matches.")
@click.option("--since", metavar="30d|DATE", callback=_since,
              help="With --stored: only articles published since then.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="With --stored: a table for people or JSON for programs.")
@pass_context
def watch_test(ctx: Context, text: str | None, file: Any, stored: bool, item: str | None,
               since: datetime | None, fmt: str) -> None:
    """Show which watch items TEXT matches, and why; with --stored, what a term (or --item)
    would match among the stored articles."""
    if stored:
        if file is not None or (text is None) == (item is None):
            raise click.UsageError("with --stored, give a term to test, or --item NAME "
                                   "(not both, and not --file)")
        if item is not None:
            tried = _items(ctx.config.watch, [item])[0]
        else:
            assert text is not None
            if not text.strip():
                raise click.UsageError("the term to test is empty")
            tried = WatchItem(name=text.strip(), kind="topic", terms=(text.strip(),))
        with _store(ctx) as store:
            found = plan(store, tried, since, fresh=True)
        _show([found], fmt, dry_run=True, since=since, tested=True)
        return
    if item is not None or since is not None:
        raise click.UsageError("--item and --since go with --stored")
    if (text is None) == (file is None):
        raise click.UsageError("give the text to test, or --file F (not both)")
    body = text if text is not None else file.read()
    explanation = WatchList(ctx.config.watch).explain(body)
    for line in explanation.lines():
        click.echo(printable(line))   # the text may be a pasted article, escapes and all


@watch.command("backfill")
@click.option("--item", "names", multiple=True, metavar="NAME",
              help="Only this watch item (repeatable); default: every item.")
@click.option("--since", metavar="30d|DATE", callback=_since,
              help="Only articles published since a duration ago (30d, 2w) or a date; "
              "default: every stored article.")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would be gained.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_context
def watch_backfill(ctx: Context, names: tuple[str, ...], since: datetime | None, dry_run: bool,
                   fmt: str) -> None:
    """Re-match stored articles against the current watch list and record the new hits."""
    items = _items(ctx.config.watch, names)
    with _store(ctx) as store, _progress(len(items)) as advance:
        run = backfill(store, items, since=since, now=datetime.now(UTC), dry_run=dry_run,
                       on_item_done=advance)
        if not dry_run:   # the new hits join stories
            place_unplaced(store, rules_for(ctx.config.stories),
                           among=[a.id for p in run.plans for a in p.gained])
    _show(run.plans, fmt, dry_run=dry_run, since=since)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[ItemPlan], None]]:
    """One step per item on a terminal; nothing when output goes to a file or a pipe."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda plan: None
        return
    with click.progressbar(length=total, label="Backfilling", file=sys.stderr,
                           show_pos=True, show_eta=False) as bar:
        yield lambda plan: bar.update(1)


def _show(plans: Sequence[ItemPlan], fmt: str, *, dry_run: bool, since: datetime | None,
          tested: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps({"dry_run": dry_run, "since": iso(since),
                               "items": [plan_record(p) for p in plans]},
                              ensure_ascii=False, indent=2))
        return
    for found in plans:
        click.echo(printable("\n".join(_plan_lines(found, dry_run=dry_run, tested=tested))))
    if not tested:
        gained = sum(len(p.gained) for p in plans)
        verb = "would add" if dry_run else "added"
        click.echo(f"{len(plans)} item{'s' if len(plans) != 1 else ''}: {verb} "
                   f"{sum(p.new_matches for p in plans)} matches, {gained} new hits"
                   + (" (dry run: nothing changed)" if dry_run else ""))


def _plan_lines(found: ItemPlan, *, dry_run: bool, tested: bool) -> list[str]:
    gained = len(found.gained)
    if tested:
        head = (f'"{found.item.name}" would match {gained} stored '
                f"article{'s' if gained != 1 else ''} ({found.candidates} looked at)")
    else:
        verb = "would become" if dry_run else "became"
        head = (f"{found.item.name}: {gained} article{'s' if gained != 1 else ''} {verb} hits "
                f"({found.new_matches} new matches, {found.candidates} looked at)")
        if found.lost:
            head += (f"; {len(found.lost)} stored hit{'s' if len(found.lost) != 1 else ''}"
                     " no longer matched (kept)")
    lines = [head]
    counts = found.counts()
    for label, key in (("weeks", "week"), ("feeds", "feed"), ("languages", "language")):
        if counts[key]:
            lines.append(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in counts[key].items()))
    if found.overlap:
        lines.append("  also hits of: " + ", ".join(
            f"{name} {n}" for name, n in found.overlap.most_common()))
    for sample in found.samples():
        article = sample.article
        lines.append(f"  {article.published:%Y-%m-%d} {article.feed}: {article.title}")
        lines += [f'    "{m.term}" in {m.field}: {m.snippet}' for m in sample.matches]
    return lines


def plan_record(found: ItemPlan) -> dict[str, Any]:
    """One item of `watch backfill --format json` (README)."""
    return {
        "item": found.item.name,
        "fingerprint": fingerprint(found.item),
        "candidates": found.candidates,
        "gained": len(found.gained),
        "new_matches": found.new_matches,
        "no_longer_matched": [a.id for a in found.lost],
        "counts": found.counts(),
        "overlap": dict(found.overlap.most_common()),
        "samples": [{"id": s.article.id, "title": s.article.title, "feed": s.article.feed,
                     "published": iso(s.article.published),
                     "url": s.article.url or s.article.canonical_url,
                     "evidence": [{"term": m.term, "field": m.field, "snippet": m.snippet}
                                  for m in s.matches]}
                    for s in found.samples()],
    }
