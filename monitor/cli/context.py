"""What every command shares: where the config and the database are, read once per run.

Commands that poll, send or test the watch list need the whole config and stop at its first
problem (exit 2). The read-only commands (hits, feeds, status, serve) need only the database
(design §8): they take the sound parts of the config and warn once about the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from monitor.service import Monitor
from monitor.settings import (
    Config,
    ConfigLocation,
    ReadOnlySettings,
    find_config_dir,
    load_config,
    read_for_queries,
    unreadable_config,
)
from storage.errors import ConfigError
from storage.records import FeedHealth
from storage.store import Store


class Context:
    def __init__(self, config_dir: Path | None, db: Path | None,
                 config_given_by: str = "--config") -> None:
        self.given_config_dir = config_dir
        self.config_given_by = config_given_by
        self.db = db
        self._location: ConfigLocation | None = None
        self._config: Config | None = None
        self._read_only: ReadOnlySettings | None = None

    @property
    def location(self) -> ConfigLocation:
        """The config folder, looked up only when a command needs it (`demo` and `init` do
        not); ConfigError naming `armswatch init` when there is none."""
        if self._location is None:
            self._location = find_config_dir(self.given_config_dir, self.config_given_by)
        return self._location

    @property
    def config(self) -> Config:
        """The whole config; ConfigError (exit 2) at any problem."""
        if self._config is None:
            self._config = load_config(self.location.path.resolve())
            for warning in self._config.warnings:
                click.echo(f"warning: {warning}", err=True)
        return self._config

    @property
    def read_only(self) -> ReadOnlySettings:
        """The sound parts of the config, with one warning line when there is a problem."""
        if self._read_only is None:
            try:
                directory = self.location.path.resolve()
            except ConfigError as exc:  # no config folder: --db may still name the database
                self._read_only = unreadable_config(exc.problems)
            else:
                self._read_only = read_for_queries(directory)
            warning = self._read_only.warning()
            if warning is not None:
                click.echo(warning, err=True)
        return self._read_only

    @property
    def db_path(self) -> Path:
        return self.db or self.config.storage.path

    @property
    def read_only_db_path(self) -> Path:
        """--db, else storage.path when that part of the config is sound (else ConfigError)."""
        return self.db if self.db is not None else self.read_only.database(None)

    def monitor(self) -> Monitor:
        return Monitor(self.config, db_path=self.db_path)

    def existing_db(self, path: Path | None = None) -> Path:
        path = path or self.db_path
        if not path.exists():
            raise click.ClickException(
                f"no database at {path} yet: run `armswatch poll` first (or pass --db)")
        return path

    @contextmanager
    def read_only_store(self) -> Iterator[Store]:
        """The database, whatever state the rest of the config is in."""
        store = Store.open(self.existing_db(self.read_only_db_path))
        try:
            yield store
        finally:
            store.close()

    def feed_health(self, store: Store) -> list[FeedHealth]:
        """The configured feeds' health (a feed removed from the config keeps its row); every
        stored feed when the configured ones cannot be read."""
        configured = self.read_only.feeds
        health = store.feeds.health()
        if configured is None:
            return health
        names = {f.name for f in configured}
        return [h for h in health if h.state.name in names]


pass_context = click.make_pass_decorator(Context)
