"""Each provider proves its credentials with one cheap authenticated read that sends nothing
(``herald doctor``'s provider check): against the sandbox over real HTTP, the SMTP test
server, and the outbox folder. The right credentials pass; wrong ones fail with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.providers.base import Checkable, ProviderError
from core.providers.outbox import OutboxProvider
from core.providers.registry import build_provider
from core.settings import Settings
from sandbox import create_sandbox_app, serve_in_thread
from sandbox.ses import SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY
from tests.fixtures.sandbox import RESEND_KEY, TOKEN, sandbox_config
from tests.fixtures.smtp_server import Server

RIGHT = {
    "postmark": {"postmark_server_token": TOKEN},
    "resend": {"resend_api_key": RESEND_KEY},
    "sendgrid": {"sendgrid_api_key": RESEND_KEY},
    "mailgun": {"mailgun_api_key": RESEND_KEY, "mailgun_domain": "mg.herald.test"},
    "ses": {
        "ses_access_key_id": SANDBOX_ACCESS_KEY_ID,
        "ses_secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
    },
}
WRONG = {
    "postmark": ({"postmark_server_token": "wrong"}, "Postmark refused the credentials: HTTP 401"),
    "resend": ({"resend_api_key": "wrong"}, "Resend refused the credentials: HTTP 403"),
    "sendgrid": ({"sendgrid_api_key": "wrong"}, "SendGrid refused the credentials: HTTP 401"),
    "mailgun": ({"mailgun_api_key": "wrong"}, "Mailgun refused the credentials: HTTP 401"),
    "ses": ({"ses_secret_access_key": "wrong"}, "SES refused the credentials: HTTP 403"),
}
SAYS = {
    "postmark": "Postmark server 'Herald sandbox' accepts the token",
    "resend": "Resend accepts the API key; domains: herald.test",
    "sendgrid": "SendGrid accepts the API key (2 scopes, mail.send among them)",
    "mailgun": "Mailgun accepts the API key for domain 'mg.herald.test'",
    "ses": "SES accepts the keys; sent 0.0 of 50000.0 in 24 h, 14.0/s",
}


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    url, stop = serve_in_thread(create_sandbox_app(sandbox_config()))
    yield url
    stop()


def _checked(name: str, url: str, **credentials: str) -> str:
    settings = Settings(provider=name, provider_url=url, provider_timeout_seconds=5, **credentials)  # type: ignore[arg-type]
    provider = build_provider(name, settings)
    assert isinstance(provider, Checkable)
    try:
        return provider.check_access()
    finally:
        provider.close()


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_the_right_credentials_pass_and_nothing_is_sent(name: str, sandbox_url: str) -> None:
    assert _checked(name, sandbox_url, **RIGHT[name]) == SAYS[name]
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 0


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_credentials_fail_with_the_reason(name: str, sandbox_url: str) -> None:
    wrong, reason = WRONG[name]
    with pytest.raises(ProviderError, match=reason) as refused:
        _checked(name, sandbox_url, **{**RIGHT[name], **wrong})
    assert not refused.value.retryable


def test_a_provider_that_does_not_answer_is_unreachable() -> None:
    with pytest.raises(ProviderError, match="Postmark unreachable"):
        _checked("postmark", "http://127.0.0.1:9", **RIGHT["postmark"])


def test_smtp_connects_says_ehlo_and_leaves_without_a_message(server: Server) -> None:
    settings = Settings(
        provider="smtp", smtp_host="127.0.0.1", smtp_port=server.port, smtp_starttls=False
    )
    provider = build_provider("smtp", settings)
    assert isinstance(provider, Checkable)
    assert provider.check_access() == f"SMTP server 127.0.0.1:{server.port} took the session"
    assert server.mailroom.contents() == []


def test_smtp_that_nothing_answers_fails() -> None:
    settings = Settings(provider="smtp", smtp_host="127.0.0.1", smtp_port=9, smtp_starttls=False)
    provider = build_provider("smtp", settings)
    assert isinstance(provider, Checkable)
    with pytest.raises(ProviderError, match=r"SMTP server 127\.0\.0\.1:9 unreachable"):
        provider.check_access()


def test_the_outbox_folder_must_be_writable(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    assert OutboxProvider(folder).check_access() == f"outbox folder {folder} is writable"
    assert list(folder.iterdir()) == []  # the probe file is gone
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(ProviderError, match="is not writable"):
        OutboxProvider(blocked / "outbox").check_access()
