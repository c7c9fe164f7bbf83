"""The container deployment: Dockerfile, docker-compose.yml and the compose-only config.

No Docker daemon is needed: `docker-compose config` validates the compose file when the command
exists, the YAML is read with PyYAML, and the config the compose file mounts is loaded with
``load_config`` exactly as the container would.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from setuptools import find_packages

from alerts.config import EmailSettings, FileSettings
from monitor.settings.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_CONFIG = ROOT / "deploy" / "compose" / "armswatch.toml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it comes with datasette)")
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → "source:options" of a service's short-syntax volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        found[target] = ":".join([source, *options])
    return found


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (Debian: apt-get install "
                           "docker-compose), so the compose file is not validated by it")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    services = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "--services"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert sorted(services.stdout.split()) == ["armswatch", "datasette", "mailpit"]


def test_three_services_share_one_named_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"armswatch", "datasette", "mailpit"}
    assert set(compose["volumes"]) == {"armswatch-data"}
    service_mounts = mounts(services["armswatch"])
    assert service_mounts["/data"] == "armswatch-data"                 # read-write: the writer
    assert mounts(services["datasette"])["/data"] == "armswatch-data:ro"   # the browser reads
    assert services["armswatch"]["command"] == ["armswatch", "run"]
    assert services["datasette"]["command"] == ["armswatch", "serve", "--host", "0.0.0.0",
                                                "--port", "8001"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_the_service_runs_on_the_compose_config_and_the_shipped_watch_list(
        compose: dict[str, Any]) -> None:
    config_mounts = mounts(compose["services"]["armswatch"])
    assert config_mounts["/app/config/armswatch.toml"] == "./deploy/compose/armswatch.toml:ro"
    assert config_mounts["/app/config/watchlist.toml"] == "./config/watchlist.toml:ro"
    for source in ("deploy/compose/armswatch.toml", "config/watchlist.toml"):
        assert (ROOT / source).is_file(), source


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in
                 compose["services"].items()}
    assert published["datasette"] == ["127.0.0.1:8001:8001"]
    assert sorted(published["mailpit"]) == ["127.0.0.1:1025:1025", "127.0.0.1:8025:8025"]
    assert published["armswatch"] == []
    for ports in published.values():
        for port in ports:
            assert port.startswith("127.0.0.1:"), port


def test_healthchecks(compose: dict[str, Any]) -> None:
    instructions = dockerfile_instructions()
    healthchecks = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert healthchecks[0].endswith('CMD ["armswatch", "status"]')
    assert "--start-period=" in healthchecks[0]
    browser_check = compose["services"]["datasette"]["healthcheck"]["test"]
    assert browser_check[0] == "CMD"
    assert "http://127.0.0.1:8001/armswatch/hits.json" in " ".join(browser_check)
    assert "healthcheck" not in compose["services"]["armswatch"]   # the image's own


def test_the_image_runs_as_a_user_with_its_data_on_a_volume() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    words = [word for word, _ in instructions]
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "ARMSWATCH_DB=/data/armswatch.db" in env
    assert "ARMSWATCH_CONFIG=/app/config" in env
    assert ("VOLUME", "/data") in instructions
    assert ("CMD", '["armswatch", "run"]') in instructions
    assert any(word == "RUN" and "pip install /src" in args for word, args in instructions)
    assert any(word == "COPY" and args == "config /app/config" for word, args in instructions)


def test_dockerignore_keeps_what_the_image_copies() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = []
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            copied += args.split()[:-1]
    assert set(copied) >= {"pyproject.toml", "README.md", "monitor", "storage", "alerts", "config"}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_a_non_editable_install_gets_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools_config = project["tool"]["setuptools"]
    if "packages" in setuptools_config and isinstance(setuptools_config["packages"], list):
        listed = set(setuptools_config["packages"])
    else:
        include = setuptools_config["packages"]["find"]["include"]
        listed = set(find_packages(str(ROOT), include=include))
    on_disk = {str(init.parent.relative_to(ROOT)).replace("/", ".")
               for top in ("monitor", "storage", "alerts")
               for init in (ROOT / top).rglob("__init__.py")}
    assert on_disk <= listed, f"not installed by `pip install .`: {sorted(on_disk - listed)}"


def test_the_image_installs_datasette_for_armswatch_serve() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower()
             for dep in project["project"]["dependencies"]]
    assert "datasette" in names, "the datasette service runs `armswatch serve`"


# -- the config the compose file mounts -------------------------------------------------------

def load(tmp_path: Path, settings: Path, name: str) -> Config:
    """``settings`` with the shipped watch list, as the container sees /app/config."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(settings, folder / "armswatch.toml")
    shutil.copyfile(ROOT / "config" / "watchlist.toml", folder / "watchlist.toml")
    return load_config(folder, environ={})


def test_compose_config_loads_with_the_shipped_watch_list(tmp_path: Path) -> None:
    config = load(tmp_path, COMPOSE_CONFIG, "compose")
    assert config.warnings == ()
    assert config.storage.path == Path("/data/armswatch.db")
    mail = {c.name: c for c in config.channels}["mailpit"]
    assert mail.type == "email"
    assert mail.immediate
    assert isinstance(mail.settings, EmailSettings)
    smtp = mail.settings.smtp
    assert (smtp.host, smtp.port, smtp.security) == ("mailpit", 1025, "none")
    assert smtp.username is None and smtp.password is None
    assert len(config.watch) > 0


def test_compose_config_differs_from_the_shipped_one_only_where_it_must(tmp_path: Path) -> None:
    compose = load(tmp_path, COMPOSE_CONFIG, "compose")
    shipped = load(tmp_path, ROOT / "config" / "armswatch.toml", "shipped")
    assert compose.feeds == shipped.feeds, "copy config/armswatch.toml's feeds here again"
    assert compose.polling == shipped.polling
    others = [c for c in compose.channels if c.name != "mailpit"]
    assert [c.name for c in others] == [c.name for c in shipped.channels]
    for ours, theirs in zip(others, shipped.channels, strict=True):
        if isinstance(ours.settings, FileSettings) and isinstance(theirs.settings, FileSettings):
            # File channels write on the volume, as the database does.
            assert ours.settings.path.is_relative_to("/data"), ours.name
            ours = replace(ours, settings=replace(ours.settings, path=theirs.settings.path))
        assert ours == theirs
