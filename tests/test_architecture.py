"""docs/architecture.md is a true map of the tree: every module named there exists and every
module is named there, imports point the way it says, and each outside library has the one owner
its table gives."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGES = ("monitor", "alerts", "storage")
STAGES_IN_ORDER = ("settings", "feeds", "matching", "pages", "stories", "poll", "service",
                   "cli")


def modules() -> list[Path]:
    return sorted(p.relative_to(ROOT) for package in PACKAGES
                  for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py")


def imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (including inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def documented_sections() -> dict[str, str]:
    """The module map: each `package/` heading with the text under it."""
    sections = re.split(r"^`((?:monitor|alerts|storage)/[\w/]*)`\s*$", DOC, flags=re.M)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


def test_every_module_is_on_the_map_under_its_folder() -> None:
    sections = documented_sections()
    missing = []
    for module in modules():
        parts = module.parts
        # The nearest documented folder: monitor/feeds/, alerts/, storage/, ...
        folder = next(f"{'/'.join(parts[:i])}/" for i in range(len(parts) - 1, 0, -1)
                      if f"{'/'.join(parts[:i])}/" in sections)
        text = sections[folder]
        rest = "/".join(parts[len(Path(folder).parts):])
        first = rest.split("/")[0]
        if f"`{rest}`" not in text and f"`{first}/`" not in text and f"`{Path(rest).name}`" \
                not in text:
            missing.append(str(module))
    assert missing == [], f"modules not described in docs/architecture.md: {missing}"


def test_every_path_the_map_names_exists() -> None:
    named = set(re.findall(r"`((?:monitor|alerts|storage|tests)/[\w/.]+)`", DOC))
    assert named, "the map names no paths"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
    # Under a folder's heading, a bare `name.py` is a module somewhere below that folder.
    absent = [f"{folder}…/{name}" for folder, text in documented_sections().items()
              for name in re.findall(r"`(\w+\.py)`", text)
              if not any((ROOT / folder).rglob(name))]
    assert absent == []


def test_imports_point_one_way() -> None:
    wrong = []
    for module in modules():
        package = module.parts[0]
        ours = {name.split(".")[0] for name in imports(module)} & set(PACKAGES)
        allowed = {"monitor": set(PACKAGES), "alerts": {"alerts", "storage"},
                   "storage": {"storage"}}[package]
        wrong += [f"{module} imports {name}" for name in sorted(ours - allowed)]
    assert wrong == []


def test_early_stages_never_import_later_ones() -> None:
    """settings, feeds, matching and pages are used by the cycle and the service, never the
    reverse."""
    wrong = []
    for module in modules():
        if module.parts[0] != "monitor" or module.parts[1] not in ("settings", "feeds", "matching",
                                                                 "pages"):
            continue
        stage = STAGES_IN_ORDER.index(module.parts[1])
        for name in imports(module):
            parts = name.split(".")
            if parts[0] == "monitor" and len(parts) > 1 and parts[1] in STAGES_IN_ORDER[stage + 1:]:
                wrong.append(f"{module} imports {name}")
    assert wrong == []


def owners_table() -> dict[str, list[str]]:
    table = DOC.split("| library | owner |", 1)[1].split("\n\n", 1)[0]
    owners: dict[str, list[str]] = {}
    for line in table.splitlines()[2:]:
        library_cell, owner_cell = (cell.strip() for cell in line.strip("|").split("|"))
        places = re.findall(r"`([\w/.]+)`", owner_cell)
        for library in library_cell.split(","):
            owners[library.split("(")[0].strip()] = places
    return owners


@pytest.mark.parametrize("library", sorted(owners_table()))
def test_each_outside_library_is_imported_only_by_its_owner(library: str) -> None:
    places = owners_table()[library]
    importers = [str(m) for m in modules()
                 if any(name.split(".")[0] == library for name in imports(m))]
    assert importers, f"{library} is in the owners table but nothing imports it"
    strays = [m for m in importers if not any(m == p or m.startswith(p) for p in places)]
    assert strays == [], f"{library} imported outside its owner {places}: {strays}"


def test_every_outside_library_we_import_has_an_owner() -> None:
    ours = set(PACKAGES) | {"__future__"}
    outside = {name.split(".")[0] for m in modules() for name in imports(m)}
    unowned = sorted(outside - ours - set(sys.stdlib_module_names) - set(owners_table()))
    assert unowned == []
