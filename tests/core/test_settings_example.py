"""The settings example and README's table: both name every setting Herald reads.

``.env.example`` is generated from the settings (``make env-example``) and must be what is
committed; it holds every setting with its default and never a secret's value. README's
configuration table is written by hand and must name every setting and only settings.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from core.settings import Settings
from core.settings_example import env_name, is_secret, render
from publisher.cli.main import app
from tests.fixtures.paths import ROOT

ASSIGNMENT = re.compile(r"^(# )?(HERALD_[A-Z0-9_]+)=(.*)$", re.MULTILINE)
"""A variable of the example file, commented out or set."""


def test_every_setting_has_a_docstring() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_the_committed_example_is_the_generated_one() -> None:
    committed = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == render(), ".env.example is out of date: run `make env-example`"


def test_the_example_names_every_setting_once_and_no_secret_value() -> None:
    found = {name: (commented, value) for commented, name, value in ASSIGNMENT.findall(render())}
    assert list(found) == [env_name(name) for name in Settings.model_fields]
    for name, field in Settings.model_fields.items():
        commented, value = found[env_name(name)]
        assert (commented, value) == (("# ", "") if is_secret(field) else ("", value))
    assert found["HERALD_PROVIDER_URL"] == ("", "")
    assert found["HERALD_SECRET_KEY"] == ("# ", "")


def test_every_default_in_the_example_reads_back_as_the_default() -> None:
    values = {
        name: value for commented, name, value in ASSIGNMENT.findall(render()) if not commented
    }
    read_back = Settings(_env_file=None, **{k[7:].lower(): v for k, v in values.items()})  # type: ignore[arg-type, call-arg]
    for name, field in Settings.model_fields.items():
        if not is_secret(field):
            assert getattr(read_back, name) == field.get_default(call_default_factory=True), name


def test_the_command_prints_and_writes_the_example(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["config", "example"])
    assert printed.exit_code == 0 and printed.stdout == render()
    target = tmp_path / ".env.example"
    written = runner.invoke(app, ["config", "example", "--output", str(target)])
    assert written.exit_code == 0
    assert target.read_text(encoding="utf-8") == render()


def test_the_readme_table_names_every_setting_and_only_settings() -> None:
    listed = _readme_settings()
    every = {env_name(name) for name in Settings.model_fields}
    assert every - listed == set(), "add these to README's configuration table"
    assert listed - every == set(), "README's configuration table names unknown settings"


def _readme_settings() -> set[str]:
    """The variables README's configuration table names; in a row, ``_PORT`` after
    ``HERALD_SMTP_HOST`` is short for ``HERALD_SMTP_PORT``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        first = row.split("|")[1]
        full = re.findall(r"`(HERALD_[A-Z0-9_]+)`", first)
        prefix = full[0].rsplit("_", 1)[0] if full else ""
        names.update(full)
        names.update(prefix + short for short in re.findall(r"`(_[A-Z0-9_]+)`", first))
    return names
