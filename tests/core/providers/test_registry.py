"""The registry: choosing and configuring a sender from settings, and a provider's webhook reader.

Credentials are required, defaults sane; an unknown provider has no reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.providers.fallback import FallbackProvider
from core.providers.outbox import OutboxProvider
from core.providers.postmark import PostmarkProvider
from core.providers.registry import get_provider, known_providers, webhook_reader
from core.providers.resend import ResendProvider
from core.providers.smtp import SmtpProvider
from core.settings import Settings, get_settings

TOKEN = "sandbox-token"
"""A Postmark server token."""
API_KEY = "re_test_key"
"""A Resend API key."""
CREDENTIALS = {
    "postmark": {"postmark_server_token": "t"},
    "resend": {"resend_api_key": "k"},
    "sendgrid": {"sendgrid_api_key": "k"},
    "mailgun": {"mailgun_api_key": "k", "mailgun_domain": "mg.example.org"},
    "ses": {"ses_access_key_id": "a", "ses_secret_access_key": "s"},
}


PUBLIC_API = {
    "postmark": "https://api.postmarkapp.com",
    "resend": "https://api.resend.com",
    "sendgrid": "https://api.sendgrid.com",
    "mailgun": "https://api.mailgun.net",
    "ses": "https://email.eu-west-1.amazonaws.com",
}
"""Each HTTP provider's own public API, as its documentation names it."""


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_each_http_provider_builds_against_its_own_api_by_default(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HERALD_PROVIDER_URL", raising=False)
    settings = Settings(_env_file=None, provider=name, **CREDENTIALS[name])  # type: ignore[arg-type, call-arg]
    assert settings.provider_url == ""
    provider = get_provider(settings)
    assert provider.name == name
    base_url = str(provider._client.base_url)  # type: ignore[attr-defined]
    assert base_url.rstrip("/").startswith(PUBLIC_API[name])
    provider.close()


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_the_settings_example_sends_each_provider_to_its_own_api(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.env.example loaded as the env file (docker compose once read it first) leaves the
    provider's API alone: one provider's key never travels to another's host."""
    monkeypatch.delenv("HERALD_PROVIDER_URL", raising=False)
    example = Path(__file__).parents[3] / ".env.example"
    settings = Settings(_env_file=example, provider=name, **CREDENTIALS[name])  # type: ignore[arg-type, call-arg]
    provider = get_provider(settings)
    assert str(provider._client.base_url).rstrip("/").startswith(PUBLIC_API[name])  # type: ignore[attr-defined]
    provider.close()


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_the_provider_url_replaces_each_public_api(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERALD_PROVIDER_URL", "http://127.0.0.1:8025")
    provider = get_provider(Settings(provider=name, **CREDENTIALS[name]))  # type: ignore[arg-type]
    assert str(provider._client.base_url).startswith("http://127.0.0.1:8025")  # type: ignore[attr-defined]
    provider.close()


def test_smtp_talks_to_its_own_host_whatever_the_provider_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HERALD_PROVIDER_URL", "https://api.postmarkapp.com")
    provider = get_provider(Settings(provider="smtp", smtp_host="mail.example.org"))
    assert isinstance(provider, SmtpProvider)
    assert (provider.host, provider.port) == ("mail.example.org", 587)


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_a_provider_without_its_credentials_refuses_to_start(name: str) -> None:
    missing = dict.fromkeys(CREDENTIALS[name], "")
    with pytest.raises(ValueError, match="must be set") as refused:
        get_provider(Settings(provider=name, **missing))  # type: ignore[arg-type]
    assert f"HERALD_{next(iter(missing)).upper()}" in str(refused.value)


def test_a_fallback_provider_wraps_the_first(tmp_path: object) -> None:
    provider = get_provider(
        Settings(provider="postmark", postmark_server_token="t", fallback_provider="outbox")
    )
    assert isinstance(provider, FallbackProvider)
    assert provider.name == "postmark" and not provider.idempotent
    provider.close()


def test_get_provider_builds_postmark_from_settings() -> None:
    settings = Settings(provider="postmark", postmark_server_token=TOKEN)

    provider = get_provider(settings)

    assert isinstance(provider, PostmarkProvider)
    assert not provider.idempotent and provider.max_batch_size == 500
    provider.close()
    with pytest.raises(ValueError, match="TOKEN"):
        get_provider(Settings(provider="postmark", postmark_server_token=""))


def test_get_provider_builds_resend_against_resends_api_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HERALD_PROVIDER_URL", raising=False)
    provider = get_provider(Settings(provider="resend", resend_api_key=API_KEY))

    assert isinstance(provider, ResendProvider)
    assert provider.idempotent and provider.max_batch_size == 100
    assert str(provider._client.base_url) == "https://api.resend.com"
    provider.close()
    assert provider._client.is_closed


def test_get_provider_keeps_an_explicit_provider_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_PROVIDER_URL", "http://127.0.0.1:8025")
    provider = get_provider(Settings(provider="resend", resend_api_key=API_KEY))

    assert isinstance(provider, ResendProvider)
    assert str(provider._client.base_url) == "http://127.0.0.1:8025"
    provider.close()


def test_get_provider_refuses_resend_without_an_api_key() -> None:
    with pytest.raises(ValueError, match="HERALD_RESEND_API_KEY"):
        get_provider(Settings(provider="resend", resend_api_key=""))


def test_get_provider_builds_the_outbox_from_settings(tmp_path: Path) -> None:
    provider = get_provider(Settings(provider="outbox", outbox_dir=tmp_path))

    assert isinstance(provider, OutboxProvider)
    assert provider.idempotent and provider.max_batch_size == 500


def test_the_registry_knows_postmark_and_resend_only() -> None:
    settings = get_settings()
    assert {"postmark", "resend"} <= set(known_providers())
    reader = webhook_reader("postmark", settings)
    assert reader is not None and reader.provider == "postmark"
    assert webhook_reader("carrier-pigeon", settings) is None
