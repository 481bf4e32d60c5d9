"""The built wheel is a whole Herald: installed into a fresh venv and run from an empty folder,
it migrates, runs the demo and serves the admin login page, with its code and its data
(templates, migrations, demo content) coming only from the wheel.

The fresh venv gets the project venv's dependencies through a ``.pth`` file naming the project
venv's site-packages, instead of a slow resolve from PyPI. A directory named in a ``.pth`` file
joins ``sys.path`` but its own ``.pth`` files are not run, so the project's editable install
(its ``__editable__`` finder) is not loaded; the tests check that too. Building the wheel asks
PyPI for setuptools (pip's build isolation), as any build of the wheel does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.paths import ROOT
from tests.fixtures.processes import free_port, wait_until

PACKAGES = ("core", "subscribers", "publisher", "worker", "sandbox")
DEMO_SUBSCRIBERS = 3
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the working tree (the tree itself stays free of build/)."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is still listed
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)])
    (built,) = dist.glob("herald-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed, borrowing the project venv's dependencies."""
    home = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", str(home)])
    _run([str(home / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)])
    site_packages = _site_packages(home)
    (site_packages / "project-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return home


def test_the_wheel_holds_the_data_and_no_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {
        f"core/templates/{path.relative_to(ROOT / 'templates').as_posix()}"
        for path in (ROOT / "templates").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert len(templates) > 50
    assert templates <= names, sorted(templates - names)
    migrations = {
        f"publisher/migrations/{path.relative_to(ROOT / 'migrations').as_posix()}"
        for path in (ROOT / "migrations").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "publisher/migrations/script.py.mako" in migrations
    assert migrations <= names, sorted(migrations - names)
    content = {
        f"publisher/demo/content/{p.name}" for p in (ROOT / "publisher/demo/content").iterdir()
    }
    assert content and content <= names, sorted(content - names)
    # Every package of the source tree: pyproject lists them one by one.
    packages = {
        f"{path.relative_to(ROOT).as_posix()}"
        for package in PACKAGES
        for path in (ROOT / package).rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert packages <= names, sorted(packages - names)
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]
    assert not [name for name in names if name.startswith(("templates/", "migrations/"))]


def test_the_installed_wheel_runs_from_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "empty"
    cwd.mkdir()
    data = cwd / "data"
    # The first admin, so the login page is served rather than the first-visit setup.
    env = _clean_env(
        data_dir=str(data), admin_email="admin@example.org", admin_password="a long password"
    )
    herald = str(venv / "bin" / "herald")

    found = _run(
        [str(venv / "bin" / "python"), "-c", WHERE_FROM, str(ROOT)], env=env, cwd=cwd
    ).stdout
    where = dict(line.split("=", 1) for line in found.splitlines())
    site_packages = str(_site_packages(venv))
    for name in ("core", "publisher", "worker", "core.templates", "publisher.migrations"):
        assert where[name].startswith(site_packages), (name, where[name])
    assert where["editable_finder"] == "False"
    assert where["source_tree_on_path"] == "False"

    assert _run([herald, "--version"], env=env, cwd=cwd).stdout.strip() == f"herald {VERSION}"
    migrated = _run([herald, "migrate"], env=env, cwd=cwd)
    assert "database up to date" in migrated.stdout
    assert "created the first admin: admin@example.org" in migrated.stdout
    assert (data / "herald.sqlite").is_file()

    demo = _run(
        [herald, "demo", "--subscribers", str(DEMO_SUBSCRIBERS), "--timeout", "120"],
        env=env,
        cwd=cwd,
    )
    total = 2 * DEMO_SUBSCRIBERS
    assert f"messages: {total}/{total}" in demo.stdout, demo.stdout + demo.stderr
    written = sorted((data / "demo" / "outbox").glob("campaign-*/*.eml"))
    assert len(written) == total
    message = written[0].read_bytes()
    assert b"multipart/alternative" in message and b"List-Unsubscribe" in message

    with _web(herald, env, cwd) as url:
        login = httpx.get(f"{url}/admin/login", timeout=10)
    assert login.status_code == 200, login.text
    assert "<form" in login.text and 'name="password"' in login.text


WHERE_FROM = """
import importlib.resources, os, sys
import core, publisher, worker
print("core=" + core.__file__)
print("publisher=" + publisher.__file__)
print("worker=" + worker.__file__)
print("core.templates=" + str(importlib.resources.files("core.templates")))
print("publisher.migrations=" + str(importlib.resources.files("publisher.migrations")))
print("editable_finder=" + str(any("editable" in repr(f) for f in sys.meta_path)))
root = os.path.realpath(sys.argv[1])
print("source_tree_on_path=" + str(any(os.path.realpath(p or ".") == root for p in sys.path)))
"""
"""Where the installed interpreter finds Herald's code and data (the source tree is argv[1])."""


@contextmanager
def _web(herald: str, env: dict[str, str], cwd: Path) -> Iterator[str]:
    """``herald web`` of the installed wheel on a free port; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (cwd / "web.log").open("wb")
    process = subprocess.Popen(
        [herald, "web", "--port", str(port)], env=env, cwd=cwd, stdout=log, stderr=log
    )
    try:
        wait_until(lambda: _listening(url, process), timeout=30, what="the installed web process")
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def _listening(url: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, f"herald web exited with {process.returncode}"
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _clean_env(**settings: str) -> dict[str, str]:
    """The environment without HERALD_* settings or PYTHONPATH, plus ``settings``."""
    drop = ("HERALD_", "PYTHONPATH", "VIRTUAL_ENV")
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    env.update({f"HERALD_{name.upper()}": value for name, value in settings.items()})
    return env


def _site_packages(home: Path) -> Path:
    (found,) = home.glob("lib/python3*/site-packages")
    return found


def _run(
    line: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        line, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{line}: {result.stdout}\n{result.stderr}"
    return result
