"""The container deployment: Dockerfile, docker-compose.yml, .env.example and the image's lock.

No Docker daemon is needed: `docker-compose config` validates the compose file when the command
exists, the YAML is read with PyYAML, and the config the service mounts is loaded with
``load_config`` and the environment the compose file gives it, exactly as the container would.
"""

from __future__ import annotations

import asyncio
import fnmatch
import importlib.util
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from builders import write_config
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_packages

from alerts.config import EmailSettings, FileSettings
from monitor.service import Monitor
from monitor.settings import Config, load_config, summarise

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CONSTRAINTS = ROOT / "deploy" / "constraints.txt"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


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


def image_env() -> dict[str, str]:
    """The final image's ENV, as NAME=value pairs."""
    pairs = [args for word, args in dockerfile_instructions() if word == "ENV"]
    return dict(pair.split("=", 1) for args in pairs for pair in args.split())


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → "source:options" of a service's short-syntax volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        found[target] = ":".join([source, *options])
    return found


def service_config(tmp_path: Path, compose: dict[str, Any]) -> Config:
    """The config the armswatch service loads: its mounted folder, with its environment."""
    source = mounts(compose["services"]["armswatch"])[image_env()["ARMSWATCH_CONFIG"]]
    folder = ROOT / source.split(":")[0]
    environment = {k: v or "" for k, v in compose["services"]["armswatch"]["environment"].items()}
    # What compose passes when the variables are unset: "${SMTP_HOST:-}" is empty.
    environ = {k: "" if v.startswith("${") else v for k, v in environment.items()}
    return load_config(folder, environ=environ)


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



def test_three_services_and_a_named_volume_for_each_store(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"armswatch", "datasette", "mailpit"}
    assert set(compose["volumes"]) == {"armswatch-data", "mailpit-data"}
    data = image_env()["ARMSWATCH_DB"].rsplit("/", 1)[0]
    assert mounts(services["armswatch"])[data] == "armswatch-data"              # the writer
    assert mounts(services["datasette"])[data] == "armswatch-data:ro"           # the browser
    assert services["armswatch"]["command"] == ["armswatch", "run"]
    assert services["datasette"]["command"] == ["armswatch", "serve", "--host", "0.0.0.0",
                                                "--port", "8001"]


def test_mailpit_keeps_its_messages_on_a_volume(compose: dict[str, Any]) -> None:
    mailpit = compose["services"]["mailpit"]
    database = PurePosixPath(mailpit["environment"]["MP_DATABASE"])
    volume_mounts = {target: source for target, source in mounts(mailpit).items()
                     if source in compose["volumes"]}
    assert any(database.is_relative_to(target) for target in volume_mounts), volume_mounts


def test_the_service_mounts_the_checkouts_config_folder(compose: dict[str, Any]) -> None:
    config_dir = image_env()["ARMSWATCH_CONFIG"]
    service_mounts = mounts(compose["services"]["armswatch"])
    assert service_mounts[config_dir] == "./config:ro"
    # Only folders are bound: a single-file mount misses saves that replace the file.
    for service in compose["services"].values():
        for source in mounts(service).values():
            name = source.split(":")[0]
            if name.startswith("."):
                assert (ROOT / name).is_dir(), f"{name}: bind-mount the folder, not a file"


def test_a_save_that_replaces_the_file_is_reloaded(tmp_path: Path) -> None:
    """What the folder mount makes visible in the container (an editor's write-and-rename, or
    `sed -i`), the service picks up."""
    folder = write_config(tmp_path / "config", tmp_path / "armswatch.db",
                          {"Border": "https://border.example/feed"})
    monitor = Monitor(load_config(folder, environ={}))
    edited = folder / ".watchlist.toml.swp"
    edited.write_text((folder / "watchlist.toml").read_text(encoding="utf-8") +
                      '\n[[watch]]\nname = "Operation Without a Trace"\nkind = "program"\n'
                      'terms = ["Operation Without a Trace"]\n', encoding="utf-8")
    os.replace(edited, folder / "watchlist.toml")
    assert asyncio.run(monitor.reload_config())
    assert monitor.config.watch[-1].name == "Operation Without a Trace"


def test_the_feed_list_exists_once() -> None:
    shipped = ROOT / "config" / "armswatch.toml"
    skip = {".venv", ".git", "tests", "build", "dist", "data"}
    with_feeds = [path for path in ROOT.rglob("*.toml")
                  if not skip & set(path.relative_to(ROOT).parts)
                  and "[[feeds]]" in path.read_text(encoding="utf-8")]
    # The package's defaults are a link to it, not a copy.
    assert {path.resolve() for path in with_feeds} == {shipped}, with_feeds


def test_the_service_config_loads_with_the_compose_environment(tmp_path: Path,
                                                               compose: dict[str, Any]) -> None:
    config = service_config(tmp_path, compose)
    assert config.warnings == ()
    mail = {c.name: c for c in config.channels}["mailpit"]
    assert mail.type == "email" and mail.immediate
    assert isinstance(mail.settings, EmailSettings)
    smtp = mail.settings.smtp
    # Mailpit's SMTP port on the compose network; no login, no TLS (it has no certificate).
    assert (smtp.host, smtp.port, smtp.security) == ("mailpit", 1025, "none")
    assert smtp.username is None and smtp.password is None
    assert [c.name for c in config.channels] == ["local-digest", "mailpit"]


