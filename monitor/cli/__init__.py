"""The `armswatch` command line (click): the only place where errors become messages and exit
codes. Output formats, Datasette browsing and the offline demo live beside it."""

from monitor.cli.commands import cli, main

__all__ = ["cli", "main"]
