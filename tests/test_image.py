"""The image is reproducible: requirements.lock pins every runtime dependency of pyproject
within its range, with hashes, and the Dockerfile installs that lock before it copies the
source, runs as a service user and has a health check.

The Dockerfile checks are static (its instructions read in order, no image is built): they
hold the order and the settings, not that the build succeeds.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("core", "subscribers", "publisher", "worker", "sandbox")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def _pins() -> dict[str, Version]:
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(text)}


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement}: run make lock"
        )


def test_the_extras_asked_for_are_pinned_too() -> None:
    pins = _pins()
    environment: dict[str, str] = dict(default_environment())
    for requirement in _runtime_requirements():
        for extra in requirement.extras:
            wanted = {**environment, "extra": extra}
            declared = [Requirement(line) for line in metadata.requires(requirement.name) or []]
            needed = [
                dependency
                for dependency in declared
                if dependency.marker is not None
                and "extra" in str(dependency.marker)
                and dependency.marker.evaluate(wanted)
            ]
            assert needed, f"{requirement.name}[{extra}] names nothing"
            for dependency in needed:
                assert canonicalize_name(dependency.name) in pins, f"{dependency} ({requirement})"


def test_every_pin_carries_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements.lock").read_text())
    pinned = [entry for entry in entries if PIN.match(entry)]
    assert len(pinned) == len(_pins()) > 0
    for entry in pinned:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order: (INSTRUCTION, its arguments on one line)."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _index(stage: list[tuple[str, str]], word: str, *parts: str) -> int:
    for at, (instruction, arguments) in enumerate(stage):
        if instruction == word and all(part in arguments for part in parts):
            return at
    pytest.fail(f"no {word} with {parts} in the stage")


def _copies_source(arguments: str) -> bool:
    return arguments.startswith("--from") or any(
        re.search(rf"(^|\s){name}(/|\s)", arguments) for name in SOURCE
    )


def test_the_final_stage_installs_the_lock_before_any_source() -> None:
    final = _stages()[-1]
    lock_copied = _index(final, "COPY", "requirements.lock")
    locked = _index(final, "RUN", "--require-hashes", "requirements.lock")
    first_source = min(
        at for at, (word, args) in enumerate(final) if word == "COPY" and _copies_source(args)
    )
    herald = _index(final, "RUN", "pip install --no-deps")
    assert lock_copied < locked < first_source < herald


def test_package_data_is_in_place_before_the_package_is_built() -> None:
    build = _stages()[0]
    built = min(
        at
        for at, (word, args) in enumerate(build)
        if word == "RUN" and re.search(r"pip (wheel|install)\b.*\s\.(\s|$)", args + " ")
    )
    for needed in ("templates", "migrations", "alembic.ini", *SOURCE):
        assert _index(build, "COPY", needed) < built, needed


def test_it_runs_as_the_service_user_owning_its_data_with_a_health_check() -> None:
    final = _stages()[-1]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    user = _index(final, "USER")
    owned = _index(final, "RUN", "chown", "/app/var")
    assert owned < user
    for folder in ("/app/var/outbox", "/app/var/imports"):
        assert _index(final, "RUN", "mkdir", folder) < user
    assert _index(final, "ENV", "HERALD_DATA_DIR=/app/var") < user
    assert "/livez" in final[_index(final, "HEALTHCHECK")][1]
    assert _index(final, "RUN", "tzdata") < user
