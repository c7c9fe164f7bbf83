"""The `armswatch` command line: a thin click layer over monitor, storage and alerts.

Only the CLI turns our exceptions into messages and exit codes (design §3, §8): 0 success,
1 runtime failure, 2 usage or config error. The read-only commands (hits, feeds, status) live in
monitor.cli.query, `digest` and its failed digests in monitor.cli.digests, what commands share
in monitor.cli.context.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from alerts.wording import printable
from monitor.cli.columns import terminal_width, wrap_lines
from monitor.cli.context import Context, pass_context
from monitor.cli.digests import digest
from monitor.cli.init import init
from monitor.cli.output import format_hits
from monitor.cli.query import feeds, hits, status
from monitor.cli.stories import stories
from monitor.cli.trends import trends
from monitor.cli.watch import watch
from monitor.pages import PageReport
from monitor.poll import PollReport
from monitor.service import LOG_FORMATS, configure_logging
from monitor.settings import summarise
from storage.errors import ArmswatchError, ConfigError


def fail(message: str, code: int) -> None:
    click.echo(printable(f"error: {message}"), err=True)
    sys.exit(code)


class ArmswatchGroup(click.Group):
    """Turns our expected failures into a message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(problem, err=True)
            sys.exit(2)
        except ArmswatchError as exc:
            fail(str(exc), 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)


@click.group(cls=ArmswatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_dir", type=click.Path(path_type=Path, file_okay=False),
              envvar="ARMSWATCH_CONFIG", help="Folder with armswatch.toml and watchlist.toml "
              "[env ARMSWATCH_CONFIG; default ./config, or the checkout's config/].")
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False), envvar="ARMSWATCH_DB",
              help="SQLite database [env ARMSWATCH_DB; default: storage.path of the config].")
@click.version_option(package_name="armswatch")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None, db: Path | None) -> None:
    """Armswatch: news monitoring for US–Mexico arms trafficking."""
    from_env = ctx.get_parameter_source("config_dir") == click.core.ParameterSource.ENVIRONMENT
    ctx.obj = Context(config_dir, db, "ARMSWATCH_CONFIG" if from_env else "--config")


for _command in (hits, stories, feeds, status, trends, digest, watch):
    cli.add_command(_command)


@cli.command()
@pass_context
def check(ctx: Context) -> None:
    """Validate the config files and summarise what they hold."""
    first, *rest = summarise(ctx.config)
    # The folder's line is not wrapped: a path broken over two lines cannot be copied.
    click.echo(f"{first} ({ctx.location.found_by})")
    click.echo(wrap_lines(rest, terminal_width()))
    click.echo("config OK")


@cli.command()
@click.option("--feed", "feeds", multiple=True, metavar="NAME",
              help="Poll this feed now, whatever its schedule (repeatable).")
@click.option("--all", "every", is_flag=True, help="Poll every feed now, whatever its schedule.")
@pass_context
def poll(ctx: Context, feeds: tuple[str, ...], every: bool) -> None:
    """Run one poll cycle over the feeds that are due."""
    report, pages = asyncio.run(_poll(ctx, feeds, every))
    _print_report(report)
    if pages.fetched or pages.without_body or pages.left:
        click.echo(pages.summary())


async def _poll(ctx: Context, names: tuple[str, ...],
                every: bool) -> tuple[PollReport, PageReport]:
    async with ctx.monitor() as monitor:
        selected = monitor.select_feeds(names, every=every)
        if not selected:
            click.echo("No feed is due; `armswatch poll --all` polls every feed now.", err=True)
        with _progress(len(selected), "Polling") as advance:
            report = await monitor.poll(selected, on_feed_done=lambda o: advance(o.feed))
        for alert in await monitor.send_alerts(report):
            click.echo(printable(f"alert: {alert.summary()}"))
        # The cycle's article pages first, then older ones still due, within the budget.
        with _progress(monitor.due_pages(), "Pages") as advance:
            pages = await monitor.fetch_pages(report.queued,
                                              budget=monitor.config.articles.poll_budget,
                                              on_page_done=lambda t: advance(t.host))
        return report, pages


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[str], None]]:
    """A progress bar on a terminal, each step named (a feed, a host); nothing when output
    goes to a file or a pipe."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda name: None
        return
    feed_width = 24
    # What click draws around the bar: "Polling  [", "]  ", "12/19", "  " and the feed's name.
    # One column is left free: a line that fills the terminal wraps on some terminals.
    clutter = len(f"{label}  []  {total}/{total}  ") + feed_width
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                           show_percent=False, show_eta=False,
                           width=max(terminal_width() - 1 - clutter, 4),
                           item_show_func=lambda s: s) as bar:
        def advance(step: str) -> None:
            name = printable(step)
            bar.update(1, name if len(name) <= feed_width else name[:feed_width - 1] + "…")
        yield advance


def _print_report(report: PollReport) -> None:
    # One line per failed feed, however long: it is what people grep a poll's log for.
    click.echo(report.summary())
    if report.outage is not None:   # one line for the feeds our own network failed
        click.echo(report.outage.line())
    for failure in sorted(report.own_failures, key=lambda o: o.feed):
        click.echo(printable(f"  failed: {failure.feed}: {failure.error}"))
    for read in sorted(report.warnings, key=lambda o: o.feed):
        click.echo(printable(f"  warning: {read.feed}: {read.warning}"))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 exposes it to the network).")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@pass_context
def serve(ctx: Context, host: str, port: int) -> None:
    """Browse the hits in a web browser (Datasette) until Ctrl-C or SIGTERM."""
    from monitor.cli.browse import serve as serve_browser

    # The path, not a Store: opening a Store runs migrations, which write, and the browser may
    # run on a read-only mount beside the service.
    serve_browser(ctx.read_only_db_path, host=host, port=port)


@cli.command()
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info",
              show_default=True)
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
              help="json: one JSON object per line, with the figures as fields.")
@pass_context
def run(ctx: Context, log_level: str, log_format: str) -> None:
    """Run the service in the foreground until SIGTERM or Ctrl-C."""
    from monitor.service.scheduler import Scheduler

    configure_logging(log_level, log_format)

    async def serve() -> None:
        async with ctx.monitor() as monitor:
            await Scheduler(monitor).run()

    asyncio.run(serve())


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo database and print its path.")
def demo(keep: bool) -> None:
    """Offline demo: serve bundled sample feeds on loopback, poll them, show the hits."""
    from monitor.cli.demo import run_demo

    result = asyncio.run(run_demo(keep=keep))   # the bundled watch list: no config folder needed
    click.echo(result.report.summary())
    click.echo()
    click.echo(format_hits(result.hits, "table", width=terminal_width()))
    if result.db_path is not None:
        click.echo(f"\nDemo database kept at {result.db_path}; try:\n"
                   f"  armswatch --db {result.db_path} hits --format json --limit 3")


cli.add_command(init)


def main() -> None:
    cli(prog_name="armswatch")


if __name__ == "__main__":
    main()
