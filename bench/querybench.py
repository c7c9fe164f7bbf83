"""Figure 5: p50 / p95 of hits queries, selective and broad, on a database of many articles.

The database is built once per size and kept under bench/.cache/ (its name carries a hash of the
schema and of the generator, so a change to either builds a new one). It is built the fast way:
rows go in with plain executemany while the FTS insert trigger is set aside, then the index is
rebuilt in one statement and the trigger put back exactly as it was. The result is the database
the service would have written, at a fraction of the time.

The queries are ``HitTable.query``, what ``armswatch hits`` runs. Each is timed many times with
varied arguments, after one untimed run of each kind (as on a server whose cache is warm). The
baseline beside each is the bare index lookup the query must start from at the least.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.records import NEWEST, RARE_NAMES, SentencePool, article_batches, rare_name
from bench.timing import percentiles
from monitor.matching import WatchList
from storage.rows import ARTICLE_COLUMNS, MATCH_COLUMNS, article_row, match_row
from storage.store import Store
from storage.trends import weekly_counts

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
_BUILD_BATCH = 50_000


def cache_path(articles: int, cache: Path = CACHE) -> Path:
    """Where the database of this size lives; a new name whenever the schema or data changes."""
    digest = hashlib.sha256()
    for source in ("storage/schema.py", "bench/records.py", "bench/corpus.py"):
        digest.update((ROOT / source).read_bytes())
    return cache / f"hits-{articles}-{digest.hexdigest()[:12]}.db"


def query_database(watchlist: WatchList, articles: int,
                   cache: Path = CACHE) -> tuple[Path, float | None]:
    """The cached database of ``articles`` articles, built if missing; and the build seconds."""
    path = cache_path(articles, cache)
    if path.exists():
        return path, None
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"hits-{articles}-*.db*"):
        stale.unlink()
    started = time.perf_counter()
    building = path.with_suffix(".building")
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
    _build(watchlist, articles, building)
    building.rename(path)
    return path, time.perf_counter() - started


def _build(watchlist: WatchList, articles: int, path: Path) -> None:
    insert_article = (f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))})")
    insert_match = (f"INSERT INTO matches ({', '.join(MATCH_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(MATCH_COLUMNS))})")
    with Store.open(path) as store:
        conn = store.db.conn
        (trigger,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'articles_ai'"
        ).fetchone()
        conn.execute("DROP TRIGGER articles_ai")
        batches = article_batches(SentencePool(watchlist), articles, batch=_BUILD_BATCH)
        for batch, found in batches:
            conn.execute("BEGIN")
            conn.executemany(insert_article, [article_row(a) for a in batch])
            conn.executemany(insert_match, [match_row(i, m) for i, ms in found.items()
                                            for m in ms])
            conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
        conn.execute(trigger)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class QueryKind:
    name: str
    selective: bool
    run: Callable[[Store, random.Random], object]        # HitTable.query, as `hits` runs it
    floor: Callable[[Store, random.Random], object]      # the bare lookup it starts from


def _rare(rng: random.Random) -> str:
    return rare_name(rng.randrange(RARE_NAMES))


def _fts_rowids(store: Store, text: str) -> object:
    return store.db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT 50",
                            [f'"{text}"']).fetchall()


def _item_rows(store: Store, item: str) -> object:
    return store.db.execute("SELECT article_id FROM matches WHERE item = ? COLLATE NOCASE "
                            "LIMIT 50", [item]).fetchall()


def _newest(store: Store) -> object:
    return store.db.execute("SELECT id FROM articles ORDER BY published DESC LIMIT 50"
                            ).fetchall()


WEEK = timedelta(days=7)
KINDS = (
    QueryKind("search a rare name", True,
              lambda s, r: s.hits.query(search=_rare(r)),
              lambda s, r: _fts_rowids(s, _rare(r))),
    QueryKind("item + rare name", True,
              lambda s, r: s.hits.query(item="Arms trafficking", search=_rare(r)),
              lambda s, r: _fts_rowids(s, _rare(r))),
    QueryKind("item, last 7 days", True,
              lambda s, r: s.hits.query(item="Security Implementation Group",
                                        since=NEWEST - WEEK * r.uniform(0.5, 1.5)),
              lambda s, r: _item_rows(s, "Security Implementation Group")),
    QueryKind("latest hits", False,
              lambda s, r: s.hits.query(limit=r.choice((20, 50, 100))),
              lambda s, r: _newest(s)),
    QueryKind("common item", False,
              lambda s, r: s.hits.query(item=r.choice(("Arms trafficking", "NIBIN"))),
              lambda s, r: _item_rows(s, "Arms trafficking")),
    QueryKind("search a common word", False,
              lambda s, r: s.hits.query(search=r.choice(("border", "frontera", "armas"))),
              lambda s, r: _fts_rowids(s, r.choice(("border", "frontera", "armas")))),
    QueryKind("language, last 30 days", False,
              lambda s, r: s.hits.query(language=r.choice(("es", "en")),
                                        since=NEWEST - timedelta(days=30)),
              lambda s, r: _newest(s)),
)


def _timings(store: Store, work: Callable[[Store, random.Random], object], runs: int,
             seed: int) -> list[float]:
    rng = random.Random(seed)
    work(store, rng)  # warm-up, not counted
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work(store, rng)
        samples.append(time.perf_counter() - started)
    return samples


def query_figure(watchlist: WatchList, articles: int, runs: int,
                 cache: Path = CACHE) -> dict[str, Any]:
    path, built = query_database(watchlist, articles, cache)
    out: dict[str, Any] = {"articles": articles, "database": str(path),
                           "database_mb": path.stat().st_size / 1e6,
                           "build_seconds": built, "kinds": {}}
    pooled: dict[str, list[float]] = {"selective": [], "broad": [],
                                      "selective_floor": [], "broad_floor": []}
    fresh: dict[str, float] = {}
    for number, kind in enumerate(KINDS):  # as `armswatch hits` meets it: a store just opened
        if kind.selective:
            started = time.perf_counter()
            with Store.open(path) as store:
                kind.run(store, random.Random(100 + number))
            fresh[kind.name] = time.perf_counter() - started
    out["selective_just_opened"] = {**percentiles(list(fresh.values())),
                                    "ms": {k: v * 1000 for k, v in fresh.items()}}
    with Store.open(path) as store:
        out["hits"] = store.hits.count()
        for number, kind in enumerate(KINDS):
            group = "selective" if kind.selective else "broad"
            samples = _timings(store, kind.run, runs, seed=number)
            floor = _timings(store, kind.floor, runs, seed=number)
            pooled[group] += samples
            pooled[group + "_floor"] += floor
            out["kinds"][kind.name] = {"group": group, **percentiles(samples),
                                       "floor": percentiles(floor)}
        # `armswatch trends`, a digest's chart and the trend page: every item, 12 weeks.
        items = store.hits.item_names()
        trend = _timings(store, lambda s, r: weekly_counts(
            s.db.conn, items=items, weeks=r.choice((12, 12, 26)), now=NEWEST), runs, seed=99)
        out["trend"] = {"items": len(items), **percentiles(trend)}
    for group in ("selective", "broad"):
        out[group] = percentiles(pooled[group])
        out[group + "_floor"] = percentiles(pooled[group + "_floor"])
    return out
