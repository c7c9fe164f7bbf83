"""`armswatch digest`: send what is pending now; and the digests a channel refused for good
(design §9), which no longer hold up the digests after them: `digest failed` lists them,
`digest resend` sends them again, `digest drop` gives them up. Their hits stay in the database
either way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from alerts.config import ChannelConfig
from alerts.wording import plural, printable
from monitor.cli.context import Context, pass_context
from monitor.service import deliver, resend
from monitor.settings import Config
from storage.errors import ConfigError
from storage.outbox import DigestOutbox, DigestRecord


@click.group(invoke_without_command=True)
@click.option("--channel", "names", multiple=True, metavar="NAME",
              help="Only this channel (repeatable); default: every configured channel.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and mark nothing.")
@click.option("--preview", type=click.Path(path_type=Path, dir_okay=False),
              help="With --dry-run: also write the HTML rendering to this file.")
@click.pass_context
def digest(click_ctx: click.Context, names: tuple[str, ...], dry_run: bool,
           preview: Path | None) -> None:
    """Build and send what is pending now, whatever the channels' schedules."""
    if click_ctx.invoked_subcommand is not None:
        if names or dry_run or preview is not None:
            raise click.UsageError("--channel, --dry-run and --preview go before no subcommand; "
                                   f"see `armswatch digest {click_ctx.invoked_subcommand} --help`")
        return
    if preview is not None and not dry_run:
        raise click.UsageError("--preview goes with --dry-run")
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    channels = select_channels(ctx.config, names)
    reports = deliver(ctx.existing_db(), channels, ctx.config.watch, dry_run=dry_run,
                      preview_path=preview, retry_now=True)
    for report in reports:
        if dry_run and report.preview:
            click.echo(printable(report.preview))
        click.echo(printable(report.summary()))
    failed = any(r.failed for r in reports)   # each failure is on its channel's line above
    if preview is not None and not failed:
        click.echo(f"HTML preview written to {preview}")
    if failed:
        sys.exit(1)


def select_channels(config: Config, names: tuple[str, ...]) -> list[ChannelConfig]:
    if not config.channels:
        raise ConfigError([
            "armswatch.toml: channels: no digest channel is configured (or all were skipped: see "
            "the warnings above); add a [[channels]] block, see docs/channels.md"])
    if not names:
        return list(config.channels)
    by_name = {c.name.casefold(): c for c in config.channels}
    unknown = [n for n in names if n.casefold() not in by_name]
    if unknown:
        known = ", ".join(c.name for c in config.channels)
        raise ConfigError([f"--channel: no channel named {n!r} (channels: {known})"
                           for n in unknown])
    return [by_name[n.casefold()] for n in names]


_CHANNEL = click.option("--channel", "names", multiple=True, metavar="NAME",
                        help="Only the failed digests of this channel (repeatable).")
_ALL = click.option("--all", "every", is_flag=True,
                    help="Every failed digest (of the --channel given, if any).")
_IDS = click.argument("ids", nargs=-1, type=click.IntRange(min=1), metavar="[ID]...")


def _of_channels(records: list[DigestRecord], names: Sequence[str]) -> list[DigestRecord]:
    wanted = {n.casefold() for n in names}
    return [r for r in records if not wanted or r.channel.casefold() in wanted]


def _chosen(outbox: DigestOutbox, ids: Sequence[int], every: bool,
            names: Sequence[str]) -> list[DigestRecord]:
    """The failed digests named by ID, or all of them with --all; a usage error otherwise."""
    if every == bool(ids):
        raise click.UsageError("give the ids of failed digests, or --all (not both); "
                               "`armswatch digest failed` lists them")
    failed = _of_channels(outbox.failed(), names)
    if every:
        return failed
    by_id = {r.id: r for r in failed}
    for digest_id in ids:
        if digest_id not in by_id:
            record = outbox.get(digest_id)
            why = ("there is no such digest" if record is None
                   else f"it is {record.status}, not failed" if record.status != "failed"
                   else f"it is a digest of channel {record.channel}")
            raise click.BadParameter(f"digest {digest_id}: {why}; `armswatch digest failed` "
                                     "lists the failed ones", param_hint="ID")
    return [by_id[i] for i in dict.fromkeys(ids)]


@digest.command("failed")
@_CHANNEL
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_context
def failed(ctx: Context, names: tuple[str, ...], fmt: str) -> None:
    """List the digests refused for good: not sent, holding up nothing, their hits kept."""
    with ctx.read_only_store() as store:
        outbox = DigestOutbox(store)
        records = _of_channels(outbox.failed(), names)
        counts = outbox.hit_counts([r.id for r in records])
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "channel": r.channel,
                                "created": r.created.isoformat(), "hits": counts.get(r.id, 0),
                                "attempts": r.attempts, "error": r.last_error}
                               for r in records], indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo("No failed digests.")
        return
    for r in records:
        click.echo(f"digest {r.id}  {r.channel}  created {r.created:%Y-%m-%d %H:%M} UTC  "
                   f"{plural(counts.get(r.id, 0), 'hit')}  {plural(r.attempts, 'attempt')}")
        click.echo(printable(f"  {r.last_error or 'refused'}"))
    click.echo("Send one again with `armswatch digest resend ID`, or give it up with "
               "`armswatch digest drop ID` (its hits stay in the database either way).")


@digest.command("resend")
@_IDS
@_ALL
@_CHANNEL
@pass_context
def resend_command(ctx: Context, ids: tuple[int, ...], every: bool,
                   names: tuple[str, ...]) -> None:
    """Send failed digests again, now, each through its channel."""
    with ctx.read_only_store() as store:
        chosen = _chosen(DigestOutbox(store), ids, every, names)
    configured = {c.name: c for c in ctx.config.channels}
    missing = sorted({r.channel for r in chosen if r.channel not in configured})
    if missing:
        raise ConfigError([f"armswatch.toml: channels: no channel named {name!r} is configured "
                           "any more; add it back, or give up its digests with "
                           "`armswatch digest drop`" for name in missing])
    if not chosen:
        click.echo("No failed digests.")
        return
    reports = resend(ctx.existing_db(), [(r.id, configured[r.channel]) for r in chosen],
                     ctx.config.watch)
    for report in reports:
        click.echo(printable(report.summary()))
    if any(r.failed for r in reports):
        sys.exit(1)


@digest.command("drop")
@_IDS
@_ALL
@_CHANNEL
@pass_context
def drop(ctx: Context, ids: tuple[int, ...], every: bool, names: tuple[str, ...]) -> None:
    """Give up failed digests: they are never sent; their hits stay in the database."""
    with ctx.read_only_store() as store:
        outbox = DigestOutbox(store)
        chosen = _chosen(outbox, ids, every, names)
        counts = outbox.hit_counts([r.id for r in chosen])
        for r in chosen:
            if outbox.drop(r.id):
                click.echo(f"{r.channel}: dropped digest {r.id} "
                           f"({plural(counts.get(r.id, 0), 'hit')}, still in the database: "
                           "`armswatch hits`)")
    if not chosen:
        click.echo("No failed digests.")
