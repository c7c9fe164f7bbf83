"""Retention (`[storage] keep_text`): the text of old articles that matched nothing is cleared,
hits keep theirs forever. A real store and the service's own operation."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from builders import config_for
from test_digest_support import NOW, article, matched, open_store, seed

from monitor.service import Monitor
from monitor.settings import StorageConfig
from storage.store import Store

OLD = NOW - timedelta(days=100)


def stored(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        seed(store, [
            (article("old-plain", summary="Lluvias en Sonora", content="Texto largo",
                     first_seen=OLD), []),
            matched("old-hit", "https://news.example.org/old-hit",
                    title="Misión Cortafuegos asegura armas", summary="En Sonora",
                    first_seen=OLD),
            (article("new-plain", summary="Lluvias en Sonora", first_seen=NOW), []),
        ])


def texts(store: Store) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["summary"], r["content"])
            for r in store.db.query("SELECT id, summary, content FROM articles")}


def test_old_text_of_non_hits_is_cleared_and_hits_keep_theirs(tmp_path: Path) -> None:
    stored(tmp_path)
    with open_store(tmp_path) as store:
        assert store.articles.clear_text(NOW - timedelta(days=90)) == 1
        assert texts(store) == {"a-old-plain": ("", ""), "a-old-hit": ("En Sonora", ""),
                                "a-new-plain": ("Lluvias en Sonora", "")}
        found = {r[0] for r in store.db.execute(
            "SELECT a.id FROM articles_fts JOIN articles AS a ON a.rowid = articles_fts.rowid"
            " WHERE articles_fts MATCH 'sonora'")}
        assert found == {"a-old-hit", "a-new-plain"}       # the index forgot the cleared text
        assert store.articles.clear_text(NOW - timedelta(days=90)) == 0
        assert store.articles.count() == 3                  # articles themselves stay


def test_the_service_clears_text_only_when_keep_text_is_set(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stored(tmp_path)
    base = config_for(tmp_path, [])

    async def prune(keep: timedelta) -> int:
        config = replace(base, storage=StorageConfig(path=base.storage.path, keep_text=keep))
        async with Monitor(config) as monitor:
            return monitor.prune_text(NOW)

    caplog.set_level(logging.INFO, logger="armswatch")
    assert asyncio.run(prune(timedelta(0))) == 0
    assert asyncio.run(prune(timedelta(days=90))) == 1
    assert ("retention: cleared the text of 1 articles older than 90d that matched no watch "
            "item") in caplog.messages
