"""Sandbox faults: throttling, errors and slow answers, changed at runtime, repeatable by seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sandbox import FaultSettings, run_sandbox_in_thread
from tests.fixtures.sandbox import AUTH, NOTHING, RESEND_AUTH
from tests.fixtures.sandbox import postmark_mail as _mail
from tests.fixtures.sandbox import resend_email as _email
from tests.fixtures.sandbox import sandbox_config as _config
from tests.fixtures.sandbox import stats_of as _stats


def test_throttling_answers_429_with_retry_after_and_accepts_nothing(
    sandbox: Callable[..., TestClient],
) -> None:
    client = sandbox(_config(throttle_rate=1.0, retry_after=7))

    postmark = client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")])
    resend = client.post("/emails/batch", headers=RESEND_AUTH, json=[_email("a@example.org")])

    assert postmark.status_code == 429 and postmark.headers["Retry-After"] == "7"
    assert postmark.json()["ErrorCode"] == 429
    assert resend.status_code == 429 and resend.headers["Retry-After"] == "7"
    assert resend.json() == {
        "statusCode": 429,
        "name": "rate_limit_exceeded",
        "message": resend.json()["message"],
    }
    assert _stats(client) == {**NOTHING, "throttled": 2}


def test_errors_answer_500_and_accept_nothing(sandbox: Callable[..., TestClient]) -> None:
    client = sandbox(_config(error_rate=1.0))

    postmark = client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")])
    resend = client.post("/emails", headers=RESEND_AUTH, json=_email("a@example.org"))

    assert postmark.status_code == 500
    assert resend.status_code == 500 and resend.json()["name"] == "application_error"
    assert _stats(client) == {**NOTHING, "errors": 2}


def test_faults_change_at_runtime_and_spare_the_sandbox_endpoints(client: TestClient) -> None:
    changed = client.post("/_sandbox/faults", json={"error_rate": 1.0})
    assert changed.status_code == 200 and changed.json()["error_rate"] == 1.0
    assert client.get("/_sandbox/faults").json()["error_rate"] == 1.0

    assert client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code == 500
    assert client.get("/_sandbox/stats").status_code == 200
    assert client.get("/_sandbox/messages").status_code == 200

    client.post("/_sandbox/faults", json={"error_rate": 0}).raise_for_status()
    assert client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code == 200
    assert _stats(client) == {**NOTHING, "messages": 1, "unique_recipients": 1, "errors": 1}


@pytest.mark.parametrize(
    "changes",
    [
        {"throttle_rate": 0.6, "error_rate": 0.5},
        {"slow_rate": 1.5},
        {"surprise_rate": 0.1},
        {"webhook_url": "ftp://example.org/hook"},
        ["not", "an", "object"],
    ],
)
def test_fault_settings_are_validated(client: TestClient, changes: Any) -> None:
    response = client.post("/_sandbox/faults", json=changes)

    assert response.status_code == 422
    assert client.get("/_sandbox/faults").json() == FaultSettings().model_dump()


def test_a_seed_makes_faults_repeatable(sandbox: Callable[..., TestClient]) -> None:
    def statuses(client: TestClient) -> list[int]:
        return [
            client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code
            for _ in range(30)
        ]

    first = statuses(sandbox(_config(throttle_rate=0.3, error_rate=0.3, seed=11)))
    second = statuses(sandbox(_config(throttle_rate=0.3, error_rate=0.3, seed=11)))

    assert first == second
    assert {200, 429, 500} <= set(first)


def test_a_slow_answer_comes_late_but_the_messages_are_recorded() -> None:
    base_url, stop = run_sandbox_in_thread(config=_config(slow_rate=1.0, slow_seconds=1.5))
    try:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base_url}/email", headers=AUTH, json=_mail("a@x.org"), timeout=0.3)
        # The sleeping request holds nothing up: the sandbox answers at once meanwhile.
        stats = httpx.get(f"{base_url}/_sandbox/stats", timeout=1).json()
        assert time.monotonic() - started < 1.2
        assert (stats["messages"], stats["slow"]) == (1, 1)

        patient = httpx.post(f"{base_url}/email", headers=AUTH, json=_mail("b@x.org"), timeout=5)
        assert patient.status_code == 200 and patient.json()["ErrorCode"] == 0
        assert patient.elapsed.total_seconds() >= 1.4
    finally:
        stop()
