"""Where the config folder is, and the default config shipped inside the package.

The search order, first match wins:

1. the folder given by ``--config DIR`` or ``ARMSWATCH_CONFIG`` (it must exist: a typo in a path
   that was asked for never falls back to another folder);
2. ``./config``;
3. the ``config/`` of the checkout Armswatch runs from (only from a checkout: an installed wheel
   has none).

None found is a ConfigError that names ``armswatch init``. The defaults — the same files as the
checkout's ``config/``, see monitor/settings/defaults — are read with importlib.resources, so they
work from a wheel, a zip or a checkout alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from monitor.settings.config import CONFIG_FILES, WATCHLIST_FILE, WatchItem, load_watchlist
from storage.errors import ConfigError

__all__ = ["ConfigLocation", "default_config_text", "default_watch_items", "find_config_dir"]

DEFAULTS_PACKAGE = "monitor.settings.defaults"
LOCAL_CONFIG = Path("config")
# monitor/settings/location.py → the folder holding monitor/: a checkout when it has pyproject.toml
# (in an installed wheel it is site-packages, which has none).
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ConfigLocation:
    path: Path
    found_by: str       # why this folder, as `armswatch check` says it


def find_config_dir(given: Path | None = None, given_by: str = "--config",
                    checkout: Path | None = _SOURCE_ROOT) -> ConfigLocation:
    """The config folder: `given` (named by option or variable `given_by`), ./config, or the
    config/ of `checkout` when that is a checkout of Armswatch."""
    if given is not None:
        if not given.is_dir():
            named = f"{given_by} {given}" if given_by.startswith("-") else f"{given_by}={given}"
            raise ConfigError([f"{named}: no such folder; write a starter config there with "
                               f"`armswatch init {given}`"])
        return ConfigLocation(given, f"from {given_by}")
    if LOCAL_CONFIG.is_dir():
        return ConfigLocation(LOCAL_CONFIG, "./config")
    if checkout is not None and (checkout / "pyproject.toml").is_file() \
            and (checkout / "config").is_dir():
        return ConfigLocation(checkout / "config", "the checkout's config/, as there is no "
                                                   "./config")
    raise ConfigError(["no config folder: ./config does not exist and neither --config DIR nor "
                       "ARMSWATCH_CONFIG names one; write a starter one with `armswatch init` "
                       "(or `armswatch init DIR` and then --config DIR)"])


def default_config_text(name: str) -> str:
    """The shipped text of one of CONFIG_FILES, comments included."""
    if name not in CONFIG_FILES:
        raise ValueError(f"not a config file: {name!r}")
    return (files(DEFAULTS_PACKAGE) / name).read_text(encoding="utf-8")


def default_watch_items() -> tuple[WatchItem, ...]:
    """The shipped watch list, as `armswatch demo` matches with it."""
    with as_file(files(DEFAULTS_PACKAGE) / WATCHLIST_FILE) as path:
        return load_watchlist(path)
