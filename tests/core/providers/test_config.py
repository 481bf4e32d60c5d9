"""Choosing and configuring a provider from settings: credentials required, defaults sane."""

from __future__ import annotations

import pytest

from core.providers.fallback import FallbackProvider
from core.providers.registry import get_provider
from core.settings import Settings

CREDENTIALS = {
    "postmark": {"postmark_server_token": "t"},
    "resend": {"resend_api_key": "k"},
    "sendgrid": {"sendgrid_api_key": "k"},
    "mailgun": {"mailgun_api_key": "k", "mailgun_domain": "mg.example.org"},
    "ses": {"ses_access_key_id": "a", "ses_secret_access_key": "s"},
}


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_each_http_provider_builds_against_its_own_api_by_default(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HERALD_PROVIDER_URL", raising=False)
    provider = get_provider(Settings(provider=name, **CREDENTIALS[name]))  # type: ignore[arg-type]
    assert provider.name == name
    base_url = str(provider._client.base_url)  # type: ignore[attr-defined]
    assert base_url.startswith("https://") and "127.0.0.1" not in base_url
    provider.close()


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_a_provider_without_its_credentials_refuses_to_start(name: str) -> None:
    missing = dict.fromkeys(CREDENTIALS[name], "")
    with pytest.raises(ValueError, match="must be set") as refused:
        get_provider(Settings(provider=name, **missing))  # type: ignore[arg-type]
    assert f"HERALD_{next(iter(missing)).upper()}" in str(refused.value)


def test_the_sandbox_url_replaces_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_PROVIDER_URL", "http://127.0.0.1:8025")
    provider = get_provider(Settings(provider="sendgrid", sendgrid_api_key="k"))
    assert str(provider._client.base_url).startswith("http://127.0.0.1:8025")  # type: ignore[attr-defined]
    provider.close()


def test_a_fallback_provider_wraps_the_first(tmp_path: object) -> None:
    provider = get_provider(
        Settings(provider="postmark", postmark_server_token="t", fallback_provider="outbox")
    )
    assert isinstance(provider, FallbackProvider)
    assert provider.name == "postmark" and not provider.idempotent
    provider.close()
