"""The ``herald`` command as released: every command and option is still there."""

from __future__ import annotations

from typing import Any

import typer

from publisher.cli.main import app
from tests.fixtures.paths import DATA


def _shape(command: Any, path: str) -> dict[str, set[str]]:
    """Each command's path with the flags of its options and the names of its arguments."""
    found = {path: {flag for param in command.params for flag in param.opts}}
    for name, sub in getattr(command, "commands", {}).items():
        found.update(_shape(sub, f"{path} {name}"))
    return found


def _released() -> dict[str, set[str]]:
    lines = (DATA / "released_cli.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return {command: set(flags.split()) for command, flags in pairs}


def test_every_released_command_and_option_is_still_there() -> None:
    shape = _shape(typer.main.get_command(app), "herald")
    released = _released()
    assert len(released) > 50
    missing = {
        command: sorted(flags - shape.get(command, set()))
        for command, flags in released.items()
        if command not in shape or flags - shape[command]
    }
    assert missing == {}
