"""docs/channels.md and the config loader know the same channel keys (and the other way round),
and every example in it loads: what test_docs.py is for the README and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from builders import write_config

from monitor.settings import load_config
from monitor.settings.channel_settings import SMTP_KEYS, TYPE_KEYS
from monitor.settings.channels import CHANNEL_TYPES, COMMON_KEYS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "channels.md").read_text(encoding="utf-8")
ENVIRON = {"SMTP_HOST": "smtp.example.org", "SMTP_USER": "bot@example.org",
           "SMTP_PASSWORD": "pw", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}


def documented_keys() -> dict[str, set[str]]:
    """Heading → the keys in the first column of its `| key | default | meaning |` tables."""
    found: dict[str, set[str]] = {}
    heading, in_key_table = "", False
    for line in DOC.splitlines():
        if line.startswith("#"):
            heading, in_key_table = line.lstrip("#").strip(), False
            found.setdefault(heading, set())
        elif line.startswith("| key |"):
            in_key_table = True
        elif not line.startswith("|"):
            in_key_table = False
        elif in_key_table and not line.startswith("|---"):
            first_cell = line.split("|")[1]
            found[heading] |= set(re.findall(r"`([^`]+)`", first_cell))
    return found


def test_every_key_of_every_channel_type_is_documented_and_nothing_else() -> None:
    documented = documented_keys()
    assert documented["Keys every channel has"] == set(COMMON_KEYS)
    for kind in CHANNEL_TYPES:
        assert kind in documented, f"docs/channels.md has no section for type {kind}"
        assert documented[kind] == set(TYPE_KEYS[kind]), kind
    assert documented["`smtp` keys"] == set(SMTP_KEYS)


def test_the_channel_types_are_the_ones_documented() -> None:
    row = next(line for line in DOC.splitlines() if line.startswith("| `type` |"))
    assert set(re.findall(r"`([a-z]+)`", row.split("|")[3])) == set(CHANNEL_TYPES)


EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC, re.S)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_every_example_loads(tmp_path: Path, example: str) -> None:
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Loopback": "http://127.0.0.1:9/feed.xml"}, extra=example)
    config = load_config(folder, ENVIRON)       # raises ConfigError listing any problem
    assert len(config.channels) == 1 and config.warnings == ()
