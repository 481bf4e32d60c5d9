"""The SendGrid provider against the sandbox's Mail Send endpoint, served in a thread."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.sendgrid import SendGridProvider
from sandbox import SANDBOX_TOKEN, SandboxConfig, create_sandbox_app, serve_in_thread
from sandbox.sendgrid import sendgrid_routes
from tests.fixtures.providers import sendgrid_message as _message


@pytest.fixture
def sandbox_app() -> Iterator[tuple[FastAPI, str]]:
    app = create_sandbox_app()
    app.include_router(sendgrid_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    try:
        yield app, base_url
    finally:
        stop()


def _sandbox_provider(
    base_url: str, *, key: str = SANDBOX_TOKEN, timeout: float = 5
) -> SendGridProvider:
    return SendGridProvider(base_url=base_url, api_key=key, timeout=timeout)


def test_the_sandbox_accepts_and_records_each_message(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    provider = _sandbox_provider(base_url)

    results = provider.send_batch([_message(str(i), campaign_id="7") for i in range(3)])

    assert all(r.accepted and r.provider_message_id for r in results)
    assert len({r.provider_message_id for r in results}) == 3
    recipients = httpx.get(f"{base_url}/_sandbox/recipients", params={"campaign_id": "7"}).json()
    assert recipients == {f"reader{i}@example.org": 1 for i in range(3)}
    [first, *_] = httpx.get(f"{base_url}/_sandbox/messages").json()
    assert first["id"] == results[0].provider_message_id
    assert first["personalizations"][0]["custom_args"]["herald_key"] == "0"
    assert app.state.sandbox.mailroom.stats()["messages"] == 3
    provider.close()


def test_the_sandbox_refuses_an_invalid_message_like_sendgrid(
    sandbox_app: tuple[FastAPI, str],
) -> None:
    _, base_url = sandbox_app
    provider = _sandbox_provider(base_url)

    good, bad = provider.send_batch([_message("1"), _message("2", to="not-an-address")])

    assert good.accepted and not bad.accepted
    assert bad.error and "400" in bad.error and "personalizations.0.to" in bad.error


def test_the_sandbox_validates_the_documented_rules(sandbox_app: tuple[FastAPI, str]) -> None:
    _, base_url = sandbox_app
    auth = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    request = {
        "personalizations": [
            {"to": [{"email": "a@example.org"}], "headers": {"Subject": "x"}},
            {"to": [{"email": "A@example.org"}], "custom_args": {"n": 1}},
        ],
        "from": {"email": "news@herald.test"},
        "content": [
            {"type": "text/html", "value": "<p>x</p>"},
            {"type": "text/plain", "value": "x"},
        ],
    }

    answer = httpx.post(f"{base_url}/v3/mail/send", json=request, headers=auth)

    assert answer.status_code == 400
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {
        "personalizations.0.subject",
        "personalizations.0.headers",
        "personalizations.1.subject",
        "personalizations.1.custom_args",
        "content",
    }


def test_the_sandbox_takes_the_configured_bearer_key() -> None:
    app = create_sandbox_app(SandboxConfig(resend_api_key="SG.local"))
    app.include_router(sendgrid_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    try:
        [result] = _sandbox_provider(base_url, key="SG.local").send_batch([_message("1")])
    finally:
        stop()

    assert result.accepted


def test_the_sandbox_refuses_a_wrong_key(sandbox_app: tuple[FastAPI, str]) -> None:
    _, base_url = sandbox_app

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url, key="SG.wrong").send_batch([_message("1")])

    assert not caught.value.retryable and "401" in str(caught.value)


def test_sandbox_throttling_comes_back_as_a_paced_retry(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"throttle_rate": 1.0, "retry_after": 3})

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url).send_batch([_message("1")])

    error = caught.value
    assert error.throttled and error.retryable
    assert error.retry_after is not None and 2 <= error.retry_after <= 4
    assert app.state.sandbox.mailroom.stats()["throttled"] == 1


def test_sandbox_errors_are_retryable(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"error_rate": 1.0})

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url).send_batch([_message("1")])

    assert caught.value.retryable and "500" in str(caught.value)


def test_a_slow_sandbox_answer_is_an_unknown_outcome_yet_recorded(
    sandbox_app: tuple[FastAPI, str],
) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"slow_rate": 1.0, "slow_seconds": 1.0})

    with pytest.raises(OutcomeUnknown):
        _sandbox_provider(base_url, timeout=0.2).send_batch([_message("1")])

    assert app.state.sandbox.mailroom.stats()["messages"] == 1
