"""Browsing the hits in a web browser with Datasette, while the monitor keeps writing.

The only module that imports Datasette (and uvicorn, which serves it). The database is opened as
a normal, mutable database, which Datasette reads through ``mode=ro`` connections: each query
sees what the monitor has committed so far (WAL lets readers and the one writer work at once).
Never immutable mode, which would promise SQLite that the file does not change.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils.asgi import NotFound, Request, Response

from monitor.cli import browse_pages
from monitor.cli.browse_metadata import BROWSE_COLUMNS, metadata
from storage.errors import ArmswatchError, ChartError, StorageError
from storage.sqlite_errors import describe

__all__ = ["app", "browse_url", "check_readable", "metadata", "serve"]

_SETTINGS = {
    "default_page_size": 50,
    "sql_time_limit_ms": 5000,   # the weekly counts read every match: more than the default 1 s
    "facet_time_limit_ms": 1000,
    # Suggestions name columns such as program_list and article_rowid: noise for an analyst.
    "suggest_facets": False,
}


# The hits view's layout (_table.html), the article page and the trend page.
TEMPLATES = Path(__file__).resolve().parent / "browse_templates"


def datasette(db_path: Path, *, title: str = "Armswatch") -> Datasette:
    """A Datasette instance serving the database at ``db_path`` (mutable, read-only access)."""
    _register_pages()
    database = db_path.stem
    return Datasette(files=[str(db_path)], metadata=metadata(title, database=database),
                     settings=_SETTINGS, template_dir=str(TEMPLATES))


class _Pages:
    """Our pages, as a Datasette plugin registered in-process: an article at
    /<database>/hits/<id> (where a row page of the hits view would be, so that address works),
    the trend page at /-/trends and its chart at /-/trends.png. Datasette tries plugin routes
    before its own."""

    def __init__(self) -> None:
        self.__name__ = "armswatch"   # Datasette lists plugins by their module's name

    @hookimpl  # type: ignore[untyped-decorator]  # pluggy's marker is untyped
    def register_routes(self) -> list[tuple[str, Any]]:
        return [(r"^/(?P<database>[^/.]+)/hits/(?P<article_id>[^/]+)$", _article),
                (r"^/-/trends$", _trends),
                (r"^/-/trends\.png$", _trends_png)]


def _register_pages() -> None:
    if pm.get_plugin("armswatch") is None:     # once per process: the manager is global
        pm.register(_Pages(), name="armswatch")


def _database(datasette: Datasette, name: str | None = None) -> Any:
    try:
        return datasette.get_database(name)
    except KeyError:
        raise NotFound(f"no database {name}") from None


async def _article(datasette: Datasette, request: Request) -> Response:
    name = request.url_vars["database"]
    article_id = request.url_vars["article_id"]
    page = await _database(datasette, name).execute_fn(
        lambda conn: browse_pages.article(conn, article_id))
    if page is None:
        raise NotFound("No hit has this id: it matched nothing, or it is not stored.")
    return Response.html(await datasette.render_template(
        "armswatch_article.html", {"article": page, "database": name,
                                   "other_reports": page["other_reports"]}, request=request))


def _trend_of(request: Request) -> browse_pages.TrendRequest:
    return browse_pages.TrendRequest.parse(request.args.get("weeks"), request.args.get("kind"))


async def _trends(datasette: Datasette, request: Request) -> Response:
    database = _database(datasette)
    asked = _trend_of(request)
    found = await database.execute_fn(
        lambda conn: browse_pages.trend(conn, asked, datetime.now(UTC)))
    context = {**browse_pages.trend_page(found, asked), "database": database.name}
    return Response.html(await datasette.render_template(
        "armswatch_trends.html", context, request=request))


async def _trends_png(datasette: Datasette, request: Request) -> Response:
    asked = _trend_of(request)
    found = await _database(datasette).execute_fn(
        lambda conn: browse_pages.trend(conn, asked, datetime.now(UTC)))
    try:   # vl-convert takes a tenth of a second or more: not on the event loop
        png = await asyncio.to_thread(browse_pages.trend_png, found)
    except ChartError as exc:
        raise NotFound(str(exc)) from None
    return Response(png, content_type="image/png", headers={"Cache-Control": "no-store"})


def app(db_path: Path) -> Any:
    """The ASGI application serving ``db_path``: Datasette with the Armswatch metadata."""
    return datasette(Path(db_path)).app()


def serve(db_path: Path, *, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve ``db_path`` at http://host:port/ until SIGINT (Ctrl-C) or SIGTERM.

    Raises StorageError when the database cannot be read and ArmswatchError when the address
    cannot be listened on, before anything is served.
    """
    db_path = Path(db_path)
    check_readable(db_path)
    listener = _listen(host, port)
    config = uvicorn.Config(app(db_path), host=host, port=port, log_level="info",
                            lifespan="on", timeout_graceful_shutdown=10)
    # uvicorn says where it listens only when it opens the socket itself; its logger is
    # set up by Config, so this line looks like the rest of the server's output.
    logging.getLogger("uvicorn.error").info(
        "Browse the hits at %s (Ctrl-C stops)", browse_url(db_path, host, port))
    try:
        with _signals_end_quietly():
            uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()


def browse_url(db_path: Path, host: str, port: int) -> str:
    """Where the hits page of ``db_path`` is served (a wildcard host shown as 127.0.0.1)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{Path(db_path).stem}/hits"


def check_readable(db_path: Path) -> None:
    """Raise StorageError, in words a user can act on, unless Datasette can read ``db_path``."""
    if not db_path.is_file():
        raise StorageError(
            f"{db_path}: no database here yet: start `armswatch run` or run `armswatch poll` "
            "first (or give the right path with --db)")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(hits)")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(_unreadable(exc, db_path)) from exc
    if not set(BROWSE_COLUMNS) <= columns:
        raise StorageError(
            f"{db_path}: the database has an older layout; run `armswatch poll` or "
            "`armswatch run` once to update it (browsing only reads, it never changes it)")


def _unreadable(exc: sqlite3.Error, db_path: Path) -> str:
    if "readonly" in str(exc) or "unable to open" in str(exc):
        # WAL readers need the -wal and -shm files; in a read-only folder only a running
        # writer can have created them.
        return (f"{db_path}: cannot be read: its folder is read-only and the service that "
                "writes it is not running (a database in WAL mode can be read from a "
                "read-only folder only while `armswatch run` has it open); start it first")
    return describe(exc, db_path)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, so a busy port is our clear error, not uvicorn's exit."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ArmswatchError(f"cannot listen on {host}:{port}: {_reason(exc)}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ArmswatchError(f"cannot listen on {host}:{port}: {_reason(exc)}") from exc
    return sock


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


@contextmanager
def _signals_end_quietly() -> Iterator[None]:
    """Let SIGINT and SIGTERM end serving with a normal return.

    uvicorn stops gracefully on either, then raises the signal again under the handlers it
    found: with these no-op handlers that re-raise does nothing, instead of killing the process
    (SIGTERM) or surfacing as KeyboardInterrupt (SIGINT).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: None)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