def test_outside_compose_the_mailpit_channel_is_off_without_a_warning() -> None:
    config = load_config(ROOT / "config", environ={})
    assert [c.name for c in config.channels] == ["local-digest"]
    assert config.warnings == ()
    assert config.skipped == ('channel "mailpit" is off (optional): environment variable '
                              "MAILPIT_HOST is not set",)
    # `check` says so, where a user looks for why no email came.
    assert '  channel "mailpit" is off (optional): environment variable MAILPIT_HOST is not ' \
           "set" in summarise(config)


def test_relative_paths_of_the_config_land_on_the_data_volume(tmp_path: Path,
                                                              compose: dict[str, Any]) -> None:
    instructions = dockerfile_instructions()
    workdir = PurePosixPath([args for word, args in instructions if word == "WORKDIR"][-1])
    data = PurePosixPath(image_env()["ARMSWATCH_DB"]).parent
    assert ("VOLUME", str(data)) in instructions
    config = service_config(tmp_path, compose)
    paths = [config.storage.path] + [c.settings.path for c in config.channels
                                     if isinstance(c.settings, FileSettings)]
    for path in paths:
        assert (workdir / PurePosixPath(path)).is_relative_to(data), path


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    bases = [args for word, args in dockerfile_instructions() if word == "FROM"]
    assert len(bases) == 2   # the wheel is built in a stage of its own
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm( AS \w+)?", base), base
    images = {name: service["image"] for name, service in compose["services"].items()}
    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", images["mailpit"])
    # The image's tag is the checkout's version: an upgrade builds a new tag, the old one stays.
    ours = f"armswatch:${{ARMSWATCH_VERSION:-{PROJECT['version']}}}"
    assert images["armswatch"] == images["datasette"] == ours
    assert "latest" not in COMPOSE.read_text(encoding="utf-8")


def test_env_example_lists_every_variable_compose_reads() -> None:
    read = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example")
                            .read_text(encoding="utf-8"), re.M))
    assert read == listed


def load_lock_script() -> Any:
    spec = importlib.util.spec_from_file_location("lock_constraints",
                                                  ROOT / "deploy" / "lock_constraints.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_image_installs_pinned_runtime_dependencies_only() -> None:
    assert any(word == "RUN" and "pip install --constraint /tmp/constraints.txt "
               "/tmp/wheels/armswatch-" in args for word, args in dockerfile_instructions())
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    needed = load_lock_script().runtime_dependencies()
    missing = sorted(needed - set(pins))
    assert not missing, f"not pinned in deploy/constraints.txt (run `make constraints`): {missing}"
    for tool in ("pytest", "hypothesis", "mypy", "ruff", "aiosmtpd"):
        assert tool not in pins, tool
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)]), text


def test_dockerignore_keeps_what_the_image_copies() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:   # the last matching pattern wins; "!" takes it back
        verdict = False
        for pattern in patterns:
            if fnmatch.fnmatch(path, pattern.lstrip("!")):
                verdict = not pattern.startswith("!")
        return verdict

    copied = []
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            copied += args.split()[:-1]
    assert set(copied) >= {"pyproject.toml", "README.md", "monitor", "storage", "alerts", "config",
                           "deploy/constraints.txt"}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not ignored(source), source


def test_the_image_runs_as_a_user_with_a_starter_config() -> None:
    instructions = dockerfile_instructions()
    words = [word for word, _ in instructions]
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    assert ("RUN", f"armswatch init {image_env()['ARMSWATCH_CONFIG']}") in instructions
    assert ("CMD", '["armswatch", "run"]') in instructions


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in
                 compose["services"].items()}
    assert published["datasette"] == ["127.0.0.1:8001:8001"]
    assert sorted(published["mailpit"]) == ["127.0.0.1:1025:1025", "127.0.0.1:8025:8025"]
    assert published["armswatch"] == []


def test_healthchecks(compose: dict[str, Any]) -> None:
    healthchecks = [args for word, args in dockerfile_instructions() if word == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert healthchecks[0].endswith('CMD ["armswatch", "status"]')
    assert "--start-period=" in healthchecks[0]
    browser_check = compose["services"]["datasette"]["healthcheck"]["test"]
    assert browser_check[0] == "CMD"
    assert "http://127.0.0.1:8001/armswatch/hits.json" in " ".join(browser_check)
    assert "healthcheck" not in compose["services"]["armswatch"]   # the image's own


def test_a_non_editable_install_gets_every_package() -> None:
    setuptools_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(find_packages(str(ROOT), include=setuptools_config["packages"]["find"]["include"]))
    on_disk = {str(init.parent.relative_to(ROOT)).replace("/", ".")
               for top in ("monitor", "storage", "alerts")
               for init in (ROOT / top).rglob("__init__.py")}
    assert on_disk <= listed, f"not installed by `pip install .`: {sorted(on_disk - listed)}"


def test_the_image_installs_datasette_for_armswatch_serve() -> None:
    names = [canonicalize_name(Requirement(text).name) for text in PROJECT["dependencies"]]
    assert "datasette" in names, "the datasette service runs `armswatch serve`"


def test_the_upgrade_instructions_back_up_first() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    upgrade = operations.split("**Upgrading.**", 1)[1].split("\n\n**", 1)[0]
    assert upgrade.index("back up") < upgrade.index("up -d --build")
    assert "ARMSWATCH_VERSION=" in upgrade   # how to go back to the previous image
