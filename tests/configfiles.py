"""Writes a config folder for tests that run Armswatch as a user would: the real watch list beside
an armswatch.toml naming loopback feeds."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def write_config(folder: Path, db: Path, feeds: Mapping[str, str], polling: str = "",
                 extra: str = "") -> Path:
    """``folder`` with the shipped watchlist.toml and an armswatch.toml for ``feeds``.

    ``polling`` is the body of [polling]; ``extra`` is appended (e.g. [[channels]] blocks).
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config" / "watchlist.toml", folder / "watchlist.toml")
    blocks = "".join(f"\n[[feeds]]\nname = {toml_string(name)}\nurl = {toml_string(url)}\n"
                     for name, url in feeds.items())
    (folder / "armswatch.toml").write_text(
        f"[storage]\npath = {toml_string(str(db))}\n\n[polling]\n{polling}\n{blocks}\n{extra}",
        encoding="utf-8")
    return folder
