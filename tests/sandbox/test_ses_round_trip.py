"""The SES provider against the sandbox's SES endpoint, served over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from core.providers.base import ProviderError
from core.providers.ses import SesProvider
from sandbox import FaultSettings, SandboxConfig, create_sandbox_app, serve_in_thread
from sandbox.ses import SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY, ses_routes
from tests.fixtures.providers import ses_message as _message


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app(SandboxConfig(faults=FaultSettings()))
    app.include_router(ses_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[SesProvider]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, throttle_rate=0.0, error_rate=0.0, slow_rate=0.0)
    provider = SesProvider(
        "eu-west-1",
        SANDBOX_ACCESS_KEY_ID,
        SANDBOX_SECRET_ACCESS_KEY,
        timeout=5,
        configuration_set="herald-events",
        base_url=sandbox_url,
    )
    yield provider
    provider.close()


def _faults(sandbox_url: str, **settings: Any) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=settings).raise_for_status()


def test_sandbox_records_each_message_with_our_keys(sandbox: SesProvider, sandbox_url: str) -> None:
    results = sandbox.send_batch([_message(str(i), campaign_id="3") for i in range(3)])

    assert all(r.accepted for r in results)
    ids = [r.provider_message_id for r in results]
    recorded = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert [m["id"] for m in recorded] == ids
    assert [m["tags"]["herald_key"] for m in recorded] == ["0", "1", "2"]
    assert recorded[0]["to"] == ["reader0@example.org"]
    assert recorded[0]["subject"] == "Форум: 東京 — підсумки"
    assert recorded[0]["configuration_set"] == "herald-events"
    assert "List-Unsubscribe: <https://x/u/0>" in recorded[0]["raw"]
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "3"})
    assert recipients.json() == {f"reader{i}@example.org": 1 for i in range(3)}


def test_sandbox_refuses_a_wrong_secret(sandbox_url: str) -> None:
    provider = SesProvider(
        "eu-west-1", SANDBOX_ACCESS_KEY_ID, "wrong", timeout=5, base_url=sandbox_url
    )
    with closing(provider), pytest.raises(ProviderError) as failed:
        provider.send_batch([_message("1")])
    assert "InvalidSignatureException" in str(failed.value) and not failed.value.retryable


def test_sandbox_refuses_an_unknown_key(sandbox_url: str) -> None:
    provider = SesProvider("eu-west-1", "AKIDOTHER", "x", timeout=5, base_url=sandbox_url)
    with closing(provider), pytest.raises(ProviderError) as failed:
        provider.send_batch([_message("1")])
    assert "UnrecognizedClientException" in str(failed.value)


def test_sandbox_throttling_reaches_the_provider_as_throttled(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    _faults(sandbox_url, throttle_rate=1.0, retry_after=2)
    with pytest.raises(ProviderError) as failed:
        sandbox.send_batch([_message("1")])
    assert failed.value.throttled and failed.value.retry_after == 2


def test_sandbox_errors_reach_the_provider_as_retryable(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    _faults(sandbox_url, error_rate=1.0)
    with pytest.raises(ProviderError) as failed:
        sandbox.send_batch([_message("1")])
    assert failed.value.retryable and "InternalServiceErrorException" in str(failed.value)


def test_sandbox_takes_the_recipient_from_the_mime_without_a_destination(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    body = sandbox.request_json(_message("9"))
    del body["Destination"]
    answer = sandbox._client.post("/v2/email/outbound-emails", content=json.dumps(body))
    assert answer.status_code == 200 and answer.json()["MessageId"]
    [recorded] = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert recorded["to"] == ["reader9@example.org"]


def test_sandbox_refuses_a_line_over_a_thousand_characters(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    raw = b"To: a@example.org\r\nSubject: x\r\n\r\n" + b"x" * 1200 + b"\r\n"
    body = {"Content": {"Raw": {"Data": base64.b64encode(raw).decode()}}}
    answer = sandbox._client.post("/v2/email/outbound-emails", content=json.dumps(body))
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"] == "MessageRejected"
