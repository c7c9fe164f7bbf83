"""Browsing with Datasette (monitor.cli.browse): a real server on 127.0.0.1 over a real database
file, asked over real HTTP, while a Store keeps writing to the same file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from monitor.cli import browse
from storage.errors import ArmswatchError, StorageError
from storage.records import Article, FeedState, Match
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2026, 11, 23, 17, 56, tzinfo=UTC)  # a Monday


def article(key: str, title: str, *, days_ago: float, feed: str = "Feed EN",
            language: str = "en", summary: str = "") -> Article:
    return Article(id=key, feed=feed, guid=f"guid-{key}", url=f"https://news.example/{key}",
                   canonical_url=f"https://news.example/{key}", title=title, summary=summary,
                   content="", published=NOW - timedelta(days=days_ago), first_seen=NOW,
                   language=language)


def program(item: str, term: str) -> Match:
    return Match(item=item, kind="program", term=term, field="title", snippet=f"… {term} …")


def topic(item: str, term: str) -> Match:
    return Match(item=item, kind="topic", term=term, field="title", snippet=f"… {term} …")


ARTICLES = [
    article("es-1", "Misión Cortafuegos: México y EU contra el tráfico de armas", days_ago=1,
            feed="Feed ES", language="es", summary="La Misión Cortafuegos aseguró armas"),
    article("en-2", "Mission Firewall and eTrace: the first results", days_ago=2),
    article("en-3", "ATF expands e-Trace access for Mexican prosecutors", days_ago=8),
    article("en-4", "Firewall update for home routers", days_ago=3),  # matched nothing
]
MATCHES = {
    "es-1": [program("Mission Firewall", "Misión Cortafuegos"),
             topic("Arms trafficking", "tráfico de armas")],
    "en-2": [program("Mission Firewall", "Mission Firewall"), program("eTrace", "eTrace")],
    "en-3": [program("eTrace", "e-Trace")],
}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "armswatch.db"
    with Store.open(path) as store:
        store.save_feed_result(FeedState(name="Feed ES", url="https://feeds.example/es",
                                         status="ok"), ARTICLES[:1], MATCHES)
        store.save_feed_result(FeedState(name="Feed EN", url="https://feeds.example/en",
                                         status="ok"), ARTICLES[1:], MATCHES)
        store.save_feed_state(FeedState(
            name="Feed Broken", url="https://feeds.example/broken", status="failed",
            http_status=404, error="HTTP 404 Not Found", error_count=3,
            failing_since=NOW - timedelta(hours=2)))
        store.save_feed_state(FeedState(
            name="Feed Gone", url="https://feeds.example/gone", status="gone", http_status=410,
            error="HTTP 410 Gone: the feed was removed", error_count=1))
    return path


@contextmanager
def serving(db_path: Path) -> Iterator[str]:
    """browse.app(db_path) served by uvicorn in a thread, on a free loopback port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(browse.app(db_path), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "Datasette did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


@pytest.fixture
def base_url(db_path: Path) -> Iterator[str]:
    with serving(db_path) as url:
        yield url


def get_json(url: str, **params: str) -> Any:
    response = httpx.get(url, params={**params, "_shape": "array"}, timeout=15)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_hits_view_answers_json_with_the_hits_newest_first(base_url: str) -> None:
    rows = get_json(f"{base_url}/armswatch/hits.json")
    assert [r["id"] for r in rows] == ["es-1", "en-2", "en-3"]   # en-4 matched nothing
    first, second = rows[0], rows[1]
    assert first["title"] == "Misión Cortafuegos: México y EU contra el tráfico de armas"
    assert first["programs"] == "Mission Firewall"
    assert first["topics"] == "Arms trafficking"
    assert first["language"] == "es"
    assert first["url"] == "https://news.example/es-1"
    assert first["week"] == "2026-11-16"   # Sunday 22 November: the week began Monday 16th
    assert second["programs"] == "Mission Firewall, eTrace"
    assert second["program_list"] == '["Mission Firewall","eTrace"]'
    assert rows[2]["week"] == "2026-11-09"


def test_hits_facets_count_each_program_feed_language_and_week(base_url: str) -> None:
    response = httpx.get(f"{base_url}/armswatch/hits.json", timeout=15)
    facets = response.json()["facet_results"]

    def counts(name: str) -> dict[str, int]:
        return {f["value"]: f["count"] for f in facets[name]["results"]}

    # An article naming two programs counts under each of them.
    assert counts("program_list") == {"Mission Firewall": 2, "eTrace": 2}
    assert counts("feed") == {"Feed EN": 2, "Feed ES": 1}
    assert counts("language") == {"en": 2, "es": 1}
    assert counts("week") == {"2026-11-16": 2, "2026-11-09": 1}
    narrowed = get_json(f"{base_url}/armswatch/hits.json", program_list__arraycontains="eTrace")
    assert [r["id"] for r in narrowed] == ["en-2", "en-3"]


def test_canned_queries_answer(base_url: str) -> None:
    weekly = get_json(f"{base_url}/armswatch/hits_per_program_per_week.json")
    assert weekly == [
        {"week": "2026-11-16", "program": "Mission Firewall", "hits": 2},
        {"week": "2026-11-16", "program": "eTrace", "hits": 1},
        {"week": "2026-11-09", "program": "eTrace", "hits": 1},
    ]
    latest = get_json(f"{base_url}/armswatch/latest_hits_for_program.json",
                      program="mission firewall")
    assert [r["title"] for r in latest] == [ARTICLES[0].title, ARTICLES[1].title]
    assert latest[0]["snippet"] == "… Misión Cortafuegos …"
    assert latest[0]["url"] == "https://news.example/es-1"
    assert get_json(f"{base_url}/armswatch/latest_hits_for_program.json",
                    program="No Such Program") == []
    failing = get_json(f"{base_url}/armswatch/failing_feeds.json")
    assert [(f["name"], f["status"], f["error"]) for f in failing] == [
        ("Feed Broken", "failed", "HTTP 404 Not Found"),
        ("Feed Gone", "gone", "HTTP 410 Gone: the feed was removed"),
    ]


def test_full_text_search_finds_words_without_their_accents(base_url: str) -> None:
    articles = get_json(f"{base_url}/armswatch/articles.json", _search="mision")
    assert [a["title"] for a in articles] == [ARTICLES[0].title]
    hits = get_json(f"{base_url}/armswatch/hits.json", _search="mision cortafuegos")
    assert [h["id"] for h in hits] == ["es-1"]
    # Search text is taken literally: punctuation is not FTS syntax.
    assert [h["id"] for h in get_json(f"{base_url}/armswatch/hits.json", _search="e-Trace")] \
        == ["en-3"]
    assert get_json(f"{base_url}/armswatch/hits.json", _search="firewall routers") == []


def test_the_server_sees_rows_written_after_it_started(db_path: Path) -> None:
    with Store.open(db_path) as writer, serving(db_path) as url:   # the monitor keeps it open
        assert len(get_json(f"{url}/armswatch/hits.json")) == 3
        late = article("es-5", "Operación Southbound: decomisan rifles en Sonora", days_ago=0,
                       feed="Feed ES", language="es")
        writer.save_feed_result(FeedState(name="Feed ES", url="https://feeds.example/es",
                                          status="ok"),
                                [late], {"es-5": [program("Operation Southbound",
                                                          "Operación Southbound")]})
        rows = get_json(f"{url}/armswatch/hits.json")
        assert [r["id"] for r in rows] == ["es-5", "es-1", "en-2", "en-3"]
        assert [a["id"] for a in get_json(f"{url}/armswatch/articles.json",
                                          _search="operacion")] == ["es-5"]


def test_pages_render_as_html(base_url: str) -> None:
    page = httpx.get(f"{base_url}/armswatch/hits", timeout=15)
    assert page.status_code == 200
    assert "Misión Cortafuegos: México y EU contra el tráfico de armas" in page.text
    assert "One row per article that matched" in page.text
    home = httpx.get(f"{base_url}/", timeout=15).text
    assert "Armswatch" in home
    database = httpx.get(f"{base_url}/armswatch", timeout=15).text
    for title in ("Hits per program per week", "Latest hits for a program", "Failing feeds"):
        assert title in database
    assert "_sqlite_migrations" not in database


def test_metadata_names_existing_tables_and_columns(db_path: Path) -> None:
    data = browse.metadata("Arms monitor")
    assert data["title"] == "Arms monitor"
    database = data["databases"]["armswatch"]
    with Store.open(db_path) as store:
        names = set(store.db.table_names()) | set(store.db.view_names())
        hits_columns = {c.name for c in store.db["hits"].columns}
    tables = database["tables"]
    assert {"feeds", "articles", "matches", "digests", "deliveries", "hits"} <= set(tables)
    assert set(tables) <= names
    for name, table in tables.items():
        assert table.get("description") or table.get("hidden"), name
    facets = tables["hits"]["facets"]
    faceted = {f if isinstance(f, str) else next(iter(f.values())) for f in facets}
    assert faceted <= hits_columns
    assert tables["hits"]["fts_pk"] in hits_columns
    assert set(database["queries"]) == {"hits_per_program_per_week", "weekly_counts",
                                        "latest_hits_for_program", "failing_feeds",
                                        "latest_stories"}
    assert browse.metadata(database="other")["databases"].keys() == {"other"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """``browse.serve`` in its own process, as ``armswatch serve`` runs it."""

    def __init__(self, db_path: Path, *, as_user: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = ("import sys; from pathlib import Path; from monitor.cli.browse import serve; "
                "serve(Path(sys.argv[1]), port=int(sys.argv[2]))")
        self.process = subprocess.Popen(
            [*(as_user or []), sys.executable, "-c", code, str(db_path), str(self.port)],
            cwd="/", text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"})
        self.stderr = ""

    def __enter__(self) -> ServeProcess:
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, "serve() did not answer in time"
            try:
                httpx.get(f"{self.url}/-/versions.json", timeout=5)
                return self
            except httpx.TransportError:
                time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM, as `docker compose stop` sends; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        _, self.stderr = self.process.communicate(timeout=20)
        return self.process.returncode

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def test_serve_answers_until_sigterm_then_exits_cleanly(db_path: Path) -> None:
    with ServeProcess(db_path) as served:
        assert [r["id"] for r in get_json(f"{served.url}/armswatch/hits.json")] \
            == ["es-1", "en-2", "en-3"]
        assert served.stop() == 0, served.stderr
    assert f"Browse the hits at {served.url}/armswatch/hits" in served.stderr
    assert "Traceback" not in served.stderr


def test_serve_refuses_a_missing_database_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "armswatch.db"
    with pytest.raises(StorageError, match="no database here yet: start `armswatch run`"):
        browse.serve(missing, port=free_port())
    assert not missing.parent.exists()


def test_serve_refuses_a_busy_port_and_leaves_the_database_alone(db_path: Path) -> None:
    before = db_path.read_bytes()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ArmswatchError,
                           match=f"cannot listen on 127.0.0.1:{port}: address already in use"):
            browse.serve(db_path, port=port)
    assert db_path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    bogus = tmp_path / "armswatch.db"
    bogus.write_text("not a database\n" * 100)
    with pytest.raises(StorageError, match="not an SQLite database"):
        browse.check_readable(bogus)
    assert bogus.read_text() == "not a database\n" * 100


def test_a_database_of_an_older_layout_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "armswatch.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT)")
        conn.execute("INSERT INTO articles VALUES ('a', 'kept')")
        conn.execute("CREATE VIEW hits AS SELECT id, title FROM articles")
    conn.close()
    with pytest.raises(StorageError, match="older layout; run `armswatch poll`"):
        browse.check_readable(old)
    with sqlite3.connect(old) as conn:
        assert conn.execute("SELECT title FROM articles").fetchall() == [("kept",)]
    conn.close()


# -- a read-only folder, as the datasette service of docker-compose.yml mounts it ---------------

# Root ignores file modes: the reader runs as nobody (setpriv, from util-linux) in a folder root
# owns, so it can read the database and its -wal and -shm files but write none of them.
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

PROBE = """
import sys
from pathlib import Path
from monitor.cli.browse import check_readable
from storage.errors import StorageError
try:
    check_readable(Path(sys.argv[1]))
    print("readable")
except StorageError as exc:
    print("error:", exc)
"""


def probe_as_nobody(db_path: Path) -> str:
    result = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", PROBE, str(db_path)], capture_output=True, text=True,
        cwd="/", timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder under /tmp (nobody cannot reach tmp_path) that only root may write to."""
    if os.geteuid() != 0 or shutil.which(AS_NOBODY[0]) is None:
        pytest.skip("needs root and setpriv, to read as another user (nobody) a database that "
                    "only its writer may change, as through a read-only mount")
    folder = Path(tempfile.mkdtemp(prefix="armswatch-ro-"))
    folder.chmod(0o755)
    try:
        runs = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import monitor.cli.browse"],
                              capture_output=True, cwd="/", timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if runs.returncode != 0:
            pytest.skip("user nobody cannot run this Python (with setpriv) to read the database")
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_read_only_folder_is_browsable_while_the_writer_runs(
        db_path: Path, read_only_folder: Path) -> None:
    db = read_only_folder / "armswatch.db"
    shutil.copyfile(db_path, db)
    writer = Store.open(db)                                # creates the -wal and -shm files
    try:
        with ServeProcess(db, as_user=AS_NOBODY) as served:
            assert len(get_json(f"{served.url}/armswatch/hits.json")) == 3
            writer.save_feed_result(
                FeedState(name="Feed ES", url="https://feeds.example/es"),
                [article("es-9", "Iniciativa Mérida: balance", days_ago=0)],
                {"es-9": [program("Merida Initiative", "Iniciativa Mérida")]})
            assert len(get_json(f"{served.url}/armswatch/hits.json")) == 4
            writer.close()                                 # the service stops ...
            assert len(get_json(f"{served.url}/armswatch/hits.json")) == 4
            writer = Store.open(db)                        # ... and starts again
            writer.save_feed_result(
                FeedState(name="Feed ES", url="https://feeds.example/es"),
                [article("es-10", "Operación Southbound en Sonora", days_ago=0)],
                {"es-10": [program("Operation Southbound", "Operación Southbound")]})
            assert len(get_json(f"{served.url}/armswatch/hits.json")) == 5
            assert served.stop() == 0, served.stderr
    finally:
        writer.close()                                     # the last connection: -wal goes
    assert not (read_only_folder / "armswatch.db-wal").exists()
    message = probe_as_nobody(db)
    assert message.startswith(f"error: {db}: cannot be read: its folder is read-only and the "
                              "service that writes it is not running"), message
    with Store.open(db) as store:                          # nothing was lost
        assert store.hits.count() == 5


# -- a real browser ------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed: the "
                    "screenshot of the hits page needs a headless Chromium")
def test_the_hits_page_renders_in_headless_chromium(base_url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "browse-hits.png"
    screenshot.unlink(missing_ok=True)
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
         f"--screenshot={screenshot}", "--window-size=1280,900",
         f"{base_url}/armswatch/hits"],
        capture_output=True, text=True, timeout=90)
    assert screenshot.is_file(), result.stderr[-2000:]
    data = screenshot.read_bytes()
    assert png_size(data) == (1280, 900)
    # A blank or error page compresses to a few KB; text, facets and a table do not.
    assert len(data) > 30_000, len(data)
