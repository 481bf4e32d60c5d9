"""Settings: secrets that never show, a secrets folder for Docker secrets, and fallback keys.

Every credential is a ``SecretStr`` (its value absent from repr, str and JSON dumps); secret
files in a real folder are read by their variable's name; a rotated-out key is listed in
``secret_key_fallbacks`` as commas or JSON, and production refuses a weak one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings, get_settings
from tests.conftest import use_settings
from tests.fixtures.processes import herald, herald_env

CREDENTIAL = re.compile(r"token|key|password|secret")
"""Names that say a setting is a credential."""
NOT_SECRET = {"ses_access_key_id", "sendgrid_webhook_public_key", "dkim_private_key_path"}
"""Named like credentials but not secret: an id, a public key, a path."""
NOT_A_VALUE = {"secrets_dir"}
"""Names a folder of secrets; holds none."""


def _secret_names() -> list[str]:
    return [name for name, field in Settings.model_fields.items() if _holds_secret(field)]


def _holds_secret(field: object) -> bool:
    annotation = getattr(field, "annotation", None)
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def test_every_credential_is_a_secret_string() -> None:
    credentials = {
        name
        for name in Settings.model_fields
        if CREDENTIAL.search(name) and name not in NOT_SECRET | NOT_A_VALUE
    }
    assert "secret_key" in credentials and "smtp_password" in credentials
    assert credentials - set(_secret_names()) == set()


def test_no_secret_shows_in_repr_str_json_or_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    values = {name: f"leak-{index:02d}-{'x' * 32}" for index, name in enumerate(_secret_names())}
    url = "postgresql+psycopg://herald:db-password-leak@db/herald"
    settings = Settings(database_url=url, **values)  # type: ignore[arg-type]
    assert settings.secret_key.get_secret_value() == values["secret_key"]
    logging.getLogger("herald.test").warning("settings: %s / %r", settings, settings)
    shown = [repr(settings), str(settings), caplog.text]
    for text in [*shown, settings.model_dump_json(), repr(settings.model_dump())]:
        assert not [value for value in values.values() if value in text]
    # A URL stays a string (its readers need it whole) but never shows in repr or logs.
    assert not [text for text in shown if "db-password-leak" in text]


def test_secrets_are_read_from_a_secrets_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "herald_secret_key").write_text("from-a-file-" + "s" * 32 + "\n")
    (folder / "HERALD_RESEND_API_KEY").write_text("re_from_file")
    (folder / "herald_secret_key_fallbacks").write_text("old-one-" + "o" * 32 + ",older\n")
    (folder / "herald_metrics_token").write_text("file-token")
    monkeypatch.setenv("HERALD_METRICS_TOKEN", "environment-token")
    use_settings(monkeypatch, secrets_dir=str(folder))

    settings = get_settings()

    assert settings.secret_key.get_secret_value() == "from-a-file-" + "s" * 32
    assert settings.resend_api_key.get_secret_value() == "re_from_file"
    fallbacks = [key.get_secret_value() for key in settings.secret_key_fallbacks]
    assert fallbacks == ["old-one-" + "o" * 32, "older"]
    assert settings.metrics_token.get_secret_value() == "environment-token"  # the variable wins


def test_a_secrets_folder_that_is_not_there_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, secrets_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="HERALD_SECRETS_DIR"):
        get_settings()


def test_without_a_secrets_folder_the_defaults_stand() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.secrets_dir == "" and settings.secret_key_fallbacks == []
    assert settings.resend_api_key.get_secret_value() == ""


@pytest.mark.parametrize(
    "written",
    ["first-key, second-key,", '["first-key", "second-key"]'],
    ids=["commas", "json"],
)
def test_fallback_keys_are_commas_or_a_json_list(
    written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, secret_key_fallbacks=written)
    keys = get_settings().secret_key_fallbacks
    assert [key.get_secret_value() for key in keys] == ["first-key", "second-key"]
    assert "first-key" not in repr(get_settings())


def test_an_empty_fallback_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty key"):
        Settings(secret_key_fallbacks='["a-key", " "]')


def test_production_refuses_a_weak_fallback_key() -> None:
    strong = "n" * 40
    with pytest.raises(ValidationError, match="HERALD_SECRET_KEY_FALLBACKS"):
        Settings(env="production", secret_key=strong, secret_key_fallbacks="short")  # type: ignore[arg-type]
    accepted = Settings(env="production", secret_key=strong, secret_key_fallbacks="o" * 32)  # type: ignore[arg-type]
    assert len(accepted.secret_key_fallbacks) == 1


@pytest.mark.parametrize(
    "values",
    [
        {"env": "production", "secret_key": "too-short-but-secret"},
        {"secret_key_fallbacks": "[not json, too-short-but-secret"},
        {"smtp_port": "too-short-but-secret"},
    ],
    ids=["weak-key", "bad-fallbacks", "bad-value"],
)
def test_a_refused_setting_is_never_quoted_in_the_error(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)  # type: ignore[arg-type]
    assert "too-short-but-secret" not in str(refused.value)


def test_a_production_process_takes_its_secrets_from_the_folder(tmp_path: Path) -> None:
    """``herald migrate`` in production, its key and first admin's password in secret files
    only: it starts (production refuses the built-in key) and creates the admin."""
    folder = tmp_path / "run-secrets"
    folder.mkdir()
    (folder / "herald_secret_key").write_text("k" * 48 + "\n")
    (folder / "herald_admin_password").write_text("a long enough password\n")
    env = herald_env(
        env="production",
        database_url=f"sqlite:///{tmp_path}/herald.sqlite",
        admin_email="admin@example.org",
        secrets_dir=str(folder),
    )
    done = herald("migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "created the first admin: admin@example.org" in done.stdout
    assert "k" * 48 not in done.stdout + done.stderr

    without = herald("migrate", env={**env, "HERALD_SECRETS_DIR": ""}, cwd=tmp_path)
    assert without.returncode != 0 and "HERALD_SECRET_KEY" in without.stderr
