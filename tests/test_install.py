"""Armswatch installed from its wheel, as the Docker image installs it, run in an empty folder.

The wheel is built offline from a copy of what the Dockerfile copies (links kept as links, as
`COPY` keeps them) and installed into a fresh virtual environment. Its dependencies come from this
environment's site-packages, appended to the fresh one's path by a .pth file: nothing is
downloaded, and the checkout's editable install is not on that path (a .pth file in an appended
folder is not run), which the first test proves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT_FROM = ("pyproject.toml", "README.md", "monitor", "storage", "alerts", "config")
DEFAULTS = ("armswatch.toml", "watchlist.toml")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path             # the fresh environment's bin/
    site_packages: Path

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("ARMSWATCH_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run([str(self.bin / "armswatch"), *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in BUILT_FROM:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--wheel-dir", str(work / "dist"), str(source)], check=True, timeout=300)
    wheel = next((work / "dist").glob("armswatch-*.whl"))
    fresh = work / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site_packages = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site_packages / "dependencies-from-the-project-venv.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    return Installed(wheel=wheel, bin=fresh / "bin", site_packages=site_packages)


def test_the_wheel_carries_the_defaults_themselves(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        for name in DEFAULTS:
            packaged = wheel.read(f"monitor/settings/defaults/{name}").decode("utf-8")
            assert packaged == (ROOT / "config" / name).read_text(encoding="utf-8"), name


def test_the_installed_package_is_the_one_imported(installed: Installed, tmp_path: Path) -> None:
    where = subprocess.run([str(installed.bin / "python"), "-c",
                            "import monitor; print(monitor.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed.site_packages), where


def test_demo_runs_in_an_empty_folder(installed: Installed, tmp_path: Path) -> None:
    result = installed.run(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "Mission Firewall" in result.stdout and "0 failed" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_check_without_a_config_folder_names_init(installed: Installed, tmp_path: Path) -> None:
    result = installed.run(tmp_path, "check")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "no config folder: ./config does not exist and neither --config DIR nor ARMSWATCH_CONFIG "
        "names one; write a starter one with `armswatch init` (or `armswatch init DIR` and then "
        "--config DIR)"]


def test_init_then_check(installed: Installed, tmp_path: Path) -> None:
    written = installed.run(tmp_path, "init")
    assert written.returncode == 0, written.stderr
    assert "config/armswatch.toml" in written.stdout and "armswatch check" in written.stdout
    for name in DEFAULTS:
        assert (tmp_path / "config" / name).read_text(encoding="utf-8") == \
            (ROOT / "config" / name).read_text(encoding="utf-8")
    checked = installed.run(tmp_path, "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"config: {tmp_path / 'config'} (./config)\n")
    assert checked.stdout.rstrip().endswith("config OK")
    again = installed.run(tmp_path, "init")
    assert again.returncode == 2
    assert again.stderr.startswith("config/armswatch.toml and config/watchlist.toml already exist")
