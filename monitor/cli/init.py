"""`armswatch init [DIR]`: a starter config folder, written from the defaults in the package.

It never overwrites: when either file exists nothing is written at all, and a write that fails
half-way (a full disk) removes what it had written, so a folder is either complete or untouched.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from monitor.settings import CONFIG_FILES, default_config_text
from storage.errors import ArmswatchError, ConfigError

DEFAULT_DIR = Path("config")
WHAT_EACH_HOLDS = {
    "armswatch.toml": "settings: the feeds, how often they are polled, the database, digests",
    "watchlist.toml": "what to look for: the programs and topics, with their terms",
}


def write_starter_config(folder: Path) -> list[Path]:
    """Both default files written into `folder` (created when missing); the paths written."""
    targets = [folder / name for name in CONFIG_FILES]
    existing = [path for path in targets if path.exists()]
    if existing:
        names = " and ".join(str(path) for path in existing)
        verb, them = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise ConfigError([f"{names} already {verb}; `armswatch init` never overwrites a file, "
                           f"so nothing was written: edit {them}, or write a starter config into "
                           f"another folder with `armswatch init OTHER_DIR`"])
    created_folders = [p for p in (folder, *folder.parents) if not p.exists()]
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path in targets:
            # "x": refuse a file that appeared since the check above, rather than replace it.
            with path.open("x", encoding="utf-8") as out:
                written.append(path)
                out.write(default_config_text(path.name))
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        for created in created_folders:   # deepest first
            if created.is_dir() and not any(created.iterdir()):
                created.rmdir()
        where = exc.filename or folder
        raise ArmswatchError(f"{where}: cannot write the starter config "
                             f"({exc.strerror or exc}); nothing was written") from None
    return written


@click.command()
@click.argument("directory", metavar="[DIR]", required=False, default=DEFAULT_DIR,
                type=click.Path(path_type=Path, file_okay=False))
def init(directory: Path) -> None:
    """Write a starter config folder (default ./config); never overwrites a file."""
    written = write_starter_config(directory)
    click.echo(f"Wrote a starter config into {directory}/ (every key is explained in comments):")
    width = max(len(str(path)) for path in written)
    for path in written:
        click.echo(f"  {str(path):<{width}}  {WHAT_EACH_HOLDS[path.name]}")
    option = "" if directory.resolve() == DEFAULT_DIR.resolve() else \
        f"--config {shlex.quote(str(directory))} "
    click.echo("Next:")
    click.echo(f"  armswatch {option}check   validate both files and see what they hold")
    click.echo(f"  armswatch {option}poll    one poll cycle now; then `armswatch hits`")
    click.echo(f"  armswatch {option}run     the service: polls on schedule, sends digests")
