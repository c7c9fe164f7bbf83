"""Figure 4: articles/s written with matches and FTS, beside raw executemany without FTS.

Ours is what the pipeline does per feed: ``articles.known`` to drop what is stored, then
``save_feed_result`` (articles, matches, the feed's state, one transaction). The baseline writes
the same rows, one transaction per feed too, with bare ``executemany`` into the same schema and
pragmas, from which the FTS index and its triggers have been dropped: the floor of SQLite itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.records import SentencePool, article_batches
from bench.timing import Measure, measured
from monitor.matching import WatchList
from storage.records import Article, FeedState, Match
from storage.rows import ARTICLE_COLUMNS, MATCH_COLUMNS, article_row, match_row
from storage.store import Store

Batch = tuple[list[Article], dict[str, list[Match]]]


def store_figure(watchlist: WatchList, articles: int, folder: Path,
                 runs: int = 1) -> dict[str, Any]:
    """The faster of ``runs`` runs of each, every run on a new database."""
    pool = SentencePool(watchlist)
    batches = list(article_batches(pool, articles))
    matches = sum(len(m) for _, found in batches for m in found.values())
    ours = min((_ours(batches, folder / f"store-ours-{n}.db") for n in range(runs)),
               key=lambda m: m.wall)
    raw = min((_raw(batches, folder / f"store-raw-{n}.db") for n in range(runs)),
              key=lambda m: m.wall)
    return {
        "articles": articles, "matches": matches, "batch": len(batches[0][0]),
        "ours": ours.as_dict(rate=articles), "raw": raw.as_dict(rate=articles),
        "articles_per_s": articles / ours.wall,
        "raw_articles_per_s": articles / raw.wall,
        "ratio_to_raw": raw.wall / ours.wall,
    }


def _ours(batches: list[Batch], path: Path) -> Measure:
    with Store.open(path) as store:
        def write() -> None:
            for articles, found in batches:
                known = store.articles.known(articles)
                new = [a for a in articles if a.id not in known]
                state = FeedState(name=articles[0].feed, url="https://example.org/feed",
                                  status="ok")
                store.save_feed_result(state, new, found)
        measure = measured(write)
        assert store.articles.count() == sum(len(a) for a, _ in batches)
    return measure


_INSERT_ARTICLE = (f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))})")
_INSERT_MATCH = (f"INSERT INTO matches ({', '.join(MATCH_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(MATCH_COLUMNS))})")


def drop_fts(store: Store) -> None:
    """Remove the full-text index and the triggers that feed it."""
    conn = store.db.conn
    triggers = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'")]
    for name in triggers:
        conn.execute(f"DROP TRIGGER [{name}]")
    conn.execute("DROP TABLE IF EXISTS articles_fts")
    conn.commit()


def _raw(batches: list[Batch], path: Path) -> Measure:
    with Store.open(path) as store:
        drop_fts(store)
        conn = store.db.conn

        def write() -> None:
            for articles, found in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_INSERT_ARTICLE, [article_row(a) for a in articles])
                conn.executemany(_INSERT_MATCH, [match_row(i, m) for i, ms in found.items()
                                                 for m in ms])
                conn.execute("COMMIT")
        measure = measured(write)
    return measure
