"""`armswatch init`, the config search order and the defaults shipped in the package.

Run from the checkout (the editable install); tests/test_install.py does the same from a wheel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import write_config
from click.testing import CliRunner, Result

import monitor.settings.defaults
from monitor.cli import cli
from monitor.settings import default_config_text, default_watch_items, find_config_dir
from storage.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config"
FILES = ("armswatch.toml", "watchlist.toml")


def armswatch(cwd: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """The CLI run in `cwd`, with ARMSWATCH_CONFIG unset unless `env` sets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(cli, list(args), env={"ARMSWATCH_CONFIG": None, **(env or {})})


# -- the defaults: one copy, in config/ --------------------------------------------------------

def test_the_packaged_defaults_are_the_checkouts_config_files() -> None:
    defaults = Path(monitor.settings.defaults.__file__).parent
    for name in FILES:
        # A link, not a second copy that could drift; the wheel gets its content.
        assert (defaults / name).is_symlink(), name
        assert (defaults / name).resolve() == SHIPPED / name
        assert default_config_text(name) == (SHIPPED / name).read_text(encoding="utf-8")
    assert [item.name for item in default_watch_items()][:2] == ["Mission Firewall", "eTrace"]


# -- armswatch init ----------------------------------------------------------------------------

def test_init_writes_both_files_and_says_what_next(tmp_path: Path) -> None:
    result = armswatch(tmp_path, "init")
    assert result.exit_code == 0, result.output
    for name in FILES:
        assert (tmp_path / "config" / name).read_text(encoding="utf-8") == \
            (SHIPPED / name).read_text(encoding="utf-8")
        assert f"config/{name}" in result.output
    assert "armswatch check" in result.output and "armswatch poll" in result.output
    checked = armswatch(tmp_path, "check")
    assert checked.exit_code == 0, checked.output
    assert f"config: {tmp_path / 'config'} (./config)" in checked.output


def test_init_into_another_folder_names_it_in_the_next_steps(tmp_path: Path) -> None:
    result = armswatch(tmp_path, "init", "etc/armswatch")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "etc" / "armswatch").iterdir()) == list(FILES)
    assert "armswatch --config etc/armswatch check" in result.output
    assert not (tmp_path / "config").exists()


@pytest.mark.parametrize("present", [FILES, FILES[:1], FILES[1:]])
def test_init_never_overwrites_and_writes_nothing_then(tmp_path: Path,
                                                       present: tuple[str, ...]) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    for name in present:
        (folder / name).write_text("# mine\n", encoding="utf-8")
    result = armswatch(tmp_path, "init")
    assert result.exit_code == 2
    names = " and ".join(f"config/{name}" for name in present)
    assert result.output.splitlines() == [
        f"{names} already {'exists' if len(present) == 1 else 'exist'}; `armswatch init` never "
        f"overwrites a file, so nothing was written: edit {'it' if len(present) == 1 else 'them'}"
        ", or write a starter config into another folder with `armswatch init OTHER_DIR`"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(present)
    for name in present:
        assert (folder / name).read_text(encoding="utf-8") == "# mine\n"


def test_init_that_fails_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    # A dangling link is not an existing file, but nothing may be created through it either:
    # the second file cannot be written after the first was.
    (folder / "watchlist.toml").symlink_to(tmp_path / "elsewhere" / "watchlist.toml")
    result = armswatch(tmp_path, "init")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: config/watchlist.toml: cannot write the starter config (File exists); nothing "
        "was written"]
    assert [p.name for p in folder.iterdir()] == ["watchlist.toml"]   # armswatch.toml removed


def test_init_below_a_file_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("not a folder\n", encoding="utf-8")
    result = armswatch(tmp_path, "init", "notes/config")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: notes/config: cannot write the starter config (Not a directory); nothing was "
        "written"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]


# -- where the config is looked for ------------------------------------------------------------

def test_search_order_option_then_variable_then_local_then_checkout(tmp_path: Path) -> None:
    for name in ("option", "variable", "config"):
        write_config(tmp_path / name, tmp_path / "db", {name: f"https://{name}.example/feed"})
    found = armswatch(tmp_path, "--config", "option", "check", env={"ARMSWATCH_CONFIG": "variable"})
    assert "config: " + str(tmp_path / "option") + " (from --config)" in found.output
    assert "option: every 15m" in found.output
    found = armswatch(tmp_path, "check", env={"ARMSWATCH_CONFIG": "variable"})
    assert f"config: {tmp_path / 'variable'} (from ARMSWATCH_CONFIG)" in found.output
    found = armswatch(tmp_path, "check")
    assert f"config: {tmp_path / 'config'} (./config)" in found.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = armswatch(elsewhere, "check")
    assert found.exit_code == 0, found.output
    assert f"config: {SHIPPED} (the checkout's config/, as there is no ./config)" in found.output


@pytest.mark.parametrize(("args", "env", "named"), [
    (("--config", "missing"), {}, "--config missing"),
    ((), {"ARMSWATCH_CONFIG": "missing"}, "ARMSWATCH_CONFIG=missing"),
])
def test_a_config_folder_asked_for_must_exist(tmp_path: Path, args: tuple[str, ...],
                                              env: dict[str, str | None], named: str) -> None:
    (tmp_path / "config").mkdir()   # never a fallback for a folder that was asked for
    result = armswatch(tmp_path, *args, "check", env=env)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{named}: no such folder; write a starter config there with `armswatch init missing`"]


def test_no_config_folder_anywhere_names_armswatch_init(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        with pytest.raises(ConfigError) as raised:
            find_config_dir(checkout=tmp_path)   # not a checkout: no pyproject.toml
    assert raised.value.problems == [
        "no config folder: ./config does not exist and neither --config DIR nor ARMSWATCH_CONFIG "
        "names one; write a starter one with `armswatch init` (or `armswatch init DIR` and then "
        "--config DIR)"]


def test_demo_needs_no_config_folder(tmp_path: Path) -> None:
    broken = tmp_path / "config"
    broken.mkdir()
    (broken / "armswatch.toml").write_text("[storage\n", encoding="utf-8")
    result = armswatch(tmp_path, "demo", env={"ARMSWATCH_CONFIG": str(tmp_path / "missing")})
    assert result.exit_code == 0, result.output
    assert "Mission Firewall" in result.output and "0 failed" in result.output
