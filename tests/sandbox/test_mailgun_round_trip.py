"""The Mailgun provider against the sandbox's Mailgun API, served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.message import Mailbox
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.mailgun import MailgunProvider
from sandbox import SANDBOX_TOKEN, create_sandbox_app, serve_in_thread
from sandbox.mailgun import mailgun_routes
from tests.fixtures.providers import mailgun_message as _message

DOMAIN = "mg.herald.test"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app()
    app.include_router(mailgun_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[MailgunProvider]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, throttle_rate=0.0, error_rate=0.0, slow_rate=0.0)
    provider = MailgunProvider(sandbox_url, SANDBOX_TOKEN, DOMAIN, timeout=5)
    yield provider
    provider.close()


def _faults(sandbox_url: str, **settings: Any) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=settings).raise_for_status()


def test_sandbox_records_each_message_with_our_keys(
    sandbox: MailgunProvider, sandbox_url: str
) -> None:
    results = sandbox.send_batch([_message(str(i), campaign_id="3") for i in range(3)])

    assert all(r.accepted for r in results)
    ids = [r.provider_message_id for r in results]
    assert len(set(ids)) == 3 and all(i and i.endswith(f"@{DOMAIN}>") for i in ids)
    recorded = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert [m["id"] for m in recorded] == ids
    assert [m["v:herald_key"] for m in recorded] == ["0", "1", "2"]
    assert recorded[0]["to"] == ["reader0@example.org"] and recorded[0]["o:tracking"] == "no"
    assert "Message-ID: <0@herald.test>" in recorded[0]["message"]
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "3"})
    assert recipients.json() == {f"reader{i}@example.org": 1 for i in range(3)}


def test_sandbox_refuses_an_invalid_address_alone(
    sandbox: MailgunProvider, sandbox_url: str
) -> None:
    invalid = replace(_message("2"), to=Mailbox("not-an-address"))

    first, second, third = sandbox.send_batch([_message("1"), invalid, _message("3")])

    assert first.accepted and third.accepted and not second.accepted
    assert second.error and second.error.startswith("Mailgun HTTP 400: to parameter is not")
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 2


def test_sandbox_refuses_a_wrong_key(sandbox_url: str) -> None:
    provider = MailgunProvider(sandbox_url, "wrong-key", DOMAIN, timeout=5)

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert not caught.value.retryable and "Mailgun HTTP 401" in str(caught.value)
    provider.close()


def test_sandbox_throttling_is_a_throttle(sandbox: MailgunProvider, sandbox_url: str) -> None:
    _faults(sandbox_url, throttle_rate=1.0, retry_after=3)

    with pytest.raises(ProviderError) as caught:
        sandbox.send_batch([_message("1")])

    assert caught.value.throttled and caught.value.retry_after == 3.0
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 0


def test_sandbox_errors_are_retryable(sandbox: MailgunProvider, sandbox_url: str) -> None:
    _faults(sandbox_url, error_rate=1.0)

    with pytest.raises(ProviderError) as caught:
        sandbox.send_batch([_message("1")])

    assert caught.value.retryable and "Mailgun HTTP 500" in str(caught.value)


def test_sandbox_slow_answer_is_unknown_but_the_message_was_queued(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, slow_rate=1.0, slow_seconds=1.5, throttle_rate=0.0, error_rate=0.0)
    provider = MailgunProvider(sandbox_url, SANDBOX_TOKEN, DOMAIN, timeout=0.5)

    try:
        with pytest.raises(OutcomeUnknown):
            provider.send_batch([_message("1")])
    finally:
        provider.close()
        _faults(sandbox_url, slow_rate=0.0)

    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 1


def test_sandbox_accepts_mailguns_component_form(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    fields = {
        "from": "Центр Herald <news@herald.test>",
        "to": "reader@example.org",
        "subject": "Форум — 東京",
        "text": "Вітаємо",
        "v:campaign_id": "5",
        "v:herald_key": "55",
    }

    answer = httpx.post(
        f"{sandbox_url}/v3/{DOMAIN}/messages", data=fields, auth=("api", SANDBOX_TOKEN)
    )
    missing = httpx.post(
        f"{sandbox_url}/v3/{DOMAIN}/messages",
        data={**fields, "text": ""},
        auth=("api", SANDBOX_TOKEN),
    )

    assert answer.status_code == 200 and answer.json()["message"] == "Queued. Thank you."
    assert missing.status_code == 400 and "text" in missing.json()["message"]
    [recorded] = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert recorded["subject"] == "Форум — 東京" and recorded["v:herald_key"] == "55"
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "5"})
    assert recipients.json() == {"reader@example.org": 1}
