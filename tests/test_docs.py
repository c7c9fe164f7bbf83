"""The README documents every command and option that exists (and the other way round)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from monitor.cli.commands import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            if command.invoke_without_command:     # a command of its own too (`digest`)
                found.append((path, command))
            found += commands(command, path + " ")
        else:
            found.append((path, command))
    return found


def test_every_command_has_a_readme_section() -> None:
    for path, _ in commands(cli):
        assert f"### `armswatch {path}" in README, f"README has no section for `armswatch {path}`"


def test_every_option_is_documented() -> None:
    for path, command in commands(cli):
        section = README.split(f"### `armswatch {path}", 1)[1].split("\n### ", 1)[0]
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--") and option != "--help":
                    assert option in section, f"`armswatch {path}`: {option} is not in its section"
    for param in cli.params:
        for option in getattr(param, "opts", []):
            assert f"`{option}" in README, f"global option {option} is not in the README"


def test_readme_names_no_command_that_does_not_exist() -> None:
    documented = set(re.findall(r"^### `armswatch ([a-z]+(?: [a-z]+)?)", README, re.M))
    existing = {path for path, _ in commands(cli)}
    assert documented <= existing, documented - existing


def test_readme_counts_the_shipped_feeds() -> None:
    import tomllib

    shipped = tomllib.loads((Path(__file__).resolve().parents[1] / "config" / "armswatch.toml")
                            .read_text(encoding="utf-8"))
    assert f"The shipped file lists {len(shipped['feeds'])} real sources" in README
